// SPDX-License-Identifier: MIT
#include <watchstate/db/wal_checkpointer.hpp>

#include <watchstate/core/log.hpp>
#include <watchstate/db/sqlite.hpp>

#include <sqlite3.h>

namespace ws::db::detail {

WalCheckpointer::WalCheckpointer(const std::filesystem::path& file)
    : m_db(std::make_unique<SQLite::Database>(open_database(file, Durability::normal))),
      m_thread([this] { run(); }) {}

WalCheckpointer::~WalCheckpointer() {
  {
    const std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_one();
  m_thread.join();
}

void WalCheckpointer::request() {
  {
    const std::lock_guard lock(m_mutex);
    m_requested = true;
  }
  m_wake.notify_one();
}

int WalCheckpointer::completed() const {
  const std::lock_guard lock(m_mutex);
  return m_completed;
}

void WalCheckpointer::run() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_wake.wait(lock, [this] { return m_requested || m_stopping; });
    if (m_stopping) {
      return;
    }
    m_requested = false;
    lock.unlock();
    // PASSIVE copies what no reader still needs and returns; SQLITE_BUSY (another process is
    // checkpointing) leaves the work to that one or to the next request. A failure costs only
    // the copy: the log keeps every page, and the writing connection's last checkpoint
    // (StateStore::BackgroundCheckpoints) takes what is left.
    const int rc = sqlite3_wal_checkpoint_v2(m_db->getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                             nullptr, nullptr);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      log::debug("state database: background checkpoint: {}", sqlite3_errstr(rc));
    }
    lock.lock();
    if (rc == SQLITE_OK) {
      ++m_completed;
    }
  }
}

} // namespace ws::db::detail
