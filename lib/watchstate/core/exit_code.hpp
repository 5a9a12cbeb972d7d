// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/core/error.hpp>

namespace ws {

// Exit codes of every tool. The man pages (man/exit-status.scd.in) carry the same table.
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int attention = 1; // partial failure, or ws-parity found differences
inline constexpr int sigint = 130;
inline constexpr int sigterm = 143;
} // namespace exit_code

// Map a failure class to its exit code.
int exit_code_for(Errc code) noexcept;

} // namespace ws
