// SPDX-License-Identifier: MIT
#include <watchstate/backup/backup_file.hpp>

#include <watchstate/core/error.hpp>
#include <watchstate/core/text.hpp>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ws::backup {

namespace {

using model::Guid;
using model::GuidKey;
using model::Guids;

constexpr std::size_t k_write_buffer = 64 * 1024;
constexpr std::string_view k_guid_prefix = "guid_";

std::string errno_text(int err) { return std::strerror(err); }

// ---------------------------------------------------------------------------------------------
// Writing

// Length of the valid UTF-8 sequence starting at text[i], or 0 when the byte there starts none.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) {
    return 1;
  }
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    low = lead == 0xE0 ? 0xA0 : 0x80;
    high = lead == 0xED ? 0x9F : 0xBF;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    low = lead == 0xF0 ? 0x90 : 0x80;
    high = lead == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (i + length > text.size()) {
    return 0;
  }
  // Only the second byte has a narrowed range (overlongs, surrogates, > U+10FFFF).
  if (byte(i + 1) < low || byte(i + 1) > high) {
    return 0;
  }
  for (std::size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) {
      return 0;
    }
  }
  return length;
}

// WatchState writes its backups with invalid UTF-8 dropped; do the same instead of emitting a
// file no strict JSON reader accepts.
std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) {
      ++i;
      continue;
    }
    out.append(text.substr(i, length));
    i += length;
  }
  return out;
}

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

// A file descriptor-backed sink: plain buffered writes, or a gzip stream over a duplicate of the
// descriptor (so the original stays open for fsync after gzclose()).
class Sink {
public:
  Sink(std::filesystem::path temp, bool gzip) : m_temp(std::move(temp)) {
    m_fd = ::open(m_temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (m_fd < 0) {
      throw Error(Errc::cant_create,
                  fmt::format("{}: cannot create: {}", m_temp.string(), errno_text(errno)));
    }
    if (gzip) {
      const int copy = ::dup(m_fd);
      m_gz = copy < 0 ? nullptr : gzdopen(copy, "wb6");
      if (m_gz == nullptr) {
        const int err = errno;
        if (copy >= 0) {
          ::close(copy);
        }
        discard();
        throw Error(Errc::cant_create, fmt::format("{}: cannot start gzip stream: {}",
                                                   m_temp.string(), errno_text(err)));
      }
      gzbuffer(m_gz, static_cast<unsigned>(k_write_buffer));
    } else {
      m_buffer.reserve(k_write_buffer);
    }
  }

  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;
  ~Sink() { discard(); }

  void write(std::string_view data) {
    if (m_gz != nullptr) {
      // gzwrite takes an unsigned length; a record never comes near that, but split anyway.
      while (!data.empty()) {
        const std::size_t chunk = std::min<std::size_t>(data.size(), 1U << 30);
        if (gzwrite(m_gz, data.data(), static_cast<unsigned>(chunk)) != static_cast<int>(chunk)) {
          int zerr = Z_OK;
          const char* message = gzerror(m_gz, &zerr);
          throw Error(Errc::io, fmt::format("{}: write failed: {}", m_temp.string(),
                                            zerr == Z_ERRNO ? errno_text(errno) : message));
        }
        data.remove_prefix(chunk);
      }
      return;
    }
    m_buffer.append(data);
    if (m_buffer.size() >= k_write_buffer) {
      flush_buffer();
    }
  }

  // Flush everything, close the compressor and fsync the file; the descriptor is closed after.
  void finish() {
    if (m_gz != nullptr) {
      gzFile gz = std::exchange(m_gz, nullptr);
      const int result = gzclose(gz);
      if (result != Z_OK) {
        throw Error(Errc::io, fmt::format("{}: write failed: {}", m_temp.string(),
                                          result == Z_ERRNO ? errno_text(errno) : "zlib error"));
      }
    } else {
      flush_buffer();
    }
    if (::fsync(m_fd) != 0) {
      throw Error(Errc::io,
                  fmt::format("{}: fsync failed: {}", m_temp.string(), errno_text(errno)));
    }
    const int fd = std::exchange(m_fd, -1);
    if (::close(fd) != 0) {
      throw Error(Errc::io,
                  fmt::format("{}: close failed: {}", m_temp.string(), errno_text(errno)));
    }
  }

  // The file is in place under its final name: nothing left to remove.
  void release() { m_temp.clear(); }

private:
  void flush_buffer() {
    std::string_view rest = m_buffer;
    while (!rest.empty()) {
      const ssize_t written = ::write(m_fd, rest.data(), rest.size());
      if (written < 0) {
        if (errno == EINTR) {
          continue;
        }
        throw Error(Errc::io,
                    fmt::format("{}: write failed: {}", m_temp.string(), errno_text(errno)));
      }
      rest.remove_prefix(static_cast<std::size_t>(written));
    }
    m_buffer.clear();
  }

  void discard() noexcept {
    if (m_gz != nullptr) {
      gzclose(std::exchange(m_gz, nullptr));
    }
    if (m_fd >= 0) {
      ::close(std::exchange(m_fd, -1));
    }
    if (!m_temp.empty()) {
      ::unlink(m_temp.c_str());
      m_temp.clear();
    }
  }

  std::filesystem::path m_temp;
  int m_fd = -1;
  gzFile m_gz = nullptr;
  std::string m_buffer;
};

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::filesystem::path temp_path_for(const std::filesystem::path& path) {
  std::filesystem::path temp = path;
  temp += ".tmp";
  return temp;
}

// Make the rename durable too; best effort, a directory that cannot be opened is not an error.
void sync_directory(const std::filesystem::path& file) {
  std::filesystem::path dir = file.parent_path();
  if (dir.empty()) {
    dir = ".";
  }
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading: raw bytes, decompression

std::string read_whole_file(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw Error(Errc::no_input,
                fmt::format("{}: cannot open: {}", file.string(), errno_text(errno)));
  }
  std::string data;
  struct stat info {};
  if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 0) {
    data.reserve(static_cast<std::size_t>(info.st_size));
  }
  std::array<char, 64 * 1024> chunk{};
  for (;;) {
    const ssize_t got = ::read(fd, chunk.data(), chunk.size());
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      ::close(fd);
      throw Error(Errc::no_input,
                  fmt::format("{}: cannot read: {}", file.string(), errno_text(err)));
    }
    if (got == 0) {
      break;
    }
    data.append(chunk.data(), static_cast<std::size_t>(got));
  }
  ::close(fd);
  return data;
}

[[noreturn]] void throw_corrupt(const std::filesystem::path& file) {
  throw Error(Errc::data, fmt::format("{}: corrupt compressed data", file.string()));
}

// Inflate `input` (window_bits selects the gzip or raw wrapper) until the end of the stream.
// Returns the number of input bytes consumed; a stream that ends early or is damaged is corrupt.
std::size_t inflate_all(const std::filesystem::path& file, std::string_view input, int window_bits,
                        std::string& out) {
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) {
    throw Error(Errc::internal, fmt::format("{}: cannot initialise zlib", file.string()));
  }
  struct End {
    z_stream* stream;
    ~End() { inflateEnd(stream); }
  } end{&zs};

  std::array<char, 64 * 1024> chunk{};
  std::size_t offset = 0;
  for (;;) {
    if (zs.avail_in == 0 && offset < input.size()) {
      const std::size_t take = std::min<std::size_t>(input.size() - offset, 1U << 30);
      // zlib's API is not const-correct; it never writes through next_in.
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data() + offset));
      zs.avail_in = static_cast<uInt>(take);
      offset += take;
    }
    zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
    zs.avail_out = static_cast<uInt>(chunk.size());
    const int result = inflate(&zs, Z_NO_FLUSH);
    out.append(chunk.data(), chunk.size() - zs.avail_out);
    if (result == Z_STREAM_END) {
      return offset - zs.avail_in;
    }
    if (result == Z_OK) {
      continue;
    }
    if (result == Z_BUF_ERROR && zs.avail_in == 0 && offset < input.size()) {
      continue;
    }
    // Z_BUF_ERROR with all input consumed: truncated; anything else: damaged.
    throw_corrupt(file);
  }
}

std::uint16_t le16(std::string_view data, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(data[at]) |
                                    (static_cast<unsigned char>(data[at + 1]) << 8));
}

std::uint32_t le32(std::string_view data, std::size_t at) {
  return static_cast<std::uint32_t>(le16(data, at)) |
         (static_cast<std::uint32_t>(le16(data, at + 2)) << 16);
}

std::uint64_t le64(std::string_view data, std::size_t at) {
  return static_cast<std::uint64_t>(le32(data, at)) |
         (static_cast<std::uint64_t>(le32(data, at + 4)) << 32);
}

constexpr std::uint32_t k_zip_local = 0x04034b50;
constexpr std::uint32_t k_zip_central = 0x02014b50;
constexpr std::uint32_t k_zip_end = 0x06054b50;
constexpr std::uint32_t k_zip_descriptor = 0x08074b50;
constexpr std::uint32_t k_zip_unknown32 = 0xFFFFFFFF;

struct ZipSizes {
  std::uint64_t compressed = 0;
  std::uint64_t uncompressed = 0;
  std::uint32_t crc = 0;
};

// Replace 0xFFFFFFFF sizes by the values of a ZIP64 extra field (id 1), when there is one.
void apply_zip64(std::string_view extra, ZipSizes& sizes, bool compressed_unknown,
                 bool uncompressed_unknown) {
  std::size_t at = 0;
  while (at + 4 <= extra.size()) {
    const std::uint16_t id = le16(extra, at);
    const std::uint16_t length = le16(extra, at + 2);
    if (at + 4 + length > extra.size()) {
      return;
    }
    if (id == 1) {
      std::size_t field = at + 4;
      // The ZIP64 field lists only the values that overflowed, uncompressed size first.
      if (uncompressed_unknown && field + 8 <= at + 4 + length) {
        sizes.uncompressed = le64(extra, field);
        field += 8;
      }
      if (compressed_unknown && field + 8 <= at + 4 + length) {
        sizes.compressed = le64(extra, field);
      }
      return;
    }
    at += 4 + length;
  }
}

// The sizes of the member whose local header is at `local_offset`, from the central directory.
std::optional<ZipSizes> central_sizes(std::string_view zip, std::size_t local_offset) {
  if (zip.size() < 22) {
    return std::nullopt;
  }
  // The end record sits in the last 22 + 65535 (comment) bytes.
  const std::size_t lowest = zip.size() > 22 + 0xFFFF ? zip.size() - 22 - 0xFFFF : 0;
  std::optional<std::size_t> end_at;
  for (std::size_t at = zip.size() - 22;; --at) {
    if (le32(zip, at) == k_zip_end) {
      end_at = at;
      break;
    }
    if (at == lowest) {
      break;
    }
  }
  if (!end_at) {
    return std::nullopt;
  }
  const std::uint16_t entries = le16(zip, *end_at + 10);
  std::size_t at = le32(zip, *end_at + 16);
  for (std::uint16_t i = 0; i < entries; ++i) {
    if (at + 46 > zip.size() || le32(zip, at) != k_zip_central) {
      return std::nullopt;
    }
    const std::size_t name_length = le16(zip, at + 28);
    const std::size_t extra_length = le16(zip, at + 30);
    const std::size_t comment_length = le16(zip, at + 32);
    if (at + 46 + name_length + extra_length > zip.size()) {
      return std::nullopt;
    }
    const std::uint32_t offset = le32(zip, at + 42);
    if (offset == local_offset) {
      ZipSizes sizes{le32(zip, at + 20), le32(zip, at + 24), le32(zip, at + 16)};
      apply_zip64(zip.substr(at + 46 + name_length, extra_length), sizes,
                  sizes.compressed == k_zip_unknown32, sizes.uncompressed == k_zip_unknown32);
      return sizes;
    }
    at += 46 + name_length + extra_length + comment_length;
  }
  return std::nullopt;
}

bool is_json_member(std::string_view name) {
  if (name.empty() || name.back() == '/' || name.rfind("__MACOSX/", 0) == 0) {
    return false;
  }
  return name.size() > 5 && iequals(name.substr(name.size() - 5), ".json");
}

// The first "*.json" member of a ZIP archive, decompressed. Walks the local headers so that a
// truncated archive (no central directory) still reads as far as it can.
std::string unzip_first_json(const std::filesystem::path& file, std::string_view zip) {
  std::size_t at = 0;
  while (at + 30 <= zip.size() && le32(zip, at) == k_zip_local) {
    const std::uint16_t flags = le16(zip, at + 6);
    const std::uint16_t method = le16(zip, at + 8);
    ZipSizes sizes{le32(zip, at + 18), le32(zip, at + 22), le32(zip, at + 14)};
    const std::size_t name_length = le16(zip, at + 26);
    const std::size_t extra_length = le16(zip, at + 28);
    const std::size_t data_at = at + 30 + name_length + extra_length;
    if (data_at > zip.size()) {
      throw_corrupt(file);
    }
    const std::string_view name = zip.substr(at + 30, name_length);
    bool sizes_known = true;
    if ((flags & 0x08) != 0) {
      // Sizes follow the data in a descriptor; the central directory has them too.
      if (auto central = central_sizes(zip, at)) {
        sizes = *central;
      } else {
        sizes_known = false;
      }
    } else if (sizes.compressed == k_zip_unknown32 || sizes.uncompressed == k_zip_unknown32) {
      apply_zip64(zip.substr(at + 30 + name_length, extra_length), sizes,
                  sizes.compressed == k_zip_unknown32, sizes.uncompressed == k_zip_unknown32);
    }
    if (sizes_known && sizes.compressed > zip.size() - data_at) {
      throw_corrupt(file);
    }
    const std::string_view data =
        sizes_known ? zip.substr(data_at, sizes.compressed) : zip.substr(data_at);
    const bool wanted = is_json_member(name);
    if (wanted && (flags & 0x01) != 0) {
      throw Error(Errc::data, fmt::format("{}: ZIP member '{}' is encrypted", file.string(), name));
    }
    if (method != 0 && method != 8) {
      if (wanted) {
        throw Error(Errc::data,
                    fmt::format("{}: ZIP member '{}' uses unsupported compression method {}",
                                file.string(), name, method));
      }
      if (!sizes_known) {
        throw_corrupt(file);
      }
    }

    std::string out;
    std::size_t consumed = data.size();
    if (method == 8 && (wanted || !sizes_known)) {
      if (wanted && sizes_known) {
        out.reserve(static_cast<std::size_t>(
            std::min<std::uint64_t>(sizes.uncompressed, std::uint64_t{1} << 30)));
      }
      consumed = inflate_all(file, data, -MAX_WBITS, out);
    } else if (method == 0) {
      if (!sizes_known) {
        throw_corrupt(file); // a stored member's end cannot be found without its size
      }
      if (wanted) {
        out.assign(data);
      }
    }
    if (wanted) {
      if (sizes_known &&
          (out.size() != sizes.uncompressed ||
           crc32_z(0L, reinterpret_cast<const Bytef*>(out.data()), out.size()) != sizes.crc)) {
        throw_corrupt(file);
      }
      return out;
    }
    at = data_at + consumed;
    if ((flags & 0x08) != 0) {
      // Data descriptor: optional signature, CRC, then two 4-byte sizes.
      at += (at + 4 <= zip.size() && le32(zip, at) == k_zip_descriptor) ? 16 : 12;
    }
  }
  if (at + 4 <= zip.size() && le32(zip, at) != k_zip_central && le32(zip, at) != k_zip_end) {
    throw_corrupt(file);
  }
  throw Error(Errc::data, fmt::format("{}: the ZIP archive holds no .json file", file.string()));
}

// ---------------------------------------------------------------------------------------------
// Reading: JSON

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

bool only_whitespace(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

// Where the JSON starts: after a UTF-8 byte order mark, which is not JSON but editors add one.
std::size_t json_base(std::string_view text) {
  return text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
}

std::vector<BackupRecord> parse_backup_json(const std::filesystem::path& file, std::string& text) {
  if (only_whitespace(text)) {
    throw Error(Errc::data, fmt::format("{}: empty file", file.string()));
  }
  const std::size_t base = json_base(text);
  const std::vector<std::size_t> offsets = record_offsets(std::string_view(text).substr(base));

  rapidjson::Document document;
  document.ParseInsitu(text.data() + base);
  if (document.HasParseError()) {
    const std::size_t at = document.GetErrorOffset();
    const auto before = static_cast<std::size_t>(
        std::lower_bound(offsets.begin(), offsets.end(), at) - offsets.begin());
    const std::string where = before == 0 ? std::string() : fmt::format(" (record ~{})", before);
    throw Error(Errc::data,
                fmt::format("{}: not valid JSON at byte {}{}: {}", file.string(), at + base, where,
                            rapidjson::GetParseError_En(document.GetParseError())));
  }
  if (document.IsObject() && document.HasMember("watchstate_playlists")) {
    throw Error(Errc::data,
                fmt::format("{}: a playlists backup, not a backup of items", file.string()));
  }
  if (!document.IsArray()) {
    throw Error(Errc::data,
                fmt::format("{}: not a backup: the top level must be a JSON array", file.string()));
  }

  std::vector<BackupRecord> records;
  records.reserve(document.Size());
  std::size_t index = 0;
  for (const Value& element : document.GetArray()) {
    try {
      records.push_back(parse_record(element, true));
    } catch (const RecordError& e) {
      const std::size_t at = index < offsets.size() ? offsets[index] + base : 0;
      throw Error(Errc::data, fmt::format("{}: record {} at byte {}: {}", file.string(), index + 1,
                                          at, e.what()));
    }
    ++index;
  }
  return records;
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

PlaylistBackup parse_playlist_json(const std::filesystem::path& file, std::string& text) {
  if (only_whitespace(text)) {
    throw Error(Errc::data, fmt::format("{}: empty file", file.string()));
  }
  const std::size_t base = json_base(text);
  rapidjson::Document document;
  document.ParseInsitu(text.data() + base);
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

// The JSON text of a backup file, decompressed: gzip and ZIP (the first *.json member) by their
// magic bytes, anything else as it is. An empty file and a damaged archive are Errc::data.
std::string backup_text(const std::filesystem::path& file) {
  std::string raw = read_whole_file(file);
  if (only_whitespace(raw)) {
    throw Error(Errc::data, fmt::format("{}: empty file", file.string()));
  }
  const auto starts_with = [&](std::string_view magic) {
    return raw.size() >= magic.size() && std::string_view(raw).substr(0, magic.size()) == magic;
  };
  if (starts_with("\x1f\x8b")) {
    std::string text;
    inflate_all(file, raw, 16 + MAX_WBITS, text);
    return text;
  }
  if (starts_with(std::string_view("PK\x03\x04", 4))) {
    return unzip_first_json(file, raw);
  }
  return raw;
}

// Whether the JSON text's top level is an object: that is what a playlists backup is.
bool is_json_object(std::string_view text) {
  const std::size_t start = text.find_first_not_of(" \t\n\r", json_base(text));
  return start != std::string_view::npos && text[start] == '{';
}

// One JSON string (quotes and escapes), invalid UTF-8 dropped as in records.
std::string json_string(std::string_view text) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  write_string(writer, text);
  return std::string(buffer.GetString(), buffer.GetSize());
}

} // namespace

// ---------------------------------------------------------------------------------------------

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

struct BackupWriter::Impl {
  std::filesystem::path path;
  std::filesystem::path temp;
  std::unique_ptr<Sink> sink;
  std::uint64_t count = 0;
  bool committed = false;
};

BackupWriter::BackupWriter(std::filesystem::path path) : m_impl(std::make_unique<Impl>()) {
  m_impl->path = std::move(path);
  m_impl->temp = temp_path_for(m_impl->path);
  m_impl->sink = std::make_unique<Sink>(m_impl->temp, ends_with(m_impl->path.string(), ".gz"));
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
  m_impl->sink->finish();
  std::error_code ec;
  std::filesystem::rename(m_impl->temp, m_impl->path, ec);
  if (ec) {
    throw Error(Errc::io, fmt::format("{}: cannot rename {} into place: {}", m_impl->path.string(),
                                      m_impl->temp.string(), ec.message()));
  }
  m_impl->sink->release();
  m_impl->sink.reset();
  m_impl->committed = true;
  sync_directory(m_impl->path);
}

std::vector<BackupRecord> read_backup(const std::filesystem::path& file) {
  std::string text = backup_text(file);
  return parse_backup_json(file, text);
}

void write_playlist_backup(const std::filesystem::path& path, const PlaylistBackup& backup) {
  const std::filesystem::path temp = temp_path_for(path);
  Sink sink(temp, ends_with(path.string(), ".gz")); // removes the temporary file unless released
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
  sink.finish();
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    throw Error(Errc::io, fmt::format("{}: cannot rename {} into place: {}", path.string(),
                                      temp.string(), ec.message()));
  }
  sink.release();
  sync_directory(path);
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
