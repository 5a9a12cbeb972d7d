// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace ws::progress {

// Progress bars are drawn on stderr only when a person watches: the runner enables them when
// stderr is a terminal and neither --json nor -q was given (cron, systemd and pipes never see
// them). Off by default.
void enable(bool on);
[[nodiscard]] bool enabled();

// Erase the bar being drawn, if any, so a log line can take its place (the bar is redrawn at
// its next update). Called by ws::log before every line.
void clear_line();

// One bar: "plex  listing  [#######.......]  45,000/100,000  12,345/s". Thread-safe; redraws at
// most ten times a second; does nothing when progress is disabled.
class Bar {
public:
  Bar(std::string label, std::string activity, std::uint64_t total = 0);
  ~Bar(); // erases the bar
  Bar(const Bar&) = delete;
  Bar& operator=(const Bar&) = delete;

  void set_total(std::uint64_t total); // 0 = not known yet
  void advance(std::uint64_t n = 1);

private:
  void draw(bool force);

  std::mutex m_mutex;
  std::string m_label;
  std::string m_activity;
  std::uint64_t m_total = 0;
  std::uint64_t m_done = 0;
  std::chrono::steady_clock::time_point m_started;
  std::chrono::steady_clock::time_point m_last_draw;
  bool m_active = false;
};

// "12,345"
std::string group_thousands(std::uint64_t n);

} // namespace ws::progress
