// SPDX-License-Identifier: MIT
#include "simulator/util.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>

namespace ws::sim {

uint64_t Rng::next() {
  m_state += 0x9e3779b97f4a7c15ULL;
  return mix64(m_state);
}

uint64_t Rng::below(uint64_t bound) {
  // The modulo bias is below 2^-40 for the small bounds used here.
  return next() % bound;
}

int64_t Rng::range(int64_t lo, int64_t hi) {
  return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
}

bool Rng::chance(double p) {
  if (p <= 0.0) {
    return false;
  }
  // 53 random bits give an exact double in [0, 1).
  return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0) < p;
}

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t fnv1a64(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint32_t fnv1a32(std::string_view text) {
  uint32_t h = 2166136261U;
  for (unsigned char c : text) {
    h ^= c;
    h *= 16777619U;
  }
  return h;
}

std::string hex_hash(std::string_view a, std::string_view b, size_t nchars) {
  static constexpr char k_digits[] = "0123456789abcdef";
  uint64_t h = mix64(fnv1a64(a) ^ mix64(fnv1a64(b) + 0x51ed27));
  std::string out;
  out.reserve(nchars);
  while (out.size() < nchars) {
    h = mix64(h + 0x9e3779b97f4a7c15ULL);
    for (int i = 0; i < 16 && out.size() < nchars; ++i) {
      out.push_back(k_digits[(h >> (i * 4)) & 0xF]);
    }
  }
  return out;
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') {
      x = static_cast<char>(x - 'A' + 'a');
    }
    if (y >= 'A' && y <= 'Z') {
      y = static_cast<char>(y - 'A' + 'a');
    }
    if (x != y) {
      return false;
    }
  }
  return true;
}

bool is_hex(std::string_view text) {
  if (text.empty()) {
    return false;
  }
  for (char c : text) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool is_digits(std::string_view text) {
  if (text.empty()) {
    return false;
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

namespace {

// Howard Hinnant's civil-from-days algorithm (public domain arithmetic).
void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) {
    ++y;
  }
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) {
    --q;
  }
  return q;
}

std::string format_base(int64_t unix_ms, int& ms_out) {
  const int64_t secs = floor_div(unix_ms, 1000);
  ms_out = static_cast<int>(unix_ms - secs * 1000);
  const int64_t days = floor_div(secs, 86400);
  const int64_t rem = secs - days * 86400;
  int64_t y = 0;
  unsigned m = 0;
  unsigned d = 0;
  civil_from_days(days, y, m, d);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d", static_cast<long long>(y), m, d,
                static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                static_cast<int>(rem % 60));
  return buf;
}

} // namespace

std::string format_jellyfin_date(int64_t unix_ms) {
  int ms = 0;
  std::string out = format_base(unix_ms, ms);
  if (ms == 0) {
    out += ".0000000Z";
    return out;
  }
  char frac[8];
  std::snprintf(frac, sizeof frac, "%03d", ms);
  std::string f(frac);
  while (!f.empty() && f.back() == '0') {
    f.pop_back();
  }
  out += '.';
  out += f;
  out += 'Z';
  return out;
}

std::string format_emby_date(int64_t unix_ms) {
  int ms = 0;
  std::string out = format_base(unix_ms, ms);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%03d0000Z", ms);
  out += frac;
  return out;
}

std::string format_day(int64_t unix_s) {
  int ms = 0;
  std::string out = format_base(unix_s * 1000, ms);
  return out.substr(0, 10);
}

std::optional<int64_t> parse_int(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return v;
}

namespace {

bool take_digits(std::string_view& s, size_t n, int& out) {
  if (s.size() < n) {
    return false;
  }
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
    out = out * 10 + (s[i] - '0');
  }
  s.remove_prefix(n);
  return true;
}

bool take_char(std::string_view& s, char c) {
  if (!s.empty() && s.front() == c) {
    s.remove_prefix(1);
    return true;
  }
  return false;
}

} // namespace

std::optional<int64_t> parse_iso_ms(std::string_view s) {
  int y = 0;
  int mo = 0;
  int d = 0;
  int h = 0;
  int mi = 0;
  int se = 0;
  if (!take_digits(s, 4, y) || !take_char(s, '-') || !take_digits(s, 2, mo) || !take_char(s, '-') ||
      !take_digits(s, 2, d)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31) {
    return std::nullopt;
  }
  int64_t ms = 0;
  if (take_char(s, 'T') || take_char(s, 't') || take_char(s, ' ')) {
    if (!take_digits(s, 2, h) || !take_char(s, ':') || !take_digits(s, 2, mi)) {
      return std::nullopt;
    }
    if (take_char(s, ':') && !take_digits(s, 2, se)) {
      return std::nullopt;
    }
    if (take_char(s, '.') || take_char(s, ',')) {
      int digits = 0;
      int64_t frac = 0;
      while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
        if (digits < 3) {
          frac = frac * 10 + (s.front() - '0');
        }
        ++digits;
        s.remove_prefix(1);
      }
      if (digits == 0) {
        return std::nullopt;
      }
      for (int i = digits; i < 3; ++i) {
        frac *= 10;
      }
      ms = frac;
    }
    if (h > 23 || mi > 59 || se > 60) {
      return std::nullopt;
    }
  }
  int64_t offset_s = 0;
  if (take_char(s, 'Z') || take_char(s, 'z')) {
    // UTC
  } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    const int sign = s.front() == '-' ? -1 : 1;
    s.remove_prefix(1);
    int oh = 0;
    int om = 0;
    if (!take_digits(s, 2, oh)) {
      return std::nullopt;
    }
    take_char(s, ':');
    if (!s.empty() && !take_digits(s, 2, om)) {
      return std::nullopt;
    }
    offset_s = sign * (oh * 3600 + om * 60);
  }
  if (!s.empty()) {
    return std::nullopt;
  }
  const int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - offset_s;
  return secs * 1000 + ms;
}

std::optional<int64_t> parse_date_played(std::string_view text) {
  if (text.size() == 14 && is_digits(text)) {
    std::string_view s = text;
    int y = 0;
    int mo = 0;
    int d = 0;
    int h = 0;
    int mi = 0;
    int se = 0;
    take_digits(s, 4, y);
    take_digits(s, 2, mo);
    take_digits(s, 2, d);
    take_digits(s, 2, h);
    take_digits(s, 2, mi);
    take_digits(s, 2, se);
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
      return std::nullopt;
    }
    const int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    return (days * 86400 + h * 3600 + mi * 60 + se) * 1000;
  }
  return parse_iso_ms(text);
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&apos;"; break;
    default: out += c; break;
    }
  }
  return out;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace ws::sim
