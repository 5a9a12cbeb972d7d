// SPDX-License-Identifier: MIT
#include <watchstate/core/error.hpp>
#include <watchstate/core/lock.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ws {

RunLock::RunLock(const std::filesystem::path& file) {
  m_fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (m_fd < 0) {
    const int err = errno;
    throw Error(err == EACCES || err == EPERM || err == EROFS ? Errc::no_perm : Errc::io,
                fmt::format("cannot open lock file {}: {}", file.string(), std::strerror(err)));
  }
  if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(m_fd);
    m_fd = -1;
    if (err == EWOULDBLOCK) {
      throw LockHeld(
          Errc::tempfail,
          fmt::format("another watchstate run holds the lock {}; try again later", file.string()));
    }
    throw Error(Errc::io, fmt::format("cannot lock {}: {}", file.string(), std::strerror(err)));
  }
  // The pid helps a user find the holder; failure to write it is harmless.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(m_fd, 0) == 0) {
    [[maybe_unused]] auto written = ::write(m_fd, pid.data(), pid.size());
  }
}

RunLock::~RunLock() {
  if (m_fd >= 0) {
    ::flock(m_fd, LOCK_UN);
    ::close(m_fd);
  }
}

void ensure_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    throw Error(ec == std::errc::permission_denied || ec == std::errc::read_only_file_system
                    ? Errc::no_perm
                    : Errc::io,
                fmt::format("cannot create state directory {}: {}", dir.string(), ec.message()));
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw Error(Errc::no_perm,
                fmt::format("no write permission on state directory {}", dir.string()));
  }
}

} // namespace ws
