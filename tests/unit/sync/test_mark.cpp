// SPDX-License-Identifier: MIT
// ws-state mark: the local change outranks what the backends report, for export and import.
#include <watchstate/core/error.hpp>
#include <watchstate/sync/export_rules.hpp>
#include <watchstate/sync/import_rules.hpp>
#include <watchstate/sync/mark.hpp>

#include <catch2/catch.hpp>

using namespace ws;
using backend::WriteAction;
using model::MediaType;
using sync::MarkRequest;
using sync::plan_mark;

namespace {

constexpr UnixTime k_now = 1'800'000'000;

db::ItemRow row(bool watched, UnixTime updated, std::int64_t progress_ms = 0) {
  db::ItemRow r;
  r.id = 7;
  r.identity = "main";
  r.type = MediaType::movie;
  r.title = "Alpha";
  r.year = 2001;
  r.watched = watched;
  r.updated = updated;
  r.progress_ms = progress_ms;
  r.progress_at = progress_ms > 0 ? updated : 0;
  r.via = "plex";
  r.updated_at = 1'700'000'000;
  return r;
}

db::BackendRecord record(const char* backend, bool watched, UnixTime played_at,
                         std::int64_t progress_ms = 0) {
  db::BackendRecord r;
  r.backend = backend;
  r.remote_id = "42";
  r.watched = watched;
  r.played_at = watched ? played_at : 0;
  r.added_at = 1'600'000'000;
  r.progress_ms = progress_ms;
  return r;
}

// What the backend reports at the next import when it still holds `r`.
backend::RemoteItem report_of(const db::BackendRecord& r) {
  backend::RemoteItem item;
  item.type = MediaType::movie;
  item.id = r.remote_id;
  item.title = "Alpha";
  item.played = r.watched;
  item.last_played = r.played_at;
  item.added_at = r.added_at;
  item.progress_ms = r.progress_ms;
  return item;
}

sync::ImportPolicy import_policy(UnixTime now) {
  sync::ImportPolicy p;
  p.cursor = k_now - 3600;
  p.now = now;
  return p;
}

MarkRequest request(bool played, std::optional<UnixTime> at = std::nullopt) {
  MarkRequest r;
  r.played = played;
  r.at = at;
  r.now = k_now;
  return r;
}

} // namespace

TEST_CASE("sync::plan_mark played", "[sync][state-fix]") {
  SECTION("an unplayed row becomes played now, loses its position; export marks every "
          "backend, the next import leaves it") {
    const auto before = row(false, 1'750'000'000, 600'000);
    const std::vector<db::BackendRecord> records{record("plex", false, 0, 600'000),
                                                 record("jf", false, 0)};
    const auto plan = plan_mark(before, records, request(true));
    REQUIRE(plan.changed);
    CHECK(plan.row.watched);
    CHECK(plan.row.updated == k_now);
    CHECK(plan.row.progress_ms == 0);
    CHECK(plan.row.via == "ws-state");
    CHECK(plan.row.updated_at == k_now);
    for (const auto& r : records) {
      const auto write = sync::decide_export(plan.row, r, {});
      REQUIRE(write);
      CHECK(write->action == WriteAction::mark_played);
      CHECK(write->played_at == k_now);
      // The backend unplayed, as it was at the last import: no unmark to import.
      const auto d = sync::decide_import(plan.row, r, report_of(r), import_policy(k_now + 60));
      CHECK(d.state == sync::StateChange::none);
    }
  }

  SECTION("--at dates the play") {
    const auto plan = plan_mark(row(false, 0), {}, request(true, 1'650'000'000));
    CHECK(plan.row.watched);
    CHECK(plan.row.updated == 1'650'000'000);
  }

  SECTION("a played row stays as it is, unless --at gives another date") {
    const auto before = row(true, 1'700'000'000);
    CHECK_FALSE(plan_mark(before, {}, request(true)).changed);
    CHECK_FALSE(plan_mark(before, {}, request(true, 1'700'000'000)).changed);
    const auto plan = plan_mark(before, {}, request(true, 1'690'000'000));
    CHECK(plan.changed);
    CHECK(plan.row.updated == 1'690'000'000);
  }

  SECTION("a date in the future is refused") {
    CHECK_THROWS_AS(plan_mark(row(false, 0), {}, request(true, k_now + 1)), Error);
  }
}

TEST_CASE("sync::plan_mark unplayed", "[sync][state-fix]") {
  SECTION("a row played everywhere becomes unplayed now: export unmarks every backend, the "
          "next import does not mark it played again") {
    const auto before = row(true, 1'700'000'000);
    const std::vector<db::BackendRecord> records{record("plex", true, 1'700'000'500),
                                                 record("jf", true, 1'700'000'000, 5'000),
                                                 record("emby", true, 1'700'000'000)};
    const auto plan = plan_mark(before, records, request(false));
    REQUIRE(plan.changed);
    CHECK_FALSE(plan.row.watched);
    CHECK(plan.row.updated == k_now);
    CHECK(plan.newest_play == 1'700'000'500);
    for (const auto& r : records) {
      const auto write = sync::decide_export(plan.row, r, {});
      REQUIRE(write);
      CHECK(write->action == WriteAction::mark_unplayed);
      const auto d = sync::decide_import(plan.row, r, report_of(r), import_policy(k_now + 60));
      CHECK(d.state == sync::StateChange::none);
    }
  }

  SECTION("a server clock ahead of ours: the date goes after its play") {
    const std::vector<db::BackendRecord> records{record("plex", true, k_now + 30)};
    const auto plan = plan_mark(row(true, k_now + 30), records, request(false));
    CHECK(plan.row.updated == k_now + 31);
    CHECK(sync::decide_export(plan.row, records[0], {})->action == WriteAction::mark_unplayed);
  }

  SECTION("the resume position goes, unless --keep-position") {
    const auto before = row(false, 1'700'000'000, 900'000);
    const std::vector<db::BackendRecord> records{record("plex", true, 1'750'000'000)};
    const auto cleared = plan_mark(before, records, request(false));
    CHECK(cleared.row.progress_ms == 0);
    auto keep = request(false);
    keep.keep_position = true;
    const auto kept = plan_mark(before, records, keep);
    CHECK(kept.row.progress_ms == 900'000);
    CHECK(kept.row.updated == k_now);
  }

  SECTION("an unplayed row no backend's play outranks is left as it is") {
    const auto before = row(false, 1'760'000'000);
    const std::vector<db::BackendRecord> records{record("plex", true, 1'750'000'000),
                                                 record("jf", false, 0)};
    CHECK_FALSE(plan_mark(before, records, request(false)).changed);
    // A play after the row's unmark: the mark moves the date past it.
    const std::vector<db::BackendRecord> newer{record("plex", true, 1'770'000'000)};
    const auto plan = plan_mark(before, newer, request(false));
    CHECK(plan.changed);
    CHECK(plan.row.updated == k_now);
    // A position to clear is a change too.
    CHECK(plan_mark(row(false, 1'760'000'000, 120'000), records, request(false)).changed);
  }

  SECTION("--at must come after every known play") {
    const auto before = row(true, 1'700'000'000);
    const std::vector<db::BackendRecord> records{record("plex", true, 1'710'000'000)};
    CHECK_THROWS_AS(plan_mark(before, records, request(false, 1'710'000'000)), Error);
    CHECK_THROWS_AS(plan_mark(before, records, request(false, 1'690'000'000)), Error);
    const auto plan = plan_mark(before, records, request(false, 1'710'000'001));
    CHECK(plan.row.updated == 1'710'000'001);
    CHECK_THROWS_AS(plan_mark(before, records, request(false, k_now + 10)), Error);
  }
}

TEST_CASE("sync::apply_mark writes the row and a change log naming the person",
          "[sync][state-fix]") {
  db::StateStore store(":memory:");
  auto before = row(false, 0, 300'000);
  before.id = store.insert_item(before);
  const auto plan = plan_mark(before, {}, request(true));
  const auto entries = sync::apply_mark(store, before, plan, "ws-state mark (alice)", k_now);
  REQUIRE(entries.size() == 2);
  const auto stored = store.item(before.id);
  REQUIRE(stored);
  CHECK(stored->watched);
  CHECK(stored->updated == k_now);
  CHECK(stored->progress_ms == 0);
  CHECK(stored->via == "ws-state");
  const auto log = store.changes(before.id);
  REQUIRE(log.size() == 2);
  CHECK(log[0].direction == "manual");
  CHECK(log[0].backend == "ws-state mark (alice)");
  CHECK(log[0].field == "watched");
  CHECK(log[0].old_value == "unplayed@0");
  CHECK(log[0].new_value == "played@1800000000");
  CHECK(log[1].field == "progress");
  CHECK(log[1].old_value == "300000");
  CHECK(log[1].new_value == "0");

  // Nothing to change: nothing written.
  const auto again = plan_mark(*stored, {}, request(true));
  CHECK(sync::apply_mark(store, *stored, again, "ws-state mark (alice)", k_now).empty());
  CHECK(store.changes(before.id).size() == 2);
}

TEST_CASE("sync::parse_mark_date", "[sync][state-fix]") {
  CHECK(sync::parse_mark_date("2024-05-01") == 1'714'521'600);
  CHECK(sync::parse_mark_date("2024-05-01T20:15:00Z") == 1'714'594'500);
  CHECK(sync::parse_mark_date("2024-05-01T22:15:00+02:00") == 1'714'594'500);
  CHECK(sync::parse_mark_date("2024-05-01T20:15:00") == 1'714'594'500);
  CHECK_FALSE(sync::parse_mark_date("2024-13-01"));
  CHECK_FALSE(sync::parse_mark_date("2024-02-30"));
  CHECK_FALSE(sync::parse_mark_date("2024-5-1"));
  CHECK_FALSE(sync::parse_mark_date("yesterday"));
  CHECK_FALSE(sync::parse_mark_date("1714521600"));
  CHECK_FALSE(sync::parse_mark_date(""));
}
