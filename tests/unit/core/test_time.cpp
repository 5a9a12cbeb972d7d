// SPDX-License-Identifier: MIT
#include <watchstate/core/time.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <optional>

TEST_CASE("core::parse_iso8601 accepts the servers' formats", "[core]") {
  CHECK(ws::parse_iso8601("1970-01-01T00:00:00Z") == 0);
  CHECK(ws::parse_iso8601("2024-05-01T10:00:00Z") == 1714557600);
  CHECK(ws::parse_iso8601("2024-05-01T10:00:00.0000000Z") == 1714557600);
  CHECK(ws::parse_iso8601("2024-05-01T10:00:42.3549157Z") == 1714557642);
  CHECK(ws::parse_iso8601("2024-05-01T10:00:00") == 1714557600);
  CHECK(ws::parse_iso8601("2024-05-01 10:00:00") == 1714557600);
  CHECK(ws::parse_iso8601("2025-08-15T23:10:08.769802+02:00") == 1755292208);
  CHECK(ws::parse_iso8601("2025-08-15T23:10:08+0200") == 1755292208);
  CHECK(ws::parse_iso8601("2024-05-01T10:00:00-05:30") == 1714557600 + 5 * 3600 + 1800);
  CHECK(ws::parse_iso8601("2024-02-29T00:00:00Z") == 1709164800);
  CHECK(ws::parse_iso8601("1969-12-31T23:59:59Z") == -1);
}

TEST_CASE("core::parse_iso8601 rejects anything else", "[core]") {
  for (const char* bad : {"",
                          "2024-05-01",
                          "2024-05-01T10:00",
                          "2024/05/01T10:00:00Z",
                          "2024-13-01T10:00:00Z",
                          "2024-00-01T10:00:00Z",
                          "2024-05-00T10:00:00Z",
                          "2024-05-32T10:00:00Z",
                          "2024-05-01T24:00:00Z",
                          "2024-05-01T10:60:00Z",
                          "2024-05-01T10:00:00.Z",
                          "2024-05-01T10:00:00Zjunk",
                          "2024-05-01T10:00:00+2",
                          "2024-05-01T10:00:00 UTC",
                          "abcd-05-01T10:00:00Z",
                          "2023-02-29T00:00:00Z",
                          "2024-02-30T00:00:00Z",
                          "2024-04-31T00:00:00Z",
                          "2024-05-01T10:00:00+25:00",
                          "2024-05-01T10:00:00+01:75"}) {
    INFO(bad);
    CHECK_FALSE(ws::parse_iso8601(bad).has_value());
  }
}

TEST_CASE("core::format_rfc3339 and format_compact_utc", "[core]") {
  CHECK(ws::format_rfc3339(0) == "1970-01-01T00:00:00Z");
  CHECK(ws::format_rfc3339(1714557600) == "2024-05-01T10:00:00Z");
  CHECK(ws::format_rfc3339(-1) == "1969-12-31T23:59:59Z");
  CHECK(ws::format_rfc3339(1709164800) == "2024-02-29T00:00:00Z");
  CHECK(ws::format_compact_utc(1714557642) == "20240501100042");
  CHECK(ws::format_compact_utc(0) == "19700101000000");
  // Round trip over a spread of instants, leap days included.
  for (ws::UnixTime t = -86400LL * 800; t < 86400LL * 366 * 80; t += 86400LL * 37 + 3671) {
    INFO(t);
    CHECK(ws::parse_iso8601(ws::format_rfc3339(t)) == t);
  }
}

TEST_CASE("core::now honours WS_FAKE_NOW", "[core]") {
  const char* saved = std::getenv("WS_FAKE_NOW");
  const std::optional<std::string> previous =
      saved ? std::optional<std::string>(saved) : std::nullopt;
  ::setenv("WS_FAKE_NOW", "1714557600", 1);
  CHECK(ws::now() == 1714557600);
  ::unsetenv("WS_FAKE_NOW");
  CHECK(ws::now() > 1700000000);
  if (previous) {
    ::setenv("WS_FAKE_NOW", previous->c_str(), 1);
  }
}

TEST_CASE("core::parse_duration", "[core]") {
  CHECK(ws::parse_duration("45s") == 45);
  CHECK(ws::parse_duration("90m") == 5400);
  CHECK(ws::parse_duration("12h") == 43200);
  CHECK(ws::parse_duration("7d") == 604800);
  CHECK(ws::parse_duration("2w") == 1209600);
  CHECK(ws::parse_duration("1d12h") == 129600);
  CHECK(ws::parse_duration("0s") == 0);
  for (const char* bad : {"", "7", "d", "7x", "-1d", "+1d", "1d ", " 1d", "1.5d", "7D",
                          "99999999999999999999s", "5300w"}) {
    INFO(bad);
    CHECK_FALSE(ws::parse_duration(bad).has_value());
  }
}
