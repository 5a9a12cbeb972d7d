// SPDX-License-Identifier: MIT
#include <watchstate/backend/webhook_payload.hpp>

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace ws::backend;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(WS_TEST_FIXTURES) + "/" + name, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

WebhookRequest json_body(std::string body, std::string user_agent = {}) {
  WebhookRequest r;
  r.content_type = "application/json";
  r.user_agent = std::move(user_agent);
  r.body = std::move(body);
  return r;
}

} // namespace

TEST_CASE("backend::parse_webhook Plex", "[webhook]") {
  WebhookRequest r;
  r.user_agent = "PlexMediaServer/1.41.3.9314";
  r.content_type = "multipart/form-data; boundary=x";
  r.form["payload"] = R"({"event":"media.scrobble","Account":{"id":1},"Server":{"uuid":"abc"},
      "Metadata":{"ratingKey":"42","type":"episode","grandparentTitle":"Show","title":"Pilot"}})";
  auto p = parse_webhook(r);
  REQUIRE(p.status == ParseStatus::accepted);
  CHECK(p.event.source == WebhookSource::plex);
  CHECK(p.event.server_id == "abc");
  CHECK(p.event.user_id == "1"); // a number in the payload
  CHECK(p.event.item_id == "42");
  CHECK(p.event.item_type == "episode");
  CHECK(p.event.title == "Show");
  CHECK_FALSE(p.event.library_event);

  SECTION("Plex's own media.play example (a music track) is acknowledged and ignored") {
    r.form["payload"] = fixture("plex/telegraf_plex_webhook_media_play.json");
    p = parse_webhook(r);
    CHECK(p.status == ParseStatus::ignored);
    CHECK(p.event.server_id == "54664a3d8acc39983675640ec9ce00b70af9cc36");
  }
  SECTION("library.new needs no user") {
    r.form["payload"] = R"({"event":"library.new","Server":{"uuid":"abc"},
        "Metadata":{"ratingKey":"7","type":"movie"}})";
    p = parse_webhook(r);
    REQUIRE(p.status == ParseStatus::accepted);
    CHECK(p.event.library_event);
  }
  SECTION("a play event without a user is invalid") {
    r.form["payload"] = R"({"event":"media.stop","Server":{"uuid":"abc"},
        "Metadata":{"ratingKey":"7","type":"movie"}})";
    p = parse_webhook(r);
    CHECK(p.status == ParseStatus::invalid);
    CHECK(p.reason.find("user") != std::string::npos);
  }
}

TEST_CASE("backend::parse_webhook Tautulli", "[webhook]") {
  auto p = parse_webhook(json_body(
      R"({"event":"tautulli.watched","Account":{"id":"1"},"Server":{"uuid":"abc"},
          "Metadata":{"ratingKey":"9","type":"movie"}})",
      "Tautulli/2.14.2"));
  REQUIRE(p.status == ParseStatus::accepted);
  CHECK(p.event.source == WebhookSource::tautulli);
  CHECK(p.event.item_id == "9");
}

TEST_CASE("backend::parse_webhook Jellyfin", "[webhook]") {
  const std::string body =
      R"({"ServerId":"8f5d3e2a1b0c49d7a6e5f4d3c2b1a098","NotificationType":"UserDataSaved",
          "ItemId":"4b7c2e9a0d1f43c8a5e6b7c8d9e0f1a2","ItemType":"Episode","SeriesName":"Example Show",
          "Name":"Pilot","Played":true,"UserId":"5e0c1d2b3a4f4e6d8c7b6a5f4e3d2c1b"})";
  SECTION("as text/plain, the plugin's default") {
    auto r = json_body(body, "Jellyfin-Server/10.10.7");
    r.content_type = "text/plain";
    const auto p = parse_webhook(r);
    REQUIRE(p.status == ParseStatus::accepted);
    CHECK(p.event.source == WebhookSource::jellyfin);
    CHECK(p.event.title == "Example Show");
    CHECK(p.event.user_id == "5e0c1d2b3a4f4e6d8c7b6a5f4e3d2c1b");
  }
  SECTION("recognised without its User-Agent") {
    CHECK(parse_webhook(json_body(body)).status == ParseStatus::accepted);
  }
  SECTION("WatchState's fixture has no server id: refused with that reason") {
    const auto p = parse_webhook(json_body(
        R"({"NotificationType":"PlaybackStop","ItemType":"Movie","ItemId":"item-1","Played":true})"));
    CHECK(p.status == ParseStatus::invalid);
    CHECK(p.reason.find("server id") != std::string::npos);
  }
  SECTION("events that change no play state") {
    auto ignored = body;
    ignored.replace(ignored.find("UserDataSaved"), 13, "PlaybackStart");
    CHECK(parse_webhook(json_body(ignored)).status == ParseStatus::ignored);
  }
}

TEST_CASE("backend::parse_webhook Emby", "[webhook]") {
  const std::string body = R"({"Event":"item.markunplayed","User":{"Id":"u1"},
      "Item":{"Id":"812345","Type":"Movie","Name":"Example"},"Server":{"Id":"s1","Version":"4.8.11.0"}})";
  SECTION("JSON body") {
    const auto p = parse_webhook(json_body(body));
    REQUIRE(p.status == ParseStatus::accepted);
    CHECK(p.event.source == WebhookSource::emby);
    CHECK(p.event.event == "item.markunplayed");
  }
  SECTION("multipart with the JSON in `data` (Emby 4.8)") {
    WebhookRequest r;
    r.form["data"] = body;
    CHECK(parse_webhook(r).status == ParseStatus::accepted);
  }
  SECTION("the settings page's test") {
    auto test = body;
    test.replace(test.find("item.markunplayed"), 17, "system.notificationtest");
    CHECK(parse_webhook(json_body(test)).status == ParseStatus::ignored);
  }
}

TEST_CASE("backend::parse_webhook hostile input", "[webhook]") {
  for (const char* body : {"", "{", "[]", "null", "\"x\"", "{\"Event\":1,\"Server\":{}}",
                           "{\"NotificationType\":[],\"ServerId\":{}}",
                           "{\"event\":\"media.scrobble\",\"Server\":[],\"Metadata\":\"x\"}"}) {
    const auto p = parse_webhook(json_body(body));
    CHECK(p.status != ParseStatus::accepted);
    CHECK_FALSE(p.reason.empty());
  }
  WebhookRequest plex;
  plex.form["payload"] = "{\"event\":\"media.scrobble\",\"Server\":[],\"Metadata\":\"x\"}";
  plex.user_agent = "PlexMediaServer/1";
  CHECK(parse_webhook(plex).status == ParseStatus::invalid);
}
