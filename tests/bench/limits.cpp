// SPDX-License-Identifier: MIT
// What this machine can do at best for the two halves of an import, measured without the tool:
// parsing listing pages (RapidJSON, in place, as the adapters parse them) and writing records
// (indexed SQLite upserts in one transaction, as the state database takes them). The figures
// the benchmark reports for the tools are read against these. Not a test: it prints JSON.
//
//   ws-bench-limits [--rows N] [--dir DIR] PAGE.json...
#include <rapidjson/document.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "ws-bench-limits: cannot read %s\n", path.c_str());
    std::exit(1);
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Items of a page: the longest array found at the top or one level down (Jellyfin/Emby
// "Items", Plex "MediaContainer.Metadata").
std::size_t count_items(const rapidjson::Value& value, int depth = 0) {
  std::size_t best = 0;
  if (value.IsArray()) {
    return value.Size();
  }
  if (value.IsObject() && depth < 2) {
    for (const auto& member : value.GetObject()) {
      best = std::max(best, count_items(member.value, depth + 1));
    }
  }
  return best;
}

// The best of three passes over every page: parse in place into a DOM, as the adapters do.
void parse_limit(const std::vector<std::string>& pages) {
  std::size_t bytes = 0;
  std::size_t items = 0;
  double best = 1e9;
  for (int pass = 0; pass < 3; ++pass) {
    std::vector<std::string> copies = pages; // in-place parsing consumes its buffer
    bytes = items = 0;
    const auto start = Clock::now();
    for (auto& page : copies) {
      rapidjson::Document doc;
      doc.ParseInsitu(page.data());
      if (doc.HasParseError()) {
        std::fprintf(stderr, "ws-bench-limits: a page is not JSON\n");
        std::exit(1);
      }
      bytes += page.size();
      items += count_items(doc);
    }
    best = std::min(best, seconds_since(start));
  }
  std::printf("\"parse\": {\"pages\": %zu, \"bytes\": %zu, \"items\": %zu, \"seconds\": %.4f}",
              pages.size(), bytes, items, best);
}

void check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "ws-bench-limits: %s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

// `rows` upserts of records shaped like the state database's (same key, same index, similar
// text), in one transaction with WAL and synchronous=NORMAL, commit included.
void upsert_limit(const std::filesystem::path& dir, long rows) {
  const auto file = dir / "limits.db";
  std::filesystem::remove(file);
  sqlite3* db = nullptr;
  check(db, sqlite3_open(file.c_str(), &db), "open");
  check(db,
        sqlite3_exec(db,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                     "PRAGMA cache_size = -32768; "
                     "CREATE TABLE records (identity TEXT NOT NULL, backend TEXT NOT NULL, "
                     "remote_id TEXT NOT NULL, item_id INTEGER NOT NULL, library_id TEXT, "
                     "watched INTEGER, played_at INTEGER, path TEXT, guids TEXT, title TEXT, "
                     "PRIMARY KEY (item_id, backend, remote_id)) WITHOUT ROWID; "
                     "CREATE INDEX records_remote ON records (identity, backend, remote_id);",
                     nullptr, nullptr, nullptr),
        "create");
  sqlite3_stmt* q = nullptr;
  check(db,
        sqlite3_prepare_v2(db,
                           "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                           "(item_id, backend, remote_id) DO UPDATE SET watched = "
                           "excluded.watched, played_at = excluded.played_at, path = "
                           "excluded.path, guids = excluded.guids, title = excluded.title",
                           -1, &q, nullptr),
        "prepare");
  const char* backends[] = {"plex", "jellyfin", "emby"};
  const auto start = Clock::now();
  check(db, sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), "begin");
  for (long i = 0; i < rows; ++i) {
    const long item = i / 3 + 1;
    const std::string remote = std::to_string(1'000'000 + i * 7919 % rows);
    const std::string path =
        "/media/library/Some Title (2001)/Some Title " + std::to_string(item) + ".mkv";
    const std::string guids =
        "imdb=tt" + std::to_string(1'000'000 + item) + ";tmdb=" + std::to_string(item);
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, "main", -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, backends[i % 3], -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, remote.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 4, item);
    sqlite3_bind_text(q, 5, "1", -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 6, static_cast<int>(i % 2));
    sqlite3_bind_int64(q, 7, 1'700'000'000 + i);
    sqlite3_bind_text(q, 8, path.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 9, guids.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 10, "Some Title", -1, SQLITE_STATIC);
    check(db, sqlite3_step(q), "upsert");
  }
  check(db, sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), "commit");
  const double elapsed = seconds_since(start);
  sqlite3_finalize(q);
  sqlite3_close(db);
  std::filesystem::remove(file);
  std::filesystem::remove(file.string() + "-wal");
  std::filesystem::remove(file.string() + "-shm");
  std::printf("\"upsert\": {\"rows\": %ld, \"seconds\": %.4f}", rows, elapsed);
}

} // namespace

int main(int argc, char** argv) {
  long rows = 300'000;
  std::filesystem::path dir = std::filesystem::temp_directory_path();
  std::vector<std::string> pages;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--rows" && i + 1 < argc) {
      rows = std::atol(argv[++i]);
    } else if (arg == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else {
      pages.push_back(read_all(arg));
    }
  }
  std::printf("{");
  if (!pages.empty()) {
    parse_limit(pages);
    std::printf(", ");
  }
  upsert_limit(dir, rows);
  std::printf("}\n");
  return 0;
}
