// SPDX-License-Identifier: MIT
// libFuzzer harness: the backup reader (ours and WatchState's .json, .json.gz, .json.zip) on
// hostile files. The first input byte picks how the rest is stored: as is (so the gzip and zip
// container parsers see raw bytes), gzip-compressed, or as the only member of a zip archive (so
// that the JSON reader behind each container is reached). A bad file must end in
// ws::Error(Errc::data); anything else escaping is a crash.
#include <watchstate/backup/backup_file.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/log.hpp>

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unistd.h>

namespace {

void put16(std::string& out, unsigned value) {
  out.push_back(static_cast<char>(value & 0xffU));
  out.push_back(static_cast<char>((value >> 8U) & 0xffU));
}

void put32(std::string& out, unsigned long value) {
  put16(out, static_cast<unsigned>(value & 0xffffUL));
  put16(out, static_cast<unsigned>((value >> 16U) & 0xffffUL));
}

// A zip archive holding `payload` as the stored (uncompressed) member "backup.json".
std::string stored_zip(const std::string& payload) {
  const std::string name = "backup.json";
  const auto crc =
      crc32(0L, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size()));
  std::string out;
  put32(out, 0x04034b50UL); // local file header
  put16(out, 20);
  put16(out, 0);
  put16(out, 0); // stored
  put16(out, 0);
  put16(out, 0);
  put32(out, crc);
  put32(out, payload.size());
  put32(out, payload.size());
  put16(out, static_cast<unsigned>(name.size()));
  put16(out, 0);
  out += name;
  out += payload;
  const std::size_t directory = out.size();
  put32(out, 0x02014b50UL); // central directory entry
  put16(out, 20);
  put16(out, 20);
  put16(out, 0);
  put16(out, 0);
  put16(out, 0);
  put16(out, 0);
  put32(out, crc);
  put32(out, payload.size());
  put32(out, payload.size());
  put16(out, static_cast<unsigned>(name.size()));
  put16(out, 0);
  put16(out, 0);
  put16(out, 0);
  put16(out, 0);
  put32(out, 0);
  put32(out, 0); // offset of the local header
  out += name;
  const std::size_t directory_size = out.size() - directory;
  put32(out, 0x06054b50UL); // end of central directory
  put16(out, 0);
  put16(out, 0);
  put16(out, 1);
  put16(out, 1);
  put32(out, directory_size);
  put32(out, directory);
  put16(out, 0);
  return out;
}

std::string gzipped(const std::string& payload) {
  z_stream stream{};
  deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&stream, static_cast<uLong>(payload.size())) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(payload.data()));
  stream.avail_in = static_cast<uInt>(payload.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

// One file per process, rewritten for every input and removed at exit.
struct Scratch {
  std::filesystem::path file = std::filesystem::temp_directory_path() /
                               ("ws-fuzz-backup-" + std::to_string(::getpid()) + ".json");
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove(file, ec);
  }
};

const std::filesystem::path& scratch_file() {
  static const Scratch scratch;
  return scratch.file;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ws::log::set_level(ws::log::Level::error);
  const std::uint8_t mode = size > 0 ? data[0] % 3U : 0U;
  const std::string payload =
      size > 0 ? std::string(reinterpret_cast<const char*>(data + 1), size - 1) : std::string();
  const std::string bytes = mode == 1   ? gzipped(payload)
                            : mode == 2 ? stored_zip(payload)
                                        : payload;
  {
    std::ofstream out(scratch_file(), std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  try {
    const auto records = ws::backup::read_backup(scratch_file());
    for (const auto& record : records) {
      (void)ws::backup::record_json(record); // what was read can be written again
    }
  } catch (const ws::Error& e) {
    if (e.code() != ws::Errc::data) {
      throw std::logic_error("a bad backup must fail with Errc::data");
    }
  }
  return 0;
}
