// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>

namespace ws {

// ASCII case-insensitive equality (header names, library names, provider keys).
bool iequals(std::string_view a, std::string_view b) noexcept;

// A Jellyfin/Emby id for comparing: dashes dropped and lower-cased, as the servers accept and
// write both forms of a GUID.
std::string normalized_id(std::string_view id);

// `text` without leading spaces/tabs and trailing spaces/tabs/CR/LF (HTTP header values).
std::string_view trim(std::string_view text) noexcept;

} // namespace ws
