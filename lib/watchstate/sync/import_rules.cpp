// SPDX-License-Identifier: MIT
#include <watchstate/sync/import_rules.hpp>

#include <cstdlib>

namespace ws::sync {
namespace {

bool should_mark_unplayed(const db::ItemRow& local,
                          const std::optional<db::BackendRecord>& previous,
                          const backend::RemoteItem& remote, const ImportPolicy& policy) {
  // A backend drops the last-played date when an item is unmarked, so "it said played before,
  // it is the same item with the same added date, and now it says unplayed" can only mean a
  // deliberate unmark. Anything weaker (a re-added file, a new item id) is not enough.
  return !remote.played && local.watched && !policy.metadata_only &&
         !policy.disable_mark_unplayed && previous && previous->watched &&
         previous->remote_id == remote.id && previous->added_at == remote.added_at;
}

// Resume positions closer than this are the same position (clients report jitter).
constexpr std::int64_t k_progress_tolerance_ms = 10;

} // namespace

UnixTime remote_state_date(const backend::RemoteItem& remote) {
  if (remote.played && remote.last_played > 0) {
    return remote.last_played;
  }
  return remote.added_at;
}

db::BackendRecord make_record(const std::string& backend_name, const backend::RemoteItem& remote) {
  db::BackendRecord r;
  r.backend = backend_name;
  r.remote_id = remote.id;
  r.library_id = remote.library_id;
  r.show_id = remote.show_id;
  r.watched = remote.played;
  r.played_at = remote.played ? remote_state_date(remote) : 0;
  r.added_at = remote.added_at;
  r.progress_ms = remote.progress_ms; // also on played items: a stale position export clears
  r.duration_ms = remote.duration_ms;
  r.path = remote.path;
  r.multi = remote.multi;
  r.guids = remote.guids;
  r.year = remote.year;
  r.season = remote.season;
  r.episode = remote.episode;
  r.title = remote.title;
  return r;
}

ImportDecision decide_import(const db::ItemRow& local,
                             const std::optional<db::BackendRecord>& previous,
                             const backend::RemoteItem& remote, const ImportPolicy& policy) {
  ImportDecision d;
  d.record_changed = !previous || *previous != make_record(previous->backend, remote);
  if (policy.metadata_only) {
    return d;
  }

  if (policy.force_full) {
    if (remote.played != local.watched) {
      d.state = remote.played ? StateChange::played : StateChange::unplayed;
      // An unplayed report carries no date of its own; the change happens now.
      d.new_updated = remote.played ? remote_state_date(remote) : policy.now;
    }
  } else if (remote.played && !local.watched) {
    UnixTime date = remote_state_date(remote);
    if (remote.played_without_date && previous && !previous->watched && policy.cursor) {
      // Jellyfin can report Played without a LastPlayedDate. It was unplayed at the last
      // import, so the play happened after the cursor: date it at the earliest such moment.
      date = *policy.cursor + 1;
    }
    if (date > local.updated) {
      d.state = StateChange::played;
      d.new_updated = date;
    }
  } else if (should_mark_unplayed(local, previous, remote, policy)) {
    d.state = StateChange::unplayed;
    d.new_updated = policy.now;
    d.deliberate_unmark = true;
  }

  const bool ends_watched =
      d.state == StateChange::played || (d.state == StateChange::none && local.watched);
  if (policy.progress_sync && !remote.played && !ends_watched &&
      remote.progress_ms >= policy.progress_minimum_ms) {
    const std::int64_t before = previous ? previous->progress_ms : 0;
    const bool moved = std::llabs(remote.progress_ms - before) > k_progress_tolerance_ms;
    const bool differs =
        std::llabs(remote.progress_ms - local.progress_ms) > k_progress_tolerance_ms;
    // When did the backend's position change? If it moved since our last look, between the
    // cursor and now; on a first look we only know the backend's last-played date, if any.
    const UnixTime observed = previous ? policy.now : remote.last_played;
    // A move seen since our last look happened after the local position was taken, also within
    // the same second (a webhook right after a sync).
    const bool newer = observed > local.progress_at || (previous && observed == local.progress_at);
    if (moved && differs && (local.progress_ms == 0 || newer)) {
      d.progress_changed = true;
      d.new_progress_ms = remote.progress_ms;
      d.new_progress_at = observed > 0 ? observed : policy.now;
    }
  }
  return d;
}

db::ItemRow new_row_from(const backend::RemoteItem& remote, const std::string& identity,
                         const std::string& backend_name, const std::string& title, int year,
                         const ImportPolicy& policy) {
  db::ItemRow row;
  row.identity = identity;
  row.type = remote.type;
  row.title = title;
  row.year = year;
  row.season = remote.type == model::MediaType::episode ? remote.season : -1;
  row.episode = remote.type == model::MediaType::episode ? remote.episode : -1;
  row.watched = remote.played;
  // An unplayed row carries no event until someone unmarks it: its date stays 0, so any real
  // play (on any backend, whenever) outranks it, and export never unmarks a backend because of
  // it. A backend's added date is not an event.
  row.updated = remote.played ? remote_state_date(remote) : 0;
  if (!remote.played && policy.progress_sync && remote.progress_ms >= policy.progress_minimum_ms) {
    row.progress_ms = remote.progress_ms;
    row.progress_at = remote.last_played > 0 ? remote.last_played : policy.now;
  }
  row.via = backend_name;
  row.created_at = policy.now;
  row.updated_at = policy.now;
  return row;
}

} // namespace ws::sync
