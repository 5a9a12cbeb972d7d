// SPDX-License-Identifier: MIT
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace ws::log {

enum class Level { error = 0, warning = 1, info = 2, debug = 3 };

// Set the tool name that prefixes every line ("ws-import: warning: ...").
void set_tool(std::string_view tool);
// Set the most verbose level that is printed (default: warning, so a good run prints nothing).
void set_level(Level level);
Level level();

// Write one line to stderr, with every secret redacted. Under systemd (JOURNAL_STREAM set) the
// line carries a <N> priority prefix instead of the level word.
void write(Level level, std::string_view message);

template <typename... Args> void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args> void warning(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= Level::warning) {
    write(Level::warning, fmt::format(f, std::forward<Args>(args)...));
  }
}
template <typename... Args> void info(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= Level::info) {
    write(Level::info, fmt::format(f, std::forward<Args>(args)...));
  }
}
template <typename... Args> void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= Level::debug) {
    write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
  }
}

} // namespace ws::log
