// SPDX-License-Identifier: MIT
#pragma once
// Force-included before every RapidJSON user (see cmake/WsDependencies.cmake): RapidJSON checks
// its preconditions with C assert(), which would abort a run on a malformed server reply. Turn a
// violated precondition into an exception the caller reports instead.
#include <stdexcept>

#define RAPIDJSON_HAS_STDSTRING 1

// Scan strings and whitespace 16 bytes at a time (SSE2 is part of every x86-64): a no-change
// ws-import spends a seventh fewer instructions (-14.5 %). These scanners read up to 15 bytes past
// the end of a NUL-terminated text: such a text must be padded (json/parse_buffer.hpp), and
// Parse(data, size), which stays within its size, is the form for everything else.
#if defined(__SSE2__)
#define RAPIDJSON_SSE2 1
#endif
#define RAPIDJSON_ASSERT(x)                                                                        \
  do {                                                                                             \
    if (!(x)) {                                                                                    \
      throw std::logic_error("rapidjson assertion failed: " #x);                                   \
    }                                                                                              \
  } while (false)
