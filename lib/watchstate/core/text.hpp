// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ws {

// Whether `text` is one or more ASCII digits (numeric ids, HTTP dates).
bool all_digits(std::string_view text) noexcept;

// `c` in lower case if it is an ASCII capital letter. Ids, provider names and header names are
// ASCII; the C library's tolower() is a call per character (1.4 % of a no-change import's
// instructions went to it) and would follow a locale, were one ever set.
constexpr char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// `text` with its ASCII capitals in lower case (provider names, config keywords, user names).
std::string lowercase_ascii(std::string_view text);

// ASCII case-insensitive equality (header names, library names, provider keys).
bool iequals(std::string_view a, std::string_view b) noexcept;

// A Jellyfin/Emby id for comparing: dashes dropped and lower-cased, as the servers accept and
// write both forms of a GUID.
std::string normalized_id(std::string_view id);

// `text` without leading spaces/tabs and trailing spaces/tabs/CR/LF (HTTP header values).
std::string_view trim(std::string_view text) noexcept;

// Length of the valid UTF-8 sequence starting at text[i], or 0 when the byte there starts none
// (overlong forms, surrogates and code points beyond U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) noexcept;

// `text` with every byte that starts no valid UTF-8 sequence dropped.
std::string valid_utf8(std::string_view text);

// `value` percent-encoded for a URL's query: every byte but A-Z a-z 0-9 - _ . ~ as %XX.
std::string url_encode(std::string_view value);

} // namespace ws
