// SPDX-License-Identifier: MIT
// Internal: group commit for ws-webhook's queue, so that concurrent requests share one sync to
// disk.
#pragma once

#include <watchstate/core/time.hpp>
#include <watchstate/db/event_queue.hpp>
#include <watchstate/model/webhook_event.hpp>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ws::webhook {

// Stores the events of concurrent requests in shared transactions. A request hands its event to
// store() and waits; one writer thread takes every event waiting, commits them in one
// transaction (one fsync however many they are) and only then answers each of them: with its id,
// or, when the commit fails, with the commit's exception, for every event of that batch. While
// one transaction is being committed the next batch gathers, so the batches grow with the load
// and an event alone waits for nothing but its own commit.
//
// At most `capacity` events wait to be committed; store() blocks while the queue is full (the
// HTTP threads wait instead of memory growing). Thread-safe; the destructor commits what was
// handed in before it returns.
class GroupCommit {
public:
  // Stores `arrivals` durably in one transaction and returns their ids in order, or throws.
  using Commit = std::function<std::vector<std::int64_t>(const std::vector<db::Arrival>&)>;

  static constexpr std::size_t k_default_capacity = 1024;

  explicit GroupCommit(Commit commit, std::size_t capacity = k_default_capacity);
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Store `event`; returns its id once the transaction holding it has committed. Throws what
  // that transaction's commit threw.
  std::int64_t store(model::WebhookEvent event, UnixTime received_at);

  // Transactions attempted so far (committed or failed): fewer than the events under load.
  [[nodiscard]] std::uint64_t transactions() const;
  // Events handed in and not yet taken into a transaction (never more than the capacity).
  [[nodiscard]] std::size_t waiting() const;

private:
  // One store() call's event and, once its transaction is over, the outcome. Lives on the
  // caller's stack: the caller waits until `done`.
  struct Ticket;

  void run();

  Commit m_commit;
  const std::size_t m_capacity;
  mutable std::mutex m_mutex;
  std::condition_variable m_work;  // the writer: events are waiting, or stop
  std::condition_variable m_space; // store(): the queue has room again
  std::deque<Ticket*> m_waiting;   // handed in, not yet taken by the writer
  std::uint64_t m_transactions = 0;
  bool m_stopping = false;
  std::thread m_writer; // last: starts once everything above is ready
};

} // namespace ws::webhook
