// SPDX-License-Identifier: MIT
// Messy metadata: copies in a 4K library, runtime id changes (/__sim/ids, /__sim/rematch), the
// world's truth (/__sim/truth) and the hard cases of generated worlds (--messy).
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <rapidjson/document.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "simulator/server.hpp"
#include "simulator/world.hpp"
#include "support/json_body.hpp"

using ws::sim::Entry;
using ws::sim::EntryKind;
using ws::sim::Kind;
using ws::sim::make_request;
using ws::sim::Server;
using ws::sim::World;

using ws::test::parse_json;

namespace {

constexpr const char* k_plex_id = "0123456789abcdef0123456789abcdef01234567";
constexpr const char* k_jelly_id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

// m1 has a 4K copy (m1c) on Plex and Jellyfin only; s1 has a 4K copy (s2) on Plex only.
constexpr const char* k_world = R"({
  "servers":{
    "plex":{"server_id":"0123456789abcdef0123456789abcdef01234567","users":[{"id":"1","name":"owner","token":"ptok"}]},
    "jellyfin":{"server_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","token":"jkey",
                "users":[{"id":"11111111111111111111111111111111","name":"alice","token":"jalice"}]},
    "emby":{"server_id":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","token":"ekey",
            "users":[{"id":"33333333333333333333333333333333","name":"alice"}]}},
  "movies":[
    {"key":"m1","title":"Alpha","year":2001,"ids":{"imdb":"tt0000001","tmdb":"101"},"added_at":1690000000},
    {"key":"m1c","title":"Alpha","year":2001,"ids":{"imdb":"tt0000001","tmdb":"101"},"added_at":1690000050,
     "library":"4k","copy_of":"m1","servers":["plex","jellyfin"],
     "state":{"plex":{"played":true,"last_played":1700000000}}},
    {"key":"m2","title":"Beta","year":2002,"ids":{"imdb":"tt0000002"},"added_at":1690000100,
     "plex_guids":["com.plexapp.agents.imdb://tt0000002?lang=en"],"provider_ids":{"IMDB":"tt0000002"}}],
  "shows":[
    {"key":"s1","title":"Show","year":2010,"ids":{"tvdb":"200"},"added_at":1600000000,
     "episodes":[{"key":"s1e1","season":1,"episode":1,"ids":{"tvdb":"2001"}},
                 {"key":"s1e2","season":1,"episode":2,"ids":{"tvdb":"2002"}}]},
    {"key":"s2","title":"Show","year":2010,"ids":{"tvdb":"200"},"library":"4k","copy_of":"s1","servers":["plex"],
     "episodes":[{"key":"s2e1","season":1,"episode":1,"ids":{"tvdb":"2001"}},
                 {"key":"s2e9","season":1,"episode":9}]}]})";

// The same world without any 4K entry.
constexpr const char* k_plain = R"({
  "servers":{
    "plex":{"server_id":"0123456789abcdef0123456789abcdef01234567","users":[{"id":"1","name":"owner","token":"ptok"}]},
    "jellyfin":{"server_id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","token":"jkey",
                "users":[{"id":"11111111111111111111111111111111","name":"alice","token":"jalice"}]},
    "emby":{"server_id":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","token":"ekey",
            "users":[{"id":"33333333333333333333333333333333","name":"alice"}]}},
  "movies":[{"key":"m1","title":"Alpha","year":2001,"ids":{"imdb":"tt0000001","tmdb":"101"}}]})";

std::shared_ptr<const World> world() {
  static auto w = std::make_shared<const World>(ws::sim::parse_world(k_world, "messy"));
  return w;
}

rapidjson::Document plex_get(Server& s, const std::string& target) {
  const auto r = s.handle(make_request(
      "GET", target + (target.find('?') == std::string::npos ? "?" : "&") + "X-Plex-Token=ptok",
      {{"Accept", "application/json"}}));
  REQUIRE(r.status == 200);
  return parse_json(r.body);
}

rapidjson::Document mb_get(Server& s, const std::string& target, const std::string& token) {
  const auto r = s.handle(make_request("GET", target, {{"X-Emby-Token", token}}));
  REQUIRE(r.status == 200);
  return parse_json(r.body);
}

std::string plex_titles(Server& s, const std::string& section, int type) {
  auto d = plex_get(s, fmt::format("/library/sections/{}/all?type={}", section, type));
  std::string out;
  if (d["MediaContainer"].HasMember("Metadata")) {
    for (const auto& m : d["MediaContainer"]["Metadata"].GetArray()) {
      out += fmt::format("{}@{} ", m["ratingKey"].GetString(), m["librarySectionID"].GetInt());
    }
  }
  return out;
}

// Return the /__sim/items object of a key.
std::map<std::string, std::string> sim_ids(Server& s, const std::string& key) {
  const auto r = s.handle(make_request("GET", "/__sim/items"));
  REQUIRE(r.status == 200);
  auto d = parse_json(r.body);
  std::map<std::string, std::string> out;
  for (const auto& it : d.GetArray()) {
    if (std::string(it["key"].GetString()) == key) {
      for (auto m = it["ids"].MemberBegin(); m != it["ids"].MemberEnd(); ++m) {
        out[m->name.GetString()] = m->value.GetString();
      }
      out["library"] = it["library"].GetString();
    }
  }
  return out;
}

ws::sim::Response post_ids(Server& s, const std::string& body) {
  return s.handle(make_request("POST", "/__sim/ids", {}, body));
}

std::string guids_of(const rapidjson::Value& m) {
  std::string out = m["guid"].GetString();
  if (m.HasMember("Guid")) {
    for (const auto& g : m["Guid"].GetArray()) {
      out += std::string(" ") + g["id"].GetString();
    }
  }
  return out;
}

} // namespace

TEST_CASE("sim::4k_libraries_only_when_used", "[simulator]") {
  auto plain = std::make_shared<const World>(ws::sim::parse_world(k_plain, "plain"));
  for (Kind k : ws::sim::k_all_kinds) {
    Server with(world(), k);
    Server without(plain, k);
    REQUIRE(without.libraries().size() == 3);
    // The main libraries keep their ids whether or not 4K ones exist.
    for (size_t i = 0; i < 3; ++i) {
      CHECK(with.libraries()[i].id == without.libraries()[i].id);
      CHECK(with.libraries()[i].name == without.libraries()[i].name);
    }
  }
  Server plex(world(), Kind::plex);
  REQUIRE(plex.libraries().size() == 5);
  auto d = plex_get(plex, "/library/sections");
  const auto& dirs = d["MediaContainer"]["Directory"];
  REQUIRE(dirs.Size() == 5);
  CHECK(std::string(dirs[3]["key"].GetString()) == "4");
  CHECK(std::string(dirs[3]["title"].GetString()) == "Movies 4K");
  CHECK(std::string(dirs[3]["type"].GetString()) == "movie");
  CHECK(std::string(dirs[3]["Location"][0]["path"].GetString()) == "/media/movies4k");
  CHECK(std::string(dirs[4]["key"].GetString()) == "5");
  CHECK(std::string(dirs[4]["title"].GetString()) == "TV Shows 4K");
  CHECK(std::string(dirs[4]["type"].GetString()) == "show");
  CHECK(std::string(dirs[4]["Location"][0]["path"].GetString()) == "/media/tv4k");

  // Jellyfin holds the movie copy only; Emby holds no 4K entry at all.
  Server jelly(world(), Kind::jellyfin);
  auto views = mb_get(jelly, "/Users/11111111111111111111111111111111/Views", "jkey");
  REQUIRE(views["Items"].Size() == 4);
  CHECK(std::string(views["Items"][3]["Name"].GetString()) == "Movies 4K");
  CHECK(std::string(views["Items"][3]["CollectionType"].GetString()) == "movies");
  auto folders = mb_get(jelly, "/Library/VirtualFolders", "jkey");
  REQUIRE(folders.Size() == 4);
  CHECK(std::string(folders[3]["Locations"][0].GetString()) == "/media/movies4k");
  Server emby(world(), Kind::emby);
  auto eviews = mb_get(emby, "/Users/33333333333333333333333333333333/Views", "ekey");
  CHECK(eviews["Items"].Size() == 3);
  CHECK(mb_get(emby, "/Library/VirtualFolders", "ekey").Size() == 3);

  // Default paths of 4K entries.
  const World& w = *world();
  CHECK(w.entries[1].file == "/media/movies4k/Alpha (2001)/Alpha (2001).mkv");
  CHECK(w.entries[1].library == ws::sim::k_4k_library);
  CHECK(w.entries[0].file == "/media/movies/Alpha (2001)/Alpha (2001).mkv");
  const Entry& copy_show = w.entries[6];
  REQUIRE(copy_show.key == "s2");
  CHECK(copy_show.file == "/media/tv4k/Show");
  CHECK(w.entries[7].file == "/media/tv4k/Show/Season 01/Show - S01E01.mkv");
}

TEST_CASE("sim::4k_items_live_in_their_own_library", "[simulator]") {
  Server plex(world(), Kind::plex);
  const std::string copy_rk = plex.items()[static_cast<size_t>(plex.item_of_key("m1c"))].id;
  const std::string main_rk = plex.items()[static_cast<size_t>(plex.item_of_key("m1"))].id;
  CHECK(plex_titles(plex, "4", 1) == copy_rk + "@4 ");
  CHECK(plex_titles(plex, "1", 1).find(copy_rk + "@") == std::string::npos);
  CHECK(plex_titles(plex, "1", 1).find(main_rk + "@1") != std::string::npos);
  CHECK(plex_titles(plex, "4", 2).empty());
  // The show copy: series, seasons and episodes in section 5 only.
  const std::string series = plex.items()[static_cast<size_t>(plex.item_of_key("s2"))].id;
  CHECK(plex_titles(plex, "5", 2) == series + "@5 ");
  CHECK_FALSE(plex_titles(plex, "5", 4).empty());
  CHECK(plex_titles(plex, "2", 2).find(series + "@") == std::string::npos);
  auto meta = plex_get(plex, "/library/metadata/" + copy_rk);
  CHECK(meta["MediaContainer"]["librarySectionID"].GetInt() == 4);
  const auto& m = meta["MediaContainer"]["Metadata"][0];
  CHECK(std::string(m["librarySectionTitle"].GetString()) == "Movies 4K");
  CHECK(std::string(m["librarySectionKey"].GetString()) == "/library/sections/4");
  CHECK(std::string(m["Media"][0]["Part"][0]["file"].GetString()) ==
        "/media/movies4k/Alpha (2001)/Alpha (2001).mkv");
  CHECK(m.HasMember("viewCount")); // own state: played on Plex, the original is not
  auto orig = plex_get(plex, "/library/metadata/" + main_rk);
  CHECK_FALSE(orig["MediaContainer"]["Metadata"][0].HasMember("viewCount"));
  // Search finds both copies, each with its own section.
  auto found = plex_get(plex, "/hubs/search?query=alpha");
  CHECK(found["MediaContainer"]["Hub"][0]["size"].GetInt() == 2);

  Server jelly(world(), Kind::jellyfin);
  const std::string view4k = jelly.libraries()[3].id;
  const std::string view = jelly.libraries()[0].id;
  CHECK(view4k == ws::sim::hex_hash(k_jelly_id, "library/movies4k", 32));
  const std::string copy_id = jelly.items()[static_cast<size_t>(jelly.item_of_key("m1c"))].id;
  const std::string items = "/Items?userId=11111111111111111111111111111111";
  auto in4k = mb_get(jelly, items + "&ParentId=" + view4k + "&Fields=ParentId,Path", "jkey");
  REQUIRE(in4k["TotalRecordCount"].GetInt() == 1);
  CHECK(std::string(in4k["Items"][0]["Id"].GetString()) == copy_id);
  CHECK(std::string(in4k["Items"][0]["ParentId"].GetString()) == view4k);
  auto inmain = mb_get(jelly, items + "&ParentId=" + view + "&Recursive=true", "jkey");
  CHECK(inmain["TotalRecordCount"].GetInt() == 2);
  for (const auto& it : inmain["Items"].GetArray()) {
    CHECK(std::string(it["Id"].GetString()) != copy_id);
  }
  auto all = mb_get(jelly, items + "&Recursive=true&IncludeItemTypes=Movie", "jkey");
  CHECK(all["TotalRecordCount"].GetInt() == 3);
  auto one = mb_get(jelly, "/Users/11111111111111111111111111111111/Items/" + copy_id, "jkey");
  CHECK(std::string(one["ParentId"].GetString()) == view4k);
  // Writes reach the copy only.
  auto r = jelly.handle(
      make_request("POST", "/Users/11111111111111111111111111111111/PlayedItems/" + copy_id,
                   {{"X-Emby-Token", "jkey"}}));
  CHECK(r.status == 200);
  CHECK(jelly.state(0, static_cast<uint32_t>(jelly.item_of_key("m1c"))).played);
  CHECK_FALSE(jelly.state(0, static_cast<uint32_t>(jelly.item_of_key("m1"))).played);
  CHECK(sim_ids(jelly, "m1c")["library"] == "4k");
  CHECK(sim_ids(jelly, "m1")["library"] == "main");
}

TEST_CASE("sim::ids_change_on_one_server", "[simulator]") {
  Server plex(world(), Kind::plex);
  Server jelly(world(), Kind::jellyfin);
  Server emby(world(), Kind::emby);
  const std::string rk = plex.items()[static_cast<size_t>(plex.item_of_key("m1"))].id;
  CHECK(guids_of(plex_get(plex, "/library/metadata/" + rk)["MediaContainer"]["Metadata"][0]) ==
        "plex://movie/" + ws::sim::hex_hash("plex-guid", "m1", 24) +
            " imdb://tt0000001 tmdb://101");

  auto r = post_ids(
      plex, R"({"key":"m1","ids":{"tvdb":"9","tmdb":"555","imdb":"tt0000009","tvmaze":"3"}})");
  REQUIRE(r.status == 200);
  auto changed = parse_json(r.body);
  REQUIRE(changed.Size() == 1);
  CHECK(std::string(changed[0]["key"].GetString()) == "m1");
  CHECK(std::string(changed[0]["ids"]["tmdb"].GetString()) == "555");
  CHECK_FALSE(changed[0]["ids"].HasMember("tvmaze")); // Plex presents imdb, tmdb, tvdb only
  CHECK(guids_of(plex_get(plex, "/library/metadata/" + rk)["MediaContainer"]["Metadata"][0]) ==
        "plex://movie/" + ws::sim::hex_hash("plex-guid", "m1", 24) +
            " imdb://tt0000009 tmdb://555 tvdb://9");
  // Listings show the new ids at once.
  auto listing = plex_get(plex, "/library/sections/1/all?includeGuids=1");
  bool seen = false;
  for (const auto& m : listing["MediaContainer"]["Metadata"].GetArray()) {
    if (rk == m["ratingKey"].GetString()) {
      seen = true;
      CHECK(guids_of(m).find("tmdb://555") != std::string::npos);
    }
  }
  CHECK(seen);
  // A legacy-agent entry gets the modern presentation.
  r = post_ids(plex, R"([{"key":"m2","ids":{"imdb":"tt0000002","tmdb":"202"}}])");
  REQUIRE(r.status == 200);
  const std::string rk2 = plex.items()[static_cast<size_t>(plex.item_of_key("m2"))].id;
  CHECK(guids_of(plex_get(plex, "/library/metadata/" + rk2)["MediaContainer"]["Metadata"][0]) ==
        "plex://movie/" + ws::sim::hex_hash("plex-guid", "m2", 24) +
            " imdb://tt0000002 tmdb://202");
  // A show: its seasons take the modern guid too; its episodes keep theirs.
  r = post_ids(plex, R"({"key":"s1","ids":{}})");
  REQUIRE(r.status == 200);
  CHECK(std::string(parse_json(r.body)[0]["type"].GetString()) == "show");
  CHECK(sim_ids(plex, "s1e1")["tvdb"] == "2001");

  // The other servers keep their presentation.
  CHECK(sim_ids(jelly, "m1")["tmdb"] == "101");
  CHECK(sim_ids(emby, "m2")["imdb"] == "tt0000002");
  const std::string jid = jelly.items()[static_cast<size_t>(jelly.item_of_key("m1"))].id;
  auto before = mb_get(jelly, "/Items/" + jid + "?userId=11111111111111111111111111111111", "jkey");
  CHECK(std::string(before["ProviderIds"]["Tmdb"].GetString()) == "101");

  // Jellyfin: default key spelling; Emby keeps its odd-case ProviderIds for m2.
  r = post_ids(jelly, R"({"key":"m2","ids":{"imdb":"tt0000002","tvmaze":"77"}})");
  REQUIRE(r.status == 200);
  const std::string jid2 = jelly.items()[static_cast<size_t>(jelly.item_of_key("m2"))].id;
  auto after = mb_get(jelly, "/Items/" + jid2 + "?userId=11111111111111111111111111111111", "jkey");
  CHECK(std::string(after["ProviderIds"]["Imdb"].GetString()) == "tt0000002");
  CHECK(std::string(after["ProviderIds"]["TvMaze"].GetString()) == "77");
  CHECK_FALSE(after["ProviderIds"].HasMember("IMDB"));
  const std::string eid2 = emby.items()[static_cast<size_t>(emby.item_of_key("m2"))].id;
  auto eafter = mb_get(emby, "/Items/" + eid2 + "?userId=33333333333333333333333333333333", "ekey");
  CHECK(std::string(eafter["ProviderIds"]["IMDB"].GetString()) == "tt0000002");
  CHECK(sim_ids(jelly, "m2")["tvmaze"] == "77");
  CHECK(sim_ids(emby, "m2")["imdb"] == "tt0000002");

  // Errors.
  CHECK(post_ids(plex, R"({"key":"nope","ids":{}})").status == 404);
  CHECK(post_ids(emby, R"({"key":"s2e1","ids":{}})").status == 404);
  CHECK(post_ids(plex, R"({"key":"m1"})").status == 400);
  CHECK(post_ids(plex, R"({"key":"m1","ids":{"IMDB":"tt1"}})").status == 400);
  CHECK(post_ids(plex, R"({"key":"m1","ids":{"imdb":1}})").status == 400);
  CHECK(post_ids(plex, R"({"key":"m1","ids":{},"x":1})").status == 400);
  CHECK(post_ids(plex, "[1]").status == 400);
  CHECK(post_ids(plex, "{").status == 400);
  // A bad entry changes nothing of the others in the same request.
  CHECK(post_ids(plex, R"([{"key":"m1c","ids":{}},{"key":"nope","ids":{}}])").status == 404);
  CHECK(sim_ids(plex, "m1c")["imdb"] == "tt0000001");
}

TEST_CASE("sim::truth_reports_copies", "[simulator]") {
  Server emby(world(), Kind::emby);
  auto r = emby.handle(make_request("GET", "/__sim/truth"));
  REQUIRE(r.status == 200);
  auto d = parse_json(r.body);
  std::map<std::string, const rapidjson::Value*> by_key;
  for (const auto& t : d.GetArray()) {
    by_key[t["key"].GetString()] = &t;
  }
  REQUIRE(by_key.size() == 7); // 3 movies, 4 episodes
  CHECK_FALSE(by_key.count("s1"));
  const auto& copy = *by_key["m1c"];
  CHECK(std::string(copy["copy_of"].GetString()) == "m1");
  CHECK(std::string(copy["library"].GetString()) == "4k");
  CHECK(std::string(copy["type"].GetString()) == "movie");
  CHECK(std::string(copy["ids"]["imdb"].GetString()) == "tt0000001");
  CHECK(copy["servers"]["plex"].GetBool());
  CHECK(copy["servers"]["jellyfin"].GetBool());
  CHECK_FALSE(copy["servers"]["emby"].GetBool());
  CHECK_FALSE(by_key["m1"]->HasMember("copy_of"));
  const auto& ep = *by_key["s2e1"];
  CHECK(std::string(ep["copy_of"].GetString()) == "s1e1");
  CHECK(std::string(ep["show"].GetString()) == "s2");
  CHECK(ep["season"].GetInt() == 1);
  CHECK(ep["episode"].GetInt() == 1);
  CHECK(std::string(ep["library"].GetString()) == "4k");
  CHECK_FALSE(by_key["s2e9"]->HasMember("copy_of")); // the original has no S01E09
  CHECK(std::string((*by_key["s1e2"])["library"].GetString()) == "main");
  // Every listener answers the same truth.
  Server plex(world(), Kind::plex);
  CHECK(plex.handle(make_request("GET", "/__sim/truth")).body == r.body);
}

TEST_CASE("sim::world_file_library_and_copy_of", "[simulator]") {
  auto error_of = [](const std::string& json) -> std::string {
    try {
      (void)ws::sim::parse_world(json, "t.json");
    } catch (const ws::sim::WorldError& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK_THAT(error_of(R"({"movies":[{"key":"m1","title":"A","library":"uhd"}]})"),
             Catch::Contains("movies[0].library: expected \"main\" or \"4k\""));
  CHECK_THAT(error_of(R"({"movies":[{"key":"m1","title":"A","library":4}]})"),
             Catch::Contains("movies[0].library: expected a string"));
  CHECK_THAT(error_of(R"({"shows":[{"key":"s1","title":"A","library":"8k"}]})"),
             Catch::Contains("shows[0].library: expected \"main\" or \"4k\""));
  CHECK_THAT(error_of(R"({"shows":[{"key":"s1","title":"A",
                                      "episodes":[{"key":"e","season":1,"episode":1,"library":"4k"}]}]})"),
             Catch::Contains("shows[0].episodes[0]: unknown key \"library\""));
  CHECK_THAT(error_of(R"({"movies":[{"key":"m1","title":"A","copy_of":"m9"}]})"),
             Catch::Contains("movies[0].copy_of: no movie with key \"m9\""));
  CHECK_THAT(
      error_of(
          R"({"movies":[{"key":"m1","title":"A","copy_of":"s1"}],"shows":[{"key":"s1","title":"S"}]})"),
      Catch::Contains("movies[0].copy_of: no movie with key \"s1\""));
  CHECK_THAT(error_of(R"({"movies":[{"key":"m1","title":"A","copy_of":"m1"}]})"),
             Catch::Contains("movies[0].copy_of: a movie cannot be a copy of itself"));
  // A copy may name an entry that comes later.
  const World w = ws::sim::parse_world(
      R"({"movies":[{"key":"m2","title":"A","copy_of":"m1","library":"main"},{"key":"m1","title":"A"}]})",
      "t.json");
  CHECK(w.entries[0].copy_of == 1);
  CHECK(w.entries[0].library == ws::sim::k_main_library);
}

TEST_CASE("sim::rematch_switches_candidates_once", "[simulator]") {
  ws::sim::GenerateOptions o;
  o.seed = 21;
  o.items = 3000;
  o.messy = 20;
  auto w = std::make_shared<const World>(ws::sim::generate_world(o));
  REQUIRE(w->rematches.size() > 3);
  for (Kind k : ws::sim::k_all_kinds) {
    Server s(w, k);
    size_t expected = 0;
    for (const auto& rm : w->rematches) {
      if (rm.kind != k) {
        continue;
      }
      ++expected;
      const Entry& e = w->entries[rm.entry];
      const auto item = static_cast<uint32_t>(s.item_of_key(e.key));
      const auto wrong = s.presented_ids(item);
      REQUIRE(wrong == rm.wrong);
      if (e.kind == EntryKind::movie) {
        CHECK(wrong.size() == 1);
        CHECK(wrong[0].first == "imdb");
        CHECK(wrong[0].second.rfind("tt9", 0) == 0);
      } else {
        CHECK(wrong.size() == 1);
        CHECK(wrong[0].first == "tvdb");
      }
    }
    REQUIRE(expected > 0);
    auto r = s.handle(make_request("POST", "/__sim/rematch"));
    REQUIRE(r.status == 200);
    CHECK(r.body == fmt::format(R"({{"rematched":{}}})", expected));
    for (const auto& rm : w->rematches) {
      if (rm.kind != k) {
        continue;
      }
      const Entry& e = w->entries[rm.entry];
      const auto ids = s.presented_ids(static_cast<uint32_t>(s.item_of_key(e.key)));
      if (k != Kind::plex) {
        CHECK(ids == e.ids);
      } else {
        // Plex presents the imdb, tmdb and tvdb ids (in that order).
        ws::sim::IdList want;
        for (const char* p : {"imdb", "tmdb", "tvdb"}) {
          for (const auto& id : e.ids) {
            if (id.first == p) {
              want.push_back(id);
            }
          }
        }
        CHECK(ids == want);
      }
    }
    CHECK(s.handle(make_request("POST", "/__sim/rematch")).body == R"({"rematched":0})");
  }
}

TEST_CASE("sim::messy_zero_is_the_old_world", "[simulator]") {
  ws::sim::GenerateOptions o;
  o.seed = 11;
  o.items = 3000;
  o.messy = 0;
  const World w = ws::sim::generate_world(o);
  // A digest of everything a served world depends on, computed by the generator as it was
  // before the messy cases existed (same seed, same options).
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&](const std::string& s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
    h ^= 0xff;
    h *= 0x100000001b3ULL;
  };
  for (size_t i = 0; i < w.entries.size(); ++i) {
    const Entry& e = w.entries[i];
    std::string ids;
    for (const auto& [k, v] : e.ids) {
      ids += k + "=" + v + ";";
    }
    std::string guids;
    for (const auto& g : e.plex_guids) {
      guids += g + ";";
    }
    mix(fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}", e.key, e.title, e.servers, e.season, e.episode,
                    e.file, ids, guids, e.added_at));
    for (Kind k : ws::sim::k_all_kinds) {
      for (size_t u = 0; u < 2; ++u) {
        const auto s = w.initial_state(k, u, i);
        mix(fmt::format("{}{}{}{}{}", s.played, s.play_count, s.last_played_ms, s.position_ms,
                        s.favorite));
      }
    }
    CHECK(e.copy_of < 0);
    CHECK(e.cases == 0);
    CHECK(e.library == ws::sim::k_main_library);
    CHECK((e.kind != EntryKind::episode || e.season > 0));
  }
  CHECK(w.entries.size() == 3902);
  CHECK(h == 5252380561642970032ULL);
  CHECK(w.rematches.empty());
  for (Kind k : ws::sim::k_all_kinds) {
    Server s(std::make_shared<const World>(w), k);
    CHECK(s.libraries().size() == 3);
  }
}

TEST_CASE("sim::messy_rates_in_a_large_world", "[simulator]") {
  ws::sim::GenerateOptions o;
  o.seed = 1;
  o.items = 100000;
  auto shared = std::make_shared<const World>(ws::sim::generate_world(o));
  const World& w = *shared;
  size_t counts[3] = {0, 0, 0};
  size_t movies = 0;
  size_t shows = 0;
  size_t episodes = 0;
  size_t movie_copies = 0;
  size_t show_copies = 0;
  size_t copy_same_state = 0;
  size_t copy_states = 0;
  size_t conflicting = 0;
  size_t cross = 0;
  size_t rematch_movies = 0;
  size_t rematch_shows = 0;
  size_t shows_with_specials = 0;
  size_t shows_with_shared = 0;
  std::set<std::string> keys;
  for (size_t i = 0; i < w.entries.size(); ++i) {
    const Entry& e = w.entries[i];
    REQUIRE(keys.insert(e.key).second);
    for (Kind k : ws::sim::k_all_kinds) {
      if (e.kind != EntryKind::show && e.on(k)) {
        ++counts[ws::sim::idx(k)];
      }
    }
    if (e.kind == EntryKind::show) {
      if (e.copy_of >= 0) {
        ++show_copies;
        const Entry& orig = w.entries[static_cast<size_t>(e.copy_of)];
        CHECK(orig.ids == e.ids);
        CHECK(e.library == ws::sim::k_4k_library);
        CHECK(e.file.rfind("/media/tv4k/", 0) == 0);
        // On one server, which holds every copied episode's original.
        CHECK(__builtin_popcount(e.servers) == 1);
        for (uint32_t c : e.episodes) {
          const Entry& ce = w.entries[c];
          REQUIRE(ce.copy_of >= 0);
          const Entry& oe = w.entries[static_cast<size_t>(ce.copy_of)];
          CHECK(oe.show == static_cast<uint32_t>(e.copy_of));
          CHECK((oe.servers & e.servers) == e.servers);
          CHECK(ce.ids == oe.ids);
          CHECK(ce.season == oe.season);
          CHECK(ce.episode == oe.episode);
        }
        continue;
      }
      ++shows;
      rematch_shows += (e.cases & ws::sim::mc_rematch) != 0 ? 1 : 0;
      bool specials = false;
      bool shared_pair = false;
      int specials_count = 0;
      for (size_t n = 0; n < e.episodes.size(); ++n) {
        const Entry& ep = w.entries[e.episodes[n]];
        specials = specials || ep.season == 0;
        specials_count += ep.season == 0 ? 1 : 0;
        if (n > 0 && !ep.ids.empty() && !w.entries[e.episodes[n - 1]].ids.empty() &&
            ep.ids.front() == w.entries[e.episodes[n - 1]].ids.front()) {
          shared_pair = true;
          CHECK((ep.cases & ws::sim::mc_shared_episode_id) != 0);
        }
      }
      CHECK(specials_count <= 3);
      shows_with_specials += specials ? 1 : 0;
      shows_with_shared += shared_pair ? 1 : 0;
      continue;
    }
    if (e.copy_of >= 0) {
      const Entry& orig = w.entries[static_cast<size_t>(e.copy_of)];
      CHECK(e.key == orig.key + "c");
      CHECK(e.title == orig.title);
      CHECK(e.year == orig.year);
      CHECK(e.ids == orig.ids);
      CHECK((orig.servers & e.servers) == e.servers);
      CHECK(__builtin_popcount(e.servers) == 1);
      for (Kind k : ws::sim::k_all_kinds) {
        if (e.on(k)) {
          for (size_t u = 0; u < 2; ++u) {
            ++copy_states;
            const auto original = w.initial_state(k, u, static_cast<size_t>(e.copy_of));
            copy_same_state += w.initial_state(k, u, i) == original ? 1 : 0;
          }
        }
      }
      if (e.kind == EntryKind::movie) {
        ++movie_copies;
        CHECK(e.library == ws::sim::k_4k_library);
        CHECK(e.file.rfind("/media/movies4k/", 0) == 0);
      }
      continue;
    }
    if (e.kind == EntryKind::movie) {
      ++movies;
      rematch_movies += (e.cases & ws::sim::mc_rematch) != 0 ? 1 : 0;
      if ((e.cases & ws::sim::mc_conflicting_ids) != 0) {
        ++conflicting;
        REQUIRE(e.case_server >= 0);
        CHECK(e.on(static_cast<Kind>(e.case_server)));
      }
    } else {
      ++episodes;
      if ((e.cases & ws::sim::mc_cross_show_episode_id) != 0) {
        ++cross;
        // Another show's episode carries the same tvdb id.
        bool found = false;
        for (const Entry& other : w.entries) {
          if (other.kind == EntryKind::episode && other.show != e.show && other.copy_of < 0 &&
              &other != &e && !other.ids.empty() && other.ids.front() == e.ids.front()) {
            found = true;
            break;
          }
        }
        CHECK(found);
      }
    }
  }
  CHECK(counts[0] == 100000);
  CHECK(counts[1] == 100000);
  CHECK(counts[2] == 100000);
  auto rate = [](size_t a, size_t b) { return static_cast<double>(a) / static_cast<double>(b); };
  INFO(fmt::format(
      "movies {} shows {} episodes {} movie copies {} show copies {} conflicting {} cross {} "
      "rematch movies {} shows {} specials {} shared {}",
      movies, shows, episodes, movie_copies, show_copies, conflicting, cross, rematch_movies,
      rematch_shows, shows_with_specials, shows_with_shared));
  CHECK(rate(movie_copies, movies) == Approx(0.01).margin(0.003));
  CHECK(rate(show_copies, shows) == Approx(0.005).margin(0.003));
  CHECK(rate(conflicting, movies) == Approx(0.005).margin(0.002));
  CHECK(rate(cross, episodes) == Approx(0.005).margin(0.002));
  CHECK(rate(rematch_movies, movies) == Approx(0.005).margin(0.002));
  CHECK(rate(rematch_shows, shows) == Approx(0.003).margin(0.002));
  CHECK(rate(shows_with_specials, shows) == Approx(0.05).margin(0.012));
  CHECK(rate(shows_with_shared, shows) == Approx(0.02).margin(0.008));
  CHECK(rate(copy_same_state, copy_states) > 0.5);
  CHECK(w.rematches.size() == rematch_movies + rematch_shows);

  // Served: ids stay unique, every case is presented as generated.
  for (Kind k : ws::sim::k_all_kinds) {
    Server s(shared, k);
    std::set<std::string> ids;
    for (const auto& it : s.items()) {
      REQUIRE(ids.insert(it.id).second);
    }
    for (const auto& lib : s.libraries()) {
      // Plex section keys are a namespace of their own; Jellyfin/Emby views are items too.
      CHECK((k == Kind::plex || ids.count(lib.id) == 0));
    }
    CHECK(s.libraries().size() == 5);
    for (size_t i = 0; i < w.entries.size(); ++i) {
      const Entry& e = w.entries[i];
      if ((e.cases & ws::sim::mc_conflicting_ids) == 0 || !e.on(k)) {
        continue;
      }
      const auto presented = s.presented_ids(static_cast<uint32_t>(s.item_of_key(e.key)));
      std::string tmdb;
      for (const auto& [p, v] : presented) {
        if (p == "tmdb") {
          tmdb = v;
        }
      }
      if (static_cast<Kind>(e.case_server) == k) {
        CHECK(presented.front() == e.ids.front()); // its own imdb id
        CHECK(tmdb != e.ids[1].second);            // another movie's tmdb id
        CHECK_FALSE(tmdb.empty());
      }
    }
  }
}

TEST_CASE("sim::messy_option_bounds", "[simulator]") {
  ws::sim::GenerateOptions o;
  o.items = 50;
  o.messy = -0.5;
  CHECK_THROWS_WITH(ws::sim::generate_world(o),
                    Catch::Contains("--messy must be between 0 and 20"));
  o.messy = 21;
  CHECK_THROWS_AS(ws::sim::generate_world(o), ws::sim::WorldError);
  o.messy = 20;
  o.items = 2000;
  const World w = ws::sim::generate_world(o);
  size_t counts[3] = {0, 0, 0};
  for (const Entry& e : w.entries) {
    for (Kind k : ws::sim::k_all_kinds) {
      if (e.kind != EntryKind::show && e.on(k)) {
        ++counts[ws::sim::idx(k)];
      }
    }
  }
  CHECK(counts[0] == 2000);
  CHECK(counts[1] == 2000);
  CHECK(counts[2] == 2000);
  // A subset of servers: still exactly --items each, nothing on the others.
  o.servers = 0b101;
  o.seed = 4;
  const World sub = ws::sim::generate_world(o);
  size_t sub_counts[3] = {0, 0, 0};
  size_t copies = 0;
  for (const Entry& e : sub.entries) {
    copies += e.copy_of >= 0 ? 1 : 0;
    for (Kind k : ws::sim::k_all_kinds) {
      if (e.kind != EntryKind::show && e.on(k)) {
        ++sub_counts[ws::sim::idx(k)];
      }
    }
  }
  CHECK(copies > 0);
  CHECK(sub_counts[0] == 2000);
  CHECK(sub_counts[1] == 0);
  CHECK(sub_counts[2] == 2000);
  for (const auto& rm : sub.rematches) {
    CHECK(rm.kind != Kind::jellyfin);
  }
}

TEST_CASE("sim::ids_change_while_listing", "[simulator]") {
  ws::sim::GenerateOptions o;
  o.seed = 5;
  o.items = 300;
  o.messy = 20;
  auto w = std::make_shared<const World>(ws::sim::generate_world(o));
  for (Kind k : ws::sim::k_all_kinds) {
    Server s(w, k);
    const std::string token = w->servers[ws::sim::idx(k)].token;
    const std::string target = k == Kind::plex
                                   ? "/library/sections/1/all?includeGuids=1&X-Plex-Token=" + token
                                   : "/Items?Recursive=true&Fields=ProviderIds&api_key=" + token;
    std::string movie;
    for (const Entry& e : w->entries) {
      if (e.kind == EntryKind::movie && e.copy_of < 0 && e.on(k)) {
        movie = e.key;
        break;
      }
    }
    REQUIRE_FALSE(movie.empty());
    std::thread writer([&]() {
      for (int i = 0; i < 200; ++i) {
        (void)s.handle(
            make_request("POST", "/__sim/ids", {},
                         fmt::format(R"({{"key":"{}","ids":{{"tmdb":"{}"}}}})", movie, i)));
        if (i == 100) {
          (void)s.handle(make_request("POST", "/__sim/rematch"));
        }
      }
    });
    int ok = 0;
    for (int i = 0; i < 30; ++i) {
      ok += s.handle(make_request("GET", target)).status == 200 ? 1 : 0;
      ok += s.handle(make_request("GET", "/__sim/items")).status == 200 ? 1 : 0;
    }
    writer.join();
    CHECK(ok == 60);
    const auto item = static_cast<uint32_t>(s.item_of_key(movie));
    CHECK(s.presented_ids(item) == ws::sim::IdList{{"tmdb", "199"}});
  }
}
