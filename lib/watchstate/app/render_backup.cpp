// SPDX-License-Identifier: MIT
#include <watchstate/app/json_blocks.hpp>
#include <watchstate/app/render.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/sync/export_rules.hpp>

namespace ws::app {
namespace {

const char* playlists_status_name(backup::PlaylistsStatus status) {
  switch (status) {
  case backup::PlaylistsStatus::ok: return "ok";
  case backup::PlaylistsStatus::failed: return "failed";
  case backup::PlaylistsStatus::disabled: return "disabled";
  }
  return "failed";
}

void write_path_or_null(json::Writer& out, std::string_view key, const std::filesystem::path& p) {
  write_text_or_null(out, key, p.string());
}

void write_playlist_restore(json::Writer& out, const backup::PlaylistRestore& p) {
  out.begin_object().field("title", p.title).field("action", p.action).field("id", p.id);
  out.field("items", p.items).field("matched", p.matched);
  write_strings(out, "missing", p.missing);
  out.key("changes").begin_array();
  for (const auto& op : p.changes) {
    write_playlist_op(out, op, false); // an op not sent reads "planned"
  }
  out.end_array();
  if (!p.reason.empty()) {
    out.field("reason", p.reason);
  }
  out.end_object();
}

} // namespace

void write_create_result(json::Writer& out, const backup::CreateResult& result) {
  out.begin_object().key("files").begin_array();
  for (const auto& f : result.files) {
    out.begin_object().field("identity", f.identity).field("backend", f.backend);
    out.field("status", ok_name(f.ok)).field("path", f.path.string());
    out.field("records", f.records).field("size_bytes", f.bytes);
    write_traffic(out, f.requests, f.bytes_received);
    out.field("duration_ms", f.duration_ms);
    out.key("playlists").begin_object();
    out.field("status", playlists_status_name(f.playlists_status));
    write_path_or_null(out, "path", f.playlists_path);
    out.field("count", f.playlists).field("items", f.playlist_items);
    out.field("skipped", f.playlist_skipped);
    if (!f.playlists_error.empty()) {
      out.field("error", f.playlists_error);
    }
    out.end_object().end_object();
  }
  out.end_array().end_object();
}

void write_list_result(json::Writer& out, const std::vector<backup::BackupFileInfo>& files) {
  out.begin_object().key("files").begin_array();
  for (const auto& f : files) {
    out.begin_object().field("path", f.path.string());
    out.field("kind", f.playlists ? "playlists" : "items");
    out.field("identity", f.identity).field("backend", f.backend);
    out.key("date");
    f.date ? out.value(format_rfc3339(*f.date).substr(0, 10)) : out.null();
    out.field("size_bytes", f.size_bytes);
    out.key("records");
    f.records ? out.value(*f.records) : out.null();
    out.end_object();
  }
  out.end_array().end_object();
}

void write_prune_result(json::Writer& out, const backup::PruneResult& result, int keep_days) {
  out.begin_object().field("keep_days", keep_days).key("removed").begin_array();
  for (const auto& p : result.removed) {
    out.value(p.string());
  }
  out.end_array().field("kept", static_cast<std::uint64_t>(result.kept)).end_object();
}

void write_restore_result(json::Writer& out, const backup::RestoreResult& r) {
  out.begin_object().field("file", r.file).field("identity", r.identity);
  out.field("backend", r.backend).field("execute", r.execute);
  out.field("kind", r.playlists_file ? "playlists" : "items");
  if (r.playlists_file) {
    // A playlists restore has no play-state fields: its outcome is per playlist.
    out.field("failed", r.failed);
    write_traffic(out, r.requests, r.bytes_received);
    out.key("playlists").begin_array();
    for (const auto& p : r.playlists) {
      write_playlist_restore(out, p);
    }
    out.end_array().end_object();
    return;
  }
  out.field("records", r.records).field("checked", r.checked);
  out.field("unmatched", r.unmatched).field("ignored", r.ignored);
  out.field("unchanged", r.unchanged).field("playing", r.playing);
  out.field("marked_played", r.marked_played).field("marked_unplayed", r.marked_unplayed);
  out.field("progress_updated", r.progress_updated);
  out.field("failed", r.failed);
  write_traffic(out, r.requests, r.bytes_received);
  out.key("changes").begin_array();
  for (const auto& c : r.changes) {
    begin_export_change(out, c);
    write_play_state(out, sync::record_after(c.before, c.write));
    write_write_status(out, c.sent, c.ok, c.error);
    out.end_object();
  }
  out.end_array().end_object();
}

} // namespace ws::app
