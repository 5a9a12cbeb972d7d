// SPDX-License-Identifier: MIT
#include <watchstate/backend/backend.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/time.hpp>

#include "support/fake_http_client.hpp"
#include "unit/backend/fixture_bodies.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>

using ws::Errc;
using ws::backend::Library;
using ws::backend::LibraryKind;
using ws::backend::RemoteItem;
using ws::http::Method;
using ws::model::BackendType;
using ws::model::GuidKey;
using ws::model::Guids;
using ws::model::MediaType;
using ws::model::ShowCache;
using ws::test::FakeHttpClient;
using ws::test::header_of;
using ws::test::json_response;
using ws::test::query_param;

namespace {

constexpr const char* k_token = "mb-secret-token-456";
constexpr const char* k_user = "user-1";
constexpr const char* k_items = "/Users/user-1/Items";

ws::backend::Connection connection(BackendType type, int page_size = 1000) {
  ws::backend::Connection c;
  c.name = type == BackendType::emby ? "emby_home" : "jelly_home";
  c.type = type;
  c.url = "http://127.0.0.1:8096";
  c.token = k_token;
  c.user = k_user;
  c.page_size = page_size;
  return c;
}

struct Harness {
  std::shared_ptr<const FakeHttpClient::State> recorded;
  std::unique_ptr<ws::backend::Backend> backend;
};

Harness make(BackendType type, std::unique_ptr<FakeHttpClient> fake, int page_size = 1000) {
  auto recorded = fake->recorder();
  auto backend = ws::backend::make_backend(connection(type, page_size), std::move(fake));
  return Harness{recorded, std::move(backend)};
}

std::vector<RemoteItem> list(ws::backend::Backend& backend, const std::vector<Library>& libraries,
                             ShowCache& shows) {
  std::vector<RemoteItem> items;
  backend.list_items(libraries, shows, [&items](RemoteItem&& item) { items.push_back(item); });
  std::sort(items.begin(), items.end(), [](const RemoteItem& a, const RemoteItem& b) {
    return std::tie(a.id, a.episode) < std::tie(b.id, b.episode);
  });
  return items;
}

std::string items_json(const std::vector<std::string>& entries, long total) {
  std::string joined;
  for (const auto& e : entries) {
    joined += (joined.empty() ? "" : ",") + e;
  }
  return fmt::format(R"({{"Items":[{}],"TotalRecordCount":{}}})", joined, total);
}

std::string count_json(long total) { return items_json({}, total); }

const std::vector<BackendType> k_types{BackendType::jellyfin, BackendType::emby};

} // namespace

TEST_CASE("backend::mediabrowser server_info and Authorization", "[backend][jellyfin][emby]") {
  for (const auto type : k_types) {
    CAPTURE(ws::model::backend_type_name(type));
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get("/System/Info", ws::test::mediabrowser_fixture("info"));
    auto h = make(type, std::move(fake));
    const auto info = h.backend->server_info();
    CHECK(info.id == "server-1");
    CHECK(info.name == "MediaBrowser Test");
    CHECK(info.version == "10.9.0");
    REQUIRE(h.recorded->requests.size() == 1);
    const auto auth = header_of(h.recorded->requests[0].headers, "Authorization");
    REQUIRE(auth.has_value());
    CHECK(auth->rfind(std::string("MediaBrowser Token=\"") + k_token + "\"", 0) == 0);
    CHECK(auth->find("Client=\"watchstate\"") != std::string::npos);
    CHECK(auth->find("Device=\"watchstate\"") != std::string::npos);
    CHECK(auth->find("DeviceId=\"watchstate-") != std::string::npos);
    CHECK(auth->find(std::string("Version=\"") + WS_VERSION + "\"") != std::string::npos);
    CHECK(header_of(h.recorded->requests[0].headers, "Accept") == "application/json");
  }
  CHECK(ws::model::backend_type_name(BackendType::jellyfin) == "jellyfin");
  CHECK(ws::model::backend_type_name(BackendType::emby) == "emby");
  CHECK(ws::model::backend_type_name(BackendType::plex) == "plex");
}

TEST_CASE("backend::mediabrowser libraries", "[backend][jellyfin][emby]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on_get(
      "/Users/user-1/Views",
      R"({"Items":[{"Id":"lib-1","Name":"Movies","CollectionType":"movies","Type":"CollectionFolder"},)"
      R"({"Id":"lib-2","Name":"Shows","CollectionType":"tvshows","Type":"CollectionFolder"},)"
      R"({"Id":"lib-3","Name":"Music","CollectionType":"music","Type":"CollectionFolder"},)"
      R"({"Id":"lib-4","Name":"Mixed","Type":"CollectionFolder"},)"
      R"({"Id":"lib-5","Name":"Playlists","CollectionType":"playlists","Type":"ManualPlaylistsFolder"},)"
      R"({"Id":"lib-6","Name":"Live","Type":"UserView"}],"TotalRecordCount":6})");
  auto h = make(BackendType::jellyfin, std::move(fake));
  const auto libraries = h.backend->libraries();
  REQUIRE(libraries.size() == 3);
  CHECK(libraries[0].id == "lib-1");
  CHECK(libraries[0].kind == LibraryKind::movies);
  CHECK(libraries[1].kind == LibraryKind::shows);
  CHECK(libraries[1].title == "Shows");
  CHECK(libraries[2].id == "lib-4");
  CHECK(libraries[2].kind == LibraryKind::mixed);

  // The WatchState fixture's library list.
  auto fixture = std::make_unique<FakeHttpClient>();
  fixture->on_get("/Users/user-1/Views", ws::test::mediabrowser_fixture("libraries"));
  auto h2 = make(BackendType::emby, std::move(fixture));
  CHECK(h2.backend->libraries().size() == 2);
}

TEST_CASE("backend::mediabrowser list_items", "[backend][jellyfin][emby]") {
  for (const auto type : k_types) {
    CAPTURE(ws::model::backend_type_name(type));
    auto fake = std::make_unique<FakeHttpClient>();
    fake->set_reverse_completion(type == BackendType::emby);
    fake->on_get(k_items, {"ParentId=lib-1", "Limit=0"}, count_json(1));
    fake->on_get(k_items, {"ParentId=lib-2", "Limit=0"}, count_json(5));
    // The fixture's movie page (unplayed with a resume position).
    fake->on_get(k_items, {"ParentId=lib-1", "Limit=1000"},
                 ws::test::mediabrowser_fixture("library_items"));
    fake->on_get(
        k_items, {"ParentId=lib-2", "IncludeItemTypes=Series"},
        items_json({R"({"Id":"series-1","Name":"Test Show","Type":"Series","ProductionYear":2019,)"
                    R"("ProviderIds":{"Tvdb":"1000","Tv Maze":"77"}})"},
                   1));
    fake->on_get(
        k_items, {"ParentId=lib-2", "Limit=1000"},
        items_json(
            {// Played without LastPlayedDate (the fixture's metadata_episode, with a series id).
             R"({"Id":"episode-1","Name":"Pilot","Type":"Episode","SeriesName":"Test Show","SeriesId":"series-1",)"
             R"("ProductionYear":2020,"DateCreated":"2020-01-02T00:00:00Z","Path":"/media/shows/test-show/season-1/pilot.mkv",)"
             R"("ParentIndexNumber":1,"IndexNumber":1,"ProviderIds":{"Imdb":"tt234","Tmdb":"234","Tvdb":"234"},)"
             R"("UserData":{"Played":true,"PlaybackPositionTicks":0,"PlayCount":1}})",
             // A double episode, played with a 7-digit fraction date.
             R"({"Id":"episode-2","Name":"Two","Type":"Episode","SeriesName":"Test Show","SeriesId":"series-1",)"
             R"("DateCreated":"2024-05-01T10:00:00.0000000Z","ParentIndexNumber":1,"IndexNumber":2,"IndexNumberEnd":3,)"
             R"("RunTimeTicks":14210970000,"UserData":{"Played":true,"LastPlayedDate":"2025-03-02T18:04:55.1234567Z",)"
             R"("PlaybackPositionTicks":123450000}})",
             // Episodes of a series the listing did not return.
             R"({"Id":"episode-4","Name":"Other","Type":"Episode","SeriesName":"Other Show","SeriesId":"series-2",)"
             R"("DateCreated":"2024-05-01T10:00:00Z","ParentIndexNumber":2,"IndexNumber":1,)"
             R"("UserData":{"Played":false,"PlaybackPositionTicks":50000}})",
             R"({"Id":"episode-5","Name":"Other 2","Type":"Episode","SeriesName":"Other Show","SeriesId":"series-2",)"
             R"("DateCreated":"2024-05-01T10:00:00Z","ParentIndexNumber":2,"IndexNumber":2,"UserData":{"Played":false}})",
             // A folder that slipped through is skipped.
             R"({"Id":"folder-1","Name":"Season 1","Type":"Season","IsFolder":true})"},
            5));
    fake->on_get(
        "/Users/user-1/Items/series-2",
        R"({"Id":"series-2","Name":"Other Show","Type":"Series","PremiereDate":"2001-05-06T00:00:00.0000000Z",)"
        R"("ProviderIds":{"Tmdb":"2002","Imdb":"tt2002"}})");
    auto h = make(type, std::move(fake));

    ShowCache shows;
    const std::vector<Library> libraries{{"lib-1", "Movies", LibraryKind::movies},
                                         {"lib-2", "Shows", LibraryKind::shows}};
    const auto items = list(*h.backend, libraries, shows);
    const auto& rec = *h.recorded;
    CHECK(rec.unmatched.empty());

    // Requests: 2 counts; 2 pages + 1 series listing in one batch; 1 series lookup.
    CHECK(rec.batch_sizes == std::vector<std::size_t>{2, 3, 1});
    CHECK(rec.count(Method::get, "/Users/user-1/Items/series-2") == 1);
    CHECK(rec.count(Method::get, "/Users/user-1/Items/series-1") == 0);
    const auto pages = rec.matching(Method::get, k_items, {"Limit=1000"});
    REQUIRE(pages.size() == 2);
    for (const auto& page : pages) {
      const auto fields = query_param(page.url, "Fields");
      REQUIRE(fields.has_value());
      // Exactly the fields the parser reads, nothing more (each costs bytes on every item).
      CHECK(*fields == "ProviderIds,DateCreated,Path,UserDataLastPlayedDate,PremiereDate,"
                       "ProductionYear");
      CHECK(query_param(page.url, "Recursive") == "true");
      CHECK(query_param(page.url, "IncludeItemTypes") == "Movie,Episode");
      CHECK(query_param(page.url, "Filters") == "IsNotFolder");
      CHECK(query_param(page.url, "ExcludeLocationTypes") == "Virtual");
      CHECK(query_param(page.url, "EnableUserData") == "true");
      CHECK(query_param(page.url, "SortBy") == "DateCreated");
      CHECK(query_param(page.url, "SortOrder") == "Ascending");
      CHECK(query_param(page.url, "StartIndex") == "0");
    }
    const auto counts = rec.matching(Method::get, k_items, {"Limit=0"});
    REQUIRE(counts.size() == 2);
    CHECK(query_param(counts[0].url, "IncludeItemTypes") == "Movie,Episode");
    CHECK(rec.count(Method::get, k_items, {"ParentId=lib-1", "IncludeItemTypes=Series"}) == 0);

    REQUIRE(items.size() == 6);
    const auto& e1 = items[0];
    CHECK(e1.id == "episode-1");
    CHECK(e1.type == MediaType::episode);
    CHECK(e1.played);
    CHECK(e1.played_without_date);
    CHECK(e1.added_at == *ws::parse_iso8601("2020-01-02T00:00:00Z"));
    CHECK(e1.last_played == e1.added_at);
    CHECK(e1.title == "Test Show");
    CHECK(e1.show_id == "series-1");
    CHECK(e1.season == 1);
    CHECK(e1.episode == 1);
    CHECK(e1.year == 2020);
    CHECK(e1.library_id == "lib-2");
    CHECK(e1.path == "/media/shows/test-show/season-1/pilot.mkv");
    CHECK(e1.guids ==
          Guids{{GuidKey::imdb, "tt234"}, {GuidKey::tmdb, "234"}, {GuidKey::tvdb, "234"}});
    CHECK_FALSE(e1.multi);

    CHECK(items[1].id == "episode-2");
    CHECK(items[1].episode == 2);
    CHECK(items[2].id == "episode-2");
    CHECK(items[2].episode == 3);
    for (const auto* e : {&items[1], &items[2]}) {
      CHECK(e->multi);
      CHECK(e->played);
      CHECK_FALSE(e->played_without_date);
      CHECK(e->last_played == *ws::parse_iso8601("2025-03-02T18:04:55Z"));
      // The resume position is reported although the item is played.
      CHECK(e->progress_ms == 12345);
      CHECK(e->duration_ms == 1421097);
    }

    CHECK(items[3].id == "episode-4");
    CHECK_FALSE(items[3].played);
    CHECK(items[3].progress_ms == 5);
    CHECK(items[3].last_played == 0);
    CHECK(items[3].show_id == "series-2");
    CHECK(items[4].id == "episode-5");
    CHECK(items[4].progress_ms == 0);
    CHECK(items[4].duration_ms == 0);

    const auto& movie = items[5];
    CHECK(movie.id == "item-1");
    CHECK(movie.type == MediaType::movie);
    CHECK(movie.title == "Test Movie");
    CHECK_FALSE(movie.played);
    CHECK(movie.progress_ms == 90000);
    CHECK(movie.year == 2020);
    CHECK(movie.library_id == "lib-1");
    // "tt123" is valid; "Tmdb":"123" too.
    CHECK(movie.guids == Guids{{GuidKey::imdb, "tt123"}, {GuidKey::tmdb, "123"}});

    REQUIRE(shows.count("series-1") == 1);
    CHECK(shows["series-1"].guids == Guids{{GuidKey::tvdb, "1000"}, {GuidKey::tvmaze, "77"}});
    CHECK(shows["series-1"].year == 2019);
    REQUIRE(shows.count("series-2") == 1);
    CHECK(shows["series-2"].title == "Other Show");
    CHECK(shows["series-2"].year == 2001);
    CHECK(shows["series-2"].guids == Guids{{GuidKey::imdb, "tt2002"}, {GuidKey::tmdb, "2002"}});
  }
}

TEST_CASE("backend::mediabrowser paging", "[backend][jellyfin]") {
  auto fake = std::make_unique<FakeHttpClient>();
  static constexpr int total = 5;
  fake->on_get(k_items, {"ParentId=lib-1", "Limit=0"}, count_json(total));
  // Serve any window, but never more than one item per answer.
  fake->on_call(
      Method::get, k_items, {"ParentId=lib-1", "StartIndex="},
      [](const ws::http::Request& request) {
        const int start = std::stoi(*query_param(request.url, "StartIndex"));
        const int limit = std::stoi(*query_param(request.url, "Limit"));
        std::vector<std::string> entries;
        for (int i = start; i < std::min(total, start + std::min(limit, 1)); ++i) {
          entries.push_back(fmt::format(
              R"({{"Id":"{}","Name":"M{}","Type":"Movie","DateCreated":"2024-01-01T00:00:0{}Z",)"
              R"("ProviderIds":{{"Tmdb":"{}"}},"UserData":{{"Played":false}}}})",
              8000 + i, i, i, i + 1));
        }
        ws::http::Outcome outcome;
        outcome.response = json_response(items_json(entries, total));
        return outcome;
      });
  auto h = make(BackendType::jellyfin, std::move(fake), 2);
  ShowCache shows;
  const auto items = list(*h.backend, {{"lib-1", "Movies", LibraryKind::movies}}, shows);
  REQUIRE(items.size() == 5);
  for (int i = 0; i < total; ++i) {
    CHECK(items[static_cast<std::size_t>(i)].id == std::to_string(8000 + i));
  }
  // count; pages 0,2,4; remainders 1,3.
  CHECK(h.recorded->batch_sizes == std::vector<std::size_t>{1, 3, 2});
  std::vector<std::string> starts;
  for (const auto& request : h.recorded->matching(Method::get, k_items, {"Limit=2"})) {
    starts.push_back(*query_param(request.url, "StartIndex"));
  }
  CHECK(starts == std::vector<std::string>{"0", "2", "4"});
}

TEST_CASE("backend::mediabrowser errors", "[backend][jellyfin][emby]") {
  SECTION("401 is no_perm") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on(Method::get, "/System/Info",
             ws::test::text_response(401, "Access token is invalid or expired."));
    auto h = make(BackendType::emby, std::move(fake));
    try {
      h.backend->server_info();
      FAIL("no exception");
    } catch (const ws::Error& e) {
      CHECK(e.code() == Errc::no_perm);
      CHECK(std::string(e.what()) ==
            "emby_home: the server refused the token (HTTP 401); an Emby token is an API key "
            "(Settings > API Keys) or comes from `ws-config emby-login`");
    }
  }
  SECTION("401 during listing is no_perm") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on(Method::get, k_items, ws::test::text_response(401));
    auto h = make(BackendType::jellyfin, std::move(fake));
    ShowCache shows;
    CHECK_THROWS_MATCHES(
        list(*h.backend, {{"lib-1", "Movies", LibraryKind::movies}}, shows), ws::Error,
        Catch::Predicate<ws::Error>([](const ws::Error& e) { return e.code() == Errc::no_perm; }));
  }
  SECTION("malformed JSON is a protocol error") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get(k_items, {"Limit=0"}, count_json(1));
    fake->on_get(k_items, {"Limit=1000"}, R"({"Items":[{"Id":"1",)");
    auto h = make(BackendType::jellyfin, std::move(fake));
    ShowCache shows;
    try {
      list(*h.backend, {{"lib-1", "Movies", LibraryKind::movies}}, shows);
      FAIL("no exception");
    } catch (const ws::Error& e) {
      CHECK(e.code() == Errc::protocol);
      const std::string message = e.what();
      CHECK(message.rfind("jelly_home: item page from /Users/user-1/Items?", 0) == 0);
      CHECK(message.find(k_token) == std::string::npos);
    }
  }
  SECTION("a count without TotalRecordCount is a protocol error") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get(k_items, {"Limit=0"}, R"({"Items":[]})");
    auto h = make(BackendType::emby, std::move(fake));
    ShowCache shows;
    CHECK_THROWS_MATCHES(
        list(*h.backend, {{"lib-1", "Movies", LibraryKind::movies}}, shows), ws::Error,
        Catch::Predicate<ws::Error>([](const ws::Error& e) { return e.code() == Errc::protocol; }));
  }
  SECTION("a library list that is not an object is a protocol error") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get("/Users/user-1/Views", "[]");
    auto h = make(BackendType::jellyfin, std::move(fake));
    CHECK_THROWS_MATCHES(
        h.backend->libraries(), ws::Error,
        Catch::Predicate<ws::Error>([](const ws::Error& e) { return e.code() == Errc::protocol; }));
  }
  SECTION("502 and transport errors are tempfail") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on(Method::get, "/System/Info", ws::test::text_response(502));
    fake->on_transport_error(Method::get, "/Users/user-1/Views", ws::http::TransportError::timeout);
    auto h = make(BackendType::jellyfin, std::move(fake));
    CHECK_THROWS_MATCHES(
        h.backend->server_info(), ws::Error,
        Catch::Predicate<ws::Error>([](const ws::Error& e) { return e.code() == Errc::tempfail; }));
    CHECK_THROWS_MATCHES(
        h.backend->libraries(), ws::Error,
        Catch::Predicate<ws::Error>([](const ws::Error& e) { return e.code() == Errc::tempfail; }));
  }
  SECTION("a missing series (404) leaves the episode unresolved") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get(k_items, {"Limit=0"}, count_json(1));
    fake->on_get(k_items, {"IncludeItemTypes=Series"}, items_json({}, 0));
    fake->on_get(
        k_items, {"Limit=1000"},
        items_json(
            {R"({"Id":"e","Type":"Episode","SeriesId":"gone","IndexNumber":1,"ParentIndexNumber":1})"},
            1));
    fake->on(Method::get, "/Users/user-1/Items/gone", ws::test::text_response(404));
    auto h = make(BackendType::jellyfin, std::move(fake));
    ShowCache shows;
    const auto items = list(*h.backend, {{"lib-2", "Shows", LibraryKind::shows}}, shows);
    REQUIRE(items.size() == 1);
    CHECK(items[0].show_id == "gone");
    CHECK(shows.empty());
  }
}

TEST_CASE("backend::mediabrowser needs a user", "[backend][jellyfin]") {
  auto fake = std::make_unique<FakeHttpClient>();
  auto c = connection(BackendType::jellyfin);
  c.user.clear();
  auto backend = ws::backend::make_backend(c, std::move(fake));
  CHECK_THROWS_MATCHES(
      backend->libraries(), ws::Error,
      Catch::Predicate<ws::Error>([](const ws::Error& e) { return e.code() == Errc::config; }));
}

TEST_CASE("backend::mediabrowser custom guid rules reach items and shows",
          "[backend][jellyfin][emby][guid]") {
  const auto run = [](BackendType type, const ws::model::CustomGuidRules& rules, ShowCache& shows) {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get(k_items, {"ParentId=lib-1", "Limit=0"}, count_json(1));
    fake->on_get(k_items, {"ParentId=lib-2", "Limit=0"}, count_json(1));
    fake->on_get(k_items, {"ParentId=lib-1", "Limit=1000"},
                 items_json({R"({"Id":"movie-1","Name":"Custom","Type":"Movie",)"
                             R"("DateCreated":"2024-01-01T00:00:00Z",)"
                             R"("ProviderIds":{"MyDb":"4242","Imdb":"tt10"},)"
                             R"("UserData":{"Played":false}})"},
                            1));
    fake->on_get(k_items, {"ParentId=lib-2", "IncludeItemTypes=Series"},
                 items_json({R"({"Id":"series-1","Name":"Show","Type":"Series",)"
                             R"("ProviderIds":{"mydb":"777"}})"},
                            1));
    fake->on_get(k_items, {"ParentId=lib-2", "Limit=1000"},
                 items_json({R"({"Id":"episode-1","Name":"Pilot","Type":"Episode",)"
                             R"("SeriesId":"series-1","ParentIndexNumber":1,"IndexNumber":1,)"
                             R"("DateCreated":"2024-01-01T00:00:00Z",)"
                             R"("ProviderIds":{"MYDB":"99","Tvdb":"20"},)"
                             R"("UserData":{"Played":true}})"},
                            1));
    auto c = connection(type);
    c.guid_rules = rules;
    auto backend = ws::backend::make_backend(c, std::move(fake));
    return list(*backend,
                {{"lib-1", "Movies", LibraryKind::movies}, {"lib-2", "Shows", LibraryKind::shows}},
                shows);
  };
  for (const auto type : k_types) {
    CAPTURE(ws::model::backend_type_name(type));
    ShowCache shows;
    const auto items = run(type, {ws::model::CustomGuidRule{{}, "MyDb", GuidKey::tmdb}}, shows);
    REQUIRE(items.size() == 2);
    CHECK(items[0].id == "episode-1");
    CHECK(items[0].guids == Guids{{GuidKey::tmdb, "99"}, {GuidKey::tvdb, "20"}});
    CHECK(items[1].id == "movie-1");
    CHECK(items[1].guids == Guids{{GuidKey::imdb, "tt10"}, {GuidKey::tmdb, "4242"}});
    REQUIRE(shows.count("series-1") == 1);
    CHECK(shows["series-1"].guids == Guids{{GuidKey::tmdb, "777"}});

    // Without rules the key is unknown and its ids are left out.
    ShowCache plain_shows;
    const auto plain = run(type, {}, plain_shows);
    REQUIRE(plain.size() == 2);
    CHECK(plain[0].guids == Guids{{GuidKey::tvdb, "20"}});
    CHECK(plain[1].guids == Guids{{GuidKey::imdb, "tt10"}});
    CHECK(plain_shows["series-1"].guids.empty());
  }
}

TEST_CASE("backend::mediabrowser fill_library_roots", "[backend][jellyfin][emby]") {
  constexpr const char* k_views =
      R"({"Items":[{"Id":"f137a2dd21bbc1b99aa5c0f6bf02a805","Name":"Movies",)"
      R"("CollectionType":"movies","Type":"CollectionFolder"},)"
      R"({"Id":"3","Name":"Shows","CollectionType":"tvshows","Type":"CollectionFolder"},)"
      R"({"Id":"9","Name":"Mixed","Type":"CollectionFolder"}],)"
      R"("TotalRecordCount":3})";
  // Jellyfin writes ItemId without dashes, Emby may not; any case. Music is not a listed library.
  constexpr const char* k_folders =
      R"([{"Name":"Movies","Locations":["/data/movies","/mnt/more movies"],)"
      R"("CollectionType":"movies","ItemId":"F137A2DD-21BB-C1B9-9AA5-C0F6BF02A805"},)"
      R"({"Name":"Shows","Locations":["D:\\TV"],"CollectionType":"tvshows","ItemId":3},)"
      R"({"Name":"Music","Locations":["/data/music"],"CollectionType":"music","ItemId":"4"},)"
      R"({"Name":"Broken","CollectionType":"movies","ItemId":"9"},)"
      R"({"Name":"No id","Locations":["/x"]}])";
  for (const auto type : k_types) {
    CAPTURE(ws::model::backend_type_name(type));
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get("/Users/user-1/Views", k_views);
    fake->on_get("/Library/VirtualFolders", k_folders);
    auto h = make(type, std::move(fake));
    auto libraries = h.backend->libraries();
    REQUIRE(libraries.size() == 3);
    for (const auto& library : libraries) {
      CHECK(library.roots.empty()); // not without asking
    }
    CHECK(h.recorded->requests.size() == 1);

    libraries[2].roots = {"/kept"};
    h.backend->fill_library_roots(libraries);
    CHECK(h.recorded->unmatched.empty());
    CHECK(h.recorded->count(Method::get, "/Library/VirtualFolders") == 1);
    CHECK(h.recorded->requests.size() == 2);
    const auto& request = h.recorded->requests.back();
    CHECK(request.url == "http://127.0.0.1:8096/Library/VirtualFolders");
    CHECK(header_of(request.headers, "Authorization")->find(k_token) != std::string::npos);
    CHECK(libraries[0].roots == std::vector<std::string>{"/data/movies", "/mnt/more movies"});
    CHECK(libraries[1].roots == std::vector<std::string>{"D:\\TV"});
    // A folder without Locations changes nothing.
    CHECK(libraries[2].roots == std::vector<std::string>{"/kept"});
  }
}

TEST_CASE("backend::mediabrowser fill_library_roots failures", "[backend][jellyfin][emby]") {
  std::vector<Library> libraries{{"lib-1", "Movies", LibraryKind::movies}};
  SECTION("no libraries, no request") {
    auto fake = std::make_unique<FakeHttpClient>();
    auto h = make(BackendType::jellyfin, std::move(fake));
    std::vector<Library> none;
    h.backend->fill_library_roots(none);
    CHECK(h.recorded->requests.empty());
  }
  SECTION("401 and 403 are no_perm") {
    for (const long status : {401L, 403L}) {
      CAPTURE(status);
      auto fake = std::make_unique<FakeHttpClient>();
      fake->on(Method::get, "/Library/VirtualFolders", ws::test::text_response(status));
      auto h = make(BackendType::emby, std::move(fake));
      CHECK_THROWS_MATCHES(h.backend->fill_library_roots(libraries), ws::Error,
                           Catch::Predicate<ws::Error>(
                               [](const ws::Error& e) { return e.code() == Errc::no_perm; }));
      CHECK(libraries[0].roots.empty());
    }
  }
  SECTION("a body that is not an array is a protocol error") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get("/Library/VirtualFolders", R"({"Items":[]})");
    auto h = make(BackendType::jellyfin, std::move(fake));
    try {
      h.backend->fill_library_roots(libraries);
      FAIL("no exception");
    } catch (const ws::Error& e) {
      CHECK(e.code() == Errc::protocol);
      CHECK(std::string(e.what()).rfind("jelly_home: library folders from /Library/VirtualFolders",
                                        0) == 0);
    }
  }
}

TEST_CASE("backend::mediabrowser episodes go out with their series as listed now",
          "[backend][jellyfin][emby]") {
  for (const bool reversed : {false, true}) {
    CAPTURE(reversed);
    auto fake = std::make_unique<FakeHttpClient>();
    // Item pages may complete before the series list: their episodes wait for it.
    fake->set_reverse_completion(reversed);
    fake->on_get(k_items, {"ParentId=lib-2", "Limit=0"}, count_json(1));
    fake->on_get(
        k_items, {"ParentId=lib-2", "IncludeItemTypes=Series"},
        items_json({R"({"Id":"series-1","Name":"Show","Type":"Series","ProductionYear":2019,)"
                    R"("ProviderIds":{"Tvdb":"200","Tmdb":"300"}})"},
                   1));
    fake->on_get(
        k_items, {"ParentId=lib-2", "Limit=1000"},
        items_json({R"({"Id":"episode-1","Name":"Pilot","Type":"Episode","SeriesName":"Show",)"
                    R"("SeriesId":"series-1","ParentIndexNumber":1,"IndexNumber":1,)"
                    R"("UserData":{"Played":false}})"},
                   1));
    auto h = make(BackendType::jellyfin, std::move(fake));
    // The cache of the last run knew the series by an id the server has since corrected.
    ShowCache shows;
    shows["series-1"] =
        ws::model::RemoteShow{"series-1", "Show", 2019, {{GuidKey::tvdb, "999"}}, {}};
    std::vector<std::pair<std::string, Guids>> seen;
    const std::vector<Library> libraries{{"lib-2", "Shows", LibraryKind::shows}};
    h.backend->list_items(libraries, shows, [&](RemoteItem&& item) {
      seen.emplace_back(item.id, shows.at(item.show_id).guids);
    });
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].second == Guids{{GuidKey::tmdb, "300"}, {GuidKey::tvdb, "200"}});
  }
}
