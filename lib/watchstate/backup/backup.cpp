// SPDX-License-Identifier: MIT
#include <watchstate/backup/backup.hpp>

#include <watchstate/backup/backup_file.hpp>
#include <watchstate/core/exit_code.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/lock.hpp>
#include <watchstate/core/progress.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/signals.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/sync/display.hpp>
#include <watchstate/sync/export.hpp>
#include <watchstate/sync/export_rules.hpp>
#include <watchstate/sync/ignore_list.hpp>
#include <watchstate/sync/import_rules.hpp>
#include <watchstate/sync/matching.hpp>
#include <watchstate/sync/open_backend.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <unordered_map>
#include <unordered_set>

namespace ws::backup {
namespace {

using Clock = std::chrono::steady_clock;

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (std::size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos; pos += to.size()) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

// Merge `extra` into `guids` where `guids` has no value for the key: the item's own ids win.
void merge_guids(backend::Guids& guids, const backend::Guids& extra) {
  for (const auto& g : extra) {
    const bool present = std::any_of(guids.begin(), guids.end(),
                                     [&](const backend::Guid& own) { return own.key == g.key; });
    if (!present) {
      guids.push_back(g);
    }
  }
  std::sort(guids.begin(), guids.end(),
            [](const backend::Guid& a, const backend::Guid& b) { return a.key < b.key; });
}

// The caller holds the run lock, so no other run is writing a backup here: a "*.json*.tmp" file
// is what a run killed mid-write (kill -9, power loss) left behind, never a backup. Removed so
// that interrupted runs do not pile up partial files.
void remove_stale_temp_files(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    std::error_code type_ec;
    if (!entry.is_regular_file(type_ec) || name.find(".json") == std::string::npos ||
        !name.ends_with(".tmp")) {
      continue;
    }
    std::error_code remove_ec;
    if (std::filesystem::remove(entry.path(), remove_ec)) {
      log::info("removed {}, left behind by an interrupted run", entry.path().string());
    }
  }
}

// A backup of, or a restore into, another server than the configured one would silently mix two
// servers' state: refuse it like the import does (Errc::config, exit 78).
void check_server_id(backend::Backend& adapter, const config::BackendConfig& backend) {
  if (backend.uuid.empty()) {
    return;
  }
  const auto server = adapter.server_info();
  if (server.id != backend.uuid) {
    throw Error(Errc::config,
                fmt::format("{}: the server at {} has id '{}', not the configured uuid '{}'",
                            backend.name, backend.url, server.id, backend.uuid));
  }
}

db::ItemRow row_for_title(const backend::RemoteItem& item, const backend::RemoteShow* show) {
  db::ItemRow row;
  row.type = item.type;
  row.title = show != nullptr && !show->title.empty() ? show->title : item.title;
  row.year = show != nullptr && show->year > 0 ? show->year : item.year;
  row.season = item.season;
  row.episode = item.episode;
  return row;
}

BackupRecord record_from(const backend::RemoteItem& item, const backend::RemoteShow* show) {
  BackupRecord r;
  r.episode = item.type == backend::MediaType::episode;
  r.watched = item.played;
  r.updated = sync::remote_state_date(item);
  r.year = item.year;
  r.guids = item.guids;
  if (r.episode) {
    r.show = show != nullptr && !show->title.empty() ? show->title : item.title;
    r.title = fmt::format("{}x{}", item.season, item.episode);
    r.season = item.season;
    r.episode_number = item.episode;
    if (show != nullptr) {
      r.parent = show->guids;
      if (show->year > 0) {
        r.year = show->year;
      }
    }
  } else {
    r.title = item.title;
  }
  r.progress_ms = item.played ? 0 : item.progress_ms;
  return r;
}

// What a backup record is, for the matching rules of import (sync/matching.hpp).
sync::ItemIdentity record_identity(const BackupRecord& r) {
  sync::ItemIdentity identity;
  identity.type = r.episode ? backend::MediaType::episode : backend::MediaType::movie;
  identity.ids = r.guids;
  identity.names.push_back({r.episode ? r.show : r.title, r.year});
  if (r.episode) {
    identity.season = r.season;
    identity.episode = r.episode_number;
    identity.show_ids = r.parent;
  }
  return identity;
}

const std::regex& dated_name() {
  static const std::regex pattern(
      R"(^(?:([a-z0-9_]+)\.)?([a-z0-9_]+)\.(\d{8})\.json(\.gz|\.zip)?$)");
  return pattern;
}

} // namespace

std::filesystem::path backup_dir(const config::Config& config) {
  return config.state_dir / "backups";
}

int CreateResult::exit_code() const { return sync::exit_code_for_backends(errors, attempted); }

CreateResult create_backups(const config::Config& config, db::StateStore& store,
                            const sync::RunOptions& options, const CreateOptions& create) {
  sync::validate_backend_filter(config, options);
  CreateResult result;
  const auto dir = backup_dir(config);
  if (!options.dry_run) {
    ensure_directory(dir);
    remove_stale_temp_files(dir);
  }
  const std::string date = format_compact_utc(now()).substr(0, 8);
  const std::string name_template =
      !create.file_template.empty()
          ? create.file_template
          : std::string("{identity}.{backend}.{date}.json") + (create.compress ? ".gz" : "");

  for (const auto& identity : sync::identities_to_run(config, options)) {
    for (const auto& backend : config::backends_for_identity(config, identity)) {
      if (!sync::backend_selected(options, backend.name)) {
        continue;
      }
      ++result.attempted;
      const auto started = Clock::now();
      CreatedFile file;
      file.identity = identity;
      file.backend = backend.name;
      std::filesystem::path name = replace_all(
          replace_all(replace_all(name_template, "{identity}", identity), "{backend}",
                      backend.name),
          "{date}", date);
      file.path = name.is_absolute() ? name : dir / name;

      auto adapter = sync::open_backend(config, backend, options);
      try {
        check_server_id(*adapter, backend);
        auto shows = store.load_shows(backend.name);
        const auto libraries = sync::wanted_libraries(*adapter, backend, options);
        std::optional<BackupWriter> writer;
        if (!options.dry_run) {
          writer.emplace(file.path);
        }
        progress::Bar bar(backend.name, "backing up");
        adapter->set_total_listener([&bar](std::uint64_t total) { bar.set_total(total); });
        adapter->list_items(libraries, shows, [&](backend::RemoteItem&& item) {
          bar.advance();
          const auto show_it = item.type == backend::MediaType::episode
                                   ? shows.find(item.show_id)
                                   : shows.end();
          const backend::RemoteShow* show = show_it == shows.end() ? nullptr : &show_it->second;
          BackupRecord record = record_from(item, show);
          // Every id the database knows for the item (what the other backends report of the
          // row this item was last imported to), so the backup restores anywhere.
          for (const auto& [row, own] : store.records_by_remote_id(identity, backend.name, item.id)) {
            if (own.season != item.season || own.episode != item.episode) {
              continue; // another episode of a multi-episode file
            }
            for (const auto& other : store.records(row)) {
              merge_guids(record.guids, other.guids);
            }
            break;
          }
          ++file.records;
          if (writer) {
            writer->add(record);
          }
        });
        throw_if_interrupted();
        if (writer) {
          writer->commit();
          file.bytes = std::filesystem::file_size(file.path);
        }
        file.ok = true;
        log::info("{}: {} records to {}", backend.name, file.records, file.path.string());
      } catch (const Error& e) {
        const std::string message = redact(e.what());
        log::error("{}", message);
        result.errors.push_back({identity, backend.name, e.code(), message, ""});
      }
      file.requests = adapter->requests_sent();
      file.duration_ms = elapsed_ms(started);
      result.files.push_back(std::move(file));
    }
  }
  return result;
}

void write_create_result(json::Writer& out, const CreateResult& result) {
  out.begin_object().key("files").begin_array();
  for (const auto& f : result.files) {
    out.begin_object();
    out.field("identity", f.identity);
    out.field("backend", f.backend);
    out.field("status", f.ok ? "ok" : "failed");
    out.field("path", f.path.string());
    out.field("records", f.records);
    out.field("size_bytes", f.bytes);
    out.field("requests", f.requests);
    out.field("duration_ms", f.duration_ms);
    out.end_object();
  }
  out.end_array().end_object();
}

std::vector<BackupFileInfo> list_backups(const std::filesystem::path& dir, bool count_records) {
  std::vector<BackupFileInfo> files;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return files;
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.find(".json") == std::string::npos ||
        name.ends_with(".tmp")) {
      continue;
    }
    BackupFileInfo info;
    info.path = entry.path();
    info.size_bytes = entry.file_size(ec);
    std::smatch m;
    if (std::regex_match(name, m, dated_name())) {
      info.identity = m[1].matched ? m[1].str() : "main";
      info.backend = m[2].str();
      const std::string d = m[3].str();
      info.date = parse_iso8601(fmt::format("{}-{}-{}T00:00:00Z", d.substr(0, 4), d.substr(4, 2),
                                            d.substr(6, 2)));
    }
    if (count_records) {
      try {
        info.records = read_backup(info.path).size();
      } catch (const Error& e) {
        log::warning("{}", e.what());
      }
    }
    files.push_back(std::move(info));
  }
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.path < b.path; });
  return files;
}

PruneResult prune_backups(const std::filesystem::path& dir, int keep_days, UnixTime now_time,
                          bool dry_run) {
  PruneResult result;
  const UnixTime limit = now_time - static_cast<UnixTime>(keep_days) * 86400;
  for (const auto& info : list_backups(dir, false)) {
    if (!info.date || *info.date >= limit) {
      ++result.kept;
      continue;
    }
    if (!dry_run) {
      std::error_code ec;
      std::filesystem::remove(info.path, ec);
      if (ec) {
        throw Error(Errc::io, fmt::format("cannot remove {}: {}", info.path.string(),
                                          ec.message()));
      }
    }
    result.removed.push_back(info.path);
  }
  return result;
}

int RestoreResult::exit_code() const {
  if (!errors.empty() && failed == 0) {
    return sync::exit_code_for_backends(errors, 1);
  }
  return failed > 0 ? exit_code::attention : exit_code::ok;
}

RestoreResult restore_backup(const config::Config& config, db::StateStore& store,
                             const sync::RunOptions& options, const RestoreOptions& restore) {
  const auto backends = config::backends_for_identity(config, restore.identity);
  const auto found = std::find_if(backends.begin(), backends.end(),
                                  [&](const auto& b) { return b.name == restore.backend; });
  if (found == backends.end()) {
    std::string names;
    for (const auto& b : backends) {
      names += names.empty() ? b.name : ", " + b.name;
    }
    throw Error(Errc::usage, fmt::format("restore: no backend '{}' for identity '{}'; "
                                         "configured: {}",
                                         restore.backend, restore.identity, names));
  }
  const config::BackendConfig& backend = *found;
  if (!backend.export_enabled && !restore.force) {
    throw Error(Errc::usage, fmt::format("restore: {} has export.enabled: false; add --force to "
                                         "restore into it anyway",
                                         backend.name));
  }

  // The whole file is read and checked before the first request.
  const std::vector<BackupRecord> records = read_backup(restore.file);
  RestoreResult result;
  result.file = restore.file.string();
  result.backend = backend.name;
  result.identity = restore.identity;
  result.execute = restore.execute;
  result.records = records.size();

  // The records by matching key; a key may belong to several records (an episode id two
  // episodes share), the matching rules decide between them as import does.
  std::vector<sync::ItemIdentity> identities;
  std::unordered_map<std::string, std::vector<std::size_t>> by_key;
  for (std::size_t i = 0; i < records.size(); ++i) {
    identities.push_back(record_identity(records[i]));
    for (auto& key : sync::match_keys(identities.back())) {
      by_key[std::move(key.text)].push_back(i);
    }
  }

  auto adapter = sync::open_backend(config, backend, options);
  sync::ExportPolicy policy;
  policy.ignore_date = true; // the backup is the truth for this backend
  policy.progress_sync = restore.progress;
  policy.progress_minimum_ms = static_cast<std::int64_t>(config.progress.minimum) * 1000;
  policy.can_reset_progress = backend.type != backend::BackendType::plex;
  try {
    check_server_id(*adapter, backend);
    auto shows = store.load_shows(backend.name);
    const auto libraries = sync::wanted_libraries(*adapter, backend, options);
    std::unordered_set<std::string> playing;
    for (auto& id : adapter->active_items()) {
      playing.insert(std::move(id));
    }
    std::unordered_set<std::string> planned;
    progress::Bar bar(restore.backend, "listing");
    adapter->set_total_listener([&bar](std::uint64_t total) { bar.set_total(total); });
    const sync::IgnoreList ignore(config.matching.ignore, backend.name);
    adapter->list_items(libraries, shows, [&](backend::RemoteItem&& item) {
      bar.advance();
      if (!ignore.empty() && ignore.item_rule(item.id) != nullptr) {
        ++result.ignored; // an ignored server item is never written
        return;
      }
      ignore.strip(item);
      const auto show_it =
          item.type == backend::MediaType::episode ? shows.find(item.show_id) : shows.end();
      std::optional<backend::RemoteShow> stripped_show;
      if (show_it != shows.end() && !ignore.empty()) {
        stripped_show = show_it->second;
        ignore.strip(*stripped_show);
      }
      const backend::RemoteShow* show =
          stripped_show ? &*stripped_show
                        : (show_it == shows.end() ? nullptr : &show_it->second);
      const auto identity = sync::identity_of(item, show);
      const auto keys = sync::match_keys(identity);
      std::vector<sync::MatchCandidate> candidates;
      for (std::size_t k = 0; k < keys.size(); ++k) {
        const auto it = by_key.find(keys[k].text);
        if (it == by_key.end()) {
          continue;
        }
        for (const std::size_t index : it->second) {
          auto c = std::find_if(candidates.begin(), candidates.end(), [&](const auto& known) {
            return known.row == static_cast<std::int64_t>(index);
          });
          if (c == candidates.end()) {
            candidates.push_back({static_cast<std::int64_t>(index), identities[index], {}, 1});
            c = std::prev(candidates.end());
          }
          c->hits.push_back(k);
        }
      }
      const auto decision = sync::decide_match(identity, keys, candidates);
      const BackupRecord* record =
          decision.row ? &records[static_cast<std::size_t>(*decision.row)] : nullptr;
      if (record == nullptr) {
        ++result.unmatched;
        return;
      }
      ++result.checked;
      // The backup record plays the local row; the backend's item is compared with it exactly
      // as export compares, with dates ignored.
      db::ItemRow wanted = row_for_title(item, show);
      wanted.watched = record->watched;
      wanted.updated = record->updated;
      wanted.progress_ms = record->watched ? 0 : record->progress_ms;
      const db::BackendRecord current = sync::make_record(backend.name, item);
      auto write = sync::decide_export(wanted, current, policy);
      if (!write || (!restore.progress && write->action == backend::WriteAction::reset_progress)) {
        ++result.unchanged;
        return;
      }
      if (playing.count(item.id) > 0) {
        ++result.playing;
        return;
      }
      if (!planned.insert(fmt::format("{}/{}", item.id, static_cast<int>(write->action))).second) {
        ++result.unchanged;
        return;
      }
      result.changes.push_back(
          {sync::display_title(wanted), item.type, *write, current, 0, false, false, ""});
    });
    throw_if_interrupted();

    if (restore.execute && !options.dry_run && !result.changes.empty()) {
      std::vector<backend::WriteRequest> writes;
      for (const auto& c : result.changes) {
        writes.push_back(c.write);
      }
      const auto outcomes = sync::send_writes(*adapter, restore.backend, writes);
      for (std::size_t i = 0; i < outcomes.size(); ++i) {
        auto& c = result.changes[i];
        c.sent = true;
        c.ok = outcomes[i].ok;
        if (c.ok) {
          sync::count_write(result, c.write.action);
        } else {
          c.error = redact(outcomes[i].message);
          log::warning("{}", c.error); // like ws-export: one line per failed write
          ++result.failed;
          if (result.failed <= 20) {
            result.errors.push_back(
                {restore.identity, backend.name, outcomes[i].kind, c.error, c.title});
          }
        }
      }
    } else {
      for (const auto& c : result.changes) {
        sync::count_write(result, c.write.action);
      }
    }
  } catch (const Error& e) {
    const std::string message = redact(e.what());
    log::error("{}", message);
    result.errors.push_back({restore.identity, backend.name, e.code(), message, ""});
  }
  result.requests = adapter->requests_sent();
  return result;
}

void write_restore_result(json::Writer& out, const RestoreResult& r) {
  out.begin_object();
  out.field("file", r.file);
  out.field("identity", r.identity);
  out.field("backend", r.backend);
  out.field("execute", r.execute);
  out.field("records", r.records);
  out.field("checked", r.checked);
  out.field("unmatched", r.unmatched);
  out.field("ignored", r.ignored);
  out.field("unchanged", r.unchanged);
  out.field("playing", r.playing);
  out.field("marked_played", r.marked_played);
  out.field("marked_unplayed", r.marked_unplayed);
  out.field("progress_updated", r.progress_updated);
  out.field("failed", r.failed);
  out.field("requests", r.requests);
  out.key("changes").begin_array();
  for (const auto& c : r.changes) {
    const auto after = sync::record_after(c.before, c.write);
    out.begin_object();
    out.field("title", c.title);
    out.field("type", c.type == backend::MediaType::episode ? "episode" : "movie");
    out.field("action", sync::write_action_name(c.write.action));
    out.field("id", c.write.remote_id);
    out.field("watched", after.watched);
    out.key("played_at");
    if (after.watched && after.played_at > 0) {
      out.value(format_rfc3339(after.played_at));
    } else {
      out.null();
    }
    out.field("progress_ms", after.progress_ms);
    out.field("status", !c.sent ? "planned" : (c.ok ? "ok" : "failed"));
    if (!c.error.empty()) {
      out.field("error", c.error);
    }
    out.end_object();
  }
  out.end_array();
  out.end_object();
}

} // namespace ws::backup
