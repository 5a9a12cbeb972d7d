// SPDX-License-Identifier: MIT
#include <watchstate/sync/mark.hpp>

#include <watchstate/core/error.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/sync/display.hpp>
#include <watchstate/sync/import_rules.hpp>
#include <watchstate/sync/open_backend.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace ws::sync {
namespace {

std::string state_text(bool watched, UnixTime when) {
  return fmt::format("{}@{}", watched ? "played" : "unplayed", when);
}

bool is_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

std::optional<UnixTime> parse_mark_date(std::string_view text) {
  if (text.size() == 10 && is_digits(text.substr(0, 4)) && text[4] == '-' &&
      is_digits(text.substr(5, 2)) && text[7] == '-' && is_digits(text.substr(8, 2))) {
    return parse_iso8601(fmt::format("{}T00:00:00Z", text));
  }
  // A date and a time: the servers' ISO 8601 reader, which also checks the ranges.
  return text.size() >= 19 ? parse_iso8601(text) : std::nullopt;
}

MarkPlan plan_mark(const db::ItemRow& row, const std::vector<db::BackendRecord>& records,
                   const MarkRequest& request) {
  MarkPlan plan;
  plan.row = row;
  UnixTime newest_record_play = 0;
  bool outranked = false; // a backend's play export would not undo (not older than the row's date)
  for (const auto& r : records) {
    if (r.watched) {
      newest_record_play = std::max(newest_record_play, r.played_at);
      outranked = outranked || r.played_at >= row.updated;
    }
  }
  plan.newest_play = std::max(newest_record_play, row.watched ? row.updated : UnixTime{0});
  if (request.at && *request.at > request.now) {
    throw Error(Errc::usage, fmt::format("--at {} is in the future", format_rfc3339(*request.at)));
  }

  auto& out = plan.row;
  if (request.played) {
    const UnixTime when = request.at.value_or(request.now);
    if (row.watched && (!request.at || *request.at == row.updated)) {
      return plan; // played already; export still brings the backends into line
    }
    out.watched = true;
    out.updated = when;
    out.progress_ms = 0; // a played row keeps no resume position (as the import does)
    out.progress_at = 0;
  } else {
    if (request.at && *request.at <= plan.newest_play) {
      throw Error(Errc::usage,
                  fmt::format("--at {} is not after the play of {}: that play would win at the "
                              "next import; give a later date or leave --at out",
                              format_rfc3339(*request.at), format_rfc3339(plan.newest_play)));
    }
    const bool position_stays = request.keep_position || row.progress_ms == 0;
    if (!row.watched && !request.at && !outranked && position_stays) {
      return plan; // unplayed already, and newer than every play a backend reported
    }
    // After every known play, also when a server's clock is ahead of ours.
    const UnixTime when = request.at.value_or(std::max(request.now, plan.newest_play + 1));
    out.watched = false;
    out.updated = when;
    if (!request.keep_position) {
      out.progress_ms = 0;
      out.progress_at = when;
    }
  }
  out.via = "ws-state";
  out.updated_at = request.now;
  plan.changed = true;
  return plan;
}

std::vector<db::ChangeEntry> apply_mark(db::StateStore& store, const db::ItemRow& before,
                                        const MarkPlan& plan, const std::string& source,
                                        UnixTime now) {
  std::vector<db::ChangeEntry> entries;
  if (!plan.changed) {
    return entries;
  }
  const auto& after = plan.row;
  if (after.watched != before.watched || after.updated != before.updated) {
    entries.push_back({0, after.id, source, "manual", "watched",
                       state_text(before.watched, before.updated),
                       state_text(after.watched, after.updated), now, "ok"});
  }
  if (after.progress_ms != before.progress_ms) {
    entries.push_back({0, after.id, source, "manual", "progress",
                       std::to_string(before.progress_ms), std::to_string(after.progress_ms), now,
                       "ok"});
  }
  db::StateStore::Transaction tx(store);
  store.update_item_state(after);
  for (const auto& e : entries) {
    store.log_change(e);
  }
  tx.commit();
  return entries;
}

ImportResult refresh_item_records(const Services& services, const config::Config& config,
                                  db::StateStore& store, const RunOptions& options,
                                  const db::ItemRow& item) {
  ImportResult result;
  IdentityImportResult identity_result;
  identity_result.identity = item.identity;
  for (const auto& backend : config::backends_for_identity(config, item.identity)) {
    if (!backend.export_enabled || !backend_selected(options, backend.name)) {
      continue;
    }
    const auto records = store.records(item.id, backend.name);
    if (records.empty()) {
      continue; // this backend never reported the item: nothing to read, nothing to write
    }
    ++result.backends_attempted;
    BackendImportCounts counts;
    counts.backend = backend.name;
    counts.metadata_only = true;
    UnconfirmedRecords gone{item.identity, backend.name, {}};
    std::unique_ptr<backend::Backend> adapter;
    try {
      adapter = open_backend(services, config, backend, options);
      auto shows = store.load_shows(item.identity, backend.name);
      std::vector<db::BackendRecord> updated;
      for (const auto& record : records) {
        const auto hits = adapter->find_item(record.remote_id, shows);
        // The hit that is this copy: a multi-episode file gives one hit per episode.
        const backend::RemoteItem* found = nullptr;
        for (const auto& hit : hits) {
          if (hit.kind == backend::FoundItem::Kind::show || hit.item.id != record.remote_id) {
            continue;
          }
          if (found == nullptr ||
              (hit.item.season == record.season && hit.item.episode == record.episode)) {
            found = &hit.item;
          }
        }
        ++counts.fetched;
        if (found == nullptr) {
          log::warning("{}: item {} ('{}') is gone from the server; left alone", backend.name,
                       record.remote_id, display_title(item));
          gone.records.push_back({item.id, record.remote_id});
          continue;
        }
        const auto now_says = make_record(backend.name, *found);
        auto next = record;
        next.watched = now_says.watched;
        next.played_at = now_says.played_at;
        next.added_at = now_says.added_at;
        next.progress_ms = now_says.progress_ms;
        if (now_says.duration_ms > 0) {
          next.duration_ms = now_says.duration_ms;
        }
        if (next != record) {
          updated.push_back(std::move(next));
        }
      }
      // Written only once every copy was read: a backend that failed half-way changes nothing.
      db::StateStore::Transaction tx(store);
      for (const auto& r : updated) {
        store.upsert_record(item.identity, item.id, r);
      }
      tx.commit();
      counts.updated = updated.size();
      counts.unchanged = counts.fetched - updated.size() - gone.records.size();
      counts.ok = true;
    } catch (const Error& e) {
      const std::string message = redact(e.what());
      log::error("{}", message);
      result.errors.push_back({item.identity, backend.name, e.code(), message, ""});
    }
    if (adapter) {
      counts.requests = adapter->requests_sent();
      counts.bytes_received = adapter->bytes_received();
    }
    if (!gone.records.empty()) {
      result.unconfirmed.push_back(std::move(gone));
    }
    identity_result.backends.push_back(std::move(counts));
  }
  result.identities.push_back(std::move(identity_result));
  return result;
}

} // namespace ws::sync
