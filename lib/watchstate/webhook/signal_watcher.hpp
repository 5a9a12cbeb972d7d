// SPDX-License-Identifier: MIT
// Internal: how ws-webhook takes SIGINT and SIGTERM.
#pragma once

#include <atomic>
#include <csignal>
#include <functional>
#include <thread>

namespace ws::webhook {

// Signals are taken by a thread of their own (sigwait) so that the worker can finish the
// queue after SIGTERM instead of being interrupted like a batch tool. Constructing it blocks
// the signals in every thread started from then on.
class SignalWatcher {
public:
  SignalWatcher();
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  // Call `on_signal(count)` for each SIGINT/SIGTERM until stop().
  void start(std::function<void(int)> on_signal);
  void stop();

private:
  sigset_t m_set{};
  sigset_t m_previous{};
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
};

} // namespace ws::webhook
