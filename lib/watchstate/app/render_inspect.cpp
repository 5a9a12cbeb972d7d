// SPDX-License-Identifier: MIT
#include <watchstate/app/json_blocks.hpp>
#include <watchstate/app/render.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/sync/display.hpp>

namespace ws::app {

using backend::FoundItem;

namespace {

// "count", "items": [...], each item written by `write_item` (an object).
template <typename Items, typename WriteItem>
void write_report_items(json::Writer& out, const Items& items, WriteItem write_item) {
  out.field("count", static_cast<std::uint64_t>(items.size()));
  out.key("items").begin_array();
  for (const auto& item : items) {
    out.begin_object();
    write_item(item);
    out.end_object();
  }
  out.end_array();
}

void write_local(json::Writer& out, const sync::InspectedItem& entry) {
  out.key("local");
  if (!entry.local) {
    out.null();
    return;
  }
  out.begin_object().field("id", entry.local->id);
  out.field("title", sync::display_title(*entry.local)).field("watched", entry.local->watched);
  write_time_or_null(out, "updated", entry.local->updated);
  out.field("progress_ms", entry.local->progress_ms);
  // Every copy of the item: this one, others on this backend, the other backends'.
  out.key("copies").begin_array();
  for (const auto& r : entry.records) {
    out.begin_object();
    write_copy_fields(out, r);
    out.field("watched", r.watched).field("progress_ms", r.progress_ms);
    out.end_object();
  }
  out.end_array().end_object();
}

} // namespace

void write_remote_item_fields(json::Writer& out, const backend::RemoteItem& item) {
  out.field("kind", db::media_type_name(item.type)).field("id", item.id);
  out.field("title", item.title).field("year", item.year);
  if (item.type == model::MediaType::episode) {
    out.field("season", item.season).field("episode", item.episode);
    out.field("show_id", item.show_id);
  }
  out.field("played", item.played);
  write_time_or_null(out, "last_played", item.played_without_date ? 0 : item.last_played);
  out.field("progress_ms", item.progress_ms).field("duration_ms", item.duration_ms);
  write_time_or_null(out, "added_at", item.added_at);
  out.field("library_id", item.library_id).field("path", item.path);
  out.field("multi_episode", item.multi);
  out.key("guids");
  write_guids(out, item.guids);
}

void write_inspected_json(json::Writer& out, const std::vector<sync::InspectedItem>& items) {
  out.key("items").begin_array();
  for (const auto& entry : items) {
    out.begin_object();
    if (entry.found.kind == FoundItem::Kind::show) {
      const auto& show = entry.found.show;
      out.field("kind", "show").field("id", show.id).field("title", show.title);
      out.field("year", show.year).field("path", show.path);
      out.key("guids");
      write_guids(out, show.guids);
    } else {
      write_remote_item_fields(out, entry.found.item);
      write_strings(out, "keys", entry.keys);
      write_local(out, entry);
    }
    out.end_object();
  }
  out.end_array();
}

void write_unmatched_json(json::Writer& out, const sync::UnmatchedReport& report) {
  out.field("checked", report.checked);
  write_report_items(out, report.items, [&out](const backend::RemoteItem& item) {
    write_remote_item_fields(out, item);
  });
}

void write_mismatch_json(json::Writer& out, const sync::MismatchReport& report) {
  out.field("threshold", static_cast<std::int64_t>(report.threshold));
  out.field("checked", report.checked);
  write_report_items(out, report.items, [&out](const sync::MismatchedEntry& item) {
    out.field("kind", sync::found_kind_name(item.kind)).field("id", item.id);
    out.field("title", item.title).field("year", item.year);
    out.field("path", item.path).field("library_id", item.library_id);
    out.field("score", static_cast<std::int64_t>(item.score.score + 0.5));
    out.field("compared_title", item.score.title).field("compared_name", item.score.path_name);
  });
}

void write_stale_json(json::Writer& out, const sync::StaleReport& report) {
  out.field("remote", report.remote).field("local", report.local);
  write_report_items(out, report.stale, [&out](const sync::StaleEntry& entry) {
    out.field("id", entry.row.id).field("title", sync::display_title(entry.row));
    out.field("watched", entry.row.watched).field("remote_id", entry.record.remote_id);
    out.field("library_id", entry.record.library_id).field("path", entry.record.path);
  });
}

} // namespace ws::app
