// SPDX-License-Identifier: MIT
#include <watchstate/backup/backup_file.hpp>

#include <watchstate/backup/gzip.hpp>
#include <watchstate/backup/record_codec.hpp>
#include <watchstate/backup/zip_reader.hpp>
#include <watchstate/core/atomic_file.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/read_file.hpp>

#include <fmt/format.h>

#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

namespace ws::backup {

namespace {

// A backup file being written: to `<path>.tmp` (what remove_stale_temp_files() recognises as an
// interrupted run's), gzip-compressed when `path` ends in ".gz", renamed into place by commit();
// destroyed without commit() the temporary file is removed.
class Sink {
public:
  explicit Sink(const std::filesystem::path& path) : m_file(path, temp_path_for(path), 0644) {
    if (path.string().ends_with(".gz")) {
      m_gzip.emplace(temp_path_for(path).string(),
                     [this](std::string_view data) { m_file.write(data); });
    }
  }

  void write(std::string_view data) {
    if (m_gzip) {
      m_gzip->write(data);
    } else {
      m_file.write(data);
    }
  }

  // Flush everything, fsync, rename into place and fsync the directory.
  void commit() {
    if (m_gzip) {
      m_gzip->finish();
    }
    m_file.commit();
  }

private:
  static std::filesystem::path temp_path_for(const std::filesystem::path& path) {
    std::filesystem::path temp = path;
    temp += ".tmp";
    return temp;
  }

  AtomicFileWriter m_file;
  std::optional<GzipWriter> m_gzip;
};

// The JSON text of a backup file, decompressed: gzip and ZIP (the first *.json member) by their
// magic bytes, anything else as it is. An empty file and a damaged archive are Errc::data.
std::string backup_text(const std::filesystem::path& file) {
  std::string raw;
  if (const auto read = read_file(file, raw); read.error != 0) {
    throw Error(Errc::no_input, fmt::format("{}: {}: {}", file.string(),
                                            read.opened ? "cannot read" : "cannot open",
                                            std::strerror(read.error)));
  }
  if (only_whitespace(raw)) {
    throw Error(Errc::data, fmt::format("{}: empty file", file.string()));
  }
  const auto starts_with = [&](std::string_view magic) {
    return raw.size() >= magic.size() && std::string_view(raw).substr(0, magic.size()) == magic;
  };
  if (starts_with("\x1f\x8b")) {
    std::string text;
    inflate_all(file, raw, Deflated::gzip, text);
    return text;
  }
  if (starts_with(std::string_view("PK\x03\x04", 4))) {
    return unzip_first_json(file, raw);
  }
  return raw;
}

} // namespace

struct BackupWriter::Impl {
  std::filesystem::path path;
  std::unique_ptr<Sink> sink;
  std::uint64_t count = 0;
  bool committed = false;
};

BackupWriter::BackupWriter(std::filesystem::path path) : m_impl(std::make_unique<Impl>()) {
  m_impl->path = std::move(path);
  m_impl->sink = std::make_unique<Sink>(m_impl->path);
  m_impl->sink->write("[");
}

BackupWriter::~BackupWriter() = default; // an uncommitted Sink removes its temporary file

void BackupWriter::add(const BackupRecord& record) {
  if (m_impl->committed || !m_impl->sink) {
    throw Error(Errc::internal,
                fmt::format("{}: record added after commit", m_impl->path.string()));
  }
  // WatchState appends "\n" + json + "," and swaps the last comma for "\n]"; writing the comma
  // before every record but the first gives the same bytes without seeking back (gzip cannot).
  std::string line = m_impl->count == 0 ? "\n" : ",\n";
  line += record_json(record);
  m_impl->sink->write(line);
  ++m_impl->count;
}

std::uint64_t BackupWriter::count() const { return m_impl->count; }

void BackupWriter::commit() {
  if (m_impl->committed || !m_impl->sink) {
    throw Error(Errc::internal, fmt::format("{}: committed twice", m_impl->path.string()));
  }
  m_impl->sink->write("\n]");
  m_impl->sink->commit();
  m_impl->sink.reset();
  m_impl->committed = true;
}

std::vector<BackupRecord> read_backup(const std::filesystem::path& file) {
  std::string text = backup_text(file);
  return parse_backup_json(file, text);
}

void write_playlist_backup(const std::filesystem::path& path, const PlaylistBackup& backup) {
  Sink sink(path); // removes the temporary file unless committed
  // One playlist header per line and one record per line, like the backup of items: readable,
  // and a diff between two backups shows what changed.
  sink.write(fmt::format("{{\"watchstate_playlists\":{},\"identity\":{},\"backend\":{},"
                         "\"created_at\":{},\n\"playlists\":[",
                         k_playlist_backup_version, json_string(backup.identity),
                         json_string(backup.backend),
                         json_string(format_rfc3339(backup.created_at))));
  bool first_playlist = true;
  for (const BackupPlaylist& playlist : backup.playlists) {
    std::string text = first_playlist ? "\n" : ",\n";
    first_playlist = false;
    text += fmt::format("{{\"title\":{},\"items\":[", json_string(playlist.title));
    bool first_item = true;
    for (const BackupRecord& item : playlist.items) {
      text += first_item ? "\n" : ",\n";
      first_item = false;
      text += record_json(item);
    }
    text += playlist.items.empty() ? "]}" : "\n]}";
    sink.write(text);
  }
  sink.write(backup.playlists.empty() ? "]}\n" : "\n]}\n");
  sink.commit();
}

PlaylistBackup read_playlist_backup(const std::filesystem::path& file) {
  std::string text = backup_text(file);
  return parse_playlist_json(file, text);
}

AnyBackup read_any_backup(const std::filesystem::path& file) {
  std::string text = backup_text(file);
  AnyBackup any;
  if (is_json_object(text)) {
    any.playlists = true;
    any.playlist_backup = parse_playlist_json(file, text);
  } else {
    any.records = parse_backup_json(file, text);
  }
  return any;
}

} // namespace ws::backup
