// SPDX-License-Identifier: MIT
// A response body read as a RapidJSON document, for tests of what a (simulated) server answers.
#pragma once

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <string>

namespace ws::test {

// The document `body` holds; the test fails here (REQUIRE) when it is not JSON.
inline rapidjson::Document parse_json(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.data(), body.size());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

} // namespace ws::test
