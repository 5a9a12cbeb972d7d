// SPDX-License-Identifier: MIT
#include <watchstate/core/log.hpp>
#include <watchstate/core/progress.hpp>
#include <watchstate/core/redact.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace ws::log {
namespace {

std::atomic<Level> g_level{Level::warning};
std::string g_tool = "watchstate"; // NOLINT: set once at start-up
std::mutex g_write_mutex;

const char* level_word(Level level) {
  switch (level) {
  case Level::error: return "error";
  case Level::warning: return "warning";
  case Level::info: return "info";
  case Level::debug: return "debug";
  }
  return "info";
}

// syslog priorities: err 3, warning 4, info 6, debug 7.
int journal_priority(Level level) {
  switch (level) {
  case Level::error: return 3;
  case Level::warning: return 4;
  case Level::info: return 6;
  case Level::debug: return 7;
  }
  return 6;
}

} // namespace

void set_tool(std::string_view tool) { g_tool = std::string(tool); }
void set_level(Level level) { g_level = level; }
Level level() { return g_level; }

void write(Level lvl, std::string_view message) {
  static const bool under_journal = std::getenv("JOURNAL_STREAM") != nullptr;
  std::string line;
  if (under_journal) {
    line = fmt::format("<{}>{}: {}\n", journal_priority(lvl), g_tool, redact(message));
  } else {
    line = fmt::format("{}: {}: {}\n", g_tool, level_word(lvl), redact(message));
  }
  progress::clear_line();
  std::lock_guard lock(g_write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace ws::log
