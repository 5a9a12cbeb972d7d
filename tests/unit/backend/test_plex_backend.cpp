// SPDX-License-Identifier: MIT
#include <watchstate/backend/backend.hpp>
#include <watchstate/core/error.hpp>

#include "support/fake_http_client.hpp"
#include "unit/backend/fixture_bodies.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <map>

using ws::Errc;
using ws::backend::Library;
using ws::backend::LibraryKind;
using ws::backend::RemoteItem;
using ws::http::Method;
using ws::model::Guid;
using ws::model::GuidKey;
using ws::model::Guids;
using ws::model::MediaType;
using ws::model::ShowCache;
using ws::test::FakeHttpClient;
using ws::test::header_of;
using ws::test::json_response;
using ws::test::query_param;

namespace {

constexpr const char* k_token = "plex-secret-token-123";

ws::backend::Connection plex_connection(int page_size = 1000) {
  ws::backend::Connection c;
  c.name = "plex_home";
  c.type = ws::model::BackendType::plex;
  c.url = "http://127.0.0.1:32400";
  c.token = k_token;
  c.page_size = page_size;
  return c;
}

struct Harness {
  std::shared_ptr<const FakeHttpClient::State> recorded;
  std::unique_ptr<ws::backend::Backend> backend;
};

Harness make(std::unique_ptr<FakeHttpClient> fake, int page_size = 1000) {
  auto recorded = fake->recorder();
  auto backend = ws::backend::make_backend(plex_connection(page_size), std::move(fake));
  return Harness{recorded, std::move(backend)};
}

ws::http::Response count_response(long total) {
  return json_response(R"({"MediaContainer":{"size":0,"offset":0}})", 200,
                       {{"X-Plex-Container-Total-Size", std::to_string(total)}});
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

// An episode entry for handwritten pages.
std::string episode_json(const std::string& id, const std::string& show, int season, int episode,
                         const std::string& file, const std::string& extra = {}) {
  return fmt::format(
      R"({{"ratingKey":"{}","type":"episode","grandparentTitle":"Show {}","grandparentRatingKey":"{}",)"
      R"("parentRatingKey":"s{}","parentIndex":{},"index":{},"addedAt":1700000000,"year":2020,)"
      R"("Guid":[{{"id":"tvdb://{}"}}],"Media":[{{"Part":[{{"file":"{}"}}]}}]{}}})",
      id, show, show, show, season, episode, id, file, extra);
}

std::string page_json(const std::vector<std::string>& entries, long total) {
  std::string joined;
  for (const auto& e : entries) {
    joined += (joined.empty() ? "" : ",") + e;
  }
  return fmt::format(
      R"({{"MediaContainer":{{"size":{},"totalSize":{},"librarySectionID":2,"Metadata":[{}]}}}})",
      entries.size(), total, joined);
}

} // namespace

TEST_CASE("backend::plex server_info and headers", "[backend][plex]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on_get("/", ws::test::plex_fixture_body("server_info_get_200"));
  auto h = make(std::move(fake));

  const auto info = h.backend->server_info();
  CHECK(info.id == "plex-server-1");
  CHECK(info.name == "Plex Test");
  CHECK(info.version == "1.40.0.0");

  REQUIRE(h.recorded->requests.size() == 1);
  const auto& request = h.recorded->requests[0];
  CHECK(request.url == "http://127.0.0.1:32400/");
  CHECK(header_of(request.headers, "Accept") == "application/json");
  CHECK(header_of(request.headers, "X-Plex-Token") == k_token);
  const auto client_id = header_of(request.headers, "X-Plex-Client-Identifier");
  REQUIRE(client_id.has_value());
  CHECK_FALSE(client_id->empty());
  CHECK(header_of(request.headers, "X-Plex-Product").has_value());
  CHECK(h.backend->requests_sent() == 1);

  // The identifier is stable: a second adapter sends the same one.
  auto again = std::make_unique<FakeHttpClient>();
  again->on_get("/", ws::test::plex_fixture_body("server_info_get_200"));
  auto h2 = make(std::move(again));
  h2.backend->server_info();
  CHECK(header_of(h2.recorded->requests[0].headers, "X-Plex-Client-Identifier") == client_id);
}

TEST_CASE("backend::plex errors", "[backend][plex]") {
  SECTION("500 is a temporary failure naming backend and path") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on(Method::get, "/",
             json_response(ws::test::plex_fixture_body("server_info_get_500"), 500));
    auto h = make(std::move(fake));
    try {
      h.backend->server_info();
      FAIL("no exception");
    } catch (const ws::Error& e) {
      CHECK(e.code() == Errc::tempfail);
      const std::string message = e.what();
      CHECK(message.find("plex_home") != std::string::npos);
      CHECK(message.find("500") != std::string::npos);
      CHECK(message.find(k_token) == std::string::npos);
    }
  }
  SECTION("401 is no_perm") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on(Method::get, "/library/sections",
             ws::test::text_response(401, ws::test::plex_fixture_body("sections_get_401")));
    auto h = make(std::move(fake));
    try {
      h.backend->libraries();
      FAIL("no exception");
    } catch (const ws::Error& e) {
      CHECK(e.code() == Errc::no_perm);
      // The message says where a Plex token comes from.
      CHECK(std::string(e.what()) == "plex_home: the server refused the token (HTTP 401); a Plex "
                                     "token comes from `ws-config plex-login`, or Plex Web's View "
                                     "XML (the X-Plex-Token in its address)");
    }
  }
  SECTION("403 is no_perm") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on(Method::get, "/library/sections", ws::test::text_response(403));
    auto h = make(std::move(fake));
    CHECK_THROWS_MATCHES(
        h.backend->libraries(), ws::Error,
        Catch::Predicate<ws::Error>([](const ws::Error& e) { return e.code() == Errc::no_perm; }));
  }
  SECTION("a transport failure is tempfail") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_transport_error(Method::get, "/library/sections", ws::http::TransportError::connect,
                             "connection refused");
    auto h = make(std::move(fake));
    try {
      h.backend->libraries();
      FAIL("no exception");
    } catch (const ws::Error& e) {
      CHECK(e.code() == Errc::tempfail);
      CHECK(std::string(e.what()).find("/library/sections") != std::string::npos);
    }
  }
  SECTION("an unparsable body is a protocol error") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get("/library/sections", R"({"MediaContainer":{"Directory":[)");
    auto h = make(std::move(fake));
    try {
      h.backend->libraries();
      FAIL("no exception");
    } catch (const ws::Error& e) {
      CHECK(e.code() == Errc::protocol);
      const std::string message = e.what();
      CHECK(message.rfind("plex_home: library list from /library/sections: ", 0) == 0);
    }
  }
  SECTION("XML instead of JSON is a protocol error") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get("/", R"(<?xml version="1.0"?><MediaContainer/>)");
    auto h = make(std::move(fake));
    CHECK_THROWS_AS(h.backend->server_info(), ws::Error);
  }
  SECTION("a body without MediaContainer is a protocol error") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get("/", R"({"error":"x"})");
    auto h = make(std::move(fake));
    CHECK_THROWS_MATCHES(
        h.backend->server_info(), ws::Error,
        Catch::Predicate<ws::Error>([](const ws::Error& e) { return e.code() == Errc::protocol; }));
  }
}

TEST_CASE("backend::plex libraries", "[backend][plex]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on_get("/library/sections", ws::test::plex_fixture_body("sections_get_200"));
  auto h = make(std::move(fake));
  const auto libraries = h.backend->libraries();
  REQUIRE(libraries.size() == 3);
  CHECK(libraries[0].id == "1");
  CHECK(libraries[0].title == "Movies");
  CHECK(libraries[0].kind == LibraryKind::movies);
  CHECK(libraries[1].id == "2");
  CHECK(libraries[1].kind == LibraryKind::shows);
  CHECK(libraries[2].title == "Non matched content");

  auto other = std::make_unique<FakeHttpClient>();
  other->on_get(
      "/library/sections",
      R"({"MediaContainer":{"Directory":[{"key":"7","type":"artist","title":"Music"},)"
      R"({"key":8,"type":"photo","title":"Photos"},{"key":9,"type":"movie","title":"Films"}]}})");
  auto h2 = make(std::move(other));
  const auto only_movies = h2.backend->libraries();
  REQUIRE(only_movies.size() == 1);
  CHECK(only_movies[0].id == "9");
}

TEST_CASE("backend::plex list_items with the WatchState fixture", "[backend][plex]") {
  auto fake = std::make_unique<FakeHttpClient>();
  // Count requests answer through the header only; pages with the recorded bodies.
  fake->on(Method::get, "/library/sections/1/all", {"type=1", "X-Plex-Container-Size=0"},
           count_response(1));
  fake->on(Method::get, "/library/sections/2/all", {"type=2", "X-Plex-Container-Size=0"},
           count_response(1));
  fake->on(Method::get, "/library/sections/2/all", {"type=4", "X-Plex-Container-Size=0"},
           count_response(1));
  fake->on(Method::get, "/library/sections/1/all", {"type=1", "X-Plex-Container-Size=1000"},
           json_response(ws::test::plex_fixture_body("library_movie_get_200")));
  fake->on(Method::get, "/library/sections/2/all", {"type=2", "X-Plex-Container-Size=1000"},
           json_response(ws::test::plex_fixture_body("library_show_get_200")));
  fake->on(Method::get, "/library/sections/2/all", {"type=4", "X-Plex-Container-Size=1000"},
           json_response(ws::test::plex_fixture_body("library_episodes_get_200")));
  auto h = make(std::move(fake));

  const std::vector<Library> libraries{{"1", "Movies", LibraryKind::movies},
                                       {"2", "TV Shows", LibraryKind::shows}};
  ShowCache shows;
  const auto items = list(*h.backend, libraries, shows);

  // Requests: one batch of 3 counts, the show page, then the movie and episode pages (shows
  // first, so that every episode goes out with its show as listed now), nothing else.
  const auto& rec = *h.recorded;
  CHECK(rec.unmatched.empty());
  CHECK(rec.batch_sizes == std::vector<std::size_t>{3, 1, 2});
  for (const auto& request : rec.requests) {
    CHECK(query_param(request.url, "includeGuids") == "1");
    CHECK(header_of(request.headers, "X-Plex-Token") == k_token);
    CHECK(header_of(request.headers, "X-Plex-Container-Start") == "0");
    CHECK(header_of(request.headers, "X-Plex-Container-Size") ==
          query_param(request.url, "X-Plex-Container-Size"));
    CHECK(query_param(request.url, "X-Plex-Container-Start") == "0");
    // Every listing leaves out what the parser never reads (PMS "Response Customization").
    CHECK(query_param(request.url, "excludeFields") == "summary,tagline");
    const auto elements = query_param(request.url, "excludeElements");
    REQUIRE(elements.has_value());
    CHECK(elements->find("Genre") != std::string::npos);
    CHECK(elements->find("Media") == std::string::npos); // Media/Part holds the file
  }
  const auto movie_pages =
      rec.matching(Method::get, "/library/sections/1/all", {"X-Plex-Container-Size=1000"});
  REQUIRE(movie_pages.size() == 1);
  CHECK(query_param(movie_pages[0].url, "sort") == "addedAt");
  CHECK(query_param(movie_pages[0].url, "type") == "1");
  const auto episode_pages = rec.matching(Method::get, "/library/sections/2/all",
                                          {"type=4", "X-Plex-Container-Size=1000"});
  REQUIRE(episode_pages.size() == 1);
  CHECK(query_param(episode_pages[0].url, "sort") == "episode.addedAt");
  CHECK(rec.count(Method::get, "/library/metadata/3") == 0);

  REQUIRE(items.size() == 2);
  const auto& movie = items[0];
  CHECK(movie.type == MediaType::movie);
  CHECK(movie.id == "1");
  CHECK(movie.title == "Ferengi: Rules of Acquisition");
  CHECK(movie.year == 2000);
  CHECK_FALSE(movie.played);
  CHECK(movie.last_played == 0);
  CHECK(movie.added_at == 1159501116);
  CHECK(movie.progress_ms == 0);
  CHECK(movie.duration_ms == 6989056);
  CHECK(movie.library_id == "1");
  CHECK(movie.path == "/storage/media/movies/Ferengi Rules of Acquisition (2000)/"
                      "Ferengi Rules of Acquisition (2000).mp4");
  CHECK(movie.guids ==
        Guids{{GuidKey::imdb, "tt0000001"}, {GuidKey::tmdb, "1"}, {GuidKey::tvdb, "1"}});
  CHECK_FALSE(movie.multi);

  const auto& episode = items[1];
  CHECK(episode.type == MediaType::episode);
  CHECK(episode.id == "5");
  CHECK(episode.title == "Ferengi StandUp Comedy");
  CHECK(episode.played);
  CHECK(episode.last_played == 1643805016);
  CHECK(episode.progress_ms == 0);
  CHECK(episode.duration_ms == 2654912);
  CHECK(episode.added_at == 1105631952);
  CHECK(episode.season == 1);
  CHECK(episode.episode == 1);
  CHECK(episode.show_id == "3");
  CHECK(episode.library_id == "2");
  CHECK(episode.year == 2002); // from originallyAvailableAt
  CHECK_FALSE(episode.multi);
  CHECK(episode.guids ==
        Guids{{GuidKey::imdb, "tt0000004"}, {GuidKey::tmdb, "4"}, {GuidKey::tvdb, "4"}});

  REQUIRE(shows.count("3") == 1);
  CHECK(shows["3"].title == "Ferengi StandUp Comedy");
  CHECK(shows["3"].year == 2002);
  CHECK(shows["3"].guids == Guids{{GuidKey::tmdb, "3"}, {GuidKey::tvdb, "3"}});
}

TEST_CASE("backend::plex count falls back to totalSize", "[backend][plex]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on_get("/library/sections/1/all", {"X-Plex-Container-Size=0"},
               R"({"MediaContainer":{"size":0,"totalSize":0}})");
  auto h = make(std::move(fake));
  ShowCache shows;
  const auto items = list(*h.backend, {{"1", "Movies", LibraryKind::movies}}, shows);
  CHECK(items.empty());
  CHECK(h.recorded->requests.size() == 1);

  auto broken = std::make_unique<FakeHttpClient>();
  broken->on_get("/library/sections/1/all", {"X-Plex-Container-Size=0"},
                 R"({"MediaContainer":{"size":0}})");
  auto h2 = make(std::move(broken));
  CHECK_THROWS_MATCHES(
      list(*h2.backend, {{"1", "Movies", LibraryKind::movies}}, shows), ws::Error,
      Catch::Predicate<ws::Error>([](const ws::Error& e) { return e.code() == Errc::protocol; }));
}

namespace {

// A fake movie library of `total` items that serves any window, at most `cap` items per answer.
void serve_movies(FakeHttpClient& fake, int total, int cap) {
  fake.on(Method::get, "/library/sections/1/all", {"X-Plex-Container-Size=0"},
          count_response(total));
  fake.on_call(
      Method::get, "/library/sections/1/all", {"X-Plex-Container-Start="},
      [total, cap](const ws::http::Request& request) {
        const int start = std::stoi(*query_param(request.url, "X-Plex-Container-Start"));
        const int size = std::stoi(*query_param(request.url, "X-Plex-Container-Size"));
        std::vector<std::string> entries;
        for (int i = start; i < std::min(total, start + std::min(size, cap)); ++i) {
          entries.push_back(fmt::format(
              R"({{"ratingKey":{},"type":"movie","title":"M{}","addedAt":{},"librarySectionID":1,)"
              R"("viewCount":"{}","viewOffset":1234,"Guid":[{{"id":"tmdb://{}"}}]}})",
              i + 100, i, 1600000000 + i, i % 2, i + 1));
        }
        ws::http::Outcome outcome;
        outcome.response = json_response(
            fmt::format(R"({{"MediaContainer":{{"offset":{},"totalSize":{},"Metadata":[{}]}}}})",
                        start, total, fmt::join(entries, ",")));
        return outcome;
      });
}

} // namespace

TEST_CASE("backend::plex paging", "[backend][plex]") {
  SECTION("pages of page_size, all in one batch") {
    auto fake = std::make_unique<FakeHttpClient>();
    serve_movies(*fake, 5, 100);
    auto h = make(std::move(fake), 2);
    ShowCache shows;
    const auto items = list(*h.backend, {{"1", "Movies", LibraryKind::movies}}, shows);
    REQUIRE(items.size() == 5);
    CHECK(h.recorded->batch_sizes == std::vector<std::size_t>{1, 3});
    std::vector<std::string> starts;
    for (const auto& request : h.recorded->matching(Method::get, "/library/sections/1/all",
                                                    {"X-Plex-Container-Size=2"})) {
      starts.push_back(*header_of(request.headers, "X-Plex-Container-Start"));
      CHECK(header_of(request.headers, "X-Plex-Container-Size") == "2");
    }
    CHECK(starts == std::vector<std::string>{"0", "2", "4"});
    // Numbers written as numbers or strings are read alike.
    CHECK(items[0].id == "100");
    CHECK(items[0].library_id == "1");
    CHECK_FALSE(items[0].played);
    CHECK(items[0].progress_ms == 1234);
    CHECK(items[1].played);
    CHECK(items[1].progress_ms == 1234); // the server's resume position, also when played
  }
  SECTION("short pages are completed from totalSize") {
    auto fake = std::make_unique<FakeHttpClient>();
    serve_movies(*fake, 7, 2);
    auto h = make(std::move(fake), 3);
    ShowCache shows;
    const auto items = list(*h.backend, {{"1", "Movies", LibraryKind::movies}}, shows);
    REQUIRE(items.size() == 7);
    std::vector<std::string> ids;
    for (const auto& item : items) {
      ids.push_back(item.id);
    }
    CHECK(ids == std::vector<std::string>{"100", "101", "102", "103", "104", "105", "106"});
    // 1 count batch, 3 planned pages, then the remainders of pages 0 and 1.
    CHECK(h.recorded->batch_sizes == std::vector<std::size_t>{1, 3, 2});
  }
}

TEST_CASE("backend::plex resolves unknown shows once", "[backend][plex]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->set_reverse_completion(true);
  fake->on(Method::get, "/library/sections/2/all", {"X-Plex-Container-Size=0", "type=2"},
           count_response(1));
  fake->on(Method::get, "/library/sections/2/all", {"X-Plex-Container-Size=0", "type=4"},
           count_response(3));
  // The series page lists show 10 only; episodes of show 20 need a metadata lookup.
  fake->on_get("/library/sections/2/all", {"type=2", "X-Plex-Container-Size=1000"},
               R"({"MediaContainer":{"totalSize":1,"Metadata":[{"ratingKey":"10","type":"show",)"
               R"("title":"Ten","year":2010,"Guid":[{"id":"tvdb://1010"}]}]}})");
  fake->on_get("/library/sections/2/all", {"type=4", "X-Plex-Container-Size=1000"},
               page_json({episode_json("1", "10", 1, 1, "/tv/Ten/S01E01.mkv"),
                          episode_json("2", "20", 1, 1, "/tv/Twenty/S01E01.mkv"),
                          episode_json("3", "20", 1, 2, "/tv/Twenty/S01E02.mkv")},
                         3));
  fake->on_get(
      "/library/metadata/20", {"includeGuids=1"},
      R"({"MediaContainer":{"Metadata":[{"ratingKey":"20","type":"show","title":"Twenty",)"
      R"("guid":"com.plexapp.agents.thetvdb://2020?lang=en","originallyAvailableAt":"2020-03-04"}]}})");
  auto h = make(std::move(fake));

  ShowCache shows;
  std::vector<std::string> order;
  std::vector<bool> show_known;
  h.backend->list_items({{"2", "TV", LibraryKind::shows}}, shows, [&](RemoteItem&& item) {
    order.push_back(item.id);
    show_known.push_back(shows.count(item.show_id) == 1);
  });
  CHECK(h.recorded->unmatched.empty());
  CHECK(h.recorded->count(Method::get, "/library/metadata/20") == 1);
  CHECK(h.recorded->count(Method::get, "/library/metadata/10") == 0);
  CHECK(order.size() == 3);
  // Every episode is handed on once its show is known.
  CHECK(std::all_of(show_known.begin(), show_known.end(), [](bool b) { return b; }));
  REQUIRE(shows.count("20") == 1);
  CHECK(shows["20"].title == "Twenty");
  CHECK(shows["20"].year == 2020);
  CHECK(shows["20"].guids == Guids{{GuidKey::tvdb, "2020"}});
  CHECK(shows["10"].guids == Guids{{GuidKey::tvdb, "1010"}});

  SECTION("a show already cached is not fetched") {
    auto again = std::make_unique<FakeHttpClient>();
    again->on(Method::get, "/library/sections/2/all", {"X-Plex-Container-Size=0", "type=2"},
              count_response(0));
    again->on(Method::get, "/library/sections/2/all", {"X-Plex-Container-Size=0", "type=4"},
              count_response(1));
    again->on_get("/library/sections/2/all", {"type=4", "X-Plex-Container-Size=1000"},
                  page_json({episode_json("2", "20", 1, 1, "/tv/Twenty/S01E01.mkv")}, 1));
    auto h2 = make(std::move(again));
    const auto items = list(*h2.backend, {{"2", "TV", LibraryKind::shows}}, shows);
    CHECK(items.size() == 1);
    CHECK(h2.recorded->count(Method::get, "/library/metadata/20") == 0);
  }
}

TEST_CASE("backend::plex episodes go out with their show as listed now", "[backend][plex]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->set_reverse_completion(true);
  fake->on(Method::get, "/library/sections/2/all", {"X-Plex-Container-Size=0", "type=2"},
           count_response(1));
  fake->on(Method::get, "/library/sections/2/all", {"X-Plex-Container-Size=0", "type=4"},
           count_response(1));
  fake->on_get("/library/sections/2/all", {"type=2", "X-Plex-Container-Size=1000"},
               R"({"MediaContainer":{"totalSize":1,"Metadata":[{"ratingKey":"10","type":"show",)"
               R"("title":"Ten","year":2010,"Guid":[{"id":"tvdb://1010"},{"id":"tmdb://77"}]}]}})");
  fake->on_get("/library/sections/2/all", {"type=4", "X-Plex-Container-Size=1000"},
               page_json({episode_json("1", "10", 1, 1, "/tv/Ten/S01E01.mkv")}, 1));
  auto h = make(std::move(fake));
  // The last run knew show 10 by an id the server has since corrected (a Fix Match).
  ShowCache shows;
  shows["10"] = ws::model::RemoteShow{"10", "Ten", 2010, {{GuidKey::tvdb, "9999"}}, {}};
  std::vector<Guids> seen;
  h.backend->list_items({{"2", "TV", LibraryKind::shows}}, shows,
                        [&](RemoteItem&& item) { seen.push_back(shows.at(item.show_id).guids); });
  CHECK(h.recorded->batch_sizes == std::vector<std::size_t>{2, 1, 1}); // counts, shows, episodes
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == Guids{{GuidKey::tmdb, "77"}, {GuidKey::tvdb, "1010"}});
}

TEST_CASE("backend::plex multi-episode files", "[backend][plex]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on(Method::get, "/library/sections/2/all", {"X-Plex-Container-Size=0", "type=2"},
           count_response(1));
  fake->on(Method::get, "/library/sections/2/all", {"X-Plex-Container-Size=0", "type=4"},
           count_response(4));
  fake->on_get(
      "/library/sections/2/all", {"type=2", "X-Plex-Container-Size=1000"},
      R"({"MediaContainer":{"totalSize":1,"Metadata":[{"ratingKey":"9","type":"show","title":"S"}]}})");
  fake->on_get("/library/sections/2/all", {"type=4", "X-Plex-Container-Size=1000"},
               page_json({episode_json("1", "9", 1, 1, "/tv/S/Season 1/S - S01E01-E03.mkv",
                                       R"(,"viewCount":1,"lastViewedAt":1700000500)"),
                          // The range does not start at this episode: one item, flagged multi.
                          episode_json("2", "9", 1, 5, "/tv/S/Season 1/S - S01E04-E05.mkv"),
                          // Longer than 5 episodes: one item.
                          episode_json("3", "9", 2, 1, "/tv/S/Season 2/S - S02E01-E07.mkv"),
                          // Other season than the file name says: one item.
                          episode_json("4", "9", 3, 1, "/tv/S/Season 3/S - S02E01-E02.mkv")},
                         4));
  auto h = make(std::move(fake));
  ShowCache shows;
  const auto items = list(*h.backend, {{"2", "TV", LibraryKind::shows}}, shows);
  REQUIRE(items.size() == 6);
  for (int i = 0; i < 3; ++i) {
    CHECK(items[static_cast<std::size_t>(i)].id == "1");
    CHECK(items[static_cast<std::size_t>(i)].episode == i + 1);
    CHECK(items[static_cast<std::size_t>(i)].season == 1);
    CHECK(items[static_cast<std::size_t>(i)].multi);
    CHECK(items[static_cast<std::size_t>(i)].played);
    CHECK(items[static_cast<std::size_t>(i)].last_played == 1700000500);
  }
  CHECK(items[3].id == "2");
  CHECK(items[3].episode == 5);
  CHECK(items[3].multi);
  CHECK(items[4].id == "3");
  CHECK(items[4].episode == 1);
  CHECK(items[4].multi);
  CHECK(items[5].id == "4");
  CHECK(items[5].season == 3);
}

TEST_CASE("backend::plex page errors", "[backend][plex]") {
  SECTION("malformed page JSON") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on(Method::get, "/library/sections/1/all", {"X-Plex-Container-Size=0"},
             count_response(1));
    fake->on_get("/library/sections/1/all", {"X-Plex-Container-Size=1000"}, "{not json");
    auto h = make(std::move(fake));
    ShowCache shows;
    try {
      list(*h.backend, {{"1", "Movies", LibraryKind::movies}}, shows);
      FAIL("no exception");
    } catch (const ws::Error& e) {
      CHECK(e.code() == Errc::protocol);
      CHECK(std::string(e.what()).find("plex_home: item page from /library/sections/1/all?") == 0);
      CHECK(std::string(e.what()).find(k_token) == std::string::npos);
    }
  }
  SECTION("a page failing with 503 fails the listing") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on(Method::get, "/library/sections/1/all", {"X-Plex-Container-Size=0"},
             count_response(1));
    fake->on(Method::get, "/library/sections/1/all", {"X-Plex-Container-Size=1000"},
             ws::test::text_response(503));
    auto h = make(std::move(fake));
    ShowCache shows;
    CHECK_THROWS_MATCHES(
        list(*h.backend, {{"1", "Movies", LibraryKind::movies}}, shows), ws::Error,
        Catch::Predicate<ws::Error>([](const ws::Error& e) { return e.code() == Errc::tempfail; }));
  }
}

TEST_CASE("backend::plex libraries carry their folders", "[backend][plex]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on_get("/library/sections", ws::test::plex_fixture_body("sections_get_200"));
  auto h = make(std::move(fake));
  auto libraries = h.backend->libraries();
  REQUIRE(libraries.size() == 3);
  CHECK(libraries[0].roots == std::vector<std::string>{"/storage/media/movies"});
  CHECK(libraries[1].roots == std::vector<std::string>{"/storage/media/tv"});
  CHECK(libraries[2].roots == std::vector<std::string>{"/storage/media/no_agent"});
  // Already filled from the same answer: no further request.
  h.backend->fill_library_roots(libraries);
  CHECK(libraries[0].roots == std::vector<std::string>{"/storage/media/movies"});
  CHECK(h.recorded->requests.size() == 1);

  auto other = std::make_unique<FakeHttpClient>();
  other->on_get("/library/sections",
                R"({"MediaContainer":{"Directory":[)"
                R"({"key":"1","type":"movie","title":"Films","Location":[{"id":1,"path":"/a"},)"
                R"({"id":2,"path":"/b/films"},{"id":3},{"id":4,"path":""}]},)"
                R"({"key":"2","type":"show","title":"TV"},)"
                R"({"key":"3","type":"show","title":"Odd","Location":{"path":"/x"}}]}})");
  auto h2 = make(std::move(other));
  const auto several = h2.backend->libraries();
  REQUIRE(several.size() == 3);
  CHECK(several[0].roots == std::vector<std::string>{"/a", "/b/films"});
  CHECK(several[1].roots.empty());
  CHECK(several[2].roots.empty());
}

TEST_CASE("backend::plex custom guid rules reach items and shows", "[backend][plex][guid]") {
  const auto run = [](const ws::model::CustomGuidRules& rules, ShowCache& shows) {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on(Method::get, "/library/sections/1/all", {"type=1", "X-Plex-Container-Size=0"},
             count_response(1));
    fake->on(Method::get, "/library/sections/2/all", {"type=2", "X-Plex-Container-Size=0"},
             count_response(1));
    fake->on(Method::get, "/library/sections/2/all", {"type=4", "X-Plex-Container-Size=0"},
             count_response(1));
    fake->on_get("/library/sections/1/all", {"type=1", "X-Plex-Container-Size=1000"},
                 R"({"MediaContainer":{"size":1,"totalSize":1,"Metadata":[{"ratingKey":"10",)"
                 R"("type":"movie","title":"Custom","year":2001,"addedAt":1700000000,)"
                 R"("guid":"com.plexapp.agents.mydb://4242?lang=en",)"
                 R"("Guid":[{"id":"imdb://tt0000010"}],)"
                 R"("Media":[{"Part":[{"file":"/m/c.mkv"}]}]}]}})");
    fake->on_get("/library/sections/2/all", {"type=2", "X-Plex-Container-Size=1000"},
                 R"({"MediaContainer":{"size":1,"totalSize":1,"Metadata":[{"ratingKey":"7",)"
                 R"("type":"show","title":"Show 7","year":2010,)"
                 R"("guid":"COM.PLEXAPP.AGENTS.MYDB://777?lang=en"}]}})");
    fake->on_get("/library/sections/2/all", {"type=4", "X-Plex-Container-Size=1000"},
                 page_json({episode_json("20", "7", 1, 1, "/tv/Show 7/S01E01.mkv",
                                         R"(,"guid":"com.plexapp.agents.mydb://99")")},
                           1));
    auto connection = plex_connection();
    connection.guid_rules = rules;
    auto backend = ws::backend::make_backend(connection, std::move(fake));
    const std::vector<Library> libraries{{"1", "Movies", LibraryKind::movies},
                                         {"2", "TV Shows", LibraryKind::shows}};
    return list(*backend, libraries, shows);
  };

  ShowCache shows;
  const auto items =
      run({ws::model::CustomGuidRule{"com.plexapp.agents.mydb://", {}, GuidKey::tmdb}}, shows);
  REQUIRE(items.size() == 2);
  CHECK(items[0].id == "10");
  CHECK(items[0].guids == Guids{{GuidKey::imdb, "tt0000010"}, {GuidKey::tmdb, "4242"}});
  CHECK(items[1].id == "20");
  CHECK(items[1].guids == Guids{{GuidKey::tmdb, "99"}, {GuidKey::tvdb, "20"}});
  REQUIRE(shows.count("7") == 1);
  CHECK(shows["7"].guids == Guids{{GuidKey::tmdb, "777"}});

  // Without rules the agent is unknown and its ids are left out.
  ShowCache plain_shows;
  const auto plain = run({}, plain_shows);
  REQUIRE(plain.size() == 2);
  CHECK(plain[0].guids == Guids{{GuidKey::imdb, "tt0000010"}});
  CHECK(plain[1].guids == Guids{{GuidKey::tvdb, "20"}});
  CHECK(plain_shows["7"].guids.empty());
}
