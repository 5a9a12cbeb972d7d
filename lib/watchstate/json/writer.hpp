// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ws::json {

// A streaming JSON writer (compact, keys in insertion order). Keeps RapidJSON out of headers.
class Writer {
public:
  Writer();
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

  // The document written so far.
  [[nodiscard]] std::string str() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace ws::json
