// SPDX-License-Identifier: MIT
#include <watchstate/core/progress.hpp>

#include <fmt/format.h>

#include <atomic>
#include <cstdio>

namespace ws::progress {
namespace {

std::atomic<bool> g_enabled{false};
// Whether a bar is on screen: a log line must erase it first. One bar line at a time.
std::atomic<bool> g_line_dirty{false};
std::mutex g_screen_mutex;

constexpr int k_bar_width = 24;
constexpr auto k_redraw_interval = std::chrono::milliseconds(100);

void put(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

} // namespace

void enable(bool on) { g_enabled = on; }
bool enabled() { return g_enabled; }

void clear_line() {
  if (g_line_dirty.exchange(false)) {
    const std::lock_guard lock(g_screen_mutex);
    put("\r\033[K");
  }
}

std::string group_thousands(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) {
      out += ',';
    }
    out += digits[i];
  }
  return out;
}

Bar::Bar(std::string label, std::string activity, std::uint64_t total)
    : m_label(std::move(label)), m_activity(std::move(activity)), m_total(total),
      m_started(std::chrono::steady_clock::now()), m_active(g_enabled) {}

Bar::~Bar() {
  if (m_active) {
    clear_line();
  }
}

void Bar::set_total(std::uint64_t total) {
  if (!m_active) {
    return;
  }
  const std::lock_guard lock(m_mutex);
  m_total = total;
  draw(true);
}

void Bar::advance(std::uint64_t n) {
  if (!m_active) {
    return;
  }
  const std::lock_guard lock(m_mutex);
  m_done += n;
  draw(false);
}

void Bar::draw(bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - m_last_draw < k_redraw_interval) {
    return;
  }
  m_last_draw = now;
  const double seconds = std::chrono::duration<double>(now - m_started).count();
  const auto rate =
      seconds > 0.05 ? static_cast<std::uint64_t>(static_cast<double>(m_done) / seconds) : 0;
  std::string bar;
  std::string counts;
  if (m_total > 0) {
    const auto filled =
        static_cast<int>(std::min<std::uint64_t>(m_done, m_total) * k_bar_width / m_total);
    bar = fmt::format("[{}{}] ", std::string(static_cast<std::size_t>(filled), '#'),
                      std::string(static_cast<std::size_t>(k_bar_width - filled), '.'));
    counts = fmt::format("{}/{}", group_thousands(m_done), group_thousands(m_total));
  } else {
    counts = group_thousands(m_done);
  }
  const std::lock_guard screen(g_screen_mutex);
  put(fmt::format("\r\033[K{}  {}  {}{}  {}/s", m_label, m_activity, bar, counts,
                  group_thousands(rate)));
  g_line_dirty = true;
}

} // namespace ws::progress
