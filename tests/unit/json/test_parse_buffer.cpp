// SPDX-License-Identifier: MIT
// RapidJSON scans strings in aligned 16-byte blocks (rapidjson_config.hpp): a listing body parsed
// in place must be padded, or the block holding its end reads past the allocation. The sanitized
// build reports such a read, so these cases fail there without the padding.
#include <watchstate/backend/json_fields.hpp>
#include <watchstate/json/parse_buffer.hpp>

#include <rapidjson/document.h>
#include <rapidjson/reader.h>

#include <catch2/catch.hpp>

#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

// A body of exactly its own size: a string built from its characters holds no spare capacity
// (when it is longer than the small-string buffer), as a body grown without Content-Length may.
std::string exact_body(std::size_t name_length) {
  std::string text = R"({"Items":[{"Name":")" + std::string(name_length, 'x') + "\"}]}";
  return std::string(text.data(), text.size());
}

// RapidJSON's parse of `body` from its size: neither in place nor padded.
std::unique_ptr<rapidjson::Document> plain_parse(const std::string& body) {
  auto doc = std::make_unique<rapidjson::Document>();
  doc->Parse(body.data(), body.size());
  return doc;
}

// `text` parsed as the adapters parse a listing: in place (`doc` points into it).
void parse_listing(rapidjson::Document& doc, std::string& text) {
  ws::backend::detail::parse_json_body(doc, text, "jellyfin", "items", "/Items");
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

TEST_CASE("listing strings scanned in place read as a plain parse reads them", "[json]") {
  // The listings' string scan (backend/padded_insitu_stream.hpp) starts its 16-byte blocks
  // wherever a string starts. Strings of every length up to 70 with escapes, UTF-8 and plain
  // runs mixed, starting at every place of a block (the prefix shifts them), against RapidJSON's
  // parse of the same text from a size (which neither scans in place nor pads).
  std::mt19937 random(20261207); // NOLINT(cert-msc32-c,cert-msc51-cpp): the same texts every run
  const std::vector<std::string> pieces = {"a",
                                           "Z",
                                           " ",
                                           "/",
                                           R"(\")",
                                           R"(\\)",
                                           R"(\/)",
                                           R"(\n)",
                                           R"(\t)",
                                           R"(\u00e9)",
                                           R"(\ud83d\ude00)",
                                           "\xc3\xa9",
                                           "\xe2\x82\xac",
                                           "0123456789abcdef"};
  for (int round = 0; round < 400; ++round) {
    std::string body =
        R"({"p":")" + std::string(static_cast<std::size_t>(round % 32), 'p') + R"(","Items":[)";
    for (int item = 0; item < 4; ++item) {
      std::string value;
      const auto length = static_cast<std::size_t>(random() % 71);
      while (value.size() < length) {
        value += pieces[random() % pieces.size()];
      }
      // Whitespace between the tokens of some items: a skip that starts anywhere in a block.
      const std::string space(static_cast<std::size_t>(item * (round % 5)), item == 2 ? '\n' : ' ');
      body += (item == 0 ? "" : ",") + space + R"({"Name":)" + space + '"' + value + '"' + space +
              R"(,"Id":"x"})";
    }
    body += "]}";
    CAPTURE(body);
    const auto expected = plain_parse(body);
    REQUIRE_FALSE(expected->HasParseError());
    std::string in_place = body;
    rapidjson::Document doc;
    parse_listing(doc, in_place);
    CHECK(doc == *expected);
  }
}

TEST_CASE("a malformed string scanned in place is reported where a plain parse reports it",
          "[json]") {
  const std::vector<std::string> bodies = {
      R"({"Items":[{"Name":"unterminated)",
      std::string(R"({"Items":[{"Name":"a control)") + '\x01' + R"( byte"}]})",
      R"({"Items":[{"Name":"a bad \q escape"}]})",
      std::string(R"({"Items":[{"Name":")") + std::string(37, 'x') + '\n' + R"("}]})",
      R"({"Items":[{"Name":"\u12"}]})"};
  for (const std::string& body : bodies) {
    CAPTURE(body);
    const auto expected = plain_parse(body);
    REQUIRE(expected->HasParseError());
    std::string in_place = body;
    rapidjson::Document doc;
    CHECK_THROWS_WITH(parse_listing(doc, in_place),
                      Catch::Contains("invalid JSON at offset " +
                                      std::to_string(expected->GetErrorOffset()) + ":"));
  }
}
