// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ws::sim {

// Marks "no timestamp" in play state.
inline constexpr int64_t k_no_time = INT64_MIN;

// Generate deterministic pseudo-random numbers (splitmix64), identical on every platform.
class Rng {
public:
  explicit Rng(uint64_t seed) : m_state(seed) {}
  uint64_t next();
  // Return a value in [0, bound) (bound > 0).
  uint64_t below(uint64_t bound);
  // Return a value in [lo, hi].
  int64_t range(int64_t lo, int64_t hi);
  // Return true with probability p.
  bool chance(double p);

private:
  uint64_t m_state;
};

uint64_t fnv1a64(std::string_view text);
uint32_t fnv1a32(std::string_view text);
uint64_t mix64(uint64_t value);

// Return nchars lowercase hex digits derived from the parts (stable across runs).
std::string hex_hash(std::string_view a, std::string_view b, size_t nchars);

std::string to_lower(std::string_view text);
bool iequals(std::string_view a, std::string_view b);
bool is_hex(std::string_view text);
bool is_digits(std::string_view text);

// Format unix milliseconds as Jellyfin does: 7 fraction digits when ms == 0, else trimmed.
std::string format_jellyfin_date(int64_t unix_ms);
// Format unix milliseconds with exactly 7 fraction digits, as Emby does.
std::string format_emby_date(int64_t unix_ms);
// Format unix seconds as YYYY-MM-DD.
std::string format_day(int64_t unix_s);
// Parse ISO-8601 (date, optional time, fraction, Z or +hh:mm; no zone = UTC) to unix ms.
std::optional<int64_t> parse_iso_ms(std::string_view text);
// Parse yyyyMMddHHmmss (UTC) or ISO-8601 to unix ms.
std::optional<int64_t> parse_date_played(std::string_view text);

std::string xml_escape(std::string_view text);
int64_t now_ms();

// Parse a decimal integer; nullopt on anything else.
std::optional<int64_t> parse_int(std::string_view text);

} // namespace ws::sim
