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
  backend::Guids guids;         // "guids": {"guid_imdb": "tt…", …}
  backend::Guids parent;        // "parent": series guids (episodes)
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

} // namespace ws::backup
