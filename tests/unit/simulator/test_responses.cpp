// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <memory>
#include <string>

#include "simulator/server.hpp"
#include "simulator/world.hpp"
#include "support/json_body.hpp"

using ws::sim::Kind;
using ws::sim::make_request;
using ws::sim::Pairs;
using ws::sim::Server;

using ws::test::parse_json;

namespace {

constexpr const char* k_world = R"({
  "servers":{
    "plex":{"server_id":"0123456789abcdef0123456789abcdef01234567","users":[{"id":"1","name":"owner","token":"ptok"}]},
    "jellyfin":{"server_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","token":"jkey",
                "users":[{"id":"11111111111111111111111111111111","name":"alice","token":"jalice"},
                         {"id":"22222222222222222222222222222222","name":"bob","token":"jbob"}]},
    "emby":{"server_id":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","token":"ekey",
            "users":[{"id":"33333333333333333333333333333333","name":"alice"}]}},
  "movies":[
    {"key":"m1","title":"Alpha","year":2001,"ids":{"imdb":"tt0000001","tmdb":"101"},"added_at":1690000000,
     "genres":["Drama"],
     "state":{"plex":{"played":true,"play_count":2,"last_played":1700000000},
              "jellyfin":{"played":true,"play_count":3,"last_played":1700000000},
              "emby":{"played":true,"play_count":4,"last_played":1700000000}}},
    {"key":"m2","title":"Beta","year":2002,"ids":{"imdb":"tt0000002"},"added_at":1690000100,
     "plex_guids":["com.plexapp.agents.imdb://tt0000002?lang=en"],"provider_ids":{"IMDB":"tt0000002"},
     "state":{"jellyfin":{"position_ms":600000}}},
    {"key":"m3","title":"Gamma","added_at":1690000200}],
  "shows":[{"key":"s1","title":"Show","year":2010,"ids":{"tvdb":"200"},"added_at":1600000000,
            "episodes":[{"key":"s1e1","season":1,"episode":1,"episode_end":2,"ids":{"tvdb":"2001"},"added_at":1600000000},
                        {"key":"s1e3","season":1,"episode":3,"added_at":1600000100}]}]})";

std::shared_ptr<const ws::sim::World> world() {
  static auto w = std::make_shared<const ws::sim::World>(ws::sim::parse_world(k_world, "test"));
  return w;
}

const std::string* header(const ws::sim::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) {
      return &v;
    }
  }
  return nullptr;
}

} // namespace

TEST_CASE("sim::plex_auth_and_formats", "[simulator]") {
  Server s(world(), Kind::plex);
  auto r = s.handle(make_request("GET", "/library/sections"));
  CHECK(r.status == 401);
  CHECK(r.content_type == "text/html");
  CHECK(r.body == "<html><head><title>Unauthorized</title></head><body><h1>401 "
                  "Unauthorized</h1></body></html>");
  r = s.handle(make_request("GET", "/identity"));
  CHECK(r.status == 200);
  CHECK(r.body.rfind("<?xml", 0) == 0);
  CHECK_THAT(r.body,
             Catch::Contains(R"(machineIdentifier="0123456789abcdef0123456789abcdef01234567")"));
  r = s.handle(
      make_request("GET", "/library/sections?X-Plex-Token=ptok", {{"Accept", "application/json"}}));
  REQUIRE(r.status == 200);
  auto d = parse_json(r.body);
  CHECK(d["MediaContainer"]["Directory"].Size() == 3);
  CHECK(std::string(d["MediaContainer"]["Directory"][2]["type"].GetString()) == "artist");
}

TEST_CASE("sim::plex_listing_paging_and_guids", "[simulator]") {
  Server s(world(), Kind::plex);
  const Pairs h{
      {"Accept", "application/json"}, {"X-Plex-Token", "ptok"}, {"X-Plex-Container-Size", "0"}};
  auto r = s.handle(make_request("GET", "/library/sections/1/all?type=1&sort=addedAt", h));
  REQUIRE(r.status == 200);
  CHECK(*header(r, "X-Plex-Container-Total-Size") == "3");
  auto d = parse_json(r.body);
  CHECK(d["MediaContainer"]["size"].GetInt() == 0);
  CHECK(d["MediaContainer"]["totalSize"].GetInt() == 3);
  CHECK_FALSE(d["MediaContainer"].HasMember("Metadata"));

  r = s.handle(
      make_request("GET",
                   "/library/sections/1/"
                   "all?type=1&sort=addedAt&X-Plex-Container-Start=1&X-Plex-Container-Size=1",
                   h));
  d = parse_json(r.body);
  CHECK(d["MediaContainer"]["offset"].GetInt() == 1);
  REQUIRE(d["MediaContainer"]["Metadata"].Size() == 1);
  const auto& beta = d["MediaContainer"]["Metadata"][0];
  CHECK(std::string(beta["title"].GetString()) == "Beta");
  CHECK(std::string(beta["guid"].GetString()) == "com.plexapp.agents.imdb://tt0000002?lang=en");
  CHECK_FALSE(beta.HasMember("viewCount"));
  CHECK_FALSE(beta.HasMember("lastViewedAt"));
  CHECK_FALSE(beta.HasMember("Guid"));

  r = s.handle(make_request(
      "GET", "/library/sections/1/all?type=1&sort=addedAt&X-Plex-Container-Size=1", h));
  d = parse_json(r.body);
  const auto& alpha = d["MediaContainer"]["Metadata"][0];
  CHECK(alpha["viewCount"].GetInt() == 2);
  CHECK(alpha["lastViewedAt"].GetInt64() == 1700000000);
  CHECK_FALSE(alpha.HasMember("Guid"));
  r = s.handle(make_request(
      "GET", "/library/sections/1/all?type=1&sort=addedAt&includeGuids=1&X-Plex-Container-Size=1",
      h));
  d = parse_json(r.body);
  const auto& guids = d["MediaContainer"]["Metadata"][0]["Guid"];
  REQUIRE(guids.Size() == 2);
  CHECK(std::string(guids[0]["id"].GetString()) == "imdb://tt0000001");
  CHECK(std::string(guids[1]["id"].GetString()) == "tmdb://101");

  // Episodes: one item for the multi-episode file, with parent/grandparent fields.
  r = s.handle(make_request("GET", "/library/sections/2/all?type=4&sort=episode.addedAt",
                            Pairs{h[0], h[1]}));
  d = parse_json(r.body);
  REQUIRE(d["MediaContainer"]["Metadata"].Size() == 2);
  const auto& ep = d["MediaContainer"]["Metadata"][0];
  CHECK(ep["index"].GetInt() == 1);
  CHECK(ep["parentIndex"].GetInt() == 1);
  CHECK(std::string(ep["grandparentTitle"].GetString()) == "Show");
  CHECK(std::string(ep["Media"][0]["Part"][0]["file"].GetString()) ==
        "/media/tv/Show/Season 01/Show - S01E01-E02.mkv");
  r = s.handle(make_request("GET", "/library/metadata/999999", h));
  CHECK(r.status == 404);
}

TEST_CASE("sim::plex_listing_excludes_fields_and_elements", "[simulator]") {
  Server s(world(), Kind::plex);
  const Pairs h{{"Accept", "application/json"}, {"X-Plex-Token", "ptok"}};
  const std::string base = "/library/sections/1/all?type=1&sort=addedAt&X-Plex-Container-Size=1";
  auto full = s.handle(make_request("GET", base, h));
  auto d = parse_json(full.body);
  const auto& alpha = d["MediaContainer"]["Metadata"][0];
  CHECK(std::string(alpha["summary"].GetString()).find("Alpha") != std::string::npos);
  REQUIRE(alpha.HasMember("Genre"));

  auto trimmed = s.handle(
      make_request("GET", base + "&excludeFields=summary,tagline&excludeElements=Genre,Role", h));
  d = parse_json(trimmed.body);
  const auto& slim = d["MediaContainer"]["Metadata"][0];
  CHECK_FALSE(slim.HasMember("summary"));
  CHECK_FALSE(slim.HasMember("Genre"));
  CHECK(std::string(slim["title"].GetString()) == "Alpha");
  CHECK(slim.HasMember("Media")); // what was not named stays
  CHECK(trimmed.body.size() + 200 < full.body.size());

  // Shows too; a name that only starts like one is not it.
  d = parse_json(
      s.handle(make_request("GET", "/library/sections/2/all?type=2&excludeFields=summaryX", h))
          .body);
  CHECK(d["MediaContainer"]["Metadata"][0].HasMember("summary"));
  d = parse_json(
      s.handle(make_request("GET", "/library/sections/2/all?type=2&excludeFields=summary", h))
          .body);
  CHECK_FALSE(d["MediaContainer"]["Metadata"][0].HasMember("summary"));
}

TEST_CASE("sim::plex_writes", "[simulator]") {
  Server s(world(), Kind::plex);
  const Pairs h{{"X-Plex-Token", "ptok"}};
  const auto m2 = static_cast<uint32_t>(s.item_of_key("m2"));
  const std::string rk = s.items()[m2].id;
  CHECK(s.handle(make_request("GET", "/:/scrobble?key=" + rk, h)).status == 400);
  CHECK(s.handle(make_request("GET",
                              "/:/scrobble?identifier=com.plexapp.plugins.library&key=424242", h))
            .status == 404);
  CHECK(s.handle(
             make_request("GET", "/:/scrobble?identifier=com.plexapp.plugins.library&key=" + rk, h))
            .status == 200);
  auto st = s.state(0, m2);
  CHECK(st.played);
  CHECK(st.play_count == 1);
  CHECK(st.last_played_ms != ws::sim::k_no_time);
  s.handle(make_request(
      "POST",
      "/:/timeline/?ratingKey=" + rk + "&key=/library/metadata/" + rk +
          "&identifier=com.plexapp.plugins.library&state=stopped&time=60000&duration=6000000"
          "&X-Plex-Client-Identifier=c1",
      h));
  CHECK(s.state(0, m2).position_ms == 60000);
  s.handle(
      make_request("GET", "/:/unscrobble?identifier=com.plexapp.plugins.library&key=" + rk, h));
  st = s.state(0, m2);
  CHECK_FALSE(st.played);
  CHECK(st.play_count == 0);
  CHECK(st.position_ms == 0);
  CHECK(st.last_played_ms == ws::sim::k_no_time);
  // >= 90 % of the duration counts as a scrobble; no client id means "ignored".
  s.handle(make_request(
      "POST", "/:/timeline?ratingKey=" + rk + "&state=stopped&time=5500000&duration=6000000", h));
  CHECK_FALSE(s.state(0, m2).played);
  s.handle(
      make_request("POST",
                   "/:/timeline?ratingKey=" + rk +
                       "&state=stopped&time=5500000&duration=6000000&X-Plex-Client-Identifier=c",
                   h));
  CHECK(s.state(0, m2).played);
  auto stats = parse_json(s.handle(make_request("GET", "/__sim/stats")).body);
  CHECK(stats["writes"].GetInt() == 7);
}

TEST_CASE("sim::jellyfin_fields_and_dates", "[simulator]") {
  Server s(world(), Kind::jellyfin);
  CHECK(s.handle(make_request("GET", "/Users")).status == 401);
  CHECK(s.handle(make_request("GET", "/Users", {{"Authorization", R"(MediaBrowser Token="nope")"}}))
            .body.empty());
  const Pairs h{{"Authorization", R"(MediaBrowser Client="t", Token="jkey", UserId="x")"}};
  const std::string base = "/Users/11111111111111111111111111111111/Items";
  auto views = parse_json(s.handle(make_request("GET", base, h)).body);
  REQUIRE(views["Items"].Size() == 3);
  const std::string movies = views["Items"][0]["Id"].GetString();
  const std::string q =
      "?ParentId=" + movies +
      "&Recursive=true&IncludeItemTypes=Movie,Episode&Filters=IsNotFolder&SortBy=DateCreated"
      "&SortOrder=Ascending&StartIndex=0&Limit=2";
  auto d = parse_json(s.handle(make_request("GET", base + q, h)).body);
  CHECK(d["TotalRecordCount"].GetInt() == 3);
  CHECK(d["StartIndex"].GetInt() == 0);
  REQUIRE(d["Items"].Size() == 2);
  const auto& alpha = d["Items"][0];
  CHECK_FALSE(alpha.HasMember("ProviderIds"));
  CHECK_FALSE(alpha.HasMember("DateCreated"));
  CHECK_FALSE(alpha.HasMember("Path"));
  CHECK(std::string(alpha["UserData"]["LastPlayedDate"].GetString()) ==
        "2023-11-14T22:13:20.0000000Z");
  CHECK(alpha["UserData"]["PlayCount"].GetInt() == 3);
  d = parse_json(
      s.handle(make_request("GET", base + q + "&Fields=ProviderIds,DateCreated,Path,Bogus", h))
          .body);
  CHECK(std::string(d["Items"][0]["ProviderIds"]["Imdb"].GetString()) == "tt0000001");
  CHECK(std::string(d["Items"][0]["DateCreated"].GetString()) == "2023-07-22T04:26:40.0000000Z");
  CHECK(std::string(d["Items"][1]["ProviderIds"]["IMDB"].GetString()) == "tt0000002");
  CHECK(d["Items"][1]["UserData"]["PlaybackPositionTicks"].GetInt64() == 6000000000LL);
  // Case-insensitive paths/params, Limit=0 counts only.
  d = parse_json(s.handle(make_request("GET",
                                       "/users/11111111111111111111111111111111/items/?parentid=" +
                                           movies + "&recursive=true&limit=0",
                                       h))
                     .body);
  CHECK(d["Items"].Size() == 0);
  CHECK(d["TotalRecordCount"].GetInt() == 3);

  // Writes: played with a date, UserData partial update, unplayed.
  const std::string m3 = s.items()[static_cast<size_t>(s.item_of_key("m3"))].id;
  auto r = s.handle(make_request("POST",
                                 "/Users/11111111111111111111111111111111/PlayedItems/" + m3 +
                                     "?DatePlayed=2024-01-01T10:00:00.250%2B00:00",
                                 h));
  REQUIRE(r.status == 200);
  d = parse_json(r.body);
  CHECK(d["Played"].GetBool());
  CHECK(d["PlayCount"].GetInt() == 1);
  CHECK(std::string(d["LastPlayedDate"].GetString()) == "2024-01-01T10:00:00.25Z");
  r = s.handle(
      make_request("POST", "/UserItems/" + m3 + "/UserData?userId=11111111111111111111111111111111",
                   h, R"({"PlaybackPositionTicks":"1200000000"})"));
  d = parse_json(r.body);
  CHECK(d["PlaybackPositionTicks"].GetInt64() == 1200000000LL);
  CHECK(d["Played"].GetBool());
  r = s.handle(
      make_request("DELETE", "/Users/11111111111111111111111111111111/PlayedItems/" + m3, h));
  d = parse_json(r.body);
  CHECK_FALSE(d["Played"].GetBool());
  CHECK(d["PlayCount"].GetInt() == 0);
  CHECK_FALSE(d.HasMember("LastPlayedDate"));
  // A non-admin user token cannot touch another user's data.
  CHECK(s.handle(make_request("GET", base, {{"X-Emby-Token", "jbob"}})).status == 403);
  CHECK(s.handle(make_request("GET", "/Users/22222222222222222222222222222222/Items",
                              {{"X-Emby-Token", "jbob"}}))
            .status == 200);
}

TEST_CASE("sim::emby_gating", "[simulator]") {
  Server s(world(), Kind::emby);
  auto r = s.handle(make_request("GET", "/emby/Users?api_key=bad"));
  CHECK(r.status == 401);
  CHECK(r.body == "Access token is invalid or expired.");
  const Pairs h{{"X-Emby-Token", "ekey"}};
  const std::string base =
      "/emby/Users/33333333333333333333333333333333/Items?Recursive=true&IncludeItemTypes=Movie"
      "&SortBy=DateCreated&Limit=1";
  auto d = parse_json(s.handle(make_request("GET", base, h)).body);
  CHECK_FALSE(d.HasMember("StartIndex"));
  CHECK(d["TotalRecordCount"].GetInt() == 3);
  CHECK(d["Items"][0]["UserData"]["PlayCount"].GetInt() == 0);
  CHECK(d["Items"][0]["UserData"]["Played"].GetBool());
  CHECK_FALSE(d["Items"][0]["UserData"].HasMember("LastPlayedDate"));
  d = parse_json(
      s.handle(make_request("GET", base + "&Fields=UserDataLastPlayedDate,UserDataPlayCount", h))
          .body);
  CHECK(d["Items"][0]["UserData"]["PlayCount"].GetInt() == 4);
  CHECK(std::string(d["Items"][0]["UserData"]["LastPlayedDate"].GetString()) ==
        "2023-11-14T22:13:20.0000000Z");
  CHECK(std::string(d["Items"][0]["Id"].GetString()).find_first_not_of("0123456789") ==
        std::string::npos);
  auto info = parse_json(s.handle(make_request("GET", "/System/Info/Public")).body);
  CHECK_FALSE(info.HasMember("ProductName"));
  const std::string m3 = s.items()[static_cast<size_t>(s.item_of_key("m3"))].id;
  r = s.handle(make_request("POST",
                            "/Users/33333333333333333333333333333333/PlayedItems/" + m3 +
                                "?DatePlayed=20250815211008",
                            h));
  d = parse_json(r.body);
  CHECK(std::string(d["LastPlayedDate"].GetString()) == "2025-08-15T21:10:08.0000000Z");
  r = s.handle(make_request("POST",
                            "/Users/33333333333333333333333333333333/Items/" + m3 + "/UserData", h,
                            R"({"PlaybackPositionTicks":50000000})"));
  CHECK(r.status == 204);
  CHECK(s.state(0, static_cast<uint32_t>(s.item_of_key("m3"))).position_ms == 5000);
  r = s.handle(make_request(
      "POST", "/Users/33333333333333333333333333333333/PlayedItems/" + m3 + "/Delete", h));
  CHECK_FALSE(parse_json(r.body)["Played"].GetBool());
}

TEST_CASE("sim::control_log_and_faults", "[simulator]") {
  Server s(world(), Kind::plex);
  s.handle(make_request("GET", "/library/sections?X-Plex-Token=ptok&a=1"));
  auto log = parse_json(s.handle(make_request("GET", "/__sim/requests")).body);
  REQUIRE(log.Size() == 1);
  CHECK(std::string(log[0]["query"].GetString()) == "X-Plex-Token=REDACTED&a=1");
  CHECK(log[0]["status"].GetInt() == 200);
  auto r = s.handle(
      make_request("POST", "/__sim/faults", {},
                   R"([{"path":"^/library/sections$","status":503,"times":1,"retry_after":"2"},
                                       {"path":"^/library/sections$","body":"truncated","skip":1}])"));
  REQUIRE(r.status == 200);
  r = s.handle(make_request("GET", "/library/sections?X-Plex-Token=ptok"));
  CHECK(r.status == 503);
  CHECK(*header(r, "Retry-After") == "2");
  const auto full = s.handle(make_request("GET", "/library/sections?X-Plex-Token=ptok")); // skipped
  const auto cut = s.handle(make_request("GET", "/library/sections?X-Plex-Token=ptok"));
  CHECK(cut.status == 200);
  CHECK(cut.body.size() == full.body.size() / 2);
  CHECK(s.handle(make_request("GET", "/library/sections?X-Plex-Token=ptok")).body == full.body);
  CHECK(s.handle(make_request("POST", "/__sim/faults", {}, R"([{"path":"("}])")).status == 400);
  s.handle(make_request("POST", "/__sim/state", {},
                        R"({"key":"m3","played":true,"last_played":1700000000})"));
  auto items = parse_json(s.handle(make_request("GET", "/__sim/items")).body);
  bool seen = false;
  for (const auto& it : items.GetArray()) {
    if (std::string(it["key"].GetString()) == "m3") {
      seen = true;
      CHECK(it["played"].GetBool());
      CHECK(it["play_count"].GetInt() == 1);
      CHECK(it["last_played"].GetInt64() == 1700000000);
    }
  }
  CHECK(seen);
  s.handle(make_request("DELETE", "/__sim/requests"));
  auto stats = parse_json(s.handle(make_request("GET", "/__sim/stats")).body);
  CHECK(stats["requests"].GetInt() == 0);
}

TEST_CASE("sim::dates", "[simulator]") {
  CHECK(ws::sim::format_jellyfin_date(1700000000000LL) == "2023-11-14T22:13:20.0000000Z");
  CHECK(ws::sim::format_jellyfin_date(1700000000120LL) == "2023-11-14T22:13:20.12Z");
  CHECK(ws::sim::format_emby_date(1700000000120LL) == "2023-11-14T22:13:20.1200000Z");
  CHECK(ws::sim::parse_date_played("20231114221320") == 1700000000000LL);
  CHECK(ws::sim::parse_date_played("2023-11-15T00:13:20+02:00") == 1700000000000LL);
  CHECK(ws::sim::parse_date_played("2023-11-14T22:13:20.1234567Z") == 1700000000123LL);
  CHECK_FALSE(ws::sim::parse_date_played("yesterday"));
}
