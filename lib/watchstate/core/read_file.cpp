// SPDX-License-Identifier: MIT
#include <watchstate/core/read_file.hpp>

#include <watchstate/core/buffer_slack.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace ws {

ReadFileResult read_file(const std::filesystem::path& path, std::string& out, std::size_t max_bytes,
                         bool regular_only) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (regular_only ? O_NONBLOCK : 0));
  if (fd < 0) {
    return {errno, false};
  }
  out.clear();
  struct stat info {};
  const bool regular = ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode);
  if (regular_only && !regular) {
    ::close(fd);
    return {EINVAL, true};
  }
  if (regular && info.st_size > 0 && static_cast<std::size_t>(info.st_size) <= max_bytes) {
    out.reserve(static_cast<std::size_t>(info.st_size) + k_buffer_slack);
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
      return {err, true};
    }
    if (got == 0) {
      break;
    }
    if (out.size() + static_cast<std::size_t>(got) > max_bytes) {
      ::close(fd);
      return {EFBIG, true};
    }
    out.append(chunk.data(), static_cast<std::size_t>(got));
  }
  ::close(fd);
  return {0, true};
}

} // namespace ws
