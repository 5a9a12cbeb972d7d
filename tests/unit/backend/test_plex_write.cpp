// SPDX-License-Identifier: MIT
#include <watchstate/backend/backend.hpp>
#include <watchstate/backend/plex/plex_backend.hpp>
#include <watchstate/core/error.hpp>

#include "support/fake_http_client.hpp"

#include <catch2/catch.hpp>

#include <string>

using ws::Errc;
using ws::backend::WriteAction;
using ws::backend::WriteOutcome;
using ws::backend::WriteRequest;
using ws::http::Method;
using ws::test::FakeHttpClient;
using ws::test::header_of;
using ws::test::json_response;
using ws::test::query_param;
using ws::test::text_response;

namespace {

constexpr const char* k_token = "plex-write-secret-789";

struct Harness {
  std::shared_ptr<const FakeHttpClient::State> recorded;
  std::unique_ptr<ws::backend::Backend> backend;
};

Harness make(std::unique_ptr<FakeHttpClient> fake, std::string user = {}) {
  ws::backend::Connection c;
  c.name = "plex_home";
  c.type = ws::model::BackendType::plex;
  c.url = "http://127.0.0.1:32400";
  c.token = k_token;
  c.user = std::move(user);
  auto recorded = fake->recorder();
  return Harness{recorded, ws::backend::make_backend(c, std::move(fake))};
}

WriteRequest request(std::string id, WriteAction action, std::int64_t position_ms = 0,
                     std::int64_t duration_ms = 0) {
  WriteRequest r;
  r.remote_id = std::move(id);
  r.action = action;
  r.played_at = 1714557600;
  r.position_ms = position_ms;
  r.duration_ms = duration_ms;
  return r;
}

// A responder answering with the HTTP status named by the request's `key` / `ratingKey`
// ("s404" -> 404); "transport" fails below HTTP.
ws::http::Outcome status_by_key(const ws::http::Request& req) {
  auto key = query_param(req.url, "ratingKey");
  if (!key) {
    key = query_param(req.url, "key");
  }
  ws::http::Outcome outcome;
  if (key == "transport") {
    outcome.error = ws::http::TransportError::timeout;
    outcome.error_message = "timed out";
    outcome.attempts = 4;
    return outcome;
  }
  outcome.response = text_response(std::stoi(key->substr(1)));
  return outcome;
}

} // namespace

TEST_CASE("backend::plex write requests", "[backend][plex][write]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on(Method::get, "/:/scrobble", text_response(200));
  fake->on(Method::get, "/:/unscrobble", text_response(200));
  fake->on(Method::post, "/:/timeline", json_response(R"({"MediaContainer":{"size":0}})"));
  auto h = make(std::move(fake));

  const auto outcomes = h.backend->write({
      request("10", WriteAction::mark_played),
      request("11", WriteAction::mark_unplayed),
      request("12", WriteAction::set_progress, 60000, 120000),
      request("13", WriteAction::reset_progress),
      request("14", WriteAction::set_progress, 60000, 0),
  });
  const auto& rec = *h.recorded;
  CHECK(rec.unmatched.empty());
  // Everything that needs a request goes out in one batch.
  CHECK(rec.batch_sizes == std::vector<std::size_t>{4});

  REQUIRE(outcomes.size() == 5);
  CHECK(outcomes[0].ok);
  CHECK(outcomes[1].ok);
  CHECK(outcomes[2].ok);
  CHECK(outcomes[3].ok);
  CHECK_FALSE(outcomes[4].ok);
  CHECK(outcomes[4].kind == Errc::protocol);
  CHECK(outcomes[4].message == "plex_home: set_progress of item 14 failed: no duration known");

  const auto scrobbles = rec.matching(Method::get, "/:/scrobble");
  REQUIRE(scrobbles.size() == 1);
  CHECK(query_param(scrobbles[0].url, "identifier") == "com.plexapp.plugins.library");
  CHECK(query_param(scrobbles[0].url, "key") == "10");
  // An unplayed item's position is cleared by unscrobbling it (Plex ignores a progress of 0).
  const auto unscrobbles = rec.matching(Method::get, "/:/unscrobble");
  REQUIRE(unscrobbles.size() == 2);
  CHECK(query_param(unscrobbles[0].url, "identifier") == "com.plexapp.plugins.library");
  CHECK(query_param(unscrobbles[0].url, "key") == "11");
  CHECK(query_param(unscrobbles[1].url, "key") == "13");

  const auto timelines = rec.matching(Method::post, "/:/timeline");
  REQUIRE(timelines.size() == 1);
  const auto& timeline = timelines[0].url;
  CHECK(query_param(timeline, "ratingKey") == "12");
  CHECK(query_param(timeline, "key") == "%2Flibrary%2Fmetadata%2F12");
  CHECK(query_param(timeline, "identifier") == "com.plexapp.plugins.library");
  CHECK(query_param(timeline, "state") == "stopped");
  CHECK(query_param(timeline, "time") == "60000");
  CHECK(query_param(timeline, "duration") == "120000");
  CHECK(query_param(timeline, "X-Plex-Client-Identifier") ==
        std::string(ws::backend::plex::k_client_identifier));

  for (const auto& sent : rec.requests) {
    CHECK(sent.url.find(k_token) == std::string::npos);
    CHECK(header_of(sent.headers, "X-Plex-Token") == k_token);
    CHECK(sent.body.empty());
  }
}

TEST_CASE("backend::plex write outcomes", "[backend][plex][write]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on_call(Method::get, "/:/scrobble", {}, status_by_key);
  fake->on_call(Method::post, "/:/timeline", {}, status_by_key);
  // Outcomes must come back in request order whatever the completion order.
  fake->set_reverse_completion(true);
  auto h = make(std::move(fake));

  const auto outcomes = h.backend->write({
      request("s200", WriteAction::mark_played),
      request("s401", WriteAction::mark_played),
      request("s403", WriteAction::mark_played),
      request("s404", WriteAction::mark_played),
      request("s503", WriteAction::mark_played),
      request("s429", WriteAction::mark_played),
      request("s400", WriteAction::mark_played),
      request("transport", WriteAction::mark_played),
      request("s204", WriteAction::set_progress, 1000, 5000),
      request("s503", WriteAction::set_progress, 1000, 5000),
  });
  REQUIRE(outcomes.size() == 10);
  CHECK(h.recorded->requests.size() == 10);

  CHECK(outcomes[0].ok);
  CHECK(outcomes[0].message.empty());
  CHECK_FALSE(outcomes[1].ok);
  CHECK(outcomes[1].kind == Errc::no_perm);
  CHECK(outcomes[1].message == "plex_home: mark_played of item s401 failed: HTTP 401");
  CHECK(outcomes[2].kind == Errc::no_perm);
  CHECK_FALSE(outcomes[3].ok);
  CHECK(outcomes[3].kind == Errc::protocol);
  CHECK(outcomes[3].message ==
        "plex_home: mark_played of item s404 failed: HTTP 404 (item not found)");
  CHECK_FALSE(outcomes[4].ok);
  CHECK(outcomes[4].kind == Errc::tempfail);
  CHECK(outcomes[4].message == "plex_home: mark_played of item s503 failed: HTTP 503");
  CHECK(outcomes[5].kind == Errc::tempfail);
  CHECK(outcomes[6].kind == Errc::protocol);
  CHECK_FALSE(outcomes[7].ok);
  CHECK(outcomes[7].kind == Errc::tempfail);
  CHECK(outcomes[7].message.find("mark_played of item transport failed") != std::string::npos);
  CHECK(outcomes[8].ok); // the timeline may answer 204
  CHECK_FALSE(outcomes[9].ok);
  CHECK(outcomes[9].kind == Errc::tempfail);
  CHECK(outcomes[9].message == "plex_home: set_progress of item s503 failed: HTTP 503");
  for (const auto& outcome : outcomes) {
    CHECK(outcome.message.find(k_token) == std::string::npos);
  }
}

TEST_CASE("backend::plex write with nothing to send", "[backend][plex][write]") {
  auto fake = std::make_unique<FakeHttpClient>();
  auto h = make(std::move(fake));
  CHECK(h.backend->write({}).empty());
  CHECK(h.recorded->batches == 0);
}

namespace {

// Sessions of the token owner (User.id 1, as a number), of account 7 (`User` as a one-element
// array, as XML-derived JSON has it), and one without a user.
constexpr const char* k_sessions =
    R"({"MediaContainer":{"size":3,"Metadata":[)"
    R"({"ratingKey":"100","type":"movie","User":{"id":1,"title":"admin"}},)"
    R"({"ratingKey":"200","type":"episode","User":[{"id":"7","title":"friend"}]},)"
    R"({"ratingKey":"300","type":"movie"}]}})";

} // namespace

TEST_CASE("backend::plex active_items", "[backend][plex]") {
  SECTION("the token owner's sessions when no user is configured") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get("/status/sessions", k_sessions);
    auto h = make(std::move(fake));
    CHECK(h.backend->active_items() == std::vector<std::string>{"100", "300"});
    REQUIRE(h.recorded->requests.size() == 1);
    CHECK(header_of(h.recorded->requests[0].headers, "Accept") == "application/json");
  }
  SECTION("only the configured user's sessions") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get("/status/sessions", k_sessions);
    auto h = make(std::move(fake), "7");
    CHECK(h.backend->active_items() == std::vector<std::string>{"200"});
  }
  SECTION("no sessions") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get("/status/sessions", R"({"MediaContainer":{"size":0}})");
    auto h = make(std::move(fake));
    CHECK(h.backend->active_items().empty());
  }
  SECTION("failures throw like the listing calls") {
    const auto code_for = [](ws::http::Response response) {
      auto fake = std::make_unique<FakeHttpClient>();
      fake->on(Method::get, "/status/sessions", std::move(response));
      auto h = make(std::move(fake));
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
    CHECK(code_for(text_response(503)) == Errc::tempfail);
    CHECK(code_for(json_response("{\"MediaContainer\":")) == Errc::protocol);
  }
}
