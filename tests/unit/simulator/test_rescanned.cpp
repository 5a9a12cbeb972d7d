// SPDX-License-Identifier: MIT
// A rescanned server (ws-simulator --rescanned): its library was scanned in one go, as a server
// set up after the others is, so it dates its items by that scan, in the order of their files,
// and lists them by date added in an order of its own. The dates it reports are the ones it
// sorts by.
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "simulator/runtime.hpp"
#include "simulator/server.hpp"
#include "simulator/world.hpp"
#include "support/json_body.hpp"

using ws::sim::Kind;
using ws::sim::make_request;
using ws::sim::Server;

using ws::test::parse_json;

namespace {

// Added in the order Zulu, Alpha, Mike; their files sort Alpha, Mike, Zulu. A series' episodes
// come after its folder, season by season.
constexpr const char* k_world = R"({
  "servers":{"plex":{"users":[{"id":"1","name":"owner","token":"ptok"}]},
             "jellyfin":{"token":"jkey","users":[{"id":"11111111111111111111111111111111","name":"alice"}]},
             "emby":{"token":"ekey"}},
  "movies":[{"key":"m1","title":"Zulu","added_at":1690000000,"file":"/media/movies/Zulu/Zulu.mkv"},
            {"key":"m2","title":"Alpha","added_at":1690000100,"file":"/media/movies/Alpha/Alpha.mkv"},
            {"key":"m3","title":"Mike","added_at":1690000200,"file":"/media/movies/Mike/Mike.mkv"}]})";

std::shared_ptr<const ws::sim::World> world() {
  static auto w = std::make_shared<const ws::sim::World>(ws::sim::parse_world(k_world, "test"));
  return w;
}

struct Listed {
  std::vector<std::string> titles;
  std::vector<std::int64_t> added;  // Plex: addedAt; Jellyfin: DateCreated's seconds
  std::vector<std::string> created; // Jellyfin's DateCreated as sent
};

Listed plex_listing(Server& s) {
  const auto r =
      s.handle(make_request("GET", "/library/sections/1/all?type=1&sort=addedAt&X-Plex-Token=ptok",
                            {{"Accept", "application/json"}}));
  REQUIRE(r.status == 200);
  const auto doc = parse_json(r.body);
  Listed out;
  for (const auto& item : doc["MediaContainer"]["Metadata"].GetArray()) {
    out.titles.emplace_back(item["title"].GetString());
    out.added.push_back(item["addedAt"].GetInt64());
  }
  return out;
}

Listed jellyfin_listing(Server& s) {
  const auto r = s.handle(make_request(
      "GET", "/Users/11111111111111111111111111111111/Items?Recursive=true&IncludeItemTypes=Movie"
             "&SortBy=DateCreated&SortOrder=Ascending&Fields=DateCreated&api_key=jkey"));
  REQUIRE(r.status == 200);
  const auto doc = parse_json(r.body);
  Listed out;
  for (const auto& item : doc["Items"].GetArray()) {
    out.titles.emplace_back(item["Name"].GetString());
    out.created.emplace_back(item["DateCreated"].GetString());
  }
  return out;
}

} // namespace

TEST_CASE("sim::rescanned servers date items by their scan and list them in its order",
          "[simulator]") {
  using Titles = std::vector<std::string>;
  SECTION("Plex") {
    Server grown(world(), Kind::plex);
    const auto as_world = plex_listing(grown);
    CHECK(as_world.titles == Titles{"Zulu", "Alpha", "Mike"});
    CHECK(as_world.added == std::vector<std::int64_t>{1690000000, 1690000100, 1690000200});

    Server rescanned(world(), Kind::plex, true);
    const auto scanned = plex_listing(rescanned);
    CHECK(scanned.titles == Titles{"Alpha", "Mike", "Zulu"});
    const std::int64_t scan = ws::sim::k_anchor - std::int64_t{7} * 86400;
    CHECK(scanned.added == std::vector<std::int64_t>{scan, scan + 1, scan + 2});
  }
  SECTION("Jellyfin") {
    Server grown(world(), Kind::jellyfin);
    CHECK(jellyfin_listing(grown).titles == Titles{"Zulu", "Alpha", "Mike"});

    Server rescanned(world(), Kind::jellyfin, true);
    const auto scanned = jellyfin_listing(rescanned);
    CHECK(scanned.titles == Titles{"Alpha", "Mike", "Zulu"});
    // The dates it sorts by are the dates it sends: one scan, a second apart, a week before
    // the generator's anchor (2026-01-01).
    REQUIRE(scanned.created.size() == 3);
    CHECK(scanned.created[0].starts_with("2025-12-25T00:00:00"));
    CHECK(scanned.created[2].starts_with("2025-12-25T00:00:02"));
  }
}

TEST_CASE("sim::parse_server_list names the option at fault", "[simulator]") {
  using ws::sim::parse_server_list;
  CHECK(parse_server_list("jellyfin,emby", "--rescanned") == 0b110);
  CHECK(parse_server_list("plex") == 0b001);
  CHECK_THROWS_WITH(parse_server_list("jellyfin,nope", "--rescanned"),
                    "--rescanned: unknown server \"nope\" (plex, jellyfin, emby)");
  CHECK_THROWS_WITH(parse_server_list(","), "--servers: no server named");
}
