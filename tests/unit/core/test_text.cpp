// SPDX-License-Identifier: MIT
// ASCII case folding (core/text.hpp): ids, provider names and header names compare without
// case, and bytes outside ASCII (UTF-8 titles, paths) are never changed by it.
#include <watchstate/core/text.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace ws;

TEST_CASE("ascii_lower folds the 26 capitals and nothing else", "[core][text]") {
  for (int c = 0; c < 256; ++c) {
    const char in = static_cast<char>(c);
    const char want = c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : in;
    if (ascii_lower(in) != want) {
      FAIL("byte " << c);
    }
  }
  STATIC_REQUIRE(ascii_lower('Q') == 'q'); // usable where a constant is needed
}

TEST_CASE("iequals, normalized_id and lowercase_ascii fold ASCII case only", "[core][text]") {
  CHECK(iequals("Content-Length", "content-length"));
  CHECK(iequals("IMDB", "imdb"));
  CHECK_FALSE(iequals("imdb", "imdb "));
  CHECK_FALSE(iequals("tvdb", "tmdb"));
  // "É" (UTF-8 C3 89) and "é" (C3 A9) differ: no byte of either is folded.
  CHECK_FALSE(iequals("\xC3\x89t\xC3\xA9", "\xC3\xA9t\xC3\xA9"));
  CHECK(iequals("\xC3\x89T\xC3\xA9", "\xC3\x89t\xC3\xA9"));

  CHECK(normalized_id("1BA89E77-2007-4B2D-96F0-A966304F2EB5") ==
        "1ba89e7720074b2d96f0a966304f2eb5");
  CHECK(normalized_id("\xC3\x89-A") == std::string("\xC3\x89") + "a");

  CHECK(lowercase_ascii("TVDB://123") == "tvdb://123");
  CHECK(lowercase_ascii("\xC3\x89mile") == "\xC3\x89mile");
  CHECK(lowercase_ascii("").empty());
}
