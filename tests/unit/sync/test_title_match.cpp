// SPDX-License-Identifier: MIT
#include <watchstate/sync/title_match.hpp>

#include <catch2/catch.hpp>

using namespace ws::sync;

TEST_CASE("sync::normalize_title", "[sync][mismatch]") {
  CHECK(normalize_title("The.Matrix.(1999).[1080p]{tmdb-603}.mkv") == "the matrix 1999 mkv");
  CHECK(normalize_title("  Amélie:  Le_Fabuleux-Destin! ") == "amélie le fabuleux destin");
  CHECK(normalize_title("Spider\xE2\x80\x93Man") == "spider man");
  CHECK(normalize_title("[only brackets]") == "");
}

TEST_CASE("sync::similar_text_percent", "[sync][mismatch]") {
  // PHP: similar_text("World","Word") = 4 -> 4*2/9 = 88.89 %
  CHECK(similar_text_percent("World", "Word") == Approx(88.888888).epsilon(1e-6));
  CHECK(similar_text_percent("abc", "abc") == Approx(100));
  CHECK(similar_text_percent("abc", "xyz") == Approx(0));
  CHECK(similar_text_percent("", "") == Approx(0));
  // Code points, not bytes: one differing accented letter costs one character.
  CHECK(similar_text_percent("café", "cafe") == Approx(75));
}

TEST_CASE("sync::levenshtein_percent", "[sync][mismatch]") {
  CHECK(levenshtein_percent("kitten", "sitting") == Approx((1.0 - 3.0 / 7.0) * 100));
  CHECK(levenshtein_percent("same", "same") == Approx(100));
  CHECK(levenshtein_percent("", "abc") == Approx(0));
}

TEST_CASE("sync::path_names", "[sync][mismatch]") {
  CHECK(path_names("/tv/Show Name", true) == std::vector<std::string>{"Show Name"});
  CHECK(path_names("/tv/Show Name/", true) == std::vector<std::string>{"Show Name"});
  CHECK(path_names("/m/Heat (1995)/Heat (1995).mkv", false) ==
        std::vector<std::string>{"Heat (1995).mkv"});
  CHECK(path_names("/m/Heat (1995)/movie.mkv", false) ==
        std::vector<std::string>{"movie.mkv", "Heat (1995)"});
  CHECK(path_names("", false).empty());
}

TEST_CASE("sync::score_title", "[sync][mismatch]") {
  SECTION("a file named after the title scores 100") {
    const auto s = score_title({"Heat"}, 1995, "/m/Heat (1995)/Heat (1995).mkv", false);
    CHECK(s.score == Approx(100));
    CHECK(s.title == "heat 1995");
  }
  SECTION("the folder counts when the file has another name") {
    CHECK(score_title({"Heat"}, 1995, "/m/Heat (1995)/x.mkv", false).score == Approx(100));
  }
  SECTION("a different title scores low") {
    const auto s =
        score_title({"Thunderball"}, 1965,
                    "/m/Pride and Prejudice (2005)/Pride and Prejudice (2005).mkv", false);
    CHECK(s.score < 50);
  }
  SECTION("a near miss stays above the default threshold") {
    CHECK(score_title({"The Office (US)"}, 2005, "/tv/The Office", true).score >= 50);
  }
  SECTION("no path, no score") { CHECK(score_title({"Heat"}, 1995, "", false).score == Approx(0)); }
}
