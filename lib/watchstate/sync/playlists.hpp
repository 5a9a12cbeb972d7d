// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/config/config.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/sync/playlist_plan.hpp>
#include <watchstate/sync/run_context.hpp>
#include <watchstate/sync/services.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ws::sync {

struct PlaylistRunOptions {
  bool propagate_deletes = false; // --delete: a playlist deleted on one backend goes everywhere
};

struct BackendPlaylistResult {
  std::string backend;
  bool ok = false;             // its playlists were read (and its writes did not fail)
  std::uint64_t playlists = 0; // video playlists it holds (smart ones included)
  std::uint64_t writes = 0;    // writes sent (planned in a dry run)
  std::uint64_t failed = 0;    // writes that failed
  std::uint64_t requests = 0;
  std::uint64_t bytes_received = 0; // headers and bodies as received (before decoding)
  std::int64_t duration_ms = 0;
};

struct IdentityPlaylistResult {
  std::string identity;
  std::vector<BackendPlaylistResult> backends;
  PlaylistPlan plan; // with each write's outcome
};

struct PlaylistResult {
  std::vector<IdentityPlaylistResult> identities;
  std::vector<BackendError> errors;
  std::size_t backends_attempted = 0;
  bool dry_run = false;
  [[nodiscard]] int exit_code() const;
};

// ws-playlist: read every selected playlist-enabled backend's playlists, decide each playlist
// (sync/playlist_plan.hpp), send the writes to export-enabled backends and keep what each copy
// now holds in the state database (one transaction). A backend that cannot be read takes no
// part (nothing is concluded about its playlists); a failed write is reported and the other
// writes and backends go on. In a dry run nothing is written anywhere.
PlaylistResult run_playlists(const Services& services, const config::Config& config,
                             db::StateStore& store, const RunOptions& options,
                             const PlaylistRunOptions& playlist_options);

// Send one target's writes (target.ops) in order; the first failure ends that target's writes
// (each op gets sent/ok/error; a failure is counted in `counts` and added to `failures`, whose
// identity the caller fills in). Entries appended are named "new:N" until the server gives
// them ids. The copy is then read back and compared with target.desired and `title`. Returns
// the copy as the backend now holds it (nullopt when there is none: creating it failed).
// Used by ws-playlist and by ws-backup restore.
std::optional<db::PlaylistCopy> apply_playlist_target(backend::Backend& adapter,
                                                      PlaylistTarget& target,
                                                      const std::string& title, UnixTime now,
                                                      BackendPlaylistResult& counts,
                                                      std::vector<BackendError>& failures);

} // namespace ws::sync
