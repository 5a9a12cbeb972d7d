// SPDX-License-Identifier: MIT
#include <watchstate/core/progress.hpp>

#include <catch2/catch.hpp>

TEST_CASE("progress::group_thousands", "[core]") {
  CHECK(ws::progress::group_thousands(0) == "0");
  CHECK(ws::progress::group_thousands(999) == "999");
  CHECK(ws::progress::group_thousands(1000) == "1,000");
  CHECK(ws::progress::group_thousands(100000) == "100,000");
  CHECK(ws::progress::group_thousands(1234567) == "1,234,567");
}
