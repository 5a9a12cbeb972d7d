// SPDX-License-Identifier: MIT
// A writer with a sink (the tools' --json document) writes the same bytes as one that keeps the
// document, while holding only a small buffer of it.
#include <watchstate/json/writer.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

namespace {

void write_document(ws::json::Writer& out, int items) {
  out.begin_object().field("tool", "ws-test").key("items").begin_array();
  for (int i = 0; i < items; ++i) {
    out.begin_object().field("id", i).field("title",
                                            "Title \"quoted\" \xc3\xa9 " + std::to_string(i));
    out.field("watched", i % 2 == 0).key("none").null().end_object();
  }
  out.end_array().end_object();
}

std::string read_all(std::FILE* file) {
  std::rewind(file);
  std::string text;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) {
    text.append(buffer, n);
  }
  return text;
}

} // namespace

TEST_CASE("json::Writer with a sink writes what str() would hold", "[json]") {
  for (const int items : {0, 3, 20000}) { // 20000 items: over a megabyte, many chunks
    CAPTURE(items);
    ws::json::Writer kept;
    write_document(kept, items);

    std::FILE* file = std::tmpfile();
    REQUIRE(file != nullptr);
    {
      ws::json::Writer streamed(file);
      write_document(streamed, items);
      CHECK(streamed.str().size() <= 64 * 1024); // never the whole document
      streamed.flush();
      CHECK(streamed.str().empty());
    }
    CHECK(read_all(file) == kept.str());
    std::fclose(file);
  }
}
