// SPDX-License-Identifier: MIT
#include <watchstate/webhook/signal_watcher.hpp>

#include <ctime>
#include <utility>

namespace ws::webhook {

SignalWatcher::SignalWatcher() {
  sigemptyset(&m_set);
  sigaddset(&m_set, SIGINT);
  sigaddset(&m_set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &m_set, &m_previous);
}

SignalWatcher::~SignalWatcher() {
  stop();
  pthread_sigmask(SIG_SETMASK, &m_previous, nullptr);
}

void SignalWatcher::start(std::function<void(int)> on_signal) {
  m_thread = std::thread([this, on_signal = std::move(on_signal)] {
    int count = 0;
    while (!m_stop) {
      timespec wait{0, 200'000'000};
      if (sigtimedwait(&m_set, nullptr, &wait) > 0) {
        on_signal(++count);
      }
    }
  });
}

void SignalWatcher::stop() {
  m_stop = true;
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

} // namespace ws::webhook
