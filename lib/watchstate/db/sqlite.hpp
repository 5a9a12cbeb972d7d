// SPDX-License-Identifier: MIT
// Internal to lib/watchstate/db: how every database of the suite is opened, and how a SQLite
// failure becomes a ws::Error. The only place that decides journal mode, durability and the
// busy timeout.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>

#include <filesystem>
#include <string_view>

namespace ws::db::detail {

// How long a connection waits for another process's write lock before SQLITE_BUSY.
inline constexpr int k_busy_timeout_ms = 5000;

enum class Durability {
  normal, // WAL + synchronous=NORMAL: a crash never corrupts; the last commit may be lost on power
          // loss
  full,   // WAL + synchronous=FULL: committed means on disk (the webhook queue acknowledges on it)
};

// Open `file` read-write, created when missing, in WAL mode. `single_thread` drops SQLite's own
// mutexes for a connection one thread uses.
SQLite::Database open_database(const std::filesystem::path& file, Durability durability,
                               bool single_thread = true);

// Throw the ws::Error for `e` met while doing `what` on `database` (its name in messages):
// tempfail when the database is busy or locked, no_perm when it cannot be opened or written for
// permissions, io otherwise.
[[noreturn]] void rethrow(const SQLite::Exception& e, std::string_view what,
                          std::string_view database = "state database");

} // namespace ws::db::detail
