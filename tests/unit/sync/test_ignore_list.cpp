// SPDX-License-Identifier: MIT
#include <watchstate/sync/ignore_list.hpp>

#include <catch2/catch.hpp>

using namespace ws;
using model::GuidKey;

namespace {

config::IgnoreRule id_rule(GuidKey key, const char* value, const char* backend = "",
                           const char* type = "", const char* item = "") {
  config::IgnoreRule r;
  r.id = model::Guid{key, value};
  r.backend = backend;
  r.type = type;
  r.item = item;
  r.text = value;
  return r;
}

config::IgnoreRule item_rule(const char* backend, const char* item) {
  config::IgnoreRule r;
  r.backend = backend;
  r.item = item;
  r.text = item;
  return r;
}

backend::RemoteItem movie(const char* id) {
  backend::RemoteItem m;
  m.id = id;
  m.guids = {{GuidKey::imdb, "tt1"}, {GuidKey::tmdb, "5"}};
  return m;
}

} // namespace

TEST_CASE("sync::IgnoreList", "[sync][ignore]") {
  const std::vector<config::IgnoreRule> rules = {
      id_rule(GuidKey::tmdb, "5"),                          // everywhere
      id_rule(GuidKey::imdb, "tt1", "jellyfin"),            // one backend
      id_rule(GuidKey::tvdb, "100", "", "show"),            // a series id
      id_rule(GuidKey::imdb, "tt9", "plex", "movie", "42"), // one server item
      item_rule("plex", "4711"),                            // a whole item
  };

  SECTION("an id everywhere, an id on one backend") {
    const sync::IgnoreList plex(rules, "plex");
    auto m = movie("1");
    CHECK(plex.strip(m).size() == 1);
    CHECK(m.guids == model::Guids{{GuidKey::imdb, "tt1"}});
    const sync::IgnoreList jellyfin(rules, "jellyfin");
    auto j = movie("1");
    CHECK(jellyfin.strip(j).size() == 2);
    CHECK(j.guids.empty());
  }
  SECTION("a series id only on series, a server item's id only on it") {
    const sync::IgnoreList plex(rules, "plex");
    model::RemoteShow show{"7", "Show", 2010, {{GuidKey::tvdb, "100"}}, {}};
    CHECK(plex.strip(show).size() == 1);
    CHECK(show.guids.empty());
    auto ep = movie("3");
    ep.type = model::MediaType::episode;
    ep.guids = {{GuidKey::tvdb, "100"}};
    CHECK(plex.strip(ep).empty()); // an episode's own tvdb 100 is not the series id
    auto other = movie("41");
    other.guids = {{GuidKey::imdb, "tt9"}};
    CHECK(plex.strip(other).empty());
    auto that = movie("42");
    that.guids = {{GuidKey::imdb, "tt9"}};
    CHECK(plex.strip(that).size() == 1);
  }
  SECTION("a whole server item on its backend only") {
    CHECK(sync::IgnoreList(rules, "plex").item_rule("4711") != nullptr);
    CHECK(sync::IgnoreList(rules, "plex").item_rule("4712") == nullptr);
    CHECK(sync::IgnoreList(rules, "emby").item_rule("4711") == nullptr);
  }
  SECTION("no rules: nothing to do") {
    const sync::IgnoreList none({}, "plex");
    CHECK(none.empty());
    auto m = movie("1");
    CHECK(none.strip(m).empty());
    CHECK(m.guids.size() == 2);
  }
}
