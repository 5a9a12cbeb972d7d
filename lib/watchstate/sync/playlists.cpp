// SPDX-License-Identifier: MIT
#include <watchstate/core/exit_code.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/signals.hpp>
#include <watchstate/sync/open_backend.hpp>
#include <watchstate/sync/playlists.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>

namespace ws::sync {
namespace {

using Clock = std::chrono::steady_clock;

struct BackendRun {
  std::unique_ptr<backend::Backend> adapter;
  BackendPlaylistResult result;
  Clock::time_point started;
};

// Read one backend's playlists, each entry resolved to its local row.
std::vector<ObservedPlaylist> read_playlists(backend::Backend& adapter,
                                             const config::BackendConfig& backend,
                                             db::StateStore& store, const std::string& identity) {
  const auto server = adapter.server_info();
  if (!backend.uuid.empty() && server.id != backend.uuid) {
    throw Error(Errc::config,
                fmt::format("{}: the server at {} has id '{}', not the configured uuid '{}'",
                            backend.name, backend.url, server.id, backend.uuid));
  }
  std::vector<ObservedPlaylist> out;
  for (auto& remote : adapter.playlists()) {
    throw_if_interrupted();
    ObservedPlaylist o;
    o.local.reserve(remote.entries.size());
    for (const auto& e : remote.entries) {
      // A multi-episode file is recorded on each episode's row: the first stands for it.
      const auto rows = store.records_by_remote_id(identity, backend.name, e.item_id);
      o.local.push_back(rows.empty() ? std::nullopt
                                     : std::optional<db::ItemId>(rows.front().first));
    }
    o.remote = std::move(remote);
    out.push_back(std::move(o));
  }
  return out;
}

} // namespace

// Declared in playlists.hpp (ws-backup restore sends its playlist writes through it too).
std::optional<db::PlaylistCopy> apply_playlist_target(backend::Backend& adapter,
                                                      PlaylistTarget& target,
                                                      const std::string& title, UnixTime now,
                                                      BackendPlaylistResult& counts,
                                                      std::vector<BackendError>& failures) {
  std::map<std::string, std::string> new_entries; // "new:N" -> the entry id the server gave
  std::size_t appended = 0;
  const auto resolve = [&](const std::string& id) {
    if (!id.starts_with("new:")) {
      return id;
    }
    if (new_entries.empty() && appended > 0) {
      // The appended entries are the last ones of the list, in the order they were sent.
      const auto now_held = adapter.playlist(target.remote_id);
      const auto& entries = now_held.entries;
      if (entries.size() < appended) {
        throw Error(Errc::protocol, "the playlist holds fewer entries than were added");
      }
      for (std::size_t k = 0; k < appended; ++k) {
        new_entries[fmt::format("new:{}", k)] = entries[entries.size() - appended + k].entry_id;
      }
    }
    const auto it = new_entries.find(id);
    if (it == new_entries.end()) {
      throw Error(Errc::internal, fmt::format("no entry {} was added", id));
    }
    return it->second;
  };

  bool failed = false;
  bool deleted = false;
  for (auto& op : target.ops) {
    if (failed) {
      break; // not sent: the playlist is in a state the plan did not foresee
    }
    try {
      switch (op.kind) {
      case PlaylistOp::Kind::create:
        target.remote_id = adapter.create_playlist(op.title, op.item_ids);
        break;
      case PlaylistOp::Kind::rename: adapter.rename_playlist(target.remote_id, op.title); break;
      case PlaylistOp::Kind::remove:
        adapter.remove_from_playlist(target.remote_id, op.entry_ids);
        break;
      case PlaylistOp::Kind::add:
        adapter.add_to_playlist(target.remote_id, op.item_ids);
        appended = op.item_ids.size();
        break;
      case PlaylistOp::Kind::move:
        adapter.move_in_playlist(target.remote_id, resolve(op.entry_id), op.index,
                                 op.after.empty() ? std::string() : resolve(op.after));
        break;
      case PlaylistOp::Kind::remove_playlist:
        adapter.delete_playlist(target.remote_id);
        deleted = true;
        break;
      }
      op.sent = true;
      op.ok = true;
      ++counts.writes;
    } catch (const Error& e) {
      op.sent = true;
      op.error = redact(e.what());
      ++counts.writes;
      ++counts.failed;
      failed = true;
      failures.push_back({{},
                          target.backend,
                          e.code(),
                          fmt::format("{}: playlist '{}': {} failed: {}", target.backend, title,
                                      playlist_op_name(op.kind), op.error),
                          title});
      log::warning("{}", failures.back().message);
    }
  }
  if (deleted) {
    return db::PlaylistCopy{target.backend, "", "", true, now};
  }
  if (target.remote_id.empty()) {
    return std::nullopt;
  }
  // What the copy holds now is what the next run compares with: read it back.
  try {
    const auto held = adapter.playlist(target.remote_id);
    std::vector<std::string> items;
    for (const auto& e : held.entries) {
      items.push_back(e.item_id);
    }
    if (!failed && (items != target.desired || held.title != title)) {
      ++counts.failed;
      failures.push_back({{},
                          target.backend,
                          Errc::protocol,
                          fmt::format("{}: playlist '{}' holds another list than was written",
                                      target.backend, title),
                          title});
      log::warning("{}", failures.back().message);
    }
    return db::PlaylistCopy{target.backend, target.remote_id, playlist_signature(held), false, now};
  } catch (const Error& e) {
    log::warning("{}: playlist '{}' could not be read back: {}", target.backend, title,
                 redact(e.what()));
    return db::PlaylistCopy{target.backend, target.remote_id,
                            std::string(k_unknown_playlist_signature), false, now};
  }
}

int PlaylistResult::exit_code() const {
  return exit_code_for_run(errors, backends_attempted, identities);
}

PlaylistResult run_playlists(const Services& services, const config::Config& config,
                             db::StateStore& store, const RunOptions& options,
                             const PlaylistRunOptions& playlist_options) {
  validate_backend_filter(config, options);
  PlaylistResult result;
  result.dry_run = options.dry_run;
  for (const auto& identity : identities_to_run(config, options)) {
    IdentityPlaylistResult identity_result;
    identity_result.identity = identity;
    const auto backends = config::backends_for_identity(config, identity);

    PlaylistPlanInput input;
    input.identity = identity;
    input.now = services.now();
    input.propagate_deletes = playlist_options.propagate_deletes;
    input.known = store.playlists(identity);
    input.copies_on = [&](db::ItemId item, const std::string& backend) {
      std::vector<std::string> ids;
      for (const auto& r : store.records(item, backend)) {
        ids.push_back(r.remote_id);
      }
      return ids;
    };

    std::vector<BackendRun> runs;
    for (const auto& backend : backends) {
      if (!backend.playlists_enabled || !backend_selected(options, backend.name)) {
        continue;
      }
      ++result.backends_attempted;
      BackendRun run;
      run.started = Clock::now();
      run.result.backend = backend.name;
      PlaylistBackend view;
      view.name = backend.name;
      view.writable = backend.export_enabled;
      view.has_edit_time = backend.type == model::BackendType::plex;
      try {
        run.adapter = open_backend(services, config, backend, options);
        view.playlists = read_playlists(*run.adapter, backend, store, identity);
        run.result.ok = true;
        for (const auto& o : view.playlists) {
          run.result.playlists += o.remote.video ? 1 : 0;
        }
      } catch (const Error& e) {
        view.readable = false;
        result.errors.push_back({identity, backend.name, e.code(), redact(e.what()), {}});
        log::error("{}", result.errors.back().message);
      }
      input.backends.push_back(std::move(view));
      runs.push_back(std::move(run));
    }

    auto plan = plan_playlists(input);
    std::unique_ptr<db::StateStore::Transaction> tx;
    if (!options.dry_run) {
      tx = std::make_unique<db::StateStore::Transaction>(store);
    }
    for (auto& p : plan.playlists) {
      bool delete_failed = false; // then the row stays as it was: the next --delete retries
      for (auto& t : p.targets) {
        auto run = std::find_if(runs.begin(), runs.end(),
                                [&](const BackendRun& r) { return r.result.backend == t.backend; });
        if (options.dry_run) {
          run->result.writes += t.ops.size();
          continue;
        }
        if (t.ops.empty()) {
          continue;
        }
        throw_if_interrupted();
        std::vector<BackendError> failures;
        auto copy =
            apply_playlist_target(*run->adapter, t, p.next.title, input.now, run->result, failures);
        for (auto& f : failures) {
          f.identity = identity;
          result.errors.push_back(std::move(f));
        }
        if (t.ops.front().kind == PlaylistOp::Kind::remove_playlist && !t.ops.front().ok) {
          delete_failed = true;
          continue;
        }
        auto& copies = p.next.copies;
        copies.erase(
            std::remove_if(copies.begin(), copies.end(),
                           [&](const db::PlaylistCopy& c) { return c.backend == t.backend; }),
            copies.end());
        if (copy) {
          copies.push_back(std::move(*copy));
        }
      }
      if (options.dry_run || delete_failed) {
        continue;
      }
      std::sort(p.next.copies.begin(), p.next.copies.end(),
                [](const auto& a, const auto& b) { return a.backend < b.backend; });
      const auto known =
          std::find_if(input.known.begin(), input.known.end(),
                       [&](const db::PlaylistRow& k) { return k.id == p.next.id && k.id != 0; });
      if (p.forget) {
        if (p.next.id != 0) {
          store.delete_playlist(p.next.id);
        }
        continue;
      }
      // Unchanged (but for the time of this run) is not written: a no-change run writes nothing.
      if (known != input.known.end()) {
        auto before = *known;
        before.synced_at = p.next.synced_at;
        if (before == p.next) {
          continue;
        }
      }
      p.next.id = store.save_playlist(p.next);
    }
    if (tx) {
      tx->commit();
    }
    for (auto& run : runs) {
      run.result.requests = run.adapter ? run.adapter->requests_sent() : 0;
      run.result.bytes_received = run.adapter ? run.adapter->bytes_received() : 0;
      run.result.duration_ms = elapsed_ms(run.started);
      if (run.result.failed > 0) {
        run.result.ok = false;
      }
      identity_result.backends.push_back(std::move(run.result));
    }
    identity_result.plan = std::move(plan);
    result.identities.push_back(std::move(identity_result));
  }
  return result;
}

} // namespace ws::sync
