// SPDX-License-Identifier: MIT
#include <watchstate/core/error.hpp>
#include <watchstate/db/maintenance.hpp>
#include <watchstate/db/run_history.hpp>
#include <watchstate/db/sqlite.hpp>
#include <watchstate/db/state_store.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <sqlite3.h>

#include <string_view>
#include <system_error>

namespace ws::db {
namespace {

using detail::k_busy_timeout_ms;
constexpr std::int64_t k_day = 86400;

[[noreturn]] void fail(const SQLite::Exception& e, const std::filesystem::path& file,
                       std::string_view what) {
  const int code = e.getErrorCode() & 0xff;
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
    throw Error(Errc::tempfail, fmt::format("state database is busy ({} of {}): {}", what,
                                            file.string(), e.what()));
  }
  if (code == SQLITE_PERM || code == SQLITE_READONLY || code == SQLITE_CANTOPEN) {
    throw Error(Errc::no_perm,
                fmt::format("state database {}: {}: {}", file.string(), what, e.what()));
  }
  throw Error(Errc::io, fmt::format("state database {}: {}: {}", file.string(), what, e.what()));
}

bool damaged(const SQLite::Exception& e) {
  const int code = e.getErrorCode() & 0xff;
  return code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
}

// The file and its write-ahead log: what the database takes on disk.
std::uintmax_t bytes_of(const std::filesystem::path& file) {
  std::uintmax_t total = 0;
  for (const auto& part : {file, std::filesystem::path(file.string() + "-wal")}) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(part, ec);
    total += ec ? 0 : size;
  }
  return total;
}

// A connection that reads only: no write, and no checkpoint of the WAL into the file when it
// closes (SQLite's last connection to a WAL database does one by default).
SQLite::Database open_reader(const std::filesystem::path& file) {
  SQLite::Database db(file.string(), SQLite::OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      k_busy_timeout_ms);
  sqlite3_db_config(db.getHandle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  db.exec("PRAGMA query_only = 1");
  return db;
}

std::int64_t pragma(SQLite::Database& db, const char* name) {
  return db.execAndGet(fmt::format("PRAGMA {}", name)).getInt64();
}

void read_pages(SQLite::Database& db, MaintenanceResult& r) {
  r.page_size = pragma(db, "page_size");
  r.pages = pragma(db, "page_count");
  r.free_pages = pragma(db, "freelist_count");
}

} // namespace

bool vacuum_worthwhile(std::int64_t pages, std::int64_t free_pages) {
  return pages > 0 && free_pages > 0 &&
         static_cast<double>(free_pages) > k_vacuum_free_share * static_cast<double>(pages);
}

std::vector<std::string> check_integrity(const std::filesystem::path& file, int max_problems) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    return {};
  }
  std::vector<std::string> problems;
  try {
    auto db = open_reader(file);
    SQLite::Statement q(
        db, fmt::format("PRAGMA integrity_check({})", max_problems > 0 ? max_problems : 1));
    while (q.executeStep()) {
      // A row may hold several lines; "*** in database main ***" only says where.
      std::string_view text = q.getColumn(0).getText();
      while (!text.empty()) {
        const auto end = text.find('\n');
        const auto line = text.substr(0, end);
        if (!line.empty() && line != "ok" && !line.starts_with("*** in database")) {
          problems.emplace_back(line);
        }
        if (end == std::string_view::npos) {
          break;
        }
        text.remove_prefix(end + 1);
      }
    }
  } catch (const SQLite::Exception& e) {
    if (!damaged(e)) {
      fail(e, file, "integrity check");
    }
    problems.emplace_back(e.what()); // "database disk image is malformed", "file is not a database"
  }
  return problems;
}

MaintenanceResult maintain_database(const std::filesystem::path& file,
                                    const MaintenanceOptions& options) {
  MaintenanceResult r;
  r.problems = check_integrity(file, options.max_problems);
  r.size_before = bytes_of(file);
  r.size_after = r.size_before;
  if (!r.intact()) {
    return r; // nothing is written to a damaged file
  }
  if (options.change_log_days > 0) {
    r.change_log_cutoff = options.now - static_cast<std::int64_t>(options.change_log_days) * k_day;
  }
  if (options.run_days > 0) {
    r.run_cutoff = options.now - static_cast<std::int64_t>(options.run_days) * k_day;
  }
  {
    StateStore store(file); // creates a missing file and brings the schema up to date
    if (r.change_log_cutoff != 0) {
      r.change_log_pruned = store.prune_changes(r.change_log_cutoff, options.dry_run);
    }
  }
  if (r.run_cutoff != 0) {
    RunHistory history(file);
    r.runs_pruned = history.prune(r.run_cutoff, options.dry_run);
  }

  if (options.dry_run) {
    try {
      auto db = open_reader(file);
      read_pages(db, r);
    } catch (const SQLite::Exception& e) {
      fail(e, file, "read its size");
    }
    r.vacuum_due = options.force_vacuum || vacuum_worthwhile(r.pages, r.free_pages);
    return r;
  }

  const char* step = "open";
  try {
    SQLite::Database db(file.string(), SQLite::OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        k_busy_timeout_ms);
    // Statistics for the query planner: ANALYZE reads every index once; PRAGMA optimize then
    // keeps them current as SQLite sees fit.
    step = "ANALYZE";
    db.exec("ANALYZE");
    step = "PRAGMA optimize";
    db.exec("PRAGMA optimize");
    r.optimized = true;
    read_pages(db, r);
    r.vacuum_due = options.force_vacuum || vacuum_worthwhile(r.pages, r.free_pages);
    if (r.vacuum_due) {
      // In WAL mode the rebuilt file goes through the WAL; the checkpoint below shrinks it.
      step = "VACUUM";
      db.exec("VACUUM");
      r.vacuumed = true;
    }
    step = "WAL checkpoint";
    SQLite::Statement checkpoint(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    if (checkpoint.executeStep()) {
      // (busy, WAL frames, frames checkpointed): busy when a reader kept the WAL in use.
      r.checkpointed = checkpoint.getColumn(0).getInt() == 0;
    }
  } catch (const SQLite::Exception& e) {
    fail(e, file, step);
  }
  r.size_after = bytes_of(file);
  return r;
}

} // namespace ws::db
