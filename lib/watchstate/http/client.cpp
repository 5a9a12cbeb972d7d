// SPDX-License-Identifier: MIT
#include <watchstate/core/text.hpp>
#include <watchstate/http/client.hpp>

#include <watchstate/core/time.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <optional>
#include <random>
#include <utility>

namespace ws::http {
namespace {

int month_number(std::string_view name) noexcept {
  static constexpr std::array<std::string_view, 12> k_months = {
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  for (std::size_t i = 0; i < k_months.size(); ++i) {
    if (iequals(name, k_months[i])) {
      return static_cast<int>(i) + 1;
    }
  }
  return 0;
}

// The three HTTP-date forms of RFC 9110 section 5.6.7 ("Sun, 06 Nov 1994 08:49:37 GMT",
// "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994") share their tokens, only the
// order differs: the first bare number is the day, the second the year.
std::optional<UnixTime> parse_http_date(std::string_view text) {
  int day = -1;
  int year = -1;
  int month = 0;
  std::string_view clock;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = text.find_first_of(" ,-", pos);
    const std::string_view token =
        text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    if (token.empty()) {
      continue;
    }
    if (token.find(':') != std::string_view::npos) {
      clock = token;
    } else if (all_digits(token) && token.size() <= 4) {
      int value = 0;
      for (char c : token) {
        value = value * 10 + (c - '0');
      }
      if (day < 0 && token.size() <= 2) {
        day = value;
      } else if (year < 0 && (token.size() == 2 || token.size() == 4)) {
        // Two-digit years (RFC 850) are taken as 1970-2069.
        year = token.size() == 2 ? (value < 70 ? 2000 + value : 1900 + value) : value;
      } else {
        return std::nullopt;
      }
    } else if (const int m = month_number(token); m != 0) {
      month = m;
    } else if (token.size() < 3 || !std::all_of(token.begin(), token.end(), [](char c) {
                 return std::isalpha(static_cast<unsigned char>(c)) != 0;
               })) {
      return std::nullopt; // day names and "GMT" are the only words allowed
    }
  }
  if (day < 1 || year < 0 || month == 0 || clock.size() != 8) {
    return std::nullopt;
  }
  return parse_iso8601(fmt::format("{:04}-{:02}-{:02}T{}Z", year, month, day, clock));
}

std::chrono::milliseconds backoff_delay(const ClientOptions& options, int attempt) {
  thread_local std::minstd_rand generator{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.9, 1.1);
  const int doublings = std::clamp(attempt - 1, 0, 30);
  // A day bounds the arithmetic; no sane configuration gets near it.
  const double base = std::min(
      static_cast<double>(options.backoff.count()) * std::ldexp(1.0, doublings), 86'400'000.0);
  const double value = std::max(0.0, base * jitter(generator));
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(value)));
}

} // namespace

std::string_view Response::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) {
      return h.value;
    }
  }
  return {};
}

Outcome Client::send(Request request) {
  std::vector<Request> requests;
  requests.push_back(std::move(request));
  Outcome result;
  send_all(std::move(requests),
           [&result](std::size_t, Outcome& outcome) { result = std::move(outcome); });
  return result;
}

bool is_loopback_url(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) {
    return false;
  }
  std::string_view host = url.substr(scheme + 3);
  host = host.substr(0, host.find_first_of("/?#"));
  if (const auto at = host.rfind('@'); at != std::string_view::npos) {
    host = host.substr(at + 1); // user:password@
  }
  if (host.starts_with('[')) {
    return host.substr(0, host.find(']') + 1) == "[::1]";
  }
  host = host.substr(0, host.find(':'));
  if (iequals(host, "localhost")) {
    return true;
  }
  // 127.0.0.0/8 in dotted form: four numbers, the first 127.
  if (!host.starts_with("127.")) {
    return false;
  }
  int parts = 0;
  for (std::string_view rest = host; !rest.empty(); ++parts) {
    const auto dot = rest.find('.');
    const auto part = rest.substr(0, dot);
    if (part.empty() || part.size() > 3 || !all_digits(part) ||
        std::stoi(std::string(part)) > 255) {
      return false;
    }
    rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
    if (dot != std::string_view::npos && rest.empty()) {
      return false;
    }
  }
  return parts == 4;
}

bool is_retryable_status(long status) noexcept {
  return status == 429 || (status >= 500 && status <= 599 && status != 501);
}

std::chrono::milliseconds retry_delay(const ClientOptions& options, int attempt,
                                      std::string_view retry_after_header) {
  using std::chrono::milliseconds;
  const auto cap =
      std::max(std::chrono::duration_cast<milliseconds>(options.max_retry_after), milliseconds(0));
  const std::string_view value = trim(retry_after_header);
  if (value.empty()) {
    return backoff_delay(options, attempt);
  }
  if (all_digits(value)) {
    // More digits than a cap could ever need would overflow; anything that long is over it.
    if (value.size() > 9) {
      return cap;
    }
    std::int64_t seconds = 0;
    for (char c : value) {
      seconds = seconds * 10 + (c - '0');
    }
    return std::min(milliseconds(seconds * 1000), cap);
  }
  if (const auto date = parse_http_date(value)) {
    // The server's clock is real time, so WS_FAKE_NOW (ws::now) must not apply here.
    const auto now_ms = std::chrono::duration_cast<milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    const milliseconds wait = milliseconds(*date * 1000) - now_ms;
    return std::clamp(wait, milliseconds(0), cap);
  }
  return backoff_delay(options, attempt);
}

} // namespace ws::http
