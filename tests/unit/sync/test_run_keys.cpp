// SPDX-License-Identifier: MIT
// The run's key index (sync/run_keys.hpp): on its own against a reference multimap, and in the
// import, where matching through it must leave exactly what matching through the database's
// keys leaves, on worlds with the ids real libraries carry (shared, wrong, missing, re-matched).
#include <watchstate/db/state_store.hpp>
#include <watchstate/sync/import_apply.hpp>
#include <watchstate/sync/matching.hpp>
#include <watchstate/sync/run_keys.hpp>

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <sstream>

using namespace ws;

TEST_CASE("The run's key index answers as a multimap of keys to rows", "[sync][run_keys]") {
  sync::RunKeyIndex index;
  CHECK(index.rows("imdb://tt1/movie").empty());
  using Added = sync::RunKeyIndex::Added;
  CHECK(index.add("imdb://tt1/movie", 7) == Added::new_pair);
  CHECK(index.add("imdb://tt1/movie", 3) == Added::new_pair);
  CHECK(index.add("imdb://tt1/movie", 7) == Added::already_held); // held once
  CHECK(index.rows("imdb://tt1/movie") == std::vector<db::ItemId>{3, 7});
  CHECK(index.has("imdb://tt1/movie", 3));
  CHECK_FALSE(index.has("imdb://tt1/episode", 3));
  CHECK(index.size() == 2);
  index.remove("imdb://tt1/movie", 3);
  index.remove("imdb://tt1/movie", 3); // gone already: nothing happens
  CHECK(index.rows("imdb://tt1/movie") == std::vector<db::ItemId>{7});
  CHECK(index.size() == 1);
  CHECK(index.usable());

  SECTION("a row id it cannot hold makes it unusable") {
    CHECK(index.add("imdb://tt2/movie", 0) == Added::cannot_hold);
    CHECK_FALSE(index.usable());
  }
  SECTION("so does one beyond 40 bits") {
    CHECK(index.add("imdb://tt2/movie", db::ItemId{1} << 40) == Added::cannot_hold);
    CHECK_FALSE(index.usable());
  }
}

TEST_CASE("Held keys keep copies of their texts and come out in the database's order",
          "[sync][run_keys]") {
  sync::HeldKeys held;
  CHECK(held.empty());
  // More text than a block holds (so the copies span several), a key longer than a block, the
  // same key for two rows, and sources that are gone before the pairs are read.
  std::multimap<std::string, db::ItemId> expected;
  const std::string long_key = "path://" + std::string(200'000, 'x') + "/movie";
  for (int i = 0; i < 5'000; ++i) {
    std::string key = fmt::format("tvdb://{}/episode", (i * 7919) % 5'000);
    held.add(key, i % 3 + 1);
    expected.emplace(std::move(key), i % 3 + 1);
    if (i == 2'500) {
      std::string copy = long_key;
      held.add(copy, 9);
      copy.assign(copy.size(), 'y');
      expected.emplace(long_key, 9);
    }
  }
  held.add("tvdb://42/episode", 1);
  expected.emplace("tvdb://42/episode", 1);
  REQUIRE(held.size() == expected.size());

  std::vector<std::pair<std::string, db::ItemId>> want(expected.begin(), expected.end());
  std::sort(want.begin(), want.end());
  std::vector<std::pair<std::string, db::ItemId>> got;
  for (const auto& pair : held.sorted()) {
    got.emplace_back(std::string(pair.key), pair.item);
  }
  CHECK(got == want);

  held.clear();
  CHECK(held.empty());
  held.add("imdb://tt2/movie", 5);
  held.add("imdb://tt1/movie", 6);
  REQUIRE(held.sorted().size() == 2);
  CHECK(held.sorted()[0].key == "imdb://tt1/movie");
  CHECK(held.sorted()[1].item == 5);
}

TEST_CASE("The run's key index holds what a reference holds through growth and removals",
          "[sync][run_keys]") {
  // 300,000 operations, most of them adds: the table grows several times, and removed pairs are
  // passed over and their slots taken again.
  std::mt19937 random(7); // NOLINT(cert-msc32-c,cert-msc51-cpp): the same operations every run
  const auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(random); };
  sync::RunKeyIndex index;
  std::set<std::pair<std::string, db::ItemId>> reference;
  for (int i = 0; i < 300'000; ++i) {
    const std::string key = fmt::format("tmdb://{}/movie", pick(120'000));
    const db::ItemId row = 1 + pick(3);
    if (pick(10) < 8) {
      const bool is_new = reference.emplace(key, row).second;
      CHECK(index.add(key, row) ==
            (is_new ? sync::RunKeyIndex::Added::new_pair : sync::RunKeyIndex::Added::already_held));
    } else {
      index.remove(key, row);
      reference.erase({key, row});
    }
  }
  REQUIRE(index.size() == reference.size());
  std::map<std::string, std::vector<db::ItemId>> expected;
  for (const auto& [key, row] : reference) {
    expected[key].push_back(row);
  }
  std::size_t checked = 0;
  for (int k = 0; k < 120'000; ++k) {
    const std::string key = fmt::format("tmdb://{}/movie", k);
    const auto it = expected.find(key);
    const auto want = it == expected.end() ? std::vector<db::ItemId>{} : it->second;
    if (index.rows(key) != want) {
      FAIL("key " << key);
    }
    ++checked;
  }
  CHECK(checked == 120'000);
}

namespace {

// A messy household: films that a server may match to the wrong film or give only some ids,
// copies in another library, series whose ids a server may get wrong (and then fix: every
// episode re-matches), episodes whose own ids two episodes share, items listed twice.
class World {
public:
  explicit World(unsigned seed) : m_random(seed) {}

  struct Listing {
    std::vector<model::RemoteShow> shows;
    std::vector<backend::RemoteItem> items;
  };

  Listing listing(const std::string& prefix) {
    Listing out;
    for (int s = 0; s < 3; ++s) {
      model::RemoteShow show;
      show.id = fmt::format("{}s{}", prefix, s);
      show.title = fmt::format("Series {}", s);
      show.year = 1990 + s;
      const int series = chance(15) ? (s + 1) % 3 : s; // matched to the wrong series
      if (!chance(10)) {
        show.guids.push_back({model::GuidKey::tvdb, std::to_string(500 + series)});
      }
      if (chance(60)) {
        show.guids.push_back({model::GuidKey::imdb, fmt::format("tt5{:06}", series)});
      }
      std::sort(show.guids.begin(), show.guids.end(), [](const auto& a, const auto& b) {
        return std::tie(a.key, a.value) < std::tie(b.key, b.value);
      });
      for (int e = 0; e < 6; ++e) {
        if (chance(8)) {
          continue;
        }
        backend::RemoteItem item = base(fmt::format("{}e{}_{}", prefix, s, e));
        item.type = model::MediaType::episode;
        item.show_id = show.id;
        item.title = show.title;
        item.season = 1 + e / 3;
        item.episode = 1 + e % 3;
        if (chance(50)) {
          // The episode's own id; sometimes its neighbour's (two episodes sharing one).
          const int own = chance(15) ? e ^ 1 : e;
          item.guids.push_back({model::GuidKey::tvdb, std::to_string(9000 + s * 10 + own)});
        }
        out.items.push_back(item);
      }
      out.shows.push_back(std::move(show));
    }
    for (int i = 0; i < 12; ++i) {
      if (chance(10)) {
        continue;
      }
      backend::RemoteItem item = base(fmt::format("{}m{}", prefix, i));
      item.title = fmt::format("Film {}", i);
      item.year = 2000 + i;
      const int film = chance(15) ? (i + 1) % 12 : i;
      if (!chance(10)) {
        item.guids.push_back({model::GuidKey::imdb, fmt::format("tt{:07}", film)});
      }
      if (!chance(20)) {
        item.guids.push_back({model::GuidKey::tmdb, std::to_string(100 + film)});
      }
      out.items.push_back(item);
      if (chance(15)) {
        auto copy = item; // the film again, in another library
        copy.id += "c";
        copy.library_id = "3";
        out.items.push_back(copy);
      }
    }
    std::shuffle(out.items.begin(), out.items.end(), m_random);
    if (chance(20)) {
      out.items.push_back(out.items[pick(static_cast<int>(out.items.size()))]); // pages shifted
    }
    return out;
  }

  bool chance(int percent) { return pick(100) < percent; }
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(m_random); }

private:
  backend::RemoteItem base(std::string id) {
    backend::RemoteItem item;
    item.type = model::MediaType::movie;
    item.id = std::move(id);
    item.library_id = "1";
    item.added_at = 1'600'000'000;
    item.duration_ms = 3'000'000;
    item.played = chance(40);
    item.last_played = item.played || chance(30) ? 1'700'000'000 + pick(1000) : 0;
    item.progress_ms = !item.played && chance(30) ? 60'000 * (1 + pick(40)) : 0;
    return item;
  }

  std::mt19937 m_random;
};

struct RunOutcome {
  std::string counts; // every backend's counts, as text
  std::uint64_t merged = 0;
  std::uint64_t rematched = 0;
};

// One run of ws-import over `listings` (by backend, in order), as import_identity applies it:
// a transaction per backend, the series of every backend visible to the next ones.
RunOutcome import_run(db::StateStore& store, const std::vector<std::string>& backends,
                      std::map<std::string, World::Listing> listings, UnixTime now,
                      sync::RunKeyIndex* keys,
                      std::size_t write_batch = sync::BackendApplier::k_key_write_batch) {
  const std::string identity = "main";
  const config::MatchingSettings matching;
  sync::ShowCaches all_shows;
  for (const auto& name : backends) {
    all_shows.emplace(name, store.load_shows(identity, name));
  }
  RunOutcome out;
  for (const auto& name : backends) {
    sync::ImportPolicy policy;
    policy.now = now;
    policy.cursor = store.cursor(identity, name, "import");
    sync::BackendImportCounts c;
    db::StateStore::Transaction tx(store);
    sync::BackendApplier applier(store, identity, name, all_shows[name], all_shows, matching,
                                 policy, c);
    applier.set_run_keys(keys, write_batch);
    applier.apply_shows(listings[name].shows);
    for (auto& item : listings[name].items) {
      applier.apply(item);
    }
    applier.forget_unreported();
    store.set_cursor(identity, name, "import", now);
    tx.commit();
    all_shows[name] = applier.shows();
    out.merged += c.merged;
    out.rematched += c.rematched;
    out.counts +=
        fmt::format("{}: added {} updated {} unchanged {} skipped {} merged {} rematched {} "
                    "played {} unplayed {} progress {}\n",
                    name, c.added, c.updated, c.unchanged, c.skipped, c.merged, c.rematched,
                    c.marked_played, c.marked_unplayed, c.progress_updated);
  }
  return out;
}

// Everything the import leaves that a user or a later run can see, as text.
std::string dump(db::StateStore& store) {
  std::ostringstream out;
  store.list_items(db::ListFilter{}, [&](const db::ItemRow& row) {
    out << fmt::format("#{} {} {} {}x{} w={} u={} p={}@{} via={}\n", row.id, row.title, row.year,
                       row.season, row.episode, row.watched, row.updated, row.progress_ms,
                       row.progress_at, row.via);
    for (const auto& r : store.records(row.id)) {
      out << fmt::format("  {}/{} w={}@{} p={} ids={}\n", r.backend, r.remote_id, r.watched,
                         r.played_at, r.progress_ms, r.guids.size());
    }
    for (const auto& key : store.keys_of(row.id)) {
      out << "  key " << key << "\n";
    }
  });
  for (const auto& c : store.conflicts("main", "")) {
    out << fmt::format("conflict {}/{} #{} {} #{} {}\n", c.backend, c.remote_id, c.item, c.key,
                       c.other, c.kind);
  }
  return out.str();
}

// Where each of `keys` points in `store`, as text: also the keys of rows that are gone, which
// dump() does not reach.
std::string key_rows(db::StateStore& store, const std::set<std::string>& keys) {
  std::ostringstream out;
  for (const auto& key : keys) {
    const auto rows = store.items_by_key("main", key);
    if (!rows.empty()) {
      out << key << " ->" << fmt::format(" {}", fmt::join(rows, " ")) << "\n";
    }
  }
  return out.str();
}

// Every key the items of `listing` give (matching_keys), added to `keys`.
void add_listed_keys(const World::Listing& listing, std::set<std::string>& keys) {
  for (const auto& item : listing.items) {
    const auto show = std::find_if(listing.shows.begin(), listing.shows.end(),
                                   [&](const auto& s) { return s.id == item.show_id; });
    for (auto& key : sync::matching_keys(item, show == listing.shows.end() ? nullptr : &*show)) {
      keys.insert(std::move(key));
    }
  }
}

} // namespace

TEST_CASE("Matching through the run's key index leaves what matching through the database does",
          "[sync][run_keys]") {
  // 40 worlds x 6 runs x 3 servers, each applied to three databases: two matched through an
  // index (kept from the empty database on, so it must follow every key every run wrote and
  // took back), one through the database's keys alone. The second index's keys reach its
  // database three at a time, so rows merge and keys are taken back while others wait.
  const std::vector<std::string> backends = {"plex", "jellyfin", "emby"};
  std::uint64_t merged = 0;
  std::uint64_t rematched = 0;
  for (unsigned seed = 1; seed <= 40; ++seed) {
    World world(seed);
    db::StateStore with(":memory:");
    db::StateStore without(":memory:");
    db::StateStore batched(":memory:");
    sync::RunKeyIndex keys;
    sync::RunKeyIndex batched_keys;
    std::set<std::string> listed_keys; // every key any run's items gave
    for (int run = 0; run < 6; ++run) {
      std::map<std::string, World::Listing> listings;
      for (const auto& name : backends) {
        listings[name] = world.listing(name.substr(0, 1));
        add_listed_keys(listings[name], listed_keys);
      }
      const UnixTime now = 1'700'100'000 + run * 1000;
      const auto a = import_run(with, backends, listings, now, &keys);
      const auto b = import_run(without, backends, listings, now, nullptr);
      const auto c = import_run(batched, backends, listings, now, &batched_keys, 3);
      INFO("seed " << seed << " run " << run);
      REQUIRE(a.counts == b.counts);
      REQUIRE(c.counts == b.counts);
      const auto expected = dump(without);
      REQUIRE(dump(with) == expected);
      REQUIRE(dump(batched) == expected);
      const auto expected_keys = key_rows(without, listed_keys);
      REQUIRE(key_rows(with, listed_keys) == expected_keys);
      REQUIRE(key_rows(batched, listed_keys) == expected_keys);
      REQUIRE(keys.usable());
      merged += a.merged;
      rematched += a.rematched;
    }
  }
  // The worlds did what they are for: rows merged, items re-matched.
  INFO("merged " << merged << ", re-matched " << rematched);
  CHECK(merged > 20);
  CHECK(rematched > 50);
}
