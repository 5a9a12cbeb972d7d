// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/core/error.hpp>

#include <filesystem>

namespace ws {

// Thrown when another process holds the run lock (Errc::tempfail): the run never started, so it
// is not kept in the run history (the holder's run is) and writes nothing to the state.
class LockHeld : public Error {
public:
  using Error::Error;
};

// An exclusive, non-blocking lock on a file (flock), held for the object's lifetime. Overlapping
// cron runs are therefore harmless: the second one exits 75.
class RunLock {
public:
  // Take the lock on `file`, creating it. Throws LockHeld (Errc::tempfail) when another process
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
