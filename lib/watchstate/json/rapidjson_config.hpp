// SPDX-License-Identifier: MIT
#pragma once
// Force-included before every RapidJSON user (see cmake/WsDependencies.cmake): RapidJSON checks
// its preconditions with C assert(), which would abort a run on a malformed server reply. Turn a
// violated precondition into an exception the caller reports instead.
#include <stdexcept>

#define RAPIDJSON_HAS_STDSTRING 1
#define RAPIDJSON_ASSERT(x)                                                                        \
  do {                                                                                             \
    if (!(x)) {                                                                                    \
      throw std::logic_error("rapidjson assertion failed: " #x);                                   \
    }                                                                                              \
  } while (false)
