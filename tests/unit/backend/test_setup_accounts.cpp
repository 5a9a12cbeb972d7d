// SPDX-License-Identifier: MIT
// The setup tool's server calls: plex.tv PIN sign-in, account servers and webhooks; Jellyfin /
// Emby login and webhook registration.
#include "support/fake_http_client.hpp"

#include <watchstate/backend/mediabrowser/mediabrowser_account.hpp>
#include <watchstate/backend/plex/plex_account.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/redact.hpp>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

using namespace ws::backend;
using ws::test::FakeHttpClient;
using ws::test::json_response;
using ws::test::text_response;

namespace {

constexpr const char* k_pin =
    R"({"id":564964751,"code":"K7QX","product":"watchstate","trusted":false,"expiresIn":1800,"authToken":null})";
constexpr const char* k_pin_claimed =
    R"({"id":564964751,"code":"K7QX","expiresIn":1700,"authToken":"plex-account-token-123"})";

} // namespace

TEST_CASE("plex sign-in: a PIN is requested, polled until entered, and expires", "[setup][plex]") {
  auto fake = std::make_unique<FakeHttpClient>();
  auto state = fake->recorder();
  fake->on(ws::http::Method::post, "/api/v2/pins", json_response(k_pin, 201));
  fake->on(ws::http::Method::get, "/api/v2/pins/564964751", json_response(k_pin), 1);
  fake->on(ws::http::Method::get, "/api/v2/pins/564964751", json_response(k_pin_claimed), 1);
  fake->on(ws::http::Method::get, "/api/v2/pins/564964751",
           json_response(R"({"errors":[{"code":1020}]})", 404));
  plex::PlexAccount account("http://tv.test/", std::move(fake));

  const auto pin = account.request_pin();
  CHECK(pin.id == "564964751");
  CHECK(pin.code == "K7QX");
  CHECK(pin.expires_in == 1800);
  const auto& post = state->requests.front();
  CHECK(post.url == "http://tv.test/api/v2/pins");
  CHECK(ws::test::header_of(post.headers, "X-Plex-Client-Identifier").has_value());
  CHECK_FALSE(ws::test::header_of(post.headers, "X-Plex-Token").has_value());

  CHECK_FALSE(account.check_pin(pin).has_value()); // not entered yet
  const auto token = account.check_pin(pin);
  REQUIRE(token.has_value());
  CHECK(*token == "plex-account-token-123");
  CHECK(ws::redact("t=plex-account-token-123") == "t=<redacted>"); // registered as a secret
  try {
    (void)account.check_pin(pin);
    FAIL("an expired PIN must throw");
  } catch (const ws::Error& e) {
    CHECK(e.code() == ws::Errc::no_perm);
    CHECK(std::string(e.what()).find("expired") != std::string::npos);
  }
}

TEST_CASE("plex sign-in: a malformed PIN answer is a protocol error", "[setup][plex]") {
  std::string token;
  CHECK_THROWS_AS(plex::parse_pin("not json", "sign-in PIN", token), ws::Error);
  CHECK_THROWS_AS(plex::parse_pin(R"({"id":1})", "sign-in PIN", token), ws::Error);
}

TEST_CASE("plex account servers: servers only, connections local first, relays last",
          "[setup][plex]") {
  const auto servers = plex::parse_account_servers(
      R"([{"name":"TV","provides":"player","clientIdentifier":"p1"},
          {"name":"Home","provides":"server","clientIdentifier":"m1","productVersion":"1.41.3",
           "owned":true,"accessToken":"srv-token-9",
           "connections":[{"uri":"https://relay.test:8443","local":false,"relay":true},
                          {"uri":"https://203-0-113-7.x.plex.direct:32400","local":false,"relay":false},
                          {"uri":"http://192.168.1.10:32400","local":true,"relay":false}]},
          {"name":"Friend","provides":"server","clientIdentifier":"m2","owned":false}])",
      "server list");
  REQUIRE(servers.size() == 2);
  CHECK(servers[0].name == "Home");
  CHECK(servers[0].machine_id == "m1");
  CHECK(servers[0].version == "1.41.3");
  CHECK(servers[0].owned);
  REQUIRE(servers[0].connections.size() == 3);
  CHECK(servers[0].connections[0].uri == "http://192.168.1.10:32400");
  CHECK(servers[0].connections[2].relay);
  CHECK_FALSE(servers[1].owned);
}

TEST_CASE("plex account webhooks: list, and the whole list posted as a form", "[setup][plex]") {
  auto fake = std::make_unique<FakeHttpClient>();
  auto state = fake->recorder();
  fake->on_get("/api/v2/user/webhooks", R"([{"url":"http://other.test/hook"}])");
  fake->on(ws::http::Method::post, "/api/v2/user/webhooks", json_response("[]", 201));
  plex::PlexAccount account("http://tv.test", std::move(fake));
  const auto urls = account.webhooks("owner-token");
  REQUIRE(urls == std::vector<std::string>{"http://other.test/hook"});
  account.set_webhooks("owner-token",
                       {"http://other.test/hook", "http://nas:8686/webhook?apikey=k y"});
  const auto posts = state->matching(ws::http::Method::post, "/api/v2/user/webhooks");
  REQUIRE(posts.size() == 1);
  CHECK(posts[0].body ==
        "urls%5B%5D=http%3A%2F%2Fother.test%2Fhook&urls%5B%5D=http%3A%2F%2Fnas%3A8686"
        "%2Fwebhook%3Fapikey%3Dk%20y");
  CHECK(ws::test::header_of(posts[0].headers, "Content-Type")
            ->starts_with("application/x-www-form-urlencoded"));
}

TEST_CASE("plex account webhooks: refused without Plex Pass", "[setup][plex]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on(ws::http::Method::get, "/api/v2/user/webhooks",
           json_response(R"({"errors":[{"code":1998}]})", 403));
  plex::PlexAccount account("http://tv.test", std::move(fake));
  try {
    (void)account.webhooks("owner-token");
    FAIL("403 must throw");
  } catch (const ws::Error& e) {
    CHECK(e.code() == ws::Errc::no_perm);
  }
}

TEST_CASE("mediabrowser login: user name and password to a token and a user id",
          "[setup][mediabrowser]") {
  for (const auto type : {BackendType::jellyfin, BackendType::emby}) {
    auto fake = std::make_unique<FakeHttpClient>();
    auto state = fake->recorder();
    fake->on_call(
        ws::http::Method::post, "/Users/AuthenticateByName", {},
        [](const ws::http::Request& request) {
          ws::http::Outcome outcome;
          rapidjson::Document body;
          body.Parse(request.body.data(), request.body.size());
          const bool right = !body.HasParseError() &&
                             std::string(body["Username"].GetString()) == "Alice \"A\"" &&
                             std::string(body["Pw"].GetString()) == "s3cr\\et";
          outcome.response =
              right
                  ? json_response(
                        R"({"User":{"Name":"Alice","Id":"5e1f0c2d8a7b4e6f9a0b1c2d3e4f5a6b","Policy":{"IsAdministrator":true}},)"
                        R"("AccessToken":"0123456789abcdef0123456789abcdef","ServerId":"srv1"})")
                  : text_response(401);
          return outcome;
        });
    mediabrowser::MediaBrowserAccount server("jf", type, "http://jf.test/", std::move(fake));
    const auto login = server.login("Alice \"A\"", "s3cr\\et");
    CHECK(login.user_id == "5e1f0c2d8a7b4e6f9a0b1c2d3e4f5a6b");
    CHECK(login.user_name == "Alice");
    CHECK(login.admin);
    CHECK(login.server_id == "srv1");
    CHECK(login.access_token == "0123456789abcdef0123456789abcdef");
    const auto& request = state->requests.front();
    CHECK(request.url == "http://jf.test/Users/AuthenticateByName");
    const auto auth = ws::test::header_of(request.headers, "Authorization");
    REQUIRE(auth.has_value());
    CHECK(auth->starts_with("MediaBrowser Client=\"watchstate\""));
    CHECK(auth->find("Token=") == std::string::npos);
    CHECK(ws::test::header_of(request.headers, "X-Emby-Authorization").has_value() ==
          (type == BackendType::emby));
    try {
      (void)server.login("Alice", "wrong");
      FAIL("a refused password must throw");
    } catch (const ws::Error& e) {
      CHECK(e.code() == ws::Errc::no_perm);
      CHECK(std::string(e.what()).find("wrong") == std::string::npos);
    }
  }
}

TEST_CASE("jellyfin webhook: added to the plugin's generic destinations once, others kept",
          "[setup][mediabrowser]") {
  auto stored = std::make_shared<std::string>(
      R"({"ServerUrl":"","GenericOptions":[{"WebhookName":"other","WebhookUri":"http://x.test/h"}],"DiscordOptions":[]})");
  auto make = [stored](bool with_plugin) {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get("/Plugins", with_plugin
                                 ? R"([{"Name":"Webhook","Id":"71552a5a5c5c4350a2aeebe451a30173"}])"
                                 : R"([{"Name":"Other","Id":"1"}])");
    fake->on_call(ws::http::Method::get, "/Plugins/71552a5a5c5c4350a2aeebe451a30173/Configuration",
                  {}, [stored](const ws::http::Request&) {
                    ws::http::Outcome outcome;
                    outcome.response = json_response(*stored);
                    return outcome;
                  });
    fake->on_call(ws::http::Method::post, "/Plugins/71552a5a5c5c4350a2aeebe451a30173/Configuration",
                  {}, [stored](const ws::http::Request& request) {
                    *stored = request.body;
                    ws::http::Outcome outcome;
                    outcome.response = text_response(204);
                    return outcome;
                  });
    return fake;
  };
  const std::string url = "http://nas.test:8686/webhook?apikey=key1";
  using mediabrowser::WebhookChange;
  mediabrowser::MediaBrowserAccount first("jf", BackendType::jellyfin, "http://jf.test",
                                          make(true));
  CHECK(first.register_webhook("admin", url, {"u1"}, true) == WebhookChange::added); // dry run
  CHECK(stored->find("nas.test") == std::string::npos);
  CHECK(first.register_webhook("admin", url, {"u1"}, false) == WebhookChange::added);
  rapidjson::Document doc;
  doc.Parse(stored->data(), stored->size());
  REQUIRE(doc["GenericOptions"].Size() == 2);
  const auto& entry = doc["GenericOptions"][1];
  CHECK(std::string(entry["WebhookUri"].GetString()) == url);
  CHECK(entry["SendAllProperties"].GetBool());
  CHECK(std::string(entry["UserFilter"][0].GetString()) == "u1");
  CHECK(doc.HasMember("DiscordOptions")); // the rest of the configuration kept

  mediabrowser::MediaBrowserAccount again("jf", BackendType::jellyfin, "http://jf.test",
                                          make(true));
  CHECK(again.register_webhook("admin", url, {"u1"}, false) == WebhookChange::unchanged);
  // A new key: the same receiver, updated in place.
  mediabrowser::MediaBrowserAccount rekey("jf", BackendType::jellyfin, "http://jf.test",
                                          make(true));
  CHECK(rekey.register_webhook("admin", "http://nas.test:8686/webhook?apikey=key2", {"u1"},
                               false) == WebhookChange::updated);
  doc.Parse(stored->data(), stored->size());
  CHECK(doc["GenericOptions"].Size() == 2);

  mediabrowser::MediaBrowserAccount none("jf", BackendType::jellyfin, "http://jf.test",
                                         make(false));
  CHECK(none.register_webhook("admin", url, {}, false) == WebhookChange::unsupported);
}

TEST_CASE("emby webhook: a notifier added, then updated by its id; 403 means no Premiere",
          "[setup][mediabrowser]") {
  auto list = std::make_shared<std::string>("[]");
  auto posted = std::make_shared<std::vector<std::string>>();
  auto make = [list, posted](long status) {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_call(ws::http::Method::get, "/Notifications/Services/Configured", {},
                  [list, status](const ws::http::Request&) {
                    ws::http::Outcome outcome;
                    outcome.response = status == 200 ? json_response(*list) : text_response(status);
                    return outcome;
                  });
    fake->on_call(ws::http::Method::post, "/Notifications/Services/Configured", {},
                  [posted](const ws::http::Request& request) {
                    posted->push_back(request.body);
                    ws::http::Outcome outcome;
                    outcome.response = text_response(204);
                    return outcome;
                  });
    return fake;
  };
  using mediabrowser::WebhookChange;
  const std::string url = "http://nas.test:8686/webhook?apikey=key1";
  mediabrowser::MediaBrowserAccount emby("emby", BackendType::emby, "http://emby.test", make(200));
  CHECK(emby.register_webhook("admin", url, {"e1"}, false) == WebhookChange::added);
  REQUIRE(posted->size() == 1);
  rapidjson::Document doc;
  doc.Parse(posted->back().data(), posted->back().size());
  CHECK(std::string(doc["Options"]["Url"].GetString()) == url);
  CHECK_FALSE(doc["Options"]["EnableMultipartFormData"].GetBool());
  CHECK_FALSE(doc.HasMember("Id"));
  // The server stored it under an id.
  *list = R"([{"Id":"7",)" + posted->back().substr(1) + "]";
  mediabrowser::MediaBrowserAccount same("emby", BackendType::emby, "http://emby.test", make(200));
  CHECK(same.register_webhook("admin", url, {"e1"}, false) == WebhookChange::unchanged);
  CHECK(same.register_webhook("admin", url, {"e1", "e2"}, false) == WebhookChange::updated);
  doc.Parse(posted->back().data(), posted->back().size());
  CHECK(std::string(doc["Id"].GetString()) == "7");

  mediabrowser::MediaBrowserAccount basic("emby", BackendType::emby, "http://emby.test", make(403));
  CHECK(basic.register_webhook("admin", url, {}, false) == WebhookChange::unsupported);
}

TEST_CASE("same_receiver ignores the query (the key) and a trailing slash", "[setup]") {
  CHECK(
      mediabrowser::same_receiver("http://NAS:8686/webhook?apikey=a", "http://nas:8686/webhook/"));
  CHECK_FALSE(mediabrowser::same_receiver("http://nas:8686/webhook", "http://nas:8687/webhook"));
}
