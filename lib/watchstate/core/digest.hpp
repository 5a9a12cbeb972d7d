// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace ws {

// A 64-bit digest of a sequence of fields, for telling "the same as last time" from "changed"
// without keeping what was there last time. Each string is taken with its length, so fields
// cannot run into each other ("ab","c" differs from "a","bc"). Not cryptographic: two different
// sequences share a digest with a chance of about 2^-64.
class Digest {
public:
  void add(std::int64_t value) { mix(static_cast<std::uint64_t>(value)); }
  void add(std::string_view text) {
    mix(text.size());
    mix(std::hash<std::string_view>{}(text));
  }
  [[nodiscard]] std::uint64_t value() const { return m_state; }

private:
  // splitmix64's finalizer: every input bit reaches every output bit.
  void mix(std::uint64_t value) {
    std::uint64_t z = m_state ^ (value + 0x9e3779b97f4a7c15ULL + (m_state << 6U));
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    m_state = z ^ (z >> 31U);
  }

  std::uint64_t m_state = 0x243f6a8885a308d3ULL;
};

} // namespace ws
