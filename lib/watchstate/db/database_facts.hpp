// SPDX-License-Identifier: MIT
// What a bug report needs to know about the state database (ws-state report), read without
// creating, migrating or writing anything.
#pragma once

#include <watchstate/db/run_history.hpp>
#include <watchstate/model/media.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ws::db {

// The SQLite library version in use ("3.40.1").
std::string sqlite_version();

// Records one backend holds for one identity: every copy, and the local rows they are on.
struct RecordCount {
  std::string identity;
  std::string backend;
  std::int64_t records = 0;
  std::int64_t items = 0;
};

// The server a backend's last import talked to.
struct SeenServer {
  std::string backend;
  model::ServerInfo info;
};

struct DatabaseFacts {
  int schema_version = 0;   // PRAGMA user_version
  std::string journal_mode; // "wal"
  std::int64_t page_size = 0;
  std::int64_t page_count = 0;
  std::int64_t freelist_count = 0;
  std::vector<std::string> quick_check; // {"ok"}, or the problems PRAGMA quick_check names
  std::vector<IdentityCounts> identities;
  std::vector<RecordCount> records;
  std::vector<SeenServer> servers;
  std::int64_t changes = 0;   // change log entries
  std::int64_t conflicts = 0; // recorded id conflicts
  std::int64_t runs = 0;      // runs in the history
};

// Open `file` read-only and gather the facts; at most `max_problems` lines of quick_check.
// A table an old schema lacks counts 0. Throws ws::Error (Errc::tempfail when the database is
// busy beyond the busy timeout, else Errc::io), also when `file` does not exist.
DatabaseFacts inspect_database(const std::filesystem::path& file, int max_problems = 20);

} // namespace ws::db
