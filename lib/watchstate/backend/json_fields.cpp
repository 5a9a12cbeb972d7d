// SPDX-License-Identifier: MIT
#include <watchstate/backend/json_fields.hpp>

#include <watchstate/backend/adapter_support.hpp>
#include <watchstate/backend/padded_insitu_stream.hpp>
#include <watchstate/json/parse_buffer.hpp>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace ws::backend::detail {

namespace {

void parse_in_place(rapidjson::Document& doc, std::string& body, std::string_view backend,
                    std::string_view what, std::string_view url) {
  PaddedInsituStream text(json::padded_for_parse(body));
  doc.ParseStream<rapidjson::kParseInsituFlag>(text);
  if (doc.HasParseError()) {
    throw_protocol(backend, what, url,
                   std::string("invalid JSON at offset ") + std::to_string(doc.GetErrorOffset()) +
                       ": " + rapidjson::GetParseError_En(doc.GetParseError()));
  }
}

// A member look-up's guess (member()): the index at which the name whose characters lie at
// `name` was found last on this thread. The adapters look fields up by literal names, so the
// address stands for the name without hashing its characters.
struct MemberSlot {
  const char* name = nullptr;
  rapidjson::SizeType index = 0;
};

MemberSlot& member_slot(std::string_view name) {
  // Direct-mapped by the address (two names sharing a slot only miss more): an adapter reads
  // about 15 fields of an item, a few dozen names in all.
  constexpr unsigned bits = 8;
  thread_local std::array<MemberSlot, std::size_t{1} << bits> table{};
  const auto address = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(name.data()));
  return table[(address * 0x9E3779B97F4A7C15U) >> (64U - bits)]; // Fibonacci hashing
}

bool has_name(const rapidjson::Value::Member& member, std::string_view name) {
  return member.name.GetStringLength() == name.size() &&
         (name.empty() || std::memcmp(member.name.GetString(), name.data(), name.size()) == 0);
}

} // namespace

void parse_json_body(rapidjson::Document& doc, std::string& body, std::string_view backend,
                     std::string_view what, std::string_view url) {
  parse_in_place(doc, body, backend, what, url);
  if (!doc.IsObject()) {
    throw_protocol(backend, what, url, "the body is not a JSON object");
  }
}

void parse_json_array_body(rapidjson::Document& doc, std::string& body, std::string_view backend,
                           std::string_view what, std::string_view url) {
  parse_in_place(doc, body, backend, what, url);
  if (!doc.IsArray()) {
    throw_protocol(backend, what, url, "the body is not a JSON array");
  }
}

const rapidjson::Value* member(const rapidjson::Value& object, std::string_view name) {
  if (!object.IsObject()) {
    return nullptr;
  }
  // Where this name was found last: the items of a listing hold their members in one order, so
  // an item's field is usually where the item before held it. A slot is only a guess, checked
  // by the name; a wrong one costs the search it would have saved.
  MemberSlot& slot = member_slot(name);
  const auto begin = object.MemberBegin();
  const bool guessed = slot.name == name.data() && slot.index < object.MemberCount() &&
                       has_name(begin[slot.index], name);
  const auto it =
      guessed ? begin + slot.index
              : object.FindMember(rapidjson::Value(rapidjson::StringRef(name.data(), name.size())));
  if (!guessed && it != object.MemberEnd()) {
    slot = MemberSlot{name.data(), static_cast<rapidjson::SizeType>(it - begin)};
  }
  if (it == object.MemberEnd() || it->value.IsNull()) {
    return nullptr;
  }
  return &it->value;
}

const rapidjson::Value* object_member(const rapidjson::Value& object, std::string_view name) {
  const auto* value = member(object, name);
  return value != nullptr && value->IsObject() ? value : nullptr;
}

const rapidjson::Value* array_member(const rapidjson::Value& object, std::string_view name) {
  const auto* value = member(object, name);
  return value != nullptr && value->IsArray() ? value : nullptr;
}

std::optional<std::string_view> string_member(const rapidjson::Value& object,
                                              std::string_view name) {
  const auto* value = member(object, name);
  if (value == nullptr || !value->IsString()) {
    return std::nullopt;
  }
  return std::string_view(value->GetString(), value->GetStringLength());
}

std::optional<std::string> id_member(const rapidjson::Value& object, std::string_view name) {
  const auto* value = member(object, name);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (value->IsString()) {
    if (value->GetStringLength() == 0) {
      return std::nullopt;
    }
    return std::string(value->GetString(), value->GetStringLength());
  }
  if (value->IsInt64()) {
    return std::to_string(value->GetInt64());
  }
  if (value->IsUint64()) {
    return std::to_string(value->GetUint64());
  }
  return std::nullopt;
}

std::optional<std::int64_t> int_member(const rapidjson::Value& object, std::string_view name) {
  const auto* value = member(object, name);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (value->IsInt64()) {
    return value->GetInt64();
  }
  if (value->IsDouble()) {
    const double d = value->GetDouble();
    if (std::isfinite(d) && std::abs(d) < 9.0e18) {
      return static_cast<std::int64_t>(d);
    }
    return std::nullopt;
  }
  if (value->IsBool()) {
    return value->GetBool() ? 1 : 0;
  }
  if (value->IsString()) {
    std::int64_t out = 0;
    const char* begin = value->GetString();
    const char* end = begin + value->GetStringLength();
    const auto [ptr, ec] = std::from_chars(begin, end, out);
    if (ec == std::errc{} && ptr == end && begin != end) {
      return out;
    }
  }
  return std::nullopt;
}

std::optional<bool> bool_member(const rapidjson::Value& object, std::string_view name) {
  const auto* value = member(object, name);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (value->IsBool()) {
    return value->GetBool();
  }
  if (value->IsNumber()) {
    return value->GetDouble() != 0.0;
  }
  if (value->IsString()) {
    const std::string_view text(value->GetString(), value->GetStringLength());
    if (text == "true" || text == "1") {
      return true;
    }
    if (text == "false" || text == "0") {
      return false;
    }
  }
  return std::nullopt;
}

int year_of_date_member(const rapidjson::Value& object, std::string_view name) {
  const auto text = string_member(object, name);
  if (!text || text->size() < 4) {
    return 0;
  }
  int year = 0;
  const auto [ptr, ec] = std::from_chars(text->data(), text->data() + 4, year);
  if (ec != std::errc{} || ptr != text->data() + 4 || (text->size() > 4 && (*text)[4] != '-')) {
    return 0;
  }
  return year;
}

JsonAnswer::JsonAnswer(http::Client& client, const Connection& connection, http::Request request,
                       std::string_view what, Shape shape)
    : m_url(request.url), m_doc(std::make_unique<rapidjson::Document>()) {
  m_outcome =
      send_checked(client, connection.name, std::move(request), 0, token_source(connection.type));
  if (shape == Shape::array) {
    parse_json_array_body(*m_doc, m_outcome.response.body, connection.name, what, m_url);
  } else {
    parse_json_body(*m_doc, m_outcome.response.body, connection.name, what, m_url);
  }
}

JsonAnswer::~JsonAnswer() = default;

} // namespace ws::backend::detail
