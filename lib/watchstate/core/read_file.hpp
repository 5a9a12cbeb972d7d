// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <filesystem>
#include <limits>
#include <string>

namespace ws {

// What read_file() could not do: `error` is the errno value (0: the file was read), `opened`
// tells a failure to open the file from one while reading it.
struct ReadFileResult {
  int error = 0;
  bool opened = false;
};

// Read the whole of `path` into `out`. Fails with EFBIG beyond `max_bytes` (a path such as
// /dev/zero must not eat the memory); with `regular_only`, anything but a regular file is refused
// (EINVAL) before a read could block on it (a FIFO, a terminal).
ReadFileResult read_file(const std::filesystem::path& path, std::string& out,
                         std::size_t max_bytes = std::numeric_limits<std::size_t>::max(),
                         bool regular_only = false);

} // namespace ws
