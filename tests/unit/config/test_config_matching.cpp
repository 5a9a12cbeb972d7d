// SPDX-License-Identifier: MIT
#include <watchstate/config/config.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/exit_code.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using ws::config::Config;
using ws::config::IgnoreRule;
using ws::config::parse_config;
using ws::model::Guid;
using ws::model::GuidKey;

namespace {

// Two backends, after the `matching` block of each test (lines 1.. of `matching` come first).
const std::string k_backends = "backends:\n"
                               "  home_plex:\n"
                               "    type: plex\n"
                               "    url: http://127.0.0.1:32400\n"
                               "    token: tok-plex-Zq81vX3mNw\n"
                               "  living_room_jf:\n"
                               "    type: jellyfin\n"
                               "    url: http://127.0.0.1:8096\n"
                               "    token: tok-jf-Hw72pQ\n"
                               "    user: 5e1f00aa\n";

// The message of the ws::Error that parsing `matching` (then the backends) throws; "" if none.
std::string matching_error(const std::string& matching) {
  try {
    (void)parse_config(matching + k_backends, "config.yaml");
  } catch (const ws::Error& e) {
    CHECK(e.code() == ws::Errc::config);
    CHECK(ws::exit_code_for(e.code()) == 78);
    return e.what();
  }
  return {};
}

Config parse_matching(const std::string& matching) {
  return parse_config(matching + k_backends, "config.yaml");
}

} // namespace

TEST_CASE("config::matching absent or empty", "[config][matching]") {
  const Config none = parse_matching("");
  CHECK(none.matching.ignore.empty());
  CHECK_FALSE(none.matching.paths.enabled);
  CHECK(none.matching.paths.roots.empty());
  CHECK(none.matching.guids.empty());

  const Config empty = parse_matching("matching:\n");
  CHECK(empty.matching.ignore.empty());
  const Config empty_parts = parse_matching("matching:\n  ignore:\n  paths:\n  guids: []\n");
  CHECK(empty_parts.matching.ignore.empty());
  CHECK_FALSE(empty_parts.matching.paths.enabled);
  CHECK(empty_parts.matching.guids.empty());
}

TEST_CASE("config::matching.ignore forms", "[config][matching]") {
  const Config config =
      parse_matching("matching:\n"                                            // 1
                     "  ignore:\n"                                            // 2
                     "    - tmdb://12345\n"                                   // 3
                     "    - id: TMDB://678\n"                                 // 4
                     "      backend: home_plex\n"                             // 5
                     "      type: Movie\n"                                    // 6
                     "      reason: two films share this id\n"                // 7
                     "    - id: imdb://tt0111161\n"                           // 8
                     "      backend: living_room_jf\n"                        // 9
                     "      item: \"4711\"\n"                                 // 10
                     "    - backend: home_plex\n"                             // 11
                     "      item: 4712\n"                                     // 12
                     "      reason: \"a trailer in the movies library\"\n"    // 13
                     "    - \"show://tvdb:320234@home_plex?id=1212111\"\n"    // 14
                     "    - episode://tvmaze:99@living_room_jf\n"             // 15
                     "    - { id: youtube://dQw4w9WgXcQ, type: episode }\n"); // 16
  const auto& rules = config.matching.ignore;
  REQUIRE(rules.size() == 7);

  CHECK(rules[0].id == Guid{GuidKey::tmdb, "12345"});
  CHECK(rules[0].backend.empty());
  CHECK(rules[0].type.empty());
  CHECK(rules[0].item.empty());
  CHECK(rules[0].reason.empty());
  CHECK(rules[0].text == "tmdb://12345");
  CHECK(rules[0].line == 3);

  CHECK(rules[1].id == Guid{GuidKey::tmdb, "678"});
  CHECK(rules[1].backend == "home_plex");
  CHECK(rules[1].type == "movie");
  CHECK(rules[1].item.empty());
  CHECK(rules[1].reason == "two films share this id");
  CHECK(rules[1].text == "tmdb://678 on home_plex (movie)");
  CHECK(rules[1].line == 4);

  CHECK(rules[2].id == Guid{GuidKey::imdb, "tt0111161"});
  CHECK(rules[2].backend == "living_room_jf");
  CHECK(rules[2].item == "4711");
  CHECK(rules[2].text == "imdb://tt0111161 on living_room_jf item 4711");
  CHECK(rules[2].line == 8);

  CHECK_FALSE(rules[3].id.has_value());
  CHECK(rules[3].backend == "home_plex");
  CHECK(rules[3].item == "4712");
  CHECK(rules[3].type.empty());
  CHECK(rules[3].reason == "a trailer in the movies library");
  CHECK(rules[3].text == "home_plex item 4712");
  CHECK(rules[3].line == 11);

  CHECK(rules[4].id == Guid{GuidKey::tvdb, "320234"});
  CHECK(rules[4].type == "show");
  CHECK(rules[4].backend == "home_plex");
  CHECK(rules[4].item == "1212111");
  CHECK(rules[4].text == "tvdb://320234 on home_plex item 1212111 (show)");
  CHECK(rules[4].line == 14);

  CHECK(rules[5].id == Guid{GuidKey::tvmaze, "99"});
  CHECK(rules[5].type == "episode");
  CHECK(rules[5].backend == "living_room_jf");
  CHECK(rules[5].item.empty());
  CHECK(rules[5].text == "tvmaze://99 on living_room_jf (episode)");
  CHECK(rules[5].line == 15);

  CHECK(rules[6].id == Guid{GuidKey::youtube, "dQw4w9WgXcQ"});
  CHECK(rules[6].type == "episode");
  CHECK(rules[6].backend.empty());
  CHECK(rules[6].text == "youtube://dQw4w9WgXcQ (episode)");
  CHECK(rules[6].line == 16);
}

TEST_CASE("config::matching.paths and guids", "[config][matching]") {
  const Config config =
      parse_matching("matching:\n"
                     "  paths:\n"
                     "    enabled: true\n"
                     "    roots:\n"
                     "      - { home_plex: /media/movies/, living_room_jf: /data/movies }\n"
                     "      - home_plex: /media/tv\n"
                     "        living_room_jf: 'D:\\TV\\'\n"
                     "  guids:\n"
                     "    - { plex_prefix: \"com.plexapp.agents.mydb://\", provider: tmdb }\n"
                     "    - { plex_prefix: \"mydb2:\", provider: TVDB }\n"
                     "    - { provider_id: \"MyDb\", provider: tmdb }\n");
  const auto& paths = config.matching.paths;
  CHECK(paths.enabled);
  using Root = std::vector<std::pair<std::string, std::string>>;
  REQUIRE(paths.roots.size() == 2);
  CHECK(paths.roots[0] == Root{{"home_plex", "/media/movies"}, {"living_room_jf", "/data/movies"}});
  CHECK(paths.roots[1] == Root{{"home_plex", "/media/tv"}, {"living_room_jf", "D:\\TV"}});

  const auto& guids = config.matching.guids;
  REQUIRE(guids.size() == 3);
  CHECK(guids[0].plex_prefix == "com.plexapp.agents.mydb://");
  CHECK(guids[0].provider_id.empty());
  CHECK(guids[0].provider == GuidKey::tmdb);
  CHECK(guids[1].plex_prefix == "mydb2:");
  CHECK(guids[1].provider == GuidKey::tvdb);
  CHECK(guids[2].plex_prefix.empty());
  CHECK(guids[2].provider_id == "MyDb");
  CHECK(guids[2].provider == GuidKey::tmdb);

  const Config off = parse_matching("matching:\n  paths:\n    enabled: no\n");
  CHECK_FALSE(off.matching.paths.enabled);
  CHECK(off.matching.paths.roots.empty());
}

TEST_CASE("config::matching may follow the backends", "[config][matching]") {
  const Config config = parse_config(k_backends + "matching:\n"
                                                  "  ignore:\n"
                                                  "    - { backend: living_room_jf, item: abc }\n",
                                     "config.yaml");
  REQUIRE(config.matching.ignore.size() == 1);
  CHECK(config.matching.ignore[0].line == 13);
  CHECK(config.matching.ignore[0].text == "living_room_jf item abc");

  // An unknown backend is named with the line of the rule, wherever `backends` is.
  try {
    (void)parse_config(k_backends + "matching:\n  ignore:\n    - { backend: den_emby, item: x }\n",
                       "config.yaml");
    FAIL("no exception");
  } catch (const ws::Error& e) {
    CHECK(std::string(e.what()) == "config.yaml:13: matching.ignore[0].backend: no backend named "
                                   "'den_emby'; configured: home_plex, living_room_jf");
  }
}

TEST_CASE("config::matching.ignore errors name line and key", "[config][matching]") {
  SECTION("not a list, not a map") {
    CHECK(matching_error("matching: [1]\n") == "config.yaml:1: matching: must be a map");
    CHECK(matching_error("matching:\n  ignore: tmdb://1\n") ==
          "config.yaml:2: matching.ignore: must be a list of ignore rules");
    CHECK(matching_error("matching:\n  ignored: []\n")
              .starts_with("config.yaml:2: matching.ignored: unknown key; expected one of "
                           "ignore, paths, guids"));
  }
  SECTION("strings") {
    CHECK(matching_error("matching:\n  ignore:\n    - 12345\n")
              .starts_with("config.yaml:3: matching.ignore[0]: must be <provider>://<id>"));
    CHECK(matching_error("matching:\n  ignore:\n    - ~\n")
              .starts_with("config.yaml:3: matching.ignore[0]: must be <provider>://<id>"));
    CHECK(matching_error("matching:\n  ignore:\n    - [tmdb://1]\n")
              .starts_with("config.yaml:3: matching.ignore[0]: must be <provider>://<id>"));
    CHECK(matching_error("matching:\n  ignore:\n    - tmdb://1\n    - foo://2\n") ==
          "config.yaml:4: matching.ignore[1]: unknown provider 'foo'; expected one of anidb, "
          "cmdb, imdb, tmdb, tvdb, tvmaze, tvrage, youtube");
    CHECK(matching_error("matching:\n  ignore:\n    - tmdb://12a\n") ==
          "config.yaml:3: matching.ignore[0]: '12a' is not a valid tmdb id (digits)");
    CHECK(matching_error("matching:\n  ignore:\n    - imdb://0111161\n") ==
          "config.yaml:3: matching.ignore[0]: '0111161' is not a valid imdb id (tt followed by "
          "digits)");
    CHECK(matching_error("matching:\n  ignore:\n    - cmdb://\n") ==
          "config.yaml:3: matching.ignore[0]: '' is not a valid cmdb id (any non-empty text)");
  }
  SECTION("WatchState keys") {
    CHECK(matching_error("matching:\n  ignore:\n    - show://tvdb:320234\n")
              .starts_with("config.yaml:3: matching.ignore[0]: WatchState's form names the "
                           "backend: <type>://<provider>:<id>@<backend>[?id=<item>]"));
    CHECK(matching_error("matching:\n  ignore:\n    - movie://tvdb320234@home_plex\n")
              .starts_with("config.yaml:3: matching.ignore[0]: WatchState's form needs "
                           "<provider>:<id>"));
    CHECK(matching_error("matching:\n  ignore:\n    - movie://tvdb:32x@home_plex\n") ==
          "config.yaml:3: matching.ignore[0]: '32x' is not a valid tvdb id (digits)");
    CHECK(matching_error("matching:\n  ignore:\n    - movie://tvdb:1@home_plex?id=\n")
              .starts_with("config.yaml:3: matching.ignore[0]: WatchState's form takes only "
                           "?id=<server item id>"));
    CHECK(matching_error("matching:\n  ignore:\n    - movie://tvdb:1@home_plex?x=2\n")
              .starts_with("config.yaml:3: matching.ignore[0]: WatchState's form takes only"));
    CHECK(matching_error("matching:\n  ignore:\n    - movie://tvdb:1@home_plx?id=2\n") ==
          "config.yaml:3: matching.ignore[0]: no backend named 'home_plx'; configured: "
          "home_plex, living_room_jf");
  }
  SECTION("maps") {
    CHECK(matching_error("matching:\n  ignore:\n    - id: tmdb://1\n      backnd: home_plex\n")
              .starts_with("config.yaml:4: matching.ignore[0].backnd: unknown key; expected one "
                           "of id, backend, type, item, reason"));
    CHECK(matching_error("matching:\n  ignore:\n    - id: 12345\n") ==
          "config.yaml:3: matching.ignore[0].id: must be <provider>://<id> (e.g. tmdb://12345), "
          "not '12345'");
    CHECK(matching_error("matching:\n  ignore:\n    - id: tvdb://x1\n") ==
          "config.yaml:3: matching.ignore[0].id: 'x1' is not a valid tvdb id (digits)");
    CHECK(matching_error("matching:\n  ignore:\n    - id: tmdb://1\n      type: film\n") ==
          "config.yaml:4: matching.ignore[0].type: must be movie, show or episode, not 'film'");
    CHECK(matching_error("matching:\n  ignore:\n    - id: tmdb://1\n      item: \"9\"\n") ==
          "config.yaml:4: matching.ignore[0].item: needs backend: a server item id names an item "
          "of one backend");
    CHECK(matching_error("matching:\n  ignore:\n    - item: \"9\"\n") ==
          "config.yaml:3: matching.ignore[0].item: needs backend: a server item id names an item "
          "of one backend");
    CHECK(matching_error("matching:\n  ignore:\n    - backend: home_plex\n") ==
          "config.yaml:3: matching.ignore[0]: needs id (an external id to drop), or backend and "
          "item (a server item to keep out)");
    CHECK(matching_error("matching:\n  ignore:\n    - { reason: why }\n") ==
          "config.yaml:3: matching.ignore[0]: needs id (an external id to drop), or backend and "
          "item (a server item to keep out)");
    CHECK(matching_error("matching:\n  ignore:\n    - { backend: home_plex, item: 9, type: movie "
                         "}\n") ==
          "config.yaml:3: matching.ignore[0].type: applies only with id (a server item is kept "
          "out whatever its type)");
    CHECK(matching_error("matching:\n  ignore:\n    - { backend: home_plex, item: '' }\n") ==
          "config.yaml:3: matching.ignore[0].item: must be a server item id (Plex ratingKey, "
          "Jellyfin/Emby Id)");
    CHECK(matching_error("matching:\n  ignore:\n    - { id: tmdb://1, backend: '' }\n") ==
          "config.yaml:3: matching.ignore[0].backend: must be the name of a configured backend");
    CHECK(matching_error("matching:\n  ignore:\n    - id: tmdb://1\n      backend: den_emby\n") ==
          "config.yaml:4: matching.ignore[0].backend: no backend named 'den_emby'; configured: "
          "home_plex, living_room_jf");
  }
  SECTION("a rule given twice") {
    CHECK(matching_error("matching:\n  ignore:\n    - tmdb://1\n    - { id: TMDB://1 }\n") ==
          "config.yaml:4: matching.ignore[1]: repeats the rule on line 3 (tmdb://1)");
    CHECK(matching_error("matching:\n  ignore:\n    - movie://tmdb:1@home_plex?id=5\n"
                         "    - { id: tmdb://1, backend: home_plex, item: 5, type: movie }\n") ==
          "config.yaml:4: matching.ignore[1]: repeats the rule on line 3 (tmdb://1 on home_plex "
          "item 5 (movie))");
  }
}

TEST_CASE("config::matching.paths errors name line and key", "[config][matching]") {
  CHECK(matching_error("matching:\n  paths:\n    enabled: sometimes\n") ==
        "config.yaml:3: matching.paths.enabled: must be true or false, not 'sometimes'");
  CHECK(matching_error("matching:\n  paths:\n    enable: true\n")
            .starts_with("config.yaml:3: matching.paths.enable: unknown key; expected one of "
                         "enabled, roots"));
  CHECK(matching_error("matching:\n  paths:\n    roots: { home_plex: /a }\n") ==
        "config.yaml:3: matching.paths.roots: must be a list of maps of backend names to folders");
  CHECK(matching_error("matching:\n  paths:\n    roots:\n      - /media/movies\n") ==
        "config.yaml:4: matching.paths.roots[0]: must be a map of backend names to folders");
  CHECK(matching_error("matching:\n  paths:\n    roots:\n      - { home_plex: /media/movies }\n") ==
        "config.yaml:4: matching.paths.roots[0]: must name the same place on at least two "
        "backends, e.g. { home_plex: /media/movies, living_room_jf: /data/movies }");
  CHECK(matching_error("matching:\n  paths:\n    roots:\n"
                       "      - home_plex: /media/movies\n"
                       "        living_room_jf: data/movies\n") ==
        "config.yaml:5: matching.paths.roots[0].living_room_jf: must be an absolute folder as "
        "the server names it (/media/movies, D:\\Movies), not 'data/movies'");
  CHECK(matching_error("matching:\n  paths:\n    roots:\n"
                       "      - { home_plex: /a, living_room_jf: }\n")
            .starts_with("config.yaml:4: matching.paths.roots[0].living_room_jf: must be an "
                         "absolute folder"));
  CHECK(matching_error("matching:\n  paths:\n    roots:\n"
                       "      - home_plex: /media/movies\n"
                       "        den_emby: /data/movies\n") ==
        "config.yaml:5: matching.paths.roots[0].den_emby: no backend named 'den_emby'; "
        "configured: home_plex, living_room_jf");
  CHECK(matching_error("matching:\n  paths:\n    roots:\n"
                       "      - home_plex: /media/movies\n"
                       "        home_plex: /data/movies\n") ==
        "config.yaml:5: matching.paths.roots[0].home_plex: duplicate key (first on line 4)");
}

TEST_CASE("config::matching.guids errors name line and key", "[config][matching]") {
  CHECK(matching_error("matching:\n  guids:\n    plex_prefix: x://\n") ==
        "config.yaml:2: matching.guids: must be a list of custom id rules");
  CHECK(matching_error("matching:\n  guids:\n    - { prefix: \"x://\", provider: tmdb }\n")
            .starts_with("config.yaml:3: matching.guids[0].prefix: unknown key; expected one of "
                         "plex_prefix, provider_id, provider"));
  CHECK(matching_error("matching:\n  guids:\n    - { provider: tmdb }\n") ==
        "config.yaml:3: matching.guids[0]: needs plex_prefix (a Plex GUID prefix) or provider_id "
        "(a Jellyfin/Emby ProviderIds key)");
  CHECK(matching_error("matching:\n  guids:\n"
                       "    - plex_prefix: \"x://\"\n"
                       "      provider_id: X\n"
                       "      provider: tmdb\n") ==
        "config.yaml:4: matching.guids[0]: set only one of plex_prefix and provider_id (one rule "
        "per source)");
  CHECK(matching_error("matching:\n  guids:\n    - { plex_prefix: \"x://\" }\n") ==
        "config.yaml:3: matching.guids[0].provider: is required: the provider these ids are read "
        "as (anidb, cmdb, imdb, tmdb, tvdb, tvmaze, tvrage, youtube)");
  CHECK(matching_error("matching:\n  guids:\n    - { provider_id: X, provider: omdb }\n") ==
        "config.yaml:3: matching.guids[0].provider: unknown provider 'omdb'; expected one of "
        "anidb, cmdb, imdb, tmdb, tvdb, tvmaze, tvrage, youtube");
  for (const char* bad : {"\"\"", "mydb", "\"://\"", "\":\"", "\"my db://\"", "mydb//"}) {
    CAPTURE(bad);
    CHECK(matching_error(std::string("matching:\n  guids:\n    - { plex_prefix: ") + bad +
                         ", provider: tmdb }\n")
              .starts_with("config.yaml:3: matching.guids[0].plex_prefix: must be a GUID prefix "
                           "ending in :// or : (e.g. com.plexapp.agents.mydb://), not '"));
  }
  CHECK(matching_error("matching:\n  guids:\n    - { provider_id: '  ', provider: tmdb }\n") ==
        "config.yaml:3: matching.guids[0].provider_id: must be a ProviderIds key as the server "
        "writes it (e.g. MyDb)");
  CHECK(matching_error("matching:\n  guids:\n"
                       "    - { provider_id: MyDb, provider: tmdb }\n"
                       "    - { provider_id: mydb, provider: tvdb }\n") ==
        "config.yaml:4: matching.guids[1].provider_id: repeats the ProviderIds key of the rule on "
        "line 3");
  CHECK(matching_error("matching:\n  guids:\n"
                       "    - { plex_prefix: \"mydb:\", provider: tmdb }\n"
                       "    - { plex_prefix: \"MyDb://\", provider: tvdb }\n") ==
        "config.yaml:4: matching.guids[1].plex_prefix: is never used: the rule on line 3 (prefix "
        "'mydb:') matches these GUIDs first");
  // The longer prefix first is fine: each rule still sees its own GUIDs.
  CHECK(matching_error("matching:\n  guids:\n"
                       "    - { plex_prefix: \"MyDb://\", provider: tvdb }\n"
                       "    - { plex_prefix: \"mydb:\", provider: tmdb }\n")
            .empty());
}
