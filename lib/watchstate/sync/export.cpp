// SPDX-License-Identifier: MIT
#include <watchstate/sync/export.hpp>

#include <watchstate/core/exit_code.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/progress.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/signals.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/sync/display.hpp>
#include <watchstate/sync/export_rules.hpp>
#include <watchstate/sync/open_backend.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <unordered_set>

namespace ws::sync {
namespace {

using Clock = std::chrono::steady_clock;

// Errors listed per backend in the JSON document; the count of failures is always complete.
constexpr std::size_t k_max_item_errors = 20;

std::string change_text(bool watched, UnixTime when) {
  return fmt::format("{}@{}", watched ? "played" : "unplayed", when);
}

void log_change(db::StateStore& store, db::ItemId id, const std::string& backend,
                const backend::WriteRequest& w, const db::BackendRecord& before, UnixTime at,
                const std::string& outcome) {
  const bool progress = w.action == backend::WriteAction::set_progress ||
                        w.action == backend::WriteAction::reset_progress;
  const db::BackendRecord after = record_after(before, w);
  db::ChangeEntry entry{0, id, backend, "export", progress ? "progress" : "watched", "", "", at,
                        outcome};
  if (progress) {
    entry.old_value = std::to_string(before.progress_ms);
    entry.new_value = std::to_string(after.progress_ms);
  } else {
    entry.old_value = change_text(before.watched, before.played_at);
    entry.new_value = change_text(after.watched, after.played_at);
  }
  store.log_change(entry);
}

void export_backend(const config::Config& config, db::StateStore& store,
                    const RunOptions& options, const std::string& identity,
                    const config::BackendConfig& backend, BackendExportResult& result,
                    std::vector<BackendError>& errors) {
  auto adapter = open_backend(config, backend, options);
  ExportPolicy policy;
  policy.ignore_date = options.ignore_date;
  policy.progress_sync = config.progress.sync;
  policy.progress_minimum_ms = static_cast<std::int64_t>(config.progress.minimum) * 1000;
  policy.can_reset_progress = backend.type != backend::BackendType::plex;

  try {
    std::unordered_set<std::string> playing;
    for (auto& id : adapter->active_items()) {
      playing.insert(std::move(id));
    }
    throw_if_interrupted();

    // Plan: compare every item this backend has with the local state.
    std::vector<db::ItemId> ids;
    // A multi-episode file is one backend item behind several rows: one write covers them all,
    // and every row it covers gets its record updated with it.
    std::unordered_map<std::string, std::size_t> planned;
    std::vector<std::vector<std::pair<db::ItemId, db::BackendRecord>>> covered;
    auto plan = [&](const db::ItemRow& row, const db::BackendRecord& record) {
      const db::BackendRecord& remote = record;
      ++result.checked;
      const auto write = decide_export(row, remote, policy);
      if (!write) {
        ++result.unchanged;
        return;
      }
      if (playing.count(record.remote_id) > 0) {
        ++result.playing;
        log::info("{}: '{}' is being played; left alone", backend.name, display_title(row));
        return;
      }
      const auto [slot, first] = planned.emplace(
          fmt::format("{}/{}", write->remote_id, static_cast<int>(write->action)),
          result.changes.size());
      if (!first) {
        covered[slot->second].emplace_back(row.id, remote);
        ++result.unchanged;
        return;
      }
      result.changes.push_back({display_title(row), row.type, *write, remote, false, false, ""});
      ids.push_back(row.id);
      covered.emplace_back();
    };
    if (options.only_items.empty()) {
      store.for_each_with_record(identity, backend.name, plan);
    } else {
      // A webhook's rows: the same plan for just these (a row this backend never reported
      // has nothing to write to).
      for (const auto id : options.only_items) {
        const auto row = store.item(id);
        const auto record = store.record(id, backend.name);
        if (row && record && row->identity == identity) {
          plan(*row, *record);
        }
      }
    }

    if (options.dry_run) {
      for (const auto& change : result.changes) {
        count_write(result, change.write.action);
      }
    } else if (!result.changes.empty()) {
      std::vector<backend::WriteRequest> writes;
      writes.reserve(result.changes.size());
      for (const auto& change : result.changes) {
        writes.push_back(change.write);
      }
      const auto outcomes = send_writes(*adapter, backend.name, writes);
      const UnixTime at = now();
      db::StateStore::Transaction tx(store);
      std::size_t refused = 0;
      for (std::size_t i = 0; i < outcomes.size(); ++i) {
        auto& change = result.changes[i];
        change.sent = true;
        change.ok = outcomes[i].ok;
        if (change.ok) {
          count_write(result, change.write.action);
          // The planning scan read records without path and ids: write back the full one.
          auto update_record = [&](db::ItemId item, const db::BackendRecord& light) {
            const auto full = store.record(item, backend.name);
            store.upsert_record(item, record_after(full ? *full : light, change.write));
          };
          update_record(ids[i], change.before);
          log_change(store, ids[i], backend.name, change.write, change.before, at, "ok");
          for (const auto& [other, record] : covered[i]) {
            update_record(other, record);
          }
          continue;
        }
        change.error = redact(outcomes[i].message);
        log_change(store, ids[i], backend.name, change.write, change.before, at, change.error);
        ++result.failed;
        refused += outcomes[i].kind == Errc::no_perm ? 1 : 0;
        log::warning("{}", change.error);
        if (result.failed <= k_max_item_errors) {
          errors.push_back({identity, backend.name, outcomes[i].kind, change.error, change.title});
        }
      }
      store.set_cursor(identity, backend.name, "export", at);
      tx.commit();
      if (refused == outcomes.size()) {
        throw Error(Errc::no_perm,
                    fmt::format("{}: the server refused every write (HTTP 401/403)", backend.name));
      }
    }
    result.ok = true;
  } catch (const Error& e) {
    const std::string message = redact(e.what());
    log::error("{}", message);
    errors.push_back({identity, backend.name, e.code(), message, ""});
  }
  result.requests = adapter->requests_sent();
}

} // namespace

std::string_view write_action_name(backend::WriteAction action) {
  switch (action) {
  case backend::WriteAction::mark_played: return "mark_played";
  case backend::WriteAction::mark_unplayed: return "mark_unplayed";
  case backend::WriteAction::set_progress: return "set_progress";
  case backend::WriteAction::reset_progress: return "set_progress";
  }
  return "set_progress";
}

int ExportResult::exit_code() const {
  const int code = exit_code_for_backends(errors, backends_attempted);
  if (code != exit_code::ok) {
    return code;
  }
  for (const auto& identity : identities) {
    for (const auto& b : identity.backends) {
      if (b.failed > 0) {
        return exit_code::attention;
      }
    }
  }
  return exit_code::ok;
}

ExportResult run_export(const config::Config& config, db::StateStore& store,
                        const RunOptions& options,
                        const std::vector<BackendError>& import_errors) {
  validate_backend_filter(config, options);
  ExportResult result;
  for (const auto& identity : identities_to_run(config, options)) {
    IdentityExportResult identity_result;
    identity_result.identity = identity;
    for (const auto& backend : config::backends_for_identity(config, identity)) {
      // export.enabled: false is never written to, also when named with -s.
      if (!backend.export_enabled || !backend_selected(options, backend.name)) {
        continue;
      }
      const auto started = Clock::now();
      ++result.backends_attempted;
      BackendExportResult b;
      b.backend = backend.name;
      const bool unread = std::any_of(import_errors.begin(), import_errors.end(), [&](const auto& e) {
        return e.item.empty() && e.identity == identity && e.backend == backend.name;
      });
      if (unread) {
        // Its current state is unknown: writing from an older view could undo what the user
        // did there since. The import error already says why.
        log::warning("{}: not exported: its state could not be read in this run", backend.name);
        identity_result.backends.push_back(std::move(b));
        continue;
      }
      export_backend(config, store, options, identity, backend, b, result.errors);
      b.duration_ms = elapsed_ms(started);
      log::info("{}: {} checked, {} marked played, {} marked unplayed, {} positions, {} failed",
                backend.name, b.checked, b.marked_played, b.marked_unplayed, b.progress_updated,
                b.failed);
      identity_result.backends.push_back(std::move(b));
    }
    result.identities.push_back(std::move(identity_result));
  }
  return result;
}

namespace {

void write_state(json::Writer& out, bool watched, UnixTime played_at, std::int64_t progress_ms) {
  out.begin_object();
  out.field("watched", watched);
  out.key("played_at");
  if (watched && played_at > 0) {
    out.value(format_rfc3339(played_at));
  } else {
    out.null();
  }
  out.field("progress_ms", progress_ms);
  out.end_object();
}

} // namespace

void write_export_result(json::Writer& out, const ExportResult& result) {
  out.begin_object().key("identities").begin_object();
  for (const auto& identity : result.identities) {
    out.key(identity.identity).begin_object().key("backends").begin_object();
    for (const auto& b : identity.backends) {
      out.key(b.backend).begin_object();
      out.field("status", b.ok ? "ok" : "failed");
      out.field("checked", b.checked);
      out.field("marked_played", b.marked_played);
      out.field("marked_unplayed", b.marked_unplayed);
      out.field("progress_updated", b.progress_updated);
      out.field("unchanged", b.unchanged);
      out.field("playing", b.playing);
      out.field("failed", b.failed);
      out.field("requests", b.requests);
      out.field("duration_ms", b.duration_ms);
      out.key("changes").begin_array();
      for (const auto& c : b.changes) {
        const auto after = record_after(c.before, c.write);
        out.begin_object();
        out.field("title", c.title);
        out.field("type", c.type == backend::MediaType::episode ? "episode" : "movie");
        out.field("action", write_action_name(c.write.action));
        out.field("id", c.write.remote_id);
        out.key("from");
        write_state(out, c.before.watched, c.before.played_at, c.before.progress_ms);
        out.key("to");
        write_state(out, after.watched, after.played_at, after.progress_ms);
        out.field("status", !c.sent ? "planned" : (c.ok ? "ok" : "failed"));
        if (!c.error.empty()) {
          out.field("error", c.error);
        }
        out.end_object();
      }
      out.end_array();
      out.end_object();
    }
    out.end_object().end_object();
  }
  out.end_object().end_object();
}

std::vector<backend::WriteOutcome> send_writes(backend::Backend& adapter,
                                               const std::string& backend_name,
                                               const std::vector<backend::WriteRequest>& writes) {
  if (!progress::enabled()) {
    return adapter.write(writes);
  }
  // Slices large enough that the wait for each slice's last write costs nothing noticeable.
  constexpr std::size_t k_slice = 256;
  progress::Bar bar(backend_name, "writing", writes.size());
  std::vector<backend::WriteOutcome> outcomes;
  outcomes.reserve(writes.size());
  for (std::size_t start = 0; start < writes.size(); start += k_slice) {
    const auto end = std::min(writes.size(), start + k_slice);
    const std::vector<backend::WriteRequest> slice(writes.begin() + static_cast<std::ptrdiff_t>(start),
                                                   writes.begin() + static_cast<std::ptrdiff_t>(end));
    auto done = adapter.write(slice);
    bar.advance(done.size());
    std::move(done.begin(), done.end(), std::back_inserter(outcomes));
  }
  return outcomes;
}

} // namespace ws::sync
