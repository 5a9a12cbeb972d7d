// SPDX-License-Identifier: MIT
// What a setup tool asks the simulated Jellyfin and Emby: user-name login, the Jellyfin Webhook
// plugin's configuration, Emby's configured webhook notifiers.
#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <cstdint>
#include <memory>
#include <string>

#include "simulator/server.hpp"
#include "simulator/world.hpp"
#include "support/json_body.hpp"

using ws::sim::Kind;
using ws::sim::make_request;
using ws::sim::Pairs;
using ws::sim::Response;
using ws::sim::Server;

using ws::test::parse_json;

namespace {

constexpr const char* k_world = R"({
  "servers":{
    "jellyfin":{"server_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","token":"jkey",
                "users":[{"id":"11111111111111111111111111111111","name":"alice","token":"jalice","password":"secret"},
                         {"id":"22222222222222222222222222222222","name":"bob","token":"jbob","password":"bobpw"}]},
    "emby":{"server_id":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","token":"ekey",
            "users":[{"id":"33333333333333333333333333333333","name":"alice","token":"ealice","password":"secret"},
                     {"id":"44444444444444444444444444444444","name":"bob","token":"ebob"}]}},
  "movies":[
    {"key":"m1","title":"Alpha","year":2001,"ids":{"imdb":"tt0000001"},"servers":["jellyfin","emby"],
     "state":{"jellyfin":{"played":true},"emby":{"played":true}}},
    {"key":"m2","title":"Beta","year":2002,"ids":{"imdb":"tt0000002"},"servers":["jellyfin","emby"],
     "state":{"jellyfin":{"user":"22222222222222222222222222222222","position_ms":600000}}}]})";

constexpr const char* k_alice_jf = "11111111111111111111111111111111";
constexpr const char* k_bob_jf = "22222222222222222222222222222222";
constexpr const char* k_alice_emby = "33333333333333333333333333333333";

constexpr const char* k_client =
    R"(Client="ws-config", Device="test host", DeviceId="dev-1", Version="0.1.0")";

// The test world on Jellyfin and Emby, or another world on its only server.
std::shared_ptr<const ws::sim::World> world(const char* text = k_world, uint8_t servers = 0b110) {
  return std::make_shared<const ws::sim::World>(ws::sim::parse_world(text, "test", servers));
}

Response login(Server& s, const std::string& body,
               Pairs headers = {{"Authorization", std::string("MediaBrowser ") + k_client}},
               const std::string& path = "/Users/AuthenticateByName") {
  headers.emplace_back("Content-Type", "application/json");
  return s.handle(make_request("POST", path, std::move(headers), body));
}

Response get(Server& s, const std::string& target, const std::string& token) {
  return s.handle(make_request("GET", target, {{"X-Emby-Token", token}}));
}

Response post(Server& s, const std::string& target, const std::string& token,
              const std::string& body) {
  return s.handle(make_request(
      "POST", target, {{"X-Emby-Token", token}, {"Content-Type", "application/json"}}, body));
}

bool lower_hex32(const std::string& text) {
  return text.size() == 32 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

} // namespace

TEST_CASE("sim::login_by_name_jellyfin", "[simulator][setup]") {
  Server s(world(), Kind::jellyfin);
  auto r = login(s, R"({"Username":"ALICE","Pw":"secret"})");
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "application/json");
  auto d = parse_json(r.body);
  CHECK(std::string(d["ServerId"].GetString()) == "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  CHECK(std::string(d["User"]["Name"].GetString()) == "alice");
  CHECK(std::string(d["User"]["Id"].GetString()) == k_alice_jf);
  CHECK(std::string(d["User"]["ServerId"].GetString()) == "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  CHECK(d["User"]["HasPassword"].GetBool());
  CHECK(d["User"]["HasConfiguredPassword"].GetBool());
  CHECK(d["User"]["Policy"]["IsAdministrator"].GetBool());
  CHECK_FALSE(d["User"]["Policy"]["IsDisabled"].GetBool());
  const auto& si = d["SessionInfo"];
  CHECK(lower_hex32(si["Id"].GetString()));
  CHECK(std::string(si["UserId"].GetString()) == k_alice_jf);
  CHECK(std::string(si["UserName"].GetString()) == "alice");
  CHECK(std::string(si["Client"].GetString()) == "ws-config");
  CHECK(std::string(si["DeviceName"].GetString()) == "test host");
  CHECK(std::string(si["DeviceId"].GetString()) == "dev-1");
  const std::string token = d["AccessToken"].GetString();
  CHECK(lower_hex32(token));
  CHECK(token != "jalice");

  // Every login makes a new token; all of them keep working.
  r = login(s, R"({"Username":"alice","Pw":"secret"})");
  REQUIRE(r.status == 200);
  const std::string second = parse_json(r.body)["AccessToken"].GetString();
  CHECK(second != token);

  // The token lists alice's items exactly as her own token does, on every route family.
  const std::string listing =
      std::string("/Users/") + k_alice_jf + "/Items?Recursive=true&IncludeItemTypes=Movie";
  const auto own = get(s, listing, "jalice");
  REQUIRE(own.status == 200);
  for (const std::string& t : {token, second}) {
    auto l = get(s, listing, t);
    REQUIRE(l.status == 200);
    CHECK(l.body == own.body);
    auto a = s.handle(
        make_request("GET", "/Items?Recursive=true&IncludeItemTypes=Movie",
                     {{"Authorization", "MediaBrowser Token=\"" + t + "\", " + k_client}}));
    REQUIRE(a.status == 200);
    auto items = parse_json(a.body);
    REQUIRE(items["Items"].Size() == 2);
    CHECK(items["Items"][0]["UserData"]["Played"].GetBool()); // alice's state, from the token alone
    CHECK(get(s, "/System/Info?api_key=" + t, "").status == 200);
  }

  // bob's login token is bob: his own state, and no access to alice's data (not an admin).
  r = login(s, R"({"Username":"bob","Pw":"bobpw"})",
            {{"Authorization", std::string("MediaBrowser Token=\"jalice\", ") + k_client}});
  REQUIRE(r.status == 200);
  d = parse_json(r.body);
  CHECK(std::string(d["User"]["Name"].GetString()) ==
        "bob"); // a Token on this endpoint is still a login
  CHECK_FALSE(d["User"]["Policy"]["IsAdministrator"].GetBool());
  const std::string bob = d["AccessToken"].GetString();
  CHECK(get(s, listing, bob).status == 403);
  auto mine = get(s,
                  std::string("/Users/") + k_bob_jf +
                      "/Items?Recursive=true&IncludeItemTypes=Movie&SortBy=SortName",
                  bob);
  REQUIRE(mine.status == 200);
  auto items = parse_json(mine.body);
  REQUIRE(items["Items"].Size() == 2);
  CHECK(items["Items"][1]["UserData"]["PlaybackPositionTicks"].GetInt64() == 6000000000);

  // Refusals.
  r = login(s, R"({"Username":"alice","Pw":"wrong"})");
  CHECK(r.status == 401);
  CHECK(r.body.empty());
  r = login(s, R"({"Username":"carol","Pw":"secret"})");
  CHECK(r.status == 401);
  CHECK(r.body.empty());
  CHECK(login(s, R"({"Username":"alice"})").status == 401); // no Pw = the empty password
  CHECK(login(s, "").status == 400);
  CHECK(login(s, "{\"Username\":").status == 400);
  CHECK(login(s, "[]").status == 400);
  CHECK(login(s, R"({"Pw":"secret"})").status == 400);
  CHECK(get(s, listing, "0123456789abcdef0123456789abcdef").status == 401);
}

TEST_CASE("sim::login_by_name_emby", "[simulator][setup]") {
  Server s(world(), Kind::emby);
  // Emby's own scheme in X-Emby-Authorization, under the /emby prefix.
  auto r = login(s, R"({"Username":"Alice","Pw":"secret"})",
                 {{"X-Emby-Authorization", std::string("Emby ") + k_client}},
                 "/emby/Users/AuthenticateByName");
  REQUIRE(r.status == 200);
  auto d = parse_json(r.body);
  CHECK(std::string(d["ServerId"].GetString()) == "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
  CHECK(std::string(d["User"]["Id"].GetString()) == k_alice_emby);
  CHECK(std::string(d["SessionInfo"]["DeviceId"].GetString()) == "dev-1");
  const std::string token = d["AccessToken"].GetString();
  CHECK(lower_hex32(token));
  const std::string listing =
      std::string("/emby/Users/") + k_alice_emby + "/Items?Recursive=true&IncludeItemTypes=Movie";
  auto l = get(s, listing, token);
  REQUIRE(l.status == 200);
  CHECK(l.body == get(s, listing, "ealice").body);
  CHECK(parse_json(l.body)["Items"].Size() == 2);

  // Without a password in the world: the empty password.
  r = login(s, R"({"Username":"bob","Pw":""})",
            {{"Authorization", std::string("Emby ") + k_client}});
  REQUIRE(r.status == 200);
  CHECK_FALSE(parse_json(r.body)["User"]["HasPassword"].GetBool());

  r = login(s, R"({"Username":"alice","Pw":"Secret"})");
  CHECK(r.status == 401);
  CHECK(r.body.empty());
  CHECK(login(s, "", {}, "/emby/Users/AuthenticateByName").status == 400);
}

TEST_CASE("sim::login_generated_world_passwords", "[simulator][setup]") {
  ws::sim::GenerateOptions o;
  o.items = 20;
  auto w = std::make_shared<const ws::sim::World>(ws::sim::generate_world(o));
  for (Kind k : {Kind::jellyfin, Kind::emby}) {
    Server s(w, k);
    for (const char* who : {"alice", "bob"}) {
      auto r = login(s, std::string(R"({"Username":")") + who + R"(","Pw":")" + who + R"(-pw"})");
      REQUIRE(r.status == 200);
      auto d = parse_json(r.body);
      CHECK(std::string(d["User"]["Name"].GetString()) == who);
      CHECK(get(s,
                "/Users/" + std::string(d["User"]["Id"].GetString()) +
                    "/Items?Recursive=true&Limit=1",
                d["AccessToken"].GetString())
                .status == 200);
    }
    CHECK(login(s, R"({"Username":"alice","Pw":""})").status == 401);
  }
}

TEST_CASE("sim::jellyfin_webhook_plugin", "[simulator][setup]") {
  Server s(world(), Kind::jellyfin);
  auto r = get(s, "/Plugins", "jkey");
  REQUIRE(r.status == 200);
  CHECK(
      r.body ==
      R"([{"Name":"Webhook","Version":"18.0.0.0","ConfigurationFileName":"Jellyfin.Plugin.Webhook.xml",)"
      R"("Description":"Sends notifications to various services via webhooks.","Id":"71552a5a5c5c4350a2aeebe451a30173",)"
      R"("CanUninstall":true,"HasImage":false,"Status":"Active"}])");
  CHECK(get(s, "/Plugins", "jalice").status == 200); // an administrator's user token
  CHECK(get(s, "/Plugins", "jbob").status == 403);   // administrators only, as Jellyfin
  CHECK(get(s, "/Plugins", "").status == 401);

  const std::string config = "/Plugins/71552a5a5c5c4350a2aeebe451a30173/Configuration";
  const std::string initial =
      R"({"ServerUrl":"","DiscordOptions":[],"GenericOptions":[],"GenericFormOptions":[],"GotifyOptions":[],)"
      R"("PushbulletOptions":[],"PushoverOptions":[],"SlackOptions":[],"SmtpOptions":[],"MqttOptions":[]})";
  r = get(s, config, "jkey");
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(r.body == initial);
  CHECK(get(s, config, "jbob").status == 403);
  CHECK(post(s, config, "jbob", initial).status == 403);
  CHECK(get(s, "/Plugins/00000000000000000000000000000000/Configuration", "jkey").status == 404);
  CHECK(post(s, config, "jkey", "{\"ServerUrl\":").status == 400);

  // Round trip (the id with dashes and in upper case, as a Guid may be written).
  const std::string updated =
      R"({"ServerUrl":"http://jf.local","DiscordOptions":[],"GenericOptions":[{"WebhookName":"watchstate",)"
      R"("WebhookUri":"http://127.0.0.1:9/webhook","NotificationTypes":["UserDataSaved"],"SendAllProperties":true,)"
      R"("Headers":[{"Key":"Content-Type","Value":"application/json"}],"UserFilter":[]}],"GenericFormOptions":[],)"
      R"("GotifyOptions":[],"PushbulletOptions":[],"PushoverOptions":[],"SlackOptions":[],"SmtpOptions":[],"MqttOptions":[]})";
  r = post(s, "/Plugins/71552A5A-5C5C-4350-A2AE-EBE451A30173/Configuration", "jalice", updated);
  CHECK(r.status == 204);
  CHECK(r.body.empty());
  CHECK(get(s, config, "jkey").body == updated);
  CHECK(get(s, "/Plugins/71552a5a-5c5c-4350-a2ae-ebe451a30173/Configuration", "jkey").body ==
        updated);
  // A body with only some options: the others keep their defaults.
  REQUIRE(post(s, config, "jkey", R"({"GenericOptions":[]})").status == 204);
  CHECK(get(s, config, "jkey").body == initial);

  // Emby has neither route.
  Server e(world(), Kind::emby);
  CHECK(get(e, "/Plugins", "ekey").status == 404);

  // Without the plugin.
  Server bare(world(R"({"servers":{"jellyfin":{"token":"k","webhook_plugin":false}}})", 0b010),
              Kind::jellyfin);
  r = get(bare, "/Plugins", "k");
  REQUIRE(r.status == 200);
  CHECK(r.body == "[]");
  CHECK(get(bare, config, "k").status == 404);
  CHECK(post(bare, config, "k", initial).status == 404);
}

TEST_CASE("sim::emby_webhook_notifiers", "[simulator][setup]") {
  Server s(world(), Kind::emby);
  const std::string configured = "/Notifications/Services/Configured";
  auto r = get(s, configured + "?UserId=" + k_alice_emby, "ekey");
  REQUIRE(r.status == 200);
  CHECK(r.body == "[]");
  const std::string notifier =
      R"({"NotifierKey":"webhooknotifications","SetupModuleUrl":"configurationpage?name=webhookeditorjs",)"
      R"("ServiceName":"Webhooks","PluginId":"85a7b1d4-fbda-4e85-a0a2-ac303c9946a4","Enabled":true,"UserIds":[],)"
      R"("DeviceIds":[],"LibraryIds":[],"EventIds":["playback.start","item.markplayed"],"IsSelfNotification":false,)"
      R"("GroupItems":false,"Options":{"EnableMultipartFormData":false,"Url":"http://127.0.0.1:9/webhook"},)"
      R"("FriendlyName":"watchstate"})";
  r = post(s, configured, "ekey", notifier);
  CHECK(r.status == 204);
  CHECK(r.body.empty());
  r = get(s, "/emby" + configured + "?UserId=" + k_alice_emby, "ealice");
  REQUIRE(r.status == 200);
  auto d = parse_json(r.body);
  REQUIRE(d.IsArray());
  REQUIRE(d.Size() == 1);
  const std::string id = d[0]["Id"].GetString();
  CHECK_FALSE(id.empty());
  CHECK(std::string(d[0]["Options"]["Url"].GetString()) == "http://127.0.0.1:9/webhook");
  CHECK(d[0]["EventIds"].Size() == 2);

  // Update by Id (under /emby, by an administrator's user token).
  const std::string body =
      R"({"Id":")" + id +
      R"(","FriendlyName":"renamed","Enabled":false,"NotifierKey":"webhooknotifications"})";
  CHECK(post(s, "/emby" + configured, "ealice", body).status == 204);
  d = parse_json(get(s, configured, "ekey").body);
  REQUIRE(d.Size() == 1);
  CHECK(std::string(d[0]["Id"].GetString()) == id);
  CHECK(std::string(d[0]["FriendlyName"].GetString()) == "renamed");
  CHECK_FALSE(d[0]["Enabled"].GetBool());
  CHECK_FALSE(d[0].HasMember("Options")); // the entry is replaced, not merged

  // An Id that is not stored adds an entry with an Id of its own.
  CHECK(post(s, configured, "ekey", R"({"Id":"nope","FriendlyName":"second"})").status == 204);
  d = parse_json(get(s, configured, "ekey").body);
  REQUIRE(d.Size() == 2);
  CHECK(std::string(d[1]["Id"].GetString()) != "nope");
  CHECK(std::string(d[1]["Id"].GetString()) != id);
  CHECK(std::string(d[1]["FriendlyName"].GetString()) == "second");

  CHECK(get(s, configured, "ebob").status == 403);
  CHECK(post(s, configured, "ebob", notifier).status == 403);
  CHECK(get(s, configured, "").status == 401);
  CHECK(post(s, configured, "ekey", "not json").status == 400);
  CHECK(parse_json(get(s, configured, "ekey").body).Size() == 2);

  // Jellyfin has no such route.
  Server j(world(), Kind::jellyfin);
  CHECK(get(j, configured, "jkey").status == 404);

  // Without Emby Premiere: 403 for everyone.
  Server basic(world(R"({"servers":{"emby":{"token":"k","premiere":false}}})", 0b100), Kind::emby);
  CHECK(get(basic, configured, "k").status == 403);
  CHECK(post(basic, "/emby" + configured, "k", notifier).status == 403);
  CHECK(get(basic, "/System/Info", "k").status == 200);
}

TEST_CASE("sim::setup_world_keys", "[simulator][setup]") {
  auto error_of = [](const std::string& json) -> std::string {
    try {
      (void)ws::sim::parse_world(json, "t.json", 0b110);
    } catch (const ws::sim::WorldError& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK_THAT(error_of(R"({"servers":{"emby":{"webhook_plugin":false}}})"),
             Catch::Contains(
                 "servers.emby.webhook_plugin: only a Jellyfin server has the Webhook plugin"));
  CHECK_THAT(error_of(R"({"servers":{"jellyfin":{"premiere":false}}})"),
             Catch::Contains("servers.jellyfin.premiere: only an Emby server has Emby Premiere"));
  CHECK_THAT(error_of(R"({"servers":{"jellyfin":{"webhook_plugin":"no"}}})"),
             Catch::Contains("servers.jellyfin.webhook_plugin"));
  const auto w = ws::sim::parse_world(R"({"servers":{"jellyfin":{},"emby":{}}})", "t.json", 0b110);
  CHECK(w.servers[ws::sim::idx(Kind::jellyfin)].webhook_plugin);
  CHECK(w.servers[ws::sim::idx(Kind::emby)].premiere);
  // World files: the empty password unless one is given.
  CHECK(w.servers[ws::sim::idx(Kind::jellyfin)].users.at(0).password.empty());
}
