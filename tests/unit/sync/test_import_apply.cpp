// SPDX-License-Identifier: MIT
#include <watchstate/db/state_store.hpp>
#include <watchstate/sync/export_rules.hpp>
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

// What export would write to `backend`'s one copy of `row` (nullopt: nothing).
std::optional<backend::WriteRequest> export_to(db::StateStore& store, const db::ItemRow& row,
                                               const char* backend) {
  const auto records = store.records(row.id, backend);
  REQUIRE(records.size() == 1);
  return sync::decide_export(row, records[0], sync::ExportPolicy{});
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
  // Jellyfin's position outlives the merge (it is newer than the play the unmark undid): the
  // unmark is followed by it on Emby (export), and Jellyfin keeps it.
  CHECK(after[0].progress_ms == 1'260'000);
  CHECK(after[0].progress_at == 1'700'000'500); // when Jellyfin saw it
  CHECK_FALSE(export_to(store, after[0], "jellyfin"));
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

TEST_CASE("An unmark after rows joined clears a position older than the play it undoes",
          "[sync][import][export]") {
  db::StateStore store(":memory:");
  // Plex: Alpha matched to a wrong film, unwatched, 23 minutes in since 1,690,000,000. Emby:
  // Alpha, watched at 1,695,000,000 (after Plex's position).
  auto plex = movie("p1", k_wrong);
  plex.progress_ms = 1'380'000;
  plex.last_played = 1'690'000'000;
  import_items(store, "plex", 1'700'001'000, {plex});
  auto emby = movie("e1", k_alpha);
  emby.played = true;
  emby.last_played = 1'695'000'000;
  import_items(store, "emby", 1'700'001'000, {emby});
  REQUIRE(rows(store).size() == 2);

  // Plex is fixed (Alpha's ids, the same position) and joins Emby's row: the play is newer, so
  // the row keeps no position. Then the user unmarks Alpha on Emby.
  auto fixed = movie("p1", k_alpha);
  fixed.progress_ms = 1'380'000;
  fixed.last_played = 1'690'000'000;
  CHECK(import_items(store, "plex", 1'700'002'000, {fixed}).merged == 1);
  CHECK(import_items(store, "emby", 1'700'002'000, {movie("e1", k_alpha)}).marked_unplayed == 1);

  const auto after = rows(store);
  REQUIRE(after.size() == 1);
  CHECK_FALSE(after[0].watched);
  CHECK(after[0].updated == 1'700'002'000);
  CHECK(after[0].progress_ms == 0);
  CHECK(after[0].progress_at == 1'695'000'000); // no position as of the play the unmark undid
  // Plex still holds its position from before the play: export clears it, as the play would
  // have had the two been one row from the start.
  const auto write = export_to(store, after[0], "plex");
  CHECK(store.records(after[0].id, "plex")[0].progress_ms == 1'380'000);
  REQUIRE(write);
  CHECK(write->action == backend::WriteAction::reset_progress);
}

TEST_CASE("A merge weighs a played row's latest play, not only the date it was played at first",
          "[sync][import]") {
  db::StateStore store(":memory:");
  // Plex: Alpha, played. Jellyfin: matched to a wrong film, played, then unmarked.
  auto plex = movie("p1", k_alpha);
  plex.played = true;
  plex.last_played = 1'690'000'000;
  import_items(store, "plex", 1'700'000'000, {plex});
  auto jf = movie("j1", k_wrong);
  jf.played = true;
  jf.last_played = 1'691'000'000;
  import_items(store, "jellyfin", 1'700'000'000, {jf});
  CHECK(import_items(store, "jellyfin", 1'700'001'000, {movie("j1", k_wrong)}).marked_unplayed ==
        1);
  // Alpha is played again on Plex, after that unmark: the row, played already, keeps its date.
  plex.last_played = 1'700'002'000;
  import_items(store, "plex", 1'700'003'000, {plex});
  REQUIRE(rows(store).size() == 2);
  CHECK(rows(store)[0].updated == 1'690'000'000);

  // Jellyfin's copy is fixed and joins Alpha: Plex's play is newer than the unmark.
  const auto counts = import_items(store, "jellyfin", 1'700'004'000, {movie("j1", k_alpha)});
  CHECK(counts.merged == 1);
  const auto after = rows(store);
  REQUIRE(after.size() == 1);
  CHECK(after[0].watched);
  const auto write = export_to(store, after[0], "jellyfin");
  REQUIRE(write);
  CHECK(write->action == backend::WriteAction::mark_played);
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

TEST_CASE("A copy seen before its row merged into another is kept when the listing drops an item",
          "[sync][import]") {
  db::StateStore store(":memory:");
  // Jellyfin has two copies of Alpha that it knows by different ids (its tmdb id; its imdb id,
  // which Plex's copy gives too: others report that row, so j2 stays on it), and another film:
  // three rows.
  auto other = movie("j3", {{model::GuidKey::imdb, "tt0000003"}});
  other.title = "Gamma";
  import_items(store, "plex", 1'700'000'000, {movie("p2", {{model::GuidKey::imdb, "tt0000001"}})});
  import_items(store, "jellyfin", 1'700'000'000,
               {movie("j1", {{model::GuidKey::tmdb, "101"}}),
                movie("j2", {{model::GuidKey::imdb, "tt0000001"}}), other});
  REQUIRE(rows(store).size() == 3);
  REQUIRE(store.count_records("main", "jellyfin") == 3);

  // The next listing: j1 as before (seen on its row), then j2 with both ids, which joins j1's
  // row into its own; Gamma is gone from the server.
  const auto counts =
      import_items(store, "jellyfin", 1'700'001'000,
                   {movie("j1", {{model::GuidKey::tmdb, "101"}}), movie("j2", k_alpha)});
  CHECK(counts.merged == 1);
  const auto after = rows(store);
  REQUIRE(after.size() == 2); // Gamma's row stays (pruning is ws-state's), without a record
  const auto alpha = std::find_if(after.begin(), after.end(),
                                  [](const db::ItemRow& r) { return r.title == "Alpha"; });
  REQUIRE(alpha != after.end());
  // Both copies are still Jellyfin's: j1's record moved with its row, and the listing saw it.
  const auto copies = store.records(alpha->id, "jellyfin");
  REQUIRE(copies.size() == 2);
  CHECK(copies[0].remote_id == "j1");
  CHECK(copies[1].remote_id == "j2");
  CHECK(store.count_records("main", "jellyfin") == 2);
}

TEST_CASE("follow_merges moves records along a chain of merges", "[sync][import]") {
  // Row 1 joined row 3, which later joined row 4; row 2 stayed.
  std::vector<db::RecordRef> records = {{1, "a"}, {2, "b"}, {3, "c"}, {4, "d"}};
  sync::follow_merges(records, {{1, 3}, {3, 4}});
  CHECK(records[0].item == 4);
  CHECK(records[1].item == 2);
  CHECK(records[2].item == 4);
  CHECK(records[3].item == 4);
  sync::follow_merges(records, {});
  CHECK(records[1].item == 2);
}

TEST_CASE("A copy that only lost an id stays on its row against a larger row a stray copy joined",
          "[sync][import]") {
  // Model world 105208. Plex has Beta, and a copy whose tmdb id is Alpha's (its imdb id says
  // Beta): Beta's row holds Alpha's tmdb id too, and two servers report it. Emby's Alpha (both
  // ids) is on a row of its own, which nothing else reports. A refresh on Emby drops Alpha's
  // imdb id: its tmdb id alone ties between the two rows, and it must not carry Alpha (and its
  // play) to Beta: a server that drops an id does not say the item is something else.
  db::StateStore store(":memory:");
  const model::Guids beta = {{model::GuidKey::imdb, "tt0000002"}};
  auto beta_item = [&](const char* id, model::Guids guids) {
    auto item = movie(id, std::move(guids));
    item.title = "Beta";
    item.year = 2002;
    return item;
  };
  import_items(store, "plex", 1'700'000'000,
               {beta_item("p1", beta), beta_item("p2", {{model::GuidKey::imdb, "tt0000002"},
                                                        {model::GuidKey::tmdb, "101"}})});
  import_items(store, "jellyfin", 1'700'000'000, {beta_item("j1", beta)});
  auto alpha = movie("e1", k_alpha);
  alpha.played = true;
  alpha.last_played = 1'690'000'000;
  import_items(store, "emby", 1'700'000'000, {alpha});
  const auto on = [&](const char* backend, const char* remote_id) {
    const auto found = store.records_by_remote_id("main", backend, remote_id);
    REQUIRE(found.size() == 1);
    return found.front().first;
  };
  const db::ItemId alpha_row = on("emby", "e1");
  REQUIRE(alpha_row != on("plex", "p1"));

  alpha.guids = {{model::GuidKey::tmdb, "101"}};
  const auto counts = import_items(store, "emby", 1'700'001'000, {alpha});
  CHECK(counts.rematched == 0);
  CHECK(on("emby", "e1") == alpha_row);
  CHECK(store.item(alpha_row)->watched);
  CHECK_FALSE(store.item(on("plex", "p1"))->watched);
}
