// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/backend/backend.hpp>
#include <watchstate/config/config.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/sync/import.hpp>
#include <watchstate/sync/run_context.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ws::sync {

// One write, planned or sent.
struct ExportChange {
  std::string title; // "Title (Year)" / "Show (Year) - 01x02"
  model::MediaType type = model::MediaType::movie;
  backend::WriteRequest write;
  db::BackendRecord before; // the backend's state before the write
  // A mark_unplayed of an item the local state has a resume position for: the position goes
  // after it (unmarking clears a position), in the same run. 0: none.
  std::int64_t then_position_ms = 0;
  bool sent = false; // false in a dry run
  bool ok = false;
  std::string error;
};

struct BackendExportResult {
  std::string backend;
  bool ok = false;
  std::uint64_t checked = 0; // items of this backend compared with the local state
  std::uint64_t marked_played = 0;
  std::uint64_t marked_unplayed = 0;
  std::uint64_t progress_updated = 0; // positions set or stale positions cleared
  std::uint64_t unchanged = 0;
  std::uint64_t playing = 0;  // left alone: being played right now
  std::uint64_t unlisted = 0; // left alone: its last listing missed it (state unknown)
  std::uint64_t ignored = 0;  // left alone: an ignore rule names the server item
  std::uint64_t failed = 0;
  std::uint64_t requests = 0;
  std::uint64_t bytes_received = 0; // headers and bodies as received (before decoding)
  std::int64_t duration_ms = 0;
  std::vector<ExportChange> changes;
};

struct IdentityExportResult {
  std::string identity;
  std::vector<BackendExportResult> backends;
};

struct ExportResult {
  std::vector<IdentityExportResult> identities;
  std::vector<BackendError> errors;
  std::size_t backends_attempted = 0;
  [[nodiscard]] int exit_code() const;
};

// Push the local state to every selected export-enabled backend of every selected identity.
// Each backend's record is taken as its current state: the caller imported the backends in
// this run (ws-sync), or refreshed their records with a metadata-only import (ws-export). Only
// the writes the export decision asks for are sent; items being played are left alone; a
// backend with a backend-level error in `import_errors` (its state could not be read in this
// run) is not written to. Every sent change is recorded in the change log, and the backend's
// record follows it. A failed write is reported and the other items and backends go on. In a
// dry run nothing is sent.
// `imported`: what the import of this run reported (nullptr: no import ran, as for a webhook's
// rows): backends it could not read, and records its listings did not confirm.
ExportResult run_export(const Services& services, const config::Config& config,
                        db::StateStore& store, const RunOptions& options,
                        const ImportResult* imported);

std::string_view write_action_name(backend::WriteAction action);

// Send `writes` through `adapter` (one outcome per write, in order). On a terminal they go in
// slices that advance a progress bar named `backend_name`; elsewhere in one call.
std::vector<backend::WriteOutcome> send_writes(backend::Backend& adapter,
                                               const std::string& backend_name,
                                               const std::vector<backend::WriteRequest>& writes);

// Count one successful (or planned) write in `counts`' marked_played / marked_unplayed /
// progress_updated (export results and restore results share these counters).
template <typename Counts> void count_write(Counts& counts, backend::WriteAction action) {
  switch (action) {
  case backend::WriteAction::mark_played: ++counts.marked_played; break;
  case backend::WriteAction::mark_unplayed: ++counts.marked_unplayed; break;
  case backend::WriteAction::set_progress:
  case backend::WriteAction::reset_progress: ++counts.progress_updated; break;
  }
}

} // namespace ws::sync
