// SPDX-License-Identifier: MIT
#include <watchstate/core/abort.hpp>
#include <watchstate/core/time.hpp>
#include <watchstate/http/client.hpp>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <chrono>
#include <string>

using namespace std::chrono_literals;
using ws::http::ClientOptions;
using ws::http::retry_delay;

namespace {

// An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") `offset` seconds from the real clock.
std::string http_date_from_now(std::int64_t offset) {
  static constexpr const char* k_days[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  static constexpr const char* k_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::int64_t t = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count() +
                         offset;
  const std::string iso = ws::format_rfc3339(t); // 2026-11-26T10:00:00Z
  const int month = std::stoi(iso.substr(5, 2));
  return fmt::format("{}, {} {} {} {} GMT", k_days[(t / 86400) % 7], iso.substr(8, 2),
                     k_months[month - 1], iso.substr(0, 4), iso.substr(11, 8));
}

ClientOptions options_with(std::chrono::milliseconds backoff) {
  ClientOptions options;
  options.backoff = backoff;
  options.max_retry_after = 120s;
  return options;
}

} // namespace

TEST_CASE("http::is_retryable_status", "[http]") {
  for (long status : {429L, 500L, 502L, 503L, 504L, 507L, 599L}) {
    INFO(status);
    CHECK(ws::http::is_retryable_status(status));
  }
  for (long status : {0L, 200L, 204L, 301L, 304L, 400L, 401L, 403L, 404L, 409L, 501L, 600L}) {
    INFO(status);
    CHECK_FALSE(ws::http::is_retryable_status(status));
  }
}

TEST_CASE("http::retry_delay backs off exponentially with 10 % jitter", "[http]") {
  const auto options = options_with(1000ms);
  for (int round = 0; round < 50; ++round) {
    const auto first = retry_delay(options, 1, "");
    CHECK(first >= 900ms);
    CHECK(first <= 1100ms);
    const auto third = retry_delay(options, 3, "");
    CHECK(third >= 3600ms);
    CHECK(third <= 4400ms);
  }
  // Jitter: 50 draws are not all the same.
  bool varied = false;
  const auto reference = retry_delay(options, 2, "");
  for (int round = 0; round < 50 && !varied; ++round) {
    varied = retry_delay(options, 2, "") != reference;
  }
  CHECK(varied);
  // Absurd attempt numbers stay finite and positive.
  CHECK(retry_delay(options, 1000, "") > 0ms);
  CHECK(retry_delay(options_with(0ms), 2, "") == 0ms);
}

TEST_CASE("http::retry_delay honours Retry-After in seconds", "[http]") {
  const auto options = options_with(1000ms);
  CHECK(retry_delay(options, 1, "5") == 5000ms);
  CHECK(retry_delay(options, 3, " 7 ") == 7000ms);
  CHECK(retry_delay(options, 1, "0") == 0ms);
  CHECK(retry_delay(options, 1, "500") == 120s);
  CHECK(retry_delay(options, 1, "99999999999999999999999") == 120s);
  // Not a number nor a date: fall back to the backoff.
  const auto fallback = retry_delay(options, 1, "soon");
  CHECK(fallback >= 900ms);
  CHECK(fallback <= 1100ms);
  CHECK(retry_delay(options, 1, "-5") <= 1100ms);
  CHECK(retry_delay(options, 1, "-5") >= 900ms);
}

TEST_CASE("http::retry_delay honours Retry-After as an HTTP date", "[http]") {
  const auto options = options_with(1000ms);
  const std::string in_30s = http_date_from_now(30);
  INFO(in_30s);
  const auto delay = retry_delay(options, 1, in_30s);
  CHECK(delay >= 28s);
  CHECK(delay <= 31s);
  // A date in the past means "now"; a far one is capped.
  CHECK(retry_delay(options, 1, http_date_from_now(-3600)) == 0ms);
  CHECK(retry_delay(options, 1, http_date_from_now(86400)) == 120s);
  CHECK(retry_delay(options, 1, "Sun, 06 Nov 1994 08:49:37 GMT") == 0ms);
  // The obsolete RFC 850 and asctime forms, far in the future so the cap shows they parsed.
  CHECK(retry_delay(options, 1, "Sunday, 06-Nov-50 08:49:37 GMT") == 120s);
  CHECK(retry_delay(options, 1, "Sun Nov  6 08:49:37 2094") == 120s);
  // Malformed dates fall back to the backoff.
  for (const char* bad : {"Sun, 32 Nov 2094 08:49:37 GMT", "Sun, 06 Foo 2094 08:49:37 GMT",
                          "Sun, 06 Nov 2094 25:49:37 GMT", "Sun, 06 Nov 2094 GMT"}) {
    INFO(bad);
    const auto d = retry_delay(options, 1, bad);
    CHECK(d >= 900ms);
    CHECK(d <= 1100ms);
  }
}

TEST_CASE("http::Response::header is case-insensitive", "[http]") {
  ws::http::Response response;
  response.headers = {{"Content-Type", "application/json"},
                      {"X-Plex-Container-Total-Size", "1234"},
                      {"retry-after", "3"},
                      {"X-Plex-Container-Total-Size", "999"}};
  CHECK(response.header("content-type") == "application/json");
  CHECK(response.header("CONTENT-TYPE") == "application/json");
  CHECK(response.header("Retry-After") == "3");
  CHECK(response.header("x-plex-container-total-size") == "1234"); // the first one wins
  CHECK(response.header("X-Missing").empty());
  CHECK(response.header("Content-Typ").empty());
  CHECK(response.header("").empty());
}

TEST_CASE("http::abort flag", "[http]") {
  ws::clear_abort();
  CHECK_FALSE(ws::abort_requested());
  ws::request_abort();
  CHECK(ws::abort_requested());
  ws::clear_abort();
  CHECK_FALSE(ws::abort_requested());
}

TEST_CASE("http::Outcome::ok", "[http]") {
  ws::http::Outcome outcome;
  outcome.response.status = 204;
  CHECK(outcome.ok());
  outcome.response.status = 500;
  CHECK(outcome.transport_ok());
  CHECK_FALSE(outcome.ok());
  outcome.response.status = 200;
  outcome.error = ws::http::TransportError::timeout;
  CHECK_FALSE(outcome.ok());
}
