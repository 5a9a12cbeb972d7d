// SPDX-License-Identifier: MIT
#pragma once

// Internal to lib/watchstate/app: the `result` objects of the tools' --json documents
// (docs/json.md, the man pages), drawn from the plain results of the use cases. The blocks
// they share are in json_blocks.hpp.

#include <watchstate/backup/backup.hpp>
#include <watchstate/sync/export.hpp>
#include <watchstate/sync/import.hpp>
#include <watchstate/sync/inspect.hpp>
#include <watchstate/sync/parity.hpp>
#include <watchstate/sync/playlists.hpp>

#include <vector>

namespace ws::json {
class Writer;
}

namespace ws::app {

// --- ws-import, ws-export, ws-sync, ws-parity, ws-playlist (render_sync.cpp) ---

void write_import_result(json::Writer& out, const sync::ImportResult& result);
void write_export_result(json::Writer& out, const sync::ExportResult& result);
// `live`: the listings of --live (null without it), whose cost per backend ends the document.
void write_parity_result(json::Writer& out, const sync::ParityResult& result,
                         const sync::ImportResult* live);
void write_playlist_result(json::Writer& out, const sync::PlaylistResult& result);

// One write of an export or a restore: opens its object with {"title", "type", "action", "id"}
// (the caller adds the states and closes it after write_write_status).
void begin_export_change(json::Writer& out, const sync::ExportChange& c);

// A backend's play state before or after a write: "watched", "played_at" (null unless watched
// with a date), "progress_ms".
void write_play_state(json::Writer& out, const db::BackendRecord& r);

// One write of `changes` as ws-playlist and ws-backup restore report it: {"op", its fields,
// "status": "planned|ok|failed", "error"}; "planned" in a dry run or when it was not sent.
void write_playlist_op(json::Writer& out, const sync::PlaylistOp& op, bool dry_run);

// --- ws-backend's reports (render_inspect.cpp) ---
// Each report writes its members inside the result object ws-backend opens (and closes after
// "requests" and "bytes_received").

// The fields of one server item (inside an object the caller opens).
void write_remote_item_fields(json::Writer& out, const backend::RemoteItem& item);
void write_inspected_json(json::Writer& out, const std::vector<sync::InspectedItem>& items);
void write_unmatched_json(json::Writer& out, const sync::UnmatchedReport& report);
void write_mismatch_json(json::Writer& out, const sync::MismatchReport& report);
void write_stale_json(json::Writer& out, const sync::StaleReport& report);

// --- ws-backup (render_backup.cpp) ---

void write_create_result(json::Writer& out, const backup::CreateResult& result);
void write_list_result(json::Writer& out, const std::vector<backup::BackupFileInfo>& files);
void write_prune_result(json::Writer& out, const backup::PruneResult& result, int keep_days);
void write_restore_result(json::Writer& out, const backup::RestoreResult& result);

} // namespace ws::app
