// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ws {

// Unix time in seconds, UTC. All play-state dates in watchstate are this type.
using UnixTime = std::int64_t;

// Current time; WS_FAKE_NOW (unix seconds) overrides it so tests can pin "now".
UnixTime now();

// "2026-11-26T10:00:00Z".
std::string format_rfc3339(UnixTime t);

// Parse ISO-8601 / RFC 3339 as the servers write it: "2024-05-01T10:00:00.0000000Z",
// "…42.3549157Z", "2025-08-15T23:10:08.769802+02:00", "2024-05-01T10:00:00" (taken as UTC).
// Fractions are dropped (floor to the second). Returns nullopt for anything else.
std::optional<UnixTime> parse_iso8601(std::string_view text);

// A length of time as people write it on a command line: one or more number+unit groups, units
// s, m, h, d, w ("90s", "12h", "7d", "1d12h"). Returns seconds, or nullopt for anything else
// (also a bare number, whose unit would be a guess).
std::optional<std::int64_t> parse_duration(std::string_view text);

// Milliseconds since `since` on the steady clock (durations in JSON results).
std::int64_t elapsed_ms(std::chrono::steady_clock::time_point since);

// Emby's DatePlayed format "yyyyMMddHHmmss" (UTC).
std::string format_compact_utc(UnixTime t);

} // namespace ws
