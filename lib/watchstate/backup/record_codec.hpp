// SPDX-License-Identifier: MIT
// The JSON of backup files (RapidJSON inside, kept out of this header): WatchState's portable
// record layout (record_json() in backup_file.hpp writes one record), the array of records of a
// backup of items and the document of a playlists backup.
#pragma once

#include <watchstate/backup/backup_file.hpp>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ws::backup {

// Whether `text` holds only JSON whitespace (an empty backup file).
bool only_whitespace(std::string_view text);

// Whether the JSON text's top level is an object: that is what a playlists backup is.
bool is_json_object(std::string_view text);

// One JSON string (quotes and escapes), invalid UTF-8 dropped as in records.
std::string json_string(std::string_view text);

// The records of a backup of items, parsed from `text` (modified: parsed in place). Throws
// ws::Error(Errc::data) as read_backup() documents, naming `file`.
std::vector<BackupRecord> parse_backup_json(const std::filesystem::path& file, std::string& text);

// A playlists backup parsed from `text` (modified: parsed in place). Throws ws::Error(Errc::data)
// as read_playlist_backup() documents, naming `file`.
PlaylistBackup parse_playlist_json(const std::filesystem::path& file, std::string& text);

} // namespace ws::backup
