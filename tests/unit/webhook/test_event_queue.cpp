// SPDX-License-Identifier: MIT
#include <watchstate/core/error.hpp>
#include <watchstate/db/event_queue.hpp>

#include <catch2/catch.hpp>

#include "support/other_connection.hpp"
#include "support/temp_dir.hpp"

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

using namespace ws::db;
using ws::model::WebhookEvent;
using ws::model::WebhookSource;
using ws::test::TempDir;
namespace fs = std::filesystem;

namespace {

WebhookEvent movie(const std::string& item_id, const std::string& title) {
  WebhookEvent e;
  e.source = WebhookSource::jellyfin;
  e.event = "UserDataSaved";
  e.server_id = "server-1";
  e.user_id = "user-1";
  e.item_id = item_id;
  e.item_type = "movie";
  e.title = title;
  return e;
}

std::vector<std::int64_t> ids_of(const std::vector<QueueEntry>& entries) {
  std::vector<std::int64_t> ids;
  for (const auto& e : entries) {
    ids.push_back(e.queued.id);
  }
  return ids;
}

// A queue with four events received at 1000, 2000, 3000, 4000: #1 pending and never tried, #2
// pending after a failed attempt, #3 and #4 failed.
struct Fixture {
  TempDir dir;
  EventQueue queue{dir.path() / "webhook-queue.db"};
  std::int64_t fresh = 0, retrying = 0, gone = 0, unknown = 0;

  Fixture() {
    fresh = queue.push(movie("a1", "Alpha"), 1000);
    retrying = queue.push(movie("b2", "Beta"), 2000);
    gone = queue.push(movie("c3", "Gamma"), 3000);
    unknown = queue.push(movie("d4", "Delta"), 4000);
    queue.postpone(retrying, 9000, "jellyfin: HTTP 500 from /Users/x/Items/b2");
    queue.fail(gone, "jellyfin has no item c3");
    queue.fail(unknown, "no configured backend has server id server-1 and user user-1");
  }
};

} // namespace

TEST_CASE("db::EventQueue::entries lists pending and failed events with their reasons",
          "[webhook][queue]") {
  Fixture f;
  const auto all = f.queue.entries();
  REQUIRE(ids_of(all) == std::vector<std::int64_t>{f.fresh, f.retrying, f.gone, f.unknown});

  CHECK_FALSE(all[0].failed);
  CHECK(all[0].queued.attempts == 0);
  CHECK(all[0].not_before == 0);
  CHECK(all[0].last_error.empty());
  CHECK(all[0].queued.received_at == 1000);
  CHECK(all[0].queued.event.title == "Alpha");
  CHECK(all[0].queued.event.item_id == "a1");
  CHECK(all[0].queued.event.source == WebhookSource::jellyfin);

  CHECK_FALSE(all[1].failed);
  CHECK(all[1].queued.attempts == 1);
  CHECK(all[1].not_before == 9000);
  CHECK(all[1].last_error == "jellyfin: HTTP 500 from /Users/x/Items/b2");

  CHECK(all[2].failed);
  CHECK(all[2].queued.attempts == 1);
  CHECK(all[2].last_error == "jellyfin has no item c3");
  CHECK(all[3].failed);

  CHECK(f.queue.pending() == 2);
  CHECK(f.queue.failed() == 2);
}

TEST_CASE("db::EventQueue::last_id is the highest id ever given, also once it is deleted",
          "[webhook][queue]") {
  TempDir dir;
  const auto file = dir.path() / "webhook-queue.db";
  {
    EventQueue queue{file};
    CHECK(queue.last_id() == 0);
    const auto first = queue.push(movie("a1", "Alpha"), 1000);
    const auto second = queue.push(movie("b2", "Beta"), 1000);
    CHECK(queue.last_id() == second);
    queue.remove({first, second});
    CHECK(queue.pending() == 0);
    CHECK(queue.last_id() == second); // never reused: a later event gets a higher id
  }
  EventQueue reopened{file};
  const auto third = reopened.push(movie("c3", "Gamma"), 2000);
  CHECK(third == 3);
  CHECK(reopened.last_id() == third);
}

TEST_CASE("db::EventQueue::retry puts events back to pending, due now", "[webhook][queue]") {
  Fixture f;

  SECTION("named failed and pending events") {
    const auto before = f.queue.retry({{f.gone, f.retrying}, false}, false);
    // Returned as they were, oldest first.
    REQUIRE(ids_of(before) == std::vector<std::int64_t>{f.retrying, f.gone});
    CHECK(before[1].failed);
    CHECK(before[1].last_error == "jellyfin has no item c3");
    const auto all = f.queue.entries();
    for (const auto* e : {&all[1], &all[2]}) {
      CHECK_FALSE(e->failed);
      CHECK(e->queued.attempts == 0);
      CHECK(e->not_before == 0);
      CHECK(e->last_error.empty());
    }
    CHECK(all[3].failed); // not named
    // The worker takes them at once, in arrival order.
    std::vector<std::int64_t> due;
    for (const auto& e : f.queue.due(1, 10)) {
      due.push_back(e.id);
    }
    CHECK(due == std::vector<std::int64_t>{f.fresh, f.retrying, f.gone});
  }

  SECTION("every failed event") {
    const auto before = f.queue.retry({{}, true}, false);
    CHECK(ids_of(before) == std::vector<std::int64_t>{f.gone, f.unknown});
    CHECK(f.queue.failed() == 0);
    CHECK(f.queue.pending() == 4);
    CHECK(f.queue.entries()[1].not_before == 9000); // a pending event not named keeps its time
  }

  SECTION("a dry run changes nothing") {
    CHECK(ids_of(f.queue.retry({{}, true}, true)) == std::vector<std::int64_t>{f.gone, f.unknown});
    CHECK(f.queue.failed() == 2);
    CHECK(f.queue.entries()[2].last_error == "jellyfin has no item c3");
  }

  SECTION("an unknown id is named and nothing changes") {
    try {
      (void)f.queue.retry({{f.gone, 77, 78}, true}, false);
      FAIL("no error");
    } catch (const ws::Error& e) {
      CHECK(e.code() == ws::Errc::usage);
      CHECK(std::string(e.what()).find("#77, #78") != std::string::npos);
    }
    CHECK(f.queue.failed() == 2);
  }

  SECTION("an empty selection is a usage error") {
    CHECK_THROWS_AS(f.queue.retry({{}, false}, false), ws::Error);
  }
}

TEST_CASE("db::EventQueue::purge deletes pending events only when named or old enough",
          "[webhook][queue]") {
  Fixture f;

  SECTION("--failed: every failed event, no pending one") {
    CHECK(ids_of(f.queue.purge({{}, true, std::nullopt}, false)) ==
          std::vector<std::int64_t>{f.gone, f.unknown});
    CHECK(ids_of(f.queue.entries()) == std::vector<std::int64_t>{f.fresh, f.retrying});
  }

  SECTION("--older-than: pending and failed events received before the cutoff") {
    CHECK(ids_of(f.queue.purge({{}, false, 3500}, false)) ==
          std::vector<std::int64_t>{f.fresh, f.retrying, f.gone});
    CHECK(ids_of(f.queue.entries()) == std::vector<std::int64_t>{f.unknown});
  }

  SECTION("--failed --older-than: only the failed ones received before the cutoff") {
    CHECK(ids_of(f.queue.purge({{}, true, 3500}, false)) == std::vector<std::int64_t>{f.gone});
    CHECK(f.queue.pending() == 2);
    CHECK(f.queue.failed() == 1);
  }

  SECTION("ids: exactly those, pending ones too") {
    CHECK(ids_of(f.queue.purge({{f.fresh, f.unknown}, false, std::nullopt}, false)) ==
          std::vector<std::int64_t>{f.fresh, f.unknown});
    CHECK(ids_of(f.queue.entries()) == std::vector<std::int64_t>{f.retrying, f.gone});
  }

  SECTION("a dry run deletes nothing") {
    CHECK(f.queue.purge({{}, false, 99999}, true).size() == 4);
    CHECK(f.queue.entries().size() == 4);
  }

  SECTION("an unknown id deletes nothing") {
    CHECK_THROWS_AS(f.queue.purge({{f.fresh, 99}, false, std::nullopt}, false), ws::Error);
    CHECK(f.queue.entries().size() == 4);
  }

  SECTION("usage errors") {
    for (const PurgeSelection& bad :
         {PurgeSelection{{}, false, std::nullopt}, PurgeSelection{{f.fresh}, true, std::nullopt},
          PurgeSelection{{f.fresh}, false, 3500}}) {
      try {
        (void)f.queue.purge(bad, false);
        FAIL("no error");
      } catch (const ws::Error& e) {
        CHECK(e.code() == ws::Errc::usage);
      }
    }
    CHECK(f.queue.entries().size() == 4);
  }
}

TEST_CASE("db::EventQueue: a second connection (ws-webhook queue) beside the server's",
          "[webhook][queue]") {
  Fixture f;
  EventQueue cli(f.dir.path() / "webhook-queue.db");
  CHECK(cli.entries().size() == 4);
  (void)cli.retry({{}, true}, false);
  CHECK(f.queue.due(1, 10).size() == 3); // #2 still waits for its time
  (void)cli.purge({{f.retrying}, false, std::nullopt}, false);
  CHECK(f.queue.pending() == 3);
  // The worker finishing an event that was purged meanwhile is harmless.
  f.queue.fail(f.retrying, "late");
  f.queue.remove({f.retrying});
  CHECK(cli.entries().size() == 3);
}

TEST_CASE("db::EventQueue::push stores nothing of a failed batch and the next batch whole",
          "[webhook][queue]") {
  // push() keeps its INSERT prepared across batches: a batch that failed half-way, and a schema
  // changed by another connection since, must leave it storing the next batch whole.
  TempDir dir;
  const fs::path file = dir.path() / "webhook-queue.db";
  EventQueue queue(file);
  const std::int64_t first = queue.push(movie("a1", "Alpha"), 1000);

  ws::test::exec_on_another_connection(
      file, "CREATE TRIGGER refuse_bad BEFORE INSERT ON events WHEN NEW.title = 'Bad' BEGIN "
            "SELECT RAISE(ABORT, 'refused by the test'); END");

  CHECK_THROWS_AS(queue.push({{movie("b2", "Beta"), 2000}, {movie("c3", "Bad"), 3000}}), ws::Error);
  const std::vector<std::int64_t> next =
      queue.push({{movie("d4", "Delta"), 4000}, {movie("e5", "Epsilon"), 5000}});
  REQUIRE(next.size() == 2);
  CHECK(next[1] == next[0] + 1);
  const std::vector<QueueEntry> entries = queue.entries();
  REQUIRE(entries.size() == 3);
  CHECK(ids_of(entries) == std::vector<std::int64_t>{first, next[0], next[1]});
  CHECK(entries[1].queued.event.title == "Delta");
  CHECK(entries[1].queued.received_at == 4000);
  CHECK(entries[2].queued.event.item_id == "e5");
}
