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

constexpr const char* k_world =
    R"({"servers":{"plex":{"server_id":"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c",
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
  auto world =
      std::make_shared<const ws::sim::World>(ws::sim::parse_world(k_world, "w.json", 0b001));
  PlexTv tv(world, "http://127.0.0.1:1");

  auto home = get(tv, "/api/v2/home/users", "owner-token");
  REQUIRE(home.status == 200);
  rapidjson::Document doc;
  doc.Parse(home.body.data(), home.body.size());
  REQUIRE(doc["users"].Size() == 3); // owner, kid (managed), partner (home)
  CHECK(doc["users"][1]["restricted"].GetBool());
  CHECK(std::string(doc["users"][1]["uuid"].GetString()) == "kid-uuid");
  CHECK(get(tv, "/api/v2/home/users", "kid-token").status == 401);
  CHECK(get(tv, "/api/v2/home/users", "nobody").status == 401);

  auto sw = get(tv, "/api/v2/home/users/kid-uuid/switch", "owner-token", "POST");
  REQUIRE(sw.status == 201);
  doc.Parse(sw.body.data(), sw.body.size());
  const std::string temporary = doc["authToken"].GetString();
  CHECK(temporary != "kid-token");
  CHECK(get(tv, "/api/v2/home/users/nope/switch", "owner-token", "POST").status == 404);

  auto res = get(tv, "/api/v2/resources?includeHttps=1", temporary);
  REQUIRE(res.status == 200);
  doc.Parse(res.body.data(), res.body.size());
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
      ws::sim::parse_world(R"({"servers":{"jellyfin":{"users":[{"name":"a","home":true}]}}})", "w",
                           0b010),
      Catch::Contains("users[0].home"));
  CHECK_THROWS_WITH(
      ws::sim::parse_world(
          R"({"servers":{"plex":{"users":[{"name":"o"},{"name":"b","friend":true,"managed":true}]}}})",
          "w", 0b001),
      Catch::Contains("users[1].friend"));
  const auto w = ws::sim::parse_world(
      R"({"servers":{"plex":{"users":[{"name":"o"},{"name":"k"}]}}})", "w", 0b001);
  const auto& users = w.servers[0].users;
  CHECK(users[0].home);
  CHECK_FALSE(users[1].home);
  CHECK(users[1].uuid.size() == 16);
}

namespace {

constexpr const char* k_pin_world =
    R"({"servers":{"plex":{"server_id":"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c",
  "version":"1.41.3.9314-a0bfb8370",
  "users":[{"id":"1","name":"owner","token":"owner-token"},
           {"id":"1001","name":"kid","token":"kid-token","managed":true,"uuid":"kid-uuid","pin":"4321"},
           {"id":"1002","name":"partner","token":"partner-token","home":true,"uuid":"partner-uuid"},
           {"id":"2002","name":"Bob","token":"bob-token","friend":true}]}}})";

std::shared_ptr<const ws::sim::World> pin_world(std::string text = k_pin_world) {
  return std::make_shared<const ws::sim::World>(ws::sim::parse_world(text, "w.json", 0b001));
}

ws::sim::Response call(PlexTv& tv, const std::string& method, const std::string& target,
                       ws::sim::Pairs headers = {}, std::string body = {}) {
  return tv.handle(make_request(method, target, std::move(headers), std::move(body)));
}

rapidjson::Document parsed(const ws::sim::Response& r) {
  rapidjson::Document doc;
  doc.Parse(r.body.data(), r.body.size());
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

bool all_of_alphabet(const std::string& text, const std::string& alphabet) {
  return text.find_first_not_of(alphabet) == std::string::npos;
}

} // namespace

TEST_CASE("sim::PlexTv PIN sign-in", "[simulator][plextv]") {
  PlexTv tv(pin_world(), "http://127.0.0.1:1");
  const ws::sim::Pairs app{{"X-Plex-Client-Identifier", "app-1"}, {"X-Plex-Product", "ws-config"}};

  auto missing = call(tv, "POST", "/api/v2/pins");
  CHECK(missing.status == 400);
  CHECK(missing.body.find("\"status\":400") != std::string::npos);

  auto created = call(tv, "POST", "/api/v2/pins", app);
  REQUIRE(created.status == 201);
  auto doc = parsed(created);
  const int64_t id = doc["id"].GetInt64();
  const std::string code = doc["code"].GetString();
  CHECK(code.size() == 4);
  CHECK(all_of_alphabet(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"));
  CHECK(std::string(doc["product"].GetString()) == "ws-config");
  CHECK(std::string(doc["clientIdentifier"].GetString()) == "app-1");
  CHECK(std::string(doc["qr"].GetString()) == "https://plex.tv/api/v2/pins/qr/" + code);
  CHECK_FALSE(doc["trusted"].GetBool());
  CHECK(doc["expiresIn"].GetInt() == 1800);
  CHECK(doc["location"].IsObject());
  CHECK(std::string(doc["createdAt"].GetString()).ends_with("Z"));
  CHECK(std::string(doc["expiresAt"].GetString()).size() == 20);
  CHECK(doc["authToken"].IsNull());
  CHECK(doc["newRegistration"].IsNull());

  // The client identifier may also come as a query parameter; strong PINs are 25 characters.
  auto strong = call(tv, "POST", "/api/v2/pins?strong=true&X-Plex-Client-Identifier=app-2");
  REQUIRE(strong.status == 201);
  auto sdoc = parsed(strong);
  const std::string strong_code = sdoc["code"].GetString();
  CHECK(strong_code.size() == 25);
  CHECK(all_of_alphabet(strong_code, "abcdefghijklmnopqrstuvwxyz0123456789"));
  CHECK(std::string(sdoc["product"].GetString()).empty());

  const std::string pin_path = "/api/v2/pins/" + std::to_string(id);
  auto poll = call(tv, "GET", pin_path, app);
  REQUIRE(poll.status == 200);
  CHECK(parsed(poll)["authToken"].IsNull());
  CHECK(call(tv, "GET", pin_path).status == 404); // no client id
  CHECK(call(tv, "GET", pin_path, {{"X-Plex-Client-Identifier", "app-2"}}).status ==
        404); // not its PIN
  auto unknown = call(tv, "GET", "/api/v2/pins/42", app);
  CHECK(unknown.status == 404);
  CHECK(unknown.body ==
        R"({"errors":[{"code":1020,"message":"Code not found or expired","status":404}]})");

  // plex.tv/link: the owner by default, else a user by id, name or index.
  CHECK(call(tv, "POST", "/__sim/plextv/link?code=ZZZZZZ").status == 404);
  CHECK(call(tv, "POST", "/__sim/plextv/link").status == 400);
  CHECK(call(tv, "POST", "/__sim/plextv/link?code=" + code + "&user=nobody").status == 404);
  CHECK(call(tv, "POST", "/__sim/plextv/link?code=" + code).status == 204);
  CHECK(std::string(parsed(call(tv, "GET", pin_path, app))["authToken"].GetString()) ==
        "owner-token");
  CHECK(call(tv, "POST", "/__sim/plextv/link?code=" + code + "&user=2002").status == 204);
  CHECK(std::string(parsed(call(tv, "GET", pin_path, app))["authToken"].GetString()) ==
        "bob-token");
  CHECK(call(tv, "POST", "/__sim/plextv/link?code=" + code + "&user=partner").status == 204);
  CHECK(std::string(parsed(call(tv, "GET", pin_path, app))["authToken"].GetString()) ==
        "partner-token");
  CHECK(call(tv, "POST", "/__sim/plextv/link?code=" + code + "&user=3").status == 204);
  CHECK(std::string(parsed(call(tv, "GET", pin_path, app))["authToken"].GetString()) ==
        "bob-token");

  auto listed = parsed(call(tv, "GET", "/__sim/plextv/pins"));
  REQUIRE(listed.Size() == 2);
  CHECK(listed[0]["polls"].GetInt() == 5);
  CHECK(std::string(listed[0]["user"].GetString()) == "2002");
  CHECK(listed[1]["user"].IsNull());

  CHECK(call(tv, "POST", "/__sim/plextv/expire?code=" + code).status == 204);
  CHECK(call(tv, "GET", pin_path, app).status == 404);
  CHECK(call(tv, "POST", "/__sim/plextv/link?code=" + code).status == 404);
  CHECK(call(tv, "POST", "/__sim/plextv/expire?code=" + code).status == 404);
  // The control endpoints are not in the request log; the PIN calls are.
  auto log = parsed(call(tv, "GET", "/__sim/requests"));
  for (const auto& e : log.GetArray()) {
    CHECK(std::string(e["path"].GetString()).starts_with("/api/v2/pins"));
  }
}

TEST_CASE("sim::PlexTv --plextv-autolink", "[simulator][plextv]") {
  PlexTv tv(pin_world(), "http://127.0.0.1:1");
  tv.set_autolink(true);
  const ws::sim::Pairs app{{"X-Plex-Client-Identifier", "app-1"}};
  const auto id = parsed(call(tv, "POST", "/api/v2/pins", app))["id"].GetInt64();
  const std::string pin_path = "/api/v2/pins/" + std::to_string(id);
  CHECK(parsed(call(tv, "GET", pin_path, app))["authToken"].IsNull());
  CHECK(parsed(call(tv, "GET", pin_path, app))["authToken"].IsNull());
  CHECK(std::string(parsed(call(tv, "GET", pin_path, app))["authToken"].GetString()) ==
        "owner-token");
}

TEST_CASE("sim::PlexTv resources list realistic connections", "[simulator][plextv]") {
  PlexTv tv(pin_world(), "http://127.0.0.1:41001");
  auto res = get(tv, "/api/v2/resources?includeHttps=1&includeRelay=1", "owner-token");
  REQUIRE(res.status == 200);
  auto doc = parsed(res);
  REQUIRE(doc.Size() == 1);
  const auto& server = doc[0];
  CHECK(std::string(server["productVersion"].GetString()) == "1.41.3.9314-a0bfb8370");
  CHECK(std::string(server["platform"].GetString()) == "Linux");
  CHECK(std::string(server["publicAddress"].GetString()) == "203.0.113.7");
  CHECK(server["presence"].GetBool());
  CHECK(server["owned"].GetBool());
  CHECK(std::string(server["createdAt"].GetString()).ends_with("Z"));
  CHECK(std::string(server["lastSeenAt"].GetString()).ends_with("Z"));
  CHECK(std::string(server["accessToken"].GetString()) == "owner-token");
  const auto& connections = server["connections"];
  REQUIRE(connections.Size() == 2);
  const auto& local = connections[0];
  CHECK(std::string(local["protocol"].GetString()) == "http");
  CHECK(std::string(local["address"].GetString()) == "127.0.0.1");
  CHECK(local["port"].GetInt() == 41001);
  CHECK(std::string(local["uri"].GetString()) == "http://127.0.0.1:41001");
  CHECK(local["local"].GetBool());
  CHECK_FALSE(local["relay"].GetBool());
  CHECK_FALSE(local["IPv6"].GetBool());
  const auto& remote = connections[1];
  CHECK(std::string(remote["protocol"].GetString()) == "https");
  CHECK(std::string(remote["address"].GetString()) == "203.0.113.7");
  CHECK(remote["port"].GetInt() == 32400);
  CHECK(std::string(remote["uri"].GetString()) ==
        "https://203-0-113-7.0f1e2d3c4b5a69788796a5b4c3d2e1f0.plex.direct:32400");
  CHECK_FALSE(remote["local"].GetBool());

  // A friend sees the server as someone else's.
  auto shared = parsed(get(tv, "/api/v2/resources", "bob-token"));
  CHECK_FALSE(shared[0]["owned"].GetBool());
  CHECK(std::string(shared[0]["sourceTitle"].GetString()) == "owner");
  CHECK(std::string(shared[0]["accessToken"].GetString()) == "bob-token");

  PlexTv v6(pin_world(), "https://[::1]:8443");
  auto doc6 = parsed(get(v6, "/api/v2/resources", "owner-token"));
  const auto& local6 = doc6[0]["connections"][0];
  CHECK(std::string(local6["protocol"].GetString()) == "https");
  CHECK(std::string(local6["address"].GetString()) == "::1");
  CHECK(local6["port"].GetInt() == 8443);
  CHECK(local6["IPv6"].GetBool());
}

TEST_CASE("sim::PlexTv PIN-protected home users", "[simulator][plextv]") {
  PlexTv tv(pin_world(), "http://127.0.0.1:1");
  auto home = parsed(get(tv, "/api/v2/home/users", "owner-token"));
  REQUIRE(home["users"].Size() == 3);
  CHECK_FALSE(home["users"][0]["protected"].GetBool());
  CHECK(home["users"][1]["protected"].GetBool());
  CHECK_FALSE(home["users"][2]["protected"].GetBool());

  constexpr const char* k_invalid =
      R"({"errors":[{"code":1041,"message":"Invalid PIN","status":403}]})";
  auto no_pin = get(tv, "/api/v2/home/users/kid-uuid/switch", "owner-token", "POST");
  CHECK(no_pin.status == 403);
  CHECK(no_pin.body == k_invalid);
  auto wrong = get(tv, "/api/v2/home/users/kid-uuid/switch?pin=1234", "owner-token", "POST");
  CHECK(wrong.status == 403);
  CHECK(wrong.body == k_invalid);
  auto right = get(tv, "/api/v2/home/users/kid-uuid/switch?pin=4321", "owner-token", "POST");
  REQUIRE(right.status == 201);
  CHECK(std::string(parsed(right)["authToken"].GetString()) ==
        PlexTv::switch_token(ws::sim::parse_world(k_pin_world, "w", 0b001).servers[0].users[1]));
  // An unprotected user ignores a PIN.
  CHECK(get(tv, "/api/v2/home/users/partner-uuid/switch?pin=0000", "owner-token", "POST").status ==
        201);
  // The request log hides the PIN.
  auto log = parsed(call(tv, "GET", "/__sim/requests"));
  bool seen = false;
  for (const auto& e : log.GetArray()) {
    const std::string query = e["query"].GetString();
    CHECK(query.find("4321") == std::string::npos);
    seen = seen || query == "pin=REDACTED";
  }
  CHECK(seen);

  CHECK_THROWS_WITH(
      ws::sim::parse_world(
          R"({"servers":{"plex":{"users":[{"name":"o"},{"name":"k","home":true,"pin":"12a4"}]}}})",
          "w", 0b001),
      Catch::Contains("users[1].pin") && Catch::Contains("4 digits"));
  CHECK_THROWS_WITH(
      ws::sim::parse_world(
          R"({"servers":{"plex":{"users":[{"name":"o"},{"name":"k","pin":12345}]}}})", "w", 0b001),
      Catch::Contains("users[1].pin"));
  CHECK_THROWS_WITH(
      ws::sim::parse_world(R"({"servers":{"jellyfin":{"users":[{"name":"a","pin":"1234"}]}}})", "w",
                           0b010),
      Catch::Contains("users[0].pin"));
  CHECK_THROWS_WITH(
      ws::sim::parse_world(
          R"({"servers":{"plex":{"users":[{"name":"o"},{"name":"f","friend":true,"pin":"1234"}]}}})",
          "w", 0b001),
      Catch::Contains("users[1].pin"));
}

TEST_CASE("sim::PlexTv account webhooks", "[simulator][plextv]") {
  PlexTv tv(pin_world(), "http://127.0.0.1:1");
  auto empty = get(tv, "/api/v2/user/webhooks", "owner-token");
  REQUIRE(empty.status == 200);
  CHECK(empty.body == "[]");
  CHECK(get(tv, "/api/v2/user/webhooks", "kid-token").status == 401);
  CHECK(get(tv, "/api/v2/user/webhooks", "nobody").status == 401);

  const ws::sim::Pairs form{{"X-Plex-Token", "owner-token"},
                            {"Content-Type", "application/x-www-form-urlencoded"}};
  auto set = call(tv, "POST", "/api/v2/user/webhooks", form,
                  "urls%5B%5D=http%3A%2F%2F192.168.1.5%3A8686%2Fplex%3Fapikey%3Dx%26a%3Db"
                  "&urls%5B%5D=https%3A%2F%2Fexample.test%2Fhook");
  REQUIRE(set.status == 201);
  CHECK(
      set.body ==
      R"([{"url":"http://192.168.1.5:8686/plex?apikey=x&a=b"},{"url":"https://example.test/hook"}])");
  CHECK(get(tv, "/api/v2/user/webhooks", "owner-token").body == set.body);

  // Unencoded brackets; the whole list is replaced.
  auto again = call(tv, "POST", "/api/v2/user/webhooks", form, "urls[]=http%3A%2F%2Fh%2Fone");
  REQUIRE(again.status == 201);
  CHECK(again.body == R"([{"url":"http://h/one"}])");
  CHECK(get(tv, "/api/v2/user/webhooks", "owner-token").body == again.body);
  CHECK(call(tv, "POST", "/api/v2/user/webhooks",
             {{"X-Plex-Token", "owner-token"}, {"Content-Type", "application/json"}},
             R"({"urls":[]})")
            .status == 400);
  CHECK(call(tv, "POST", "/api/v2/user/webhooks", {{"X-Plex-Token", "kid-token"}}, "urls[]=x")
            .status == 401);
  // An empty form clears the list.
  CHECK(call(tv, "POST", "/api/v2/user/webhooks", form, "urls%5B%5D=").body == "[]");

  std::string no_pass = k_pin_world;
  no_pass.replace(no_pass.find("\"version\""), 0, "\"plex_pass\":false,");
  PlexTv free_account(pin_world(no_pass), "http://127.0.0.1:1");
  constexpr const char* k_required =
      R"({"errors":[{"code":1998,"message":"Plex Pass required","status":403}]})";
  auto refused = get(free_account, "/api/v2/user/webhooks", "owner-token");
  CHECK(refused.status == 403);
  CHECK(refused.body == k_required);
  auto refused_post =
      call(free_account, "POST", "/api/v2/user/webhooks", form, "urls[]=http%3A%2F%2Fh");
  CHECK(refused_post.status == 403);
  CHECK(refused_post.body == k_required);
  CHECK_THROWS_WITH(ws::sim::parse_world(R"({"servers":{"emby":{"plex_pass":false}}})", "w", 0b100),
                    Catch::Contains("plex_pass"));
}
