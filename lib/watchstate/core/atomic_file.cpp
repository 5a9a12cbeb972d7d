// SPDX-License-Identifier: MIT
#include <watchstate/core/atomic_file.hpp>
#include <watchstate/core/error.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace ws {

void write_file_atomic(const std::filesystem::path& file, std::string_view content, mode_t mode) {
  const auto dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  std::string temp = (dir / ("." + file.filename().string() + ".XXXXXX")).string();
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) {
    throw Error(Errc::cant_create, fmt::format("{}: cannot create a file beside it: {}",
                                               file.string(), std::strerror(errno)));
  }
  auto fail = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    throw Error(Errc::io,
                fmt::format("{}: {} failed: {}", file.string(), what, std::strerror(err)));
  };
  if (::fchmod(fd, mode) != 0) {
    fail("chmod");
  }
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail("write");
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    fail("fsync");
  }
  if (::close(fd) != 0) {
    ::unlink(temp.c_str());
    throw Error(Errc::io, fmt::format("{}: close failed: {}", file.string(), std::strerror(errno)));
  }
  if (::rename(temp.c_str(), file.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    throw Error(Errc::io, fmt::format("{}: rename failed: {}", file.string(), std::strerror(err)));
  }
  // Make the rename durable too; a directory that cannot be opened is not an error.
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

} // namespace ws
