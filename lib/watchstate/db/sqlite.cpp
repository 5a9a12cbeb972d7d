// SPDX-License-Identifier: MIT
#include <watchstate/db/sqlite.hpp>

#include <watchstate/core/error.hpp>

#include <fmt/format.h>
#include <sqlite3.h>

namespace ws::db::detail {

SQLite::Database open_database(const std::filesystem::path& file, Durability durability,
                               bool single_thread) {
  int flags = SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE;
  if (single_thread) {
    flags |= SQLITE_OPEN_NOMUTEX;
  }
  SQLite::Database db(file.string(), flags, k_busy_timeout_ms);
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
