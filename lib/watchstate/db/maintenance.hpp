// SPDX-License-Identifier: MIT
// ws-state maintain: check the state database, forget what is old, refresh SQLite's statistics
// and give free space back to the file system.
#pragma once

#include <watchstate/core/time.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ws::db {

struct MaintenanceOptions {
  UnixTime now = 0;
  int change_log_days = 0;   // forget change-log entries logged longer ago; 0 keeps them all
  int run_days = 0;          // forget runs that started longer ago (history.keep_days); 0: all kept
  bool force_vacuum = false; // VACUUM even when little of the file is free
  bool dry_run = false;      // check and count only: nothing is written
  int max_problems = 20;     // lines of integrity_check kept
};

struct MaintenanceResult {
  // What PRAGMA integrity_check found; empty when it said "ok". A damaged database is left
  // exactly as it was: nothing else below was done.
  std::vector<std::string> problems;
  [[nodiscard]] bool intact() const { return problems.empty(); }

  UnixTime change_log_cutoff = 0;     // entries logged before it went (0: the change log is kept)
  UnixTime run_cutoff = 0;            // runs started before it went (0: the history is kept)
  std::int64_t change_log_pruned = 0; // with dry_run: how many would go
  std::int64_t runs_pruned = 0;

  std::int64_t page_size = 0;
  std::int64_t pages = 0;      // after pruning (with dry_run: now), before VACUUM
  std::int64_t free_pages = 0; // of those, on the free list
  bool vacuum_due = false;     // free pages above the threshold, or forced
  bool vacuumed = false;
  bool optimized = false;         // ANALYZE and PRAGMA optimize ran
  bool checkpointed = false;      // the WAL was copied into the file and truncated to 0 bytes
  std::uintmax_t size_before = 0; // bytes of the file and its WAL
  std::uintmax_t size_after = 0;
};

// VACUUM pays off when more than this share of the file's pages is free.
inline constexpr double k_vacuum_free_share = 0.10;

// Whether VACUUM is worth it for a file of `pages` pages of which `free_pages` are free.
[[nodiscard]] bool vacuum_worthwhile(std::int64_t pages, std::int64_t free_pages);

// PRAGMA integrity_check of `file` without changing it (the connection neither writes nor
// checkpoints the WAL when it closes). Returns the problems (at most `max_problems`), empty when
// the database is intact; a file SQLite reports as corrupt or not a database is one problem.
// A file that does not exist has none. Throws ws::Error: Errc::tempfail when the database is
// busy beyond the busy timeout, Errc::no_perm when it cannot be opened, else Errc::io.
std::vector<std::string> check_integrity(const std::filesystem::path& file, int max_problems = 20);

// The whole of `ws-state maintain` on `file` (the caller holds the state directory's lock):
// the integrity check; when intact, forget change-log entries and runs older than the cut-offs
// (StateStore::prune_changes, RunHistory::prune), then ANALYZE, PRAGMA optimize, VACUUM when
// worthwhile or forced, and a TRUNCATE checkpoint of the WAL. With `dry_run` only the check and
// the counts. A missing file is created with the current schema, like every tool does.
// Throws ws::Error as check_integrity does.
MaintenanceResult maintain_database(const std::filesystem::path& file,
                                    const MaintenanceOptions& options);

} // namespace ws::db
