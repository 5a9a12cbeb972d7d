// SPDX-License-Identifier: MIT
// ws-parity reads the state database in one pass, item by item, without holding every row and
// every file path: on a generated store its report must be the one the whole-library way gives,
// in the same order (list order: title without case, year, season, episode, id), and its
// duplicate_file findings exactly those of a map of every (backend, path).
#include <watchstate/config/config.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/sync/parity.hpp>

#include "support/sim_services.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <random>

namespace {

using ws::db::BackendRecord;
using ws::db::ItemId;
using ws::db::ItemRow;

struct Generated {
  ws::test::TempDir dir;
  ws::config::Config config;
  std::unique_ptr<ws::db::StateStore> store;

  explicit Generated(std::uint32_t seed, int items) {
    config = ws::config::parse_config(fmt::format(R"(state_dir: {}
backends:
  plex: {{ type: plex, url: "http://plex.test", token: t }}
  jellyfin: {{ type: jellyfin, url: "http://jellyfin.test", token: t, user: u }}
  emby: {{ type: emby, url: "http://emby.test", token: t, user: u }}
)",
                                                  dir.path().string()),
                                      dir.path() / "config.yaml");
    store = std::make_unique<ws::db::StateStore>(dir.path() / "state.db");
    std::mt19937 random(seed);
    const auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
    const std::vector<std::string> titles = {"alpha", "Alpha", "beta", "Gamma", "gamma", "delta"};
    const std::vector<std::string> backends = {"plex", "jellyfin", "emby"};
    for (int i = 0; i < items; ++i) {
      ItemRow row;
      row.identity = "main";
      row.type = pick(2) == 0 ? ws::model::MediaType::movie : ws::model::MediaType::episode;
      row.title = titles[static_cast<std::size_t>(pick(static_cast<int>(titles.size())))];
      row.year = 2000 + pick(3);
      if (row.type == ws::model::MediaType::episode) {
        row.season = pick(2);
        row.episode = pick(3);
      }
      row.updated = 1'700'000'000;
      row.via = "plex";
      row.created_at = row.updated_at = 1'700'000'000;
      const ItemId id = store->insert_item(row);
      for (const auto& backend : backends) {
        const int copies = pick(4) == 0 ? 0 : (pick(6) == 0 ? 2 : 1);
        for (int c = 0; c < copies; ++c) {
          BackendRecord r;
          r.backend = backend;
          r.remote_id = fmt::format("{}-{}", id, c);
          r.watched = pick(3) == 0;
          r.played_at = r.watched ? 1'700'000'000 : 0;
          r.progress_ms = r.watched ? 0 : pick(4) * 600'000;
          // Few paths, so that some are on several rows; some records have none.
          r.path = pick(5) == 0 ? "" : fmt::format("/media/{}.mkv", pick(items / 2 + 1));
          r.multi = pick(10) == 0;
          if (pick(4) != 0) {
            r.guids = {{ws::model::GuidKey::imdb, fmt::format("tt{}", pick(items))}};
          }
          r.year = row.year + (pick(8) == 0 ? 1 : 0);
          r.season = row.season;
          r.episode = row.episode;
          store->upsert_record("main", id, r);
          for (const auto& g : r.guids) {
            store->add_key(
                "main",
                fmt::format("imdb://{}/{}", g.value,
                            row.type == ws::model::MediaType::episode ? "episode" : "movie"),
                id);
          }
        }
      }
    }
  }
};

// The rows in list order, as ws-state list reads them.
std::vector<ItemRow> listed(ws::db::StateStore& store) {
  std::vector<ItemRow> rows;
  ws::db::ListFilter filter;
  filter.identity = "main";
  store.list_items(filter, [&](const ItemRow& row) { rows.push_back(row); });
  return rows;
}

} // namespace

TEST_CASE("parity: findings follow list order, item by item", "[sync][parity]") {
  Generated world(7, 400);
  const auto rows = listed(*world.store);
  std::map<ItemId, std::size_t> position;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    position[rows[i].id] = i;
  }
  const auto result = ws::sync::run_parity(world.config, *world.store, {}, {});
  CHECK(result.items == rows.size());
  REQUIRE(result.findings.size() > 100);
  std::size_t last = 0;
  for (const auto& f : result.findings) {
    if (f.check == "conflicts") {
      continue; // listed after the item checks, in the conflicts' own order
    }
    REQUIRE(position.contains(f.item));
    CHECK(position[f.item] >= last);
    last = position[f.item];
    // Its title is the row's, read in the pass.
    CHECK(f.title.find(rows[position[f.item]].title) == 0);
  }
}

TEST_CASE("parity: duplicate_file finds what a map of every path finds", "[sync][parity]") {
  for (const std::uint32_t seed : {1U, 2U, 3U}) {
    CAPTURE(seed);
    Generated world(seed, 300);
    for (const auto& selected : std::vector<std::vector<std::string>>{{}, {"plex", "emby"}}) {
      ws::sync::RunOptions options;
      options.select = selected;
      ws::sync::ParityOptions parity;
      parity.checks = {"duplicate_file"};
      const auto result = ws::sync::run_parity(world.config, *world.store, options, parity);

      // The whole-library way: every (backend, path) of the selected backends in one map, in
      // list order, each record in backend and id order.
      std::vector<std::string> expected;
      std::map<std::pair<std::string, std::string>, ItemId> files;
      for (const auto& row : listed(*world.store)) {
        for (const auto& r : world.store->records(row.id)) {
          if (!selected.empty() &&
              std::find(selected.begin(), selected.end(), r.backend) == selected.end()) {
            continue;
          }
          if (r.path.empty() || r.multi) {
            continue;
          }
          const auto [it, inserted] = files.emplace(std::make_pair(r.backend, r.path), row.id);
          if (!inserted && it->second != row.id) {
            expected.push_back(fmt::format("#{} {} on {} is also item #{}", row.id, r.path,
                                           r.backend, it->second));
          }
        }
      }
      std::vector<std::string> found;
      for (const auto& f : result.findings) {
        REQUIRE(f.check == "duplicate_file");
        found.push_back(fmt::format("#{} {}", f.item, f.detail));
      }
      CHECK(!expected.empty());
      CHECK(found == expected);
    }
  }
}
