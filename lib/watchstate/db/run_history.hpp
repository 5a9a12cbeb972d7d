// SPDX-License-Identifier: MIT
// The history of runs, kept in state.db beside the state: what each tool did per backend and
// which errors it met. ws-state status and runs read it; the metrics file is drawn from it.
#pragma once

#include <watchstate/core/time.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ws::db {

// What one run did with one backend in one phase ("import", "export", "backup", ...).
struct RunBackend {
  std::string identity;
  std::string backend;
  std::string phase;
  bool ok = false;
  std::int64_t items = 0;  // items the backend reported (import) or compared (export)
  std::int64_t writes = 0; // changes applied locally (import) or sent (export)
  std::int64_t failed = 0;
  std::int64_t requests = 0;
  std::int64_t duration_ms = 0;
};

struct RunError {
  std::string identity;
  std::string backend;
  std::string kind; // errc_name: "auth", "tempfail", ...
  std::string message;
};

struct Run {
  std::int64_t id = 0;
  std::string tool;
  std::string command; // the subcommand or main flags, for reading ("restore", "--full", "")
  UnixTime started_at = 0;
  UnixTime finished_at = 0;
  std::int64_t duration_ms = 0;
  int exit_code = 0;
  std::string status;
  bool dry_run = false;
  std::vector<RunBackend> backends;
  std::vector<RunError> errors;
};

// The health of one backend of one identity, from the history.
struct BackendHealth {
  std::string identity;
  std::string backend;
  std::optional<UnixTime> last_import;   // last successful import (not a dry run)
  std::optional<UnixTime> last_export;   // last successful export (not a dry run)
  std::optional<UnixTime> last_error_at; // newest error naming this backend
  std::string last_error_kind;
  std::string last_error;
  std::int64_t items = 0; // local rows this backend has a record for
};

// Per identity: local rows, and how many of them are played.
struct IdentityCounts {
  std::string identity;
  std::int64_t items = 0;
  std::int64_t played = 0;
};

class RunHistory {
public:
  // Open (and migrate) the state database `file`.
  explicit RunHistory(const std::filesystem::path& file);
  ~RunHistory();
  RunHistory(const RunHistory&) = delete;
  RunHistory& operator=(const RunHistory&) = delete;

  // Store `run` (its id is assigned) in one transaction, and forget runs older than
  // `keep_days`. Returns the run's id.
  std::int64_t record(const Run& run, int keep_days = 180);

  // The newest `limit` runs, newest first, optionally of one tool, with backends and errors.
  std::vector<Run> runs(std::size_t limit, const std::string& tool = {});

  // The health of every (identity, backend) the history or the state names.
  std::vector<BackendHealth> health();

  std::vector<IdentityCounts> identity_counts();

  // Delete runs that started before `cutoff` (with `dry_run` only count them); returns how
  // many.
  std::int64_t prune(UnixTime cutoff, bool dry_run = false);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace ws::db
