// SPDX-License-Identifier: MIT
// User playlists of the simulated servers (lib/simulator/README.md §5.5): the Plex /playlists
// API, the Jellyfin/Emby /Playlists API and the playlist forms of /Items, the world file key
// "playlists", generated playlists (--playlists N) and GET /__sim/playlists.
#include "simulator/server.hpp"
#include "simulator/world.hpp"
#include "support/json_body.hpp"

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using ws::sim::Kind;
using ws::sim::make_request;
using ws::sim::Pairs;
using ws::sim::Response;
using ws::sim::Server;
using ws::sim::World;

using ws::test::parse_json;

namespace {

constexpr const char* k_plex_id = "0123456789abcdef0123456789abcdef01234567";
constexpr const char* k_alice_jf = "11111111111111111111111111111111";
constexpr const char* k_bob_jf = "22222222222222222222222222222222";
constexpr const char* k_alice_emby = "33333333333333333333333333333333";
constexpr const char* k_bob_emby = "44444444444444444444444444444444";

// Plex item ratingKeys: m1 1, m2 2, m3 3, s1 4, its season 5, s1e1 6, s1e2 7; playlists 8, 9, 10.
// Emby ids: m1 1000, m2 1001, s1 1002, season 1003, s1e1 1004, s1e2 1005; playlists 1006, 1007.
constexpr const char* k_world = R"({
  "servers":{
    "plex":{"server_id":"0123456789abcdef0123456789abcdef01234567",
            "users":[{"id":"1","name":"owner","token":"ptok"},{"id":"1001","name":"alice","token":"ptok2"}]},
    "jellyfin":{"server_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","token":"jkey",
                "users":[{"id":"11111111111111111111111111111111","name":"alice","token":"jalice"},
                         {"id":"22222222222222222222222222222222","name":"bob","token":"jbob"}]},
    "emby":{"server_id":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","token":"ekey",
            "users":[{"id":"33333333333333333333333333333333","name":"alice","token":"ealice"},
                     {"id":"44444444444444444444444444444444","name":"bob","token":"ebob"}]}},
  "movies":[
    {"key":"m1","title":"Alpha","year":2001,"ids":{"imdb":"tt0000001"},"duration_ms":6000000,
     "state":{"jellyfin":{"played":true}}},
    {"key":"m2","title":"Beta","year":2002,"duration_ms":5000000},
    {"key":"m3","title":"Gamma","servers":["plex","jellyfin"]}],
  "shows":[{"key":"s1","title":"Show","year":2010,
            "episodes":[{"key":"s1e1","season":1,"episode":1},{"key":"s1e2","season":1,"episode":2}]}],
  "playlists":{
    "plex":[{"title":"Weekend","summary":"picks","items":["m1","s1e1","m1"],"updated_at":1700000000},
            {"title":"Smart","smart":true,"items":["m2"],"updated_at":1700000100},
            {"title":"Alice's","user":"1001","items":["m3"]}],
    "jellyfin":[{"title":"Weekend","items":["m1","s1e1"],"updated_at":1700000000},
                {"title":"Tunes","media_type":"audio","updated_at":1710000000},
                {"title":"Bob's","user":"22222222222222222222222222222222","items":["m2"]}],
    "emby":[{"title":"Weekend","items":["m2","m1"],"updated_at":1700000000},
            {"title":"Bob's","user":"44444444444444444444444444444444","items":["s1e2"]}]}})";

std::shared_ptr<const World> world() {
  static auto w = std::make_shared<const World>(ws::sim::parse_world(k_world, "test"));
  return w;
}

std::string world_error(const std::string& playlists) {
  try {
    (void)ws::sim::parse_world(
        R"({"servers":{"plex":{},"jellyfin":{"users":[{"id":"11111111111111111111111111111111","name":"a"}]}},
                "movies":[{"key":"m1","title":"A"},{"key":"m2","title":"B","servers":["plex"]}],
                "shows":[{"key":"s1","title":"S","episodes":[{"key":"e1","season":1,"episode":1}]}],
                "playlists":)" +
            playlists + "}",
        "w.json", 0b011);
  } catch (const ws::sim::WorldError& e) {
    return e.what();
  }
  return "no error";
}

// Plex: JSON, the token in the header.
Response plex(Server& s, const std::string& method, const std::string& target,
              const std::string& token = "ptok") {
  return s.handle(
      make_request(method, target, {{"Accept", "application/json"}, {"X-Plex-Token", token}}));
}

// Jellyfin/Emby with a token header and an optional JSON body.
Response mb(Server& s, const std::string& method, const std::string& target,
            const std::string& token, const std::string& body = {}) {
  Pairs headers{{"X-Emby-Token", token}};
  if (!body.empty()) {
    headers.emplace_back("Content-Type", "application/json");
  }
  return s.handle(make_request(method, target, std::move(headers), body));
}

std::string plex_uri(const std::string& ids) {
  return std::string("server://") + k_plex_id + "/com.plexapp.plugins.library/library/metadata/" +
         ids;
}

// "ratingKey:playlistItemID …" of a Plex items container.
std::string plex_entries(const rapidjson::Document& doc) {
  std::string out;
  const auto& mc = doc["MediaContainer"];
  if (!mc.HasMember("Metadata")) {
    return out;
  }
  for (const auto& m : mc["Metadata"].GetArray()) {
    out += out.empty() ? "" : " ";
    out += m["ratingKey"].GetString();
    if (m.HasMember("playlistItemID")) {
      out += ":" + std::to_string(m["playlistItemID"].GetInt64());
    }
  }
  return out;
}

// The world keys of a user's playlist with that title, from GET /__sim/playlists.
std::string sim_keys(Server& s, const std::string& title, const std::string& user = "") {
  const auto doc = parse_json(
      s.handle(make_request("GET", "/__sim/playlists" + (user.empty() ? "" : "?user=" + user)))
          .body);
  for (const auto& p : doc.GetArray()) {
    if (title == p["title"].GetString()) {
      std::string out;
      for (const auto& e : p["entries"].GetArray()) {
        out += out.empty() ? "" : " ";
        out += e["key"].GetString();
      }
      return out;
    }
  }
  return "<none>";
}

// A field of the playlist with that title from GET /__sim/playlists.
rapidjson::Document sim_playlist(Server& s, const std::string& title,
                                 const std::string& user = "") {
  auto doc = parse_json(
      s.handle(make_request("GET", "/__sim/playlists" + (user.empty() ? "" : "?user=" + user)))
          .body);
  for (auto& p : doc.GetArray()) {
    if (title == p["title"].GetString()) {
      rapidjson::Document one;
      one.CopyFrom(p, one.GetAllocator());
      return one;
    }
  }
  FAIL("no playlist " << title);
  return rapidjson::Document();
}

int64_t writes(Server& s) {
  return parse_json(s.handle(make_request("GET", "/__sim/stats")).body)["writes"].GetInt64();
}

// "Name:PlaylistItemId …" of a Jellyfin/Emby items answer (ids as given).
std::vector<std::string> mb_entry_ids(const rapidjson::Document& doc) {
  std::vector<std::string> out;
  for (const auto& i : doc["Items"].GetArray()) {
    out.emplace_back(i["PlaylistItemId"].GetString());
  }
  return out;
}

std::string mb_names(const rapidjson::Document& doc) {
  std::string out;
  for (const auto& i : doc["Items"].GetArray()) {
    out += out.empty() ? "" : " ";
    out += i["Name"].GetString();
  }
  return out;
}

} // namespace

TEST_CASE("sim::playlists_world_file", "[simulator][playlists]") {
  const World& w = *world();
  REQUIRE(w.playlists.size() == 8);
  CHECK(w.playlists[0].kind == Kind::plex);
  CHECK(w.playlists[0].entries.size() == 3);
  CHECK(w.playlists[0].entries[0] == w.playlists[0].entries[2]); // a key may repeat
  CHECK(w.playlists[1].smart);
  CHECK(w.playlists[2].user == 1);
  CHECK(w.playlists[4].audio);
  CHECK(w.playlists[4].entries.empty());
  CHECK(w.playlists[2].updated_at == ws::sim::default_added_at("Alice's"));

  CHECK_THAT(world_error("[]"),
             Catch::Contains("playlists: expected an object keyed by server name"));
  CHECK_THAT(world_error(R"({"kodi":[]})"), Catch::Contains("playlists.kodi: unknown server"));
  CHECK_THAT(world_error(R"({"emby":[]})"),
             Catch::Contains("playlists.emby: server \"emby\" is not in the world"));
  CHECK_THAT(world_error(R"({"plex":{}})"),
             Catch::Contains("playlists.plex: expected an array of playlists"));
  CHECK_THAT(world_error(R"({"plex":[{"title":"A","color":1}]})"),
             Catch::Contains("playlists.plex[0]: unknown key \"color\""));
  CHECK_THAT(world_error(R"({"plex":[{"items":[]}]})"),
             Catch::Contains("playlists.plex[0]: missing \"title\""));
  CHECK_THAT(world_error(R"({"plex":[{"title":""}]})"),
             Catch::Contains("playlists.plex[0].title: must not be empty"));
  CHECK_THAT(
      world_error(R"({"jellyfin":[{"title":"A","items":["m2"]}]})"),
      Catch::Contains(
          "playlists.jellyfin[0].items[0]: no movie or episode with key \"m2\" on jellyfin"));
  CHECK_THAT(
      world_error(R"({"plex":[{"title":"A","items":["m1","s1"]}]})"),
      Catch::Contains("playlists.plex[0].items[1]: no movie or episode with key \"s1\" on plex"));
  CHECK_THAT(
      world_error(R"({"plex":[{"title":"A","items":["zz"]}]})"),
      Catch::Contains("playlists.plex[0].items[0]: no movie or episode with key \"zz\" on plex"));
  CHECK_THAT(world_error(R"({"plex":[{"title":"A","items":"m1"}]})"),
             Catch::Contains("playlists.plex[0].items: expected an array of world keys"));
  CHECK_THAT(world_error(R"({"jellyfin":[{"title":"A","smart":true}]})"),
             Catch::Contains("playlists.jellyfin[0].smart: smart playlists exist on Plex only"));
  CHECK_THAT(world_error(R"({"plex":[{"title":"A","media_type":"photo"}]})"),
             Catch::Contains("playlists.plex[0].media_type: expected \"video\" or \"audio\""));
  CHECK_THAT(world_error(R"({"plex":[{"title":"A","user":"77"}]})"),
             Catch::Contains("playlists.plex[0].user: unknown user \"77\""));
  CHECK_THAT(world_error(R"({"plex":[{"title":"A","updated_at":"yesterday"}]})"),
             Catch::Contains("playlists.plex[0].updated_at: expected an integer"));
  CHECK(
      world_error(
          R"({"plex":[{"title":"A","items":["m1","e1","m1"],"smart":false,"media_type":"audio"}]})") ==
      "no error");
}

TEST_CASE("sim::plex_playlists_read", "[simulator][playlists]") {
  Server s(world(), Kind::plex);
  CHECK(s.handle(make_request("GET", "/playlists")).status == 401);

  auto r = plex(s, "GET", "/playlists");
  REQUIRE(r.status == 200);
  auto doc = parse_json(r.body);
  const auto& mc = doc["MediaContainer"];
  REQUIRE(mc["size"].GetInt() == 2);
  const auto& weekend = mc["Metadata"][0];
  CHECK(std::string(weekend["ratingKey"].GetString()) == "8");
  CHECK(std::string(weekend["key"].GetString()) == "/playlists/8/items");
  CHECK(std::string(weekend["type"].GetString()) == "playlist");
  CHECK(std::string(weekend["title"].GetString()) == "Weekend");
  CHECK(std::string(weekend["summary"].GetString()) == "picks");
  CHECK(std::string(weekend["playlistType"].GetString()) == "video");
  CHECK(std::string(weekend["guid"].GetString()).rfind("com.plexapp.agents.none://", 0) == 0);
  CHECK_FALSE(weekend["smart"].GetBool());
  CHECK(weekend["leafCount"].GetInt() == 3);
  CHECK(weekend["duration"].GetInt64() == 6000000 * 2 + 2700000);
  CHECK(weekend["addedAt"].GetInt64() == 1700000000);
  CHECK(weekend["updatedAt"].GetInt64() == 1700000000);
  CHECK(mc["Metadata"][1]["smart"].GetBool());

  // Filters; the other user sees only their own playlist.
  CHECK(parse_json(plex(s, "GET", "/playlists?playlistType=audio").body)["MediaContainer"]["size"]
            .GetInt() == 0);
  doc = parse_json(plex(s, "GET", "/playlists?smart=1").body);
  CHECK(doc["MediaContainer"]["size"].GetInt() == 1);
  CHECK(std::string(doc["MediaContainer"]["Metadata"][0]["title"].GetString()) == "Smart");
  doc = parse_json(plex(s, "GET", "/playlists?smart=0&playlistType=video").body);
  CHECK(std::string(doc["MediaContainer"]["Metadata"][0]["title"].GetString()) == "Weekend");
  doc = parse_json(plex(s, "GET", "/playlists", "ptok2").body);
  REQUIRE(doc["MediaContainer"]["size"].GetInt() == 1);
  CHECK(std::string(doc["MediaContainer"]["Metadata"][0]["ratingKey"].GetString()) == "10");

  // One playlist; another user's or an unknown one is not found.
  doc = parse_json(plex(s, "GET", "/playlists/8").body);
  CHECK(doc["MediaContainer"]["size"].GetInt() == 1);
  CHECK(std::string(doc["MediaContainer"]["Metadata"][0]["title"].GetString()) == "Weekend");
  CHECK(plex(s, "GET", "/playlists/10").status == 404);
  CHECK(plex(s, "GET", "/playlists/10/items").status == 404);
  CHECK(plex(s, "GET", "/playlists/99/items").status == 404);
  CHECK(plex(s, "GET", "/playlists/8/items", "ptok2").status == 404);

  // Items as /library/metadata lists them, plus playlistItemID; a repeated item twice.
  r = plex(s, "GET", "/playlists/8/items");
  REQUIRE(r.status == 200);
  doc = parse_json(r.body);
  CHECK(doc["MediaContainer"]["size"].GetInt() == 3);
  CHECK(doc["MediaContainer"]["leafCount"].GetInt() == 3);
  CHECK(plex_entries(doc) == "1:1 6:2 1:3");
  const auto& movie = doc["MediaContainer"]["Metadata"][0];
  CHECK(std::string(movie["type"].GetString()) == "movie");
  CHECK(std::string(movie["title"].GetString()) == "Alpha");
  CHECK(std::string(movie["Guid"][0]["id"].GetString()) == "imdb://tt0000001");
  CHECK(std::string(movie["Media"][0]["Part"][0]["file"].GetString()) ==
        "/media/movies/Alpha (2001)/Alpha (2001).mkv");
  const auto& episode = doc["MediaContainer"]["Metadata"][1];
  CHECK(std::string(episode["type"].GetString()) == "episode");
  CHECK(std::string(episode["grandparentTitle"].GetString()) == "Show");
  CHECK(episode["parentIndex"].GetInt() == 1);
  CHECK(episode["index"].GetInt() == 1);

  // Paging as the library listings page.
  r = plex(s, "GET", "/playlists/8/items?X-Plex-Container-Start=1&X-Plex-Container-Size=1");
  doc = parse_json(r.body);
  CHECK(doc["MediaContainer"]["size"].GetInt() == 1);
  CHECK(doc["MediaContainer"]["totalSize"].GetInt() == 3);
  CHECK(plex_entries(doc) == "6:2");

  // A smart playlist's items carry no playlistItemID.
  CHECK(plex_entries(parse_json(plex(s, "GET", "/playlists/9/items").body)) == "2");

  // XML without Accept: application/json.
  r = s.handle(make_request("GET", "/playlists?X-Plex-Token=ptok"));
  CHECK(r.content_type.find("text/xml") == 0);
  CHECK(r.body.find("<Playlist ratingKey=\"8\"") != std::string::npos);
  CHECK(r.body.find("smart=\"0\"") != std::string::npos);
  r = s.handle(make_request("GET", "/playlists/8/items?X-Plex-Token=ptok"));
  CHECK(r.body.find("playlistItemID=\"2\"") != std::string::npos);
  CHECK(writes(s) == 0);
}

TEST_CASE("sim::plex_playlist_writes", "[simulator][playlists]") {
  Server s(world(), Kind::plex);
  const auto now = static_cast<int64_t>(std::time(nullptr));

  // Create: items in order, repeats kept; ids after the items' and the world's playlists.
  auto r = plex(s, "POST", "/playlists?type=video&title=New&smart=0&uri=" + plex_uri("2,6,2"));
  REQUIRE(r.status == 200);
  auto doc = parse_json(r.body);
  CHECK(doc["MediaContainer"]["size"].GetInt() == 1);
  const auto& made = doc["MediaContainer"]["Metadata"][0];
  CHECK(std::string(made["ratingKey"].GetString()) == "11");
  CHECK(std::string(made["title"].GetString()) == "New");
  CHECK(made["leafCount"].GetInt() == 3);
  CHECK(made["addedAt"].GetInt64() >= now);
  CHECK(plex_entries(parse_json(plex(s, "GET", "/playlists/11/items").body)) == "2:6 6:7 2:8");
  CHECK(sim_keys(s, "New") == "m2 s1e1 m2");

  // Refused creations.
  CHECK(plex(s, "POST", "/playlists?type=video&smart=0&uri=" + plex_uri("2")).status == 400);
  CHECK(plex(s, "POST", "/playlists?type=video&title=X&smart=0").status == 400);
  CHECK(plex(s, "POST",
             "/playlists?type=video&title=X&smart=0&uri=server://"
             "ffffffffffffffffffffffffffffffffffffffff/"
             "com.plexapp.plugins.library/library/metadata/2")
            .status == 400);
  CHECK(plex(s, "POST", "/playlists?type=video&title=X&smart=0&uri=" + plex_uri("2,99")).status ==
        400);
  CHECK(plex(s, "POST", "/playlists?type=video&title=X&smart=0&uri=" + plex_uri("4")).status ==
        400); // a show
  CHECK(plex(s, "POST", "/playlists?type=photo&title=X&smart=0&uri=" + plex_uri("2")).status ==
        400);
  CHECK(plex(s, "POST", "/playlists?type=video&title=X&smart=1&uri=" + plex_uri("2")).status ==
        400);

  // Append (URL-encoded uri, as clients send it).
  r = plex(s, "PUT",
           "/playlists/11/items?uri=server%3A%2F%2F" + std::string(k_plex_id) +
               "%2Fcom.plexapp.plugins.library%2Flibrary%2Fmetadata%2F7%2C1");
  REQUIRE(r.status == 200);
  doc = parse_json(r.body);
  CHECK(doc["MediaContainer"]["leafCountAdded"].GetInt() == 2);
  CHECK(doc["MediaContainer"]["Metadata"][0]["leafCount"].GetInt() == 5);
  CHECK(plex_entries(parse_json(plex(s, "GET", "/playlists/11/items").body)) ==
        "2:6 6:7 2:8 7:9 1:10");
  CHECK(plex(s, "PUT", "/playlists/11/items?uri=" + plex_uri("99")).status == 400);
  CHECK(plex(s, "PUT", "/playlists/99/items?uri=" + plex_uri("1")).status == 404);

  // Move after an entry, and to the top without `after`; the answer lists the items.
  r = plex(s, "PUT", "/playlists/11/items/9/move?after=6");
  REQUIRE(r.status == 200);
  CHECK(plex_entries(parse_json(r.body)) == "2:6 7:9 6:7 2:8 1:10");
  CHECK(plex_entries(parse_json(plex(s, "PUT", "/playlists/11/items/10/move").body)) ==
        "1:10 2:6 7:9 6:7 2:8");
  CHECK(plex_entries(parse_json(plex(s, "PUT", "/playlists/11/items/10/move?after=8").body)) ==
        "2:6 7:9 6:7 2:8 1:10");
  CHECK(plex(s, "PUT", "/playlists/11/items/77/move?after=6").status == 404);
  CHECK(plex(s, "PUT", "/playlists/11/items/9/move?after=77").status == 400);
  CHECK(sim_keys(s, "New") == "m2 s1e2 s1e1 m2 m1");

  // Remove one entry (the other copy of m2 stays); unknown entry → 404.
  r = plex(s, "DELETE", "/playlists/11/items/6");
  REQUIRE(r.status == 200);
  CHECK(parse_json(r.body)["MediaContainer"]["Metadata"][0]["leafCount"].GetInt() == 4);
  CHECK(plex(s, "DELETE", "/playlists/11/items/6").status == 404);
  CHECK(sim_keys(s, "New") == "s1e2 s1e1 m2 m1");

  // Entry ids are never reused.
  REQUIRE(
      plex(s, "POST", "/playlists?type=video&title=Other&smart=0&uri=" + plex_uri("3")).status ==
      200);
  CHECK(plex_entries(parse_json(plex(s, "GET", "/playlists/12/items").body)) == "3:11");

  // Smart playlists: listed, but their items cannot change; they can be renamed.
  CHECK(plex(s, "PUT", "/playlists/9/items?uri=" + plex_uri("1")).status == 400);
  CHECK(plex(s, "DELETE", "/playlists/9/items/4").status == 400);
  CHECK(plex(s, "PUT", "/playlists/9/items/4/move").status == 400);
  CHECK(plex(s, "PUT", "/playlists/9?title=Clever").status == 200);

  // Rename; updatedAt moves to now on every change.
  CHECK(plex(s, "PUT", "/playlists/8?title=Long%20Weekend&summary=more").status == 200);
  doc = parse_json(plex(s, "GET", "/playlists/8").body);
  CHECK(std::string(doc["MediaContainer"]["Metadata"][0]["title"].GetString()) == "Long Weekend");
  CHECK(std::string(doc["MediaContainer"]["Metadata"][0]["summary"].GetString()) == "more");
  CHECK(doc["MediaContainer"]["Metadata"][0]["updatedAt"].GetInt64() >= now);
  CHECK(doc["MediaContainer"]["Metadata"][0]["addedAt"].GetInt64() == 1700000000);
  CHECK(plex(s, "PUT", "/playlists/8").status == 400);
  CHECK(plex(s, "PUT", "/playlists/8?title=").status == 400);

  // Another user's playlists are not found for writes either.
  CHECK(plex(s, "PUT", "/playlists/8?title=Mine", "ptok2").status == 404);
  CHECK(plex(s, "DELETE", "/playlists/8", "ptok2").status == 404);
  CHECK(plex(s, "DELETE", "/playlists/8/items/1", "ptok2").status == 404);

  // Delete.
  CHECK(plex(s, "DELETE", "/playlists/11").status == 200);
  CHECK(plex(s, "GET", "/playlists/11").status == 404);
  CHECK(plex(s, "DELETE", "/playlists/11").status == 404);
  CHECK(parse_json(plex(s, "GET", "/playlists").body)["MediaContainer"]["size"].GetInt() == 3);
}

TEST_CASE("sim::plex_playlist_writes_are_counted", "[simulator][playlists]") {
  Server s(world(), Kind::plex);
  plex(s, "GET", "/playlists");
  plex(s, "GET", "/playlists/8/items");
  CHECK(writes(s) == 0);
  plex(s, "PUT", "/playlists/8/items?uri=" + plex_uri("2"));
  plex(s, "PUT", "/playlists/8/items/1/move");
  plex(s, "PUT", "/playlists/9/items?uri=" + plex_uri("2")); // refused: still a write request
  CHECK(writes(s) == 3);
  const auto log = parse_json(s.handle(make_request("GET", "/__sim/requests")).body);
  REQUIRE(log.Size() == 5);
  CHECK(std::string(log[2]["method"].GetString()) == "PUT");
  CHECK(std::string(log[2]["path"].GetString()) == "/playlists/8/items");
}

TEST_CASE("sim::jellyfin_playlists_read", "[simulator][playlists]") {
  Server s(world(), Kind::jellyfin);
  const std::string alice = k_alice_jf;
  const std::string query = "/Users/" + alice + "/Items?IncludeItemTypes=Playlist&Recursive=true";
  CHECK(s.handle(make_request("GET", query)).status == 401);

  auto r = mb(s, "GET", query, "jkey");
  REQUIRE(r.status == 200);
  auto doc = parse_json(r.body);
  CHECK(doc["TotalRecordCount"].GetInt() == 2);
  CHECK(mb_names(doc) == "Tunes Weekend"); // SortName order
  const auto& tunes = doc["Items"][0];
  CHECK(std::string(tunes["Type"].GetString()) == "Playlist");
  CHECK(std::string(tunes["MediaType"].GetString()) == "Audio");
  CHECK(tunes["IsFolder"].GetBool());
  CHECK(tunes["CanDelete"].GetBool());
  CHECK(tunes["ChildCount"].GetInt() == 0);
  const auto& weekend = doc["Items"][1];
  CHECK(std::string(weekend["MediaType"].GetString()) == "Video");
  CHECK(weekend["ChildCount"].GetInt() == 2);
  CHECK(std::string(weekend["DateCreated"].GetString()) == "2023-11-14T22:13:20.0000000Z");
  const std::string weekend_id = weekend["Id"].GetString();
  CHECK(weekend_id.size() == 32);

  // Paging, order, the /Items form, user isolation and permissions.
  doc = parse_json(mb(s, "GET", query + "&StartIndex=1&Limit=1", "jkey").body);
  CHECK(mb_names(doc) == "Weekend");
  CHECK(doc["TotalRecordCount"].GetInt() == 2);
  CHECK(doc["StartIndex"].GetInt() == 1);
  CHECK(mb_names(parse_json(
            mb(s, "GET", query + "&SortBy=DateCreated&SortOrder=Descending", "jkey").body)) ==
        "Tunes Weekend");
  CHECK(mb_names(parse_json(mb(s, "GET", query + "&SortOrder=Descending", "jkey").body)) ==
        "Weekend Tunes");
  CHECK(mb_names(parse_json(
            mb(s, "GET", "/Items?userId=" + std::string(k_bob_jf) + "&IncludeItemTypes=Playlist",
               "jkey")
                .body)) == "Bob's");
  CHECK(mb_names(parse_json(
            mb(s, "GET", "/Items?IncludeItemTypes=Playlist&Recursive=true", "jbob").body)) ==
        "Bob's");
  CHECK(mb(s, "GET", query, "jbob").status == 403);
  CHECK(mb(s, "GET", query + "&Limit=-1", "jkey").status == 400);

  // Movie and episode queries never list playlists.
  doc = parse_json(mb(s, "GET",
                      "/Users/" + alice + "/Items?Recursive=true&IncludeItemTypes=Movie,Episode",
                      "jkey")
                       .body);
  CHECK(doc["TotalRecordCount"].GetInt() == 5);
  doc = parse_json(mb(s, "GET", "/Users/" + alice + "/Items?Recursive=true", "jkey").body);
  for (const auto& i : doc["Items"].GetArray()) {
    CHECK(std::string(i["Type"].GetString()) != "Playlist");
  }

  // The items with their PlaylistItemId, user data of the acting user, paging.
  r = mb(s, "GET",
         "/Playlists/" + weekend_id + "/Items?userId=" + alice + "&Fields=ProviderIds,Path",
         "jkey");
  REQUIRE(r.status == 200);
  doc = parse_json(r.body);
  CHECK(doc["TotalRecordCount"].GetInt() == 2);
  CHECK(mb_names(doc) == "Alpha Episode 1");
  CHECK(std::string(doc["Items"][0]["Type"].GetString()) == "Movie");
  CHECK(std::string(doc["Items"][0]["ProviderIds"]["Imdb"].GetString()) == "tt0000001");
  CHECK(doc["Items"][0]["UserData"]["Played"].GetBool());
  CHECK(std::string(doc["Items"][1]["SeriesName"].GetString()) == "Show");
  const auto entries = mb_entry_ids(doc);
  CHECK(entries[0].size() == 32);
  CHECK(entries[0] != entries[1]);
  doc = parse_json(
      mb(s, "GET", "/Playlists/" + weekend_id + "/Items?userId=" + alice + "&StartIndex=1&Limit=5",
         "jkey")
          .body);
  CHECK(mb_names(doc) == "Episode 1");
  CHECK(doc["TotalRecordCount"].GetInt() == 2);
  CHECK(mb(s, "GET", "/Playlists/ffffffffffffffffffffffffffffffff/Items", "jkey").status == 404);
  CHECK(mb(s, "GET", "/Playlists/" + weekend_id + "/Items?userId=" + std::string(k_bob_jf), "jkey")
            .status == 404);
  CHECK(mb(s, "GET", "/Playlists/" + weekend_id + "/Items", "jbob").status == 404);
  CHECK(mb(s, "GET", "/Playlists/" + weekend_id + "/Items", "jalice").status == 200);

  // The PlaylistDto, the single-item form.
  doc = parse_json(mb(s, "GET", "/Playlists/" + weekend_id, "jkey").body);
  CHECK_FALSE(doc["OpenAccess"].GetBool());
  CHECK(doc["Shares"].Size() == 0);
  REQUIRE(doc["ItemIds"].Size() == 2);
  CHECK(std::string(doc["ItemIds"][1].GetString()) == s.items()[s.item_of_key("s1e1")].id);
  doc = parse_json(mb(s, "GET", "/Users/" + alice + "/Items/" + weekend_id, "jkey").body);
  CHECK(std::string(doc["Type"].GetString()) == "Playlist");
  CHECK(std::string(doc["Name"].GetString()) == "Weekend");
  CHECK(writes(s) == 0);
}

TEST_CASE("sim::jellyfin_playlist_writes", "[simulator][playlists]") {
  Server s(world(), Kind::jellyfin);
  const std::string alice = k_alice_jf;
  const std::string m1 = s.items()[s.item_of_key("m1")].id;
  const std::string m2 = s.items()[s.item_of_key("m2")].id;
  const std::string e1 = s.items()[s.item_of_key("s1e1")].id;
  const std::string e2 = s.items()[s.item_of_key("s1e2")].id;
  const auto now = static_cast<int64_t>(std::time(nullptr));

  // Create with a CreatePlaylistDto body; the answer is {"Id"}.
  auto r = mb(s, "POST", "/Playlists", "jkey",
              R"({"Name":"New","Ids":[")" + m1 + R"(",")" + m2 + R"(",")" + m1 +
                  R"("],"UserId":")" + alice + R"(","MediaType":"Video"})");
  REQUIRE(r.status == 200);
  auto doc = parse_json(r.body);
  const std::string id = doc["Id"].GetString();
  CHECK(doc.MemberCount() == 1);
  CHECK(sim_keys(s, "New") == "m1 m2 m1");
  CHECK(sim_playlist(s, "New")["updated_at"].GetInt64() >= now);

  // The query form (ids with dashes), a user token without userId, refusals.
  const std::string dashed = m2.substr(0, 8) + "-" + m2.substr(8, 4) + "-" + m2.substr(12, 4) +
                             "-" + m2.substr(16, 4) + "-" + m2.substr(20);
  REQUIRE(mb(s, "POST",
             "/Playlists?name=Query&ids=" + dashed + "&userId=" + alice + "&mediaType=Audio",
             "jkey")
              .status == 200);
  CHECK(std::string(sim_playlist(s, "Query")["media_type"].GetString()) == "audio");
  REQUIRE(mb(s, "POST", "/Playlists?name=Bobs&ids=" + m2, "jbob").status == 200);
  CHECK(sim_keys(s, "Bobs", k_bob_jf) == "m2");
  CHECK(mb(s, "POST", "/Playlists?name=X&ids=" + m1, "jkey").status == 400); // no user
  CHECK(mb(s, "POST", "/Playlists?ids=" + m1 + "&userId=" + alice, "jkey").status == 400);
  CHECK(mb(s, "POST", "/Playlists?name=X&ids=ffffffffffffffffffffffffffffffff&userId=" + alice,
           "jkey")
            .status == 400);
  CHECK(mb(s, "POST",
           "/Playlists?name=X&ids=" + s.items()[s.item_of_key("s1")].id + "&userId=" + alice,
           "jkey")
            .status == 400); // a series
  CHECK(mb(s, "POST", "/Playlists?name=X&userId=" + alice, "jbob").status == 403);
  CHECK(mb(s, "POST", "/Playlists", "jkey", "{not json").status == 400);

  // Append, remove entries, move by index (clamped to the end).
  CHECK(
      mb(s, "POST", "/Playlists/" + id + "/Items?ids=" + e1 + "," + e2 + "&userId=" + alice, "jkey")
          .status == 204);
  CHECK(sim_keys(s, "New") == "m1 m2 m1 s1e1 s1e2");
  CHECK(mb(s, "POST", "/Playlists/" + id + "/Items?ids=ffffffffffffffffffffffffffffffff", "jkey")
            .status == 400);
  CHECK(mb(s, "POST", "/Playlists/" + id + "/Items", "jkey").status == 400);
  CHECK(
      mb(s, "POST", "/Playlists/ffffffffffffffffffffffffffffffff/Items?ids=" + m1, "jkey").status ==
      404);
  auto entries = mb_entry_ids(parse_json(mb(s, "GET", "/Playlists/" + id + "/Items", "jkey").body));
  REQUIRE(entries.size() == 5);
  CHECK(mb(s, "DELETE", "/Playlists/" + id + "/Items?entryIds=" + entries[0] + "," + entries[2],
           "jkey")
            .status == 204);
  CHECK(sim_keys(s, "New") == "m2 s1e1 s1e2");
  CHECK(mb(s, "DELETE", "/Playlists/" + id + "/Items", "jkey").status == 400);
  CHECK(mb(s, "POST", "/Playlists/" + id + "/Items/" + entries[4] + "/Move/0", "jkey").status ==
        204);
  CHECK(sim_keys(s, "New") == "s1e2 m2 s1e1");
  CHECK(mb(s, "POST", "/Playlists/" + id + "/Items/" + entries[4] + "/Move/1", "jkey").status ==
        204);
  CHECK(sim_keys(s, "New") == "m2 s1e2 s1e1");
  CHECK(mb(s, "POST", "/Playlists/" + id + "/Items/" + entries[4] + "/Move/99", "jkey").status ==
        204);
  CHECK(sim_keys(s, "New") == "m2 s1e1 s1e2");
  CHECK(mb(s, "POST", "/Playlists/" + id + "/Items/" + entries[0] + "/Move/0", "jkey").status ==
        404); // removed
  CHECK(mb(s, "POST", "/Playlists/" + id + "/Items/" + entries[1] + "/Move/-1", "jkey").status ==
        400);
  entries = mb_entry_ids(parse_json(mb(s, "GET", "/Playlists/" + id + "/Items", "jkey").body));
  CHECK(sim_playlist(s, "New")["entries"][2]["entry_id"].GetString() == entries[2]);

  // UpdatePlaylistDto: rename; Ids replace the items (new entry ids).
  CHECK(mb(s, "POST", "/Playlists/" + id, "jkey", R"({"Name":"Renamed"})").status == 204);
  CHECK(sim_keys(s, "Renamed") == "m2 s1e1 s1e2");
  CHECK(mb(s, "POST", "/Playlists/" + id, "jkey", R"({"Ids":[")" + e2 + R"(",")" + e2 + R"("]})")
            .status == 204);
  CHECK(sim_keys(s, "Renamed") == "s1e2 s1e2");
  CHECK(mb_entry_ids(parse_json(mb(s, "GET", "/Playlists/" + id + "/Items", "jkey").body))[0] !=
        entries[2]);
  CHECK(mb(s, "POST", "/Playlists/" + id, "jkey", R"({"Name":""})").status == 400);
  CHECK(mb(s, "POST", "/Playlists/" + id, "jkey", R"({"Ids":["ffffffffffffffffffffffffffffffff"]})")
            .status == 400);
  CHECK(mb(s, "POST", "/Playlists/" + id, "jbob", R"({"Name":"Mine"})").status == 404);

  // Delete: playlists only.
  CHECK(mb(s, "DELETE", "/Items/" + id, "jbob").status == 404);
  CHECK(mb(s, "DELETE", "/Items/" + id, "jalice").status == 204);
  CHECK(mb(s, "GET", "/Playlists/" + id + "/Items", "jkey").status == 404);
  CHECK(mb(s, "DELETE", "/Items/" + id, "jkey").status == 404);
  CHECK(mb(s, "DELETE", "/Items/" + m1, "jkey").status == 403);
  CHECK(sim_keys(s, "Renamed") == "<none>");
  CHECK(writes(s) > 20);
}

TEST_CASE("sim::emby_playlists", "[simulator][playlists]") {
  Server s(world(), Kind::emby);
  const std::string alice = k_alice_emby;
  const std::string query = "/Users/" + alice + "/Items?IncludeItemTypes=Playlist&Recursive=true";
  auto doc = parse_json(mb(s, "GET", query, "ekey").body);
  CHECK(mb_names(doc) == "Weekend");
  CHECK_FALSE(doc.HasMember("StartIndex"));
  CHECK(std::string(doc["Items"][0]["Id"].GetString()) == "1006");
  CHECK(std::string(doc["Items"][0]["DateCreated"].GetString()) == "2023-11-14T22:13:20.0000000Z");
  CHECK(mb_names(parse_json(
            mb(s, "GET", "/Items?UserId=" + std::string(k_bob_emby) + "&IncludeItemTypes=Playlist",
               "ekey")
                .body)) == "Bob's");

  // Items (PascalCase query names), the item form, no GET /Playlists/{id} on Emby.
  doc = parse_json(mb(s, "GET", "/Playlists/1006/Items?UserId=" + alice, "ekey").body);
  CHECK(mb_names(doc) == "Beta Alpha");
  CHECK(mb_entry_ids(doc) == std::vector<std::string>{"1", "2"});
  CHECK(mb(s, "GET", "/emby/Playlists/1006/Items?UserId=" + alice + "&StartIndex=1&Limit=1", "ekey")
            .status == 200);
  doc = parse_json(mb(s, "GET", "/Users/" + alice + "/Items/1006", "ekey").body);
  CHECK(std::string(doc["Type"].GetString()) == "Playlist");
  CHECK(doc["CanDelete"].GetBool());
  CHECK(mb(s, "GET", "/Playlists/1006", "ekey").status == 404);
  CHECK(mb(s, "GET", "/Playlists/1007/Items?UserId=" + alice, "ekey").status == 404);

  // Create with query parameters; the answer is {"Id","Name"}.
  auto r = mb(s, "POST", "/Playlists?Name=Fresh&Ids=1004,1000,1004&MediaType=Video&UserId=" + alice,
              "ekey");
  REQUIRE(r.status == 200);
  doc = parse_json(r.body);
  CHECK(std::string(doc["Id"].GetString()) == "1008");
  CHECK(std::string(doc["Name"].GetString()) == "Fresh");
  CHECK(sim_keys(s, "Fresh") == "s1e1 m1 s1e1");
  CHECK(mb(s, "POST", "/Playlists?Name=Own&Ids=1001", "ealice").status == 200);
  CHECK(mb(s, "POST", "/Playlists?Name=X&Ids=1002&UserId=" + alice, "ekey").status ==
        400); // a series
  CHECK(
      mb(s, "POST", "/Playlists?Name=X&Ids=1001&MediaType=Photo&UserId=" + alice, "ekey").status ==
      400);

  // Append (Ids, UserId), remove (EntryIds), move.
  CHECK(mb(s, "POST", "/Playlists/1008/Items?Ids=1005&UserId=" + alice, "ekey").status == 204);
  CHECK(sim_keys(s, "Fresh") == "s1e1 m1 s1e1 s1e2");
  doc = parse_json(mb(s, "GET", "/Playlists/1008/Items", "ekey").body);
  CHECK(mb_entry_ids(doc) == std::vector<std::string>{"4", "5", "6", "8"});
  CHECK(mb(s, "DELETE", "/Playlists/1008/Items?EntryIds=4,77", "ekey").status ==
        204); // unknown ids ignored
  CHECK(sim_keys(s, "Fresh") == "m1 s1e1 s1e2");
  CHECK(mb(s, "POST", "/Playlists/1008/Items/8/Move/0", "ekey").status == 204);
  CHECK(sim_keys(s, "Fresh") == "s1e2 m1 s1e1");

  // Rename through the item update (a BaseItemDto with the new Name).
  CHECK(mb(s, "POST", "/Items/1008", "ekey", R"({"Name":"Renamed","Id":"1008","Type":"Playlist"})")
            .status == 204);
  CHECK(sim_keys(s, "Renamed") == "s1e2 m1 s1e1");
  CHECK(mb(s, "POST", "/Items/1008", "ekey", R"({"Id":"1008"})").status == 400);
  CHECK(mb(s, "POST", "/Items/1000", "ekey", R"({"Name":"Nope"})").status == 403);
  CHECK(mb(s, "POST", "/Items/1007", "ealice", R"({"Name":"Nope"})").status == 404); // bob's

  // Delete: DELETE /Items/{id} and POST /Items/Delete?Ids=.
  CHECK(mb(s, "DELETE", "/Items/1008", "ekey").status == 204);
  CHECK(mb(s, "POST", "/Items/Delete?Ids=1009,1000", "ekey").status == 403);
  CHECK(mb(s, "POST", "/Items/Delete?Ids=1009", "ebob").status == 404);
  CHECK(mb(s, "POST", "/Items/Delete?Ids=1009", "ekey").status == 204);
  CHECK(mb_names(parse_json(mb(s, "GET", query, "ekey").body)) == "Weekend");
}

TEST_CASE("sim::playlists_control_endpoint", "[simulator][playlists]") {
  Server plex_server(world(), Kind::plex);
  Server jelly(world(), Kind::jellyfin);
  auto doc = parse_json(plex_server.handle(make_request("GET", "/__sim/playlists")).body);
  REQUIRE(doc.Size() == 2);
  CHECK(std::string(doc[0]["id"].GetString()) == "8");
  CHECK(std::string(doc[0]["title"].GetString()) == "Weekend");
  CHECK(std::string(doc[0]["summary"].GetString()) == "picks");
  CHECK_FALSE(doc[0]["smart"].GetBool());
  CHECK(std::string(doc[0]["media_type"].GetString()) == "video");
  CHECK(std::string(doc[0]["user"].GetString()) == "1");
  CHECK(doc[0]["updated_at"].GetInt64() == 1700000000);
  CHECK(doc[0]["added_at"].GetInt64() == 1700000000);
  REQUIRE(doc[0]["entries"].Size() == 3);
  CHECK(std::string(doc[0]["entries"][1]["entry_id"].GetString()) == "2");
  CHECK(std::string(doc[0]["entries"][1]["key"].GetString()) == "s1e1");
  CHECK(std::string(doc[0]["entries"][1]["item_id"].GetString()) == "6");
  CHECK(doc[1]["smart"].GetBool());

  // user = a user id, a name or a slot; another served server through its peer.
  CHECK(sim_keys(plex_server, "Alice's", "1001") == "m3");
  CHECK(sim_keys(plex_server, "Alice's", "alice") == "m3");
  CHECK(sim_keys(jelly, "Bob's", "1") == "m2");
  CHECK(sim_keys(jelly, "Bob's", k_bob_jf) == "m2");
  CHECK(plex_server.handle(make_request("GET", "/__sim/playlists?user=nobody")).status == 404);
  CHECK(plex_server.handle(make_request("GET", "/__sim/playlists?server=kodi")).status == 400);
  CHECK(plex_server.handle(make_request("GET", "/__sim/playlists?server=jellyfin")).status == 404);
  CHECK(parse_json(plex_server.handle(make_request("GET", "/__sim/playlists?server=plex")).body)
            .Size() == 2);
  plex_server.set_peer(Kind::jellyfin, &jelly);
  doc = parse_json(
      plex_server.handle(make_request("GET", "/__sim/playlists?server=jellyfin&user=bob")).body);
  REQUIRE(doc.Size() == 1);
  CHECK(std::string(doc[0]["title"].GetString()) == "Bob's");
  CHECK(std::string(doc[0]["entries"][0]["item_id"].GetString()) ==
        jelly.items()[jelly.item_of_key("m2")].id);

  // Hidden items leave the API listings but stay in the playlist (flagged here).
  REQUIRE(
      jelly.handle(make_request("POST", "/__sim/visibility", {}, R"({"hide":["m1"]})")).status ==
      200);
  doc = parse_json(jelly.handle(make_request("GET", "/__sim/playlists")).body);
  CHECK(doc[0]["entries"][0]["hidden"].GetBool());
  const std::string weekend = doc[0]["id"].GetString();
  doc = parse_json(mb(jelly, "GET", "/Playlists/" + weekend + "/Items", "jkey").body);
  CHECK(mb_names(doc) == "Episode 1");
  CHECK(writes(plex_server) == 0);
}

TEST_CASE("sim::generated_playlists", "[simulator][playlists]") {
  ws::sim::GenerateOptions o;
  o.seed = 5;
  o.items = 400;
  CHECK(ws::sim::generate_world(o).playlists.empty());
  o.playlists = 6;
  const World a = ws::sim::generate_world(o);
  const World b = ws::sim::generate_world(o);
  REQUIRE(a.playlists.size() == 6 * 3 + 2);
  REQUIRE(a.playlists.size() == b.playlists.size());
  size_t per_kind[3] = {0, 0, 0};
  for (size_t i = 0; i < a.playlists.size(); ++i) {
    const auto& p = a.playlists[i];
    CHECK(p.title == b.playlists[i].title);
    CHECK(p.entries == b.playlists[i].entries);
    CHECK(p.updated_at == b.playlists[i].updated_at);
    CHECK(p.user == 0);
    CHECK(p.entries.size() <= 13);
    ++per_kind[ws::sim::idx(p.kind)];
    for (uint32_t e : p.entries) {
      CHECK(a.entries[e].kind != ws::sim::EntryKind::show);
      CHECK(a.entries[e].on(p.kind));
    }
    CHECK(p.smart == (p.kind == Kind::plex && p.title.rfind("Smart ", 0) == 0));
    CHECK(p.audio == (p.kind == Kind::jellyfin && p.title.rfind("Audio ", 0) == 0));
  }
  CHECK(per_kind[0] == 7);
  CHECK(per_kind[1] == 7);
  CHECK(per_kind[2] == 6);
  // Playlist i: i % 3 == 0 the same everywhere, 1 the same title with other items on
  // jellyfin and emby, 2 a title of each server's own.
  auto find = [&](Kind k, const std::string& prefix) -> const ws::sim::PlaylistDef& {
    for (const auto& p : a.playlists) {
      if (p.kind == k && p.title.find(prefix) != std::string::npos) {
        return p;
      }
    }
    FAIL("no playlist " << prefix);
    return a.playlists.front();
  };
  for (const char* mix : {"Mix 1", "Mix 4"}) {
    CHECK(find(Kind::plex, mix).title == find(Kind::emby, mix).title);
    CHECK(find(Kind::plex, mix).entries == find(Kind::jellyfin, mix).entries);
    CHECK(find(Kind::plex, mix).entries == find(Kind::emby, mix).entries);
    CHECK(find(Kind::plex, mix).updated_at == find(Kind::emby, mix).updated_at);
  }
  for (const char* mix : {"Mix 2", "Mix 5"}) {
    CHECK(find(Kind::plex, mix).title == find(Kind::jellyfin, mix).title);
    CHECK(find(Kind::plex, mix).entries != find(Kind::jellyfin, mix).entries);
    CHECK(find(Kind::plex, mix).entries != find(Kind::emby, mix).entries);
    CHECK(find(Kind::plex, mix).updated_at < find(Kind::jellyfin, mix).updated_at);
  }
  CHECK(find(Kind::plex, "Mix 3").title.find("(plex)") != std::string::npos);
  CHECK(find(Kind::emby, "Mix 3").title.find("(emby)") != std::string::npos);
  o.seed = 6;
  CHECK(ws::sim::generate_world(o).playlists[0].title != a.playlists[0].title);

  // Served: one playlist, no extras.
  o.playlists = 1;
  o.servers = 0b100;
  auto one = std::make_shared<const World>(ws::sim::generate_world(o));
  REQUIRE(one->playlists.size() == 1);
  Server emby(one, Kind::emby);
  const auto doc = parse_json(emby.handle(make_request("GET", "/__sim/playlists")).body);
  REQUIRE(doc.Size() == 1);
  CHECK(doc[0]["entries"].Size() == one->playlists[0].entries.size());
  o.playlists = 10001;
  CHECK_THROWS_AS(ws::sim::generate_world(o), ws::sim::WorldError);
}

TEST_CASE("sim::playlists_under_concurrent_requests", "[simulator][playlists]") {
  Server s(world(), Kind::plex);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&s, t] {
      for (int i = 0; i < 40; ++i) {
        if (t % 2 == 0) {
          plex(s, "PUT", "/playlists/8/items?uri=" + plex_uri("2"));
          plex(s, "PUT", "/playlists/8/items/1/move?after=2");
        } else {
          plex(s, "GET", "/playlists/8/items");
          s.handle(make_request("GET", "/__sim/playlists"));
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(sim_playlist(s, "Weekend")["entries"].Size() == 3 + 80);
}
