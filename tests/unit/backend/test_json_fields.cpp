// SPDX-License-Identifier: MIT
// member() guesses where a field is from where it found the same name last (json_fields.cpp):
// whatever the guess, it must find the member of this object, or none.
#include <watchstate/backend/json_fields.hpp>

#include <rapidjson/document.h>

#include <catch2/catch.hpp>

#include <string>

using ws::backend::detail::int_member;
using ws::backend::detail::member;
using ws::backend::detail::parse_json_array_body;
using ws::backend::detail::string_member;

namespace {

rapidjson::Document parse_array(std::string text, std::string& keep) {
  keep = std::move(text);
  rapidjson::Document doc;
  parse_json_array_body(doc, keep, "jellyfin", "items", "/Items");
  return doc;
}

} // namespace

TEST_CASE("backend::member finds each object's own field whatever the order", "[backend]") {
  std::string body;
  const auto doc = parse_array(R"([{"Id":"1","Name":"a","IndexNumber":1},)"
                               R"({"Name":"b","Id":"2"},)"
                               R"({"IndexNumber":3,"Id":"3","Nam":"x","Name":"c"},)"
                               R"({"Id":"4"},)"
                               R"({},)"
                               R"({"Id":"6","Name":null,"IndexNumber":6},)"
                               R"({"Id":"7","Name":"g","IndexNumber":7}])",
                               body);
  const char* const expected_names[] = {"a", "b", "c", nullptr, nullptr, nullptr, "g"};
  const int expected_numbers[] = {1, 0, 3, 0, 0, 6, 7};
  for (int round = 0; round < 2; ++round) { // the second round starts from the last guesses
    for (rapidjson::SizeType i = 0; i < doc.Size(); ++i) {
      CAPTURE(round, i);
      const auto& item = doc[i];
      const auto name = string_member(item, "Name");
      if (expected_names[i] == nullptr) {
        CHECK_FALSE(name.has_value());
      } else {
        CHECK(name == expected_names[i]);
      }
      CHECK(int_member(item, "IndexNumber").value_or(0) == expected_numbers[i]);
      const auto* id = member(item, "Id");
      if (i == 4) {
        CHECK(id == nullptr);
      } else {
        REQUIRE(id != nullptr);
        CHECK(std::string(id->GetString()) == std::to_string(i + 1));
      }
    }
  }
}

TEST_CASE("backend::member compares the name, not where its characters lie", "[backend]") {
  std::string body;
  const auto doc = parse_array(R"([{"Id":"1","Name":"a"},{"Name":"b","Id":"2"}])", body);
  // One buffer holding different names in turn: the same address, never the same answer.
  std::string name = "Name";
  CHECK(string_member(doc[0], name) == "a");
  name = "Id";
  CHECK(string_member(doc[1], name) == "2");
  name = "Name";
  CHECK(string_member(doc[1], name) == "b");
  name = "Nope";
  CHECK(member(doc[1], name) == nullptr);
  CHECK(member(doc[0], "") == nullptr);
}
