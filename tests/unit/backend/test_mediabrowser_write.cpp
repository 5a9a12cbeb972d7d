// SPDX-License-Identifier: MIT
#include <watchstate/backend/backend.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/time.hpp>

#include "support/fake_http_client.hpp"

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <string>

using ws::Errc;
using ws::backend::WriteAction;
using ws::backend::WriteRequest;
using ws::http::Method;
using ws::model::BackendType;
using ws::test::FakeHttpClient;
using ws::test::header_of;
using ws::test::json_response;
using ws::test::query_param;
using ws::test::text_response;

namespace {

constexpr const char* k_token = "mb-write-secret-321";
constexpr const char* k_user = "4b7c2e9a-0d1f-43c8-a5e6-b7c8d9e0f1a2";
constexpr const char* k_user_path = "/Users/4b7c2e9a-0d1f-43c8-a5e6-b7c8d9e0f1a2";
// 2024-05-01T10:00:00Z
constexpr ws::UnixTime k_played_at = 1714557600;

struct Harness {
  std::shared_ptr<const FakeHttpClient::State> recorded;
  std::unique_ptr<ws::backend::Backend> backend;
};

Harness make(BackendType type, std::unique_ptr<FakeHttpClient> fake) {
  ws::backend::Connection c;
  c.name = type == BackendType::emby ? "emby_home" : "jelly_home";
  c.type = type;
  c.url = "http://127.0.0.1:8096";
  c.token = k_token;
  c.user = k_user;
  auto recorded = fake->recorder();
  return Harness{recorded, ws::backend::make_backend(c, std::move(fake))};
}

WriteRequest request(std::string id, WriteAction action, ws::UnixTime played_at = k_played_at,
                     std::int64_t position_ms = 0) {
  WriteRequest r;
  r.remote_id = std::move(id);
  r.action = action;
  r.played_at = played_at;
  r.position_ms = position_ms;
  r.duration_ms = 7200000;
  return r;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string played_path(const std::string& id) {
  return std::string(k_user_path) + "/PlayedItems/" + id;
}
std::string user_data_path(const std::string& id) {
  return std::string(k_user_path) + "/Items/" + id + "/UserData";
}

const std::vector<BackendType> k_types{BackendType::jellyfin, BackendType::emby};

} // namespace

TEST_CASE("backend::mediabrowser write requests", "[backend][mediabrowser][write]") {
  for (const auto type : k_types) {
    DYNAMIC_SECTION(ws::model::backend_type_name(type)) {
      const bool emby = type == BackendType::emby;
      auto fake = std::make_unique<FakeHttpClient>();
      const std::string user_data_reply =
          R"({"PlaybackPositionTicks":0,"PlayCount":1,"IsFavorite":false,"Played":true})";
      fake->on(Method::post, played_path("m1"), json_response(user_data_reply));
      fake->on(Method::post, played_path("m5"), json_response(user_data_reply));
      fake->on(Method::del, played_path("m2"), json_response(user_data_reply));
      for (const char* id : {"m3", "m4"}) {
        fake->on(Method::post, user_data_path(id),
                 emby ? text_response(204) : json_response(user_data_reply));
      }
      auto h = make(type, std::move(fake));

      const auto outcomes = h.backend->write({
          request("m1", WriteAction::mark_played),
          request("m2", WriteAction::mark_unplayed),
          request("m3", WriteAction::set_progress, k_played_at, 60000),
          request("m4", WriteAction::reset_progress),
          request("m5", WriteAction::mark_played, 0),
      });
      const auto& rec = *h.recorded;
      CHECK(rec.unmatched.empty());
      CHECK(rec.batch_sizes == std::vector<std::size_t>{5});
      REQUIRE(outcomes.size() == 5);
      for (const auto& outcome : outcomes) {
        CHECK(outcome.ok);
      }

      const auto played = rec.matching(Method::post, played_path("m1"));
      REQUIRE(played.size() == 1);
      const auto date = query_param(played[0].url, "DatePlayed");
      REQUIRE(date.has_value());
      // A literal '+' would be read as a space by the server.
      CHECK(date->find('+') == std::string::npos);
      CHECK(percent_decode(*date) == (emby ? "20240501100000" : "2024-05-01T10:00:00Z"));
      CHECK(played[0].body.empty());

      // Without a known date the server stamps its own.
      const auto undated = rec.matching(Method::post, played_path("m5"));
      REQUIRE(undated.size() == 1);
      CHECK_FALSE(query_param(undated[0].url, "DatePlayed").has_value());

      const auto unplayed = rec.matching(Method::del, played_path("m2"));
      REQUIRE(unplayed.size() == 1);
      CHECK(ws::test::url_query(unplayed[0].url).empty());

      const auto progress = rec.matching(Method::post, user_data_path("m3"));
      REQUIRE(progress.size() == 1);
      CHECK(header_of(progress[0].headers, "Content-Type") == "application/json");
      {
        rapidjson::Document body;
        body.Parse(progress[0].body.data(), progress[0].body.size());
        REQUIRE(body.IsObject());
        REQUIRE(body.HasMember("PlaybackPositionTicks"));
        REQUIRE(body["PlaybackPositionTicks"].IsInt64());
        CHECK(body["PlaybackPositionTicks"].GetInt64() == 600000000);
        REQUIRE(body.HasMember("Played"));
        CHECK(body["Played"].IsFalse());
        CHECK(body.MemberCount() == 2);
      }

      const auto reset = rec.matching(Method::post, user_data_path("m4"));
      REQUIRE(reset.size() == 1);
      CHECK(header_of(reset[0].headers, "Content-Type") == "application/json");
      {
        rapidjson::Document body;
        body.Parse(reset[0].body.data(), reset[0].body.size());
        REQUIRE(body.IsObject());
        REQUIRE(body.HasMember("PlaybackPositionTicks"));
        CHECK(body["PlaybackPositionTicks"].GetInt64() == 0);
        CHECK(body.MemberCount() == 1);
      }

      for (const auto& sent : rec.requests) {
        CHECK(sent.url.find(k_token) == std::string::npos);
        const auto auth = header_of(sent.headers, "Authorization");
        REQUIRE(auth.has_value());
        CHECK(auth->find(k_token) != std::string::npos);
      }
    }
  }
}

TEST_CASE("backend::mediabrowser write outcomes", "[backend][mediabrowser][write]") {
  for (const auto type : k_types) {
    DYNAMIC_SECTION(ws::model::backend_type_name(type)) {
      auto fake = std::make_unique<FakeHttpClient>();
      for (const int status : {200, 204, 401, 403, 404, 503, 429, 400}) {
        const std::string id = "s" + std::to_string(status);
        fake->on(Method::post, played_path(id), text_response(status));
        fake->on(Method::post, user_data_path(id), text_response(status));
        fake->on(Method::del, played_path(id), text_response(status));
      }
      fake->on_transport_error(Method::post, played_path("transport"),
                               ws::http::TransportError::connect, "connection refused");
      fake->set_reverse_completion(true);
      auto h = make(type, std::move(fake));
      const std::string name = type == BackendType::emby ? "emby_home" : "jelly_home";

      const auto outcomes = h.backend->write({
          request("s200", WriteAction::mark_played),
          request("s204", WriteAction::set_progress, k_played_at, 1000),
          request("s401", WriteAction::mark_played),
          request("s403", WriteAction::reset_progress),
          request("s404", WriteAction::mark_unplayed),
          request("s503", WriteAction::mark_played),
          request("s429", WriteAction::set_progress, k_played_at, 1000),
          request("s400", WriteAction::mark_played),
          request("transport", WriteAction::mark_played),
      });
      REQUIRE(outcomes.size() == 9);
      CHECK(h.recorded->unmatched.empty());
      CHECK(outcomes[0].ok);
      CHECK(outcomes[1].ok);
      CHECK_FALSE(outcomes[2].ok);
      CHECK(outcomes[2].kind == Errc::no_perm);
      CHECK(outcomes[2].message == name + ": mark_played of item s401 failed: HTTP 401");
      CHECK(outcomes[3].kind == Errc::no_perm);
      CHECK(outcomes[3].message == name + ": reset_progress of item s403 failed: HTTP 403");
      CHECK_FALSE(outcomes[4].ok);
      CHECK(outcomes[4].kind == Errc::protocol);
      CHECK(outcomes[4].message ==
            name + ": mark_unplayed of item s404 failed: HTTP 404 (item not found)");
      CHECK(outcomes[5].kind == Errc::tempfail);
      CHECK(outcomes[5].message == name + ": mark_played of item s503 failed: HTTP 503");
      CHECK(outcomes[6].kind == Errc::tempfail);
      CHECK(outcomes[7].kind == Errc::protocol);
      CHECK_FALSE(outcomes[8].ok);
      CHECK(outcomes[8].kind == Errc::tempfail);
      CHECK(outcomes[8].message.find("mark_played of item transport failed") != std::string::npos);
      for (const auto& outcome : outcomes) {
        CHECK(outcome.message.find(k_token) == std::string::npos);
      }
    }
  }
}

TEST_CASE("backend::mediabrowser active_items", "[backend][mediabrowser]") {
  for (const auto type : k_types) {
    DYNAMIC_SECTION(ws::model::backend_type_name(type)) {
      auto fake = std::make_unique<FakeHttpClient>();
      fake->on_get(
          "/Sessions",
          R"([{"Id":"s1","UserId":"4b7c2e9a0d1f43c8a5e6b7c8d9e0f1a2","NowPlayingItem":{"Id":"item-a","Type":"Movie"}},)"
          R"({"Id":"s2","UserId":"4b7c2e9a0d1f43c8a5e6b7c8d9e0f1a2"},)"
          R"({"Id":"s3","UserId":"ffffffffffffffffffffffffffffffff","NowPlayingItem":{"Id":"item-b"}},)"
          R"({"Id":"s4","UserId":"4B7C2E9A-0D1F-43C8-A5E6-B7C8D9E0F1A2","NowPlayingItem":{"Id":"item-c"}},)"
          R"({"Id":"s5","NowPlayingItem":{"Id":"item-d"}}])");
      auto h = make(type, std::move(fake));
      // Sessions of other users, without a user, or idle are left out; ids compare without
      // dashes and case.
      CHECK(h.backend->active_items() == std::vector<std::string>{"item-a", "item-c"});
      CHECK(h.recorded->unmatched.empty());
      REQUIRE(h.recorded->requests.size() == 1);
      CHECK(h.recorded->requests[0].url.find(k_token) == std::string::npos);
    }
  }
}

TEST_CASE("backend::mediabrowser active_items failures", "[backend][mediabrowser]") {
  const auto code_for = [](ws::http::Response response) {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on(Method::get, "/Sessions", std::move(response));
    auto h = make(BackendType::jellyfin, std::move(fake));
    try {
      h.backend->active_items();
    } catch (const ws::Error& e) {
      CHECK(std::string(e.what()).find(k_token) == std::string::npos);
      return e.code();
    }
    return Errc::internal;
  };
  CHECK(code_for(text_response(401)) == Errc::no_perm);
  CHECK(code_for(text_response(403)) == Errc::no_perm);
  CHECK(code_for(text_response(500)) == Errc::tempfail);
  CHECK(code_for(json_response(R"({"Items":[]})")) == Errc::protocol);
  CHECK(code_for(json_response("[{")) == Errc::protocol);
}

TEST_CASE("backend::mediabrowser active_items without sessions", "[backend][mediabrowser]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on_get("/Sessions", "[]");
  auto h = make(BackendType::emby, std::move(fake));
  CHECK(h.backend->active_items().empty());
}
