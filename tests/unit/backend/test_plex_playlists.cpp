// SPDX-License-Identifier: MIT
// The Plex adapter's playlist calls against a scripted server: what each one sends, how the
// answers (the recorded WatchState fixture shapes among them) are read, and how failures map.
#include "support/fake_http_client.hpp"
#include "unit/backend/fixture_bodies.hpp"

#include <watchstate/backend/backend.hpp>
#include <watchstate/core/error.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <string>
#include <vector>

using ws::Errc;
using ws::Error;
using ws::backend::PlaylistEntry;
using ws::backend::RemotePlaylist;
using ws::http::Method;
using ws::test::FakeHttpClient;
using ws::test::header_of;
using ws::test::json_response;
using ws::test::query_param;
using ws::test::text_response;
using ws::test::url_path;

namespace {

constexpr const char* k_token = "plex-playlist-secret-555";
constexpr const char* k_machine = "0123abcd";
constexpr const char* k_server_info =
    R"({"MediaContainer":{"machineIdentifier":"0123abcd","friendlyName":"Home","version":"1.40"}})";

struct Harness {
  std::shared_ptr<const FakeHttpClient::State> recorded;
  std::unique_ptr<ws::backend::Backend> backend;
};

Harness make(std::unique_ptr<FakeHttpClient> fake, int page_size = 1000) {
  ws::backend::Connection c;
  c.name = "plex_home";
  c.type = ws::model::BackendType::plex;
  c.url = "http://127.0.0.1:32400";
  c.token = k_token;
  c.page_size = page_size;
  auto recorded = fake->recorder();
  return Harness{recorded, ws::backend::make_backend(c, std::move(fake))};
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

// Query parameter `name` of `url`, percent-decoded; "<absent>" when missing.
std::string param(const std::string& url, std::string_view name) {
  const auto raw = query_param(url, name);
  return raw ? percent_decode(*raw) : "<absent>";
}

std::string uri_of(const std::string& ids) {
  return fmt::format("server://{}/com.plexapp.plugins.library/library/metadata/{}", k_machine, ids);
}

// "1,2,...,n" from `first`.
std::string id_range(int first, int count) {
  std::string out;
  for (int i = first; i < first + count; ++i) {
    out += (out.empty() ? "" : ",") + std::to_string(i);
  }
  return out;
}

std::vector<std::string> ids(int first, int count) {
  std::vector<std::string> out;
  for (int i = first; i < first + count; ++i) {
    out.push_back(std::to_string(i));
  }
  return out;
}

// A MediaContainer of playlist entries `ratingKey` r with playlistItemID 100 + r.
std::string entries_json(const std::vector<int>& keys, long total = -1) {
  std::string joined;
  for (const int key : keys) {
    joined += fmt::format(R"({}{{"ratingKey":"{}","type":"movie","playlistItemID":{}}})",
                          joined.empty() ? "" : ",", key, 100 + key);
  }
  return fmt::format(R"({{"MediaContainer":{{"size":{}{},"Metadata":[{}]}}}})", keys.size(),
                     total >= 0 ? fmt::format(R"(,"totalSize":{})", total) : "", joined);
}

// A responder paging `count` entries (ratingKeys 1..count) by X-Plex-Container-Start/-Size.
FakeHttpClient::Responder paged_entries(int count) {
  return [count](const ws::http::Request& request) {
    const int start = std::stoi(query_param(request.url, "X-Plex-Container-Start").value());
    const int size = std::stoi(query_param(request.url, "X-Plex-Container-Size").value());
    std::vector<int> keys;
    for (int k = start + 1; k <= std::min(count, start + size); ++k) {
      keys.push_back(k);
    }
    ws::http::Outcome outcome;
    outcome.response = json_response(entries_json(keys, count));
    return outcome;
  };
}

// The ws::Error `work` throws; fails the test when it returns.
template <typename F> Error error_of(F&& work) {
  try {
    work();
  } catch (const Error& e) {
    return e;
  }
  FAIL("no ws::Error thrown");
  return Error(Errc::internal, "unreachable");
}

// An outcome as the client reports a request it had to send `attempts` times.
FakeHttpClient::Responder after_attempts(ws::http::Response response, int attempts) {
  return [response = std::move(response), attempts](const ws::http::Request&) {
    ws::http::Outcome outcome;
    outcome.response = response;
    outcome.attempts = attempts;
    return outcome;
  };
}

const std::string k_created =
    R"({"MediaContainer":{"size":1,"Metadata":[{"ratingKey":"9100","title":"Friday","leafCount":3,"smart":false,"playlistType":"video"}]}})";

} // namespace

TEST_CASE("backend::plex playlists read the recorded fixture", "[backend][plex][playlist]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on_get("/playlists", ws::test::plex_fixture_body("playlists_list_get_200"));
  fake->on_get("/playlists/9001/items", ws::test::plex_fixture_body("playlist_items_get_200"));
  // A smart playlist's items carry no playlistItemID.
  fake->on_get("/playlists/9002/items",
               R"({"MediaContainer":{"size":1,"Metadata":[{"ratingKey":"2","type":"episode"}]}})");
  auto h = make(std::move(fake));

  const auto playlists = h.backend->playlists();
  const auto& rec = *h.recorded;
  CHECK(rec.unmatched.empty());
  REQUIRE(playlists.size() == 2);
  CHECK(playlists[0].id == "9001");
  CHECK(playlists[0].title == "Weekend Movies");
  CHECK_FALSE(playlists[0].smart);
  CHECK(playlists[0].video);
  CHECK(playlists[0].updated_at == 1710000000);
  REQUIRE(playlists[0].entries.size() == 1);
  CHECK(playlists[0].entries[0].entry_id == "1");
  CHECK(playlists[0].entries[0].item_id == "1");
  CHECK(playlists[1].id == "9002");
  CHECK(playlists[1].title == "Smart Queue");
  CHECK(playlists[1].smart);
  CHECK(playlists[1].updated_at == 1710001000);
  REQUIRE(playlists[1].entries.size() == 1);
  CHECK(playlists[1].entries[0].entry_id.empty());
  CHECK(playlists[1].entries[0].item_id == "2");

  // One request for the list, then the entries of both playlists together.
  CHECK(rec.batch_sizes == std::vector<std::size_t>{1, 2});
  CHECK(h.backend->requests_sent() == 3);
  for (const auto& request : rec.requests) {
    CHECK(request.method == Method::get);
    CHECK(header_of(request.headers, "Accept") == "application/json");
    CHECK(header_of(request.headers, "X-Plex-Token") == k_token);
    CHECK(query_param(request.url, "X-Plex-Container-Start") == "0");
    CHECK(query_param(request.url, "X-Plex-Container-Size") == "1000");
    CHECK(header_of(request.headers, "X-Plex-Container-Size") == "1000");
  }
}

TEST_CASE("backend::plex playlist flags", "[backend][plex][playlist]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on_get("/playlists", R"({"MediaContainer":{"size":4,"Metadata":[
      {"ratingKey":"1","title":"Songs","playlistType":"audio","smart":false,"updatedAt":5},
      {"ratingKey":"2","title":"Pictures","playlistType":"photo","smart":"0","updatedAt":6},
      {"ratingKey":"3","title":"Filter","playlistType":"video","smart":"1","addedAt":7},
      {"title":"no id"},
      {"ratingKey":"4","title":"Old","addedAt":8}]}})");
  for (const char* id : {"1", "2", "3", "4"}) {
    // An empty playlist: PMS leaves Metadata out.
    fake->on_get(fmt::format("/playlists/{}/items", id), R"({"MediaContainer":{"size":0}})");
  }
  auto h = make(std::move(fake));
  const auto playlists = h.backend->playlists();
  CHECK(h.recorded->unmatched.empty());
  REQUIRE(playlists.size() == 4);
  CHECK_FALSE(playlists[0].video);
  CHECK_FALSE(playlists[0].smart);
  CHECK(playlists[0].updated_at == 5);
  CHECK_FALSE(playlists[1].video);
  CHECK_FALSE(playlists[1].smart);
  CHECK(playlists[2].video);
  CHECK(playlists[2].smart);
  CHECK(playlists[2].updated_at == 7); // no updatedAt: never edited since added
  CHECK(playlists[3].video);           // no playlistType
  CHECK(playlists[3].updated_at == 8);
  for (const auto& playlist : playlists) {
    CHECK(playlist.entries.empty());
  }
}

TEST_CASE("backend::plex playlist by id", "[backend][plex][playlist]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on_get("/playlists/9001", ws::test::plex_fixture_body("playlist_get_200"));
  fake->on_get("/playlists/9001/items", ws::test::plex_fixture_body("playlist_items_get_200"));
  auto h = make(std::move(fake));
  const auto playlist = h.backend->playlist("9001");
  CHECK(h.recorded->unmatched.empty());
  CHECK(playlist.id == "9001");
  CHECK(playlist.title == "Weekend Movies");
  CHECK_FALSE(playlist.smart);
  CHECK(playlist.video);
  CHECK(playlist.updated_at == 1710000000);
  REQUIRE(playlist.entries.size() == 1);
  CHECK(playlist.entries[0].entry_id == "1");
  CHECK(playlist.entries[0].item_id == "1");
  CHECK(h.backend->requests_sent() == 2);

  // Unknown to the server: a protocol failure naming the playlist.
  const auto e = error_of([&] { (void)h.backend->playlist("77"); });
  CHECK(e.code() == Errc::protocol);
  CHECK(std::string(e.what()) == "plex_home: playlist 77 not found (HTTP 404 from /playlists/77)");
}

TEST_CASE("backend::plex long playlists are paged in order", "[backend][plex][playlist]") {
  auto fake = std::make_unique<FakeHttpClient>();
  // The list is paged too: two pages of 2.
  fake->on(Method::get, "/playlists", {"X-Plex-Container-Start=0"},
           json_response(R"({"MediaContainer":{"size":2,"totalSize":3,"Metadata":[
      {"ratingKey":"10","title":"Long"},{"ratingKey":"11","title":"Short"}]}})"));
  fake->on(Method::get, "/playlists", {"X-Plex-Container-Start=2"},
           json_response(R"({"MediaContainer":{"size":1,"totalSize":3,"Metadata":[
      {"ratingKey":"12","title":"Empty"}]}})"));
  fake->on_call(Method::get, "/playlists/10/items", {}, paged_entries(5));
  fake->on_call(Method::get, "/playlists/11/items", {}, paged_entries(1));
  fake->on_call(Method::get, "/playlists/12/items", {}, paged_entries(0));
  fake->set_reverse_completion(true);
  auto h = make(std::move(fake), 2);

  const auto playlists = h.backend->playlists();
  const auto& rec = *h.recorded;
  CHECK(rec.unmatched.empty());
  REQUIRE(playlists.size() == 3);
  const std::vector<PlaylistEntry> want{
      {"101", "1"}, {"102", "2"}, {"103", "3"}, {"104", "4"}, {"105", "5"}};
  REQUIRE(playlists[0].entries.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    CHECK(playlists[0].entries[i].entry_id == want[i].entry_id);
    CHECK(playlists[0].entries[i].item_id == want[i].item_id);
  }
  REQUIRE(playlists[1].entries.size() == 1);
  CHECK(playlists[2].entries.empty());

  // The list of 3 playlists in pages of 2 took two requests. Then every round sends the next
  // page of each playlist not finished: 3 first pages, then the long one alone, twice.
  CHECK(rec.batch_sizes == std::vector<std::size_t>{1, 1, 3, 1, 1});
  const auto pages = rec.matching(Method::get, "/playlists/10/items");
  REQUIRE(pages.size() == 3);
  CHECK(query_param(pages[0].url, "X-Plex-Container-Start") == "0");
  CHECK(query_param(pages[1].url, "X-Plex-Container-Start") == "2");
  CHECK(query_param(pages[2].url, "X-Plex-Container-Start") == "4");
  for (const auto& page : pages) {
    CHECK(query_param(page.url, "X-Plex-Container-Size") == "2");
  }
}

TEST_CASE("backend::plex create_playlist", "[backend][plex][playlist]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on_get("/", k_server_info);
  fake->on(Method::post, "/playlists", json_response(k_created));
  auto h = make(std::move(fake));

  CHECK(h.backend->create_playlist("Friday & more", {"3", "1", "3"}) == "9100");
  CHECK(h.backend->create_playlist("Other", {"7"}) == "9100");
  const auto& rec = *h.recorded;
  CHECK(rec.unmatched.empty());
  // The machine identifier is asked for once.
  CHECK(rec.count(Method::get, "/") == 1);
  const auto posts = rec.matching(Method::post, "/playlists");
  REQUIRE(posts.size() == 2);
  const auto& url = posts[0].url;
  CHECK(param(url, "type") == "video");
  CHECK(param(url, "title") == "Friday & more");
  CHECK(param(url, "smart") == "0");
  CHECK(param(url, "uri") == uri_of("3,1,3"));
  // Every character outside the unreserved set is escaped, the uri's ':' '/' ',' included.
  CHECK(query_param(url, "uri") ==
        "server%3A%2F%2F0123abcd%2Fcom.plexapp.plugins.library%2Flibrary%2Fmetadata%2F3%2C1%2C3");
  CHECK(posts[0].body.empty());
  CHECK(header_of(posts[0].headers, "X-Plex-Token") == k_token);
  CHECK(param(posts[1].url, "uri") == uri_of("7"));
  CHECK(h.backend->requests_sent() == 3);

  // PMS has no empty playlist.
  CHECK(error_of([&] { (void)h.backend->create_playlist("Empty", {}); }).code() == Errc::internal);
}

TEST_CASE("backend::plex long id lists go in chunks", "[backend][plex][playlist]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on_get("/", k_server_info);
  fake->on(
      Method::post, "/playlists",
      json_response(R"({"MediaContainer":{"Metadata":[{"ratingKey":"9100","leafCount":100}]}})"));
  fake->on(Method::put, "/playlists/9100/items",
           json_response(R"({"MediaContainer":{"leafCountAdded":100,"leafCountRequested":100}})"),
           1);
  fake->on(Method::put, "/playlists/9100/items",
           json_response(R"({"MediaContainer":{"leafCountAdded":50,"leafCountRequested":50}})"));
  fake->on(Method::put, "/playlists/55/items", text_response(200));
  auto h = make(std::move(fake));

  // Created with the first 100 ids, the others appended in order.
  CHECK(h.backend->create_playlist("Big", ids(1, 250)) == "9100");
  const auto& rec = *h.recorded;
  CHECK(rec.unmatched.empty());
  REQUIRE(rec.requests.size() == 4);
  CHECK(rec.requests[0].url == "http://127.0.0.1:32400/");
  CHECK(rec.requests[1].method == Method::post);
  CHECK(param(rec.requests[1].url, "uri") == uri_of(id_range(1, 100)));
  CHECK(rec.requests[2].method == Method::put);
  CHECK(url_path(rec.requests[2].url) == "/playlists/9100/items");
  CHECK(param(rec.requests[2].url, "uri") == uri_of(id_range(101, 100)));
  CHECK(param(rec.requests[3].url, "uri") == uri_of(id_range(201, 50)));

  // add_to_playlist: the same chunks, one request after the other; an empty body is fine.
  h.backend->add_to_playlist("55", ids(1, 201));
  const auto adds = rec.matching(Method::put, "/playlists/55/items");
  REQUIRE(adds.size() == 3);
  CHECK(param(adds[0].url, "uri") == uri_of(id_range(1, 100)));
  CHECK(param(adds[1].url, "uri") == uri_of(id_range(101, 100)));
  CHECK(param(adds[2].url, "uri") == uri_of("201"));
  CHECK(rec.batch_sizes == std::vector<std::size_t>{1, 1, 1, 1, 1, 1, 1});

  h.backend->add_to_playlist("55", {}); // nothing to send
  CHECK(rec.requests.size() == 7);
}

TEST_CASE("backend::plex add_to_playlist", "[backend][plex][playlist]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on_get("/", k_server_info);
  fake->on(Method::put, "/playlists/9001/items",
           json_response(R"({"MediaContainer":{"leafCountAdded":2,"leafCountRequested":2,)"
                         R"("size":1,"Metadata":[{"ratingKey":"9001","leafCount":4}]}})"));
  fake->on(Method::put, "/playlists/9002/items",
           json_response(R"({"MediaContainer":{"leafCountAdded":1,"leafCountRequested":2}})"));
  auto h = make(std::move(fake));

  h.backend->add_to_playlist("9001", {"5", "6"});
  const auto& rec = *h.recorded;
  const auto puts = rec.matching(Method::put, "/playlists/9001/items");
  REQUIRE(puts.size() == 1);
  CHECK(param(puts[0].url, "uri") == uri_of("5,6"));
  CHECK(puts[0].body.empty());

  // PMS skipped an id: the caller must not take the last entries for the added ones.
  const auto e = error_of([&] { h.backend->add_to_playlist("9002", {"5", "x"}); });
  CHECK(e.code() == Errc::protocol);
  CHECK_THAT(e.what(), Catch::Contains("playlist 9002: the server added 1 of the 2 items sent"));
  // 404: the playlist is named.
  const auto gone = error_of([&] { h.backend->add_to_playlist("404", {"5"}); });
  CHECK(gone.code() == Errc::protocol);
  CHECK_THAT(gone.what(), Catch::StartsWith("plex_home: playlist 404 not found (HTTP 404 from "
                                            "/playlists/404/items?uri="));
}

TEST_CASE("backend::plex remove_from_playlist", "[backend][plex][playlist]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on(Method::del, "/playlists/9001/items/101", json_response(k_created));
  fake->on(Method::del, "/playlists/9001/items/102", json_response(k_created));
  // Sent twice by the client, the first answer lost: already removed.
  fake->on_call(Method::del, "/playlists/9001/items/103", {},
                after_attempts(text_response(404), 2));
  auto h = make(std::move(fake));

  h.backend->remove_from_playlist("9001", {"101", "102", "103"});
  const auto& rec = *h.recorded;
  CHECK(rec.unmatched.empty());
  // One request per entry, sent together.
  CHECK(rec.batch_sizes == std::vector<std::size_t>{3});
  CHECK(rec.count(Method::del, "/playlists/9001/items/101") == 1);
  CHECK(rec.count(Method::del, "/playlists/9001/items/102") == 1);

  h.backend->remove_from_playlist("9001", {});
  CHECK(rec.requests.size() == 3);

  // An entry the server does not know (on the first attempt): named with its playlist.
  const auto e = error_of([&] { h.backend->remove_from_playlist("9001", {"101", "999"}); });
  CHECK(e.code() == Errc::protocol);
  CHECK(std::string(e.what()) == "plex_home: entry 999 of playlist 9001 not found (HTTP 404 "
                                 "from /playlists/9001/items/999)");
}

TEST_CASE("backend::plex move, rename, delete", "[backend][plex][playlist]") {
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on(Method::put, "/playlists/9001/items/105/move", json_response(k_created));
  fake->on(Method::put, "/playlists/9001", text_response(200));
  fake->on(Method::del, "/playlists/9001", text_response(200));
  fake->on_call(Method::del, "/playlists/9003", {}, after_attempts(text_response(404), 3));
  auto h = make(std::move(fake));

  h.backend->move_in_playlist("9001", "105", 2, "103");
  h.backend->move_in_playlist("9001", "105", 0, "");
  h.backend->rename_playlist("9001", "New name/2");
  h.backend->delete_playlist("9001");
  h.backend->delete_playlist("9003"); // a lost answer to the first attempt: gone, as asked
  const auto& rec = *h.recorded;
  CHECK(rec.unmatched.empty());
  const auto moves = rec.matching(Method::put, "/playlists/9001/items/105/move");
  REQUIRE(moves.size() == 2);
  CHECK(query_param(moves[0].url, "after") == "103");
  CHECK(ws::test::url_query(moves[1].url).empty()); // to the top: no `after`
  const auto renames = rec.matching(Method::put, "/playlists/9001");
  REQUIRE(renames.size() == 1);
  CHECK(query_param(renames[0].url, "title") == "New%20name%2F2");
  CHECK(rec.count(Method::del, "/playlists/9001") == 1);
  CHECK(h.backend->requests_sent() == 5);

  const auto move = error_of([&] { h.backend->move_in_playlist("9001", "1", 1, "404"); });
  CHECK(move.code() == Errc::protocol);
  CHECK_THAT(move.what(), Catch::StartsWith("plex_home: entry 1 of playlist 9001 not found"));
  const auto rename = error_of([&] { h.backend->rename_playlist("9002", "T"); });
  CHECK(rename.code() == Errc::protocol);
  CHECK_THAT(rename.what(), Catch::StartsWith("plex_home: playlist 9002 not found"));
  const auto del = error_of([&] { h.backend->delete_playlist("9002"); });
  CHECK(del.code() == Errc::protocol);
  CHECK(std::string(del.what()) ==
        "plex_home: playlist 9002 not found (HTTP 404 from /playlists/9002)");
}

TEST_CASE("backend::plex creates and appends are never retried", "[backend][plex][playlist]") {
  // A lost answer to either may have taken effect: a retry could make a second playlist or
  // append the items twice. Every other playlist request may be retried.
  auto fake = std::make_unique<FakeHttpClient>();
  fake->on_get("/", k_server_info);
  fake->on(Method::post, "/playlists", json_response(k_created));
  fake->on(Method::put, "/playlists/9100/items",
           json_response(R"({"MediaContainer":{"leafCountAdded":1,"leafCountRequested":1}})"));
  fake->on(Method::del, "/playlists/9100", text_response(200));
  auto h = make(std::move(fake));
  CHECK(h.backend->create_playlist("Friday", {"1"}) == "9100");
  h.backend->add_to_playlist("9100", {"2"});
  h.backend->delete_playlist("9100");
  for (const auto& r : h.recorded->requests) {
    INFO(r.url);
    CHECK(r.retry == (r.method == Method::get || r.method == Method::del));
  }
}

TEST_CASE("backend::plex playlist failures", "[backend][plex][playlist]") {
  SECTION("401 is no_perm") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on(Method::get, "/playlists", text_response(401, "<html>Unauthorized</html>"));
    auto h = make(std::move(fake));
    const auto e = error_of([&] { (void)h.backend->playlists(); });
    CHECK(e.code() == Errc::no_perm);
    CHECK(std::string(e.what()).find(k_token) == std::string::npos);
  }
  SECTION("403 on a write is no_perm") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on(Method::del, "/playlists/1", text_response(403));
    auto h = make(std::move(fake));
    CHECK(error_of([&] { h.backend->delete_playlist("1"); }).code() == Errc::no_perm);
  }
  SECTION("a malformed body is a protocol failure") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get("/playlists", R"({"MediaContainer":{"Metadata":[)");
    auto h = make(std::move(fake));
    const auto e = error_of([&] { (void)h.backend->playlists(); });
    CHECK(e.code() == Errc::protocol);
    CHECK_THAT(e.what(), Catch::StartsWith("plex_home: playlist list from /playlists?"));
  }
  SECTION("an entries page without MediaContainer is a protocol failure") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get("/playlists", ws::test::plex_fixture_body("playlists_list_get_200"));
    fake->on_get("/playlists/9001/items", R"({"Metadata":[]})");
    fake->on_get("/playlists/9002/items", R"({"MediaContainer":{}})");
    auto h = make(std::move(fake));
    const auto e = error_of([&] { (void)h.backend->playlists(); });
    CHECK(e.code() == Errc::protocol);
    CHECK_THAT(e.what(), Catch::Contains("no MediaContainer object"));
  }
  SECTION("a create answer without ratingKey is a protocol failure") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get("/", k_server_info);
    fake->on(Method::post, "/playlists", json_response(R"({"MediaContainer":{"size":0}})"));
    auto h = make(std::move(fake));
    const auto e = error_of([&] { (void)h.backend->create_playlist("T", {"1"}); });
    CHECK(e.code() == Errc::protocol);
    CHECK_THAT(e.what(), Catch::EndsWith("no ratingKey"));
  }
  SECTION("5xx and transport failures are tempfail") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get("/playlists", ws::test::plex_fixture_body("playlists_list_get_200"));
    fake->on(Method::get, "/playlists/9001/items", text_response(503));
    fake->on_get("/playlists/9002/items", R"({"MediaContainer":{}})");
    fake->on_transport_error(Method::put, "/playlists/9001", ws::http::TransportError::timeout);
    auto h = make(std::move(fake));
    CHECK(error_of([&] { (void)h.backend->playlists(); }).code() == Errc::tempfail);
    CHECK(error_of([&] { h.backend->rename_playlist("9001", "T"); }).code() == Errc::tempfail);
  }
  SECTION("a playlist deleted while the list is read is left out") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get("/playlists", ws::test::plex_fixture_body("playlists_list_get_200"));
    fake->on_get("/playlists/9001/items", ws::test::plex_fixture_body("playlist_items_get_200"));
    // No route for /playlists/9002/items: the fake answers 404.
    auto h = make(std::move(fake));
    const auto playlists = h.backend->playlists();
    REQUIRE(playlists.size() == 1);
    CHECK(playlists[0].id == "9001");
  }
}
