// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/config/config.hpp>
#include <watchstate/core/time.hpp>
#include <watchstate/sync/export.hpp>
#include <watchstate/sync/run_context.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ws::db {
class StateStore;
}
namespace ws::json {
class Writer;
}

namespace ws::backup {

// The backup directory: state_dir/backups.
std::filesystem::path backup_dir(const config::Config& config);

// --- ws-backup create ---

struct CreateOptions {
  std::string file_template; // empty: "{identity}.{backend}.{date}.json[.gz]"
  bool compress = true;
};

struct CreatedFile {
  std::string identity;
  std::string backend;
  std::filesystem::path path;
  bool ok = false;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  std::uint64_t requests = 0;
  std::int64_t duration_ms = 0;
};

struct CreateResult {
  std::vector<CreatedFile> files;
  std::vector<sync::BackendError> errors;
  std::size_t attempted = 0;
  [[nodiscard]] int exit_code() const;
};

// Write one backup file per selected (identity, backend), streaming each backend's items into
// a temporary file that is renamed into place only when the whole listing succeeded. Records
// carry every external id the state database knows for the item (so a backup restores into
// another kind of server). Temporary files that killed runs left in the backup directory are
// removed first (the caller holds the run lock). In a dry run nothing is written.
CreateResult create_backups(const config::Config& config, db::StateStore& store,
                            const sync::RunOptions& options, const CreateOptions& create);
void write_create_result(json::Writer& out, const CreateResult& result);

// --- ws-backup list / prune ---

struct BackupFileInfo {
  std::filesystem::path path;
  std::string identity;          // from the name, when it has the default shape
  std::string backend;
  std::optional<UnixTime> date;  // from {date}; undated files are never pruned
  std::uint64_t size_bytes = 0;
  std::optional<std::uint64_t> records; // nullopt when the file cannot be read
};

std::vector<BackupFileInfo> list_backups(const std::filesystem::path& dir, bool count_records);

struct PruneResult {
  std::vector<std::filesystem::path> removed;
  std::size_t kept = 0;
};

// Remove dated backup files older than `keep_days` (by the date in their name).
PruneResult prune_backups(const std::filesystem::path& dir, int keep_days, UnixTime now,
                          bool dry_run);

// --- ws-backup restore ---

struct RestoreOptions {
  std::filesystem::path file;
  std::string backend;
  std::string identity = "main";
  bool execute = false;
  bool progress = false;
  bool force = false; // restore into a backend with export.enabled: false
};

struct RestoreResult {
  std::string file;
  std::string backend;
  std::string identity;
  bool execute = false;
  std::uint64_t records = 0;     // records in the file
  std::uint64_t checked = 0;     // backend items matched to a record
  std::uint64_t unmatched = 0;   // backend items no record matched
  std::uint64_t ignored = 0;     // backend items an ignore rule keeps out (never written)
  std::uint64_t unchanged = 0;
  std::uint64_t playing = 0;
  std::uint64_t marked_played = 0;
  std::uint64_t marked_unplayed = 0;
  std::uint64_t progress_updated = 0;
  std::uint64_t failed = 0;
  std::uint64_t requests = 0;
  std::vector<sync::ExportChange> changes;
  std::vector<sync::BackendError> errors;
  [[nodiscard]] int exit_code() const;
};

// Read and check the whole file, list the backend, match each of its items to a record as
// import matches (show ids + season + episode, then the item's own ids) and plan the writes
// that make the backend's state equal the backup's: played flags (with the record's date where
// the server takes one), and with `progress` the resume positions. Writes only with `execute`.
// Throws ws::Error: Errc::no_input / Errc::data for the file (before any request), Errc::usage
// for an unknown or export-disabled backend (without `force`).
RestoreResult restore_backup(const config::Config& config, db::StateStore& store,
                             const sync::RunOptions& options, const RestoreOptions& restore);
void write_restore_result(json::Writer& out, const RestoreResult& result);

} // namespace ws::backup
