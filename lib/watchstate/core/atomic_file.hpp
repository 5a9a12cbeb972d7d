// SPDX-License-Identifier: MIT
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace ws {

// Replace `file` with `content` so that a reader (or a crash) sees the old file or the new one,
// never a part: written to a temporary file beside it, fsync'ed, renamed over it, and the
// directory fsync'ed. The new file gets `mode` (e.g. 0600 for anything holding a secret).
// Throws Errc::cant_create when the temporary file cannot be made, Errc::io on write failures.
void write_file_atomic(const std::filesystem::path& file, std::string_view content, mode_t mode);

// The same, streamed: write() appends (buffered), commit() flushes, fsyncs, renames the temporary
// file over `file` and fsyncs the directory. Destroyed without commit() the temporary file is
// removed, so a failed run leaves the old file (or none). Throws as write_file_atomic.
class AtomicFileWriter {
public:
  // A unique temporary file beside `file` (".<name>.XXXXXX"), given exactly `mode`.
  AtomicFileWriter(std::filesystem::path file, mode_t mode);
  // The temporary file `temp` (truncated when it exists), created with `mode` less the umask;
  // messages about writing it name `temp`. For files whose leftovers a caller recognises by name.
  AtomicFileWriter(std::filesystem::path file, std::filesystem::path temp, mode_t mode);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(std::string_view data);
  void commit();

private:
  [[noreturn]] void fail(const char* what, int err);
  void flush_buffer();
  void discard() noexcept;

  std::filesystem::path m_file;
  std::filesystem::path m_temp;
  bool m_named_temp = false;
  int m_fd = -1;
  std::string m_buffer;
};

} // namespace ws
