// SPDX-License-Identifier: MIT
// Internal to lib/watchstate/db: copying a database's write-ahead log into it on a thread of its
// own (StateStore::BackgroundCheckpoints).
#pragma once

#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

namespace SQLite {
class Database;
}

namespace ws::db::detail {

// A thread with its own connection to `file` that checkpoints the write-ahead log (PASSIVE: it
// never waits for, nor blocks, the connections writing) each time request() is called. Requests
// made while one runs fold into one more run after it. The destructor lets the running one
// finish and drops the rest.
//
// A checkpoint copies the committed pages into the database file and waits for the disk twice
// (the log, then the file). Taken by the commit itself, as SQLite does by default, the writing
// thread waits that long before its next transaction; taken here, the two overlap.
class WalCheckpointer {
public:
  explicit WalCheckpointer(const std::filesystem::path& file); // throws SQLite::Exception
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;
  WalCheckpointer(WalCheckpointer&&) = delete;
  WalCheckpointer& operator=(WalCheckpointer&&) = delete;

  void request();
  // How many checkpoints ran to their end (for tests).
  [[nodiscard]] int completed() const;

private:
  void run();

  std::unique_ptr<SQLite::Database> m_db;
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_requested = false;
  bool m_stopping = false;
  int m_completed = 0;
  std::thread m_thread;
};

} // namespace ws::db::detail
