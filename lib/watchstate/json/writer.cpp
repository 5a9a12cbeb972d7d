// SPDX-License-Identifier: MIT
#include <watchstate/json/writer.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace ws::json {

struct Writer::Impl {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer{buffer};
};

Writer::Writer() : m_impl(std::make_unique<Impl>()) {}
Writer::~Writer() = default;

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
std::string Writer::str() const { return {m_impl->buffer.GetString(), m_impl->buffer.GetSize()}; }

} // namespace ws::json
