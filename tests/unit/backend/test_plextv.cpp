// SPDX-License-Identifier: MIT
#include <watchstate/backend/plex/plextv.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/redact.hpp>

#include "support/fake_http_client.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

using namespace ws::backend::plex;
using ws::test::FakeHttpClient;
using ws::test::json_response;
using ws::test::text_response;

namespace {

constexpr const char* k_machine = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c";

constexpr const char* k_home_users =
    R"({"id":1,"name":"Home","users":[)"
    R"({"id":11,"uuid":"aaaa1111","title":"owner","username":"owner","friendlyName":"","admin":true,"restricted":false},)"
    R"({"id":1001,"uuid":"bbbb2222","title":"Kid","username":"","friendlyName":"Kiddo","admin":false,"restricted":true},)"
    R"({"uuid":"no-id"}]})";

constexpr const char* k_shared = R"(<?xml version="1.0" encoding="UTF-8"?>
<MediaContainer size="2" machineIdentifier="0f1e">
  <SharedServer id="9" username="Bob &amp; Co" userID="2002" accessToken='friend-token-2002' owned="0">
    <Section id="1" key="1" title="Movies" type="movie" shared="1"/>
  </SharedServer>
  <SharedServer accessToken="friend-token-3003" title="a > b" userID="3003"/>
  <SharedServers/>
  <SharedServer username="no id"/>
</MediaContainer>)";

std::string resources(const std::string& machine, const std::string& token) {
  return R"([{"name":"Other","provides":"client","clientIdentifier":")" + machine +
         R"(","accessToken":"client-token-xxxx"},{"name":"Srv","provides":"server","clientIdentifier":")" +
         machine + R"(","accessToken":")" + token + R"("}])";
}

} // namespace

TEST_CASE("plex::parse_home_users", "[plex][plextv]") {
  const auto users = parse_home_users(k_home_users, "p");
  REQUIRE(users.size() == 2);
  CHECK(users[0].id == "11");
  CHECK(users[0].admin);
  CHECK(users[0].name == "owner");
  CHECK(users[1].id == "1001");
  CHECK(users[1].uuid == "bbbb2222");
  CHECK(users[1].name == "Kiddo");
  CHECK(users[1].managed);
  CHECK(users[1].home);
  CHECK(users[1].token_available);
  CHECK_THROWS_AS(parse_home_users("{\"nope\":1}", "p"), ws::Error);
  CHECK_THROWS_AS(parse_home_users("<html>", "p"), ws::Error);
}

TEST_CASE("plex::parse_switch_token and parse_resource_token", "[plex][plextv]") {
  CHECK(parse_switch_token(R"({"id":1,"authToken":"temp-token-1234"})", "p") == "temp-token-1234");
  CHECK(ws::redact("x temp-token-1234 y") == "x <redacted> y");
  CHECK_THROWS_AS(parse_switch_token(R"({"id":1})", "p"), ws::Error);
  CHECK(parse_resource_token(resources(k_machine, "server-token-1"), k_machine, "p") ==
        std::optional<std::string>("server-token-1"));
  CHECK_FALSE(parse_resource_token(resources("other", "server-token-1"), k_machine, "p"));
  CHECK_THROWS_AS(parse_resource_token("{}", k_machine, "p"), ws::Error);
}

TEST_CASE("plex::parse_shared_servers", "[plex][plextv]") {
  const auto servers = parse_shared_servers(k_shared);
  REQUIRE(servers.size() == 2);
  CHECK(servers[0].user_id == "2002");
  CHECK(servers[0].username == "Bob & Co");
  CHECK(servers[0].access_token == "friend-token-2002");
  CHECK(servers[1].user_id == "3003");
  CHECK(servers[1].access_token == "friend-token-3003");
  CHECK(parse_shared_servers("").empty());
  CHECK(parse_shared_servers("<SharedServer userID=\"1\" accessToken=\"unterminated").empty());
  CHECK(ws::redact("friend-token-2002") == "<redacted>");
}

TEST_CASE("plex::PlexTv::user_token", "[plex][plextv]") {
  auto fake = std::make_unique<FakeHttpClient>();
  auto recorded = fake->recorder();
  fake->on(ws::http::Method::get, "/api/v2/home/users", json_response(k_home_users));
  fake->on(ws::http::Method::post, "/api/v2/home/users/bbbb2222/switch",
           json_response(R"({"authToken":"switched-token-1001"})", 201));
  fake->on_call(ws::http::Method::get, "/api/v2/resources", {"includeHttps=1"},
                [](const ws::http::Request& r) {
                  ws::http::Outcome o;
                  const bool switched = ws::test::header_of(r.headers, "X-Plex-Token") ==
                                        std::optional<std::string>("switched-token-1001");
                  o.response = switched ? json_response(resources(k_machine, "kid-server-token"))
                                        : text_response(401);
                  return o;
                });
  fake->on(ws::http::Method::get, std::string("/api/servers/") + k_machine + "/shared_servers",
           text_response(200, k_shared));
  PlexTv tv("kid/plex", "http://tv.test/", "admin-token-0000", std::move(fake));

  CHECK(tv.user_token("1001", k_machine) == "kid-server-token");
  CHECK(recorded->count(ws::http::Method::post, "/api/v2/home/users/bbbb2222/switch") == 1);
  const auto& first = recorded->requests.front();
  CHECK(first.url == "http://tv.test/api/v2/home/users");
  CHECK(ws::test::header_of(first.headers, "X-Plex-Token") ==
        std::optional<std::string>("admin-token-0000"));
  CHECK(tv.user_token("2002", k_machine) == "friend-token-2002");
  CHECK(tv.user_token("11", k_machine) == "admin-token-0000");
  CHECK_THROWS_WITH(tv.user_token("4242", k_machine),
                    Catch::Contains("kid/plex") && Catch::Contains("4242"));
  try {
    (void)tv.user_token("4242", k_machine);
  } catch (const ws::Error& e) {
    CHECK(e.code() == ws::Errc::config);
  }
  const auto users = tv.users(k_machine);
  REQUIRE(users.size() == 4);
  CHECK(users[2].friend_user);
  CHECK(users[2].name == "Bob & Co");
}

TEST_CASE("plex::PlexTv refused admin token", "[plex][plextv]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on(ws::http::Method::get, "/api/v2/home/users", text_response(401));
  PlexTv tv("kid/plex", "http://tv.test", "bad-admin-token", std::move(fake));
  try {
    (void)tv.user_token("1001", k_machine);
    FAIL("no error");
  } catch (const ws::Error& e) {
    CHECK(e.code() == ws::Errc::no_perm);
    CHECK_THAT(std::string(e.what()), Catch::StartsWith("kid/plex: plex.tv refused"));
  }
}

TEST_CASE("plex::PlexTv::user_token of a PIN-protected home user", "[plex][plextv]") {
  constexpr const char* k_protected =
      R"({"id":1,"name":"Home","users":[)"
      R"({"id":11,"uuid":"aaaa1111","title":"owner","admin":true,"restricted":false,"protected":false},)"
      R"({"id":1001,"uuid":"bbbb2222","title":"kid","friendlyName":"kid","admin":false,"restricted":true,"protected":true},)"
      R"({"id":1002,"uuid":"cccc3333","title":"partner","admin":false,"restricted":false,"protected":false}]})";
  constexpr const char* k_invalid =
      R"({"errors":[{"code":1041,"message":"Invalid PIN","status":403}]})";
  auto fake = std::make_unique<FakeHttpClient>();
  auto recorded = fake->recorder();
  fake->on(ws::http::Method::get, "/api/v2/home/users", json_response(k_protected));
  fake->on(ws::http::Method::post, "/api/v2/home/users/bbbb2222/switch", {"pin=3690"},
           json_response(R"({"authToken":"switched-token-1001"})", 201));
  fake->on(ws::http::Method::post, "/api/v2/home/users/bbbb2222/switch",
           json_response(k_invalid, 403));
  fake->on(ws::http::Method::post, "/api/v2/home/users/cccc3333/switch",
           json_response(k_invalid, 403));
  fake->on(ws::http::Method::get, "/api/v2/resources", {"includeHttps=1"},
           json_response(resources(k_machine, "kid-server-token")));
  PlexTv tv("kid/home_plex", "http://tv.test", "admin-token-0000", std::move(fake));

  CHECK(parse_home_users(k_protected, "p")[1].protected_user);
  CHECK_FALSE(parse_home_users(k_protected, "p")[2].protected_user);

  HomeUserPin pin{"3690", "identities.kid.home_plex", "pin"};
  CHECK(tv.user_token("1001", k_machine, pin) == "kid-server-token");
  const auto switches = std::count_if(
      recorded->requests.begin(), recorded->requests.end(),
      [](const ws::http::Request& r) { return r.url.find("/switch") != std::string::npos; });
  CHECK(switches == 1);
  CHECK(recorded->requests[1].url == "http://tv.test/api/v2/home/users/bbbb2222/switch?pin=3690");
  CHECK(recorded->requests[1].method == ws::http::Method::post);
  CHECK(ws::redact(recorded->requests[1].url).find("3690") == std::string::npos);

  auto refused = [&tv](std::string_view user, const HomeUserPin& with) {
    try {
      (void)tv.user_token(user, k_machine, with);
    } catch (const ws::Error& e) {
      CHECK(e.code() == ws::Errc::no_perm);
      return std::string(e.what());
    }
    FAIL("no error");
    return std::string();
  };
  const std::string wrong = refused("1001", HomeUserPin{"5207", "identities.kid.home_plex", "pin"});
  CHECK(wrong == "kid/home_plex: plex.tv refused the PIN of Plex user 'kid' "
                 "(check identities.kid.home_plex.pin)");
  CHECK(refused("1001", HomeUserPin{"5207", "identities.kid.home_plex", "pin_file"})
            .ends_with("(check identities.kid.home_plex.pin_file)"));
  CHECK(refused("1001", HomeUserPin{"", "identities.kid.home_plex", "pin"}) ==
        "kid/home_plex: Plex user 'kid' is PIN-protected: set pin or pin_file in "
        "identities.kid.home_plex");
  CHECK(refused("1001", HomeUserPin{}) ==
        "kid/home_plex: Plex user 'kid' is PIN-protected: set pin or pin_file");
  // Not protected, no PIN: plex.tv refusing the switch is about the token, as before.
  CHECK_THAT(refused("1002", HomeUserPin{}),
             Catch::StartsWith("kid/home_plex: plex.tv refused the token"));
  CHECK(wrong.find("5207") == std::string::npos);
}

TEST_CASE("plex::TokenCache", "[plex][plextv]") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("ws-token-cache-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const TokenCache cache(dir / "plex-tokens.json");
  CHECK_FALSE(cache.get("plex", "1001", "m"));
  cache.put("plex", "1001", "m", "cached-token-1");
  cache.put("plex", "2002", "m", "cached-token-2");
  cache.put("plex", "1001", "m", "cached-token-3");
  CHECK(cache.get("plex", "1001", "m") == std::optional<std::string>("cached-token-3"));
  CHECK(cache.get("plex", "2002", "m") == std::optional<std::string>("cached-token-2"));
  CHECK_FALSE(cache.get("plex", "1001", "other-server"));
  struct stat st {};
  REQUIRE(::stat(cache.file().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  cache.erase("plex", "1001", "m");
  CHECK_FALSE(cache.get("plex", "1001", "m"));
  { std::ofstream(cache.file()) << "{ damaged"; }
  CHECK_FALSE(cache.get("plex", "2002", "m"));
  std::filesystem::remove_all(dir);
}
