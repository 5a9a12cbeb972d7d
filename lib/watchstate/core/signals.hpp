// SPDX-License-Identifier: MIT
#pragma once

#include <stdexcept>

namespace ws {

// Thrown when SIGINT/SIGTERM arrived: the run unwinds, rolling back open transactions.
class Interrupted : public std::runtime_error {
public:
  explicit Interrupted(int signal_number);
  [[nodiscard]] int signal_number() const noexcept { return m_signal; }

private:
  int m_signal;
};

// Catch SIGINT and SIGTERM: remember the signal and abort pending HTTP transfers.
void install_signal_handlers();

// The signal received so far, or 0.
int pending_signal() noexcept;

// Throw Interrupted if a signal arrived.
void throw_if_interrupted();

} // namespace ws
