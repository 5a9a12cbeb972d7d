// SPDX-License-Identifier: MIT
#include <watchstate/backup/record_codec.hpp>

#include <watchstate/core/error.hpp>
#include <watchstate/core/text.hpp>
#include <watchstate/json/parse_buffer.hpp>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

namespace ws::backup {

namespace {

using model::Guid;
using model::Guids;

constexpr std::string_view k_guid_prefix = "guid_";

// ---------------------------------------------------------------------------------------------
// Writing

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(JsonWriter& writer, std::string_view text) {
  const std::string clean = valid_utf8(text);
  writer.String(clean.data(), static_cast<rapidjson::SizeType>(clean.size()));
}

void write_key(JsonWriter& writer, std::string_view key) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void write_guids(JsonWriter& writer, const Guids& guids) {
  // GuidKey is declared in alphabetical order, so sorting by key sorts the "guid_<name>" keys.
  Guids sorted = guids;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Guid& a, const Guid& b) { return a.key < b.key; });
  writer.StartObject();
  for (const Guid& guid : sorted) {
    const std::string key =
        std::string(k_guid_prefix) + std::string(model::guid_key_name(guid.key));
    write_key(writer, key);
    write_string(writer, guid.value);
  }
  writer.EndObject();
}

// ---------------------------------------------------------------------------------------------
// Reading

// Start offsets of the elements of the top-level array, found by a scan that tracks strings and
// nesting. Exact for valid JSON; for broken JSON it is only used to count records before the
// error offset.
std::vector<std::size_t> record_offsets(std::string_view text) {
  std::vector<std::size_t> offsets;
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  bool expecting = false;
  const std::size_t root = text.find_first_not_of(" \t\n\r");
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      continue;
    }
    if (depth == 0 && (c != '[' || i != root)) {
      break; // not an array, or past its end: RapidJSON reports what is wrong
    }
    if (depth == 1 && expecting && c != ']') {
      offsets.push_back(i);
      expecting = false;
    }
    switch (c) {
    case '"': in_string = true; break;
    case '[':
    case '{':
      ++depth;
      expecting = depth == 1;
      break;
    case ']':
    case '}': --depth; break;
    case ',': expecting = depth == 1; break;
    default: break;
    }
  }
  return offsets;
}

using Value = rapidjson::Value;

class RecordError {
public:
  explicit RecordError(std::string what) : m_what(std::move(what)) {}
  [[nodiscard]] const std::string& what() const { return m_what; }

private:
  std::string m_what;
};

std::optional<std::int64_t> as_integer(const Value& value) {
  if (value.IsInt64()) {
    return value.GetInt64();
  }
  if (value.IsUint64()) {
    return std::nullopt; // beyond int64
  }
  if (value.IsDouble()) {
    const double d = value.GetDouble();
    // PHP can write an integral float as "900000.0".
    if (std::isfinite(d) && std::trunc(d) == d && d >= -9.2e18 && d <= 9.2e18) {
      return static_cast<std::int64_t>(d);
    }
  }
  return std::nullopt;
}

const Value* member(const Value& object, const char* name) {
  const auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

int int_field(const Value& value, const char* name) {
  const auto number = as_integer(value);
  if (!number || *number < std::numeric_limits<int>::min() ||
      *number > std::numeric_limits<int>::max()) {
    throw RecordError(fmt::format("'{}' must be an integer", name));
  }
  return static_cast<int>(*number);
}

std::string string_field(const Value& value, const char* name) {
  if (!value.IsString()) {
    throw RecordError(fmt::format("'{}' must be a string", name));
  }
  return std::string(value.GetString(), value.GetStringLength());
}

Guids guids_field(const Value& value, const char* name) {
  Guids guids;
  if (value.IsNull()) {
    return guids;
  }
  if (!value.IsObject()) {
    throw RecordError(fmt::format("'{}' must be an object", name));
  }
  for (const auto& entry : value.GetObject()) {
    std::string_view key(entry.name.GetString(), entry.name.GetStringLength());
    const std::string_view full_key = key;
    if (key.size() > k_guid_prefix.size() &&
        iequals(key.substr(0, k_guid_prefix.size()), k_guid_prefix)) {
      key.remove_prefix(k_guid_prefix.size());
    }
    const auto guid_key = model::guid_key_from_name(key);
    if (!guid_key) {
      continue; // a provider watchstate does not match on
    }
    std::string text;
    if (entry.value.IsString()) {
      text.assign(entry.value.GetString(), entry.value.GetStringLength());
    } else if (entry.value.IsInt64()) {
      text = std::to_string(entry.value.GetInt64());
    } else if (entry.value.IsNull()) {
      continue;
    } else {
      throw RecordError(fmt::format("'{}.{}' must be a string", name, full_key));
    }
    if (!model::is_valid_guid_value(*guid_key, text)) {
      continue;
    }
    const bool seen =
        std::any_of(guids.begin(), guids.end(), [&](const Guid& g) { return g.key == *guid_key; });
    if (!seen) {
      guids.push_back(Guid{*guid_key, std::move(text)});
    }
  }
  std::sort(guids.begin(), guids.end(), [](const Guid& a, const Guid& b) { return a.key < b.key; });
  return guids;
}

// `play_state_required`: a backup of items needs "watched" and "updated"; a playlist item may
// leave them out (when present they are checked all the same).
BackupRecord parse_record(const Value& value, bool play_state_required) {
  if (!value.IsObject()) {
    throw RecordError("not an object");
  }
  BackupRecord record;

  const Value* type = member(value, "type");
  if (type == nullptr) {
    throw RecordError("'type' is missing");
  }
  if (!type->IsString()) {
    throw RecordError("'type' must be a string");
  }
  const std::string_view type_text(type->GetString(), type->GetStringLength());
  if (iequals(type_text, "episode")) {
    record.episode = true;
  } else if (!iequals(type_text, "movie")) {
    throw RecordError(
        fmt::format("'type' must be \"movie\" or \"episode\", not \"{}\"", type_text));
  }

  const Value* watched = member(value, "watched");
  if (watched == nullptr) {
    if (play_state_required) {
      throw RecordError("'watched' is missing");
    }
  } else if (watched->IsBool()) {
    record.watched = watched->GetBool();
  } else {
    const auto number = as_integer(*watched);
    if (!number || (*number != 0 && *number != 1)) {
      throw RecordError("'watched' must be 0 or 1");
    }
    record.watched = *number == 1;
  }

  const Value* updated = member(value, "updated");
  if (updated == nullptr) {
    if (play_state_required) {
      throw RecordError("'updated' is missing");
    }
  } else if (updated->IsString()) {
    const std::string_view digits(updated->GetString(), updated->GetStringLength());
    const bool numeric =
        !digits.empty() && digits.size() <= 18 &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!numeric) {
      throw RecordError("'updated' must be a number");
    }
    record.updated = std::stoll(std::string(digits));
  } else {
    const auto number = as_integer(*updated);
    if (!number) {
      throw RecordError("'updated' must be a number");
    }
    record.updated = *number;
  }

  const Value* title = member(value, "title");
  if (title != nullptr && !title->IsNull()) {
    record.title = string_field(*title, "title");
  } else if (!record.episode) {
    throw RecordError("'title' is missing");
  }

  if (const Value* year = member(value, "year"); year != nullptr && !year->IsNull()) {
    record.year = int_field(*year, "year");
  }

  if (const Value* guids = member(value, "guids"); guids != nullptr) {
    record.guids = guids_field(*guids, "guids");
  }

  if (record.episode) {
    if (const Value* show = member(value, "show"); show != nullptr && !show->IsNull()) {
      record.show = string_field(*show, "show");
    }
    const Value* season = member(value, "season");
    if (season == nullptr || season->IsNull()) {
      throw RecordError("'season' is missing");
    }
    record.season = int_field(*season, "season");
    const Value* episode = member(value, "episode");
    if (episode == nullptr || episode->IsNull()) {
      throw RecordError("'episode' is missing");
    }
    record.episode_number = int_field(*episode, "episode");
    if (const Value* parent = member(value, "parent"); parent != nullptr) {
      record.parent = guids_field(*parent, "parent");
    }
  }

  if (const Value* progress = member(value, "progress");
      progress != nullptr && !progress->IsNull()) {
    const auto number = as_integer(*progress);
    if (!number || *number < 0) {
      throw RecordError("'progress' must be a non-negative integer");
    }
    record.progress_ms = *number;
  }
  return record;
}

// Where the JSON starts: after a UTF-8 byte order mark, which is not JSON but editors add one.
std::size_t json_base(std::string_view text) {
  return text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
}

// A shape error of a playlists backup, with where it is ("top level", "playlist 2",
// "playlist 2 item 3").
[[noreturn]] void throw_shape(const std::filesystem::path& file, std::string_view where,
                              std::string_view what) {
  throw Error(Errc::data, fmt::format("{}: {}: {}", file.string(), where, what));
}

std::string required_string(const std::filesystem::path& file, const Value& object,
                            const char* name, std::string_view where) {
  const Value* value = member(object, name);
  if (value == nullptr) {
    throw_shape(file, where, fmt::format("'{}' is missing", name));
  }
  if (!value->IsString()) {
    throw_shape(file, where, fmt::format("'{}' must be a string", name));
  }
  return std::string(value->GetString(), value->GetStringLength());
}

const Value& required_array(const std::filesystem::path& file, const Value& object,
                            const char* name, std::string_view where) {
  const Value* value = member(object, name);
  if (value == nullptr) {
    throw_shape(file, where, fmt::format("'{}' is missing", name));
  }
  if (!value->IsArray()) {
    throw_shape(file, where, fmt::format("'{}' must be an array", name));
  }
  return *value;
}

} // namespace

bool only_whitespace(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

bool is_json_object(std::string_view text) {
  const std::size_t start = text.find_first_not_of(" \t\n\r", json_base(text));
  return start != std::string_view::npos && text[start] == '{';
}

std::string json_string(std::string_view text) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  write_string(writer, text);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string record_json(const BackupRecord& record) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  write_key(writer, "type");
  write_string(writer, record.episode ? "episode" : "movie");
  write_key(writer, "watched");
  writer.Int(record.watched ? 1 : 0);
  write_key(writer, "updated");
  writer.Int64(record.updated);
  if (record.episode) {
    write_key(writer, "show");
    write_string(writer, record.show);
  }
  write_key(writer, "title");
  write_string(writer, record.title);
  if (record.episode) {
    write_key(writer, "season");
    writer.Int(record.season);
    write_key(writer, "episode");
    writer.Int(record.episode_number);
  }
  write_key(writer, "year");
  if (record.year == 0) {
    writer.Null();
  } else {
    writer.Int(record.year);
  }
  write_key(writer, "guids");
  write_guids(writer, record.guids);
  if (record.episode) {
    write_key(writer, "parent");
    write_guids(writer, record.parent);
  }
  if (record.progress_ms > 0) {
    write_key(writer, "progress");
    writer.Int64(record.progress_ms);
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::vector<BackupRecord> parse_backup_json(const std::filesystem::path& file, std::string& text) {
  if (only_whitespace(text)) {
    throw Error(Errc::data, fmt::format("{}: empty file", file.string()));
  }
  const std::size_t base = json_base(text);
  const std::vector<std::size_t> offsets = record_offsets(std::string_view(text).substr(base));
  char* const json = json::padded_for_parse(text) + base;

  const auto parse_error = [&](std::size_t at, rapidjson::ParseErrorCode code) {
    const auto before = static_cast<std::size_t>(
        std::lower_bound(offsets.begin(), offsets.end(), at) - offsets.begin());
    const std::string where = before == 0 ? std::string() : fmt::format(" (record ~{})", before);
    return Error(Errc::data, fmt::format("{}: not valid JSON at byte {}{}: {}", file.string(),
                                         at + base, where, rapidjson::GetParseError_En(code)));
  };
  const std::size_t root = text.find_first_not_of(" \t\n\r", base);
  if (root == std::string::npos || text[root] != '[') {
    // Not an array: read whole for what is wrong (a playlists backup is named as one).
    rapidjson::Document document;
    document.ParseInsitu(json);
    if (document.HasParseError()) {
      throw parse_error(document.GetErrorOffset(), document.GetParseError());
    }
    if (document.IsObject() && document.HasMember("watchstate_playlists")) {
      throw Error(Errc::data,
                  fmt::format("{}: a playlists backup, not a backup of items", file.string()));
    }
    throw Error(Errc::data,
                fmt::format("{}: not a backup: the top level must be a JSON array", file.string()));
  }
  // The whole file is checked without building its tree (the same parser: the same errors),
  // then each record is read on its own: the tree of one record is held at a time.
  {
    rapidjson::Reader reader;
    rapidjson::BaseReaderHandler<> ignore;
    rapidjson::StringStream in(json);
    if (!reader.Parse(in, ignore)) {
      throw parse_error(reader.GetErrorOffset(), reader.GetParseErrorCode());
    }
  }

  std::vector<BackupRecord> records;
  records.reserve(offsets.size());
  rapidjson::MemoryPoolAllocator<> pool;
  for (std::size_t index = 0; index < offsets.size(); ++index) {
    pool.Clear();
    rapidjson::Document element(&pool);
    element.ParseInsitu<rapidjson::kParseStopWhenDoneFlag>(json + offsets[index]);
    try {
      if (element.HasParseError()) {
        throw RecordError("not valid JSON"); // checked above: cannot happen
      }
      records.push_back(parse_record(element, true));
    } catch (const RecordError& e) {
      throw Error(Errc::data, fmt::format("{}: record {} at byte {}: {}", file.string(), index + 1,
                                          offsets[index] + base, e.what()));
    }
  }
  return records;
}

PlaylistBackup parse_playlist_json(const std::filesystem::path& file, std::string& text) {
  if (only_whitespace(text)) {
    throw Error(Errc::data, fmt::format("{}: empty file", file.string()));
  }
  const std::size_t base = json_base(text);
  rapidjson::Document document;
  document.ParseInsitu(json::padded_for_parse(text) + base);
  if (document.HasParseError()) {
    throw Error(Errc::data, fmt::format("{}: not valid JSON at byte {}: {}", file.string(),
                                        document.GetErrorOffset() + base,
                                        rapidjson::GetParseError_En(document.GetParseError())));
  }
  constexpr std::string_view top = "top level";
  if (!document.IsObject()) {
    throw_shape(file, top, "not a playlists backup: the top level must be a JSON object");
  }
  const Value* version = member(document, "watchstate_playlists");
  if (version == nullptr) {
    throw_shape(file, top, "not a playlists backup: 'watchstate_playlists' is missing");
  }
  const auto number = as_integer(*version);
  if (!number || *number < 1) {
    throw_shape(file, top, "'watchstate_playlists' must be a format version (1)");
  }
  if (*number > k_playlist_backup_version) {
    throw_shape(file, top,
                fmt::format("format version {} is newer than this watchstate reads ({})", *number,
                            k_playlist_backup_version));
  }

  PlaylistBackup backup;
  backup.identity = required_string(file, document, "identity", top);
  backup.backend = required_string(file, document, "backend", top);
  const std::string created = required_string(file, document, "created_at", top);
  const auto created_at = parse_iso8601(created);
  if (!created_at) {
    throw_shape(file, top, fmt::format("'created_at' is not an RFC 3339 date: \"{}\"", created));
  }
  backup.created_at = *created_at;

  const Value& playlists = required_array(file, document, "playlists", top);
  backup.playlists.reserve(playlists.Size());
  std::size_t index = 0;
  for (const Value& element : playlists.GetArray()) {
    ++index;
    const std::string where = fmt::format("playlist {}", index);
    if (!element.IsObject()) {
      throw_shape(file, where, "not an object");
    }
    BackupPlaylist playlist;
    playlist.title = required_string(file, element, "title", where);
    if (trim(playlist.title).empty()) {
      throw_shape(file, where, "'title' is empty");
    }
    const Value& items = required_array(file, element, "items", where);
    playlist.items.reserve(items.Size());
    std::size_t position = 0;
    for (const Value& item : items.GetArray()) {
      ++position;
      try {
        playlist.items.push_back(parse_record(item, false));
      } catch (const RecordError& e) {
        throw_shape(file, fmt::format("{} item {}", where, position), e.what());
      }
    }
    backup.playlists.push_back(std::move(playlist));
  }
  return backup;
}

} // namespace ws::backup
