// SPDX-License-Identifier: MIT
#include <watchstate/backend/guid.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using ws::backend::Guid;
using ws::backend::GuidKey;
using ws::backend::Guids;
using ws::backend::parse_episode_range;
using ws::backend::parse_plex_guids;
using ws::backend::parse_provider_ids;

namespace {

Guids plex(std::vector<std::string_view> ids) { return parse_plex_guids(ids); }

Guids one(GuidKey key, std::string value) { return Guids{Guid{key, std::move(value)}}; }

std::string range_of(std::string_view name) {
  const auto range = parse_episode_range(name);
  if (!range) {
    return "none";
  }
  return std::to_string(range->season) + ":" + std::to_string(range->first) + "-" +
         std::to_string(range->last);
}

} // namespace

TEST_CASE("backend::guid_key_names", "[backend][guid]") {
  CHECK(ws::backend::guid_key_name(GuidKey::imdb) == "imdb");
  CHECK(ws::backend::guid_key_name(GuidKey::youtube) == "youtube");
  CHECK(ws::backend::guid_key_from_name("tvmaze") == GuidKey::tvmaze);
  CHECK(ws::backend::guid_key_from_name("TVDB") == GuidKey::tvdb);
  CHECK_FALSE(ws::backend::guid_key_from_name("plex").has_value());
  CHECK_FALSE(ws::backend::guid_key_from_name("").has_value());
  for (std::size_t i = 0; i < ws::backend::k_guid_key_count; ++i) {
    const auto key = static_cast<GuidKey>(i);
    CHECK(ws::backend::guid_key_from_name(ws::backend::guid_key_name(key)) == key);
  }
}

TEST_CASE("backend::is_valid_guid_value", "[backend][guid]") {
  using ws::backend::is_valid_guid_value;
  CHECK(is_valid_guid_value(GuidKey::imdb, "tt0000001"));
  CHECK_FALSE(is_valid_guid_value(GuidKey::imdb, "123456"));
  CHECK_FALSE(is_valid_guid_value(GuidKey::imdb, "tt"));
  CHECK_FALSE(is_valid_guid_value(GuidKey::imdb, "tt12a"));
  CHECK(is_valid_guid_value(GuidKey::tmdb, "603"));
  CHECK_FALSE(is_valid_guid_value(GuidKey::tmdb, "60x3"));
  CHECK_FALSE(is_valid_guid_value(GuidKey::tvdb, ""));
  CHECK(is_valid_guid_value(GuidKey::anidb, "123456"));
  CHECK(is_valid_guid_value(GuidKey::tvrage, "1"));
  CHECK(is_valid_guid_value(GuidKey::tvmaze, "5"));
  CHECK(is_valid_guid_value(GuidKey::youtube, "dQw4w9WgXcQ"));
  CHECK(is_valid_guid_value(GuidKey::cmdb, "any thing"));
  CHECK_FALSE(is_valid_guid_value(GuidKey::cmdb, ""));
}

TEST_CASE("backend::parse_plex_guids new agents", "[backend][guid]") {
  CHECK(plex({"imdb://tt0000001", "tmdb://1", "tvdb://1"}) ==
        Guids{{GuidKey::imdb, "tt0000001"}, {GuidKey::tmdb, "1"}, {GuidKey::tvdb, "1"}});
  // Sorted by key whatever the input order.
  CHECK(plex({"tvdb://7", "anidb://3", "imdb://tt9"}) ==
        Guids{{GuidKey::anidb, "3"}, {GuidKey::imdb, "tt9"}, {GuidKey::tvdb, "7"}});
  CHECK(plex({"plex://movie/5d776825880197001ec967c7"}).empty());
  CHECK(plex({"local://12345"}).empty());
  CHECK(plex({"", "tmdb://5"}) == one(GuidKey::tmdb, "5"));
  CHECK(plex({"IMDB://tt77"}) == one(GuidKey::imdb, "tt77"));
  CHECK(plex({"imdb://123456"}).empty());
  CHECK(plex({"tvmaze://42", "tvrage://43"}) ==
        Guids{{GuidKey::tvmaze, "42"}, {GuidKey::tvrage, "43"}});
  CHECK(plex({"unknown://1"}).empty());
  CHECK(plex({"no-scheme"}).empty());
}

TEST_CASE("backend::parse_plex_guids legacy agents", "[backend][guid]") {
  CHECK(plex({"com.plexapp.agents.hama://anidb-123456"}) == one(GuidKey::anidb, "123456"));
  CHECK(plex({"com.plexapp.agents.hama://tvdb2-81797"}) == one(GuidKey::tvdb, "81797"));
  CHECK(plex({"com.plexapp.agents.hama://tsdb-1399?lang=en"}) == one(GuidKey::tmdb, "1399"));
  CHECK(plex({"com.plexapp.agents.hama://anidb-42[extra]"}) == one(GuidKey::anidb, "42"));
  CHECK(plex({"com.plexapp.agents.hama://unknown-1"}).empty());
  CHECK(plex({"com.plexapp.agents.imdb"}).empty());
  CHECK(plex({"com.plexapp.agents.imdb://tt0000001?lang=en"}) == one(GuidKey::imdb, "tt0000001"));
  CHECK(plex({"com.plexapp.agents.thetvdb://123/1/2?lang=en"}).empty());
  CHECK(plex({"com.plexapp.agents.thetvdb://121361?lang=en"}) == one(GuidKey::tvdb, "121361"));
  CHECK(plex({"com.plexapp.agents.themoviedb://603?lang=en"}) == one(GuidKey::tmdb, "603"));
  CHECK(plex({"com.plexapp.agents.tmdb://604"}) == one(GuidKey::tmdb, "604"));
  CHECK(plex({"com.plexapp.agents.xbmcnfotv://555"}) == one(GuidKey::tvdb, "555"));
  CHECK(plex({"com.plexapp.agents.xbmcnfo://tt0133093"}) == one(GuidKey::imdb, "tt0133093"));
  CHECK(plex({"com.plexapp.agents.xbmcnfo://603"}) == one(GuidKey::tmdb, "603"));
  CHECK(plex({"com.plexapp.agents.ytinforeader://dQw4w9WgXcQ?lang=xn"}) ==
        one(GuidKey::youtube, "dQw4w9WgXcQ"));
  CHECK(plex({"com.plexapp.agents.cmdb://my-id"}) == one(GuidKey::cmdb, "my-id"));
  CHECK(plex({"com.plexapp.agents.none://abc"}).empty());
  CHECK(plex({"com.plexapp.agents.unknownagent://1"}).empty());
}

TEST_CASE("backend::parse_plex_guids nfo agents", "[backend][guid]") {
  CHECK(plex({"tv.plex.agents.nfo.series://show/tvdb_121361"}) == one(GuidKey::tvdb, "121361"));
  CHECK(plex({"tv.plex.agents.nfo.movie://movie/tmdb_383498"}) == one(GuidKey::tmdb, "383498"));
  CHECK(plex({"tv.plex.agents.nfo.movie://movie/imdb_tt0133093"}) ==
        one(GuidKey::imdb, "tt0133093"));
  CHECK(plex({"tv.plex.agents.nfo.movie://movie/foo_1"}).empty());
  CHECK(plex({"tv.plex.agents.nfo.movie://movie/nounderscore"}).empty());
  CHECK(plex({"tv.plex.agents.none://1"}).empty());
}

TEST_CASE("backend::parse_plex_guids conflicts", "[backend][guid]") {
  CHECK(plex({"tvdb://200", "tvdb://100"}) == one(GuidKey::tvdb, "100"));
  CHECK(plex({"tvdb://100", "tvdb://200"}) == one(GuidKey::tvdb, "100"));
  CHECK(plex({"tvdb://100", "tvdb://100"}) == one(GuidKey::tvdb, "100"));
  // Numeric comparison, not text: 99 < 100.
  CHECK(plex({"tmdb://100", "tmdb://99"}) == one(GuidKey::tmdb, "99"));
  // A non-numeric newcomer never replaces.
  CHECK(plex({"imdb://tt2", "imdb://tt1"}) == one(GuidKey::imdb, "tt2"));
  // An invalid value does not block a valid one.
  CHECK(plex({"imdb://123", "imdb://tt5"}) == one(GuidKey::imdb, "tt5"));
  // The item's own legacy guid takes part like the others.
  CHECK(plex({"tvdb://300", "com.plexapp.agents.thetvdb://250?lang=en"}) ==
        one(GuidKey::tvdb, "250"));
}

TEST_CASE("backend::parse_provider_ids", "[backend][guid]") {
  CHECK(parse_provider_ids({{"IMDB", "tt1"}, {"Tv Maze", "5"}, {"Tmdb", ""}}) ==
        Guids{{GuidKey::imdb, "tt1"}, {GuidKey::tvmaze, "5"}});
  CHECK(parse_provider_ids({{"Tvdb", "349232"}, {"Imdb", "tt0959621"}, {"Tmdb", "62085"}}) ==
        Guids{{GuidKey::imdb, "tt0959621"}, {GuidKey::tmdb, "62085"}, {GuidKey::tvdb, "349232"}});
  CHECK(parse_provider_ids({{"Zap2It", "EP1"}, {"TmdbCollection", "10"}}).empty());
  CHECK(parse_provider_ids({{"AniDB", "77"}, {"TvRage", "8"}, {"TvMaze", "9"}}) ==
        Guids{{GuidKey::anidb, "77"}, {GuidKey::tvmaze, "9"}, {GuidKey::tvrage, "8"}});
  CHECK(parse_provider_ids({{"ytinforeader", "abc"}}) == one(GuidKey::youtube, "abc"));
  CHECK(parse_provider_ids({{"Imdb", "123"}}).empty());
  CHECK(parse_provider_ids({{"Tmdb", "12x"}}).empty());
  CHECK(parse_provider_ids({}).empty());
}

TEST_CASE("backend::parse_episode_range", "[backend][guid]") {
  CHECK(range_of("Show - S01E01.mkv") == "1:1-1");
  CHECK(range_of("Show - S01E01-E02.mkv") == "1:1-2");
  CHECK(range_of("Show - S01E01-02.mkv") == "1:1-2");
  CHECK(range_of("Show - S01E01E02.mkv") == "1:1-2");
  CHECK(range_of("Show.S01E01.S01E02.mkv") == "1:1-2");
  CHECK(range_of("show.s02e05-e07.720p.mkv") == "2:5-7");
  CHECK(range_of("Show Season 1 Episode 1-2.mkv") == "1:1-2");
  CHECK(range_of("Show Season 3 Episode 4.mkv") == "3:4-4");
  CHECK(range_of("Show 1x01-02.mkv") == "1:1-2");
  CHECK(range_of("Show 1x01.mkv") == "1:1-1");
  CHECK(range_of("Show 2x03-2x04.avi") == "2:3-4");
  // No season in the name: season is -1 (unknown).
  CHECK(range_of("Show E001-E002.mkv") == "-1:1-2");
  CHECK(range_of("Show - E05.mkv") == "-1:5-5");
  // Only the base name is read.
  CHECK(range_of("/media/S09E09/Show - S01E03.mkv") == "1:3-3");
  CHECK(range_of("C:\\media\\Show - S01E04-E05.mkv") == "1:4-5");
  // Not ranges.
  CHECK(range_of("Show - S01E01-1080p.mkv") == "1:1-1");
  CHECK(range_of("Show - S01E01 - Title.mkv") == "1:1-1");
  CHECK(range_of("Show.S01E01.2.mkv") == "1:1-1");
  CHECK(range_of("Show - S01E01-2.0.mkv") == "1:1-1");
  CHECK(range_of("Movie (1999) 1920x1080.mkv") == "none");
  CHECK(range_of("Movie (1999).mkv") == "none");
  CHECK(range_of("") == "none");
  // A backwards range is one episode.
  CHECK(range_of("Show S01E05-E03.mkv") == "1:5-5");
  // The real Plex fixture file name.
  CHECK(range_of("/storage/media/tv/Ferengi StandUp Comedy (2002)/Season 01/"
                 "Ferengi StandUp Comedy (2002) - S01E01.mkv") == "1:1-1");
}
