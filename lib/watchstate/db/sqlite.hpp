// SPDX-License-Identifier: MIT
// Internal to lib/watchstate/db: how every database of the suite is opened, and how a SQLite
// failure becomes a ws::Error. The only place that decides journal mode, durability and the
// busy timeout.
#pragma once

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/VariadicBind.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ws::db::detail {

// How long a connection waits for another process's write lock before SQLITE_BUSY.
inline constexpr int k_busy_timeout_ms = 5000;

enum class Durability {
  normal, // WAL + synchronous=NORMAL: a crash never corrupts; the last commit may be lost on power
          // loss
  full,   // WAL + synchronous=FULL: committed means on disk (the webhook queue acknowledges on it)
};

// Open `file` read-write, created when missing, in WAL mode. `single_thread` drops SQLite's own
// mutexes for a connection one thread uses. `page_size` (bytes, a power of two from 512 to
// 65536; 0: SQLite's 4096) is that of a database this call creates: an existing one keeps its
// own.
SQLite::Database open_database(const std::filesystem::path& file, Durability durability,
                               bool single_thread = true, int page_size = 0);

// Throw the ws::Error for `e` met while doing `what` on `database` (its name in messages):
// tempfail when the database is busy or locked, no_perm when it cannot be opened or written for
// permissions, io otherwise.
[[noreturn]] void rethrow(const SQLite::Exception& e, std::string_view what,
                          std::string_view database = "state database");

// Ready the prepared statement `q` to run again. A step that failed leaves its error in the
// statement, and SQLiteCpp's reset() throws it once more: a statement kept prepared (the state
// database's, the webhook queue's) would fail its next, unrelated use with the error already
// thrown when it happened.
inline void rewind(SQLite::Statement& q) { (void)q.tryReset(); }

// Bind `value` to parameter `index` of `q` for a run that ends before `value` goes (exec
// below): text is bound where it lies (SQLITE_STATIC), not copied into a buffer SQLite
// allocates and frees for every run (a first import binds about two million strings).
inline void bind_for_exec(SQLite::Statement& q, int index, const std::string& value) {
  q.bindNoCopy(index, value);
}
template <typename T> void bind_for_exec(SQLite::Statement& q, int index, const T& value) {
  q.bind(index, value);
}

// Run the prepared statement `q` (again: it is rewound first) with `args` bound to its
// parameters 1, 2, …; returns the number of rows it changed. The statement is run to its end
// here, so its text parameters are not copied; it keeps pointers to them afterwards, which
// nothing reads: every run binds again.
template <typename... Args> int exec(SQLite::Statement& q, const Args&... args) {
  rewind(q);
  int index = 1;
  (bind_for_exec(q, index++, args), ...);
  return q.exec();
}

// Every row `q` answers, each as `read` makes it of the statement on that row.
template <typename Read> auto rows(SQLite::Statement& q, Read read) {
  std::vector<decltype(read(q))> out;
  while (q.executeStep()) {
    out.push_back(read(q));
  }
  return out;
}

// The one integer `sql` answers (a count) with `args` bound to its parameters 1, 2, ….
template <typename... Args>
std::int64_t query_int64(SQLite::Database& db, const std::string& sql, const Args&... args) {
  SQLite::Statement q(db, sql);
  SQLite::bind(q, args...);
  q.executeStep();
  return q.getColumn(0).getInt64();
}

} // namespace ws::db::detail
