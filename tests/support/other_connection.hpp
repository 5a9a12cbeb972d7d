// SPDX-License-Identifier: MIT
// SQL run on a database through a connection of its own, as another process would: a test's
// way to change a database (a trigger that refuses a write) under the connection it tests.
#pragma once

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <filesystem>

namespace ws::test {

inline void exec_on_another_connection(const std::filesystem::path& file, const char* sql) {
  sqlite3* other = nullptr;
  const int opened = sqlite3_open(file.c_str(), &other);
  const int ran =
      opened == SQLITE_OK ? sqlite3_exec(other, sql, nullptr, nullptr, nullptr) : opened;
  sqlite3_close(other);
  REQUIRE(opened == SQLITE_OK);
  REQUIRE(ran == SQLITE_OK);
}

} // namespace ws::test
