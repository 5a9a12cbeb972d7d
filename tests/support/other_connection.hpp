// SPDX-License-Identifier: MIT
// SQL run on a database through a connection of its own, as another process would: a test's
// way to change a database (a trigger that refuses a write) under the connection it tests, or
// to look at what that connection left (its indexes, a query plan).
#pragma once

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <vector>

namespace ws::test {

// Runs `sql` and returns the `column`th value of each row it gives ("" for NULL).
inline std::vector<std::string> query_on_another_connection(const std::filesystem::path& file,
                                                            const char* sql, int column = 0) {
  struct Rows {
    int column;
    std::vector<std::string> values;
  } rows{column, {}};
  const auto each_row = [](void* target, int count, char** values, char**) {
    auto* out = static_cast<Rows*>(target);
    const bool present = out->column < count && values[out->column] != nullptr;
    out->values.emplace_back(present ? values[out->column] : "");
    return 0;
  };
  sqlite3* other = nullptr;
  const int opened = sqlite3_open(file.c_str(), &other);
  const int ran = opened == SQLITE_OK ? sqlite3_exec(other, sql, each_row, &rows, nullptr) : opened;
  sqlite3_close(other);
  REQUIRE(opened == SQLITE_OK);
  REQUIRE(ran == SQLITE_OK);
  return rows.values;
}

inline void exec_on_another_connection(const std::filesystem::path& file, const char* sql) {
  query_on_another_connection(file, sql);
}

} // namespace ws::test
