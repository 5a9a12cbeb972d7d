// SPDX-License-Identifier: MIT
// RapidJSON scans strings in aligned 16-byte blocks (rapidjson_config.hpp): a listing body parsed
// in place must be padded, or the block holding its end reads past the allocation. The sanitized
// build reports such a read, so these cases fail there without the padding.
#include <watchstate/backend/json_fields.hpp>
#include <watchstate/json/parse_buffer.hpp>

#include <rapidjson/document.h>
#include <rapidjson/reader.h>

#include <catch2/catch.hpp>

#include <string>

namespace {

// A body of exactly its own size: a string built from its characters holds no spare capacity
// (when it is longer than the small-string buffer), as a body grown without Content-Length may.
std::string exact_body(std::size_t name_length) {
  std::string text = R"({"Items":[{"Name":")" + std::string(name_length, 'x') + "\"}]}";
  return std::string(text.data(), text.size());
}

} // namespace

TEST_CASE("json::padded_for_parse keeps the text and puts zeros behind it", "[json]") {
  std::string text = exact_body(20);
  const std::string before = text;
  const char* data = ws::json::padded_for_parse(text);
  CHECK(text == before);
  CHECK(data == text.data());
  REQUIRE(text.capacity() >= text.size() + ws::json::k_parse_slack);
  for (std::size_t i = 0; i <= ws::json::k_parse_slack; ++i) {
    CHECK(data[text.size() + i] == '\0');
  }
  std::string empty;
  CHECK(ws::json::padded_for_parse(empty)[0] == '\0');
  CHECK(empty.empty());
}

TEST_CASE("a listing body that fills its allocation parses in place", "[json]") {
  // Every length of the last string, so that its closing quote falls at every place of a 16-byte
  // block, and the block past it at the end of the allocation for some of them.
  for (std::size_t length = 0; length < 48; ++length) {
    std::string body = exact_body(length);
    rapidjson::Document doc;
    ws::backend::detail::parse_json_body(doc, body, "jellyfin", "items", "/Items");
    const auto* items = ws::backend::detail::array_member(doc, "Items");
    REQUIRE(items != nullptr);
    REQUIRE(items->Size() == 1);
    CHECK(ws::backend::detail::string_member((*items)[0], "Name") == std::string(length, 'x'));
  }
}

TEST_CASE("an escaped string parsed in place keeps its characters", "[json]") {
  // In place, an escape shifts the rest of the string left: the SSE2 copy after an escape.
  std::string body = R"({"Name":"a\"b\\c\u00e9)" + std::string(40, 'y') + R"(\n"})";
  rapidjson::Document doc;
  ws::backend::detail::parse_json_body(doc, body, "emby", "item", "/Items/1");
  CHECK(ws::backend::detail::string_member(doc, "Name") ==
        "a\"b\\c\xc3\xa9" + std::string(40, 'y') + "\n");
}
