// SPDX-License-Identifier: MIT
// The ZIP archives WatchState writes its backups into (.json.zip): stored or deflated members,
// data descriptors, ZIP64 sizes.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace ws::backup {

// The first "*.json" member of the ZIP archive `zip` (the contents of `file`), decompressed and
// checked against its CRC. Walks the local headers, so that a truncated archive (no central
// directory) still reads as far as it can. A damaged archive throws ws::Error(Errc::data,
// "<file>: corrupt compressed data"); an encrypted member, an unsupported compression method or
// an archive without a .json member throw Errc::data saying so.
std::string unzip_first_json(const std::filesystem::path& file, std::string_view zip);

} // namespace ws::backup
