// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/backend/webhook_payload.hpp>
#include <watchstate/config/config.hpp>
#include <watchstate/db/event_queue.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/sync/services.hpp>

#include <cstdint>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ws::webhook {

// One (identity, backend) an event is about.
struct EventTarget {
  std::string identity;
  config::BackendConfig backend; // with the identity's user and token
};

struct ApplyOutcome {
  std::vector<std::int64_t> applied;                        // event ids, done
  std::vector<std::pair<std::int64_t, std::string>> retry;  // not now (server down, ...)
  std::vector<std::pair<std::int64_t, std::string>> failed; // never (no such item, ...)
  std::uint64_t rows_changed = 0; // local rows whose state an event changed
  std::uint64_t writes = 0;       // writes sent to the other backends
};

// Applies webhook events to the state database and pushes the result to the other backends
// (as WatchState does, with one difference: the item is always re-read from its server, so the
// server's current state is what the import rules judge, whatever the event).
class EventApplier {
public:
  EventApplier(sync::Services services, const config::Config& config, db::StateStore& store);

  // Learn each backend's server id: its configured uuid, else the id its last import saw, else
  // (with `ask_servers`) the server's answer now. Backends that cannot be reached are logged
  // and learned later. Returns how many backends are still unknown. Call it from the thread
  // that calls apply(); targets() may run meanwhile on other threads.
  std::size_t learn_server_ids(bool ask_servers);

  // The (identity, backend) pairs `event` is for: same server id and, unless it is a library
  // event, the same user (a Plex backend without `user` is the owner, account 1). Empty when
  // no configured backend matches. Thread-safe.
  [[nodiscard]] std::vector<EventTarget> targets(const model::WebhookEvent& event) const;

  // Re-read every item the events name, apply it with the import rules in one transaction,
  // then export the changed rows to every export-enabled backend of their identity. The
  // caller holds the state directory's lock.
  //
  // `stored_through`: every queued event with an id up to it was on disk before this call
  // (EventQueue::last_id() read just before). An item re-read here then stands for those events
  // too: a later call applies such an event of the same (identity, backend, item) without
  // reading the item again, since that read came after the server sent it. 0: no such claim.
  ApplyOutcome apply(const std::vector<db::QueuedEvent>& events, std::int64_t stored_through = 0);

private:
  sync::Services m_services;
  const config::Config& m_config;
  db::StateStore& m_store;
  // server id -> the (identity, backend) pairs on that server
  std::unordered_map<std::string, std::vector<EventTarget>> m_by_server;
  mutable std::shared_mutex m_by_server_mutex;
  // "identity \x1f backend \x1f item id" -> the events up to this id are covered by a read of
  // the item made after they were stored (see apply()). Bounded: cleared when it grows large.
  std::unordered_map<std::string, std::int64_t> m_read_after;
};

} // namespace ws::webhook
