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
#include <utility>

namespace ws {

namespace {

constexpr std::size_t k_write_buffer = 64 * 1024;

std::filesystem::path directory_of(const std::filesystem::path& file) {
  return file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
}

} // namespace

void write_file_atomic(const std::filesystem::path& file, std::string_view content, mode_t mode) {
  AtomicFileWriter writer(file, mode);
  writer.write(content);
  writer.commit();
}

AtomicFileWriter::AtomicFileWriter(std::filesystem::path file, mode_t mode)
    : m_file(std::move(file)) {
  std::string temp =
      (directory_of(m_file) / ("." + m_file.filename().string() + ".XXXXXX")).string();
  m_fd = ::mkstemp(temp.data());
  if (m_fd < 0) {
    throw Error(Errc::cant_create, fmt::format("{}: cannot create a file beside it: {}",
                                               m_file.string(), std::strerror(errno)));
  }
  m_temp = std::move(temp);
  if (::fchmod(m_fd, mode) != 0) {
    fail("chmod", errno);
  }
  m_buffer.reserve(k_write_buffer);
}

AtomicFileWriter::AtomicFileWriter(std::filesystem::path file, std::filesystem::path temp,
                                   mode_t mode)
    : m_file(std::move(file)), m_temp(std::move(temp)), m_named_temp(true) {
  m_fd = ::open(m_temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (m_fd < 0) {
    const int err = errno;
    const std::string name = std::exchange(m_temp, {}).string(); // not ours to remove
    throw Error(Errc::cant_create, fmt::format("{}: cannot create: {}", name, std::strerror(err)));
  }
  m_buffer.reserve(k_write_buffer);
}

AtomicFileWriter::~AtomicFileWriter() { discard(); }

void AtomicFileWriter::write(std::string_view data) {
  m_buffer.append(data);
  if (m_buffer.size() >= k_write_buffer) {
    flush_buffer();
  }
}

void AtomicFileWriter::commit() {
  flush_buffer();
  if (::fsync(m_fd) != 0) {
    fail("fsync", errno);
  }
  if (::close(std::exchange(m_fd, -1)) != 0) {
    fail("close", errno);
  }
  if (::rename(m_temp.c_str(), m_file.c_str()) != 0) {
    const int err = errno;
    discard();
    throw Error(Errc::io,
                m_named_temp
                    ? fmt::format("{}: cannot rename {} into place: {}", m_file.string(),
                                  m_temp.string(), std::strerror(err))
                    : fmt::format("{}: rename failed: {}", m_file.string(), std::strerror(err)));
  }
  m_temp.clear(); // in place under its final name: nothing left to remove
  // Make the rename durable too; a directory that cannot be opened is not an error.
  if (const int dfd = ::open(directory_of(m_file).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void AtomicFileWriter::fail(const char* what, int err) {
  const std::string name = m_named_temp ? m_temp.string() : m_file.string();
  discard();
  throw Error(Errc::io, fmt::format("{}: {} failed: {}", name, what, std::strerror(err)));
}

void AtomicFileWriter::flush_buffer() {
  std::string_view rest = m_buffer;
  while (!rest.empty()) {
    const ssize_t written = ::write(m_fd, rest.data(), rest.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail("write", errno);
    }
    rest.remove_prefix(static_cast<std::size_t>(written));
  }
  m_buffer.clear();
}

void AtomicFileWriter::discard() noexcept {
  if (m_fd >= 0) {
    ::close(std::exchange(m_fd, -1));
  }
  if (!m_temp.empty()) {
    ::unlink(m_temp.c_str());
    m_temp.clear();
  }
}

} // namespace ws
