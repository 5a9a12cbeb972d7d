// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/backend/backend.hpp>
#include <watchstate/db/state_store.hpp>

#include <optional>
#include <string>

namespace ws::sync {

// How one backend's report may change the local state.
struct ImportPolicy {
  std::optional<UnixTime> cursor; // start of this backend's last good import; nullopt = never
  bool metadata_only = false;     // import disabled: attach ids only, never change play state
  // ws-import --metadata-only: records keep the play state the last real import stored.
  bool keep_record_state = false;
  bool force_full = false; // --full: the backend wins wherever the played flag differs
  bool disable_mark_unplayed = false;
  std::int64_t progress_minimum_ms = 60'000;
  bool progress_sync = true;
  UnixTime now = 0;
};

enum class StateChange { none, played, unplayed };

// What to do with one local row given one backend's report of it. This is THE import decision.
struct ImportDecision {
  StateChange state = StateChange::none;
  UnixTime new_updated = 0; // the row's new play-state time when state != none
  bool deliberate_unmark = false;
  bool progress_changed = false; // the row takes the backend's resume position
  std::int64_t new_progress_ms = 0;
  UnixTime new_progress_at = 0;
  bool record_changed = false; // the backend's view differs from what was stored
};

// The date a backend gives for its play state: the last-played time of a played item, the
// added date of an unplayed one (and of a played one that has no last-played date).
UnixTime remote_state_date(const backend::RemoteItem& remote);

// The record to store for `remote` as reported by `backend_name`.
db::BackendRecord make_record(const std::string& backend_name, const backend::RemoteItem& remote);

// Decide how `remote` changes `local`, given what this backend reported last time (`previous`).
// Rules (behaviour section 7, with the improvements documented in ws-import(1)):
//  - a played report flips an unplayed row only with a strictly newer date;
//  - an unplayed report flips a played row only when the backend had reported it played with
//    the same item id and the same added date (the user unmarked it deliberately) — never
//    because of an added date, so re-adding a file does not forget that it was watched;
//  - Jellyfin/Emby "played without a date": the change is dated just after the cursor when the
//    previous report was unplayed, otherwise by the added date;
//  - --full: the backend's flag wins whenever it differs;
//  - resume positions of unplayed items are taken when they moved (>= progress minimum) and are
//    newer than the position the row holds.
ImportDecision decide_import(const db::ItemRow& local,
                             const std::optional<db::BackendRecord>& previous,
                             const backend::RemoteItem& remote, const ImportPolicy& policy);

// The row to insert for an item no backend reported before. An unplayed row gets date 0: it has
// no unplay event yet (only a deliberate unmark or --full gives it one).
db::ItemRow new_row_from(const backend::RemoteItem& remote, const std::string& identity,
                         const std::string& backend_name, const std::string& title, int year,
                         const ImportPolicy& policy);

} // namespace ws::sync
