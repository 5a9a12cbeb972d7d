// SPDX-License-Identifier: MIT
#include <watchstate/db/state_store.hpp>
#include <watchstate/sync/import_apply.hpp>

#include <catch2/catch.hpp>

using namespace ws;

namespace {

constexpr UnixTime k_added = 1'600'000'000;

backend::RemoteItem movie(const char* id, model::Guids guids) {
  backend::RemoteItem item;
  item.type = model::MediaType::movie;
  item.id = id;
  item.library_id = "1";
  item.title = "Alpha";
  item.year = 2001;
  item.added_at = k_added;
  item.duration_ms = 6'000'000;
  item.guids = std::move(guids);
  return item;
}

const model::Guids k_alpha = {{model::GuidKey::imdb, "tt0000001"}, {model::GuidKey::tmdb, "101"}};
const model::Guids k_wrong = {{model::GuidKey::imdb, "tt9999999"}};

// One backend's import of `items` at `now`, as ws-import applies it.
sync::BackendImportCounts import_items(db::StateStore& store, const char* backend, UnixTime now,
                                       std::vector<backend::RemoteItem> items) {
  sync::ImportPolicy policy;
  policy.now = now;
  policy.cursor = store.cursor("main", backend, "import");
  sync::BackendImportCounts counts;
  const sync::ShowCaches others;
  const config::MatchingSettings matching;
  // The applier keeps references to these: they outlive it.
  const std::string identity = "main";
  const std::string name = backend;
  sync::BackendApplier applier(store, identity, name, {}, others, matching, policy, counts);
  for (auto& item : items) {
    applier.apply(item);
  }
  applier.forget_unreported();
  store.set_cursor("main", backend, "import", now);
  return counts;
}

std::vector<db::ItemRow> rows(db::StateStore& store) {
  std::vector<db::ItemRow> out;
  for (db::ItemId id = 1; id < 10; ++id) {
    if (auto row = store.item(id)) {
      out.push_back(*row);
    }
  }
  return out;
}

} // namespace

TEST_CASE("A Fix Match with an unmark keeps the resume position of the row it joins",
          "[sync][import]") {
  db::StateStore store(":memory:");
  // Jellyfin: Alpha unwatched, 21 minutes in. Emby: matched to a wrong film, watched.
  auto jf = movie("j1", k_alpha);
  jf.progress_ms = 1'260'000;
  jf.last_played = 1'700'000'500;
  import_items(store, "jellyfin", 1'700'001'000, {jf});
  auto emby = movie("e1", k_wrong);
  emby.played = true;
  emby.last_played = 1'690'000'000;
  import_items(store, "emby", 1'700'001'000, {emby});
  REQUIRE(rows(store).size() == 2);

  // On Emby, Fix Match (now Alpha's ids) and unmark: a deliberate unmark of the same item,
  // which clears Emby's position (it had none).
  auto fixed = movie("e1", k_alpha);
  const auto counts = import_items(store, "emby", 1'700'002'000, {fixed});
  CHECK(counts.rematched == 1);
  CHECK(counts.merged == 1);
  CHECK(counts.marked_unplayed == 1);

  const auto after = rows(store);
  REQUIRE(after.size() == 1);
  CHECK_FALSE(after[0].watched);
  CHECK(after[0].updated == 1'700'002'000); // the unmark is the newest event
  // Jellyfin's position outlives the merge: the unmark is followed by it on Emby (export).
  CHECK(after[0].progress_ms == 1'260'000);
  CHECK(after[0].progress_at == 1'700'000'500); // when Jellyfin saw it
}

TEST_CASE("New ids that join two rows with an unmark keep the resume position", "[sync][import]") {
  db::StateStore store(":memory:");
  // Jellyfin knows Alpha by its tmdb id only, Emby by its imdb id only: two rows.
  auto jf = movie("j1", {{model::GuidKey::tmdb, "101"}});
  jf.progress_ms = 1'260'000;
  jf.last_played = 1'700'000'500;
  import_items(store, "jellyfin", 1'700'001'000, {jf});
  auto emby = movie("e1", {{model::GuidKey::imdb, "tt0000001"}});
  emby.played = true;
  emby.last_played = 1'690'000'000;
  import_items(store, "emby", 1'700'001'000, {emby});
  REQUIRE(rows(store).size() == 2);

  // Emby refreshes its metadata (both ids now) and the user unmarks it there.
  const auto counts = import_items(store, "emby", 1'700'002'000, {movie("e1", k_alpha)});
  CHECK(counts.rematched == 0); // the item stays on its row, which the other row joins
  CHECK(counts.merged == 1);
  CHECK(counts.marked_unplayed == 1);
  const auto after = rows(store);
  REQUIRE(after.size() == 1);
  CHECK_FALSE(after[0].watched);
  CHECK(after[0].updated == 1'700'002'000);
  CHECK(after[0].progress_ms == 1'260'000);
}

TEST_CASE("A Fix Match without an unmark: the newer play wins and clears the position",
          "[sync][import]") {
  db::StateStore store(":memory:");
  auto jf = movie("j1", k_alpha);
  jf.progress_ms = 1'260'000;
  jf.last_played = 1'700'000'500;
  import_items(store, "jellyfin", 1'700'001'000, {jf});
  auto emby = movie("e1", k_wrong);
  emby.played = true;
  emby.last_played = 1'690'000'000;
  import_items(store, "emby", 1'700'001'000, {emby});

  auto fixed = movie("e1", k_alpha);
  fixed.played = true;
  fixed.last_played = 1'690'000'000;
  const auto counts = import_items(store, "emby", 1'700'002'000, {fixed});
  CHECK(counts.merged == 1);
  CHECK(counts.marked_unplayed == 0);
  const auto after = rows(store);
  REQUIRE(after.size() == 1);
  CHECK(after[0].watched);
  CHECK(after[0].updated == 1'690'000'000);
  CHECK(after[0].progress_ms == 0); // a played item has no resume position
}
