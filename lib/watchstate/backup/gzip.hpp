// SPDX-License-Identifier: MIT
// Compressed streams of backup files (zlib inside, kept out of this header): inflating gzip and
// raw deflate data, and writing gzip.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace ws::backup {

// Throws ws::Error(Errc::data, "<file>: corrupt compressed data").
[[noreturn]] void throw_corrupt(const std::filesystem::path& file);

enum class Deflated {
  gzip, // a gzip member (header, deflate data, trailer)
  raw,  // bare deflate data (a ZIP member)
};

// Inflate `input` until the end of its stream, appending to `out`. Returns the number of input
// bytes consumed; a stream that ends early or is damaged throws throw_corrupt(file).
std::size_t inflate_all(const std::filesystem::path& file, std::string_view input, Deflated format,
                        std::string& out);

// Compresses a stream into gzip's format (zlib level 6, as gzip(1) does) and hands the
// compressed bytes to `out` as they come. `name` names the stream in messages.
class GzipWriter {
public:
  GzipWriter(std::string name, std::function<void(std::string_view)> out);
  ~GzipWriter();
  GzipWriter(const GzipWriter&) = delete;
  GzipWriter& operator=(const GzipWriter&) = delete;

  void write(std::string_view data);
  // Compress what is left and write the gzip trailer.
  void finish();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace ws::backup
