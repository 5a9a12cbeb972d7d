// SPDX-License-Identifier: MIT
#pragma once

namespace ws {

// Process-wide cancellation: set from a signal handler (async-signal-safe) or by a run that is
// over; the HTTP client finishes pending transfers as aborted once it is set.
void request_abort() noexcept;
bool abort_requested() noexcept;
// Reset the cancellation flag. For tests only: a real run ends once abort was requested.
void clear_abort() noexcept;

} // namespace ws
