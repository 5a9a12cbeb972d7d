// SPDX-License-Identifier: MIT
#include <watchstate/backup/gzip.hpp>

#include <watchstate/core/error.hpp>

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <utility>

namespace ws::backup {

void throw_corrupt(const std::filesystem::path& file) {
  throw Error(Errc::data, fmt::format("{}: corrupt compressed data", file.string()));
}

std::size_t inflate_all(const std::filesystem::path& file, std::string_view input, Deflated format,
                        std::string& out) {
  z_stream zs{};
  const int window_bits = format == Deflated::gzip ? 16 + MAX_WBITS : -MAX_WBITS;
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

struct GzipWriter::Impl {
  std::string name;
  std::function<void(std::string_view)> out;
  z_stream zs{};
  bool started = false;
  std::array<char, 64 * 1024> chunk{};

  ~Impl() {
    if (started) {
      deflateEnd(&zs);
    }
  }

  // Run deflate over the pending input with `flush`, handing every full output buffer on.
  void pump(int flush) {
    for (;;) {
      zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
      zs.avail_out = static_cast<uInt>(chunk.size());
      const int result = deflate(&zs, flush);
      if (result == Z_STREAM_ERROR) {
        throw Error(Errc::io, fmt::format("{}: write failed: zlib error", name));
      }
      const std::size_t produced = chunk.size() - zs.avail_out;
      if (produced > 0) {
        out(std::string_view(chunk.data(), produced));
      }
      if (flush == Z_FINISH ? result == Z_STREAM_END : zs.avail_out != 0) {
        return;
      }
    }
  }
};

GzipWriter::GzipWriter(std::string name, std::function<void(std::string_view)> out)
    : m_impl(std::make_unique<Impl>()) {
  m_impl->name = std::move(name);
  m_impl->out = std::move(out);
  // What gzdopen(fd, "wb6") sets up: level 6, a gzip wrapper, the default memory level.
  if (deflateInit2(&m_impl->zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw Error(Errc::cant_create,
                fmt::format("{}: cannot start gzip stream: zlib error", m_impl->name));
  }
  m_impl->started = true;
}

GzipWriter::~GzipWriter() = default;

void GzipWriter::write(std::string_view data) {
  // avail_in is an unsigned int; a record never comes near that, but split anyway.
  while (!data.empty()) {
    const std::size_t take = std::min<std::size_t>(data.size(), 1U << 30);
    m_impl->zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    m_impl->zs.avail_in = static_cast<uInt>(take);
    m_impl->pump(Z_NO_FLUSH);
    data.remove_prefix(take);
  }
}

void GzipWriter::finish() {
  m_impl->zs.next_in = nullptr;
  m_impl->zs.avail_in = 0;
  m_impl->pump(Z_FINISH);
}

} // namespace ws::backup
