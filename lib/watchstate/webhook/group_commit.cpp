// SPDX-License-Identifier: MIT
#include <watchstate/webhook/group_commit.hpp>

#include <exception>
#include <stdexcept>
#include <utility>

namespace ws::webhook {

struct GroupCommit::Ticket {
  db::Arrival arrival;
  // Each waiting request is woken alone when its own transaction is over: one condition for all
  // of them woke every waiting HTTP thread at each commit, to find most of them not done yet.
  std::condition_variable answered;
  bool done = false;
  std::int64_t id = 0;
  std::exception_ptr error;
};

GroupCommit::GroupCommit(Commit commit, std::size_t capacity)
    : m_commit(std::move(commit)), m_capacity(capacity == 0 ? 1 : capacity),
      m_writer([this] { run(); }) {}

GroupCommit::~GroupCommit() {
  {
    const std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_work.notify_one();
  m_writer.join();
}

std::int64_t GroupCommit::store(model::WebhookEvent event, UnixTime received_at) {
  Ticket ticket;
  ticket.arrival = {std::move(event), received_at};
  std::unique_lock lock(m_mutex);
  // Back-pressure: a full queue holds the request here rather than growing.
  m_space.wait(lock, [&] { return m_waiting.size() < m_capacity; });
  m_waiting.push_back(&ticket);
  m_work.notify_one();
  // Answered only once the transaction holding the event is over: acknowledged means on disk.
  ticket.answered.wait(lock, [&] { return ticket.done; });
  if (ticket.error) {
    std::rethrow_exception(ticket.error);
  }
  return ticket.id;
}

std::uint64_t GroupCommit::transactions() const {
  const std::lock_guard lock(m_mutex);
  return m_transactions;
}

std::size_t GroupCommit::waiting() const {
  const std::lock_guard lock(m_mutex);
  return m_waiting.size();
}

void GroupCommit::run() {
  std::unique_lock lock(m_mutex);
  while (true) {
    m_work.wait(lock, [&] { return m_stopping || !m_waiting.empty(); });
    if (m_waiting.empty()) {
      return; // stopping, and everything handed in has been committed
    }
    // Everything waiting goes into one transaction; the queue is empty again for the next batch.
    std::vector<Ticket*> batch(m_waiting.begin(), m_waiting.end());
    m_waiting.clear();
    std::vector<db::Arrival> arrivals;
    arrivals.reserve(batch.size());
    for (Ticket* ticket : batch) {
      arrivals.push_back(std::move(ticket->arrival));
    }
    m_space.notify_all();

    // Commit without the lock, so that the next batch can gather meanwhile.
    lock.unlock();
    std::vector<std::int64_t> ids;
    std::exception_ptr error;
    try {
      ids = m_commit(arrivals);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();

    ++m_transactions;
    if (!error && ids.size() != batch.size()) {
      error = std::make_exception_ptr(std::logic_error("group commit: one id per event expected"));
    }
    // A failed commit fails every event of the batch: none of them is on disk. Notified under
    // the lock: a ticket lives on its caller's stack and is gone once the caller sees `done`.
    for (std::size_t i = 0; i < batch.size(); ++i) {
      batch[i]->error = error;
      if (!error) {
        batch[i]->id = ids[i];
      }
      batch[i]->done = true;
      batch[i]->answered.notify_one();
    }
  }
}

} // namespace ws::webhook
