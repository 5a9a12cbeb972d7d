// SPDX-License-Identifier: MIT
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string_view>

namespace ws {

// Replace `file` with `content` so that a reader (or a crash) sees the old file or the new one,
// never a part: written to a temporary file beside it, fsync'ed, renamed over it, and the
// directory fsync'ed. The new file gets `mode` (e.g. 0600 for anything holding a secret).
// Throws Errc::cant_create when the temporary file cannot be made, Errc::io on write failures.
void write_file_atomic(const std::filesystem::path& file, std::string_view content, mode_t mode);

} // namespace ws
