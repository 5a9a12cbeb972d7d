// SPDX-License-Identifier: MIT
// Internal: the queue worker of ws-webhook.
#pragma once

#include <watchstate/core/lock.hpp>
#include <watchstate/db/event_queue.hpp>
#include <watchstate/sync/services.hpp>
#include <watchstate/webhook/apply.hpp>
#include <watchstate/webhook/server.hpp>

#include <chrono>
#include <optional>
#include <vector>

namespace ws::webhook {

struct ReceiverState;

// Applies the queued events that are due, in batches and in arrival order, under the state
// directory's lock; postpones those that cannot be applied now (with a growing delay) and marks
// those that never can. Runs on the caller's thread until the state says stop and nothing is
// due, or at once at a second signal.
class Worker {
public:
  Worker(const sync::Services& services, const ServerOptions& options, db::EventQueue& queue,
         EventApplier& applier, ReceiverState& state, bool ask_servers);

  // Work until told to stop; adds the worker's counts to `stats`.
  void run(ServerStats& stats);

private:
  using Clock = std::chrono::steady_clock;
  enum class LockState { held, wait, give_up };

  void refresh_server_ids();
  std::vector<db::QueuedEvent> due_events();
  LockState take_lock(std::optional<RunLock>& lock, std::size_t waiting);
  ApplyOutcome apply(const std::vector<db::QueuedEvent>& due);
  void settle(const std::vector<db::QueuedEvent>& due, const ApplyOutcome& outcome);
  void count(const ApplyOutcome& outcome, ServerStats& stats);

  const sync::Services& m_services; // its clock says when an event is due
  const ServerOptions& m_options;
  db::EventQueue& m_queue;
  EventApplier& m_applier;
  ReceiverState& m_state;
  bool m_ask_servers;
  Clock::time_point m_last_asked = Clock::now();
  std::optional<Clock::time_point> m_lock_wait_since;
};

} // namespace ws::webhook
