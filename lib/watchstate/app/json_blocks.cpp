// SPDX-License-Identifier: MIT
#include <watchstate/app/json_blocks.hpp>

#include <watchstate/core/error.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/sync/display.hpp>

namespace ws::app {

void write_guids(json::Writer& out, const model::Guids& guids) {
  out.begin_object();
  for (const auto& g : guids) {
    out.field(model::guid_key_name(g.key), g.value);
  }
  out.end_object();
}

void write_traffic(json::Writer& out, std::uint64_t requests, std::uint64_t bytes_received) {
  out.field("requests", requests).field("bytes_received", bytes_received);
}

void write_time_or_null(json::Writer& out, std::string_view key, UnixTime t) {
  out.key(key);
  t > 0 ? out.value(format_rfc3339(t)) : out.null();
}

void write_time_or_null(json::Writer& out, std::string_view key, std::optional<UnixTime> t) {
  out.key(key);
  t ? out.value(format_rfc3339(*t)) : out.null();
}

void write_text_or_null(json::Writer& out, std::string_view key, const std::string& text) {
  out.key(key);
  text.empty() ? out.null() : out.value(text);
}

void write_strings(json::Writer& out, std::string_view key, const std::vector<std::string>& v) {
  out.key(key).begin_array();
  for (const auto& s : v) {
    out.value(s);
  }
  out.end_array();
}

void write_write_status(json::Writer& out, bool sent, bool ok, const std::string& error) {
  out.field("status", !sent ? "planned" : ok_name(ok));
  if (!error.empty()) {
    out.field("error", error);
  }
}

void write_error(json::Writer& out, std::string_view kind, const std::string& message) {
  out.begin_object().field("kind", kind).field("message", message).end_object();
}

void write_backend_errors(json::Writer& out, const std::vector<sync::BackendError>& errors) {
  out.begin_array();
  for (const auto& e : errors) {
    out.begin_object();
    if (!e.identity.empty()) {
      out.field("identity", e.identity);
    }
    if (!e.backend.empty()) {
      out.field("backend", e.backend);
    }
    if (!e.item.empty()) {
      out.field("item", e.item);
    }
    out.field("kind", errc_name(e.kind)).field("message", redact(e.message));
    out.end_object();
  }
  out.end_array();
}

void write_change_entry(json::Writer& out, const db::ChangeEntry& c) {
  out.begin_object();
  out.field("at", format_rfc3339(c.at)).field("direction", c.direction);
  out.field("backend", c.backend).field("field", c.field);
  out.field("from", c.old_value).field("to", c.new_value).field("outcome", c.outcome);
  out.end_object();
}

void write_item_row(json::Writer& out, const db::ItemRow& row) {
  out.begin_object();
  out.field("id", row.id).field("type", db::media_type_name(row.type));
  out.field("title", row.title).field("display_title", sync::display_title(row));
  out.field("year", row.year);
  if (row.type == model::MediaType::episode) {
    out.field("season", row.season).field("episode", row.episode);
  }
  out.field("watched", row.watched);
  write_time_or_null(out, "updated", row.updated);
  out.field("progress_ms", row.progress_ms).field("via", row.via);
  out.field("updated_at", format_rfc3339(row.updated_at));
  out.end_object();
}

void write_copy_fields(json::Writer& out, const db::BackendRecord& r) {
  out.field("backend", r.backend).field("id", r.remote_id);
  out.field("library_id", r.library_id).field("path", r.path);
}

void write_row_ref(json::Writer& out, const db::ItemRow& row) {
  out.begin_object().field("item", row.id).field("title", sync::display_title(row)).end_object();
}

void write_run(json::Writer& out, const db::Run& run) {
  out.begin_object();
  out.field("id", run.id).field("tool", run.tool).field("command", run.command);
  out.field("started_at", format_rfc3339(run.started_at));
  out.field("finished_at", format_rfc3339(run.finished_at));
  out.field("duration_ms", run.duration_ms).field("exit_code", run.exit_code);
  out.field("status", run.status).field("dry_run", run.dry_run);
  out.key("backends").begin_array();
  for (const auto& b : run.backends) {
    out.begin_object();
    out.field("identity", b.identity).field("backend", b.backend).field("phase", b.phase);
    out.field("ok", b.ok).field("items", b.items).field("writes", b.writes);
    out.field("failed", b.failed).field("requests", b.requests);
    out.field("duration_ms", b.duration_ms);
    out.end_object();
  }
  out.end_array();
  out.key("errors").begin_array();
  for (const auto& e : run.errors) {
    out.begin_object().field("identity", e.identity).field("backend", e.backend);
    out.field("kind", e.kind).field("message", e.message);
    out.end_object();
  }
  out.end_array();
  out.end_object();
}

} // namespace ws::app
