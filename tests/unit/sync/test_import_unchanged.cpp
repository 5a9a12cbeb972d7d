// SPDX-License-Identifier: MIT
// The no-change shortcut of the import (BackendApplier::set_known_records): items that report
// what their records hold are settled from digests read in one pass. These tests hold it to
// the full path: the same sequences of listings, applied with and without it, must leave the
// same database and the same counts.
#include <watchstate/db/state_store.hpp>
#include <watchstate/sync/import_apply.hpp>

#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"

#include <fmt/format.h>

#include <functional>
#include <map>
#include <random>
#include <sstream>

using namespace ws;

namespace {

db::BackendRecord sample_record() {
  db::BackendRecord r;
  r.backend = "plex";
  r.remote_id = "101";
  r.library_id = "1";
  r.show_id = "55";
  r.watched = true;
  r.played_at = 1'700'000'000;
  r.added_at = 1'600'000'000;
  r.progress_ms = 0;
  r.path = "/media/a.mkv";
  r.guids = {{model::GuidKey::imdb, "tt0000001"}, {model::GuidKey::tvdb, "77"}};
  r.duration_ms = 6'000'000;
  r.year = 2001;
  r.season = 1;
  r.episode = 2;
  r.path_key = "a.mkv";
  r.title = "Alpha";
  return r;
}

struct Outcome {
  sync::BackendImportCounts counts;
  bool moved = false;
};

Outcome import_listing(db::StateStore& store, const std::string& backend, UnixTime now,
                       std::vector<backend::RemoteItem> items, bool shortcut) {
  sync::ImportPolicy policy;
  policy.now = now;
  policy.cursor = store.cursor("main", backend, "import");
  Outcome out;
  const sync::ShowCaches others;
  const config::MatchingSettings matching;
  const std::string identity = "main";
  db::StateStore::Transaction tx(store);
  sync::BackendApplier applier(store, identity, backend, {}, others, matching, policy, out.counts);
  if (shortcut) {
    applier.set_known_records(std::move(store.record_digests(identity)[backend]));
  }
  for (auto& item : items) {
    applier.apply(item);
  }
  applier.forget_unreported();
  store.set_cursor("main", backend, "import", now);
  tx.commit();
  out.moved = applier.records_moved();
  return out;
}

// Everything the import writes that a user or a later run can see, as text.
std::string dump(db::StateStore& store) {
  std::ostringstream out;
  db::ListFilter all;
  store.list_items(all, [&](const db::ItemRow& row) {
    out << fmt::format("#{} {} {} w={} u={} p={}@{} via={} at={}\n", row.id, row.title, row.year,
                       row.watched, row.updated, row.progress_ms, row.progress_at, row.via,
                       row.updated_at);
    for (const auto& r : store.records(row.id)) {
      out << fmt::format("  {}/{} w={}@{} p={} ids={} lib={} t={}\n", r.backend, r.remote_id,
                         r.watched, r.played_at, r.progress_ms, r.guids.size(), r.library_id,
                         r.title);
    }
    for (const auto& key : store.keys_of(row.id)) {
      out << "  key " << key << "\n";
    }
  });
  return out.str();
}

std::string counts_text(const sync::BackendImportCounts& c) {
  return fmt::format("added {} updated {} unchanged {} skipped {} failed {} played {} unplayed {} "
                     "progress {} merged {} rematched {}",
                     c.added, c.updated, c.unchanged, c.skipped, c.failed, c.marked_played,
                     c.marked_unplayed, c.progress_updated, c.merged, c.rematched);
}

// A small, messy world: ten films whose ids a server may change (re-matches that join or split
// rows), copies of one film, plays and positions that come and go, an item listed twice.
class World {
public:
  explicit World(unsigned seed) : m_random(seed) {}

  std::vector<backend::RemoteItem> listing(const std::string& prefix) {
    std::vector<backend::RemoteItem> items;
    for (int i = 0; i < 10; ++i) {
      if (chance(10)) {
        continue; // gone from this server in this run
      }
      backend::RemoteItem item;
      item.type = model::MediaType::movie;
      item.id = fmt::format("{}{}", prefix, i);
      item.library_id = chance(20) ? "2" : "1";
      item.title = fmt::format("Film {}", i);
      item.year = 2000 + i;
      item.added_at = 1'600'000'000;
      item.duration_ms = 6'000'000;
      // Usually its own ids; sometimes the neighbour's (a wrong match), or only one of them.
      const int film = chance(15) ? (i + 1) % 10 : i;
      if (!chance(10)) {
        item.guids.push_back({model::GuidKey::imdb, fmt::format("tt{:07}", film)});
      }
      if (!chance(10)) {
        item.guids.push_back({model::GuidKey::tmdb, std::to_string(100 + film)});
      }
      item.played = chance(40);
      item.last_played = item.played || chance(30) ? 1'700'000'000 + pick(1000) : 0;
      item.progress_ms = !item.played && chance(30) ? 60'000 * (1 + pick(50)) : 0;
      if (chance(60)) {
        item = again(item); // as the last listing had it: most items do not change
      }
      items.push_back(item);
      if (chance(15)) {
        auto copy = item; // a copy of the film in another library
        copy.id += "c";
        copy.library_id = "3";
        items.push_back(chance(50) ? again(copy) : copy);
      }
    }
    for (const auto& item : items) {
      m_last[item.id] = item;
    }
    if (!items.empty() && chance(20)) {
      items.push_back(items[pick(static_cast<int>(items.size()))]); // pages that shifted
    }
    return items;
  }

  bool chance(int percent) { return pick(100) < percent; }
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(m_random); }

private:
  backend::RemoteItem again(const backend::RemoteItem& item) const {
    const auto it = m_last.find(item.id);
    return it == m_last.end() ? item : it->second;
  }

  std::mt19937 m_random;
  std::map<std::string, backend::RemoteItem> m_last; // by remote id
};

} // namespace

TEST_CASE("A record's digest follows every field it holds", "[sync][import][digest]") {
  const auto base = sample_record();
  const auto digest = db::record_digest(base);
  CHECK(db::record_digest(sample_record()) == digest);
  std::vector<std::function<void(db::BackendRecord&)>> changes = {
      [](auto& r) { r.remote_id = "102"; },
      [](auto& r) { r.library_id = "2"; },
      [](auto& r) { r.show_id = ""; },
      [](auto& r) { r.watched = false; },
      [](auto& r) { r.played_at += 1; },
      [](auto& r) { r.added_at += 1; },
      [](auto& r) { r.progress_ms = 1000; },
      [](auto& r) { r.path = "/media/b.mkv"; },
      [](auto& r) { r.multi = true; },
      [](auto& r) { r.guids.pop_back(); },
      [](auto& r) { r.guids.back().value = "78"; },
      [](auto& r) { std::swap(r.guids.front(), r.guids.back()); },
      [](auto& r) { r.duration_ms += 1; },
      [](auto& r) { r.year = 2002; },
      [](auto& r) { r.season = 2; },
      [](auto& r) { r.episode = 3; },
      [](auto& r) { r.path_key = "b.mkv"; },
      [](auto& r) { r.title = "Alphb"; },
      // Text that moves from one field to the next is a change too.
      [](auto& r) {
        r.title = "lpha";
        r.path_key = "a.mkvA";
      },
  };
  for (std::size_t i = 0; i < changes.size(); ++i) {
    auto changed = base;
    changes[i](changed);
    INFO("change " << i);
    CHECK(db::record_digest(changed) != digest);
  }
}

TEST_CASE("The digests read from the database are those of the records written",
          "[sync][import][digest]") {
  db::StateStore store(":memory:");
  db::ItemRow row;
  row.identity = "main";
  row.title = "Alpha";
  const auto id = store.insert_item(row);
  auto plex = sample_record();
  auto jellyfin = sample_record();
  jellyfin.backend = "jellyfin";
  jellyfin.remote_id = "abc";
  jellyfin.guids.clear();
  jellyfin.path.clear();
  store.upsert_record("main", id, plex);
  store.upsert_record("main", id, jellyfin);

  auto digests = store.record_digests("main");
  REQUIRE(digests.size() == 2);
  REQUIRE(digests["plex"].size() == 1);
  CHECK(digests["plex"][0].item == id);
  CHECK(digests["plex"][0].digest == db::record_digest(plex));
  CHECK(digests["plex"][0].lookup == db::record_lookup_key("101", 1, 2));
  REQUIRE(digests["jellyfin"].size() == 1);
  CHECK(digests["jellyfin"][0].digest == db::record_digest(jellyfin));
  CHECK(store.record_digests("other").empty());

  // The digest is stored with the record: an update rewrites it, a merge carries it along.
  plex.watched = false;
  plex.episode = 3;
  store.upsert_record("main", id, plex);
  const auto other = store.insert_item(row);
  auto emby = sample_record();
  emby.backend = "emby";
  emby.remote_id = "e1";
  store.upsert_record("main", other, emby);
  store.merge_item(id, other);
  digests = store.record_digests("main");
  REQUIRE(digests["plex"].size() == 1);
  CHECK(digests["plex"][0].digest == db::record_digest(plex));
  CHECK(digests["plex"][0].lookup == db::record_lookup_key("101", 1, 3));
  REQUIRE(digests["emby"].size() == 1);
  CHECK(digests["emby"][0].item == id);
  CHECK(digests["emby"][0].digest == db::record_digest(emby));
  for (const auto& record : store.records(id)) {
    const auto& of_backend = digests[record.backend];
    REQUIRE(of_backend.size() == 1);
    CHECK(of_backend[0].digest == db::record_digest(record));
  }
}

TEST_CASE("Unchanged items settled from digests leave what the full path leaves",
          "[sync][import][digest]") {
  // 60 worlds x 8 runs x 2 servers, each run applied to two databases: one with the shortcut,
  // one without. A listing is often the previous one again (the case the shortcut is for).
  int shortcut_runs = 0;
  for (unsigned seed = 1; seed <= 60; ++seed) {
    World world(seed);
    db::StateStore with(":memory:");
    db::StateStore without(":memory:");
    std::map<std::string, std::vector<backend::RemoteItem>> last;
    for (int run = 0; run < 8; ++run) {
      for (const std::string backend : {"plex", "jellyfin"}) {
        auto items = last.count(backend) > 0 && world.chance(50)
                         ? last[backend]
                         : world.listing(backend.substr(0, 1));
        last[backend] = items;
        const UnixTime now = 1'700'100'000 + run * 1000;
        const auto a = import_listing(with, backend, now, items, true);
        const auto b = import_listing(without, backend, now, items, false);
        INFO("seed " << seed << " run " << run << " " << backend);
        REQUIRE(counts_text(a.counts) == counts_text(b.counts));
        REQUIRE(dump(with) == dump(without));
        shortcut_runs += a.counts.unchanged > 0 ? 1 : 0;
      }
    }
  }
  CHECK(shortcut_runs > 300); // the shortcut was taken, not only the full path
}

TEST_CASE("A listing that repeats an item it just changed is not settled from the old digest",
          "[sync][import][digest]") {
  db::StateStore store(":memory:");
  backend::RemoteItem item;
  item.type = model::MediaType::movie;
  item.id = "1";
  item.library_id = "1";
  item.title = "Alpha";
  item.guids = {{model::GuidKey::imdb, "tt0000001"}};
  import_listing(store, "plex", 1'700'000'000, {item}, true);

  // The next listing reports it played, then (its pages shifted) unplayed again as before.
  auto played = item;
  played.played = true;
  played.last_played = 1'700'000'500;
  const auto out = import_listing(store, "plex", 1'700'001'000, {played, item}, true);
  CHECK(out.counts.marked_played == 1);
  CHECK(out.counts.unchanged == 0); // the second report is weighed, not taken as unchanged
  const auto records = store.records(1, "plex");
  REQUIRE(records.size() == 1);
  CHECK_FALSE(records[0].watched); // the record holds the last report, as the full path leaves it
}

TEST_CASE("The data version moves with other connections' commits only", "[sync][import][digest]") {
  const ws::test::TempDir dir;
  {
    db::StateStore mine(dir.path() / "state.db");
    db::StateStore other(dir.path() / "state.db");
    const auto before = mine.data_version();
    db::ItemRow row;
    row.identity = "main";
    row.title = "Alpha";
    {
      db::StateStore::Transaction tx(mine);
      mine.insert_item(row);
      tx.commit();
    }
    CHECK(mine.data_version() == before); // its own commit
    {
      db::StateStore::Transaction tx(other);
      other.insert_item(row);
      tx.commit();
    }
    CHECK(mine.data_version() != before); // another process's commit
  }
}
