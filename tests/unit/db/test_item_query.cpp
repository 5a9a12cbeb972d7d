// SPDX-License-Identifier: MIT
// ws-state's store functions: the filters of `list` (query_items) and `forget` (forget_item).
#include <watchstate/db/state_store.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace ws;
using model::GuidKey;
using model::MediaType;

namespace {

struct Library {
  db::StateStore store{":memory:"};
  db::ItemId alpha = 0, beta = 0, gamma = 0, e101 = 0, e102 = 0, e201 = 0, other_show = 0,
             alice_alpha = 0;

  db::ItemId add(const char* identity, MediaType type, const char* title, int year, int season,
                 int episode, bool watched) {
    db::ItemRow row;
    row.identity = identity;
    row.type = type;
    row.title = title;
    row.year = year;
    row.season = season;
    row.episode = episode;
    row.watched = watched;
    row.updated = watched ? 1'700'000'000 : 0;
    row.via = "plex";
    row.created_at = row.updated_at = 1'700'000'000;
    return store.insert_item(row);
  }

  void record(const char* identity, db::ItemId item, const char* backend, const char* remote_id,
              const char* path) {
    db::BackendRecord r;
    r.backend = backend;
    r.remote_id = remote_id;
    r.path = path;
    store.upsert_record(identity, item, r);
  }

  Library() {
    alpha = add("main", MediaType::movie, "Alpha", 2001, -1, -1, true);
    beta = add("main", MediaType::movie, "Beta", 2002, -1, -1, false);
    gamma = add("main", MediaType::movie, "Gamma", 2001, -1, -1, false);
    e101 = add("main", MediaType::episode, "Show One", 2010, 1, 1, true);
    e102 = add("main", MediaType::episode, "Show One", 2010, 1, 2, false);
    e201 = add("main", MediaType::episode, "Show One", 2010, 2, 1, false);
    other_show = add("main", MediaType::episode, "Show Two", 2001, 1, 1, false);
    alice_alpha = add("alice", MediaType::movie, "Alpha", 2001, -1, -1, false);

    store.add_key("main", "imdb://tt0000001/movie", alpha);
    store.add_key("main", "tmdb://101/movie", alpha);
    store.add_key("main", "imdb://tt0000002/movie", beta);
    store.add_key("main", "tmdb://1010/movie", gamma); // "101" is a prefix of it: no match
    store.add_key("main", "rtvdb://200/1/1", e101);
    store.add_key("main", "tvdb://2001/episode", e101);
    store.add_key("main", "rtvdb://200/1/2", e102);
    store.add_key("main", "rtvdb://200/2/1", e201);
    store.add_key("main", "rtvdb://2000/1/1", other_show);   // series 2000, not 200
    store.add_key("main", "tvdb://200/episode", other_show); // its own id happens to be 200
    store.add_key("alice", "imdb://tt0000001/movie", alice_alpha);

    record("main", alpha, "plex", "11", "/media/Movies/Alpha (2001)/Alpha.mkv");
    record("main", alpha, "jf", "a1", "/data/movies/Alpha (2001)/Alpha.mkv");
    record("main", beta, "jf", "b1", "/data/movies/Beta (2002)/Beta.mkv");
    record("main", gamma, "plex", "13", "/media/Movies/Gamma/Gamma.mkv");
    record("main", e101, "plex", "21", "/media/TV/Show One/S01E01.mkv");
    record("main", e102, "emby", "x2", "/tv/Show One/S01E02.mkv");
    record("main", e201, "plex", "23", "/media/TV/Show One/S02E01.mkv");
    record("main", other_show, "emby", "x9", "/tv/Show Two/S01E01.mkv");
    record("alice", alice_alpha, "plex", "11", "/media/Movies/Alpha (2001)/Alpha.mkv");
  }

  std::vector<db::ItemId> ids(const db::ItemQuery& q) {
    std::vector<db::ItemId> out;
    store.query_items(q, [&](const db::ItemRow& row) { out.push_back(row.id); });
    return out;
  }
};

db::ItemQuery main_query() { return db::ItemQuery{}; }

} // namespace

TEST_CASE("db::StateStore::query_items filters", "[db][state-fix]") {
  Library lib;
  using Ids = std::vector<db::ItemId>;

  SECTION("no filter: every row of the identity, by title, year, season, episode") {
    CHECK(lib.ids(main_query()) ==
          Ids{lib.alpha, lib.beta, lib.gamma, lib.e101, lib.e102, lib.e201, lib.other_show});
    auto q = main_query();
    q.identity = "alice";
    CHECK(lib.ids(q) == Ids{lib.alice_alpha});
  }

  SECTION("--id: an item's own id, exact") {
    auto q = main_query();
    q.external_id = model::Guid{GuidKey::imdb, "tt0000001"};
    CHECK(lib.ids(q) == Ids{lib.alpha}); // alice's row stays hers
    q.external_id = model::Guid{GuidKey::tmdb, "101"};
    CHECK(lib.ids(q) == Ids{lib.alpha});
    q.external_id = model::Guid{GuidKey::tvdb, "2001"};
    CHECK(lib.ids(q) == Ids{lib.e101});
    q.external_id = model::Guid{GuidKey::imdb, "tt9999999"};
    CHECK(lib.ids(q).empty());
  }

  SECTION("--id: a series id lists its episodes (and an item whose own id it is)") {
    auto q = main_query();
    q.external_id = model::Guid{GuidKey::tvdb, "200"};
    CHECK(lib.ids(q) == Ids{lib.e101, lib.e102, lib.e201, lib.other_show});
    q.external_id = model::Guid{GuidKey::tvdb, "2000"};
    CHECK(lib.ids(q) == Ids{lib.other_show});
    q.season = 2;
    CHECK(lib.ids(q).empty());
    q.external_id = model::Guid{GuidKey::tvdb, "200"};
    CHECK(lib.ids(q) == Ids{lib.e201});
  }

  SECTION("--path: any backend's file path, case-insensitive") {
    auto q = main_query();
    q.path_contains = "alpha (2001)";
    CHECK(lib.ids(q) == Ids{lib.alpha});
    q.path_contains = "/media/";
    CHECK(lib.ids(q) == Ids{lib.alpha, lib.gamma, lib.e101, lib.e201});
    q.path_contains = "Show One/S01";
    CHECK(lib.ids(q) == Ids{lib.e101, lib.e102});
    q.path_contains = "nowhere";
    CHECK(lib.ids(q).empty());
  }

  SECTION("--year, --type, --season, --episode") {
    auto q = main_query();
    q.year = 2001;
    CHECK(lib.ids(q) == Ids{lib.alpha, lib.gamma, lib.other_show});
    q.type = MediaType::movie;
    CHECK(lib.ids(q) == Ids{lib.alpha, lib.gamma});
    q.type = MediaType::episode;
    CHECK(lib.ids(q) == Ids{lib.other_show});
    q = main_query();
    q.season = 1;
    CHECK(lib.ids(q) == Ids{lib.e101, lib.e102, lib.other_show});
    q.episode = 1;
    CHECK(lib.ids(q) == Ids{lib.e101, lib.other_show});
    q.season = 2;
    CHECK(lib.ids(q) == Ids{lib.e201});
    q = main_query();
    q.type = MediaType::movie;
    CHECK(lib.ids(q) == Ids{lib.alpha, lib.beta, lib.gamma});
  }

  SECTION("--backend: rows that backend holds a record for") {
    auto q = main_query();
    q.backend = "plex";
    CHECK(lib.ids(q) == Ids{lib.alpha, lib.gamma, lib.e101, lib.e201});
    q.backend = "jf";
    CHECK(lib.ids(q) == Ids{lib.alpha, lib.beta});
    q.backend = "emby";
    CHECK(lib.ids(q) == Ids{lib.e102, lib.other_show});
    q.backend = "nobody";
    CHECK(lib.ids(q).empty());
  }

  SECTION("every filter combines with the others and with title, played, limit") {
    auto q = main_query();
    q.backend = "plex";
    q.watched = true;
    CHECK(lib.ids(q) == Ids{lib.alpha, lib.e101});
    q.watched = false;
    CHECK(lib.ids(q) == Ids{lib.gamma, lib.e201});
    q.title_contains = "show";
    CHECK(lib.ids(q) == Ids{lib.e201});
    q = main_query();
    q.year = 2001;
    q.path_contains = "/tv/";
    q.external_id = model::Guid{GuidKey::tvdb, "200"};
    q.backend = "emby";
    q.type = MediaType::episode;
    q.season = 1;
    q.episode = 1;
    CHECK(lib.ids(q) == Ids{lib.other_show});
    q = main_query();
    q.type = MediaType::episode;
    q.limit = 2;
    CHECK(lib.ids(q) == Ids{lib.e101, lib.e102});
  }
}

TEST_CASE("db::StateStore::forget_item", "[db][state-fix]") {
  Library lib;
  auto& store = lib.store;
  store.log_change(
      {0, lib.alpha, "plex", "import", "watched", "", "played@1700000000", 1'700'000'000, "ok"});
  store.log_change({0, lib.beta, "jf", "import", "watched", "", "played@1", 1, "ok"});
  store.replace_conflicts("main", "plex", "11", lib.alpha,
                          {{"plex", "11", lib.alpha, "tmdb://5/movie", lib.gamma, "other_row"}});
  store.replace_conflicts(
      "main", "plex", "13", lib.gamma,
      {{"plex", "13", lib.gamma, "imdb://tt0000001/movie", lib.alpha, "other_row"}});

  SECTION("the row goes with its keys, records, change log and conflicts; others stay") {
    const auto gone = store.forget_item(lib.alpha);
    REQUIRE(gone);
    CHECK(gone->row.title == "Alpha");
    CHECK(gone->keys == std::vector<std::string>{"imdb://tt0000001/movie", "tmdb://101/movie"});
    REQUIRE(gone->records.size() == 2);
    CHECK(gone->records[0].backend == "jf");
    CHECK(gone->records[1].backend == "plex");
    CHECK(gone->changes == 1);
    CHECK(gone->conflicts == 2); // its own, and gamma's that names it

    CHECK_FALSE(store.item(lib.alpha));
    CHECK(store.items_by_key("main", "imdb://tt0000001/movie").empty());
    CHECK(store.items_by_key("alice", "imdb://tt0000001/movie") ==
          std::vector<db::ItemId>{lib.alice_alpha});
    CHECK(store.records(lib.alpha).empty());
    CHECK(store.records_by_remote_id("main", "plex", "11").empty());
    CHECK(store.records_by_remote_id("alice", "plex", "11").size() == 1);
    CHECK(store.changes(lib.alpha).empty());
    CHECK(store.changes(lib.beta).size() == 1);
    CHECK(store.conflicts("main", "").empty());
    CHECK(store.count_items("main") == 6);
    CHECK(store.records(lib.beta).size() == 1);
  }

  SECTION("an unknown id removes nothing") {
    CHECK_FALSE(store.forget_item(9999));
    CHECK(store.count_items("main") == 7);
  }

  SECTION("inside a transaction rolled back (--dry-run) nothing goes") {
    {
      db::StateStore::Transaction tx(store);
      const auto gone = store.forget_item(lib.alpha);
      REQUIRE(gone);
      CHECK(gone->records.size() == 2);
    }
    CHECK(store.item(lib.alpha));
    CHECK(store.keys_of(lib.alpha).size() == 2);
    CHECK(store.records(lib.alpha).size() == 2);
    CHECK(store.changes(lib.alpha).size() == 1);
  }
}
