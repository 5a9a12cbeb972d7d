// SPDX-License-Identifier: MIT
#include <watchstate/app/json_blocks.hpp>
#include <watchstate/app/render.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/sync/export_rules.hpp>

#include <algorithm>

namespace ws::app {

void write_import_result(json::Writer& out, const sync::ImportResult& result) {
  write_identities(out, result.identities, [&out](const sync::BackendImportCounts& b) {
    out.field("fetched", b.fetched).field("added", b.added).field("updated", b.updated);
    out.field("unchanged", b.unchanged).field("skipped", b.skipped).field("failed", b.failed);
    write_traffic(out, b.requests, b.bytes_received);
    out.field("marked_played", b.marked_played).field("marked_unplayed", b.marked_unplayed);
    out.field("progress_updated", b.progress_updated).field("gone", b.gone);
    out.field("listing_complete", b.listing_complete);
    out.field("merged", b.merged).field("rematched", b.rematched);
    out.field("conflicts", b.conflicts).field("ignored", b.ignored);
    out.field("metadata_only", b.metadata_only).field("server_id", b.server_id);
    out.field("duration_ms", b.duration_ms);
  });
}

void begin_export_change(json::Writer& out, const sync::ExportChange& c) {
  out.begin_object().field("title", c.title).field("type", db::media_type_name(c.type));
  out.field("action", sync::write_action_name(c.write.action)).field("id", c.write.remote_id);
}

void write_play_state(json::Writer& out, const db::BackendRecord& r) {
  out.field("watched", r.watched);
  write_time_or_null(out, "played_at", r.watched ? r.played_at : 0);
  out.field("progress_ms", r.progress_ms);
}

void write_export_result(json::Writer& out, const sync::ExportResult& result) {
  write_identities(out, result.identities, [&out](const sync::BackendExportResult& b) {
    out.field("checked", b.checked);
    out.field("marked_played", b.marked_played).field("marked_unplayed", b.marked_unplayed);
    out.field("progress_updated", b.progress_updated).field("unchanged", b.unchanged);
    out.field("playing", b.playing).field("unlisted", b.unlisted).field("ignored", b.ignored);
    out.field("failed", b.failed);
    write_traffic(out, b.requests, b.bytes_received);
    out.field("duration_ms", b.duration_ms);
    out.key("changes").begin_array();
    for (const auto& c : b.changes) {
      auto after = sync::record_after(c.before, c.write);
      if (c.then_position_ms > 0) {
        after.progress_ms = c.then_position_ms;
      }
      begin_export_change(out, c);
      out.key("from").begin_object();
      write_play_state(out, c.before);
      out.end_object().key("to").begin_object();
      write_play_state(out, after);
      out.end_object();
      write_write_status(out, c.sent, c.ok, c.error);
      out.end_object();
    }
    out.end_array();
  });
}

void write_parity_result(json::Writer& out, const sync::ParityResult& result,
                         const sync::ImportResult* live) {
  out.begin_object().field("identity", result.identity).field("live", result.live);
  write_strings(out, "backends", result.backends);
  out.field("items", result.items);
  out.key("counts").begin_object();
  for (const auto& check : sync::k_parity_checks) {
    out.field(check, static_cast<std::uint64_t>(
                         std::count_if(result.findings.begin(), result.findings.end(),
                                       [&](const auto& f) { return f.check == check; })));
  }
  out.end_object();
  out.key("findings").begin_array();
  for (const auto& f : result.findings) {
    out.begin_object().field("check", f.check).field("item", f.item);
    out.field("title", f.title).field("detail", f.detail);
    write_strings(out, "backends", f.backends);
    if (f.check == "conflicts") {
      out.field("kind", f.kind).field("key", f.key);
      out.key("items").begin_array();
      for (const auto& side : f.sides) {
        out.begin_object().field("item", side.row).field("title", side.title);
        out.key("servers").begin_array();
        for (const auto& i : side.items) {
          out.begin_object().field("backend", i.backend).field("id", i.id);
          out.field("value", i.value);
          if (i.episode >= 0) {
            out.field("season", i.season).field("episode", i.episode);
          }
          out.end_object();
        }
        out.end_array().end_object();
      }
      out.end_array();
      out.field("fix", f.fix);
    }
    out.end_object();
  }
  out.end_array();
  out.key("pruned").begin_array();
  for (const auto& row : result.pruned) {
    write_row_ref(out, row);
  }
  out.end_array();
  // What the live listings cost, per backend listed ({} without --live: no server was asked).
  out.key("traffic").begin_object();
  if (live != nullptr) {
    for (const auto& identity : live->identities) {
      for (const auto& b : identity.backends) {
        out.key(b.backend).begin_object();
        write_traffic(out, b.requests, b.bytes_received);
        out.end_object();
      }
    }
  }
  out.end_object();
  out.end_object();
}

void write_playlist_op(json::Writer& out, const sync::PlaylistOp& op, bool dry_run) {
  using Kind = sync::PlaylistOp::Kind;
  out.begin_object();
  out.field("op", sync::playlist_op_name(op.kind));
  switch (op.kind) {
  case Kind::create:
  case Kind::add:
    if (op.kind == Kind::create) {
      out.field("title", op.title);
    }
    write_strings(out, "items", op.item_ids);
    break;
  case Kind::rename: out.field("title", op.title); break;
  case Kind::remove: write_strings(out, "entries", op.entry_ids); break;
  case Kind::move:
    out.field("entry", op.entry_id);
    out.field("index", static_cast<std::uint64_t>(op.index));
    out.field("after", op.after);
    break;
  case Kind::remove_playlist: break;
  }
  write_write_status(out, !dry_run && op.sent, op.ok, op.error);
  out.end_object();
}

void write_playlist_result(json::Writer& out, const sync::PlaylistResult& result) {
  const auto write_backend = [&out](const sync::BackendPlaylistResult& b) {
    out.field("playlists", b.playlists).field("writes", b.writes).field("failed", b.failed);
    write_traffic(out, b.requests, b.bytes_received);
    out.field("duration_ms", b.duration_ms);
  };
  const auto write_plan = [&out, &result](const sync::IdentityPlaylistResult& identity) {
    out.key("playlists").begin_array();
    for (const auto& p : identity.plan.playlists) {
      out.begin_object().field("title", p.title).field("action", p.action);
      out.field("source", p.source).field("conflict", p.conflict());
      write_strings(out, "changed_on", p.changed_on);
      write_strings(out, "deleted_on", p.deleted_on);
      write_strings(out, "not_on", p.not_on);
      out.field("items", static_cast<std::uint64_t>(p.next.items.size()));
      out.field("unresolved", static_cast<std::uint64_t>(p.unresolved));
      out.key("targets").begin_array();
      for (const auto& t : p.targets) {
        out.begin_object().field("backend", t.backend).field("id", t.remote_id);
        out.key("missing").begin_array();
        for (const auto item : t.missing) {
          out.value(static_cast<std::int64_t>(item));
        }
        out.end_array();
        out.key("changes").begin_array();
        for (const auto& op : t.ops) {
          write_playlist_op(out, op, result.dry_run);
        }
        out.end_array().end_object();
      }
      out.end_array().end_object();
    }
    out.end_array();
    out.key("skipped").begin_array();
    for (const auto& s : identity.plan.skipped) {
      out.begin_object().field("backend", s.backend).field("id", s.id);
      out.field("title", s.title).field("reason", s.reason).end_object();
    }
    out.end_array();
  };
  write_identities(out, result.identities, write_backend, write_plan);
}

} // namespace ws::app
