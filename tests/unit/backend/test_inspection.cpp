// SPDX-License-Identifier: MIT
// The inspection side of the adapters (ws-backend): users, title search and single items.
#include <watchstate/backend/backend.hpp>
#include <watchstate/backend/mediabrowser/mediabrowser_backend.hpp>
#include <watchstate/core/error.hpp>

#include "support/fake_http_client.hpp"

#include <catch2/catch.hpp>

using ws::backend::FoundItem;
using ws::http::Method;
using ws::model::GuidKey;
using ws::model::ShowCache;
using ws::test::FakeHttpClient;
using ws::test::query_param;
using ws::test::text_response;

namespace {

ws::backend::Connection connection(ws::model::BackendType type) {
  ws::backend::Connection c;
  c.name = "home";
  c.type = type;
  c.url = "http://127.0.0.1:8096";
  c.token = "inspection-secret-token";
  c.user = type == ws::model::BackendType::plex ? "" : "u1";
  return c;
}

struct Harness {
  std::shared_ptr<const FakeHttpClient::State> recorded;
  std::unique_ptr<ws::backend::Backend> backend;
};

Harness make(ws::model::BackendType type, std::unique_ptr<FakeHttpClient> fake) {
  auto recorded = fake->recorder();
  return Harness{recorded, ws::backend::make_backend(connection(type), std::move(fake))};
}

} // namespace

TEST_CASE("backend::plex users", "[backend][plex]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on_get("/accounts", R"({"MediaContainer":{"size":3,"Account":[
      {"id":0,"key":"/accounts/0","name":""},
      {"id":1,"key":"/accounts/1","name":"owner"},
      {"id":8123456,"key":"/accounts/8123456","name":"kid"}]}})");
  auto h = make(ws::model::BackendType::plex, std::move(fake));
  const auto users = h.backend->users();
  REQUIRE(users.size() == 2); // the system account 0 is no person
  CHECK(users[0].id == "1");
  CHECK(users[0].name == "owner");
  CHECK(users[0].admin);
  CHECK(users[1].id == "8123456");
  CHECK_FALSE(users[1].admin);
}

TEST_CASE("backend::plex search keeps movie, show and episode hubs", "[backend][plex]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on_get("/hubs/search", {"query=heat%20wave", "includeGuids=1", "limit=5"},
               R"({"MediaContainer":{"size":4,"Hub":[
      {"type":"movie","hubIdentifier":"movie","Metadata":[
        {"ratingKey":"10","type":"movie","title":"Heat Wave","year":1999,"viewCount":1,
         "lastViewedAt":1700000000,"addedAt":1600000000,"librarySectionID":1,
         "Guid":[{"id":"imdb://tt0000010"}],"Media":[{"Part":[{"file":"/m/Heat Wave.mkv"}]}]}]},
      {"type":"artist","hubIdentifier":"artist","Metadata":[{"ratingKey":"99","type":"artist","title":"Heat"}]},
      {"type":"show","hubIdentifier":"show","Metadata":[
        {"ratingKey":"20","type":"show","title":"Heat Wave Show","year":2010,
         "Guid":[{"id":"tvdb://200"}],"Location":[{"path":"/tv/Heat Wave Show"}]}]},
      {"type":"episode","hubIdentifier":"episode","Metadata":[
        {"ratingKey":"21","type":"episode","title":"Heat Wave","grandparentTitle":"Other Show",
         "grandparentRatingKey":"30","parentIndex":2,"index":5,"addedAt":1600000000,"viewOffset":60000}]}]}})");
  fake->on_get(
      "/library/metadata/30", {"includeGuids=1"},
      R"({"MediaContainer":{"Metadata":[{"ratingKey":"30","type":"show","title":"Other Show",
                   "Guid":[{"id":"tvdb://300"}]}]}})");
  auto h = make(ws::model::BackendType::plex, std::move(fake));
  ShowCache shows;
  const auto hits = h.backend->search("heat wave", 5, shows);
  REQUIRE(hits.size() == 3);
  CHECK(hits[0].kind == FoundItem::Kind::movie);
  CHECK(hits[0].item.id == "10");
  CHECK(hits[0].item.played);
  CHECK(hits[0].item.library_id == "1");
  CHECK(hits[1].kind == FoundItem::Kind::show);
  CHECK(hits[1].show.path == "/tv/Heat Wave Show");
  CHECK(hits[1].show.guids.size() == 1);
  // The episode waited for its show, which was fetched and cached.
  CHECK(hits[2].kind == FoundItem::Kind::episode);
  CHECK(hits[2].item.season == 2);
  CHECK(hits[2].item.episode == 5);
  CHECK(hits[2].item.progress_ms == 60000);
  REQUIRE(shows.count("30") == 1);
  CHECK(shows["30"].guids.front().key == GuidKey::tvdb);
}

TEST_CASE("backend::plex find_item", "[backend][plex]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on_get(
      "/library/metadata/10", {"includeGuids=1"},
      R"({"MediaContainer":{"librarySectionID":1,"Metadata":[{"ratingKey":"10","type":"movie",
                   "title":"Heat Wave","year":1999,"addedAt":1600000000,"librarySectionID":1}]}})");
  fake->on(Method::get, "/library/metadata/11", text_response(404, "Not Found"));
  fake->on(Method::get, "/library/metadata/12", text_response(500, "boom"));
  auto h = make(ws::model::BackendType::plex, std::move(fake));
  ShowCache shows;
  const auto found = h.backend->find_item("10", shows);
  REQUIRE(found.size() == 1);
  CHECK(found[0].item.title == "Heat Wave");
  CHECK(found[0].item.year == 1999);
  CHECK(h.backend->find_item("11", shows).empty());
  CHECK_THROWS_MATCHES(h.backend->find_item("12", shows), ws::Error,
                       Catch::Predicate<ws::Error>(
                           [](const ws::Error& e) { return e.code() == ws::Errc::tempfail; }));
}

TEST_CASE("backend::mediabrowser users", "[backend][jellyfin]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on_get("/Users",
               R"([{"Name":"alice","Id":"u1","Policy":{"IsAdministrator":true,"IsDisabled":false}},
                            {"Name":"bob","Id":"u2","Policy":{"IsAdministrator":false,"IsDisabled":true}}])");
  auto h = make(ws::model::BackendType::jellyfin, std::move(fake));
  const auto users = h.backend->users();
  REQUIRE(users.size() == 2);
  CHECK(users[0].admin);
  CHECK_FALSE(users[0].disabled);
  CHECK(users[1].name == "bob");
  CHECK(users[1].disabled);
}

TEST_CASE("backend::mediabrowser search and find_item", "[backend][jellyfin][emby]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on_get("/Users/u1/Items",
               {"searchTerm=heat", "Limit=25", "IncludeItemTypes=Series,Movie,Episode"},
               R"({"Items":[
      {"Name":"Heat","Id":"m1","Type":"Movie","ProductionYear":1995,"Path":"/m/Heat (1995).mkv",
       "ProviderIds":{"Imdb":"tt0113277"},"UserData":{"Played":true,"LastPlayedDate":"2024-01-02T03:04:05Z"}},
      {"Name":"Heat Show","Id":"s1","Type":"Series","ProductionYear":2001,"Path":"/tv/Heat Show",
       "ProviderIds":{"Tvdb":"71"}},
      {"Name":"Heatwave","Id":"e1","Type":"Episode","SeriesName":"Heat Show","SeriesId":"s1",
       "ParentIndexNumber":1,"IndexNumber":2,"UserData":{"Played":false,"PlaybackPositionTicks":600000000}}],
      "TotalRecordCount":3})");
  fake->on_get("/Users/u1/Items/s1",
               R"({"Name":"Heat Show","Id":"s1","Type":"Series","ProviderIds":{"Tvdb":"71"}})");
  fake->on(Method::get, "/Users/u1/Items/nope", text_response(404));
  auto h = make(ws::model::BackendType::emby, std::move(fake));
  ShowCache shows;
  const auto hits = h.backend->search("heat", 25, shows);
  REQUIRE(hits.size() == 3);
  CHECK(hits[0].kind == FoundItem::Kind::movie);
  CHECK(hits[0].item.played);
  CHECK(hits[0].item.last_played == 1704164645);
  CHECK(hits[1].kind == FoundItem::Kind::show);
  CHECK(hits[1].show.path == "/tv/Heat Show");
  CHECK(hits[2].kind == FoundItem::Kind::episode);
  CHECK(hits[2].item.progress_ms == 60000);
  CHECK(shows.count("s1") == 1);

  const auto series = h.backend->find_item("s1", shows);
  REQUIRE(series.size() == 1);
  CHECK(series[0].kind == FoundItem::Kind::show);
  CHECK(h.backend->find_item("nope", shows).empty());
}
