// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <memory>
#include <string>

#include "simulator/plextv.hpp"
#include "simulator/world.hpp"

using ws::sim::make_request;
using ws::sim::PlexTv;

namespace {

constexpr const char* k_world = R"({"servers":{"plex":{"server_id":"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c",
  "users":[{"id":"1","name":"owner","token":"owner-token"},
           {"id":"1001","name":"kid","token":"kid-token","managed":true,"uuid":"kid-uuid"},
           {"id":"1002","name":"partner","token":"partner-token","home":true},
           {"id":"2002","name":"Bob","token":"bob-token","friend":true},
           {"id":"3003","name":"stranger","token":"stranger-token"}]}}})";

ws::sim::Response get(PlexTv& tv, const std::string& target, const std::string& token,
                      const std::string& method = "GET") {
  return tv.handle(make_request(method, target, {{"X-Plex-Token", token}}));
}

} // namespace

TEST_CASE("sim::PlexTv stand-in", "[simulator][plextv]") {
  auto world = std::make_shared<const ws::sim::World>(ws::sim::parse_world(k_world, "w.json", 0b001));
  PlexTv tv(world, "http://127.0.0.1:1");

  auto home = get(tv, "/api/v2/home/users", "owner-token");
  REQUIRE(home.status == 200);
  rapidjson::Document doc;
  doc.Parse(home.body.c_str());
  REQUIRE(doc["users"].Size() == 3); // owner, kid (managed), partner (home)
  CHECK(doc["users"][1]["restricted"].GetBool());
  CHECK(std::string(doc["users"][1]["uuid"].GetString()) == "kid-uuid");
  CHECK(get(tv, "/api/v2/home/users", "kid-token").status == 401);
  CHECK(get(tv, "/api/v2/home/users", "nobody").status == 401);

  auto sw = get(tv, "/api/v2/home/users/kid-uuid/switch", "owner-token", "POST");
  REQUIRE(sw.status == 201);
  doc.Parse(sw.body.c_str());
  const std::string temporary = doc["authToken"].GetString();
  CHECK(temporary != "kid-token");
  CHECK(get(tv, "/api/v2/home/users/nope/switch", "owner-token", "POST").status == 404);

  auto res = get(tv, "/api/v2/resources?includeHttps=1", temporary);
  REQUIRE(res.status == 200);
  doc.Parse(res.body.c_str());
  CHECK(std::string(doc[0]["accessToken"].GetString()) == "kid-token");
  CHECK(std::string(doc[0]["clientIdentifier"].GetString()) ==
        "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c");
  CHECK(get(tv, "/api/v2/resources", "stranger-token").body == "[]");

  auto shared = get(tv, "/api/servers/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c/shared_servers",
                    "owner-token");
  REQUIRE(shared.status == 200);
  CHECK(shared.body.find(R"(userID="2002" accessToken="bob-token")") != std::string::npos);
  CHECK(shared.body.find("kid-token") == std::string::npos);
  CHECK(get(tv, "/api/servers/ffff/shared_servers", "owner-token").status == 404);
}

TEST_CASE("sim::World plex.tv user properties", "[simulator][plextv]") {
  CHECK_THROWS_WITH(
      ws::sim::parse_world(R"({"servers":{"jellyfin":{"users":[{"name":"a","home":true}]}}})", "w", 0b010),
      Catch::Contains("users[0].home"));
  CHECK_THROWS_WITH(
      ws::sim::parse_world(
          R"({"servers":{"plex":{"users":[{"name":"o"},{"name":"b","friend":true,"managed":true}]}}})",
          "w", 0b001),
      Catch::Contains("users[1].friend"));
  const auto w = ws::sim::parse_world(R"({"servers":{"plex":{"users":[{"name":"o"},{"name":"k"}]}}})", "w", 0b001);
  const auto& users = w.servers[0].users;
  CHECK(users[0].home);
  CHECK_FALSE(users[1].home);
  CHECK(users[1].uuid.size() == 16);
}
