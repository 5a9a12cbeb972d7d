// SPDX-License-Identifier: MIT
#include <watchstate/sync/export_rules.hpp>

#include <catch2/catch.hpp>

using namespace ws;
using backend::WriteAction;
using sync::decide_export;
using sync::ExportPolicy;

namespace {

db::ItemRow local(bool watched, UnixTime updated, std::int64_t progress_ms = 0) {
  db::ItemRow r;
  r.id = 1;
  r.title = "Alpha";
  r.watched = watched;
  r.updated = updated;
  r.progress_ms = progress_ms;
  return r;
}

db::BackendRecord remote(bool watched, UnixTime played_at, std::int64_t progress_ms = 0) {
  db::BackendRecord r;
  r.backend = "jf";
  r.remote_id = "abc";
  r.watched = watched;
  r.played_at = played_at;
  r.added_at = 1'600'000'000;
  r.progress_ms = progress_ms;
  r.duration_ms = 6'000'000;
  return r;
}

} // namespace

TEST_CASE("sync::decide_export played flag", "[sync][export]") {
  const ExportPolicy policy;
  SECTION("played locally, unplayed there: mark played with the local date") {
    const auto w = decide_export(local(true, 1'700'000'000), remote(false, 0), policy);
    REQUIRE(w);
    CHECK(w->action == WriteAction::mark_played);
    CHECK(w->played_at == 1'700'000'000);
    CHECK(w->remote_id == "abc");
  }
  SECTION("unplayed locally after the backend's play: mark unplayed") {
    const auto w = decide_export(local(false, 1'800'000'000), remote(true, 1'700'000'000), policy);
    REQUIRE(w);
    CHECK(w->action == WriteAction::mark_unplayed);
  }
  SECTION("the backend's play is newer than the local unmark: leave it") {
    CHECK_FALSE(decide_export(local(false, 1'700'000'000), remote(true, 1'800'000'000), policy));
    CHECK_FALSE(decide_export(local(false, 1'700'000'000), remote(true, 1'700'000'000), policy));
  }
  SECTION("--ignore-date: the local state wins") {
    ExportPolicy p;
    p.ignore_date = true;
    const auto w = decide_export(local(false, 1'700'000'000), remote(true, 1'800'000'000), p);
    REQUIRE(w);
    CHECK(w->action == WriteAction::mark_unplayed);
  }
  SECTION("same flag: nothing") {
    CHECK_FALSE(decide_export(local(true, 1'700'000'000), remote(true, 1'600'000'000), policy));
    CHECK_FALSE(decide_export(local(false, 1'700'000'000), remote(false, 0), policy));
  }
}

TEST_CASE("sync::decide_export positions", "[sync][export]") {
  ExportPolicy policy;
  SECTION("an unwatched position above the minimum is sent") {
    const auto w = decide_export(local(false, 1, 600'000), remote(false, 0, 0), policy);
    REQUIRE(w);
    CHECK(w->action == WriteAction::set_progress);
    CHECK(w->position_ms == 600'000);
    CHECK(w->duration_ms == 6'000'000);
  }
  SECTION("below the minimum, within a second, or progress sync off: nothing") {
    CHECK_FALSE(decide_export(local(false, 1, 59'000), remote(false, 0, 0), policy));
    CHECK_FALSE(decide_export(local(false, 1, 600'000), remote(false, 0, 600'500), policy));
    policy.progress_sync = false;
    CHECK_FALSE(decide_export(local(false, 1, 600'000), remote(false, 0, 0), policy));
  }
  SECTION("an unmarked row's position (0, with a date) is cleared where a server kept one") {
    auto unmarked = local(false, 1'700'000'000);
    unmarked.progress_at = 1'690'000'000;
    const auto w = decide_export(unmarked, remote(false, 0, 300'000), policy);
    REQUIRE(w);
    CHECK(w->action == WriteAction::reset_progress);
    CHECK_FALSE(decide_export(unmarked, remote(false, 0, 59'000), policy)); // below the minimum
    CHECK_FALSE(decide_export(unmarked, remote(false, 0, 0), policy));
    // A row whose position has no date had none cleared: the server's is left alone.
    CHECK_FALSE(decide_export(local(false, 1'700'000'000), remote(false, 0, 300'000), policy));
    policy.progress_sync = false;
    CHECK_FALSE(decide_export(unmarked, remote(false, 0, 300'000), policy));
  }
  SECTION("a played item's stale position is cleared where the server keeps one") {
    CHECK_FALSE(decide_export(local(true, 1), remote(true, 1, 300'000), policy));
    policy.can_reset_progress = true;
    const auto w = decide_export(local(true, 1), remote(true, 1, 300'000), policy);
    REQUIRE(w);
    CHECK(w->action == WriteAction::reset_progress);
  }
}

TEST_CASE("sync::record_after", "[sync][export]") {
  backend::WriteRequest w;
  w.action = WriteAction::mark_played;
  w.played_at = 1'700'000'000;
  auto r = sync::record_after(remote(false, 0, 500'000), w);
  CHECK(r.watched);
  CHECK(r.played_at == 1'700'000'000); // Plex stores no date: the pushed one is remembered
  CHECK(r.progress_ms == 0);
  w.action = WriteAction::mark_unplayed;
  r = sync::record_after(r, w);
  CHECK_FALSE(r.watched);
  CHECK(r.played_at == 0);
  w.action = WriteAction::set_progress;
  w.position_ms = 42'000;
  CHECK(sync::record_after(r, w).progress_ms == 42'000);
}
