// SPDX-License-Identifier: MIT
#include <watchstate/core/error.hpp>
#include <watchstate/db/state_store.hpp>

#include <catch2/catch.hpp>

#include <filesystem>

using namespace ws;

TEST_CASE("db::StateStore items, keys, records", "[db]") {
  db::StateStore store(":memory:");
  CHECK(store.schema_version() == 4);

  db::ItemRow row;
  row.identity = "main";
  row.type = backend::MediaType::episode;
  row.title = "Show";
  row.year = 2010;
  row.season = 1;
  row.episode = 2;
  row.watched = true;
  row.updated = 1'700'000'000;
  row.via = "plex";
  row.created_at = row.updated_at = 1'800'000'000;
  const auto id = store.insert_item(row);

  CHECK(store.add_key("main", "rtvdb://200/1/2", id));
  CHECK_FALSE(store.add_key("main", "rtvdb://200/1/2", id)); // present already: unchanged
  CHECK(store.find_by_key("main", "rtvdb://200/1/2") == id);
  CHECK_FALSE(store.find_by_key("alice", "rtvdb://200/1/2")); // identities do not share rows

  row.title = "Other";
  const auto other = store.insert_item(row);
  CHECK_FALSE(store.add_key("main", "rtvdb://200/1/2", other)); // a key has one owner

  db::BackendRecord rec;
  rec.backend = "jf";
  rec.remote_id = "abc";
  rec.watched = true;
  rec.played_at = 1'700'000'000;
  rec.guids = {{backend::GuidKey::tvdb, "2001"}, {backend::GuidKey::imdb, "tt1"}};
  rec.year = 2010;
  rec.season = 1;
  rec.episode = 2;
  store.upsert_record(id, rec);
  const auto back = store.record(id, "jf");
  REQUIRE(back);
  CHECK(*back == rec);
  CHECK(store.find_by_remote_id("main", "jf", "abc") == std::vector<db::ItemId>{id});

  auto loaded = store.item(id);
  REQUIRE(loaded);
  loaded->watched = false;
  loaded->updated = 1'800'000'001;
  loaded->via = "jf";
  store.update_item_state(*loaded);
  CHECK_FALSE(store.item(id)->watched);
  CHECK(store.item(id)->via == "jf");

  store.log_change({0, id, "jf", "import", "watched", "played@1", "unplayed@2", 3, "ok"});
  REQUIRE(store.changes(id).size() == 1);
  CHECK(store.changes(id)[0].new_value == "unplayed@2");
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

TEST_CASE("db::StateStore show cache", "[db]") {
  db::StateStore store(":memory:");
  backend::RemoteShow show{"77", "Show", 2010, {{backend::GuidKey::tvdb, "200"}}, {}};
  store.save_show("plex", show);
  auto shows = store.load_shows("plex");
  REQUIRE(shows.count("77") == 1);
  CHECK(shows["77"].guids == show.guids);
  CHECK(store.load_shows("jf").empty());
}

TEST_CASE("db::StateStore refuses an unwritable location", "[db]") {
  CHECK_THROWS_AS(db::StateStore("/proc/watchstate-cannot-exist/state.db"), Error);
}
