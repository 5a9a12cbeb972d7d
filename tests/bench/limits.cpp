// SPDX-License-Identifier: MIT
// What this machine can do at best for the two halves of an import, measured without the tool:
// parsing listing pages (RapidJSON, in place, as the adapters parse them) and writing records
// (indexed SQLite upserts in one transaction, as the state database takes them). With
// --state-rows, also the rows a first import wrote (counted by the benchmark in its state
// database), written into the state database's own schema in key order with no matching: what
// writing that state costs here at best. The figures the benchmark reports for the tools are
// read against these. Not a test: it prints JSON.
//
//   ws-bench-limits [--rows N] [--state-rows ITEMS,KEYS,RECORDS,CHANGES] [--dir DIR] PAGE.json...
#include <watchstate/db/state_store.hpp>
#include <watchstate/json/parse_buffer.hpp>

#include <rapidjson/document.h>
#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
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
    for (auto& page : copies) {
      ws::json::padded_for_parse(page); // as the adapters' bodies are, outside the clock
    }
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

double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

// What one run of the state database's writes is made of (bench_all.py counts them).
struct StateRows {
  long items = 0;
  long keys = 0;
  long records = 0;
  long changes = 0;
};

// `rows` written into a state database the suite's own code created (same schema, indexes,
// page size and pragmas), each table in its key order, in one transaction, commit included:
// the least an import that writes this state pays, before any matching. Values are shaped like
// the simulated library's (keys like "imdb://tt1000001/movie", paths, ids, titles).
void state_write_limit(const std::filesystem::path& dir, const StateRows& rows) {
  const auto file = dir / "limits-state.db";
  std::filesystem::remove(file);
  { const ws::db::StateStore schema(file); } // creates it as the tools do
  sqlite3* db = nullptr;
  check(db, sqlite3_open(file.c_str(), &db), "open");
  check(db,
        sqlite3_exec(db, "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -32768", nullptr,
                     nullptr, nullptr),
        "pragmas");
  const auto prepare = [&](const char* sql) {
    sqlite3_stmt* q = nullptr;
    check(db, sqlite3_prepare_v2(db, sql, -1, &q, nullptr), sql);
    return q;
  };
  sqlite3_stmt* item = prepare(
      "INSERT INTO items (id, identity, type, title, year, season, episode, watched, updated, "
      "progress_ms, progress_at, via, created_at, updated_at) VALUES (?, 'main', 'episode', ?, "
      "2001, 2, 6, ?, 1700000000, 0, 0, 'plex', 1700000000, 1700000000)");
  sqlite3_stmt* key =
      prepare("INSERT OR IGNORE INTO item_keys (identity, key, item_id) VALUES ('main', ?, ?)");
  sqlite3_stmt* record = prepare(
      "INSERT INTO backend_items (identity, backend, remote_id, item_id, library_id, show_id, "
      "watched, played_at, added_at, progress_ms, path, multi, guids, duration_ms, year, season, "
      "episode, path_key, title, lookup, digest) VALUES ('main', ?, ?, ?, '2', ?, ?, ?, "
      "1600000000, 0, ?, 0, ?, 2700000, 2001, 2, 6, '', ?, ?, ?) ON CONFLICT DO UPDATE SET "
      "watched = excluded.watched");
  sqlite3_stmt* change = prepare(
      "INSERT INTO change_log (item_id, backend, direction, field, old_value, new_value, at) "
      "VALUES (?, 'plex', 'import', 'watched', '', 'played@1700000000', 1700000000)");
  // Keys in the order item_keys holds them: generated, then sorted.
  std::vector<std::string> keys;
  keys.reserve(static_cast<std::size_t>(rows.keys));
  const char* providers[] = {"imdb://tt", "rimdb://tt", "rtmdb://", "rtvdb://", "tmdb://"};
  for (long i = 0; i < rows.keys; ++i) {
    keys.push_back(providers[i % 5] + std::to_string(1'000'000 + i / 5) +
                   (i % 5 == 0 ? "/movie" : "/2/6"));
  }
  std::sort(keys.begin(), keys.end());
  const char* backends[] = {"emby", "jellyfin", "plex"};
  const double cpu_start = cpu_seconds();
  const auto start = Clock::now();
  check(db, sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), "begin");
  const long items = std::max(rows.items, 1L);
  for (long i = 1; i <= rows.items; ++i) {
    const std::string title = "Some Title " + std::to_string(i);
    sqlite3_reset(item);
    sqlite3_bind_int64(item, 1, i);
    sqlite3_bind_text(item, 2, title.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(item, 3, static_cast<int>(i % 2));
    check(db, sqlite3_step(item), "insert item");
  }
  for (long i = 0; i < rows.keys; ++i) {
    sqlite3_reset(key);
    sqlite3_bind_text(key, 1, keys[static_cast<std::size_t>(i)].c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int64(key, 2, 1 + (i * 7919) % items);
    check(db, sqlite3_step(key), "insert key");
  }
  for (long i = 0; i < rows.records; ++i) {
    const long row = 1 + i * items / std::max(rows.records, 1L);
    const std::string remote = std::to_string(1'000'000 + i);
    const std::string show = std::to_string(10'000 + row / 20);
    const std::string path =
        "/media/tv/Some Title (2001)/Season 02/Some Title " + std::to_string(row) + " S02E06.mkv";
    const std::string guids = "imdb=tt" + std::to_string(1'000'000 + row) +
                              ";tmdb=" + std::to_string(row) + ";tvdb=" + std::to_string(row);
    const std::string title = "Some Title " + std::to_string(row);
    sqlite3_reset(record);
    sqlite3_bind_text(record, 1, backends[i % 3], -1, SQLITE_STATIC);
    sqlite3_bind_text(record, 2, remote.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(record, 3, row);
    sqlite3_bind_text(record, 4, show.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(record, 5, static_cast<int>(row % 2));
    sqlite3_bind_int64(record, 6, row % 2 != 0 ? 1'700'000'000 + i : 0);
    sqlite3_bind_text(record, 7, path.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(record, 8, guids.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(record, 9, title.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(record, 10, static_cast<sqlite3_int64>(i) * 2654435761LL + 1);
    sqlite3_bind_int64(record, 11, static_cast<sqlite3_int64>(i) * 40503LL + 7);
    check(db, sqlite3_step(record), "insert record");
  }
  for (long i = 0; i < rows.changes; ++i) {
    sqlite3_reset(change);
    sqlite3_bind_int64(change, 1, 1 + i * items / std::max(rows.changes, 1L));
    check(db, sqlite3_step(change), "insert change");
  }
  check(db, sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), "commit");
  const double cpu = cpu_seconds() - cpu_start;
  const double elapsed = seconds_since(start);
  for (auto* q : {item, key, record, change}) {
    sqlite3_finalize(q);
  }
  sqlite3_close(db);
  const auto size = std::filesystem::file_size(file);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(file.string() + suffix);
  }
  std::printf("\"state\": {\"items\": %ld, \"keys\": %ld, \"records\": %ld, \"changes\": %ld, "
              "\"seconds\": %.4f, \"cpu\": %.4f, \"bytes\": %ju}",
              rows.items, rows.keys, rows.records, rows.changes, elapsed, cpu,
              static_cast<std::uintmax_t>(size));
}

// Whole numbers separated by commas ("124177,505499"), as many as `out` holds; false when the
// text is anything else.
bool parse_counts(const char* text, std::vector<long*> out) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    char* end = nullptr;
    errno = 0;
    const long n = std::strtol(text, &end, 10);
    const char expected = i + 1 < out.size() ? ',' : '\0';
    if (errno != 0 || end == text || n < 0 || *end != expected) {
      return false;
    }
    *out[i] = n;
    text = end + 1;
  }
  return true;
}

int run(int argc, char** argv) {
  long rows = 300'000;
  std::filesystem::path dir = std::filesystem::temp_directory_path();
  std::vector<std::string> pages;
  StateRows state;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--rows" && i + 1 < argc) {
      if (!parse_counts(argv[++i], {&rows})) {
        (void)std::fprintf(stderr, "ws-bench-limits: --rows N\n");
        return 2;
      }
    } else if (arg == "--state-rows" && i + 1 < argc) {
      if (!parse_counts(argv[++i], {&state.items, &state.keys, &state.records, &state.changes})) {
        (void)std::fprintf(stderr, "ws-bench-limits: --state-rows ITEMS,KEYS,RECORDS,CHANGES\n");
        return 2;
      }
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
  if (state.items > 0) {
    std::printf(", ");
    state_write_limit(dir, state);
  }
  std::printf("}\n");
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    (void)std::fprintf(stderr, "ws-bench-limits: %s\n", e.what());
    return 1;
  }
}
