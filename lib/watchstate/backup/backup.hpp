// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/config/config.hpp>
#include <watchstate/core/time.hpp>
#include <watchstate/sync/export.hpp>
#include <watchstate/sync/playlist_plan.hpp>
#include <watchstate/sync/run_context.hpp>
#include <watchstate/sync/services.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ws::db {
class StateStore;
}

namespace ws::backup {

// The backup directory: state_dir/backups.
std::filesystem::path backup_dir(const config::Config& config);

// --- ws-backup create ---

struct CreateOptions {
  std::string file_template; // empty: "{identity}.{backend}.{date}.json[.gz]"
  bool compress = true;
};

// The name of the playlists file beside a backup named `name` (a name or a template):
// ".playlists" inserted before the last ".json" ("main.plex.20261126.playlists.json.gz"), or
// appended when the name has no ".json".
std::string playlists_file_name(const std::string& name);

// What became of a backend's playlists in `ws-backup create`.
enum class PlaylistsStatus : std::uint8_t {
  ok,       // read, and written to `playlists_path` (also when the backend holds none)
  failed,   // not backed up: `playlists_error` says why (reading them failed: a warning only)
  disabled, // playlists.enabled: false
};

struct CreatedFile {
  std::string identity;
  std::string backend;
  std::filesystem::path path;
  bool ok = false;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  std::uint64_t requests = 0;
  std::uint64_t bytes_received = 0; // headers and bodies as received (before decoding)
  std::int64_t duration_ms = 0;
  // The backend's video playlists (smart, audio and photo ones left out), in the sibling file.
  PlaylistsStatus playlists_status = PlaylistsStatus::failed;
  std::filesystem::path playlists_path;
  std::uint64_t playlists = 0;        // playlists in the file
  std::uint64_t playlist_items = 0;   // their entries, each an item record
  std::uint64_t playlist_skipped = 0; // entries neither the listing nor the state database knows
  std::string playlists_error;
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
// another kind of server). Beside it, the backend's video playlists go to a playlists file
// (playlists_file_name), their entries in the same record layout, read before the listing and
// filled in by it (an entry the listing does not hold is taken from the state database, else
// skipped and counted). A backend whose playlists cannot be read is still backed up: a warning,
// no playlists file. Temporary files that killed runs left in the backup directory are removed
// first (the caller holds the run lock). In a dry run nothing is written.
CreateResult create_backups(const sync::Services& services, const config::Config& config,
                            db::StateStore& store, const sync::RunOptions& options,
                            const CreateOptions& create);

// --- ws-backup list / prune ---

struct BackupFileInfo {
  std::filesystem::path path;
  bool playlists = false; // a playlists backup (by content when read, else by name)
  std::string identity;   // from the name, when it has the default shape
  std::string backend;
  std::optional<UnixTime> date; // from {date}; undated files are never pruned
  std::uint64_t size_bytes = 0;
  std::optional<std::uint64_t> records; // items, or playlists; nullopt when it cannot be read
};

std::vector<BackupFileInfo> list_backups(const std::filesystem::path& dir, bool count_records);

// The play-state backup in `dir` written last (playlists files left out: a backup of the play
// state is what ws-state status and report speak of); nullopt when there is none.
std::optional<BackupFileInfo> newest_backup(const std::filesystem::path& dir);

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

// One playlist of a playlists backup restored into a backend.
struct PlaylistRestore {
  std::string title;                // as in the backup
  std::string action;               // "create", "update", "unchanged" or "skipped"
  std::string id;                   // the backend's playlist ("" when skipped, and until created)
  std::string reason;               // skipped: why
  std::uint64_t items = 0;          // items in the backup
  std::uint64_t matched = 0;        // of them, found on the backend
  std::vector<std::string> missing; // titles of the items the backend does not have
  std::vector<sync::PlaylistOp> changes; // in the order they are sent, with their outcome
};

struct RestoreResult {
  std::string file;
  std::string backend;
  std::string identity;
  bool execute = false;
  std::uint64_t records = 0;   // records in the file
  std::uint64_t checked = 0;   // backend items matched to a record
  std::uint64_t unmatched = 0; // backend items no record matched
  std::uint64_t ignored = 0;   // backend items an ignore rule keeps out (never written)
  std::uint64_t unchanged = 0;
  std::uint64_t playing = 0;
  std::uint64_t marked_played = 0;
  std::uint64_t marked_unplayed = 0;
  std::uint64_t progress_updated = 0;
  std::uint64_t failed = 0;
  std::uint64_t requests = 0;
  std::uint64_t bytes_received = 0; // headers and bodies as received (before decoding)
  std::vector<sync::ExportChange> changes;
  // FILE was a playlists backup: its playlists instead of the play-state fields above.
  bool playlists_file = false;
  std::vector<PlaylistRestore> playlists;
  std::vector<sync::BackendError> errors;
  [[nodiscard]] int exit_code() const; // a failed write (playlist op): 1
};

// Read and check the whole file, list the backend, match each of its items to a record as
// import matches (show ids + season + episode, then the item's own ids) and plan the writes
// that make the backend's state equal the backup's: played flags (with the record's date where
// the server takes one), and with `progress` the resume positions. Writes only with `execute`.
//
// A playlists backup (told by its content) restores playlists instead: each playlist's items
// are matched the same way; a playlist of the same name (sync::playlist_name_key) on the
// backend is edited to hold exactly the matched items in order (sync::playlist_edit_ops), a
// missing one is created; a playlist none of whose items matched is skipped, items that match
// nothing are reported, never guessed. The state database is not changed: the next ws-playlist
// run takes the restored playlists for edits and carries them to the other backends.
//
// Throws ws::Error: Errc::no_input / Errc::data for the file (before any request), Errc::usage
// for an unknown or export-disabled backend (without `force`).
RestoreResult restore_backup(const sync::Services& services, const config::Config& config,
                             db::StateStore& store, const sync::RunOptions& options,
                             const RestoreOptions& restore);

} // namespace ws::backup
