// SPDX-License-Identifier: MIT
#include <watchstate/sync/matching.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

using namespace ws;
using model::GuidKey;
using model::MediaType;
using sync::ConflictKind;
using sync::ItemIdentity;
using sync::MatchCandidate;

namespace {

ItemIdentity movie(model::Guids ids, std::string title = "", int year = 0) {
  ItemIdentity m;
  m.type = MediaType::movie;
  m.ids = std::move(ids);
  if (!title.empty()) {
    m.names.push_back({std::move(title), year});
  }
  return m;
}

ItemIdentity episode(model::Guids show, int season, int number, model::Guids own = {},
                     std::string title = "Show") {
  ItemIdentity e;
  e.type = MediaType::episode;
  e.show_ids = std::move(show);
  e.season = season;
  e.episode = number;
  e.ids = std::move(own);
  e.names.push_back({std::move(title), 2010});
  return e;
}

// A candidate as the database would give it: the row's identity, hit by those of the item's
// keys whose text it owns.
MatchCandidate candidate(std::int64_t row, const ItemIdentity& identity,
                         const std::vector<sync::MatchKey>& item_keys, int reporters = 1) {
  MatchCandidate c;
  c.row = row;
  c.identity = identity;
  c.reporters = reporters;
  const auto own_keys = sync::match_keys(identity);
  for (std::size_t i = 0; i < item_keys.size(); ++i) {
    if (std::any_of(own_keys.begin(), own_keys.end(),
                    [&](const auto& k) { return k.text == item_keys[i].text; })) {
      c.hits.push_back(i);
    }
  }
  return c;
}

struct Case {
  ItemIdentity item;
  std::vector<sync::MatchKey> keys;
  std::vector<MatchCandidate> candidates;

  explicit Case(ItemIdentity i) : item(std::move(i)), keys(sync::match_keys(item)) {}
  Case& with(std::int64_t row, const ItemIdentity& identity, int reporters = 1) {
    candidates.push_back(candidate(row, identity, keys, reporters));
    return *this;
  }
  [[nodiscard]] sync::MatchDecision decide() const {
    return sync::decide_match(item, keys, candidates);
  }
  [[nodiscard]] std::size_t key(std::string_view text) const {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i].text == text) {
        return i;
      }
    }
    FAIL("no key " << text);
    return 0;
  }
};

} // namespace

TEST_CASE("sync::match_keys", "[sync][matching]") {
  const auto ep = episode({{GuidKey::imdb, "tt0000009"}, {GuidKey::tvdb, "200"}}, 1, 2,
                          {{GuidKey::tvdb, "2001"}});
  std::vector<std::string> texts;
  for (const auto& k : sync::match_keys(ep)) {
    texts.push_back(k.text);
  }
  CHECK(texts == std::vector<std::string>{"rimdb://tt0000009/1/2", "rtvdb://200/1/2",
                                          "tvdb://2001/episode"});
  // ws-parity looks an id up by the same text.
  CHECK(sync::own_id_key(GuidKey::tvdb, "2001", MediaType::episode) == texts.back());
  CHECK(sync::own_id_key(GuidKey::imdb, "tt1", MediaType::movie) == "imdb://tt1/movie");
  SECTION("season 0 specials match through their series") {
    CHECK(sync::match_keys(episode({{GuidKey::tvdb, "200"}}, 0, 3)).front().text ==
          "rtvdb://200/0/3");
  }
  SECTION("an episode without a number matches only by its own ids") {
    CHECK(sync::match_keys(episode({{GuidKey::tvdb, "200"}}, 1, 0, {{GuidKey::tvdb, "2001"}}))
              .size() == 1);
  }
  SECTION("no ids: no keys, the item is skipped; a path (opt-in) is a key") {
    auto m = movie({});
    CHECK(sync::match_keys(m).empty());
    m.path = "alpha (2001)/alpha.mkv";
    REQUIRE(sync::match_keys(m).size() == 1);
    CHECK(sync::match_keys(m).front().text == "path://alpha (2001)/alpha.mkv/movie");
  }
  SECTION("an episode's path key carries its numbers, unknown ones as -1") {
    // The texts are stored in the state database: a change of their form would lose every match.
    auto e = episode({{GuidKey::tvdb, "200"}}, 2024, 1031, {{GuidKey::tmdb, "77"}});
    e.path = "show/s2024e1031.mkv";
    texts.clear();
    for (const auto& k : sync::match_keys(e)) {
      texts.push_back(k.text);
    }
    CHECK(texts == std::vector<std::string>{"rtvdb://200/2024/1031", "tmdb://77/episode",
                                            "path://show/s2024e1031.mkv|2024|1031/episode"});
    auto unnumbered = episode({}, -1, -1);
    unnumbered.path = "show/extra.mkv";
    REQUIRE(sync::match_keys(unnumbered).size() == 1);
    CHECK(sync::match_keys(unnumbered).front().text == "path://show/extra.mkv|-1|-1/episode");
  }
}

TEST_CASE("sync::decide_match for movies", "[sync][matching]") {
  const model::Guids alpha = {{GuidKey::imdb, "tt1"}, {GuidKey::tmdb, "5"}};
  const model::Guids beta = {{GuidKey::imdb, "tt7"}, {GuidKey::tmdb, "7"}};

  SECTION("the same ids: that row, nothing to report") {
    const auto d = Case(movie(alpha)).with(10, movie(alpha)).decide();
    CHECK(d.row == 10);
    CHECK(d.merge.empty());
    CHECK(d.conflicts.empty());
    CHECK(std::all_of(d.use_key.begin(), d.use_key.end(), [](bool b) { return b; }));
  }
  SECTION("no candidate: a new row") {
    const auto d = Case(movie(alpha)).decide();
    CHECK_FALSE(d.row);
    CHECK(d.conflicts.empty());
  }
  SECTION("two rows the item shows to be one merge") {
    const auto d = Case(movie(alpha))
                       .with(10, movie({{GuidKey::imdb, "tt1"}}))
                       .with(11, movie({{GuidKey::tmdb, "5"}}))
                       .decide();
    CHECK(d.row == 10);
    CHECK(d.merge == std::vector<std::int64_t>{11});
    CHECK(d.conflicts.empty());
  }
  SECTION("a row joins the rows already matched only if it agrees with all of them") {
    // Row 12 contradicts nothing of row 10, but row 11's TMDb id, which the item has too: once
    // 11 joined 10, 12 no longer fits the two together and stays apart.
    Case c(movie({{GuidKey::imdb, "tt1"}, {GuidKey::tmdb, "5"}, {GuidKey::tvdb, "88"}}, "Alpha",
                 2001));
    c.with(10, movie({{GuidKey::imdb, "tt1"}}, "Alpha", 2001))
        .with(11, movie({{GuidKey::tmdb, "5"}}, "Alpha", 2001))
        .with(12, movie({{GuidKey::tvdb, "88"}, {GuidKey::tmdb, "6"}}, "Alpha", 2001));
    const auto d = c.decide();
    CHECK(d.row == 10);
    CHECK(d.merge == std::vector<std::int64_t>{11});
    REQUIRE(d.conflicts.size() == 1);
    CHECK(d.conflicts[0].kind == ConflictKind::other_row);
    CHECK(d.conflicts[0].other == 12);
    CHECK(d.conflicts[0].key == c.key("tvdb://88/movie"));
  }
  SECTION("an id that contradicts two others is a conflict, not used; the majority wins") {
    Case c(movie({{GuidKey::imdb, "tt1"}, {GuidKey::tmdb, "5"}, {GuidKey::tvdb, "88"}}));
    c.with(10, movie({{GuidKey::imdb, "tt1"}, {GuidKey::tmdb, "5"}, {GuidKey::tvdb, "77"}}));
    const auto d = c.decide();
    CHECK(d.row == 10);
    REQUIRE(d.conflicts.size() == 1);
    CHECK(d.conflicts[0].kind == ConflictKind::disagree);
    CHECK(d.conflicts[0].key == c.key("tvdb://88/movie"));
    CHECK_FALSE(d.use_key[c.key("tvdb://88/movie")]);
  }
  SECTION("tmdb of one movie, imdb of another: matched to neither, a row of its own") {
    Case c(movie({{GuidKey::imdb, "tt1"}, {GuidKey::tmdb, "7"}}));
    c.with(10, movie(alpha)).with(11, movie(beta));
    const auto d = c.decide();
    CHECK_FALSE(d.row);
    CHECK(d.merge.empty());
    REQUIRE(d.conflicts.size() == 2);
    CHECK(d.conflicts[0].kind == ConflictKind::ambiguous);
    CHECK(d.conflicts[0].other == 10);
    CHECK(d.conflicts[1].other == 11);
  }
  SECTION("one id agreeing and one contradicting is no match...") {
    const auto d = Case(movie({{GuidKey::imdb, "tt1"}, {GuidKey::tmdb, "6"}}, "Dune", 2021))
                       .with(10, movie(alpha, "Dune", 1984))
                       .decide();
    CHECK_FALSE(d.row);
    REQUIRE(d.conflicts.size() == 1);
    CHECK(d.conflicts[0].kind == ConflictKind::ambiguous);
  }
  SECTION("...unless the title and the year (within one) agree too") {
    Case c(movie({{GuidKey::imdb, "tt1"}, {GuidKey::tmdb, "6"}}, "Alpha!", 2002));
    c.with(10, movie(alpha, "alpha", 2001));
    const auto d = c.decide();
    CHECK(d.row == 10);
    REQUIRE(d.conflicts.size() == 1);
    CHECK(d.conflicts[0].kind == ConflictKind::disagree);
    CHECK_FALSE(d.use_key[c.key("tmdb://6/movie")]);
  }
  SECTION("imdb of one movie, tmdb of another, title of the first: the first") {
    Case c(movie({{GuidKey::imdb, "tt1"}, {GuidKey::tmdb, "7"}}, "Alpha", 2001));
    c.with(10, movie(alpha, "Alpha", 2001)).with(11, movie(beta, "Beta", 2001));
    const auto d = c.decide();
    CHECK(d.row == 10);
    REQUIRE(d.conflicts.size() == 2);
    CHECK(d.conflicts[0].kind == ConflictKind::disagree);
    CHECK(d.conflicts[1].kind == ConflictKind::other_row);
    CHECK(d.conflicts[1].other == 11);
  }
  SECTION("a partial item between a row and its contradicting twin: more backends win") {
    Case c(movie({{GuidKey::imdb, "tt1"}}));
    c.with(10, movie(alpha), 3).with(12, movie({{GuidKey::imdb, "tt1"}, {GuidKey::tmdb, "7"}}), 1);
    const auto d = c.decide();
    CHECK(d.row == 10);
    REQUIRE(d.conflicts.size() == 1);
    CHECK(d.conflicts[0].kind == ConflictKind::other_row);
    CHECK(d.conflicts[0].other == 12);
  }
  SECTION("...and with nothing to tell them apart it is ambiguous") {
    Case c(movie({{GuidKey::imdb, "tt1"}}));
    c.with(10, movie(alpha), 2).with(12, movie({{GuidKey::imdb, "tt1"}, {GuidKey::tmdb, "7"}}), 2);
    CHECK_FALSE(c.decide().row);
  }
  SECTION("an item that was on the twin stays there: a tie in the vote does not move it") {
    Case c(movie({{GuidKey::imdb, "tt1"}}));
    c.with(10, movie(alpha), 3).with(12, movie({{GuidKey::imdb, "tt1"}, {GuidKey::tmdb, "7"}}), 1);
    c.candidates[1].previous = true;
    const auto d = c.decide();
    CHECK(d.row == 12);
    REQUIRE(d.conflicts.size() == 1);
    CHECK(d.conflicts[0].kind == ConflictKind::other_row);
    CHECK(d.conflicts[0].other == 10);
  }
  SECTION("...and leaves it for a row with the better vote") {
    Case c(movie(alpha));
    c.with(10, movie(alpha), 1).with(12, movie({{GuidKey::imdb, "tt1"}, {GuidKey::tmdb, "7"}}), 3);
    c.candidates[1].previous = true;
    CHECK(c.decide().row == 10);
  }
  SECTION("an item whose ids changed stays on its row against a larger row a stray copy joined") {
    // Model world 95083: Film 84010's row also holds tmdb 84008 through a copy with Film 84010's
    // imdb id and Film 84008's tmdb id, and three backends report it. Jellyfin's copy of Film
    // 84008 (on row 4) drops its imdb id: its tmdb id alone must not carry it (and its play) to
    // Film 84010.
    Case c(movie({{GuidKey::tmdb, "84008"}}, "Film 84008", 1998));
    c.with(1,
           movie({{GuidKey::imdb, "tt0084010"}, {GuidKey::tmdb, "84008"}, {GuidKey::tmdb, "84010"}},
                 "Film 84010", 2000),
           3)
        .with(4,
              movie({{GuidKey::imdb, "tt0084008"}, {GuidKey::tmdb, "84008"}}, "Film 84008", 1998),
              2);
    c.candidates[1].previous = true;
    const auto d = c.decide();
    CHECK(d.row == 4);
    REQUIRE(d.conflicts.size() == 1);
    CHECK(d.conflicts[0].kind == ConflictKind::other_row);
    CHECK(d.conflicts[0].other == 1);
  }
  SECTION("a movie never matches an episode") {
    auto ep = episode({}, 1, 1, alpha);
    const auto d = Case(movie(alpha)).with(10, ep).decide();
    CHECK_FALSE(d.row);
  }
}

TEST_CASE("sync::decide_match for episodes", "[sync][matching]") {
  const model::Guids show = {{GuidKey::tvdb, "100"}};

  SECTION("two episodes of one series sharing an episode id stay apart") {
    // Star Trek: Enterprise S1E2 and S1E3 share one TMDB episode id.
    Case c(episode(show, 1, 3, {{GuidKey::tmdb, "555"}}));
    c.with(20, episode(show, 1, 2, {{GuidKey::tmdb, "555"}}));
    const auto d = c.decide();
    CHECK_FALSE(d.row);
    CHECK(d.conflicts.empty()); // own ids of episodes may be shared: no identity conflict
    CHECK(d.use_key[c.key("tmdb://555/episode")]);
    SECTION("and the right one is found through its series") {
      c.with(21, episode(show, 1, 3, {{GuidKey::tmdb, "555"}}));
      CHECK(c.decide().row == 21);
    }
  }
  SECTION("an episode id shared with another series' episode joins nothing") {
    const auto d = Case(episode({{GuidKey::tvdb, "200"}}, 1, 2, {{GuidKey::tvdb, "999"}}))
                       .with(20, episode(show, 1, 2, {{GuidKey::tvdb, "999"}}))
                       .decide();
    CHECK_FALSE(d.row);
  }
  SECTION("own ids find the episode when one side knows no series ids, with the same title") {
    const auto own = model::Guids{{GuidKey::tvdb, "2001"}};
    CHECK(Case(episode({}, 1, 2, own)).with(20, episode(show, 1, 2, own)).decide().row == 20);
    CHECK_FALSE(
        Case(episode({}, 1, 2, own, "Other")).with(20, episode(show, 1, 2, own)).decide().row);
    CHECK_FALSE(Case(episode({}, 1, 3, own)).with(20, episode(show, 1, 2, own)).decide().row);
  }
  SECTION("series ids that show two rows to be one episode merge them") {
    const auto d = Case(episode({{GuidKey::tmdb, "300"}, {GuidKey::tvdb, "100"}}, 1, 2))
                       .with(20, episode(show, 1, 2))
                       .with(21, episode({{GuidKey::tmdb, "300"}}, 1, 2))
                       .decide();
    CHECK(d.row == 20);
    CHECK(d.merge == std::vector<std::int64_t>{21});
  }
  SECTION("series ids split evenly: a row of its own, unless the series' title agrees") {
    const model::Guids mine = {{GuidKey::tmdb, "301"}, {GuidKey::tvdb, "100"}};
    const model::Guids theirs = {{GuidKey::tmdb, "300"}, {GuidKey::tvdb, "100"}};
    const auto d = Case(episode(mine, 1, 2, {}, "Battlestar Galactica"))
                       .with(20, episode(theirs, 1, 2, {}, "Galactica 1980"))
                       .decide();
    CHECK_FALSE(d.row);
    REQUIRE(d.conflicts.size() == 1);
    CHECK(d.conflicts[0].kind == ConflictKind::ambiguous);
    const auto same = Case(episode(mine, 1, 2)).with(20, episode(theirs, 1, 2)).decide();
    CHECK(same.row == 20);
    REQUIRE(same.conflicts.size() == 1);
    CHECK(same.conflicts[0].kind == ConflictKind::disagree);
  }
  SECTION("an episode's own id that contradicts its row is recorded, the series decides") {
    Case c(episode(show, 1, 2, {{GuidKey::tvdb, "2002"}}));
    c.with(20, episode(show, 1, 2, {{GuidKey::tvdb, "2001"}}));
    const auto d = c.decide();
    CHECK(d.row == 20);
    REQUIRE(d.conflicts.size() == 1);
    CHECK(d.conflicts[0].kind == ConflictKind::disagree);
    CHECK_FALSE(d.use_key[c.key("tvdb://2002/episode")]);
  }
}

TEST_CASE("sync::decide_match by path (opt-in)", "[sync][matching]") {
  auto without_ids = movie({});
  without_ids.path = "alpha (2001)/alpha.mkv";
  auto with_ids = movie({{GuidKey::imdb, "tt1"}});
  with_ids.path = "alpha (2001)/alpha.mkv";

  SECTION("an item without ids finds the row with that path") {
    CHECK(Case(without_ids).with(10, with_ids).decide().row == 10);
  }
  SECTION("an item with ids finds a row that has none") {
    CHECK(Case(with_ids).with(10, without_ids).decide().row == 10);
  }
  SECTION("both with ids: the ids decide, not the path") {
    auto other = movie({{GuidKey::imdb, "tt2"}});
    other.path = with_ids.path;
    CHECK_FALSE(Case(with_ids).with(10, other).decide().row);
  }
  SECTION("two rows with the path: ambiguous, not used") {
    CHECK_FALSE(Case(without_ids).with(10, with_ids).with(11, with_ids).decide().row);
  }
}

TEST_CASE("sync::compatible", "[sync][matching]") {
  CHECK(sync::compatible(movie({{GuidKey::imdb, "tt1"}}), movie({{GuidKey::tmdb, "5"}})));
  CHECK_FALSE(sync::compatible(movie({{GuidKey::imdb, "tt1"}}), movie({{GuidKey::imdb, "tt2"}})));
  CHECK(sync::compatible(movie({{GuidKey::imdb, "tt1"}, {GuidKey::imdb, "tt2"}}),
                         movie({{GuidKey::imdb, "tt2"}})));
  CHECK_FALSE(sync::compatible(episode({{GuidKey::tvdb, "1"}}, 1, 2),
                               episode({{GuidKey::tvdb, "1"}}, 1, 3)));
  CHECK(sync::compatible(episode({{GuidKey::tvdb, "1"}}, 1, 2, {{GuidKey::tvdb, "7"}}),
                         episode({{GuidKey::tvdb, "1"}}, 1, 2, {{GuidKey::tvdb, "8"}})));
}

TEST_CASE("sync::normalized_path and relative_to", "[sync][matching]") {
  CHECK(sync::normalized_path("\\\\NAS\\Movies\\\\Alpha (2001)\\Alpha.MKV") ==
        "/nas/movies/alpha (2001)/alpha.mkv");
  CHECK(sync::normalized_path("/media/movies/") == "/media/movies");
  const std::vector<std::string> roots = {"/media", "/media/movies"};
  CHECK(sync::relative_to("/media/movies/alpha/a.mkv", roots) == "alpha/a.mkv"); // the longest
  CHECK(sync::relative_to("/media/tv/s/e.mkv", roots) == "tv/s/e.mkv");
  CHECK_FALSE(sync::relative_to("/mediafiles/a.mkv", roots));
  CHECK_FALSE(sync::relative_to("/media", roots));
  CHECK(sync::relative_to("/a.mkv", {"/"}) == "a.mkv");
}

TEST_CASE("sync::has_match_keys says whether match_keys gives any key", "[sync][matching]") {
  const model::Guids none;
  const model::Guids ids = {{model::GuidKey::tvdb, "12"}};
  int with_keys = 0;
  for (const auto type : {model::MediaType::movie, model::MediaType::episode}) {
    for (const auto* own : {&none, &ids}) {
      for (const auto* series : {&none, &ids}) {
        for (const bool has_show : {false, true}) {
          for (const int season : {-1, 0, 2}) {
            for (const int episode : {-1, 0, 1, 3}) {
              for (const std::string_view path : {"", "a/b.mkv"}) {
                backend::RemoteItem item;
                item.type = type;
                item.guids = *own;
                item.season = season;
                item.episode = episode;
                model::RemoteShow show;
                show.guids = *series;
                const model::RemoteShow* show_of = has_show ? &show : nullptr;
                auto identity = sync::identity_of(item, show_of);
                identity.path = std::string(path);
                const bool expected = !sync::match_keys(identity).empty();
                INFO("type " << static_cast<int>(type) << " own " << own->size() << " series "
                             << series->size() << " show " << has_show << " " << season << "x"
                             << episode << " path '" << path << "'");
                CHECK(sync::has_match_keys(item, show_of, path) == expected);
                with_keys += expected ? 1 : 0;
              }
            }
          }
        }
      }
    }
  }
  CHECK(with_keys > 0);
}
