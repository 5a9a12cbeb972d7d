// SPDX-License-Identifier: MIT
#pragma once
// An in-place parse whose string scan starts 16 bytes at a time at once: the listings' hot path.
//
// RapidJSON's SSE2 scan of a string (GenericReader::ScanCopyUnescapedString for its
// InsituStringStream) looks at single bytes until it reaches a 16-byte boundary, since an
// unaligned block could cross into a page that is not mapped. The strings of a listing are short
// (ids, dates, names: 10-40 bytes), so most of each is scanned byte by byte: that scan took 7 %
// of a first import's instructions and more of a no-change one's. A text padded by
// json::padded_for_parse has 15 zero bytes behind its closing NUL, so here an unaligned block
// read anywhere up to that NUL stays inside the buffer.
//
// PaddedInsituStream is RapidJSON's in-place stream under a type of its own; for that type the
// reader's scan is the one below (an explicit specialization of the reader's generic scan,
// which the reader picks for any stream type it has no overload of). Only for texts from
// padded_for_parse.

#include <watchstate/json/parse_buffer.hpp>

#include <rapidjson/reader.h>
#include <rapidjson/stream.h>

#include <cstddef>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ws::backend::detail {

struct PaddedInsituStream : rapidjson::InsituStringStream {
  explicit PaddedInsituStream(char* padded_text) : rapidjson::InsituStringStream(padded_text) {}
};

// Whitespace between values: RapidJSON's own SSE2 skip for in-place streams. (The reader finds
// this by argument-dependent look-up, before its byte-by-byte template: hence RapidJSON's name.)
inline void SkipWhitespace(PaddedInsituStream& is) { // NOLINT(readability-identifier-naming)
  rapidjson::SkipWhitespace(static_cast<rapidjson::InsituStringStream&>(is));
}

} // namespace ws::backend::detail

namespace rapidjson {

// Held as a local copy while parsing, as RapidJSON does for its own string streams.
template <> struct StreamTraits<ws::backend::detail::PaddedInsituStream> {
  enum { copyOptimization = 1 };
};

#if defined(__SSE2__)
// Moves up to the next '"', '\\' or control character (below 0x20) of the string being read,
// 16 bytes at a time from wherever it stands. Until the string's first escape the text stays
// where it is (src_ == dst_); after one, each piece moves left to close the gap, as RapidJSON's
// own scan does.
template <>
template <>
inline void GenericReader<UTF8<>, UTF8<>, CrtAllocator>::ScanCopyUnescapedString<
    ws::backend::detail::PaddedInsituStream, ws::backend::detail::PaddedInsituStream>(
    ws::backend::detail::PaddedInsituStream& is,
    [[maybe_unused]] ws::backend::detail::PaddedInsituStream& os) { // in place: os is is
  char* from = is.src_;
  char* to = is.dst_;
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i control = _mm_set1_epi8(0x1f);
  for (;;) {
    __m128i block;
    std::memcpy(&block, from, sizeof block); // an unaligned load
    const __m128i stop =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(block, quote), _mm_cmpeq_epi8(block, backslash)),
                     _mm_cmpeq_epi8(_mm_min_epu8(block, control), block)); // byte <= 0x1f
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(stop));
    const std::size_t plain =
        mask == 0 ? sizeof block : static_cast<std::size_t>(__builtin_ctz(mask));
    if (to != from) {
      std::memmove(to, from, plain);
    }
    from += plain;
    to += plain;
    if (mask != 0) {
      break;
    }
  }
  is.src_ = from;
  is.dst_ = to;
}
#endif

} // namespace rapidjson
