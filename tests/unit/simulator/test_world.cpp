// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>

#include "simulator/world.hpp"

using ws::sim::Kind;
using ws::sim::World;
using ws::sim::WorldError;

namespace {

std::string error_of(const std::string& json) {
  try {
    (void)ws::sim::parse_world(json, "test.json");
  } catch (const WorldError& e) {
    return e.what();
  }
  return "no error";
}

} // namespace

TEST_CASE("sim::world_file_errors", "[simulator]") {
  CHECK_THAT(error_of("{"), Catch::Contains("world file test.json: offset"));
  CHECK_THAT(error_of(R"({"movie":[]})"), Catch::Contains("top level: unknown key \"movie\""));
  CHECK_THAT(error_of(R"({"movies":[{"key":"m1"}]})"),
             Catch::Contains("movies[0]: missing \"title\""));
  CHECK_THAT(error_of(R"({"movies":[{"key":"m1","title":"A","ids":{"IMDB":"tt1"}}]})"),
             Catch::Contains("movies[0].ids.IMDB: provider names in \"ids\" must be lower-case"));
  CHECK_THAT(error_of(R"({"movies":[{"key":"m1","title":"A"},{"key":"m1","title":"B"}]})"),
             Catch::Contains("movies[1].key: duplicate key \"m1\""));
  CHECK_THAT(error_of(R"({"servers":{"plex":{"server_id":"abc"}}})"),
             Catch::Contains("servers.plex.server_id: must be 40 hex characters"));
  CHECK_THAT(
      error_of(
          R"({"movies":[{"key":"m1","title":"A","servers":["plex"],"state":{"emby":{"played":true}}}]})"),
      Catch::Contains("movies[0].state.emby: the item is not on this server"));
  CHECK_THAT(
      error_of(
          R"({"movies":[{"key":"m1","title":"A","state":{"jellyfin":{"user":"ffff","played":true}}}]})"),
      Catch::Contains("movies[0].state.jellyfin.user: unknown user"));
  CHECK_THAT(error_of(R"({"shows":[{"key":"s","title":"S","episodes":[{"key":"e","season":1}]}]})"),
             Catch::Contains("shows[0].episodes[0]: missing \"episode\""));
  CHECK_THAT(
      error_of(R"({"servers":{"plex":{}},"movies":[{"key":"m1","title":"A","servers":["emby"]}]})"),
      Catch::Contains("server \"jellyfin\" is requested but not in the world"));
  CHECK_THROWS_WITH(ws::sim::load_world_file("/nonexistent/world.json"),
                    "world file /nonexistent/world.json: cannot be read");
}

TEST_CASE("sim::world_file_defaults", "[simulator]") {
  const World w = ws::sim::parse_world(R"({
      "movies":[{"key":"m1","title":"Alpha","year":2001,"ids":{"imdb":"tt0000001"},
                 "state":{"plex":{"played":true,"last_played":1700000000},"jellyfin":{"position_ms":600000}}}],
      "shows":[{"key":"s1","title":"Show","ids":{"tvdb":"200"},"servers":["plex","emby"],
                "episodes":[{"key":"s1e1","season":1,"episode":1,"episode_end":2,"file":"x.mkv"}]}]})",
                                       "t.json");
  REQUIRE(w.entries.size() == 3);
  for (Kind k : ws::sim::k_all_kinds) {
    CHECK(w.servers[ws::sim::idx(k)].present);
    CHECK(w.servers[ws::sim::idx(k)].users.size() == 1);
  }
  CHECK(w.servers[0].users[0].id == "1");
  CHECK(w.servers[0].server_id.size() == 40);
  CHECK(w.servers[1].server_id.size() == 32);
  CHECK(w.servers[1].users[0].id.size() == 32);
  const auto& movie = w.entries[0];
  CHECK(movie.added_at == ws::sim::default_added_at("m1"));
  CHECK(movie.file == "/media/movies/Alpha (2001)/Alpha (2001).mkv");
  CHECK(movie.servers == 0b111);
  const auto& ep = w.entries[2];
  CHECK(ep.episode_end == 2);
  CHECK(ep.title == "Episode 1");
  CHECK(ep.file == "/media/tv/Show/Season 01/x.mkv");
  CHECK(ep.on(Kind::emby));
  CHECK_FALSE(ep.on(Kind::jellyfin));
  CHECK(w.entries[1].servers == 0b101);
  const auto plex = w.initial_state(Kind::plex, 0, 0);
  CHECK(plex.played);
  CHECK(plex.play_count == 1);
  CHECK(plex.last_played_ms == 1700000000000LL);
  const auto jf = w.initial_state(Kind::jellyfin, 0, 0);
  CHECK_FALSE(jf.played);
  CHECK(jf.position_ms == 600000);
  CHECK(jf.last_played_ms == ws::sim::k_no_time);
  // Same input, same derived ids and tokens.
  const World again = ws::sim::parse_world(R"({"movies":[]})", "u.json");
  CHECK(again.servers[1].token == w.servers[1].token);
}

TEST_CASE("sim::generate_deterministic", "[simulator]") {
  ws::sim::GenerateOptions o;
  o.seed = 7;
  o.items = 3000;
  const World a = ws::sim::generate_world(o);
  const World b = ws::sim::generate_world(o);
  REQUIRE(a.entries.size() == b.entries.size());
  for (size_t i = 0; i < a.entries.size(); ++i) {
    REQUIRE(a.entries[i].key == b.entries[i].key);
    REQUIRE(a.entries[i].title == b.entries[i].title);
    REQUIRE(a.entries[i].servers == b.entries[i].servers);
    REQUIRE(a.initial_state(Kind::emby, 1, i) == b.initial_state(Kind::emby, 1, i));
  }
  CHECK(a.servers[1].token == b.servers[1].token);
  o.seed = 8;
  const World c = ws::sim::generate_world(o);
  CHECK(c.servers[1].server_id != a.servers[1].server_id);
  CHECK(c.entries[5].title != a.entries[5].title);
}

TEST_CASE("sim::generate_ratios", "[simulator]") {
  ws::sim::GenerateOptions o;
  o.seed = 3;
  o.items = 6000;
  const World w = ws::sim::generate_world(o);
  size_t counts[3] = {0, 0, 0};
  size_t leaf = 0;
  size_t movies = 0;
  size_t multi = 0;
  size_t on_plex = 0;
  size_t shared = 0;
  size_t diverged = 0;
  size_t played = 0;
  size_t legacy = 0;
  size_t no_ids = 0;
  for (size_t i = 0; i < w.entries.size(); ++i) {
    const auto& e = w.entries[i];
    if (e.kind == ws::sim::EntryKind::show) {
      continue;
    }
    ++leaf;
    movies += e.kind == ws::sim::EntryKind::movie ? 1 : 0;
    multi += e.episode_end >= 0 ? 1 : 0;
    legacy += !e.plex_guids.empty() && e.plex_guids[0].rfind("com.plexapp.agents.", 0) == 0 ? 1 : 0;
    no_ids += e.ids.empty() ? 1 : 0;
    REQUIRE(e.servers != 0);
    std::vector<Kind> on;
    for (Kind k : ws::sim::k_all_kinds) {
      if (e.on(k)) {
        ++counts[ws::sim::idx(k)];
        on.push_back(k);
      }
    }
    on_plex += e.on(Kind::plex) ? 1 : 0;
    if (e.on(Kind::plex)) {
      played += w.initial_state(Kind::plex, 0, i).played ? 1 : 0;
    }
    if (on.size() >= 2) {
      ++shared;
      const auto first = w.initial_state(on[0], 0, i);
      bool differs = false;
      for (Kind k : on) {
        differs = differs || !(w.initial_state(k, 0, i) == first);
      }
      diverged += differs ? 1 : 0;
    }
  }
  CHECK(counts[0] == 6000);
  CHECK(counts[1] == 6000);
  CHECK(counts[2] == 6000);
  const double presence = static_cast<double>(on_plex) / static_cast<double>(leaf);
  CHECK(presence == Approx(0.8 / (1.0 - 0.008)).margin(0.03));
  CHECK(static_cast<double>(movies) / static_cast<double>(leaf) == Approx(0.4).margin(0.03));
  CHECK(static_cast<double>(diverged) / static_cast<double>(shared) == Approx(0.3).margin(0.03));
  CHECK(static_cast<double>(played) / static_cast<double>(on_plex) == Approx(0.3).margin(0.05));
  CHECK(multi > 0);
  CHECK(legacy > 0);
  CHECK(no_ids > 0);
}

TEST_CASE("sim::generate_bad_options", "[simulator]") {
  ws::sim::GenerateOptions o;
  o.overlap = 1.5;
  CHECK_THROWS_WITH(ws::sim::generate_world(o),
                    Catch::Contains("--overlap must be between 0 and 1"));
  o = {};
  o.items = 0;
  CHECK_THROWS_AS(ws::sim::generate_world(o), WorldError);
}
