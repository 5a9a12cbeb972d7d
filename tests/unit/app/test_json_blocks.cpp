// SPDX-License-Identifier: MIT
#include <watchstate/app/json_blocks.hpp>

#include <catch2/catch.hpp>

#include <vector>

using namespace ws;

namespace {

// `write` inside {"v": …}, as a document.
template <typename F> std::string doc(F write) {
  json::Writer out;
  out.begin_object().key("v");
  write(out);
  out.end_object();
  return out.str();
}

// `write` inside an object, as a document.
template <typename F> std::string obj(F write) {
  json::Writer out;
  out.begin_object();
  write(out);
  out.end_object();
  return out.str();
}

struct Backend {
  std::string backend;
  bool ok = false;
  int n = 0;
};

struct Identity {
  std::string identity;
  std::vector<Backend> backends;
};

} // namespace

TEST_CASE("a time is RFC 3339, or null when not set") {
  CHECK(obj([](auto& out) { app::write_time_or_null(out, "t", UnixTime{0}); }) == R"({"t":null})");
  CHECK(obj([](auto& out) { app::write_time_or_null(out, "t", UnixTime{-5}); }) == R"({"t":null})");
  CHECK(obj([](auto& out) { app::write_time_or_null(out, "t", UnixTime{86400}); }) ==
        R"({"t":"1970-01-02T00:00:00Z"})");
  // An optional time is written when it is there, whatever its value.
  CHECK(obj([](auto& out) { app::write_time_or_null(out, "t", std::optional<UnixTime>{}); }) ==
        R"({"t":null})");
  CHECK(obj([](auto& out) { app::write_time_or_null(out, "t", std::optional<UnixTime>{0}); }) ==
        R"({"t":"1970-01-01T00:00:00Z"})");
}

TEST_CASE("guids, strings and nullable text") {
  const model::Guids guids{{model::GuidKey::imdb, "tt1"}, {model::GuidKey::tmdb, "2"}};
  CHECK(doc([&](auto& out) { app::write_guids(out, guids); }) ==
        R"({"v":{"imdb":"tt1","tmdb":"2"}})");
  CHECK(doc([](auto& out) { app::write_guids(out, {}); }) == R"({"v":{}})");
  CHECK(obj([](auto& out) { app::write_strings(out, "s", {"a", "b"}); }) == R"({"s":["a","b"]})");
  CHECK(obj([](auto& out) { app::write_text_or_null(out, "x", ""); }) == R"({"x":null})");
  CHECK(obj([](auto& out) { app::write_text_or_null(out, "x", "y"); }) == R"({"x":"y"})");
}

TEST_CASE("a write's status: planned until sent, then ok or failed with its error") {
  CHECK(obj([](auto& out) { app::write_write_status(out, false, false, ""); }) ==
        R"({"status":"planned"})");
  CHECK(obj([](auto& out) { app::write_write_status(out, true, true, ""); }) ==
        R"({"status":"ok"})");
  CHECK(obj([](auto& out) { app::write_write_status(out, true, false, "boom"); }) ==
        R"({"status":"failed","error":"boom"})");
}

TEST_CASE("what a backend cost: requests, then bytes_received") {
  CHECK(obj([](auto& out) { app::write_traffic(out, 12, 34567); }) ==
        R"({"requests":12,"bytes_received":34567})");
  CHECK(obj([](auto& out) { app::write_traffic(out, 0, 0); }) ==
        R"({"requests":0,"bytes_received":0})");
}

TEST_CASE("the envelope's errors leave out empty identity, backend and item") {
  const std::vector<sync::BackendError> errors{
      {"", "", Errc::usage, "bad flag", ""},
      {"main", "plex", Errc::tempfail, "timeout", "42"},
  };
  CHECK(
      doc([&](auto& out) { app::write_backend_errors(out, errors); }) ==
      R"({"v":[{"kind":"usage","message":"bad flag"},)"
      R"({"identity":"main","backend":"plex","item":"42","kind":"tempfail","message":"timeout"}]})");
}

TEST_CASE("the per-identity, per-backend result") {
  const std::vector<Identity> identities{{"main", {{"plex", true, 1}, {"jf", false, 2}}}};
  const auto backend = [](json::Writer& out) {
    return [&out](const Backend& b) { out.field("n", b.n); };
  };
  CHECK(doc([&](auto& out) {
          app::write_identities(out, identities, backend(out),
                                [&out](const Identity&) { out.field("extra", true); });
        }) == R"({"v":{"identities":{"main":{"backends":{"plex":{"status":"ok","n":1},)"
              R"("jf":{"status":"failed","n":2}},"extra":true}}}})");
  CHECK(doc([&](auto& out) {
          app::write_identities(out, std::vector<Identity>{}, backend(out));
        }) == R"({"v":{"identities":{}}})");
}
