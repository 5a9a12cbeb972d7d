// SPDX-License-Identifier: MIT
#pragma once
// Text handed to RapidJSON as a NUL-terminated buffer: ParseInsitu, or a Reader over a
// StringStream. (Parse(data, size) needs none of this: it reads within the given size.)

#include <watchstate/core/buffer_slack.hpp>

#include <cstddef>
#include <string>

namespace ws::json {

// RapidJSON's SSE2 scanners (turned on in rapidjson_config.hpp) read strings and whitespace in
// aligned 16-byte blocks: the block that holds the closing NUL may reach 15 bytes past it. Such a
// read never crosses a page, so it cannot fault, but past the end of the allocation it reads
// memory that is not ours, which AddressSanitizer reports. Zeros behind the text keep every such
// block inside the buffer. (Readers of whole texts reserve them: core/buffer_slack.hpp.)
inline constexpr std::size_t k_parse_slack = k_buffer_slack;

// Puts k_parse_slack zero bytes behind the text (its size stays the same) and returns its
// writable, NUL-terminated characters, ready for ParseInsitu.
inline char* padded_for_parse(std::string& text) {
  const std::size_t size = text.size();
  text.append(k_parse_slack, '\0');
  text.resize(size);
  return text.data();
}

} // namespace ws::json
