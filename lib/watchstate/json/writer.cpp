// SPDX-License-Identifier: MIT
#include <watchstate/json/writer.hpp>

#include <rapidjson/writer.h>

#include <cstdio>
#include <string>

namespace ws::json {

namespace {

// RapidJSON's output stream: the whole document in memory, or, with a sink, at most
// k_chunk bytes of it before they go to the sink.
class Output {
public:
  using Ch = char;
  explicit Output(std::FILE* sink) : m_sink(sink) {}
  void Put(char c) {
    m_text.push_back(c);
    if (m_sink != nullptr && m_text.size() >= k_chunk) {
      drain();
    }
  }
  void Flush() {}
  void drain() {
    if (m_sink != nullptr && !m_text.empty()) {
      std::fwrite(m_text.data(), 1, m_text.size(), m_sink);
      m_text.clear();
    }
  }
  [[nodiscard]] const std::string& text() const { return m_text; }

private:
  static constexpr std::size_t k_chunk = 64 * 1024;
  std::FILE* m_sink;
  std::string m_text;
};

} // namespace

struct Writer::Impl {
  explicit Impl(std::FILE* sink) : buffer(sink) {}
  Output buffer;
  rapidjson::Writer<Output> writer{buffer};
};

Writer::Writer() : m_impl(std::make_unique<Impl>(nullptr)) {}
Writer::Writer(std::FILE* sink) : m_impl(std::make_unique<Impl>(sink)) {}
Writer::~Writer() {
  if (m_impl) {
    m_impl->buffer.drain();
  }
}
void Writer::flush() { m_impl->buffer.drain(); }

Writer& Writer::begin_object() {
  m_impl->writer.StartObject();
  return *this;
}
Writer& Writer::end_object() {
  m_impl->writer.EndObject();
  return *this;
}
Writer& Writer::begin_array() {
  m_impl->writer.StartArray();
  return *this;
}
Writer& Writer::end_array() {
  m_impl->writer.EndArray();
  return *this;
}
Writer& Writer::key(std::string_view name) {
  m_impl->writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  return *this;
}
Writer& Writer::value(std::string_view text) {
  m_impl->writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return *this;
}
Writer& Writer::value(std::int64_t number) {
  m_impl->writer.Int64(number);
  return *this;
}
Writer& Writer::value(std::uint64_t number) {
  m_impl->writer.Uint64(number);
  return *this;
}
Writer& Writer::value(bool flag) {
  m_impl->writer.Bool(flag);
  return *this;
}
Writer& Writer::null() {
  m_impl->writer.Null();
  return *this;
}
std::string Writer::str() const {
  // Without a sink nothing was drained: the whole document.
  return m_impl->buffer.text();
}

} // namespace ws::json
