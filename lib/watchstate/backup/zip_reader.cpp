// SPDX-License-Identifier: MIT
#include <watchstate/backup/zip_reader.hpp>

#include <watchstate/backup/gzip.hpp>
#include <watchstate/core/buffer_slack.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/text.hpp>

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <optional>

namespace ws::backup {

namespace {

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

} // namespace

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
                        std::min<std::uint64_t>(sizes.uncompressed, std::uint64_t{1} << 30)) +
                    k_buffer_slack);
      }
      consumed = inflate_all(file, data, Deflated::raw, out);
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

} // namespace ws::backup
