// SPDX-License-Identifier: MIT
#pragma once
// Room kept behind a text read whole (a file, an HTTP body) for the parser that reads it next.

#include <cstddef>

namespace ws {

// The JSON parser wants this many zero bytes behind a text it parses in place
// (json::padded_for_parse: its SSE2 scanners read aligned 16-byte blocks, which may reach 15
// bytes past the end). A buffer sized for its text plus this much takes them without a copy;
// one sized exactly is moved whole into a new one, twice as large.
inline constexpr std::size_t k_buffer_slack = 16;

} // namespace ws
