// SPDX-License-Identifier: MIT
#pragma once

// Fixing one item by hand (ws-state mark / --push): the local change, made to outrank what the
// backends report, and the refresh of that item's records before it is pushed.

#include <watchstate/config/config.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/sync/import.hpp>
#include <watchstate/sync/run_context.hpp>
#include <watchstate/sync/services.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ws::sync {

struct MarkRequest {
  bool played = true;
  std::optional<UnixTime> at; // --at: when it was played / unmarked; nullopt = now
  bool keep_position = false; // unplayed: keep the local resume position
  UnixTime now = 0;
};

struct MarkPlan {
  db::ItemRow row;          // the row as it is to be written
  bool changed = false;     // false: the row already says so (nothing to write)
  UnixTime newest_play = 0; // the latest play the row or a backend's record holds (0: none)
};

// What `request` makes of `row`, given every record of it (every backend, every copy).
// The export rules (export_rules.hpp) push a played row everywhere, and an unplayed row only to
// backends whose play is older than the row's date; the import rules (import_rules.hpp) let a
// backend's play flip an unplayed row only with a newer date. So:
//  - played: the row becomes played at `at` (default now) and loses its resume position; a row
//    already played is left as it is unless --at gives another date;
//  - unplayed: the row becomes unplayed at a date after every play the row and the records
//    hold: `at`, or now (one second after the newest play when a clock is ahead). The resume
//    position goes unless keep_position. A row already unplayed that no backend's play
//    outranks is left as it is, unless --at is given.
// Throws Error(Errc::usage) for an `at` in the future, and for an unplayed `at` that is not after
// the newest play (that play would win at the next import and mark it played again).
MarkPlan plan_mark(const db::ItemRow& row, const std::vector<db::BackendRecord>& records,
                   const MarkRequest& request);

// Write `plan` (when it changed anything) and its change log entries, direction "manual",
// backend `source` (e.g. "ws-state mark (alice)"). Returns the entries written.
std::vector<db::ChangeEntry> apply_mark(db::StateStore& store, const db::ItemRow& before,
                                        const MarkPlan& plan, const std::string& source,
                                        UnixTime now);

// --at: RFC 3339 ("2024-05-01T20:15:00Z", "…+02:00"; no offset is UTC) or a date
// ("2024-05-01", midnight UTC). nullopt for anything else.
std::optional<UnixTime> parse_mark_date(std::string_view text);

// Re-read row `item`'s records from every selected export-enabled backend of its identity
// (one lookup per copy) and store what each now says about its play state (played flag and
// date, added date, resume position, runtime), never changing the local row: an export of the
// item then decides on the backends' current state, as ws-export's own refresh does. Returned
// as run_export's `imported`: a backend that could not be read is an error (export leaves it
// alone), a copy the backend no longer has is unconfirmed (left alone too).
ImportResult refresh_item_records(const Services& services, const config::Config& config,
                                  db::StateStore& store, const RunOptions& options,
                                  const db::ItemRow& item);

} // namespace ws::sync
