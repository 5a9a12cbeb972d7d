// SPDX-License-Identifier: MIT
// The Jellyfin/Emby adapter's playlist calls against a scripted server: what each one sends to
// each server type, how the answers (the recorded WatchState fixture shapes among them) are
// read, and how failures map.
#include "support/fake_http_client.hpp"
#include "unit/backend/fixture_bodies.hpp"

#include <watchstate/backend/backend.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/time.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <rapidjson/document.h>

#include <cctype>
#include <string>
#include <vector>

using ws::Errc;
using ws::Error;
using ws::http::Method;
using ws::model::BackendType;
using ws::test::FakeHttpClient;
using ws::test::header_of;
using ws::test::json_response;
using ws::test::query_param;
using ws::test::text_response;
using ws::test::url_path;

namespace {

constexpr const char* k_token = "mb-playlist-secret-777";
constexpr const char* k_user = "user-1";
constexpr const char* k_items = "/Users/user-1/Items";
// 2024-01-03T00:00:00Z, the fixture's DateCreated.
constexpr ws::UnixTime k_fixture_created = 1704240000;

struct Harness {
  std::shared_ptr<const FakeHttpClient::State> recorded;
  std::unique_ptr<ws::backend::Backend> backend;
};

Harness make(BackendType type, std::unique_ptr<FakeHttpClient> fake, int page_size = 1000) {
  ws::backend::Connection c;
  c.name = type == BackendType::emby ? "emby_home" : "jelly_home";
  c.type = type;
  c.url = "http://127.0.0.1:8096";
  c.token = k_token;
  c.user = k_user;
  c.page_size = page_size;
  auto recorded = fake->recorder();
  return Harness{recorded, ws::backend::make_backend(c, std::move(fake))};
}

// A query parameter as the server type spells it: Emby PascalCase, Jellyfin camelCase.
std::string name_for(BackendType type, std::string pascal) {
  if (type != BackendType::emby) {
    pascal[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(pascal[0])));
  }
  return pascal;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) {
    out += (out.empty() ? "" : ",") + part;
  }
  return out;
}

std::vector<std::string> ids(const char* prefix, int first, int count) {
  std::vector<std::string> out;
  for (int i = first; i < first + count; ++i) {
    out.push_back(fmt::format("{}{}", prefix, i));
  }
  return out;
}

// The entries page of a playlist holding items i1..i`count` (entries e1..), paged by
// StartIndex/Limit in either spelling.
FakeHttpClient::Responder paged_entries(BackendType type, int count) {
  return [type, count](const ws::http::Request& request) {
    const int start = std::stoi(query_param(request.url, name_for(type, "StartIndex")).value());
    const int limit = std::stoi(query_param(request.url, name_for(type, "Limit")).value());
    std::string items;
    for (int k = start + 1; k <= std::min(count, start + limit); ++k) {
      items += fmt::format(R"({}{{"Id":"i{}","PlaylistItemId":"e{}","Type":"Episode"}})",
                           items.empty() ? "" : ",", k, k);
    }
    ws::http::Outcome outcome;
    outcome.response =
        json_response(fmt::format(R"({{"Items":[{}],"TotalRecordCount":{}}})", items, count));
    return outcome;
  };
}

template <typename F> Error error_of(F&& work) {
  try {
    work();
  } catch (const Error& e) {
    return e;
  }
  FAIL("no ws::Error thrown");
  return Error(Errc::internal, "unreachable");
}

FakeHttpClient::Responder after_attempts(ws::http::Response response, int attempts) {
  return [response = std::move(response), attempts](const ws::http::Request&) {
    ws::http::Outcome outcome;
    outcome.response = response;
    outcome.attempts = attempts;
    return outcome;
  };
}

const std::vector<BackendType> k_types{BackendType::jellyfin, BackendType::emby};

} // namespace

TEST_CASE("backend::mediabrowser playlists read the recorded fixture",
          "[backend][jellyfin][emby][playlist]") {
  for (const auto type : k_types) {
    DYNAMIC_SECTION(ws::model::backend_type_name(type)) {
      auto fake = std::make_unique<FakeHttpClient>();
      fake->on_get(k_items, {"IncludeItemTypes=Playlist"},
                   ws::test::mediabrowser_fixture("playlists"));
      fake->on_get("/Playlists/playlist-1/Items", ws::test::mediabrowser_fixture("playlist_items"));
      auto h = make(type, std::move(fake));

      const auto playlists = h.backend->playlists();
      const auto& rec = *h.recorded;
      CHECK(rec.unmatched.empty());
      REQUIRE(playlists.size() == 1);
      const auto& p = playlists[0];
      CHECK(p.id == "playlist-1");
      CHECK(p.title == "Weekend Movies");
      CHECK_FALSE(p.smart);
      CHECK(p.video);
      CHECK(p.updated_at == k_fixture_created);
      REQUIRE(p.entries.size() == 1);
      CHECK(p.entries[0].entry_id == "entry-1");
      CHECK(p.entries[0].item_id == "item-1");
      CHECK(h.backend->requests_sent() == 2);

      REQUIRE(rec.requests.size() == 2);
      const auto& list = rec.requests[0].url;
      CHECK(url_path(list) == k_items);
      CHECK(query_param(list, "IncludeItemTypes") == "Playlist");
      CHECK(query_param(list, "Recursive") == "true");
      CHECK(query_param(list, "Fields") == "DateCreated");
      CHECK(query_param(list, "StartIndex") == "0");
      CHECK(query_param(list, "Limit") == "1000");
      const auto& entries = rec.requests[1].url;
      CHECK(query_param(entries, name_for(type, "UserId")) == k_user);
      CHECK(query_param(entries, name_for(type, "StartIndex")) == "0");
      CHECK(query_param(entries, name_for(type, "Limit")) == "1000");
      for (const auto& request : rec.requests) {
        CHECK(request.method == Method::get);
        CHECK(header_of(request.headers, "Authorization").value_or("").find(k_token) !=
              std::string::npos);
      }
    }
  }
}

TEST_CASE("backend::mediabrowser playlist flags and dates", "[backend][jellyfin][emby][playlist]") {
  for (const auto type : k_types) {
    DYNAMIC_SECTION(ws::model::backend_type_name(type)) {
      auto fake = std::make_unique<FakeHttpClient>();
      fake->on_get(k_items, R"({"Items":[
          {"Id":"a","Name":"Songs","Type":"Playlist","MediaType":"Audio","DateCreated":"2024-05-01T10:00:00.0000000Z"},
          {"Id":"b","Name":"Pictures","Type":"Playlist","MediaType":"Photo"},
          {"Id":"c","Name":"New","Type":"Playlist","MediaType":"Unknown","DateCreated":"2024-05-01T10:00:00+02:00"},
          {"Name":"no id","Type":"Playlist"},
          {"Id":"d","Name":"Bare","Type":"Playlist","DateCreated":"not a date"}],"TotalRecordCount":5})");
      for (const char* id : {"a", "b", "c", "d"}) {
        fake->on_get(fmt::format("/Playlists/{}/Items", id),
                     R"({"Items":[],"TotalRecordCount":0})");
      }
      auto h = make(type, std::move(fake));
      const auto playlists = h.backend->playlists();
      CHECK(h.recorded->unmatched.empty());
      REQUIRE(playlists.size() == 4);
      CHECK_FALSE(playlists[0].video);
      CHECK(playlists[0].updated_at == 1714557600);
      CHECK_FALSE(playlists[1].video);
      CHECK(playlists[1].updated_at == 0);
      CHECK(playlists[2].video);
      CHECK(playlists[2].updated_at == 1714557600 - 7200);
      CHECK(playlists[3].video);
      CHECK(playlists[3].updated_at == 0);
      for (const auto& p : playlists) {
        CHECK_FALSE(p.smart);
        CHECK(p.entries.empty());
      }
    }
  }
}

TEST_CASE("backend::mediabrowser playlist by id", "[backend][jellyfin][emby][playlist]") {
  for (const auto type : k_types) {
    DYNAMIC_SECTION(ws::model::backend_type_name(type)) {
      auto fake = std::make_unique<FakeHttpClient>();
      fake->on_get(std::string(k_items) + "/playlist-1",
                   ws::test::mediabrowser_fixture("playlist_detail_emby"));
      fake->on_get("/Playlists/playlist-1/Items", ws::test::mediabrowser_fixture("playlist_items"));
      fake->on_get(std::string(k_items) + "/item-1",
                   R"({"Id":"item-1","Name":"Test Movie","Type":"Movie"})");
      auto h = make(type, std::move(fake));

      const auto p = h.backend->playlist("playlist-1");
      CHECK(h.recorded->unmatched.empty());
      CHECK(p.id == "playlist-1");
      CHECK(p.title == "Weekend Movies");
      CHECK(p.video);
      CHECK(p.updated_at == 0); // the recorded detail has no DateCreated
      REQUIRE(p.entries.size() == 1);
      CHECK(p.entries[0].entry_id == "entry-1");
      CHECK(p.entries[0].item_id == "item-1");

      const std::string name = type == BackendType::emby ? "emby_home" : "jelly_home";
      const auto missing = error_of([&] { (void)h.backend->playlist("nope"); });
      CHECK(missing.code() == Errc::protocol);
      CHECK(std::string(missing.what()) ==
            name + ": playlist nope not found (HTTP 404 from /Users/user-1/Items/nope)");
      const auto movie = error_of([&] { (void)h.backend->playlist("item-1"); });
      CHECK(movie.code() == Errc::protocol);
      CHECK_THAT(movie.what(), Catch::EndsWith("item item-1 is a Movie, not a playlist"));
    }
  }
}

TEST_CASE("backend::mediabrowser long playlists are paged in order",
          "[backend][jellyfin][emby][playlist]") {
  for (const auto type : k_types) {
    DYNAMIC_SECTION(ws::model::backend_type_name(type)) {
      auto fake = std::make_unique<FakeHttpClient>();
      fake->on_get(
          k_items, {"StartIndex=0"},
          R"({"Items":[{"Id":"p1","Name":"Long"},{"Id":"p2","Name":"Short"}],"TotalRecordCount":3})");
      fake->on_get(k_items, {"StartIndex=2"},
                   R"({"Items":[{"Id":"p3","Name":"Empty"}],"TotalRecordCount":3})");
      fake->on_call(Method::get, "/Playlists/p1/Items", {}, paged_entries(type, 5));
      fake->on_call(Method::get, "/Playlists/p2/Items", {}, paged_entries(type, 2));
      fake->on_call(Method::get, "/Playlists/p3/Items", {}, paged_entries(type, 0));
      fake->set_reverse_completion(true);
      auto h = make(type, std::move(fake), 2);

      const auto playlists = h.backend->playlists();
      const auto& rec = *h.recorded;
      CHECK(rec.unmatched.empty());
      REQUIRE(playlists.size() == 3);
      REQUIRE(playlists[0].entries.size() == 5);
      for (std::size_t i = 0; i < 5; ++i) {
        CHECK(playlists[0].entries[i].item_id == fmt::format("i{}", i + 1));
        CHECK(playlists[0].entries[i].entry_id == fmt::format("e{}", i + 1));
      }
      CHECK(playlists[1].entries.size() == 2);
      CHECK(playlists[2].entries.empty());
      // Two list pages; then 3 first pages together, then the long playlist's alone.
      CHECK(rec.batch_sizes == std::vector<std::size_t>{1, 1, 3, 1, 1});
      const auto pages = rec.matching(Method::get, "/Playlists/p1/Items");
      REQUIRE(pages.size() == 3);
      for (std::size_t i = 0; i < pages.size(); ++i) {
        CHECK(query_param(pages[i].url, name_for(type, "StartIndex")) == std::to_string(2 * i));
        CHECK(query_param(pages[i].url, name_for(type, "Limit")) == "2");
      }
    }
  }
}

TEST_CASE("backend::mediabrowser create_playlist", "[backend][jellyfin][emby][playlist]") {
  for (const auto type : k_types) {
    DYNAMIC_SECTION(ws::model::backend_type_name(type)) {
      const bool emby = type == BackendType::emby;
      auto fake = std::make_unique<FakeHttpClient>();
      fake->on(Method::post, "/Playlists", json_response(R"({"Id":"pl-new"})"));
      fake->on(Method::post, "/Playlists/pl-new/Items", text_response(204));
      auto h = make(type, std::move(fake));

      // 250 ids: created with the first 100, the others appended in chunks, in order.
      const auto all = ids("i", 1, 250);
      CHECK(h.backend->create_playlist("Friday & more", all) == "pl-new");
      const auto& rec = *h.recorded;
      CHECK(rec.unmatched.empty());
      REQUIRE(rec.requests.size() == 3);
      CHECK(rec.batch_sizes == std::vector<std::size_t>{1, 1, 1});
      const auto& create = rec.requests[0];
      CHECK(create.method == Method::post);
      CHECK(url_path(create.url) == "/Playlists");
      const std::vector<std::string> first(all.begin(), all.begin() + 100);
      if (emby) {
        // Emby reads the query.
        CHECK(query_param(create.url, "Name") == "Friday%20%26%20more");
        CHECK(query_param(create.url, "Ids") == join(first));
        CHECK(query_param(create.url, "MediaType") == "Video");
        CHECK(query_param(create.url, "UserId") == k_user);
        CHECK(create.body.empty());
      } else {
        // Jellyfin: a CreatePlaylistDto body, nothing in the query.
        CHECK(ws::test::url_query(create.url).empty());
        CHECK(header_of(create.headers, "Content-Type") == "application/json");
        rapidjson::Document body;
        body.Parse(create.body.data(), create.body.size());
        REQUIRE(body.IsObject());
        CHECK(std::string(body["Name"].GetString()) == "Friday & more");
        CHECK(std::string(body["UserId"].GetString()) == k_user);
        CHECK(std::string(body["MediaType"].GetString()) == "Video");
        REQUIRE(body["Ids"].IsArray());
        REQUIRE(body["Ids"].Size() == 100);
        for (rapidjson::SizeType i = 0; i < 100; ++i) {
          CHECK(std::string(body["Ids"][i].GetString()) == first[i]);
        }
        CHECK(body.MemberCount() == 4);
      }
      const std::string ids_name = name_for(type, "Ids");
      CHECK(query_param(rec.requests[1].url, ids_name) ==
            join(std::vector<std::string>(all.begin() + 100, all.begin() + 200)));
      CHECK(query_param(rec.requests[2].url, ids_name) ==
            join(std::vector<std::string>(all.begin() + 200, all.end())));
      CHECK(query_param(rec.requests[2].url, name_for(type, "UserId")) == k_user);

      // An empty playlist is one request.
      CHECK(h.backend->create_playlist("Empty", {}) == "pl-new");
      CHECK(rec.requests.size() == 4);
      if (emby) {
        CHECK(query_param(rec.requests[3].url, "Ids") == "");
      } else {
        CHECK(rec.requests[3].body ==
              R"({"Name":"Empty","Ids":[],"UserId":"user-1","MediaType":"Video"})");
      }
      CHECK(h.backend->requests_sent() == 4);
    }
  }
}

TEST_CASE("backend::mediabrowser add, remove, move", "[backend][jellyfin][emby][playlist]") {
  for (const auto type : k_types) {
    DYNAMIC_SECTION(ws::model::backend_type_name(type)) {
      auto fake = std::make_unique<FakeHttpClient>();
      fake->on(Method::post, "/Playlists/p1/Items", text_response(204));
      fake->on(Method::del, "/Playlists/p1/Items", text_response(204));
      fake->on(Method::post, "/Playlists/p1/Items/e7/Move/3", text_response(204));
      fake->on(Method::post, "/Playlists/p1/Items/e7/Move/0", text_response(204));
      auto h = make(type, std::move(fake));

      h.backend->add_to_playlist("p1", {"a", "b", "a"});
      h.backend->remove_from_playlist("p1", ids("e", 1, 150));
      h.backend->move_in_playlist("p1", "e7", 3, "e2");
      h.backend->move_in_playlist("p1", "e7", 0, "");
      const auto& rec = *h.recorded;
      CHECK(rec.unmatched.empty());
      const auto adds = rec.matching(Method::post, "/Playlists/p1/Items");
      REQUIRE(adds.size() == 1);
      CHECK(query_param(adds[0].url, name_for(type, "Ids")) == "a,b,a");
      CHECK(query_param(adds[0].url, name_for(type, "UserId")) == k_user);
      // Removals in chunks of 100, sent together.
      const auto removes = rec.matching(Method::del, "/Playlists/p1/Items");
      REQUIRE(removes.size() == 2);
      CHECK(query_param(removes[0].url, name_for(type, "EntryIds")) == join(ids("e", 1, 100)));
      CHECK(query_param(removes[1].url, name_for(type, "EntryIds")) == join(ids("e", 101, 50)));
      CHECK(rec.batch_sizes == std::vector<std::size_t>{1, 2, 1, 1});
      CHECK(rec.count(Method::post, "/Playlists/p1/Items/e7/Move/3") == 1);
      CHECK(rec.count(Method::post, "/Playlists/p1/Items/e7/Move/0") == 1);
      CHECK(h.backend->requests_sent() == 5);

      h.backend->add_to_playlist("p1", {});
      h.backend->remove_from_playlist("p1", {});
      CHECK(rec.requests.size() == 5);

      const std::string name = type == BackendType::emby ? "emby_home" : "jelly_home";
      const auto add = error_of([&] { h.backend->add_to_playlist("p9", {"a"}); });
      CHECK(add.code() == Errc::protocol);
      CHECK_THAT(add.what(), Catch::StartsWith(name + ": playlist p9 not found (HTTP 404 from "
                                                      "/Playlists/p9/Items?"));
      const auto remove = error_of([&] { h.backend->remove_from_playlist("p9", {"e1"}); });
      CHECK(remove.code() == Errc::protocol);
      CHECK_THAT(remove.what(), Catch::StartsWith(name + ": playlist p9 not found"));
      const auto move = error_of([&] { h.backend->move_in_playlist("p1", "e9", 1, "e1"); });
      CHECK(move.code() == Errc::protocol);
      CHECK(std::string(move.what()) == name + ": entry e9 of playlist p1 not found (HTTP 404 "
                                               "from /Playlists/p1/Items/e9/Move/1)");
    }
  }
}

TEST_CASE("backend::mediabrowser rename_playlist", "[backend][jellyfin][emby][playlist]") {
  SECTION("jellyfin: an UpdatePlaylistDto") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on(Method::post, "/Playlists/p1", text_response(204));
    auto h = make(BackendType::jellyfin, std::move(fake));
    h.backend->rename_playlist("p1", "New \"name\"");
    const auto& rec = *h.recorded;
    REQUIRE(rec.requests.size() == 1);
    CHECK(rec.requests[0].method == Method::post);
    CHECK(url_path(rec.requests[0].url) == "/Playlists/p1");
    CHECK(rec.requests[0].body == R"({"Name":"New \"name\""})");
    CHECK(header_of(rec.requests[0].headers, "Content-Type") == "application/json");
    const auto e = error_of([&] { h.backend->rename_playlist("p9", "T"); });
    CHECK(e.code() == Errc::protocol);
    CHECK(std::string(e.what()) ==
          "jelly_home: playlist p9 not found (HTTP 404 from /Playlists/p9)");
  }
  SECTION("emby: the item posted back with its new Name") {
    auto fake = std::make_unique<FakeHttpClient>();
    fake->on_get(std::string(k_items) + "/playlist-1",
                 ws::test::mediabrowser_fixture("playlist_detail_emby"));
    fake->on(Method::post, "/Items/playlist-1", text_response(204));
    auto h = make(BackendType::emby, std::move(fake));
    h.backend->rename_playlist("playlist-1", "Weekend Films");
    const auto& rec = *h.recorded;
    CHECK(rec.unmatched.empty());
    REQUIRE(rec.requests.size() == 2);
    CHECK(rec.requests[0].method == Method::get);
    const auto& post = rec.requests[1];
    CHECK(post.method == Method::post);
    CHECK(url_path(post.url) == "/Items/playlist-1");
    CHECK(header_of(post.headers, "Content-Type") == "application/json");
    rapidjson::Document body;
    body.Parse(post.body.data(), post.body.size());
    REQUIRE(body.IsObject());
    CHECK(std::string(body["Name"].GetString()) == "Weekend Films");
    // Everything else as the server sent it.
    CHECK(std::string(body["Id"].GetString()) == "playlist-1");
    CHECK(std::string(body["Type"].GetString()) == "Playlist");
    CHECK(std::string(body["MediaType"].GetString()) == "Video");
    CHECK(body["CanDelete"].GetBool());
    CHECK(body.MemberCount() == 5);

    const auto e = error_of([&] { h.backend->rename_playlist("p9", "T"); });
    CHECK(e.code() == Errc::protocol);
    CHECK(std::string(e.what()) ==
          "emby_home: playlist p9 not found (HTTP 404 from /Users/user-1/Items/p9)");
  }
}

TEST_CASE("backend::mediabrowser delete_playlist", "[backend][jellyfin][emby][playlist]") {
  for (const auto type : k_types) {
    DYNAMIC_SECTION(ws::model::backend_type_name(type)) {
      auto fake = std::make_unique<FakeHttpClient>();
      fake->on(Method::del, "/Items/p1", text_response(204));
      // The first attempt went through, its answer was lost: gone, as asked.
      fake->on_call(Method::del, "/Items/p2", {}, after_attempts(text_response(404), 2));
      auto h = make(type, std::move(fake));
      h.backend->delete_playlist("p1");
      h.backend->delete_playlist("p2");
      CHECK(h.recorded->unmatched.empty());
      CHECK(h.recorded->count(Method::del, "/Items/p1") == 1);
      const auto e = error_of([&] { h.backend->delete_playlist("p9"); });
      CHECK(e.code() == Errc::protocol);
      CHECK_THAT(e.what(), Catch::Contains("playlist p9 not found (HTTP 404 from /Items/p9)"));
    }
  }
}

TEST_CASE("backend::mediabrowser creates and appends are never retried",
          "[backend][jellyfin][emby][playlist]") {
  for (const auto type : k_types) {
    DYNAMIC_SECTION(ws::model::backend_type_name(type)) {
      auto fake = std::make_unique<FakeHttpClient>();
      fake->on(Method::post, "/Playlists", json_response(R"({"Id":"p2"})"));
      fake->on(Method::post, "/Playlists/p2/Items", text_response(204));
      fake->on(Method::post, "/Playlists/p2/Items/e1/Move/0", text_response(204));
      auto h = make(type, std::move(fake));
      CHECK(h.backend->create_playlist("Friday", {"a"}) == "p2");
      h.backend->add_to_playlist("p2", {"b"});
      h.backend->move_in_playlist("p2", "e1", 0, "");
      REQUIRE(h.recorded->requests.size() == 3);
      CHECK_FALSE(h.recorded->requests[0].retry); // create
      CHECK_FALSE(h.recorded->requests[1].retry); // append
      CHECK(h.recorded->requests[2].retry);       // a move may be repeated
    }
  }
}

TEST_CASE("backend::mediabrowser playlist failures", "[backend][jellyfin][emby][playlist]") {
  for (const auto type : k_types) {
    DYNAMIC_SECTION(ws::model::backend_type_name(type)) {
      SECTION("401 is no_perm") {
        auto fake = std::make_unique<FakeHttpClient>();
        fake->on(Method::get, k_items, text_response(401));
        auto h = make(type, std::move(fake));
        const auto e = error_of([&] { (void)h.backend->playlists(); });
        CHECK(e.code() == Errc::no_perm);
        CHECK(std::string(e.what()).find(k_token) == std::string::npos);
      }
      SECTION("403 on a write is no_perm") {
        auto fake = std::make_unique<FakeHttpClient>();
        fake->on(Method::post, "/Playlists", text_response(403));
        auto h = make(type, std::move(fake));
        CHECK(error_of([&] { (void)h.backend->create_playlist("T", {"a"}); }).code() ==
              Errc::no_perm);
      }
      SECTION("a malformed body is a protocol failure") {
        auto fake = std::make_unique<FakeHttpClient>();
        fake->on_get(k_items, ws::test::mediabrowser_fixture("playlists"));
        fake->on_get("/Playlists/playlist-1/Items", R"({"Items":[{"Id":)");
        auto h = make(type, std::move(fake));
        const auto e = error_of([&] { (void)h.backend->playlists(); });
        CHECK(e.code() == Errc::protocol);
        CHECK_THAT(e.what(), Catch::Contains("playlist items from /Playlists/playlist-1/Items?"));
      }
      SECTION("a list without Items is a protocol failure") {
        auto fake = std::make_unique<FakeHttpClient>();
        fake->on_get(k_items, R"({"TotalRecordCount":0})");
        auto h = make(type, std::move(fake));
        const auto e = error_of([&] { (void)h.backend->playlists(); });
        CHECK(e.code() == Errc::protocol);
        CHECK_THAT(e.what(), Catch::EndsWith("no Items array"));
      }
      SECTION("a create answer without Id is a protocol failure") {
        auto fake = std::make_unique<FakeHttpClient>();
        fake->on(Method::post, "/Playlists", json_response(R"({"Name":"T"})"));
        auto h = make(type, std::move(fake));
        const auto e = error_of([&] { (void)h.backend->create_playlist("T", {"a"}); });
        CHECK(e.code() == Errc::protocol);
        CHECK_THAT(e.what(), Catch::EndsWith("no Id"));
      }
      SECTION("5xx and transport failures are tempfail") {
        auto fake = std::make_unique<FakeHttpClient>();
        fake->on(Method::get, k_items, text_response(502));
        fake->on_transport_error(Method::del, "/Items/p1", ws::http::TransportError::connect);
        auto h = make(type, std::move(fake));
        CHECK(error_of([&] { (void)h.backend->playlists(); }).code() == Errc::tempfail);
        CHECK(error_of([&] { h.backend->delete_playlist("p1"); }).code() == Errc::tempfail);
      }
      SECTION("a playlist deleted while the list is read is left out") {
        auto fake = std::make_unique<FakeHttpClient>();
        fake->on_get(
            k_items,
            R"({"Items":[{"Id":"p1","Name":"A"},{"Id":"p2","Name":"B"}],"TotalRecordCount":2})");
        fake->on_get("/Playlists/p2/Items", R"({"Items":[],"TotalRecordCount":0})");
        auto h = make(type, std::move(fake));
        const auto playlists = h.backend->playlists();
        REQUIRE(playlists.size() == 1);
        CHECK(playlists[0].id == "p2");
      }
    }
  }
}
