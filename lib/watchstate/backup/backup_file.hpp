// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/backend/guid.hpp>
#include <watchstate/core/time.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ws::backup {

// One movie or episode in a backup: WatchState's portable record layout.
struct BackupRecord {
  bool episode = false;         // "type": "movie" | "episode"
  bool watched = false;         // "watched": 0 | 1
  UnixTime updated = 0;         // "updated": play date when watched, else the added date
  std::string show;             // "show": series title (episodes)
  std::string title;            // "title": movie title / episode title
  int season = -1;              // "season" (episodes)
  int episode_number = -1;      // "episode" (episodes)
  int year = 0;                 // "year" (0 = null)
  model::Guids guids;           // "guids": {"guid_imdb": "tt…", …}
  model::Guids parent;          // "parent": series guids (episodes)
  std::int64_t progress_ms = 0; // "progress" (only written when > 0)
};

// Streams records into a backup file: written to `<path>.tmp`, renamed into place by commit();
// destroyed without commit() the temporary file is removed, so a failed run leaves no file.
// Gzip-compressed when `path` ends in ".gz". Throws ws::Error(Errc::cant_create) when the file
// cannot be created and Errc::io when a write fails.
class BackupWriter {
public:
  explicit BackupWriter(std::filesystem::path path);
  ~BackupWriter();
  BackupWriter(const BackupWriter&) = delete;
  BackupWriter& operator=(const BackupWriter&) = delete;

  void add(const BackupRecord& record);
  [[nodiscard]] std::uint64_t count() const;
  // Finish the array, flush, fsync and rename into place.
  void commit();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Read and validate a whole backup file: ours (.json, .json.gz) and WatchState's (.json,
// .json.zip — the first *.json member of the archive). Records without any usable id are kept
// (the caller skips them); a record of the wrong shape, bad JSON, a truncated or empty file
// throw ws::Error(Errc::data, "<file>: record N at byte B: <what>"); a missing file throws
// Errc::no_input. Never returns a partial result.
std::vector<BackupRecord> read_backup(const std::filesystem::path& file);

// Serialise one record as one line of JSON (no trailing comma), for tests and the writer.
std::string record_json(const BackupRecord& record);

// --- Playlists backups ---

// One playlist of a playlists backup: its title and its items in order (an item may appear
// twice), each in the record layout above. "watched", "updated" and "progress" are written as
// the item had them but mean nothing for a playlist: a reader accepts records without them.
struct BackupPlaylist {
  std::string title;
  std::vector<BackupRecord> items;
};

// One backend's video playlists, the sibling of its backup of items:
// {"watchstate_playlists":1,"identity":"main","backend":"plex","created_at":"<RFC 3339>",
//  "playlists":[{"title":"Friday films","items":[<record>, …]}, …]}
struct PlaylistBackup {
  std::string identity;
  std::string backend;
  UnixTime created_at = 0;
  std::vector<BackupPlaylist> playlists;
};

// The format version written in "watchstate_playlists"; a reader refuses higher ones.
inline constexpr int k_playlist_backup_version = 1;

// Write `backup` to `path` (gzip-compressed when it ends in ".gz") the way BackupWriter writes:
// through `<path>.tmp`, fsync'd, renamed into place, so a failure leaves no file. Throws
// ws::Error(Errc::cant_create) when the file cannot be created and Errc::io when a write fails.
void write_playlist_backup(const std::filesystem::path& path, const PlaylistBackup& backup);

// Read and validate a whole playlists backup (.json, .json.gz). Bad JSON, a truncated or empty
// file, a wrong shape or a record of the wrong shape throw ws::Error(Errc::data,
// "<file>: <where>: <what>"), e.g. "<file>: playlist 2 item 3: 'type' is missing"; a missing
// file throws Errc::no_input. Never returns a partial result.
PlaylistBackup read_playlist_backup(const std::filesystem::path& file);

// A backup file of either kind, told apart by its content (the name is no proof): a top-level
// JSON object is a playlists backup (it must carry "watchstate_playlists"), anything else is
// read as a backup of items. Reads the file once; throws as the two readers above.
struct AnyBackup {
  bool playlists = false;
  std::vector<BackupRecord> records; // a backup of items
  PlaylistBackup playlist_backup;    // a playlists backup
};
AnyBackup read_any_backup(const std::filesystem::path& file);

} // namespace ws::backup
