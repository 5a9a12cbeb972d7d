// SPDX-License-Identifier: MIT
#include <watchstate/backend/guid.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using ws::backend::parse_episode_range;
using ws::backend::parse_plex_guids;
using ws::backend::parse_provider_ids;
using ws::model::CustomGuidRule;
using ws::model::CustomGuidRules;
using ws::model::Guid;
using ws::model::GuidKey;
using ws::model::Guids;

namespace {

Guids plex(std::vector<std::string_view> ids) { return parse_plex_guids(ids); }

Guids one(GuidKey key, std::string value) { return Guids{Guid{key, std::move(value)}}; }

CustomGuidRule prefix_rule(std::string prefix, GuidKey provider) {
  return CustomGuidRule{std::move(prefix), {}, provider};
}

CustomGuidRule provider_id_rule(std::string provider_id, GuidKey provider) {
  return CustomGuidRule{{}, std::move(provider_id), provider};
}

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
  CHECK(ws::model::guid_key_name(GuidKey::imdb) == "imdb");
  CHECK(ws::model::guid_key_name(GuidKey::youtube) == "youtube");
  CHECK(ws::model::guid_key_from_name("tvmaze") == GuidKey::tvmaze);
  CHECK(ws::model::guid_key_from_name("TVDB") == GuidKey::tvdb);
  CHECK_FALSE(ws::model::guid_key_from_name("plex").has_value());
  CHECK_FALSE(ws::model::guid_key_from_name("").has_value());
  for (std::size_t i = 0; i < ws::model::k_guid_key_count; ++i) {
    const auto key = static_cast<GuidKey>(i);
    CHECK(ws::model::guid_key_from_name(ws::model::guid_key_name(key)) == key);
  }
}

TEST_CASE("model::is_valid_guid_value", "[backend][guid]") {
  using ws::model::is_valid_guid_value;
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

TEST_CASE("backend::parse_plex_guids custom prefixes", "[backend][guid]") {
  const CustomGuidRules rules{prefix_rule("com.plexapp.agents.mydb://", GuidKey::tmdb),
                              prefix_rule("mytv:", GuidKey::tvdb)};
  const auto custom = [&rules](std::vector<std::string_view> ids) {
    return parse_plex_guids(ids, rules);
  };
  SECTION("the text after the prefix, up to '?', is an id of the provider") {
    CHECK(plex({"com.plexapp.agents.mydb://123?lang=en"}).empty());
    CHECK(custom({"com.plexapp.agents.mydb://123?lang=en"}) == one(GuidKey::tmdb, "123"));
    CHECK(custom({"mytv:81797"}) == one(GuidKey::tvdb, "81797"));
    CHECK(custom({"imdb://tt5", "com.plexapp.agents.mydb://7"}) ==
          Guids{{GuidKey::imdb, "tt5"}, {GuidKey::tmdb, "7"}});
  }
  SECTION("the prefix in any case") {
    CHECK(custom({"COM.PlexApp.Agents.MyDb://55"}) == one(GuidKey::tmdb, "55"));
    CHECK(custom({"MYTV:9"}) == one(GuidKey::tvdb, "9"));
  }
  SECTION("values are validated like any id") {
    CHECK(custom({"com.plexapp.agents.mydb://abc"}).empty());
    CHECK(custom({"com.plexapp.agents.mydb://"}).empty());
    CHECK(custom({"mytv:tt1"}).empty());
    // An id relative to a show names an episode through its show, not the item itself.
    CHECK(custom({"com.plexapp.agents.mydb://123/1/2?lang=en"}).empty());
    CHECK(parse_plex_guids({"yt:abc/1"}, {prefix_rule("yt:", GuidKey::youtube)}).empty());
    CHECK(parse_plex_guids({"yt:abc"}, {prefix_rule("yt:", GuidKey::youtube)}) ==
          one(GuidKey::youtube, "abc"));
  }
  SECTION("the lowest numeric id still wins") {
    CHECK(custom({"tmdb://200", "com.plexapp.agents.mydb://150"}) == one(GuidKey::tmdb, "150"));
    CHECK(custom({"tmdb://200", "com.plexapp.agents.mydb://300"}) == one(GuidKey::tmdb, "200"));
    CHECK(custom({"com.plexapp.agents.mydb://300", "tmdb://200"}) == one(GuidKey::tmdb, "200"));
  }
  SECTION("custom rules come before the built-in ones") {
    const CustomGuidRules remap{prefix_rule("com.plexapp.agents.themoviedb://", GuidKey::tvdb),
                                prefix_rule("tv.plex.agents.nfo.movie://", GuidKey::cmdb),
                                prefix_rule("imdb://", GuidKey::cmdb)};
    CHECK(plex({"com.plexapp.agents.themoviedb://603?lang=en"}) == one(GuidKey::tmdb, "603"));
    CHECK(parse_plex_guids({"com.plexapp.agents.themoviedb://603?lang=en"}, remap) ==
          one(GuidKey::tvdb, "603"));
    CHECK(parse_plex_guids({"tv.plex.agents.nfo.movie://x1"}, remap) == one(GuidKey::cmdb, "x1"));
    CHECK(parse_plex_guids({"imdb://tt1"}, remap) == one(GuidKey::cmdb, "tt1"));
    // A GUID a rule claims is not read again by the built-in rules, even when its value is bad.
    CHECK(parse_plex_guids({"com.plexapp.agents.themoviedb://x"}, remap).empty());
  }
  SECTION("the first matching rule decides") {
    const CustomGuidRules two{prefix_rule("mydb://", GuidKey::tmdb),
                              prefix_rule("mydb:", GuidKey::tvdb)};
    CHECK(parse_plex_guids({"mydb://5"}, two) == one(GuidKey::tmdb, "5"));
    CHECK(parse_plex_guids({"mydb:5"}, two) == one(GuidKey::tvdb, "5"));
  }
}

TEST_CASE("backend::parse_provider_ids custom keys", "[backend][guid]") {
  const CustomGuidRules rules{provider_id_rule("MyDb", GuidKey::tmdb),
                              provider_id_rule("OtherTv", GuidKey::tvdb)};
  CHECK(parse_provider_ids({{"MyDb", "77"}}).empty());
  CHECK(parse_provider_ids({{"MyDb", "77"}}, rules) == one(GuidKey::tmdb, "77"));
  CHECK(parse_provider_ids({{"mydb", "77"}, {"OTHERTV", "8"}, {"Imdb", "tt3"}}, rules) ==
        Guids{{GuidKey::imdb, "tt3"}, {GuidKey::tmdb, "77"}, {GuidKey::tvdb, "8"}});
  // Validated like any id; empty values skipped.
  CHECK(parse_provider_ids({{"MyDb", "7x"}}, rules).empty());
  CHECK(parse_provider_ids({{"MyDb", ""}}, rules).empty());
  // A key that only starts like a rule's key is not it.
  CHECK(parse_provider_ids({{"MyDbCollection", "5"}, {"My", "6"}}, rules).empty());
  // The lowest numeric id wins between a custom and a built-in key.
  CHECK(parse_provider_ids({{"Tmdb", "10"}, {"MyDb", "5"}}, rules) == one(GuidKey::tmdb, "5"));
  CHECK(parse_provider_ids({{"MyDb", "50"}, {"Tmdb", "10"}}, rules) == one(GuidKey::tmdb, "10"));
  // A rule decides even for a key the built-in table knows.
  CHECK(parse_provider_ids({{"Tvdb", "42"}}, {provider_id_rule("tvdb", GuidKey::tmdb)}) ==
        one(GuidKey::tmdb, "42"));
}

TEST_CASE("backend::custom guid rules of the other kind change nothing", "[backend][guid]") {
  const CustomGuidRules rules{prefix_rule("MyDb://", GuidKey::tmdb),
                              provider_id_rule("MyDb", GuidKey::tmdb),
                              prefix_rule("nothing.here://", GuidKey::imdb),
                              provider_id_rule("NothingHere", GuidKey::imdb)};
  const std::vector<std::string_view> plex_ids{"imdb://tt0000001",
                                               "tmdb://20",
                                               "com.plexapp.agents.thetvdb://121361?lang=en",
                                               "tv.plex.agents.nfo.movie://movie/tmdb_15",
                                               "plex://movie/5d77",
                                               "com.plexapp.agents.hama://anidb-4"};
  CHECK(parse_plex_guids(plex_ids, rules) == parse_plex_guids(plex_ids));
  CHECK(parse_plex_guids(plex_ids, {}) == parse_plex_guids(plex_ids));
  // A ProviderIds key never matches a Plex prefix rule, and the other way round.
  CHECK(parse_provider_ids({{"MyDb://", "5"}}, {prefix_rule("MyDb://", GuidKey::tmdb)}).empty());
  CHECK(parse_plex_guids({"MyDb://5"}, {provider_id_rule("MyDb", GuidKey::tmdb)}).empty());
  const std::vector<std::pair<std::string_view, std::string_view>> provider_ids{
      {"Imdb", "tt1"}, {"Tv Maze", "5"}, {"Tvdb", "349232"}, {"Zap2It", "EP1"}};
  CHECK(parse_provider_ids(provider_ids, rules) == parse_provider_ids(provider_ids));
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
