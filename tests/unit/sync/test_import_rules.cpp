// SPDX-License-Identifier: MIT
#include <watchstate/sync/import_rules.hpp>

#include <catch2/catch.hpp>

using namespace ws;
using backend::RemoteItem;
using model::GuidKey;
using model::MediaType;
using sync::decide_import;
using sync::ImportPolicy;
using sync::StateChange;

namespace {

constexpr UnixTime k_now = 1'800'000'000;
constexpr UnixTime k_cursor = 1'790'000'000;

RemoteItem movie(bool played, UnixTime last_played, UnixTime added_at = 1'600'000'000) {
  RemoteItem r;
  r.type = MediaType::movie;
  r.id = "42";
  r.title = "Alpha";
  r.year = 2001;
  r.played = played;
  r.last_played = last_played;
  r.added_at = added_at;
  r.guids = {{GuidKey::imdb, "tt0000001"}};
  return r;
}

db::ItemRow row(bool watched, UnixTime updated) {
  db::ItemRow r;
  r.id = 1;
  r.identity = "main";
  r.title = "Alpha";
  r.watched = watched;
  r.updated = updated;
  r.via = "plex";
  return r;
}

ImportPolicy policy() {
  ImportPolicy p;
  p.cursor = k_cursor;
  p.now = k_now;
  return p;
}

db::BackendRecord previous_of(const RemoteItem& r) { return sync::make_record("jf", r); }

} // namespace

TEST_CASE("sync::decide_import played report", "[sync][import]") {
  SECTION("a strictly newer play marks the row played with the backend's date") {
    const auto d = decide_import(row(false, 1'700'000'000), std::nullopt,
                                 movie(true, 1'700'000'100), policy());
    CHECK(d.state == StateChange::played);
    CHECK(d.new_updated == 1'700'000'100);
    CHECK(d.record_changed);
  }
  SECTION("an equal date is not newer") {
    const auto d = decide_import(row(false, 1'700'000'100), std::nullopt,
                                 movie(true, 1'700'000'100), policy());
    CHECK(d.state == StateChange::none);
  }
  SECTION("an older play does not flip a row unmarked later") {
    const auto d = decide_import(row(false, 1'750'000'000), std::nullopt,
                                 movie(true, 1'700'000'000), policy());
    CHECK(d.state == StateChange::none);
  }
  SECTION("same state: nothing changes, not even the date") {
    const auto d =
        decide_import(row(true, 1'700'000'000), std::nullopt, movie(true, 1'760'000'000), policy());
    CHECK(d.state == StateChange::none);
  }
}

TEST_CASE("sync::decide_import unplayed report", "[sync][import]") {
  const auto played_before = movie(true, 1'700'000'000);
  SECTION("deliberate unmark: played before, same id and added date") {
    const auto d = decide_import(row(true, 1'700'000'000), previous_of(played_before),
                                 movie(false, 0), policy());
    CHECK(d.state == StateChange::unplayed);
    CHECK(d.deliberate_unmark);
    CHECK(d.new_updated == k_now);
  }
  SECTION("no earlier report from this backend: an added date never unmarks") {
    const auto d = decide_import(row(true, 1'700'000'000), std::nullopt,
                                 movie(false, 0, 1'750'000'000), policy());
    CHECK(d.state == StateChange::none);
  }
  SECTION("a re-added file (new added date) does not unmark") {
    const auto d = decide_import(row(true, 1'700'000'000), previous_of(played_before),
                                 movie(false, 0, 1'760'000'000), policy());
    CHECK(d.state == StateChange::none);
  }
  SECTION("another item id does not unmark") {
    auto remote = movie(false, 0);
    remote.id = "43";
    const auto d =
        decide_import(row(true, 1'700'000'000), previous_of(played_before), remote, policy());
    CHECK(d.state == StateChange::none);
  }
  SECTION("the backend had reported it unplayed already: nothing to unmark") {
    const auto d = decide_import(row(true, 1'700'000'000), previous_of(movie(false, 0)),
                                 movie(false, 0), policy());
    CHECK(d.state == StateChange::none);
    CHECK_FALSE(d.record_changed);
  }
  SECTION("disable_mark_unplayed") {
    auto p = policy();
    p.disable_mark_unplayed = true;
    const auto d =
        decide_import(row(true, 1'700'000'000), previous_of(played_before), movie(false, 0), p);
    CHECK(d.state == StateChange::none);
  }
}

TEST_CASE("sync::decide_import metadata-only and full", "[sync][import]") {
  SECTION("a metadata-only backend never changes play state") {
    auto p = policy();
    p.metadata_only = true;
    auto remote = movie(true, 1'790'000'000);
    remote.progress_ms = 0;
    const auto d = decide_import(row(false, 1'600'000'000), std::nullopt, remote, p);
    CHECK(d.state == StateChange::none);
    CHECK_FALSE(d.progress_changed);
    CHECK(d.record_changed);
  }
  SECTION("--full: the backend wins when the flag differs, whatever the dates") {
    auto p = policy();
    p.force_full = true;
    auto d = decide_import(row(false, 1'750'000'000), std::nullopt, movie(true, 1'700'000'000), p);
    CHECK(d.state == StateChange::played);
    CHECK(d.new_updated == 1'700'000'000);
    d = decide_import(row(true, 1'750'000'000), std::nullopt, movie(false, 0), p);
    CHECK(d.state == StateChange::unplayed);
    CHECK(d.new_updated == k_now);
  }
}

TEST_CASE("sync::decide_import Jellyfin played without a date", "[sync][import]") {
  auto remote = movie(true, 0, 1'600'000'000);
  remote.played_without_date = true;
  remote.last_played = remote.added_at;
  SECTION("unplayed at the last import: dated just after the cursor") {
    const auto d =
        decide_import(row(false, 1'650'000'000), previous_of(movie(false, 0)), remote, policy());
    CHECK(d.state == StateChange::played);
    CHECK(d.new_updated == k_cursor + 1);
  }
  SECTION("the row changed after the cursor: the undated play loses") {
    const auto d =
        decide_import(row(false, k_cursor + 500), previous_of(movie(false, 0)), remote, policy());
    CHECK(d.state == StateChange::none);
  }
  SECTION("never seen before: only the added date counts") {
    const auto d = decide_import(row(false, 1'650'000'000), std::nullopt, remote, policy());
    CHECK(d.state == StateChange::none);
  }
}

TEST_CASE("sync::decide_import progress", "[sync][import]") {
  auto remote = movie(false, 0);
  remote.progress_ms = 600'000;
  remote.last_played = 1'750'000'000;
  SECTION("a position above the minimum on an unplayed row is taken") {
    const auto d = decide_import(row(false, 1'600'000'000), std::nullopt, remote, policy());
    CHECK(d.progress_changed);
    CHECK(d.new_progress_ms == 600'000);
    CHECK(d.new_progress_at == 1'750'000'000);
  }
  SECTION("below the minimum: not worth syncing") {
    remote.progress_ms = 59'000;
    const auto d = decide_import(row(false, 1'600'000'000), std::nullopt, remote, policy());
    CHECK_FALSE(d.progress_changed);
  }
  SECTION("progress sync disabled") {
    auto p = policy();
    p.progress_sync = false;
    const auto d = decide_import(row(false, 1'600'000'000), std::nullopt, remote, p);
    CHECK_FALSE(d.progress_changed);
  }
  SECTION("unchanged since the last import: nothing") {
    auto local = row(false, 1'600'000'000);
    local.progress_ms = 300'000;
    local.progress_at = 1'760'000'000;
    const auto d = decide_import(local, previous_of(remote), remote, policy());
    CHECK_FALSE(d.progress_changed);
  }
  SECTION("moved since the last import: taken, observed now") {
    auto local = row(false, 1'600'000'000);
    local.progress_ms = 300'000;
    local.progress_at = 1'760'000'000;
    auto before = remote;
    before.progress_ms = 120'000;
    const auto d = decide_import(local, previous_of(before), remote, policy());
    CHECK(d.progress_changed);
    CHECK(d.new_progress_at == k_now);
  }
  SECTION("moved since the last import within the second the local position was taken") {
    auto local = row(false, 1'600'000'000);
    local.progress_ms = 300'000;
    local.progress_at = k_now; // a sync a moment ago, then a webhook
    auto before = remote;
    before.progress_ms = 300'000;
    const auto d = decide_import(local, previous_of(before), remote, policy());
    CHECK(d.progress_changed);
    CHECK(d.new_progress_ms == 600'000);
  }
  SECTION("a first look with no date does not replace a position") {
    auto local = row(false, 1'600'000'000);
    local.progress_ms = 300'000;
    local.progress_at = 0;
    remote.last_played = 0;
    const auto d = decide_import(local, std::nullopt, remote, policy());
    CHECK_FALSE(d.progress_changed);
  }
  SECTION("a played row keeps no position") {
    const auto d = decide_import(row(true, 1'600'000'000), std::nullopt, remote, policy());
    CHECK_FALSE(d.progress_changed);
  }
}

TEST_CASE("sync::new_row_from and never-played rows", "[sync][import]") {
  const auto unplayed =
      sync::new_row_from(movie(false, 0, 1'750'000'000), "main", "plex", "Alpha", 2001, policy());
  CHECK_FALSE(unplayed.watched);
  CHECK(unplayed.updated == 0); // an added date is no unplay event
  const auto played =
      sync::new_row_from(movie(true, 1'700'000'000), "main", "plex", "Alpha", 2001, policy());
  CHECK(played.updated == 1'700'000'000);
  SECTION("a play older than another backend's added date still counts") {
    const auto d = decide_import(unplayed, std::nullopt, movie(true, 1'600'000'000), policy());
    CHECK(d.state == StateChange::played);
  }
}
