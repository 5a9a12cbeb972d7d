// SPDX-License-Identifier: MIT
#include <watchstate/sync/export_rules.hpp>

#include <cstdlib>

namespace ws::sync {

std::optional<backend::WriteRequest> decide_export(const db::ItemRow& local,
                                                   const db::BackendRecord& remote,
                                                   const ExportPolicy& policy) {
  backend::WriteRequest w;
  w.remote_id = remote.remote_id;
  w.duration_ms = remote.duration_ms;
  if (local.watched && !remote.watched) {
    w.action = backend::WriteAction::mark_played;
    w.played_at = local.updated;
    return w;
  }
  if (!local.watched && remote.watched) {
    if (policy.ignore_date || local.updated > remote.played_at) {
      w.action = backend::WriteAction::mark_unplayed;
      return w;
    }
    return std::nullopt;
  }
  if (local.watched) {
    if (policy.can_reset_progress && remote.progress_ms > 0) {
      w.action = backend::WriteAction::reset_progress;
      return w;
    }
    return std::nullopt;
  }
  if (!policy.progress_sync) {
    return std::nullopt;
  }
  if (local.progress_ms >= policy.progress_minimum_ms &&
      std::llabs(local.progress_ms - remote.progress_ms) > k_export_progress_tolerance_ms) {
    w.action = backend::WriteAction::set_progress;
    w.position_ms = local.progress_ms;
    return w;
  }
  // The row's position was cleared: an unmark (import) or `ws-state mark ID unplayed`, which
  // leave position 0 with a date. What the backend still holds the import did not take: it has
  // not moved since the last run (one that moved is newer and taken), so it is from before the
  // unmark, when the play (or the mark) cleared it everywhere else.
  if (local.progress_ms == 0 && local.progress_at > 0 &&
      remote.progress_ms >= policy.progress_minimum_ms) {
    w.action = backend::WriteAction::reset_progress;
    return w;
  }
  return std::nullopt;
}

db::BackendRecord record_after(const db::BackendRecord& remote,
                               const backend::WriteRequest& write) {
  db::BackendRecord r = remote;
  switch (write.action) {
  case backend::WriteAction::mark_played:
    r.watched = true;
    r.played_at = write.played_at;
    r.progress_ms = 0;
    break;
  case backend::WriteAction::mark_unplayed:
    r.watched = false;
    r.played_at = 0;
    r.progress_ms = 0;
    break;
  case backend::WriteAction::set_progress: r.progress_ms = write.position_ms; break;
  case backend::WriteAction::reset_progress: r.progress_ms = 0; break;
  }
  return r;
}

} // namespace ws::sync
