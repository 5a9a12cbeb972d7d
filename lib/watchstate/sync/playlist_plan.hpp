// SPDX-License-Identifier: MIT
#pragma once

// The playlist decision, in one place and free of I/O: given what every backend holds now and
// what the last run left in the state database, which list each playlist should have and which
// writes bring every backend there. ws-playlist (sync/playlists.cpp) reads, calls this, writes.
//
// Rules:
// - Playlists are matched across backends by title (trimmed, case-folded) per identity; once
//   synced, a copy is followed by its id, so a rename on one backend is an edit, not a new list.
// - A copy whose title or items differ from what the last run saw (or wrote) was edited. When
//   several were, the newest edit wins: Plex's updatedAt; Jellyfin and Emby report no edit time,
//   so an edit there is dated by the run that first sees it (a new copy by its DateCreated).
// - The winning copy is never written; every other backend is brought to its title, items and
//   order. Items are translated through the state database (every copy, episodes through their
//   series); an item a backend does not have is reported missing there, never guessed; entries
//   the state database does not know are left out of the list (and reported).
// - A playlist deleted on one backend stays deleted there and is kept elsewhere, unless deletes
//   are propagated (ws-playlist --delete), which deletes it on every other backend.
// - Smart playlists and audio/photo playlists are reported and left alone.

#include <watchstate/backend/backend.hpp>
#include <watchstate/core/time.hpp>
#include <watchstate/db/state_store.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ws::sync {

// One backend's playlist as read in this run, each entry resolved to its local row (nullopt:
// the state database has no row for that item).
struct ObservedPlaylist {
  backend::RemotePlaylist remote;
  std::vector<std::optional<db::ItemId>> local; // one per remote.entries
};

// A backend taking part in the run, in config order.
struct PlaylistBackend {
  std::string name;
  bool readable = true;       // its playlists were read in this run
  bool writable = true;       // export enabled: may be written
  bool has_edit_time = false; // RemotePlaylist::updated_at is an edit time (Plex)
  std::vector<ObservedPlaylist> playlists;
};

struct PlaylistPlanInput {
  std::string identity;
  UnixTime now = 0;
  std::vector<db::PlaylistRow> known; // the state database's playlists of the identity
  std::vector<PlaylistBackend> backends;
  bool propagate_deletes = false;
  // The backend item ids of local row `item` on `backend` (every copy; empty: not there).
  std::function<std::vector<std::string>(db::ItemId item, const std::string& backend)> copies_on;
};

// One write to one backend's playlist.
struct PlaylistOp {
  enum class Kind : std::uint8_t { create, rename, remove, add, move, remove_playlist };
  Kind kind = Kind::add;
  std::string title;                  // create, rename
  std::vector<std::string> item_ids;  // create, add
  std::vector<std::string> entry_ids; // remove
  std::string entry_id;               // move: the entry moved ("new:N" for the N-th added one)
  std::size_t index = 0;              // move: its position afterwards
  std::string after;                  // move: the entry it follows ("" first; may be "new:N")
  // After the run:
  bool sent = false;
  bool ok = false;
  std::string error;
};

std::string_view playlist_op_name(PlaylistOp::Kind kind);

// What one backend's copy gets.
struct PlaylistTarget {
  std::string backend;
  std::string remote_id;            // "" until created
  std::vector<std::string> desired; // backend item ids it will hold, in order
  std::vector<db::ItemId> missing;  // rows of the list this backend does not have
  std::vector<PlaylistOp> ops;      // in the order they are sent
};

struct PlannedPlaylist {
  std::string title;
  // "unchanged", "created" (new on some backends), "updated", "deleted" (everywhere),
  // "kept" (deleted on some backends, kept on the others)
  std::string action = "unchanged";
  std::string source;                  // the backend whose copy won ("" none changed)
  std::vector<std::string> changed_on; // copies edited since the last run (> 1: a conflict)
  std::vector<std::string> deleted_on; // copies deleted since the last run
  std::vector<std::string> not_on;     // backends it is not created on, with why (text)
  std::size_t unresolved = 0;          // entries of the winning copy the state db does not know
  std::vector<PlaylistTarget> targets; // backends with writes
  db::PlaylistRow next;                // what to store once the writes are done
  bool forget = false;                 // no copy is left anywhere: drop the row
  [[nodiscard]] bool conflict() const { return changed_on.size() > 1; }
};

// A playlist left alone: smart, not a video playlist, or a second one of the same title.
struct SkippedPlaylist {
  std::string backend;
  std::string id;
  std::string title;
  std::string reason;
};

struct PlaylistPlan {
  std::vector<PlannedPlaylist> playlists;
  std::vector<SkippedPlaylist> skipped;
};

PlaylistPlan plan_playlists(const PlaylistPlanInput& input);

// How copies are matched: the title trimmed and case-folded (ASCII).
std::string playlist_name_key(std::string_view title);

// What the last run saw of a copy: its title and item ids in order. A copy whose signature
// differs was edited since.
std::string playlist_signature(const backend::RemotePlaylist& playlist);

// The signature kept for a copy whose content is unknown (writes failed and it could not be
// read back): never taken for an edit, so the copy is rewritten next time, never copied.
inline constexpr std::string_view k_unknown_playlist_signature = "\x1f?";

// The writes that turn `current` into `desired` (backend item ids in order, an id may appear
// twice): removals of entries not wanted, one append of the items missing, then moves (the
// fewest the longest already-ordered run allows). Entries appended are named "new:N" (N from
// 0, in append order) until the server gives them ids. Title changes are not included.
std::vector<PlaylistOp> playlist_edit_ops(const std::vector<backend::PlaylistEntry>& current,
                                          const std::vector<std::string>& desired);

} // namespace ws::sync
