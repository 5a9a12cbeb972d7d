// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>

namespace ws {

// An exclusive, non-blocking lock on a file (flock), held for the object's lifetime. Overlapping
// cron runs are therefore harmless: the second one exits 75.
class RunLock {
public:
  // Take the lock on `file`, creating it. Throws ws::Error(Errc::tempfail) when another process
  // holds it, Errc::no_perm / Errc::io when the file cannot be opened.
  explicit RunLock(const std::filesystem::path& file);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

private:
  int m_fd = -1;
};

// Create `dir` (and parents) if needed, mode 0700. Throws Errc::no_perm or Errc::io.
void ensure_directory(const std::filesystem::path& dir);

} // namespace ws
