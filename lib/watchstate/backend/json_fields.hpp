// SPDX-License-Identifier: MIT
// Internal: tolerant field readers over RapidJSON values, shared by the adapters' .cpp files.
// Only forward declarations of RapidJSON types appear here; parsing lives in json_fields.cpp.
#pragma once

#include <watchstate/backend/backend.hpp>
#include <watchstate/http/client.hpp>

#include <rapidjson/fwd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ws::backend::detail {

// Parse `body` in place into `doc` (strings of `doc` point into `body`, which must outlive it).
// Throw Errc::protocol "<backend>: <what> from <url>: <why>" when it is not a JSON object.
void parse_json_body(rapidjson::Document& doc, std::string& body, std::string_view backend,
                     std::string_view what, std::string_view url);

// As parse_json_body, for a body that must be a JSON array.
void parse_json_array_body(rapidjson::Document& doc, std::string& body, std::string_view backend,
                           std::string_view what, std::string_view url);

// One JSON answer of a server: `request` sent through send_checked() (a status other than 2xx
// throws, with the token hint of the connection's server type), its body parsed in place by
// parse_json_body(), or parse_json_array_body() for Shape::array. It keeps the body that the
// document's strings point into.
class JsonAnswer {
public:
  enum class Shape : std::uint8_t { object, array };
  JsonAnswer(http::Client& client, const Connection& connection, http::Request request,
             std::string_view what, Shape shape = Shape::object);
  ~JsonAnswer();
  JsonAnswer(const JsonAnswer&) = delete;
  JsonAnswer& operator=(const JsonAnswer&) = delete;

  [[nodiscard]] const rapidjson::Document& doc() const { return *m_doc; }
  [[nodiscard]] const std::string& url() const { return m_url; }

private:
  std::string m_url;
  http::Outcome m_outcome;
  std::unique_ptr<rapidjson::Document> m_doc;
};

// Member `name` of `object`; nullptr when `object` is not an object, or the member is absent or
// null.
const rapidjson::Value* member(const rapidjson::Value& object, std::string_view name);

// The member as an object or array, nullptr otherwise.
const rapidjson::Value* object_member(const rapidjson::Value& object, std::string_view name);
const rapidjson::Value* array_member(const rapidjson::Value& object, std::string_view name);

// A string member; nullopt when absent or not a string.
std::optional<std::string_view> string_member(const rapidjson::Value& object,
                                              std::string_view name);

// An id that servers write as a string or as an integer ("12" or 12).
std::optional<std::string> id_member(const rapidjson::Value& object, std::string_view name);

// An integer written as a number (integral), a digit string, or a boolean (true = 1).
std::optional<std::int64_t> int_member(const rapidjson::Value& object, std::string_view name);

// A boolean written as true/false, 0/1 or "true"/"false"/"1"/"0".
std::optional<bool> bool_member(const rapidjson::Value& object, std::string_view name);

// The year of a "YYYY-MM-DD…" date member, 0 when absent or malformed.
int year_of_date_member(const rapidjson::Value& object, std::string_view name);

} // namespace ws::backend::detail
