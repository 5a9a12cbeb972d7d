// SPDX-License-Identifier: MIT
// Read response bodies out of the recorded fixture files in tests/fixtures/.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <rapidjson/writer.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace ws::test {

inline std::string read_fixture(const std::string& relative) {
  std::ifstream in(std::string(WS_TEST_FIXTURES) + "/" + relative, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot open fixture " + relative);
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The JSON text of the value at `pointer` (RFC 6901) in fixture file `relative`; a string value
// is returned as its content (e.g. a recorded HTML body).
inline std::string fixture_json(const std::string& relative, const char* pointer) {
  const std::string text = read_fixture(relative);
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  if (doc.HasParseError()) {
    throw std::runtime_error("fixture " + relative + " is not JSON");
  }
  const rapidjson::Value* value = rapidjson::Pointer(pointer).Get(doc);
  if (value == nullptr) {
    throw std::runtime_error(std::string("fixture ") + relative + " has no " + pointer);
  }
  if (value->IsString()) {
    return std::string(value->GetString(), value->GetStringLength());
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value->Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// The recorded response body of entry `name` in the WatchState Plex fixture.
inline std::string plex_fixture_body(const std::string& name) {
  return fixture_json("plex/watchstate_plex_data.json", ("/" + name + "/response/body").c_str());
}

// Entry `name` of the WatchState Jellyfin/Emby fixture.
inline std::string mediabrowser_fixture(const std::string& name) {
  return fixture_json("mediabrowser/watchstate_mediabrowser_data.json", ("/" + name).c_str());
}

} // namespace ws::test
