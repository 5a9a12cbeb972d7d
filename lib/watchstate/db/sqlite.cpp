// SPDX-License-Identifier: MIT
#include <watchstate/db/sqlite.hpp>

#include <watchstate/core/error.hpp>

#include <fmt/format.h>
#include <sqlite3.h>

namespace ws::db::detail {

namespace {

// SQLite keeps memory statistics by default, behind a global mutex taken on every allocation it
// makes: a first import of 300,000 items spends ~5 % of its CPU locking and unlocking it. No tool
// reads those statistics. sqlite3_config must precede SQLite's initialization; a process that
// opened a database another way first keeps the default (the call then fails harmlessly).
void configure_sqlite_once() {
  static const bool configured = [] {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
  }();
  (void)configured;
}

} // namespace

SQLite::Database open_database(const std::filesystem::path& file, Durability durability,
                               bool single_thread, int page_size) {
  configure_sqlite_once();
  int flags = SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE;
  if (single_thread) {
    flags |= SQLITE_OPEN_NOMUTEX;
  }
  SQLite::Database db(file.string(), flags, k_busy_timeout_ms);
  if (page_size > 0) {
    // Only takes effect before the first page is written, which switching to WAL does.
    db.exec(fmt::format("PRAGMA page_size = {}", page_size));
  }
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(durability == Durability::full ? "PRAGMA synchronous = FULL"
                                         : "PRAGMA synchronous = NORMAL");
  return db;
}

void rethrow(const SQLite::Exception& e, std::string_view what, std::string_view database) {
  const int code = e.getErrorCode() & 0xff; // the primary code of an extended one
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
    throw Error(Errc::tempfail, fmt::format("{} is busy ({}): {}", database, what, e.what()));
  }
  if (code == SQLITE_PERM || code == SQLITE_READONLY || code == SQLITE_CANTOPEN) {
    throw Error(Errc::no_perm, fmt::format("{}: {}: {}", database, what, e.what()));
  }
  throw Error(Errc::io, fmt::format("{}: {}: {}", database, what, e.what()));
}

} // namespace ws::db::detail
