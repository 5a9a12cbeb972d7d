// SPDX-License-Identifier: MIT
#include <watchstate/core/abort.hpp>
#include <watchstate/core/signals.hpp>

#include <fmt/format.h>

#include <csignal>

namespace ws {
namespace {

volatile std::sig_atomic_t g_signal = 0; // NOLINT: written by the signal handler only

extern "C" void on_signal(int signal_number) {
  g_signal = signal_number;
  request_abort();
}

} // namespace

Interrupted::Interrupted(int signal_number)
    : std::runtime_error(
          fmt::format("interrupted by {}", signal_number == SIGINT ? "SIGINT" : "SIGTERM")),
      m_signal(signal_number) {}

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int pending_signal() noexcept { return g_signal; }

void throw_if_interrupted() {
  if (g_signal != 0) {
    throw Interrupted(g_signal);
  }
}

} // namespace ws
