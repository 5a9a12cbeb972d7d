// SPDX-License-Identifier: MIT
#include <watchstate/webhook/worker.hpp>

#include <watchstate/core/error.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/time.hpp>
#include <watchstate/webhook/receiver_state.hpp>

#include <algorithm>
#include <exception>

namespace ws::webhook {
namespace {

constexpr std::size_t k_batch = 200;
constexpr UnixTime k_max_retry_delay = 600;

// How long an event waits before its next attempt: doubling with each attempt, to a limit.
UnixTime retry_delay(const std::vector<db::QueuedEvent>& due, std::int64_t id) {
  const auto it =
      std::find_if(due.begin(), due.end(), [&](const db::QueuedEvent& e) { return e.id == id; });
  const int attempts = it == due.end() ? 0 : it->attempts;
  return std::min<UnixTime>(k_max_retry_delay, UnixTime{2} << std::min(attempts, 9));
}

// Nothing of the batch could be applied now: every event waits for another attempt.
bool all_postponed(const ApplyOutcome& outcome) {
  return !outcome.retry.empty() && outcome.applied.empty() && outcome.failed.empty();
}

} // namespace

Worker::Worker(const sync::Services& services, const ServerOptions& options, db::EventQueue& queue,
               EventApplier& applier, ReceiverState& state, bool ask_servers)
    : m_services(services), m_options(options), m_queue(queue), m_applier(applier), m_state(state),
      m_ask_servers(ask_servers) {}

void Worker::run(ServerStats& stats) {
  while (!m_state.abort) {
    refresh_server_ids();
    const std::vector<db::QueuedEvent> due = due_events();
    if (due.empty()) {
      if (m_state.stopping) {
        break;
      }
      m_state.pause(std::chrono::seconds(1));
      continue;
    }
    std::optional<RunLock> run_lock;
    const LockState lock = take_lock(run_lock, due.size());
    if (lock == LockState::give_up) {
      break;
    }
    if (lock == LockState::wait) {
      m_state.pause(std::chrono::milliseconds(500));
      continue;
    }
    const ApplyOutcome outcome = apply(due);
    run_lock.reset();
    settle(due, outcome);
    count(outcome, stats);
    if (all_postponed(outcome)) {
      if (m_state.stopping) {
        break; // nothing can be applied now; the events wait on disk for the next start
      }
      m_state.pause(std::chrono::seconds(1));
    }
  }
}

// An event for an unknown server: its backend may have been imported or come up since.
// Servers are asked at most once a minute, so a stray sender cannot keep the worker busy.
void Worker::refresh_server_ids() {
  if (!m_state.relearn.exchange(false) && !m_ask_servers) {
    return;
  }
  const bool ask = m_ask_servers || Clock::now() - m_last_asked > std::chrono::minutes(1);
  if (ask) {
    m_last_asked = Clock::now();
  }
  m_applier.learn_server_ids(ask);
  m_ask_servers = false;
}

std::vector<db::QueuedEvent> Worker::due_events() {
  try {
    return m_queue.due(m_services.now(), k_batch);
  } catch (const Error& e) {
    log::error("{}", e.what());
  }
  return {};
}

// Take the state directory's lock for `waiting` events. A ws-sync or ws-import holding it
// makes the events wait on disk for it to finish; at shutdown, for drain_seconds at most.
Worker::LockState Worker::take_lock(std::optional<RunLock>& lock, std::size_t waiting) {
  try {
    lock.emplace(m_options.lock_file);
    m_lock_wait_since.reset();
    return LockState::held;
  } catch (const Error&) {
    if (!m_lock_wait_since) {
      m_lock_wait_since = Clock::now();
      log::info("webhook: {} events wait for another run to release the state directory", waiting);
    }
    if (m_state.stopping &&
        Clock::now() - *m_lock_wait_since > std::chrono::seconds(m_options.drain_seconds)) {
      log::warning("webhook: the state directory stayed locked; {} events stay queued",
                   m_queue.pending());
      return LockState::give_up;
    }
    return LockState::wait;
  }
}

ApplyOutcome Worker::apply(const std::vector<db::QueuedEvent>& due) {
  ApplyOutcome outcome;
  try {
    // Read before the items are: every event stored by now was sent before those reads.
    const std::int64_t stored_through = m_queue.last_id();
    outcome = m_applier.apply(due, stored_through);
  } catch (const std::exception& e) {
    // The state database itself failed (busy, disk): every event of the batch waits.
    log::error("webhook: cannot apply events now: {}", redact(e.what()));
    for (const auto& event : due) {
      outcome.retry.emplace_back(event.id, redact(e.what()));
    }
  }
  return outcome;
}

// Record the outcome in the queue: applied events leave it, failed ones are marked, the
// others wait for their next attempt.
void Worker::settle(const std::vector<db::QueuedEvent>& due, const ApplyOutcome& outcome) {
  try {
    m_queue.remove(outcome.applied);
    for (const auto& [id, reason] : outcome.failed) {
      log::warning("webhook event #{}: not applied: {}", id, reason);
      m_queue.fail(id, reason);
    }
    for (const auto& [id, reason] : outcome.retry) {
      m_queue.postpone(id, m_services.now() + retry_delay(due, id), reason);
    }
  } catch (const Error& e) {
    log::error("{}", e.what());
  }
}

void Worker::count(const ApplyOutcome& outcome, ServerStats& stats) {
  stats.applied += outcome.applied.size();
  stats.failed += outcome.failed.size();
  m_state.applied += outcome.applied.size();
  m_state.failed += outcome.failed.size();
  m_state.writes += outcome.writes;
  stats.retried += outcome.retry.size();
  stats.writes += outcome.writes;
}

} // namespace ws::webhook
