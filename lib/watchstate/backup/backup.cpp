// SPDX-License-Identifier: MIT
#include <watchstate/backup/backup.hpp>

#include <watchstate/backup/backup_file.hpp>
#include <watchstate/core/exit_code.hpp>
#include <watchstate/core/lock.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/progress.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/signals.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/sync/display.hpp>
#include <watchstate/sync/export.hpp>
#include <watchstate/sync/export_rules.hpp>
#include <watchstate/sync/ignore_list.hpp>
#include <watchstate/sync/import_rules.hpp>
#include <watchstate/sync/matching.hpp>
#include <watchstate/sync/open_backend.hpp>
#include <watchstate/sync/playlists.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
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
void merge_guids(model::Guids& guids, const model::Guids& extra) {
  for (const auto& g : extra) {
    const bool present = std::any_of(guids.begin(), guids.end(),
                                     [&](const model::Guid& own) { return own.key == g.key; });
    if (!present) {
      guids.push_back(g);
    }
  }
  std::sort(guids.begin(), guids.end(),
            [](const model::Guid& a, const model::Guid& b) { return a.key < b.key; });
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

db::ItemRow row_for_title(const backend::RemoteItem& item, const model::RemoteShow* show) {
  db::ItemRow row;
  row.type = item.type;
  row.title = show != nullptr && !show->title.empty() ? show->title : item.title;
  row.year = show != nullptr && show->year > 0 ? show->year : item.year;
  row.season = item.season;
  row.episode = item.episode;
  return row;
}

BackupRecord record_from(const backend::RemoteItem& item, const model::RemoteShow* show) {
  BackupRecord r;
  r.episode = item.type == model::MediaType::episode;
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

// Add every id the state database knows for `item` of `backend` to `record`: what the other
// backends report of the row the item was last imported to, so the record restores anywhere.
void merge_known_ids(db::StateStore& store, const std::string& identity, const std::string& backend,
                     const backend::RemoteItem& item, BackupRecord& record) {
  for (const auto& [row, own] : store.records_by_remote_id(identity, backend, item.id)) {
    if (own.season != item.season || own.episode != item.episode) {
      continue; // another episode of a multi-episode file
    }
    for (const auto& other : store.records(row)) {
      merge_guids(record.guids, other.guids);
    }
    break;
  }
}

// The record of `backend`'s item `item_id` as the state database last saw it (nullopt when it
// knows no such item): for a playlist entry whose item the listing did not hold (a library left
// out with --library, an item that just went away).
std::optional<BackupRecord> record_from_state(db::StateStore& store, const std::string& identity,
                                              const std::string& backend,
                                              const std::string& item_id,
                                              const model::ShowCache& shows) {
  const auto rows = store.records_by_remote_id(identity, backend, item_id);
  if (rows.empty()) {
    return std::nullopt;
  }
  // A multi-episode file is recorded on each episode's row: the first stands for it, as in the
  // listing (ws-playlist reads entries the same way).
  const auto& [row_id, own] = rows.front();
  const auto row = store.item(row_id);
  if (!row) {
    return std::nullopt;
  }
  // Rebuilt as the listing would have reported it, so the record has the listing's layout.
  backend::RemoteItem item;
  item.id = item_id;
  item.type = row->type;
  item.title = !own.title.empty() ? own.title : row->title;
  item.year = own.year > 0 ? own.year : row->year;
  item.season = row->season;
  item.episode = row->episode;
  item.show_id = own.show_id;
  item.played = own.watched;
  item.last_played = own.played_at;
  item.added_at = own.added_at;
  item.guids = own.guids;
  const auto show_it =
      item.type == model::MediaType::episode ? shows.find(item.show_id) : shows.end();
  BackupRecord record = record_from(item, show_it == shows.end() ? nullptr : &show_it->second);
  merge_known_ids(store, identity, backend, item, record);
  return record;
}

// What a backup record is, for the matching rules of import (sync/matching.hpp).
sync::ItemIdentity record_identity(const BackupRecord& r) {
  sync::ItemIdentity identity;
  identity.type = r.episode ? model::MediaType::episode : model::MediaType::movie;
  identity.ids = r.guids;
  identity.names.push_back({r.episode ? r.show : r.title, r.year});
  if (r.episode) {
    identity.season = r.season;
    identity.episode = r.episode_number;
    identity.show_ids = r.parent;
  }
  return identity;
}

// {identity}.{backend}.{date}[.playlists].json[.gz|.zip]; the identity may be left out (main).
const std::regex& dated_name() {
  static const std::regex pattern(
      R"(^(?:([a-z0-9_]+)\.)?([a-z0-9_]+)\.(\d{8})(\.playlists)?\.json(\.gz|\.zip)?$)");
  return pattern;
}

// What ws-backup create keeps of one backend's playlists: read before the listing (so it knows
// which items to keep), each entry's record filled in by the listing as it goes by.
class PlaylistCapture {
public:
  // The backend's video playlists (smart ones are saved filters, audio and photo ones hold no
  // items watchstate knows), or nullopt when there are none to back up: disabled, or they
  // cannot be read (an old server answering 404), which is a warning, never a failed backup.
  static std::optional<PlaylistCapture>
  read(backend::Backend& adapter, const config::BackendConfig& backend, CreatedFile& file) {
    if (!backend.playlists_enabled) {
      file.playlists_status = PlaylistsStatus::disabled;
      return std::nullopt;
    }
    PlaylistCapture capture;
    try {
      for (auto& p : adapter.playlists()) {
        if (p.video && !p.smart) {
          capture.m_playlists.push_back(std::move(p));
        }
      }
    } catch (const Error& e) {
      file.playlists_error = redact(e.what());
      log::warning("{}: playlists not backed up: {}", backend.name, file.playlists_error);
      return std::nullopt;
    }
    for (const auto& p : capture.m_playlists) {
      for (const auto& e : p.entries) {
        capture.m_records.emplace(e.item_id, std::nullopt);
      }
    }
    return capture;
  }

  // A listed item: its record is kept when a playlist holds it (a multi-episode file: its
  // first episode stands for it, as ws-playlist reads entries).
  void listed(const backend::RemoteItem& item, const BackupRecord& record) {
    const auto wanted = m_records.find(item.id);
    if (wanted != m_records.end() && !wanted->second) {
      wanted->second = record;
    }
  }

  // The playlists with their items' records. An entry the listing did not hold (a library left
  // out) is taken from the state database; one that is in neither is left out and counted.
  PlaylistBackup backup(db::StateStore& store, const std::string& identity,
                        const std::string& backend, const model::ShowCache& shows,
                        CreatedFile& file) {
    PlaylistBackup saved;
    saved.identity = identity;
    saved.backend = backend;
    for (const auto& p : m_playlists) {
      BackupPlaylist playlist{p.title, {}};
      for (const auto& e : p.entries) {
        auto& known = m_records[e.item_id];
        if (!known) {
          known = record_from_state(store, identity, backend, e.item_id, shows);
        }
        if (!known) {
          ++file.playlist_skipped;
          log::warning("{}: playlist '{}': item {} is neither listed nor in the state database: "
                       "left out of the backup",
                       backend, p.title, e.item_id);
          continue;
        }
        playlist.items.push_back(*known);
      }
      file.playlist_items += playlist.items.size();
      saved.playlists.push_back(std::move(playlist));
    }
    file.playlists = saved.playlists.size();
    return saved;
  }

private:
  std::vector<backend::RemotePlaylist> m_playlists;
  std::unordered_map<std::string, std::optional<BackupRecord>> m_records; // by item id
};

} // namespace

std::filesystem::path backup_dir(const config::Config& config) {
  return config.state_dir / "backups";
}

int CreateResult::exit_code() const { return sync::exit_code_for_backends(errors, attempted); }

std::string playlists_file_name(const std::string& name) {
  const std::size_t at = name.rfind(".json");
  if (at == std::string::npos) {
    return name + ".playlists";
  }
  return name.substr(0, at) + ".playlists" + name.substr(at);
}

CreateResult create_backups(const sync::Services& services, const config::Config& config,
                            db::StateStore& store, const sync::RunOptions& options,
                            const CreateOptions& create) {
  sync::validate_backend_filter(config, options);
  CreateResult result;
  const auto dir = backup_dir(config);
  if (!options.dry_run) {
    ensure_directory(dir);
    remove_stale_temp_files(dir);
  }
  const UnixTime started_at = services.now();
  const std::string date = format_compact_utc(started_at).substr(0, 8);
  const std::string name_template =
      !create.file_template.empty()
          ? create.file_template
          : std::string("{identity}.{backend}.{date}.json") + (create.compress ? ".gz" : "");
  const std::string playlists_template = playlists_file_name(name_template);

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
      const auto file_path = [&](const std::string& name_pattern) {
        const std::filesystem::path name =
            replace_all(replace_all(replace_all(name_pattern, "{identity}", identity), "{backend}",
                                    backend.name),
                        "{date}", date);
        return name.is_absolute() ? name : dir / name;
      };
      file.path = file_path(name_template);

      auto adapter = sync::open_backend(services, config, backend, options);
      try {
        check_server_id(*adapter, backend);

        // The playlists first: the listing then keeps the records of their items.
        auto playlists = PlaylistCapture::read(*adapter, backend, file);

        auto shows = store.load_shows(identity, backend.name);
        const auto libraries = sync::wanted_libraries(*adapter, backend, options);
        std::optional<BackupWriter> writer;
        if (!options.dry_run) {
          writer.emplace(file.path);
        }
        progress::Bar bar(backend.name, "backing up");
        adapter->set_total_listener([&bar](std::uint64_t total) { bar.set_total(total); });
        adapter->list_items(libraries, shows, [&](backend::RemoteItem&& item) {
          bar.advance();
          const auto show_it =
              item.type == model::MediaType::episode ? shows.find(item.show_id) : shows.end();
          const model::RemoteShow* show = show_it == shows.end() ? nullptr : &show_it->second;
          BackupRecord record = record_from(item, show);
          merge_known_ids(store, identity, backend.name, item, record);
          if (playlists) {
            playlists->listed(item, record);
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

        if (playlists) {
          PlaylistBackup saved = playlists->backup(store, identity, backend.name, shows, file);
          saved.created_at = started_at;
          const auto playlists_path = file_path(playlists_template);
          try {
            if (!options.dry_run) {
              write_playlist_backup(playlists_path, saved);
            }
            file.playlists_path = playlists_path;
            file.playlists_status = PlaylistsStatus::ok;
            log::info("{}: {} playlists to {}", backend.name, file.playlists,
                      file.playlists_path.string());
          } catch (const Error& e) {
            // The backup of the items is complete and stays; the run still reports the failure.
            file.playlists_error = redact(e.what());
            log::error("{}", file.playlists_error);
            result.errors.push_back({identity, backend.name, e.code(), file.playlists_error, ""});
          }
        }
      } catch (const Error& e) {
        const std::string message = redact(e.what());
        log::error("{}", message);
        result.errors.push_back({identity, backend.name, e.code(), message, ""});
        if (file.playlists_status == PlaylistsStatus::failed && file.playlists_error.empty()) {
          file.playlists_error = "not written: the backup of the backend failed";
        }
      }
      file.requests = adapter->requests_sent();
      file.bytes_received = adapter->bytes_received();
      file.duration_ms = elapsed_ms(started);
      result.files.push_back(std::move(file));
    }
  }
  return result;
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
      info.date = parse_iso8601(
          fmt::format("{}-{}-{}T00:00:00Z", d.substr(0, 4), d.substr(4, 2), d.substr(6, 2)));
    }
    // The name says which kind a file is; when it is read, its content decides.
    info.playlists = name.find(".playlists.json") != std::string::npos;
    if (count_records) {
      try {
        const auto backup = read_any_backup(info.path);
        info.playlists = backup.playlists;
        info.records =
            backup.playlists ? backup.playlist_backup.playlists.size() : backup.records.size();
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

std::optional<BackupFileInfo> newest_backup(const std::filesystem::path& dir) {
  std::optional<BackupFileInfo> newest;
  std::error_code ec;
  auto newest_time = std::filesystem::file_time_type::min();
  for (auto& file : list_backups(dir, false)) {
    const auto written = std::filesystem::last_write_time(file.path, ec);
    if (file.playlists || ec) {
      continue;
    }
    if (!newest || written > newest_time) {
      newest_time = written;
      newest = std::move(file);
    }
  }
  return newest;
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
        throw Error(Errc::io,
                    fmt::format("cannot remove {}: {}", info.path.string(), ec.message()));
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

namespace {

// What listing a backend against a backup's records left unmatched.
struct ListingCounts {
  std::uint64_t unmatched = 0; // backend items no record matched
  std::uint64_t ignored = 0;   // backend items an ignore rule keeps out
};

// An item of the backend that matched a record; `show` is its series as matched (the ignore
// list's ids stripped), `decision.row` the record's index and `decision.merge` those of the
// records the matching found to be the same item.
using OnRecordMatch =
    std::function<void(const backend::RemoteItem& item, const model::RemoteShow* show,
                       const sync::MatchDecision& decision)>;

// List `backend`'s items (its wanted libraries, series through the show cache) and match each
// to one of `records` with import's rules (sync/matching.hpp): show ids + season + episode,
// then the item's own ids. One listing and one matching for both kinds of restore.
void match_listing(backend::Backend& adapter, const config::Config& config,
                   const std::string& identity, const config::BackendConfig& backend,
                   db::StateStore& store, const sync::RunOptions& options,
                   const std::vector<BackupRecord>& records, ListingCounts& counts,
                   const OnRecordMatch& on_match) {
  // The records by matching key; a key may belong to several records (an episode id two
  // episodes share), the matching rules decide between them as import does. Held as (hash of
  // the key, record) sorted, 16 bytes a key instead of the key texts and every record's
  // identity: a record the hash points to is confirmed by its own keys, made again when needed.
  const auto key_hash = [](std::string_view text) { return std::hash<std::string_view>{}(text); };
  std::vector<std::pair<std::size_t, std::size_t>> by_key; // (key hash, record index)
  for (std::size_t i = 0; i < records.size(); ++i) {
    for (const auto& key : sync::match_keys(record_identity(records[i]))) {
      by_key.emplace_back(key_hash(key.text), i);
    }
  }
  std::sort(by_key.begin(), by_key.end()); // a key's records stay in record order

  auto shows = store.load_shows(identity, backend.name);
  const auto libraries = sync::wanted_libraries(adapter, backend, options);
  progress::Bar bar(backend.name, "listing");
  adapter.set_total_listener([&bar](std::uint64_t total) { bar.set_total(total); });
  const sync::IgnoreList ignore(config.matching.ignore, backend.name);
  adapter.list_items(libraries, shows, [&](backend::RemoteItem&& item) {
    bar.advance();
    if (!ignore.empty() && ignore.item_rule(item.id) != nullptr) {
      ++counts.ignored; // an ignored server item is never written
      return;
    }
    ignore.strip(item);
    const auto show_it =
        item.type == model::MediaType::episode ? shows.find(item.show_id) : shows.end();
    std::optional<model::RemoteShow> stripped_show;
    if (show_it != shows.end() && !ignore.empty()) {
      stripped_show = show_it->second;
      ignore.strip(*stripped_show);
    }
    const model::RemoteShow* show =
        stripped_show ? &*stripped_show : (show_it == shows.end() ? nullptr : &show_it->second);
    const auto reported = sync::identity_of(item, show);
    const auto keys = sync::match_keys(reported);
    std::vector<sync::MatchCandidate> candidates;
    std::map<std::size_t, std::vector<sync::MatchKey>> record_keys; // of the records met
    for (std::size_t k = 0; k < keys.size(); ++k) {
      const std::size_t hash = key_hash(keys[k].text);
      auto at =
          std::lower_bound(by_key.begin(), by_key.end(), std::make_pair(hash, std::size_t{0}));
      for (; at != by_key.end() && at->first == hash; ++at) {
        const std::size_t index = at->second;
        auto known = record_keys.find(index);
        if (known == record_keys.end()) {
          known =
              record_keys.emplace(index, sync::match_keys(record_identity(records[index]))).first;
        }
        // One entry per key of the record that is this key (as the map of key texts held).
        const auto same = std::count_if(known->second.begin(), known->second.end(),
                                        [&](const auto& key) { return key.text == keys[k].text; });
        if (same == 0) {
          continue; // another key with the same hash
        }
        // Entries of one record are next to each other: take them at once.
        while (std::next(at) != by_key.end() && std::next(at)->first == hash &&
               std::next(at)->second == index) {
          ++at;
        }
        auto c = std::find_if(candidates.begin(), candidates.end(), [&](const auto& candidate) {
          return candidate.row == static_cast<std::int64_t>(index);
        });
        if (c == candidates.end()) {
          // Named fields: a positional {row, identity, hits, 1} set `previous` once
          // MatchCandidate gained it before `reporters`.
          sync::MatchCandidate candidate;
          candidate.row = static_cast<std::int64_t>(index);
          candidate.identity = record_identity(records[index]);
          candidate.reporters = 1;
          candidates.push_back(std::move(candidate));
          c = std::prev(candidates.end());
        }
        c->hits.insert(c->hits.end(), static_cast<std::size_t>(same), k);
      }
    }
    const auto decision = sync::decide_match(reported, keys, candidates);
    if (!decision.row) {
      ++counts.unmatched;
      return;
    }
    on_match(item, show, decision);
  });
  throw_if_interrupted();
}

void restore_play_state(const config::Config& config, db::StateStore& store,
                        const sync::RunOptions& options, const RestoreOptions& restore,
                        const config::BackendConfig& backend, backend::Backend& adapter,
                        const std::vector<BackupRecord>& records, RestoreResult& result) {
  sync::ExportPolicy policy;
  policy.ignore_date = true; // the backup is the truth for this backend
  policy.progress_sync = restore.progress;
  policy.progress_minimum_ms = static_cast<std::int64_t>(config.progress.minimum) * 1000;
  policy.can_reset_progress = backend.type != model::BackendType::plex;

  std::unordered_set<std::string> playing;
  for (auto& id : adapter.active_items()) {
    playing.insert(std::move(id));
  }
  std::unordered_set<std::string> planned;
  ListingCounts counts;
  match_listing(
      adapter, config, restore.identity, backend, store, options, records, counts,
      [&](const backend::RemoteItem& item, const model::RemoteShow* show,
          const sync::MatchDecision& decision) {
        const BackupRecord& record = records[static_cast<std::size_t>(*decision.row)];
        ++result.checked;
        // The backup record plays the local row; the backend's item is compared with it exactly
        // as export compares, with dates ignored.
        db::ItemRow wanted = row_for_title(item, show);
        wanted.watched = record.watched;
        wanted.updated = record.updated;
        wanted.progress_ms = record.watched ? 0 : record.progress_ms;
        const db::BackendRecord current = sync::make_record(backend.name, item);
        auto write = sync::decide_export(wanted, current, policy);
        if (!write ||
            (!restore.progress && write->action == backend::WriteAction::reset_progress)) {
          ++result.unchanged;
          return;
        }
        if (playing.contains(item.id)) {
          ++result.playing;
          return;
        }
        if (!planned.insert(fmt::format("{}/{}", item.id, static_cast<int>(write->action)))
                 .second) {
          ++result.unchanged;
          return;
        }
        result.changes.push_back(
            {sync::display_title(wanted), item.type, *write, current, 0, false, false, ""});
      });
  result.unmatched = counts.unmatched;
  result.ignored = counts.ignored;

  if (restore.execute && !options.dry_run && !result.changes.empty()) {
    std::vector<backend::WriteRequest> writes;
    for (const auto& c : result.changes) {
      writes.push_back(c.write);
    }
    const auto outcomes = sync::send_writes(adapter, restore.backend, writes);
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
}

// How a record is named to users ("Title (Year)", "Show (Year) - 01x02").
std::string record_title(const BackupRecord& record) {
  db::ItemRow row;
  row.type = record.episode ? model::MediaType::episode : model::MediaType::movie;
  row.title = record.episode ? record.show : record.title;
  row.year = record.year;
  row.season = record.season;
  row.episode = record.episode_number;
  return sync::display_title(row);
}

// What makes two playlist items the same for matching: the record without its play state.
std::string match_text(BackupRecord record) {
  record.watched = false;
  record.updated = 0;
  record.progress_ms = 0;
  return record_json(record);
}

// The items of a playlists backup, each distinct one once: an item twice in a list, or in two
// lists, is one record (two equal records would split the match between them).
struct PlaylistItems {
  std::vector<BackupRecord> records;
  std::vector<std::vector<std::size_t>> of_playlist; // per playlist, per item: its record

  explicit PlaylistItems(const PlaylistBackup& saved) {
    std::unordered_map<std::string, std::size_t> record_of_text;
    for (const auto& playlist : saved.playlists) {
      auto& indices = of_playlist.emplace_back();
      for (const auto& item : playlist.items) {
        const auto [it, added] = record_of_text.emplace(match_text(item), records.size());
        if (added) {
          records.push_back(item);
        }
        indices.push_back(it->second);
      }
    }
  }
};

// The backend's playlists named like a backup's playlist (sync::playlist_name_key).
struct SameName {
  std::vector<const backend::RemotePlaylist*> editable; // video, not smart
  bool other = false;                                   // a smart, audio or photo one
};

SameName same_name(const std::vector<backend::RemotePlaylist>& held, const std::string& key) {
  SameName found;
  for (const auto& h : held) {
    if (sync::playlist_name_key(h.title) != key) {
      continue;
    }
    if (h.video && !h.smart) {
      found.editable.push_back(&h);
    } else {
      found.other = true;
    }
  }
  return found;
}

// The backend's item ids a playlist is to hold, in the backup's order; the titles of the items
// that matched nothing go to `missing`. An item that matched more than one (copies of a film in
// two libraries) is the one the playlist already holds, else the first listed.
std::vector<std::string> desired_items(const std::vector<std::size_t>& items,
                                       const PlaylistItems& saved,
                                       const std::vector<std::vector<std::string>>& matches,
                                       const backend::RemotePlaylist* existing,
                                       std::vector<std::string>& missing) {
  const auto held = [&](const std::string& id) {
    return existing != nullptr &&
           std::any_of(existing->entries.begin(), existing->entries.end(),
                       [&](const backend::PlaylistEntry& e) { return e.item_id == id; });
  };
  std::vector<std::string> desired;
  for (const std::size_t r : items) {
    const auto& ids = matches[r];
    if (ids.empty()) {
      missing.push_back(record_title(saved.records[r]));
      continue;
    }
    const auto kept = std::find_if(ids.begin(), ids.end(), held);
    desired.push_back(kept != ids.end() ? *kept : ids.front());
  }
  return desired;
}

// The writes of one playlist, and the title it has once they are done.
struct PlannedPlaylist {
  std::size_t index = 0; // into RestoreResult::playlists
  sync::PlaylistTarget target;
  std::string title;
};

void restore_playlists(const sync::Services& services, const config::Config& config,
                       db::StateStore& store, const sync::RunOptions& options,
                       const RestoreOptions& restore, const config::BackendConfig& backend,
                       backend::Backend& adapter, const PlaylistBackup& saved,
                       RestoreResult& result) {
  const PlaylistItems items(saved);
  const auto held = adapter.playlists();
  // Per record, the backend's items that matched it, in listing order.
  std::vector<std::vector<std::string>> matches(items.records.size());
  ListingCounts counts;
  match_listing(adapter, config, restore.identity, backend, store, options, items.records, counts,
                [&](const backend::RemoteItem& item, const model::RemoteShow* /*show*/,
                    const sync::MatchDecision& decision) {
                  std::vector<std::int64_t> rows = decision.merge;
                  rows.push_back(*decision.row);
                  for (const std::int64_t row : rows) {
                    auto& ids = matches[static_cast<std::size_t>(row)];
                    if (std::find(ids.begin(), ids.end(), item.id) == ids.end()) {
                      ids.push_back(item.id); // a multi-episode file is listed once per episode
                    }
                  }
                });

  std::vector<PlannedPlaylist> planned;
  std::unordered_set<std::string> seen; // name keys of the backup's playlists handled so far
  for (std::size_t p = 0; p < saved.playlists.size(); ++p) {
    const auto& playlist = saved.playlists[p];
    PlaylistRestore restored;
    restored.title = playlist.title;
    restored.items = playlist.items.size();
    const std::string key = sync::playlist_name_key(playlist.title);
    const SameName found = same_name(held, key);
    const backend::RemotePlaylist* existing =
        found.editable.size() == 1 ? found.editable.front() : nullptr;
    const auto desired =
        desired_items(items.of_playlist[p], items, matches, existing, restored.missing);
    restored.matched = desired.size();

    if (!seen.insert(key).second) {
      restored.reason = "the backup holds another playlist of that name";
    } else if (found.editable.size() > 1) {
      restored.reason =
          fmt::format("{} holds {} playlists of that name", backend.name, found.editable.size());
    } else if (existing == nullptr && found.other) {
      restored.reason = fmt::format(
          "{}'s playlist of that name is a smart, audio or photo playlist", backend.name);
    } else if (!playlist.items.empty() && desired.empty()) {
      // Never emptied or created empty because nothing could be found there.
      restored.reason =
          fmt::format("none of its {} items is on {}", playlist.items.size(), backend.name);
    } else if (existing == nullptr && desired.empty()) {
      restored.reason = "it holds no items: nothing to create"; // servers create from items
    }
    if (!restored.reason.empty()) {
      restored.action = "skipped";
      log::warning("{}: playlist '{}' not restored: {}", backend.name, playlist.title,
                   restored.reason);
      result.playlists.push_back(std::move(restored));
      continue;
    }

    PlannedPlaylist plan;
    plan.index = result.playlists.size();
    plan.target.backend = backend.name;
    plan.target.desired = desired;
    if (existing != nullptr) {
      // Same name, same playlist: its title stays as the backend has it.
      plan.title = existing->title;
      plan.target.remote_id = existing->id;
      plan.target.ops = sync::playlist_edit_ops(existing->entries, desired);
      restored.action = plan.target.ops.empty() ? "unchanged" : "update";
      restored.id = existing->id;
    } else {
      plan.title = playlist.title;
      sync::PlaylistOp create;
      create.kind = sync::PlaylistOp::Kind::create;
      create.title = playlist.title;
      create.item_ids = desired;
      plan.target.ops.push_back(std::move(create));
      restored.action = "create";
    }
    for (const auto& missing : restored.missing) {
      log::info("{}: playlist '{}': {} is not on {}", backend.name, playlist.title, missing,
                backend.name);
    }
    restored.changes = plan.target.ops;
    result.playlists.push_back(std::move(restored));
    planned.push_back(std::move(plan));
  }

  if (!restore.execute || options.dry_run) {
    return;
  }
  for (auto& plan : planned) {
    if (plan.target.ops.empty()) {
      continue;
    }
    throw_if_interrupted();
    // ws-playlist's writer: ops in order, the first failure ends this playlist's ops, then the
    // playlist is read back and checked. What it returns is for the state database, which a
    // restore leaves alone.
    sync::BackendPlaylistResult sent;
    std::vector<sync::BackendError> failures;
    (void)sync::apply_playlist_target(adapter, plan.target, plan.title, services.now(), sent,
                                      failures);
    auto& restored = result.playlists[plan.index];
    restored.id = plan.target.remote_id;
    restored.changes = plan.target.ops;
    result.failed += sent.failed;
    for (auto& f : failures) {
      f.identity = restore.identity;
      result.errors.push_back(std::move(f));
    }
  }
}

} // namespace

RestoreResult restore_backup(const sync::Services& services, const config::Config& config,
                             db::StateStore& store, const sync::RunOptions& options,
                             const RestoreOptions& restore) {
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

  // The whole file is read and checked before the first request; its content says its kind.
  const AnyBackup backup = read_any_backup(restore.file);
  RestoreResult result;
  result.file = restore.file.string();
  result.backend = backend.name;
  result.identity = restore.identity;
  result.execute = restore.execute;
  result.playlists_file = backup.playlists;
  result.records = backup.records.size();

  auto adapter = sync::open_backend(services, config, backend, options);
  try {
    check_server_id(*adapter, backend);
    if (backup.playlists) {
      restore_playlists(services, config, store, options, restore, backend, *adapter,
                        backup.playlist_backup, result);
    } else {
      restore_play_state(config, store, options, restore, backend, *adapter, backup.records,
                         result);
    }
  } catch (const Error& e) {
    const std::string message = redact(e.what());
    log::error("{}", message);
    result.errors.push_back({restore.identity, backend.name, e.code(), message, ""});
  }
  result.requests = adapter->requests_sent();
  result.bytes_received = adapter->bytes_received();
  return result;
}

} // namespace ws::backup
