// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/backend/backend.hpp>
#include <watchstate/db/state_store.hpp>

#include <optional>

namespace ws::sync {

struct ExportPolicy {
  bool ignore_date = false; // --ignore-date: the local state wins wherever it differs
  bool progress_sync = true;
  std::int64_t progress_minimum_ms = 60'000;
  // Jellyfin/Emby keep a stale position on a played item (Plex clears it when it scrobbles).
  bool can_reset_progress = false;
};

// Positions closer than this are the same position: players report jitter, and re-sending a
// position a second away would make every sync write again.
inline constexpr std::int64_t k_export_progress_tolerance_ms = 1'000;

// What to write to a backend whose current state of the item is `remote`, so that it matches
// `local`. This is THE export decision. Rules (ws-export(1)):
//  - local played, backend unplayed: mark played (with the local date). The backend's unplayed
//    state carries no date of its own; had the user unmarked it there, the import of the same
//    run would have made the row unplayed.
//  - local unplayed, backend played: mark unplayed only when the row became unplayed strictly
//    after the backend's play (or with --ignore-date).
//  - both played: clear a stale resume position (Jellyfin/Emby).
//  - both unplayed: send the local position when it is at least the minimum and differs; when
//    the row's position was cleared (an unmark: position 0 with a date), clear the backend's
//    (at least the minimum): it dates from before the unmark, or the import would have taken it.
// nullopt: nothing to write.
std::optional<backend::WriteRequest> decide_export(const db::ItemRow& local,
                                                   const db::BackendRecord& remote,
                                                   const ExportPolicy& policy);

// `remote` after `write` succeeded: what the backend now holds (Plex keeps no date, so the
// record remembers the date that was pushed, and the next import sees no new event).
db::BackendRecord record_after(const db::BackendRecord& remote, const backend::WriteRequest& write);

} // namespace ws::sync
