// SPDX-License-Identifier: MIT
// The use cases in-process: import, export, parity, backup create/restore and the webhook
// applier run against the simulator's three servers through sync::Services (no socket, no
// process), with the state database in a temporary directory and a clock the test sets. Every
// verdict reads the servers' state from the simulated world.
#include <watchstate/backup/backup.hpp>
#include <watchstate/config/config.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/sync/export.hpp>
#include <watchstate/sync/import.hpp>
#include <watchstate/sync/parity.hpp>
#include <watchstate/webhook/apply.hpp>

#include "support/other_connection.hpp"
#include "support/sim_services.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <thread>

namespace {

using ws::sim::Kind;

constexpr const char* k_jf_user = "11111111111111111111111111111111";
constexpr const char* k_emby_user = "33333333333333333333333333333333";
constexpr const char* k_plex_machine = "0123456789abcdef0123456789abcdef01234567";

// The three servers of every world here, one user each (the world file's "servers").
const std::string k_servers = fmt::format(
    R"("servers":{{
    "plex":{{"server_id":"{}","users":[{{"id":"1","name":"owner","token":"ptok"}}]}},
    "jellyfin":{{"server_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","token":"jkey",
                "users":[{{"id":"{}","name":"alice","token":"jalice"}}]}},
    "emby":{{"server_id":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","token":"ekey",
            "users":[{{"id":"{}","name":"alice"}}]}}}})",
    k_plex_machine, k_jf_user, k_emby_user);

// Alpha was watched on Plex, the first episode of Show on Jellyfin; Beta nowhere yet.
const std::string k_world = fmt::format(
    R"({{
  {},
  "movies":[
    {{"key":"m1","title":"Alpha","year":2001,"ids":{{"imdb":"tt0000001","tmdb":"101"}},
      "added_at":1690000000,"state":{{"plex":{{"played":true,"play_count":1,"last_played":1700000000}}}}}},
    {{"key":"m2","title":"Beta","year":2002,"ids":{{"imdb":"tt0000002","tmdb":"102"}},"added_at":1690000100}}],
  "shows":[{{"key":"s1","title":"Show","year":2010,"ids":{{"tvdb":"200"}},"added_at":1600000000,
            "episodes":[{{"key":"s1e1","season":1,"episode":1,"ids":{{"tvdb":"2001"}},"added_at":1600000000,
                          "state":{{"jellyfin":{{"played":true,"play_count":1,"last_played":1710000000}}}}}},
                        {{"key":"s1e2","season":1,"episode":2,"ids":{{"tvdb":"2002"}},"added_at":1600000100}}]}}]}})",
    k_servers);

// One household: the three servers, a state directory, a config naming them, the services.
struct House {
  ws::test::SimServers servers;
  ws::test::TempDir dir;
  ws::UnixTime clock = 1800000000;
  ws::config::Config config;
  ws::sync::Services services = ws::test::sim_services(servers, &clock);
  std::unique_ptr<ws::db::StateStore> store;

  // `world`: the simulator's world file; `settings`: more top-level config lines.
  explicit House(std::string_view world = k_world, std::string_view settings = "")
      : servers(world) {
    const std::string yaml = fmt::format(R"(state_dir: {}
{}
backends:
  plex: {{ type: plex, url: "http://plex.sim", token: ptok }}
  jellyfin: {{ type: jellyfin, url: "http://jellyfin.sim", token: jkey, user: "{}" }}
  emby: {{ type: emby, url: "http://emby.sim", token: ekey, user: "{}" }}
)",
                                         dir.path().string(), settings, k_jf_user, k_emby_user);
    config = ws::config::parse_config(yaml, dir.path() / "config.yaml");
    store = std::make_unique<ws::db::StateStore>(dir.path() / "state.db");
  }

  bool played(Kind kind, const char* key) {
    const char* user = kind == Kind::plex ? "1" : kind == Kind::jellyfin ? k_jf_user : k_emby_user;
    return servers.state(kind, user, key).played;
  }

  // ws-sync: import, then export what the import learned.
  std::uint64_t sync() {
    const auto writes_before = servers.writes();
    const auto imported = ws::sync::run_import(services, config, *store, {});
    REQUIRE(imported.errors.empty());
    const auto exported = ws::sync::run_export(services, config, *store, {}, &imported);
    REQUIRE(exported.errors.empty());
    return servers.writes() - writes_before;
  }
};

std::size_t findings(const ws::sync::ParityResult& result, std::string_view check) {
  return static_cast<std::size_t>(
      std::count_if(result.findings.begin(), result.findings.end(),
                    [&](const ws::sync::ParityFinding& f) { return f.check == check; }));
}

} // namespace

TEST_CASE("in-process: import then export carries each play to the other servers",
          "[sync][use_cases]") {
  House house;
  CHECK_FALSE(house.played(Kind::jellyfin, "m1"));
  CHECK_FALSE(house.played(Kind::plex, "s1e1"));

  const auto imported = ws::sync::run_import(house.services, house.config, *house.store, {});
  REQUIRE(imported.errors.empty());
  REQUIRE(imported.identities.size() == 1);
  CHECK(imported.identities[0].backends.size() == 3);
  // The import alone writes nothing to any server.
  CHECK(house.servers.writes() == 0);

  const auto exported =
      ws::sync::run_export(house.services, house.config, *house.store, {}, &imported);
  REQUIRE(exported.errors.empty());
  for (const auto kind : {Kind::plex, Kind::jellyfin, Kind::emby}) {
    CAPTURE(ws::sim::kind_name(kind));
    CHECK(house.played(kind, "m1"));
    CHECK(house.played(kind, "s1e1"));
    CHECK_FALSE(house.played(kind, "m2"));
    CHECK_FALSE(house.played(kind, "s1e2"));
  }
  // Alpha to Jellyfin and Emby, the episode to Plex and Emby.
  CHECK(house.servers.writes() == 4);
}

TEST_CASE("in-process: a second sync without changes sends nothing", "[sync][use_cases]") {
  House house;
  CHECK(house.sync() > 0);
  house.clock += 900;
  CHECK(house.sync() == 0);
}

TEST_CASE("in-process: parity sees the difference until the export closes it",
          "[sync][use_cases]") {
  House house;
  ws::sync::ParityOptions options;
  options.checks = {"played"};
  const auto imported = ws::sync::run_import(house.services, house.config, *house.store, {});
  REQUIRE(imported.errors.empty());
  const auto before = ws::sync::run_parity(house.config, *house.store, {}, options);
  CHECK(findings(before, "played") == 2); // Alpha and the episode
  CHECK(before.exit_code() == 1);

  (void)ws::sync::run_export(house.services, house.config, *house.store, {}, &imported);
  (void)ws::sync::run_import(house.services, house.config, *house.store, {});
  const auto after = ws::sync::run_parity(house.config, *house.store, {}, options);
  CHECK(findings(after, "played") == 0);
  CHECK(after.exit_code() == 0);
}

TEST_CASE("in-process: a backup restores a server's play state", "[backup][use_cases]") {
  House house;
  house.sync();
  ws::sync::RunOptions only_jellyfin;
  only_jellyfin.select = {"jellyfin"};
  const auto created =
      ws::backup::create_backups(house.services, house.config, *house.store, only_jellyfin, {});
  REQUIRE(created.errors.empty());
  REQUIRE(created.files.size() == 1);
  REQUIRE(created.files[0].ok);
  CHECK(created.files[0].records >= 2);

  // Alpha unmarked on Jellyfin behind the suite's back.
  auto& jellyfin = house.servers.server(Kind::jellyfin);
  const auto alpha = jellyfin.items()[static_cast<std::size_t>(jellyfin.item_of_key("m1"))].id;
  const auto unplay = jellyfin.handle(
      ws::sim::make_request("DELETE", fmt::format("/Users/{}/PlayedItems/{}", k_jf_user, alpha),
                            {{"X-Emby-Token", "jkey"}}));
  REQUIRE(unplay.status / 100 == 2);
  REQUIRE_FALSE(house.played(Kind::jellyfin, "m1"));

  ws::backup::RestoreOptions restore;
  restore.file = created.files[0].path;
  restore.backend = "jellyfin";
  const auto plan = ws::backup::restore_backup(house.services, house.config, *house.store,
                                               only_jellyfin, restore);
  CHECK(plan.marked_played == 1);
  CHECK_FALSE(house.played(Kind::jellyfin, "m1")); // a plan sends nothing

  restore.execute = true;
  const auto done = ws::backup::restore_backup(house.services, house.config, *house.store,
                                               only_jellyfin, restore);
  CHECK(done.marked_played == 1);
  CHECK(done.failed == 0);
  CHECK(house.played(Kind::jellyfin, "m1"));
  CHECK(house.played(Kind::jellyfin, "s1e1"));
}

namespace {

// Beta (world key m2) is watched on Plex; returns its Plex item id.
std::string watch_beta_on_plex(House& house) {
  auto& plex = house.servers.server(Kind::plex);
  const auto beta = plex.items()[static_cast<std::size_t>(plex.item_of_key("m2"))].id;
  const auto scrobble = plex.handle(ws::sim::make_request(
      "GET",
      fmt::format("/:/scrobble?key={}&identifier=com.plexapp.plugins.library&X-Plex-Token=ptok",
                  beta)));
  REQUIRE(scrobble.status == 200);
  REQUIRE(house.played(Kind::plex, "m2"));
  return beta;
}

// The queued event Plex's webhook makes of Beta's scrobble, as event `id`.
ws::db::QueuedEvent beta_scrobbled(const House& house, std::int64_t id, const std::string& beta) {
  ws::db::QueuedEvent queued;
  queued.id = id;
  queued.received_at = house.clock;
  queued.event.source = ws::model::WebhookSource::plex;
  queued.event.event = "media.scrobble";
  queued.event.server_id = k_plex_machine;
  queued.event.user_id = "1";
  queued.event.item_id = beta;
  queued.event.item_type = "movie";
  queued.event.title = "Beta";
  return queued;
}

} // namespace

TEST_CASE("in-process: a webhook event is applied and pushed to the other servers",
          "[webhook][use_cases]") {
  House house;
  house.sync();
  // Beta is watched on Plex; Plex tells the receiver.
  const auto queued = beta_scrobbled(house, 1, watch_beta_on_plex(house));

  ws::webhook::EventApplier applier(house.services, house.config, *house.store);
  CHECK(applier.learn_server_ids(false) == 0);
  REQUIRE(applier.targets(queued.event).size() == 1);
  const auto outcome = applier.apply({queued});
  CHECK(outcome.applied == std::vector<std::int64_t>{1});
  CHECK(outcome.failed.empty());
  CHECK(outcome.retry.empty());
  CHECK(outcome.writes == 2);
  CHECK(house.played(Kind::jellyfin, "m2"));
  CHECK(house.played(Kind::emby, "m2"));
  // Nothing else moved.
  CHECK_FALSE(house.played(Kind::emby, "s1e2"));
}

namespace {

// Requests a simulated server has answered so far (its /__sim/stats).
long long requests_answered(ws::sim::Server& server) {
  const auto body = server.handle(ws::sim::make_request("GET", "/__sim/stats")).body;
  const auto at = body.find("\"requests\":");
  REQUIRE(at != std::string::npos);
  return std::stoll(body.substr(at + 11));
}

} // namespace

TEST_CASE("in-process: a webhook event an earlier read stands for is applied without reading",
          "[webhook][use_cases]") {
  House house;
  house.sync();
  const auto beta = watch_beta_on_plex(house);
  auto& plex = house.servers.server(Kind::plex);
  const auto event = [&](std::int64_t id) { return beta_scrobbled(house, id, beta); };
  ws::webhook::EventApplier applier(house.services, house.config, *house.store);
  applier.learn_server_ids(false);

  // Events 1 and 2 were on disk when event 1 was applied: its read of Beta came after both.
  auto first = applier.apply({event(1)}, /*stored_through=*/2);
  CHECK(first.applied == std::vector<std::int64_t>{1});
  CHECK(first.writes == 2);
  const auto asked = requests_answered(plex);
  auto second = applier.apply({event(2)}, 3);
  CHECK(second.applied == std::vector<std::int64_t>{2});
  CHECK(second.failed.empty());
  CHECK(second.retry.empty());
  CHECK(requests_answered(plex) == asked); // not read again

  // Event 3 came after that read (stored through 3 only from the second call on): read again.
  auto third = applier.apply({event(3)}, 3);
  CHECK(third.applied == std::vector<std::int64_t>{3});
  CHECK(requests_answered(plex) > asked);

  // Without a claim (0) nothing is remembered: event 9 is read although 1..3 were.
  ws::webhook::EventApplier plain(house.services, house.config, *house.store);
  plain.learn_server_ids(false);
  CHECK(plain.apply({event(8)}).applied == std::vector<std::int64_t>{8});
  const auto before_nine = requests_answered(plex);
  CHECK(plain.apply({event(9)}).applied == std::vector<std::int64_t>{9});
  CHECK(requests_answered(plex) > before_nine);
}

TEST_CASE("in-process: a first import matches through keys another process wrote between two "
          "backends",
          "[sync][use_cases][run_keys]") {
  // A first import keeps the keys it writes in memory (sync/run_keys.hpp) and matches through
  // them. Between Plex's transaction and Jellyfin's, another process (a webhook, ws-state)
  // points tmdb 777 at Plex's Alpha: the index does not hold that key, so the run must drop it
  // and ask the database, where Jellyfin's "Alpha Copy", known by tmdb 777 alone, finds
  // Alpha's row. Matched through the stale index, it would get a row of its own.
  const std::string world = fmt::format(
      R"({{
  {},
  "movies":[
    {{"key":"m1","title":"Alpha","year":2001,"ids":{{"imdb":"tt0000001"}},"servers":["plex"]}},
    {{"key":"m2","title":"Alpha Copy","year":2001,"ids":{{"tmdb":"777"}},"servers":["jellyfin"]}},
    {{"key":"m3","title":"Gamma","year":2003,"ids":{{"imdb":"tt0000003"}},"servers":["plex","jellyfin"]}}]}})",
      k_servers);
  House house(world);
  const auto main_thread = std::this_thread::get_id();
  const auto file = house.dir.path() / "state.db";
  bool written = false;
  // The clock is read on the run's thread at the start of every backend, before its
  // transaction: the first time Plex's rows are there, the other process writes.
  house.services.now = [&] {
    if (std::this_thread::get_id() == main_thread && !written) {
      const auto alpha = house.store->items_by_key("main", "imdb://tt0000001/movie");
      if (!alpha.empty()) {
        ws::test::exec_on_another_connection(
            file, fmt::format("INSERT INTO item_keys (identity, key, item_id) VALUES ('main', "
                              "'tmdb://777/movie', {})",
                              alpha.front())
                      .c_str());
        written = true;
      }
    }
    return house.clock;
  };

  const auto imported = ws::sync::run_import(house.services, house.config, *house.store, {});
  REQUIRE(written);
  REQUIRE(imported.errors.empty());
  const auto alpha = house.store->items_by_key("main", "imdb://tt0000001/movie");
  REQUIRE(alpha.size() == 1);
  const auto records = house.store->records(alpha.front());
  REQUIRE(records.size() == 2);
  CHECK(records[0].backend == "jellyfin");
  CHECK(records[1].backend == "plex");
  CHECK(house.store->count_items("main") == 2); // Alpha and Gamma
}

TEST_CASE("in-process: a first import goes on correctly after a backend's listing failed",
          "[sync][use_cases][run_keys]") {
  // Plex applies its first 1,000 films (one batch), then its listing fails: its rows are rolled
  // back, and their ids are free again. Jellyfin then creates Aardvark first, on the id Plex's
  // first film had, and so on. Its films must not be matched through what the rolled-back Plex
  // import once wrote (the run's key index, sync/run_keys.hpp, is dropped with the
  // transaction): 1,201 films, 1,201 rows, Jellyfin's item alone on each.
  std::string movies = R"({"key":"m0","title":"Aardvark","year":2000,"ids":{"imdb":"tt0000009"},)"
                       R"("servers":["jellyfin"]})";
  for (int i = 1; i <= 1200; ++i) {
    movies += fmt::format(R"(,{{"key":"m{0}","title":"Film {0:04}","year":2001,)"
                          R"("ids":{{"imdb":"tt1{0:06}"}},"servers":["plex","jellyfin"]}})",
                          i);
  }
  const std::string world = fmt::format(
      R"({{
  {},
  "movies":[{}]}})",
      k_servers, movies);
  House house(world, "http: { page_size: 500, retries: 0, backoff_ms: 1 }");
  // The three count requests (films; series, episodes) and two pages pass; every later listing
  // request fails.
  const auto fault =
      house.servers.server(Kind::plex)
          .handle(ws::sim::make_request(
              "POST", "/__sim/faults", {},
              R"([{"path":"^/library/sections/\\d+/all$","status":500,"times":-1,"skip":5}])"));
  INFO(fault.body);
  REQUIRE(fault.status == 200);

  const auto imported = ws::sync::run_import(house.services, house.config, *house.store, {});
  REQUIRE(imported.errors.size() == 1);
  CHECK(imported.errors[0].backend == "plex");
  REQUIRE(imported.identities.size() == 1);
  CHECK(imported.identities[0].backends[0].fetched >= 1000); // Plex's first batch was applied
  CHECK(house.store->count_items("main") == 1201);
  std::size_t alone = 0;
  house.store->list_items(ws::db::ListFilter{}, [&](const ws::db::ItemRow& row) {
    const auto records = house.store->records(row.id);
    alone += records.size() == 1 && records[0].backend == "jellyfin" ? 1 : 0;
  });
  CHECK(alone == 1201);
}
