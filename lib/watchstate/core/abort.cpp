// SPDX-License-Identifier: MIT
#include <watchstate/core/abort.hpp>

#include <atomic>

namespace ws {
namespace {

// A lock-free atomic is async-signal-safe, which request_abort() must be.
static_assert(std::atomic<bool>::is_always_lock_free);
std::atomic<bool> g_abort{false};

} // namespace

void request_abort() noexcept { g_abort.store(true, std::memory_order_relaxed); }
bool abort_requested() noexcept { return g_abort.load(std::memory_order_relaxed); }
void clear_abort() noexcept { g_abort.store(false, std::memory_order_relaxed); }

} // namespace ws
