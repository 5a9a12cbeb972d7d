// SPDX-License-Identifier: MIT
// Internal: what the webhook receiver's HTTP front end, queue worker and signal thread share.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace ws::webhook {

struct ReceiverState {
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> queued{0};
  std::atomic<std::uint64_t> ignored{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> applied{0}; // the worker's counts, for GET /metrics
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> writes{0};
  std::atomic<bool> stopping{false}; // no more requests: drain the queue and leave
  std::atomic<bool> abort{false};    // a second signal: leave now, the queue waits on disk
  std::atomic<bool> relearn{false};  // an event named an unknown server: look at the ids again
  std::mutex mutex;
  std::condition_variable wake;

  // Wake the worker: an event was queued, or a signal came.
  void wake_worker() { wake.notify_one(); }

  // The worker's pause: until woken, or `timeout` at the longest.
  template <typename Rep, typename Period> void pause(std::chrono::duration<Rep, Period> timeout) {
    std::unique_lock lock(mutex);
    wake.wait_for(lock, timeout);
  }
};

} // namespace ws::webhook
