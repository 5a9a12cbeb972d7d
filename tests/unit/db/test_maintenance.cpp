// SPDX-License-Identifier: MIT
#include <watchstate/db/maintenance.hpp>
#include <watchstate/db/run_history.hpp>
#include <watchstate/db/state_store.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace ws;

namespace {

constexpr UnixTime k_now = 1'900'000'000;
constexpr UnixTime k_day = 86'400;

struct TempDir {
  std::filesystem::path dir;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ws-maint-XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(dir); }
  [[nodiscard]] std::filesystem::path file(const char* name = "state.db") const {
    return dir / name;
  }
};

db::ItemRow movie(const std::string& title) {
  db::ItemRow row;
  row.identity = "main";
  row.title = title;
  row.year = 2001;
  row.watched = true;
  row.updated = 1'700'000'000;
  row.via = "plex";
  row.created_at = row.updated_at = 1'800'000'000;
  return row;
}

// `per_item` change-log entries on each of `items` new movies, logged at `at`.
void add_changes(db::StateStore& store, int items, int per_item, UnixTime at) {
  db::StateStore::Transaction tx(store);
  for (int i = 0; i < items; ++i) {
    const auto id =
        store.insert_item(movie("Film " + std::to_string(at) + "/" + std::to_string(i)));
    for (int c = 0; c < per_item; ++c) {
      store.log_change(
          db::ChangeEntry{0, id, "plex", "import", "watched", "unplayed@" + std::to_string(at - c),
                          "played@" + std::to_string(at) + std::string(40, 'x'), at, "ok"});
    }
  }
  tx.commit();
}

std::int64_t changes_logged(db::StateStore& store, db::ItemId from, db::ItemId to) {
  std::int64_t n = 0;
  for (auto id = from; id <= to; ++id) {
    n += static_cast<std::int64_t>(store.changes(id).size());
  }
  return n;
}

std::string read_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Overwrite the start of every page but the first (the b-tree page headers) with garbage.
void damage_pages(const std::filesystem::path& file) {
  std::string bytes = read_bytes(file);
  REQUIRE(bytes.size() > 100);
  std::size_t page =
      (static_cast<unsigned char>(bytes[16]) << 8) | static_cast<unsigned char>(bytes[17]);
  if (page == 1) {
    page = 65536;
  }
  REQUIRE(bytes.size() >= 2 * page);
  for (std::size_t at = page; at + 64 <= bytes.size(); at += page) {
    for (std::size_t i = 0; i < 64; ++i) {
      bytes[at + i] = static_cast<char>(0x5a);
    }
  }
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

// Bytes of the database's write-ahead log; 0 when there is none.
std::uintmax_t wal_bytes(const std::filesystem::path& file) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file.string() + "-wal", ec);
  return ec ? 0 : size;
}

// The page number of the b-tree of table or index `name`.
std::int64_t root_page(const std::filesystem::path& file, const char* name) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT rootpage FROM sqlite_schema WHERE name = ?", -1, &q,
                             nullptr) == SQLITE_OK);
  sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  REQUIRE(sqlite3_step(q) == SQLITE_ROW);
  const std::int64_t page = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  sqlite3_close(db);
  return page;
}

// Overwrite the header of page `number` (1-based) with garbage.
void damage_page(const std::filesystem::path& file, std::int64_t number) {
  std::string bytes = read_bytes(file);
  std::size_t page =
      (static_cast<unsigned char>(bytes[16]) << 8) | static_cast<unsigned char>(bytes[17]);
  if (page == 1) {
    page = 65536;
  }
  const auto at = static_cast<std::size_t>(number - 1) * page;
  REQUIRE(at + page <= bytes.size());
  for (std::size_t i = 0; i < 64; ++i) {
    bytes[at + i] = static_cast<char>(0x5a);
  }
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

db::Run run_at(UnixTime at) {
  db::Run r;
  r.tool = "ws-sync";
  r.started_at = at;
  r.finished_at = at + 5;
  r.status = "ok";
  r.backends = {{"main", "plex", "import", true, 10, 1, 0, 2, 100}};
  r.errors = {{"main", "plex", "tempfail", "plex: HTTP 503"}};
  return r;
}

} // namespace

TEST_CASE("db maintenance: an intact database is checked, analysed and checkpointed",
          "[db][maintenance]") {
  TempDir tmp;
  {
    db::StateStore store(tmp.file());
    add_changes(store, 5, 2, k_now - k_day);
  }
  CHECK(db::check_integrity(tmp.file()).empty());
  CHECK(db::check_integrity(tmp.file("missing.db")).empty()); // nothing to check yet
  CHECK_FALSE(std::filesystem::exists(tmp.file("missing.db")));

  db::MaintenanceOptions options;
  options.now = k_now;
  const auto r = db::maintain_database(tmp.file(), options);
  CHECK(r.intact());
  CHECK(r.optimized);
  CHECK(r.checkpointed);
  CHECK_FALSE(r.vacuumed);         // nothing was deleted: no free pages
  CHECK(r.change_log_cutoff == 0); // 0 days: kept whole
  CHECK(r.change_log_pruned == 0);
  CHECK(r.pages > 0);
  CHECK(r.size_after > 0);
  // After a TRUNCATE checkpoint the WAL is empty.
  CHECK(wal_bytes(tmp.file()) == 0);
  // ANALYZE left its statistics; the store still opens and reads.
  db::StateStore store(tmp.file());
  CHECK(store.count_items("main") == 5);
}

TEST_CASE("db maintenance: a damaged copy is detected and left untouched", "[db][maintenance]") {
  TempDir tmp;
  {
    db::StateStore store(tmp.file());
    add_changes(store, 200, 3, k_now - 1000 * k_day);
  } // the last connection closing checkpoints the WAL into the file
  const auto copy = tmp.file("copy.db");
  std::filesystem::copy_file(tmp.file(), copy);

  SECTION("every page but the first overwritten") { damage_pages(copy); }
  SECTION("one index page overwritten: integrity_check names it") {
    damage_page(copy, root_page(copy, "change_log_item"));
    const auto problems = db::check_integrity(copy);
    REQUIRE_FALSE(problems.empty());
    INFO(problems.front());
    CHECK(problems.front().starts_with(
        fmt::format("Page {}: ", root_page(tmp.file(), "change_log_item")))); // as SQLite says
  }
  SECTION("header overwritten: not a database any more") {
    std::string bytes = read_bytes(copy);
    bytes.replace(0, 16, "not sqlite at al");
    std::ofstream(copy, std::ios::binary | std::ios::trunc) << bytes;
  }
  const std::string before = read_bytes(copy);
  const auto problems = db::check_integrity(copy);
  REQUIRE_FALSE(problems.empty());
  for (const auto& p : problems) {
    CHECK(p.find('\n') == std::string::npos);
    CHECK_FALSE(p.empty());
  }

  db::MaintenanceOptions options;
  options.now = k_now;
  options.change_log_days = 30; // everything would go on an intact file
  options.run_days = 30;
  options.force_vacuum = true;
  const auto r = db::maintain_database(copy, options);
  CHECK_FALSE(r.intact());
  CHECK(r.change_log_pruned == 0);
  CHECK_FALSE(r.optimized);
  CHECK_FALSE(r.vacuumed);
  CHECK(read_bytes(copy) == before);
  CHECK(wal_bytes(copy) == 0); // nothing written there either
  // The original is intact.
  CHECK(db::check_integrity(tmp.file()).empty());
}

TEST_CASE("db maintenance: the change log is pruned by age", "[db][maintenance]") {
  TempDir tmp;
  db::ItemId first_old = 0;
  db::ItemId last_new = 0;
  {
    db::StateStore store(tmp.file());
    add_changes(store, 3, 2, k_now - 800 * k_day); // 6 entries, older than 730 days
    first_old = 1;
    add_changes(store, 2, 2, k_now - 729 * k_day); // 4 entries, just inside
    add_changes(store, 1, 1, k_now);               // 1 entry, now
    last_new = 6;
  }
  db::MaintenanceOptions options;
  options.now = k_now;
  options.change_log_days = 730;

  options.dry_run = true;
  auto r = db::maintain_database(tmp.file(), options);
  CHECK(r.change_log_cutoff == k_now - 730 * k_day);
  CHECK(r.change_log_pruned == 6);
  CHECK_FALSE(r.optimized);
  CHECK_FALSE(r.vacuumed);
  {
    db::StateStore store(tmp.file());
    CHECK(changes_logged(store, first_old, last_new) == 11); // a dry run deletes nothing
  }

  options.dry_run = false;
  r = db::maintain_database(tmp.file(), options);
  CHECK(r.change_log_pruned == 6);
  {
    db::StateStore store(tmp.file());
    CHECK(changes_logged(store, 1, 3) == 0);
    CHECK(changes_logged(store, 4, 5) == 4);
    CHECK(changes_logged(store, 6, 6) == 1);
    CHECK(store.count_items("main") == 6); // the items stay; only their old history goes
  }
  r = db::maintain_database(tmp.file(), options);
  CHECK(r.change_log_pruned == 0); // nothing left to prune

  options.change_log_days = 0; // kept for ever
  r = db::maintain_database(tmp.file(), options);
  CHECK(r.change_log_cutoff == 0);
  CHECK(r.change_log_pruned == 0);
}

TEST_CASE("db maintenance: runs older than the history's days are pruned", "[db][maintenance]") {
  TempDir tmp;
  {
    db::RunHistory history(tmp.file());
    history.record(run_at(k_now - 200 * k_day), 0); // 0: record prunes nothing
    history.record(run_at(k_now - 181 * k_day), 0);
    history.record(run_at(k_now - 179 * k_day), 0);
    history.record(run_at(k_now - 1), 0);
  }
  db::MaintenanceOptions options;
  options.now = k_now;
  options.run_days = 180;
  options.dry_run = true;
  CHECK(db::maintain_database(tmp.file(), options).runs_pruned == 2);
  {
    db::RunHistory history(tmp.file());
    CHECK(history.runs(100).size() == 4);
  }
  options.dry_run = false;
  const auto r = db::maintain_database(tmp.file(), options);
  CHECK(r.run_cutoff == k_now - 180 * k_day);
  CHECK(r.runs_pruned == 2);
  db::RunHistory history(tmp.file());
  const auto runs = history.runs(100);
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].started_at == k_now - 1);
  CHECK(runs[1].started_at == k_now - 179 * k_day);
  CHECK(runs[1].backends.size() == 1);
  CHECK(runs[1].errors.size() == 1);
}

TEST_CASE("db maintenance: VACUUM when worthwhile or forced", "[db][maintenance]") {
  CHECK_FALSE(db::vacuum_worthwhile(0, 0));
  CHECK_FALSE(db::vacuum_worthwhile(100, 0));
  CHECK_FALSE(db::vacuum_worthwhile(100, 10)); // 10%: not above
  CHECK(db::vacuum_worthwhile(100, 11));
  CHECK(db::vacuum_worthwhile(1000, 500));

  TempDir tmp;
  {
    db::StateStore store(tmp.file());
    add_changes(store, 400, 10, k_now - 1000 * k_day); // most of the file, all old
    add_changes(store, 10, 1, k_now);
  }
  db::MaintenanceOptions options;
  options.now = k_now;

  SECTION("a compact file is not vacuumed unless forced") {
    auto r = db::maintain_database(tmp.file(), options);
    CHECK(r.free_pages == 0);
    CHECK_FALSE(r.vacuum_due);
    CHECK_FALSE(r.vacuumed);
    options.force_vacuum = true;
    r = db::maintain_database(tmp.file(), options);
    CHECK(r.vacuum_due);
    CHECK(r.vacuumed);
    CHECK(r.checkpointed);
  }
  SECTION("pruning most of the file frees pages: VACUUM gives them back") {
    options.change_log_days = 730;
    options.dry_run = true;
    auto r = db::maintain_database(tmp.file(), options);
    CHECK(r.change_log_pruned == 4000);
    CHECK_FALSE(r.vacuum_due); // nothing is free yet; the dry run says what it sees now
    CHECK(r.size_after == r.size_before);

    options.dry_run = false;
    r = db::maintain_database(tmp.file(), options);
    CHECK(r.change_log_pruned == 4000);
    CHECK(r.free_pages * 2 > r.pages);
    CHECK(r.vacuum_due);
    CHECK(r.vacuumed);
    CHECK(r.checkpointed);
    CHECK(r.size_after * 2 < r.size_before);
    CHECK(std::filesystem::file_size(tmp.file()) == r.size_after); // the WAL is empty
    CHECK(db::check_integrity(tmp.file()).empty());
    db::StateStore store(tmp.file());
    CHECK(store.count_items("main") == 410);
    CHECK(changes_logged(store, 401, 410) == 10);
  }
}
