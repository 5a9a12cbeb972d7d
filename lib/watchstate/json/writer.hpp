// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace ws::json {

// A streaming JSON writer (compact, keys in insertion order). Keeps RapidJSON out of headers.
class Writer {
public:
  Writer();
  // Writes the document to `sink` as it goes (through a small buffer, flushed by flush() and
  // by the destructor) instead of keeping it: a tool's output costs no memory of its size.
  // str() is then empty.
  explicit Writer(std::FILE* sink);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  Writer& begin_object();
  Writer& end_object();
  Writer& begin_array();
  Writer& end_array();
  Writer& key(std::string_view name);
  Writer& value(std::string_view text);
  Writer& value(const char* text) { return value(std::string_view(text)); }
  Writer& value(const std::string& text) { return value(std::string_view(text)); }
  Writer& value(std::int64_t number);
  Writer& value(int number) { return value(static_cast<std::int64_t>(number)); }
  Writer& value(std::uint64_t number);
  Writer& value(bool flag);
  Writer& null();

  // Shorthand for key(name).value(v).
  template <typename T> Writer& field(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }

  // The document written so far (kept only without a sink).
  [[nodiscard]] std::string str() const;
  // With a sink: hand what is buffered to it (std::fwrite; the FILE's own buffer is the
  // caller's to flush).
  void flush();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace ws::json
