// SPDX-License-Identifier: MIT
#pragma once

#include <string_view>

namespace ws {

// ASCII case-insensitive equality (header names, library names, provider keys).
bool iequals(std::string_view a, std::string_view b) noexcept;

// `text` without leading spaces/tabs and trailing spaces/tabs/CR/LF (HTTP header values).
std::string_view trim(std::string_view text) noexcept;

} // namespace ws
