// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/core/time.hpp>
#include <watchstate/model/webhook_event.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ws::db {

struct QueuedEvent {
  std::int64_t id = 0;
  UnixTime received_at = 0;
  int attempts = 0;
  model::WebhookEvent event;
};

// An event to store, and when it was received.
struct Arrival {
  model::WebhookEvent event;
  UnixTime received_at = 0;
};

// An event as `ws-webhook queue` shows it: where the worker stands with it.
struct QueueEntry {
  QueuedEvent queued;
  bool failed = false;     // else pending
  UnixTime not_before = 0; // pending: not tried again before this (0: at once)
  std::string last_error;  // why the last attempt did not apply it (stored redacted); may be empty
};

// What `ws-webhook queue retry` puts back: the events named (failed or pending), and with
// `all_failed` every failed one.
struct RetrySelection {
  std::vector<std::int64_t> ids;
  bool all_failed = false;
};

// What `ws-webhook queue purge` deletes: exactly the events named, whatever their state; or
// every failed event (`failed`), every event received before `received_before`, or with both
// the failed ones received before it. A pending event goes only when named or old enough.
struct PurgeSelection {
  std::vector<std::int64_t> ids;
  bool failed = false;
  std::optional<UnixTime> received_before;
};

// The durable queue between the HTTP answer and the worker: an SQLite file of its own
// (state_dir/webhook-queue.db, synchronous=FULL), so an acknowledged event survives a crash or
// a power cut, and a long ws-sync transaction on state.db never delays an answer. Thread-safe.
// Failures throw ws::Error (Errc::io, Errc::tempfail when busy).
class EventQueue {
public:
  explicit EventQueue(const std::filesystem::path& file);
  ~EventQueue();
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  // Store `event`; it is on disk when this returns. Returns its id.
  std::int64_t push(const model::WebhookEvent& event, UnixTime received_at);
  // Store `arrivals` in one transaction (one sync to disk for all): every one is on disk when
  // this returns, or, when it throws, none is. Returns their ids, in their order.
  std::vector<std::int64_t> push(const std::vector<Arrival>& arrivals);
  // Pending events whose retry time has come, oldest first.
  std::vector<QueuedEvent> due(UnixTime now, std::size_t limit);
  // Applied: gone from the queue.
  void remove(const std::vector<std::int64_t>& ids);
  // Not applied yet (a server unreachable, the state database locked): try again at `not_before`.
  void postpone(std::int64_t id, UnixTime not_before, const std::string& error);
  // Cannot ever be applied (no such item any more): kept, marked failed, out of the way.
  void fail(std::int64_t id, const std::string& error);
  [[nodiscard]] std::int64_t pending();
  // The highest id ever given to an event (ids are never reused): every event with an id up to
  // it is on disk now. 0 before the first event.
  [[nodiscard]] std::int64_t last_id();
  [[nodiscard]] std::int64_t failed();

  // Throw Error(Errc::usage) for a selection that selects nothing by construction (no ids and
  // no flag) or, for purge, mixes ids with --failed / --older-than.
  static void validate(const RetrySelection& selection);
  static void validate(const PurgeSelection& selection);

  // Every stored event, pending and failed, oldest first.
  [[nodiscard]] std::vector<QueueEntry> entries();
  // Put the selected events back to pending: attempts 0, due now, no error; a running worker
  // picks them up within a second. Returns them as they were before, oldest first. Throws
  // Error(Errc::usage) for an empty selection or naming every id that is not in the queue
  // (then nothing changes). With `dry_run` nothing changes either.
  std::vector<QueueEntry> retry(const RetrySelection& selection, bool dry_run);
  // Delete the selected events; same return value, errors and `dry_run` as retry(). Ids may
  // not be combined with `failed` or `received_before`.
  std::vector<QueueEntry> purge(const PurgeSelection& selection, bool dry_run);

private:
  std::int64_t count(const char* status);

  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace ws::db
