// SPDX-License-Identifier: MIT
#include <watchstate/sync/export.hpp>

#include <watchstate/core/exit_code.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/progress.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/signals.hpp>
#include <watchstate/sync/display.hpp>
#include <watchstate/sync/export_rules.hpp>
#include <watchstate/sync/ignore_list.hpp>
#include <watchstate/sync/open_backend.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
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
  db::ChangeEntry entry{0,  id, backend, "export", progress ? "progress" : "watched",
                        "", "", at,      outcome};
  if (progress) {
    entry.old_value = std::to_string(before.progress_ms);
    entry.new_value = std::to_string(after.progress_ms);
  } else {
    entry.old_value = change_text(before.watched, before.played_at);
    entry.new_value = change_text(after.watched, after.played_at);
  }
  store.log_change(entry);
}

// The resume positions that follow unmarks (ExportChange::then_position_ms): a second batch, once
// the unmarks are done, so that the server cannot clear a position it just took.
void send_positions_after_unmarks(const Services& services, backend::Backend& adapter,
                                  db::StateStore& store, const std::string& identity,
                                  const std::string& backend_name,
                                  const std::vector<db::ItemId>& ids, BackendExportResult& result,
                                  std::vector<BackendError>& errors) {
  std::vector<std::size_t> which;
  std::vector<backend::WriteRequest> writes;
  for (std::size_t i = 0; i < result.changes.size(); ++i) {
    const auto& change = result.changes[i];
    if (change.ok && change.then_position_ms > 0) {
      backend::WriteRequest w;
      w.remote_id = change.write.remote_id;
      w.action = backend::WriteAction::set_progress;
      w.position_ms = change.then_position_ms;
      w.duration_ms = change.write.duration_ms;
      which.push_back(i);
      writes.push_back(w);
    }
  }
  if (writes.empty()) {
    return;
  }
  const auto outcomes = send_writes(adapter, backend_name, writes);
  const UnixTime at = services.now();
  for (std::size_t k = 0; k < outcomes.size(); ++k) {
    auto& change = result.changes[which[k]];
    const auto before = record_after(change.before, change.write);
    if (outcomes[k].ok) {
      for (auto record : store.records(ids[which[k]], backend_name)) {
        if (record.remote_id == writes[k].remote_id) {
          store.upsert_record(identity, ids[which[k]], record_after(record, writes[k]));
        }
      }
      log_change(store, ids[which[k]], backend_name, writes[k], before, at, "ok");
      continue;
    }
    // The unmark went through; the position did not: reported like any failed write.
    change.ok = false;
    change.error = redact(outcomes[k].message);
    log_change(store, ids[which[k]], backend_name, writes[k], before, at, change.error);
    ++result.failed;
    log::warning("{}", change.error);
    if (result.failed <= k_max_item_errors) {
      errors.push_back({identity, backend_name, outcomes[k].kind, change.error, change.title});
    }
  }
}

void export_backend(const Services& services, const config::Config& config, db::StateStore& store,
                    const RunOptions& options, const std::string& identity,
                    const config::BackendConfig& backend,
                    const std::vector<db::RecordRef>& unlisted, BackendExportResult& result,
                    std::vector<BackendError>& errors) {
  auto adapter = open_backend(services, config, backend, options);
  ExportPolicy policy;
  policy.ignore_date = options.ignore_date;
  policy.progress_sync = config.progress.sync;
  policy.progress_minimum_ms = static_cast<std::int64_t>(config.progress.minimum) * 1000;
  policy.can_reset_progress = backend.type != model::BackendType::plex;

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
    std::vector<std::vector<std::pair<db::ItemId, db::BackendRecord>>> covered;
    // The rows of each multi-episode file, with what each would write: decided once all are
    // known (the file is written only when its episodes agree).
    struct Wanted {
      db::ItemRow row;
      db::BackendRecord record;
      std::optional<backend::WriteRequest> write;
    };
    std::map<std::string, std::vector<Wanted>> files;
    std::unordered_set<std::string> skipped;
    for (const auto& r : unlisted) {
      skipped.insert(fmt::format("{}/{}", r.item, r.remote_id));
    }
    const IgnoreList ignore(config.matching.ignore, backend.name);
    auto add_change = [&](const db::ItemRow& row, const db::BackendRecord& remote,
                          const backend::WriteRequest& write) {
      if (playing.count(remote.remote_id) > 0) {
        ++result.playing;
        log::info("{}: '{}' is being played; left alone", backend.name, display_title(row));
        return false;
      }
      ExportChange change{display_title(row), row.type, write, remote, 0, false, false, ""};
      if (write.action == backend::WriteAction::mark_unplayed && policy.progress_sync &&
          row.progress_ms >= policy.progress_minimum_ms) {
        change.then_position_ms = row.progress_ms;
      }
      result.changes.push_back(std::move(change));
      ids.push_back(row.id);
      covered.emplace_back();
      return true;
    };
    auto plan = [&](const db::ItemRow& row, const db::BackendRecord& record) {
      if (!skipped.empty() && skipped.count(fmt::format("{}/{}", row.id, record.remote_id)) > 0) {
        ++result.unlisted;
        return;
      }
      if (!ignore.empty() && ignore.item_rule(record.remote_id) != nullptr) {
        ++result.ignored; // never written, whatever the row says
        return;
      }
      ++result.checked;
      auto write = decide_export(row, record, policy);
      if (record.multi) {
        files[record.remote_id].push_back({row, record, std::move(write)});
        return;
      }
      if (!write) {
        ++result.unchanged;
        return;
      }
      add_change(row, record, *write);
    };
    if (options.only_items.empty()) {
      store.for_each_with_record(identity, backend.name, plan);
    } else {
      // A webhook's rows: the same plan for just these (a row this backend never reported
      // has nothing to write to).
      for (const auto id : options.only_items) {
        const auto row = store.item(id);
        if (!row || row->identity != identity) {
          continue;
        }
        for (const auto& record : store.records(id, backend.name)) {
          plan(*row, record); // every copy of the item on this backend
        }
      }
    }
    // A multi-episode file is written only when every episode it covers asks for the same
    // write: marking it played while one of its episodes is unwatched would mark that episode
    // watched on this server (and, through it, everywhere).
    for (auto& [remote_id, wanted] : files) {
      const auto all = store.records_by_remote_id(identity, backend.name, remote_id);
      for (const auto& [row_id, record] : all) {
        const bool known = std::any_of(wanted.begin(), wanted.end(),
                                       [&](const Wanted& w) { return w.row.id == row_id; });
        if (!known) { // a webhook's export plans some rows only
          if (const auto row = store.item(row_id)) {
            wanted.push_back({*row, record, decide_export(*row, record, policy)});
          }
        }
      }
      const auto& first = wanted.front().write;
      const bool agree = std::all_of(wanted.begin(), wanted.end(), [&](const Wanted& w) {
        return w.write.has_value() == first.has_value() &&
               (!first ||
                (w.write->action == first->action && w.write->position_ms == first->position_ms));
      });
      if (!first || !agree) {
        result.unchanged += wanted.size();
        if (first || std::any_of(wanted.begin(), wanted.end(),
                                 [](const Wanted& w) { return w.write.has_value(); })) {
          log::debug("{}: '{}' (id {}) holds episodes in different states; left as it is",
                     backend.name, display_title(wanted.front().row), remote_id);
        }
        continue;
      }
      if (add_change(wanted.front().row, wanted.front().record, *first)) {
        for (std::size_t i = 1; i < wanted.size(); ++i) {
          covered.back().emplace_back(wanted[i].row.id, wanted[i].record);
        }
      }
      result.unchanged += wanted.size() - 1;
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
      const UnixTime at = services.now();
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
            const auto copies = store.records(item, backend.name);
            const auto full = std::find_if(copies.begin(), copies.end(), [&](const auto& r) {
              return r.remote_id == light.remote_id;
            });
            store.upsert_record(identity, item,
                                record_after(full != copies.end() ? *full : light, change.write));
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
      send_positions_after_unmarks(services, *adapter, store, identity, backend.name, ids, result,
                                   errors);
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
  result.bytes_received = adapter->bytes_received();
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
  return exit_code_for_run(errors, backends_attempted, identities);
}

ExportResult run_export(const Services& services, const config::Config& config,
                        db::StateStore& store, const RunOptions& options,
                        const ImportResult* imported) {
  static const std::vector<BackendError> k_no_errors;
  const auto& import_errors = imported != nullptr ? imported->errors : k_no_errors;
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
      const bool unread =
          std::any_of(import_errors.begin(), import_errors.end(), [&](const auto& e) {
            return e.item.empty() && e.identity == identity && e.backend == backend.name;
          });
      if (unread) {
        // Its current state is unknown: writing from an older view could undo what the user
        // did there since. The import error already says why.
        log::warning("{}: not exported: its state could not be read in this run", backend.name);
        identity_result.backends.push_back(std::move(b));
        continue;
      }
      static const std::vector<db::RecordRef> k_none;
      const std::vector<db::RecordRef>* unlisted = &k_none;
      if (imported != nullptr) {
        for (const auto& u : imported->unconfirmed) {
          if (u.identity == identity && u.backend == backend.name) {
            unlisted = &u.records;
          }
        }
      }
      export_backend(services, config, store, options, identity, backend, *unlisted, b,
                     result.errors);
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
    const std::vector<backend::WriteRequest> slice(
        writes.begin() + static_cast<std::ptrdiff_t>(start),
        writes.begin() + static_cast<std::ptrdiff_t>(end));
    auto done = adapter.write(slice);
    bar.advance(done.size());
    std::move(done.begin(), done.end(), std::back_inserter(outcomes));
  }
  return outcomes;
}

} // namespace ws::sync
