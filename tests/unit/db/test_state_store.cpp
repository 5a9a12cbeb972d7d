// SPDX-License-Identifier: MIT
#include <watchstate/core/error.hpp>
#include <watchstate/db/database_facts.hpp>
#include <watchstate/db/state_store.hpp>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include "support/other_connection.hpp"
#include "support/temp_dir.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>

using namespace ws;

namespace {

db::ItemRow episode_row(const char* title) {
  db::ItemRow row;
  row.identity = "main";
  row.type = model::MediaType::episode;
  row.title = title;
  row.year = 2010;
  row.season = 1;
  row.episode = 2;
  row.watched = true;
  row.updated = 1'700'000'000;
  row.via = "plex";
  row.created_at = row.updated_at = 1'800'000'000;
  return row;
}

db::BackendRecord record(const char* backend, const char* remote_id) {
  db::BackendRecord rec;
  rec.backend = backend;
  rec.remote_id = remote_id;
  rec.watched = true;
  rec.played_at = 1'700'000'000;
  rec.guids = {{model::GuidKey::imdb, "tt1"}, {model::GuidKey::tvdb, "2001"}};
  rec.year = 2010;
  rec.season = 1;
  rec.episode = 2;
  return rec;
}

// The indexes of backend_items in `file`, as "name(column, ...)".
std::vector<std::string> record_indexes(const std::filesystem::path& file) {
  return test::query_on_another_connection(
      file, "SELECT i.name || '(' || (SELECT group_concat(c.name, ', ') FROM "
            "pragma_index_info(i.name) c) || ')' FROM sqlite_master i WHERE i.type = 'index' AND "
            "i.tbl_name = 'backend_items' ORDER BY i.name");
}

// How SQLite plans `select` on `file`: the detail of each step, joined.
std::string query_plan(const std::filesystem::path& file, const std::string& select) {
  std::string plan;
  for (const auto& step :
       test::query_on_another_connection(file, ("EXPLAIN QUERY PLAN " + select).c_str(), 3)) {
    plan += step + "; ";
  }
  return plan;
}

} // namespace

TEST_CASE("db::StateStore items, keys, records", "[db]") {
  db::StateStore store(":memory:");
  CHECK(store.schema_version() == 10);

  auto row = episode_row("Show");
  const auto id = store.insert_item(row);

  const auto alone = store.item_with_identity_records(id); // a row no record points to yet
  REQUIRE(alone);
  CHECK(alone->row.title == "Show");
  CHECK(alone->records.empty());
  CHECK_FALSE(store.item_with_identity_records(id + 1));

  CHECK_FALSE(store.has_keys("main"));
  CHECK(store.add_key("main", "rtvdb://200/1/2", id));
  CHECK_FALSE(store.add_key("main", "rtvdb://200/1/2", id)); // present already: unchanged
  CHECK(store.has_keys("main"));
  CHECK_FALSE(store.has_keys("alice"));
  CHECK(store.items_by_key("main", "rtvdb://200/1/2") == std::vector<db::ItemId>{id});
  CHECK(store.items_by_key("alice", "rtvdb://200/1/2").empty()); // identities do not share rows

  SECTION("a key may point to several rows (an id two episodes share)") {
    const auto other = store.insert_item(episode_row("Other"));
    CHECK(store.add_key("main", "tvdb://555/episode", id));
    CHECK(store.add_key("main", "tvdb://555/episode", other));
    CHECK(store.items_by_key("main", "tvdb://555/episode") == std::vector<db::ItemId>{id, other});
    store.remove_key("main", "tvdb://555/episode", id);
    CHECK(store.items_by_key("main", "tvdb://555/episode") == std::vector<db::ItemId>{other});
    CHECK(store.shared_keys("main").empty());
  }

  SECTION("records: one per remote item, copies on one backend side by side") {
    const auto rec = record("jf", "abc");
    store.upsert_record("main", id, rec);
    auto copy = record("jf", "def");
    copy.watched = false;
    copy.played_at = 0;
    store.upsert_record("main", id, copy);
    const auto back = store.records(id, "jf");
    REQUIRE(back.size() == 2);
    CHECK(back[0] == rec);
    CHECK(back[1] == copy);
    const auto found = store.records_by_remote_id("main", "jf", "abc");
    REQUIRE(found.size() == 1);
    CHECK(found[0].first == id);
    CHECK(found[0].second == rec);
    CHECK(store.records_by_remote_id("alice", "jf", "abc").empty());
    CHECK(store.count_records("main", "jf") == 2);

    // The matching's read of a candidate: the row and what each record says it is, in order.
    store.upsert_record("main", id, record("emby", "7"));
    const auto candidate = store.item_with_identity_records(id);
    REQUIRE(candidate);
    CHECK(candidate->row.id == id);
    CHECK(candidate->row.title == "Show");
    CHECK(candidate->row.watched);
    REQUIRE(candidate->records.size() == 3);
    CHECK(candidate->records[0].backend == "emby");
    CHECK(candidate->records[1].remote_id == "abc");
    CHECK(candidate->records[2].remote_id == "def");
    for (const auto& r : candidate->records) {
      CHECK(r.guids == rec.guids);
      CHECK(r.season == 1);
      CHECK(r.episode == 2);
    }
    store.remove_record("main", "emby", "7", id);
    CHECK(store.has_records("main", "jf"));
    CHECK_FALSE(store.has_records("main", "plex"));
    CHECK_FALSE(store.has_records("alice", "jf"));

    SECTION("the records a complete listing no longer has go, with their conflicts") {
      store.replace_conflicts("main", "jf", "def", id,
                              {{"jf", "def", id, "tmdb://5/episode", 9, "other_row"}});
      CHECK(store.remove_records_except("main", "jf", {{id, "abc"}}) == 1);
      CHECK(store.records(id, "jf").size() == 1);
      CHECK(store.conflicts("main", "jf").empty());
      CHECK(store.remove_records_except("main", "jf", {{id, "abc"}}) == 0);
    }
    SECTION("one record goes") {
      store.remove_record("main", "jf", "def", id);
      CHECK(store.records(id, "jf") == std::vector<db::BackendRecord>{rec});
    }
  }

  SECTION("merging two rows moves records, change log and conflicts, and removes the row") {
    const auto other = store.insert_item(episode_row("Same"));
    store.upsert_record("main", id, record("plex", "1"));
    store.upsert_record("main", other, record("jf", "abc"));
    store.log_change({0, other, "jf", "import", "watched", "", "played@1", 3, "ok"});
    store.replace_conflicts("main", "jf", "abc", other,
                            {{"jf", "abc", other, "tmdb://5/episode", id, "other_row"}});
    store.merge_item(id, other);
    CHECK_FALSE(store.item(other));
    CHECK(store.records(id).size() == 2);
    CHECK(store.changes(id).size() == 1);
    CHECK(store.conflicts("main", "").empty()); // it pointed at the row it merged into
  }

  SECTION("merging two rows keeps playlists naming the row merged away on the row it joined") {
    const auto other = store.insert_item(episode_row("Same"));
    const auto third = store.insert_item(episode_row("Third"));
    db::PlaylistRow list;
    list.identity = "main";
    list.title = "Marathon";
    list.name_key = "marathon";
    // The row merged away twice, a row whose id it is a prefix and suffix of, and another row.
    const db::ItemId lookalike = other * 10 + other;
    list.items = {other, third, lookalike, other};
    list.source = "plex";
    const auto list_id = store.save_playlist(list);
    db::PlaylistRow untouched = list;
    untouched.title = untouched.name_key = "other";
    untouched.items = {third};
    store.save_playlist(untouched);

    store.merge_item(id, other);
    const auto lists = store.playlists("main");
    REQUIRE(lists.size() == 2);
    CHECK(lists[0].id == list_id);
    CHECK(lists[0].items == std::vector<db::ItemId>{id, third, lookalike, id});
    CHECK(lists[1].items == std::vector<db::ItemId>{third});
  }

  SECTION("conflicts: replaced per record, nothing written when unchanged") {
    const std::vector<db::ConflictRecord> c = {
        {"jf", "abc", id, "tmdb://6/movie", 9, "disagree"},
        {"jf", "abc", id, "imdb://tt2/movie", 8, "other_row"}};
    store.replace_conflicts("main", "jf", "abc", id, c);
    const auto back = store.conflicts_of("main", "jf", "abc", id);
    REQUIRE(back.size() == 2);
    CHECK(back[0].key == "imdb://tt2/movie");
    store.replace_conflicts("main", "jf", "abc", id, {c[0]});
    CHECK(store.conflicts("main", "jf").size() == 1);
  }

  auto loaded = store.item(id);
  REQUIRE(loaded);
  loaded->watched = false;
  loaded->updated = 1'800'000'001;
  loaded->via = "jf";
  store.update_item_state(*loaded);
  CHECK_FALSE(store.item(id)->watched);
  CHECK(store.item(id)->via == "jf");

  store.log_change({0, id, "jf", "import", "watched", "played@1", "unplayed@2", 3, "ok"});
  REQUIRE_FALSE(store.changes(id).empty());
  CHECK(store.changes(id).back().new_value == "unplayed@2");
}

TEST_CASE("db::StateStore::add_keys writes every key, several to a statement", "[db]") {
  db::StateStore store(":memory:");
  const auto a = store.insert_item(episode_row("A"));
  const auto b = store.insert_item(episode_row("B"));
  store.add_key("main", "tvdb://1/episode", a); // present before: kept, not doubled
  // More keys than several statements take and a remainder, a pair given twice, a key of two
  // rows, and the same key of another identity.
  std::vector<std::string> texts;
  std::vector<db::StateStore::KeyRow> keys;
  texts.reserve(100);
  for (int i = 0; i < 100; ++i) {
    texts.push_back("tvdb://" + std::to_string(i) + "/episode");
    keys.push_back({texts.back(), i % 2 == 0 ? a : b});
  }
  keys.push_back({"tvdb://1/episode", a});
  keys.push_back({"tvdb://3/episode", a});
  keys.push_back({"tvdb://5/episode", b});
  store.add_keys("main", keys);
  store.add_keys("alice", {{"tvdb://0/episode", b}});
  store.add_keys("main", {});
  for (int i = 0; i < 100; ++i) {
    CAPTURE(i);
    const std::string key = "tvdb://" + std::to_string(i) + "/episode";
    if (i == 1 || i == 3) {
      CHECK(store.items_by_key("main", key) == std::vector<db::ItemId>{a, b});
    } else {
      CHECK(store.items_by_key("main", key) == std::vector<db::ItemId>{i % 2 == 0 ? a : b});
    }
  }
  CHECK(store.items_by_key("alice", "tvdb://0/episode") == std::vector<db::ItemId>{b});
  CHECK(store.keys_of(a).size() == 52); // 50 even keys, tvdb://1 from before, tvdb://3
  CHECK(store.keys_of(b).size() == 51); // 50 odd ones (tvdb://5 given twice), alice's tvdb://0
}

TEST_CASE("db::StateStore keys shared by rows and imdb ids on both types", "[db]") {
  db::StateStore store(":memory:");
  const auto a = store.insert_item(episode_row("A"));
  auto b_row = episode_row("B");
  b_row.episode = 3;
  const auto b = store.insert_item(b_row);
  auto m_row = episode_row("Film");
  m_row.type = model::MediaType::movie;
  const auto m = store.insert_item(m_row);
  store.add_key("main", "tmdb://555/episode", a);
  store.add_key("main", "tmdb://555/episode", b);
  store.add_key("main", "imdb://tt7/episode", a);
  store.add_key("main", "imdb://tt7/movie", m);
  store.add_key("main", "imdb://tt8/movie", m);
  const auto shared = store.shared_keys("main");
  REQUIRE(shared.size() == 1);
  CHECK(shared[0].first == "tmdb://555/episode");
  CHECK(shared[0].second == std::vector<db::ItemId>{a, b});
  const auto both = store.imdb_on_movie_and_episode("main");
  REQUIRE(both.size() == 1);
  CHECK(both[0] == std::make_tuple(std::string("tt7"), m, a));
}

TEST_CASE("db::StateStore migrates a version 4 database keeping its data", "[db]") {
  const auto file = std::filesystem::temp_directory_path() / "ws-test-state-v4.db";
  std::filesystem::remove(file);
  {
    // The tables of schema 4 that version 5 rebuilds, with one movie seen by two backends.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
    const char* sql = R"sql(
CREATE TABLE items (id INTEGER PRIMARY KEY, identity TEXT NOT NULL, type TEXT NOT NULL,
  title TEXT NOT NULL, year INTEGER NOT NULL DEFAULT 0, season INTEGER NOT NULL DEFAULT -1,
  episode INTEGER NOT NULL DEFAULT -1, watched INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL,
  progress_ms INTEGER NOT NULL DEFAULT 0, progress_at INTEGER NOT NULL DEFAULT 0, via TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE item_keys (identity TEXT NOT NULL, key TEXT NOT NULL, item_id INTEGER NOT NULL,
  PRIMARY KEY (identity, key)) WITHOUT ROWID;
CREATE TABLE backend_items (item_id INTEGER NOT NULL, backend TEXT NOT NULL, remote_id TEXT NOT NULL,
  library_id TEXT NOT NULL DEFAULT '', show_id TEXT NOT NULL DEFAULT '', watched INTEGER NOT NULL DEFAULT 0,
  played_at INTEGER NOT NULL DEFAULT 0, added_at INTEGER NOT NULL DEFAULT 0,
  progress_ms INTEGER NOT NULL DEFAULT 0, path TEXT NOT NULL DEFAULT '', multi INTEGER NOT NULL DEFAULT 0,
  guids TEXT NOT NULL DEFAULT '', duration_ms INTEGER NOT NULL DEFAULT 0, year INTEGER NOT NULL DEFAULT 0,
  season INTEGER NOT NULL DEFAULT -1, episode INTEGER NOT NULL DEFAULT -1,
  PRIMARY KEY (item_id, backend)) WITHOUT ROWID;
CREATE INDEX backend_items_remote ON backend_items (backend, remote_id);
CREATE TABLE shows (backend TEXT NOT NULL, show_id TEXT NOT NULL, title TEXT NOT NULL DEFAULT '',
  year INTEGER NOT NULL DEFAULT 0, guids TEXT NOT NULL DEFAULT '', PRIMARY KEY (backend, show_id)) WITHOUT ROWID;
CREATE TABLE cursors (identity TEXT NOT NULL, backend TEXT NOT NULL, kind TEXT NOT NULL,
  value INTEGER NOT NULL, PRIMARY KEY (identity, backend, kind)) WITHOUT ROWID;
CREATE TABLE servers (backend TEXT PRIMARY KEY, server_id TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',
  version TEXT NOT NULL DEFAULT '');
CREATE TABLE change_log (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL, backend TEXT NOT NULL,
  direction TEXT NOT NULL, field TEXT NOT NULL, old_value TEXT NOT NULL, new_value TEXT NOT NULL,
  at INTEGER NOT NULL, outcome TEXT NOT NULL DEFAULT 'ok');
INSERT INTO items VALUES (7, 'alice', 'movie', 'Alpha', 2001, -1, -1, 1, 1700000000, 0, 0, 'plex', 1, 1);
INSERT INTO items VALUES (8, 'bob', 'movie', 'Beta', 2002, -1, -1, 0, 0, 0, 0, 'plex', 1, 1);
INSERT INTO shows VALUES ('plex', '77', 'Show', 2010, 'tvdb=200');
INSERT INTO item_keys VALUES ('alice', 'imdb://tt1/movie', 7);
INSERT INTO backend_items (item_id, backend, remote_id, watched, played_at, guids)
  VALUES (7, 'plex', '11', 1, 1700000000, 'imdb=tt1'), (7, 'jf', 'ab', 0, 0, 'imdb=tt1;tmdb=5');
INSERT INTO change_log (item_id, backend, direction, field, old_value, new_value, at)
  VALUES (7, 'plex', 'import', 'watched', '', 'played@1700000000', 1);
PRAGMA user_version = 4;
)sql";
    REQUIRE(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  {
    db::StateStore store(file);
    CHECK(store.schema_version() == 10);
    CHECK(store.item(7)->title == "Alpha");
    CHECK(store.items_by_key("alice", "imdb://tt1/movie") == std::vector<db::ItemId>{7});
    const auto records = store.records(7);
    REQUIRE(records.size() == 2);
    CHECK(records[0].backend == "jf");
    CHECK(records[0].guids.size() == 2);
    CHECK(store.records_by_remote_id("alice", "plex", "11").size() == 1);
    CHECK(store.records_by_remote_id("main", "plex", "11").empty());
    CHECK(store.changes(7).size() == 1);
    // Version 10 gave every identity with items the series cache as it was.
    for (const std::string identity : {"alice", "bob"}) {
      const auto shows = store.load_shows(identity, "plex");
      REQUIRE(shows.count("77") == 1);
      CHECK(shows.at("77").guids == model::Guids{{model::GuidKey::tvdb, "200"}});
    }
    CHECK(store.load_shows("main", "plex").empty());
    // Version 8 computed the lookup key and digest of the records it found.
    auto digests = store.record_digests("alice");
    REQUIRE(digests.size() == 2);
    for (const auto& record : records) {
      const auto& of_backend = digests[record.backend];
      REQUIRE(of_backend.size() == 1);
      CHECK(of_backend[0].item == 7);
      CHECK(of_backend[0].digest == db::record_digest(record));
      CHECK(of_backend[0].lookup ==
            db::record_lookup_key(record.remote_id, record.season, record.episode));
    }
  }
  // Version 9 left one index on the records (see the next test).
  CHECK(record_indexes(file) ==
        std::vector<std::string>{
            "backend_items_remote(identity, backend, remote_id, lookup, digest)"});
  // A database keeps the page size it was created with (SQLite's 4 KiB here).
  CHECK(db::inspect_database(file).page_size == 4096);
  std::filesystem::remove(file);
}

TEST_CASE("db::StateStore creates its database with 16 KiB pages", "[db]") {
  const auto file = std::filesystem::temp_directory_path() / "ws-test-state-pages.db";
  std::filesystem::remove(file);
  {
    db::StateStore store(file);
    db::ItemRow row;
    row.identity = "main";
    row.title = "Alpha";
    CHECK(store.insert_item(row) == 1);
  }
  const auto facts = db::inspect_database(file);
  CHECK(facts.page_size == 16384);
  CHECK(facts.journal_mode == "wal");
  { // opened again: the same pages, the same row
    db::StateStore store(file);
    CHECK(store.item(1)->title == "Alpha");
  }
  CHECK(db::inspect_database(file).page_size == 16384);
  std::filesystem::remove(file);
}

TEST_CASE("db::StateStore leaves a deleted record's bytes where they lay (no secure delete)",
          "[db]") {
  // Debian's SQLite zeroes every cell a B-tree drops or moves (SECURE_DELETE), work an import
  // pays on every page split; the state database turns it off. What shows it: a deleted
  // record's text stays in the page it was dropped from until the space is reused.
  const auto file = std::filesystem::temp_directory_path() / "ws-test-state-deleted.db";
  std::filesystem::remove(file);
  const std::string marker = "/media/deleted-record-marker-7f3a9c/Film (2001).mkv";
  {
    db::StateStore store(file);
    const auto id = store.insert_item(episode_row("Show"));
    auto kept = record("plex", "1");
    kept.path = "/media/kept/Film (2001).mkv";
    store.upsert_record("main", id, kept);
    auto dropped = record("jellyfin", "ab12");
    dropped.path = marker;
    store.upsert_record("main", id, dropped);
    store.remove_record("main", "jellyfin", "ab12", id);
    CHECK(store.records(id, "jellyfin").empty());
  } // the last connection closed: SQLite copied the log into the file and removed it
  REQUIRE_FALSE(std::filesystem::exists(file.string() + "-wal"));
  std::ifstream in(file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(bytes.find("/media/kept/Film (2001).mkv") != std::string::npos);
  CHECK(bytes.find(marker) != std::string::npos); // zeroed under SECURE_DELETE
  std::filesystem::remove(file);
}

TEST_CASE("db::StateStore: one index serves records by remote id and the no-change pass", "[db]") {
  // Each index costs every record written a B-tree insert (300,000 in a first import of
  // 3 x 100,000 items): the look-up by remote id and the pass over lookup keys and digests
  // share one, which covers the pass.
  const auto file = std::filesystem::temp_directory_path() / "ws-test-state-indexes.db";
  std::filesystem::remove(file);
  {
    db::StateStore store(file);
    auto row = episode_row("Show");
    const auto id = store.insert_item(row);
    store.upsert_record("main", id, record("jellyfin", "ab12"));
    CHECK(store.records_by_remote_id("main", "jellyfin", "ab12").size() == 1);
    const auto digests = store.record_digests("main");
    REQUIRE(digests.count("jellyfin") == 1);
    CHECK(digests.at("jellyfin").size() == 1);
  }
  CHECK(record_indexes(file) ==
        std::vector<std::string>{
            "backend_items_remote(identity, backend, remote_id, lookup, digest)"});
  CHECK_THAT(query_plan(file, "SELECT backend, lookup, item_id, digest FROM backend_items INDEXED "
                              "BY backend_items_remote WHERE identity = 'main'"),
             Catch::Contains("COVERING INDEX backend_items_remote"));
  CHECK_THAT(
      query_plan(file, "SELECT item_id FROM backend_items WHERE identity = 'main' AND "
                       "backend = 'jellyfin' AND remote_id = 'ab12'"),
      Catch::Contains("INDEX backend_items_remote (identity=? AND backend=? AND remote_id=?)"));
  std::filesystem::remove(file);
}

TEST_CASE("db::StateStore transactions roll back unless committed", "[db]") {
  const auto file = std::filesystem::temp_directory_path() / "ws-test-state-tx.db";
  std::filesystem::remove(file);
  {
    db::StateStore store(file);
    {
      db::StateStore::Transaction tx(store);
      store.set_cursor("main", "plex", "import", 5);
    } // no commit
    CHECK_FALSE(store.cursor("main", "plex", "import"));
    {
      db::StateStore::Transaction tx(store);
      store.set_cursor("main", "plex", "import", 7);
      tx.commit();
    }
  }
  db::StateStore reopened(file); // migrations are idempotent
  CHECK(reopened.cursor("main", "plex", "import") == 7);
  std::filesystem::remove(file);
}

TEST_CASE("db::StateStore: a failed write does not fail the next use of its statement", "[db]") {
  // The store keeps its statements prepared for its whole life (ws-webhook: days). A step that
  // failed leaves its error in the statement; the next, unrelated write must not meet it again.
  const auto file = std::filesystem::temp_directory_path() / "ws-test-state-failed-write.db";
  std::filesystem::remove(file);
  {
    db::StateStore store(file);
    const auto id = store.insert_item(episode_row("Show"));
    test::exec_on_another_connection(
        file, "CREATE TRIGGER refuse_key BEFORE INSERT ON item_keys WHEN NEW.key = "
              "'imdb://tt666/episode' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END; "
              "CREATE TRIGGER refuse_record BEFORE INSERT ON backend_items WHEN NEW.remote_id = "
              "'666' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");

    CHECK_THROWS_AS(store.add_key("main", "imdb://tt666/episode", id), Error);
    CHECK(store.add_key("main", "imdb://tt1/episode", id));
    CHECK(store.items_by_key("main", "imdb://tt1/episode") == std::vector<db::ItemId>{id});

    CHECK_THROWS_AS(store.upsert_record("main", id, record("plex", "666")), Error);
    CHECK_NOTHROW(store.upsert_record("main", id, record("plex", "900")));
    const auto records = store.records(id);
    REQUIRE(records.size() == 1);
    CHECK(records.front().remote_id == "900");
  }
  std::filesystem::remove(file);
}

TEST_CASE("db::StateStore reads leave no read transaction open between transactions", "[db]") {
  // Another process (a reader recording its run) writes between this run's transactions: a
  // read that left its statement on a row would make the next BEGIN IMMEDIATE fail at once.
  const auto file = std::filesystem::temp_directory_path() / "ws-test-state-reads.db";
  std::filesystem::remove(file);
  {
    db::StateStore store(file);
    const auto id = store.insert_item(episode_row("Show"));
    REQUIRE(store.item(id));
    REQUIRE(store.item_with_identity_records(id)); // no record: its first row ends the read
    CHECK(store.server("plex") == std::nullopt);
    CHECK_FALSE(store.cursor("main", "plex", "import"));

    db::StateStore other(file);
    {
      db::StateStore::Transaction tx(other);
      other.set_cursor("main", "jellyfin", "import", 9);
      tx.commit();
    }
    db::StateStore::Transaction tx(store);
    store.set_cursor("main", "plex", "import", 7);
    tx.commit();
    CHECK(store.cursor("main", "jellyfin", "import") == 9);
  }
  std::filesystem::remove(file);
  std::filesystem::remove(file.string() + "-wal");
  std::filesystem::remove(file.string() + "-shm");
}

namespace {

// How many items the database file itself holds, without its write-ahead log: what checkpoints
// copied into it. (A copy of the file alone is opened, so the log cannot be read.)
std::size_t items_in_database_file(const std::filesystem::path& file) {
  const auto copy = std::filesystem::path(file.string() + ".copy");
  std::filesystem::remove(copy);
  std::filesystem::copy_file(file, copy);
  std::size_t count = 0;
  if (!test::query_on_another_connection(copy, "SELECT 1 FROM sqlite_master WHERE name = 'items'")
           .empty()) {
    count = std::stoul(test::query_on_another_connection(copy, "SELECT count(*) FROM items")[0]);
  }
  std::filesystem::remove(copy);
  return count;
}

void insert_items(db::StateStore& store, int count) {
  db::StateStore::Transaction tx(store);
  for (int i = 0; i < count; ++i) {
    store.insert_item(episode_row("Show"));
  }
  tx.commit();
}

// `commits` transactions of one item each: each adds at least the two pages it changed (a
// table's, an index's) to the log, so 1,500 of them take it past the 1,000 pages where SQLite
// copies it by itself.
void insert_items_one_per_commit(db::StateStore& store, int commits) {
  for (int i = 0; i < commits; ++i) {
    insert_items(store, 1);
  }
}

} // namespace

TEST_CASE("db::StateStore::DeferredCheckpoint leaves the commits in the log until its end",
          "[db]") {
  const test::TempDir dir("ws-test-checkpoints");
  const auto file = dir.path() / "state.db";
  {
    db::StateStore store(file);
    insert_items(store, 100);
    // A small commit leaves its pages in the log (SQLite checkpoints at 1,000 pages).
    REQUIRE(items_in_database_file(file) == 0);
    {
      const db::StateStore::DeferredCheckpoint checkpoint(store);
      {
        const db::StateStore::DeferredCheckpoint inner(store); // the outer one checkpoints
        insert_items_one_per_commit(store, 1500); // past 1,000 pages, where SQLite would copy
      }
      CHECK(items_in_database_file(file) == 0);
    }
    // Its end copied what the commits left.
    CHECK(items_in_database_file(file) == 1600);
    // Copied whole, the log starts again from its beginning: as many writes again leave it about
    // as large, not twice (ws-import defers per identity, so the log holds one identity's writes
    // at most). The table has grown, so a commit may change a page more than before.
    const auto log = std::filesystem::path(file.string() + "-wal");
    const auto log_size = std::filesystem::file_size(log);
    {
      const db::StateStore::DeferredCheckpoint checkpoint(store);
      insert_items_one_per_commit(store, 1500);
    }
    CHECK(std::filesystem::file_size(log) < log_size + log_size / 4);
    CHECK(items_in_database_file(file) == 3100);
    // Then SQLite checkpoints as before: at 1,000 pages.
    insert_items_one_per_commit(store, 1500);
    CHECK(items_in_database_file(file) > 3100);
    {
      // Inside a transaction (a dry run's, never committed) commits are savepoints: nothing
      // to checkpoint, and its end cannot checkpoint either.
      db::StateStore::Transaction dry_run(store);
      {
        const db::StateStore::DeferredCheckpoint checkpoint(store);
        insert_items(store, 10);
      }
    }
    insert_items(store, 1);
  }
  // Closed, the store left everything in the file: the dry run's ten items rolled back.
  CHECK(items_in_database_file(file) == 4601);
}

TEST_CASE("db::StateStore show cache, by identity", "[db]") {
  db::StateStore store(":memory:");
  model::RemoteShow show{"77", "Show", 2010, {{model::GuidKey::tvdb, "200"}}, {}};
  store.save_show("main", "plex", show);
  auto shows = store.load_shows("main", "plex");
  REQUIRE(shows.count("77") == 1);
  CHECK(shows["77"].guids == show.guids);
  CHECK(store.load_shows("main", "jf").empty());
  // What one identity's import saw is not another's: the kid has not seen the series yet.
  CHECK(store.load_shows("kid", "plex").empty());
  show.guids = {{model::GuidKey::tvdb, "201"}};
  store.save_show("kid", "plex", show);
  CHECK(store.load_shows("main", "plex").at("77").guids ==
        model::Guids{{model::GuidKey::tvdb, "200"}});
}

TEST_CASE("db::StateStore refuses an unwritable location", "[db]") {
  CHECK_THROWS_AS(db::StateStore("/proc/watchstate-cannot-exist/state.db"), Error);
}
