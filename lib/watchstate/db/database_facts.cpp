// SPDX-License-Identifier: MIT
#include <watchstate/db/database_facts.hpp>
#include <watchstate/db/sqlite.hpp>

#include <watchstate/core/error.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <sqlite3.h>

#include <system_error>

namespace ws::db {

std::string sqlite_version() { return sqlite3_libversion(); }
namespace {

using detail::rethrow;

bool has_table(SQLite::Database& db, const char* name) {
  SQLite::Statement q(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  q.bind(1, name);
  return q.executeStep();
}

std::int64_t count_rows(SQLite::Database& db, const char* table) {
  if (!has_table(db, table)) {
    return 0;
  }
  return db.execAndGet(fmt::format("SELECT COUNT(*) FROM {}", table)).getInt64();
}

} // namespace

DatabaseFacts inspect_database(const std::filesystem::path& file, int max_problems) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    throw Error(Errc::io, fmt::format("{} does not exist (no tool has run yet)", file.string()));
  }
  DatabaseFacts facts;
  const char* step = "open";
  try {
    SQLite::Database db(file.string(), SQLite::OPEN_READONLY | SQLITE_OPEN_NOMUTEX, 5000);
    step = "read the schema version";
    facts.schema_version = db.execAndGet("PRAGMA user_version").getInt();
    facts.journal_mode = db.execAndGet("PRAGMA journal_mode").getString();
    facts.page_size = db.execAndGet("PRAGMA page_size").getInt64();
    facts.page_count = db.execAndGet("PRAGMA page_count").getInt64();
    facts.freelist_count = db.execAndGet("PRAGMA freelist_count").getInt64();

    step = "quick_check";
    SQLite::Statement check(db, fmt::format("PRAGMA quick_check({})", max_problems));
    while (check.executeStep()) {
      facts.quick_check.push_back(check.getColumn(0).getString());
    }

    step = "count the items";
    if (has_table(db, "items")) {
      SQLite::Statement q(db, "SELECT identity, COUNT(*), COALESCE(SUM(watched), 0) FROM items "
                              "GROUP BY identity ORDER BY identity");
      while (q.executeStep()) {
        facts.identities.push_back(IdentityCounts{
            q.getColumn(0).getString(), q.getColumn(1).getInt64(), q.getColumn(2).getInt64()});
      }
    }
    step = "count the records";
    if (has_table(db, "backend_items") && facts.schema_version >= 5) {
      SQLite::Statement q(db, "SELECT identity, backend, COUNT(*), COUNT(DISTINCT item_id) FROM "
                              "backend_items GROUP BY identity, backend ORDER BY identity, "
                              "backend");
      while (q.executeStep()) {
        facts.records.push_back(RecordCount{q.getColumn(0).getString(), q.getColumn(1).getString(),
                                            q.getColumn(2).getInt64(), q.getColumn(3).getInt64()});
      }
    }
    step = "read the servers";
    if (has_table(db, "servers")) {
      SQLite::Statement q(db, "SELECT backend, server_id, name, version FROM servers ORDER BY "
                              "backend");
      while (q.executeStep()) {
        facts.servers.push_back(
            SeenServer{q.getColumn(0).getString(),
                       model::ServerInfo{q.getColumn(1).getString(), q.getColumn(2).getString(),
                                         q.getColumn(3).getString()}});
      }
    }
    step = "count the rows";
    facts.changes = count_rows(db, "change_log");
    facts.conflicts = count_rows(db, "conflicts");
    facts.runs = count_rows(db, "runs");
  } catch (const SQLite::Exception& e) {
    rethrow(e, step);
  }
  return facts;
}

} // namespace ws::db
