// SPDX-License-Identifier: MIT
// Hidden items (POST /__sim/visibility, fault rules with "hide"/"unhide"): listings shift,
// lookups and writes answer 404, the control API still sees them.
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <memory>
#include <string>

#include "simulator/server.hpp"
#include "simulator/world.hpp"
#include "support/json_body.hpp"

using ws::sim::Kind;
using ws::sim::make_request;
using ws::sim::Server;

using ws::test::parse_json;

namespace {

constexpr const char* k_world = R"({
  "servers":{"plex":{"users":[{"id":"1","name":"owner","token":"ptok"}]},
             "jellyfin":{"token":"jkey","users":[{"id":"11111111111111111111111111111111","name":"alice"}]},
             "emby":{"token":"ekey"}},
  "movies":[{"key":"m1","title":"Alpha","added_at":1690000000},
            {"key":"m2","title":"Beta","added_at":1690000100},
            {"key":"m3","title":"Gamma","added_at":1690000200}]})";

std::shared_ptr<const ws::sim::World> world() {
  static auto w = std::make_shared<const ws::sim::World>(ws::sim::parse_world(k_world, "test"));
  return w;
}

std::string plex_titles(Server& s, int start, int size) {
  const auto r = s.handle(make_request(
      "GET",
      "/library/sections/1/all?type=1&sort=addedAt&X-Plex-Token=ptok&X-Plex-Container-Start=" +
          std::to_string(start) + "&X-Plex-Container-Size=" + std::to_string(size),
      {{"Accept", "application/json"}}));
  REQUIRE(r.status == 200);
  const auto doc = parse_json(r.body);
  std::string out;
  if (doc["MediaContainer"].HasMember("Metadata")) {
    for (const auto& item : doc["MediaContainer"]["Metadata"].GetArray()) {
      out += item["title"].GetString();
      out += ' ';
    }
  }
  return out + std::to_string(doc["MediaContainer"]["totalSize"].GetInt());
}

} // namespace

TEST_CASE("sim::visibility_shifts_pages", "[simulator]") {
  Server s(world(), Kind::plex);
  CHECK(plex_titles(s, 0, 2) == "Alpha Beta 3");
  auto r = s.handle(make_request("POST", "/__sim/visibility", {}, R"({"hide":["m1"]})"));
  REQUIRE(r.status == 200);
  CHECK(parse_json(r.body)["hidden"].GetInt() == 1);
  // The second page now starts one item later: Beta moved onto the first page.
  CHECK(plex_titles(s, 0, 2) == "Beta Gamma 2");
  CHECK(plex_titles(s, 2, 2) == "2");
  CHECK(s.handle(make_request("GET", "/library/metadata/1?X-Plex-Token=ptok")).status == 404);
  CHECK(s.handle(make_request(
                     "GET",
                     "/:/scrobble?identifier=com.plexapp.plugins.library&key=1&X-Plex-Token=ptok"))
            .status == 404);
  auto items = parse_json(s.handle(make_request("GET", "/__sim/items")).body);
  REQUIRE(items.Size() == 3);
  CHECK(items[0]["hidden"].GetBool());
  CHECK_FALSE(items[1].HasMember("hidden"));
  // Unknown keys are refused; "show" brings the item back.
  CHECK(s.handle(make_request("POST", "/__sim/visibility", {}, R"({"hide":["nope"]})")).status ==
        404);
  CHECK(s.handle(make_request("POST", "/__sim/visibility", {}, R"({"hid":["m1"]})")).status == 400);
  s.handle(make_request("POST", "/__sim/visibility", {}, R"({"show":["m1"]})"));
  CHECK(plex_titles(s, 0, 3) == "Alpha Beta Gamma 3");
}

TEST_CASE("sim::fault_rule_hides_items_between_pages", "[simulator]") {
  Server s(world(), Kind::jellyfin);
  const std::string listing = "/Users/11111111111111111111111111111111/"
                              "Items?Recursive=true&IncludeItemTypes=Movie&SortBy=DateCreated"
                              "&api_key=jkey&Limit=2&StartIndex=";
  REQUIRE(s.handle(make_request("POST", "/__sim/faults", {},
                                R"([{"path":"/Items$","skip":1,"hide":["m1"]}])"))
              .status == 200);
  auto first = parse_json(s.handle(make_request("GET", listing + "0")).body); // skipped: all three
  CHECK(first["TotalRecordCount"].GetInt() == 3);
  auto second =
      parse_json(s.handle(make_request("GET", listing + "2")).body); // the rule fires first
  CHECK(second["TotalRecordCount"].GetInt() == 2);
  CHECK(second["Items"].Size() == 0); // Gamma moved to index 1: a client paging by offset misses it
  CHECK(s.handle(make_request("POST", "/__sim/faults", {}, R"([{"path":"x","hide":["zz"]}])"))
            .status == 400);
}
