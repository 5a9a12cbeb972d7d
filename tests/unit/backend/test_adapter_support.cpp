// SPDX-License-Identifier: MIT
#include <watchstate/backend/adapter_support.hpp>
#include <watchstate/core/error.hpp>

#include <catch2/catch.hpp>

using ws::backend::detail::follow_up_page;
using ws::backend::detail::PageWindow;
using ws::backend::detail::plan_pages;

TEST_CASE("backend::plan_pages", "[backend]") {
  CHECK(plan_pages(0, 10).empty());
  const auto pages = plan_pages(25, 10);
  REQUIRE(pages.size() == 3);
  CHECK(pages[0].start == 0);
  CHECK(pages[1].start == 10);
  CHECK(pages[2].start == 20);
  CHECK(pages[2].size == 10);
  CHECK_FALSE(pages[1].last);
  CHECK(pages[2].last);
  CHECK(plan_pages(10, 10).size() == 1);
  CHECK(plan_pages(3, 0).size() == 3); // page size clamped to 1
}

TEST_CASE("backend::follow_up_page", "[backend]") {
  // A full page in the middle needs nothing more.
  CHECK_FALSE(follow_up_page(PageWindow{0, 10, false}, 10, 30).has_value());
  // A short page asks for its remainder.
  const auto rest = follow_up_page(PageWindow{10, 10, false}, 4, 30);
  REQUIRE(rest.has_value());
  CHECK(rest->start == 14);
  CHECK(rest->size == 6);
  // The last page short only because the listing ends: nothing.
  CHECK_FALSE(follow_up_page(PageWindow{20, 10, true}, 5, 25).has_value());
  // The server gained items since the count: the last page asks for the next one.
  const auto more = follow_up_page(PageWindow{20, 10, true}, 10, 35);
  REQUIRE(more.has_value());
  CHECK(more->start == 30);
  CHECK(more->last);
  // An empty answer never loops.
  CHECK_FALSE(follow_up_page(PageWindow{0, 10, true}, 0, 30).has_value());
}

TEST_CASE("backend::url_for_message and check_outcome", "[backend]") {
  using ws::backend::detail::check_outcome;
  using ws::backend::detail::url_for_message;
  CHECK(url_for_message("http://127.0.0.1:32400/library/sections?type=1") ==
        "/library/sections?type=1");
  CHECK(url_for_message("http://host") == "/");
  CHECK(url_for_message("http://h/a?X-Plex-Token=abcdef123").find("abcdef123") ==
        std::string::npos);
  CHECK(ws::backend::detail::url_encode("a b/c,d") == "a%20b%2Fc%2Cd");

  ws::http::Outcome ok;
  ok.response.status = 204;
  CHECK_NOTHROW(check_outcome("b", "http://h/x", ok));
  const auto code_of = [](long status) {
    ws::http::Outcome outcome;
    outcome.response.status = status;
    try {
      check_outcome("b", "http://h/x", outcome);
    } catch (const ws::Error& e) {
      return e.code();
    }
    return ws::Errc::internal;
  };
  CHECK(code_of(401) == ws::Errc::no_perm);
  CHECK(code_of(403) == ws::Errc::no_perm);
  CHECK(code_of(429) == ws::Errc::tempfail);
  CHECK(code_of(500) == ws::Errc::tempfail);
  CHECK(code_of(503) == ws::Errc::tempfail);
  CHECK(code_of(404) == ws::Errc::protocol);
  CHECK(code_of(200) == ws::Errc::internal); // did not throw
  ws::http::Outcome failed;
  failed.error = ws::http::TransportError::timeout;
  failed.error_message = "timed out";
  try {
    check_outcome("plex_home", "http://h/library/sections", failed);
    FAIL("no exception");
  } catch (const ws::Error& e) {
    CHECK(e.code() == ws::Errc::tempfail);
    CHECK(std::string(e.what()) == "plex_home: request to /library/sections failed: timed out");
  }
  // An unverifiable certificate is not "try again later": the same answer comes every time.
  ws::http::Outcome untrusted;
  untrusted.error = ws::http::TransportError::tls;
  untrusted.error_message = "SSL certificate problem: self-signed certificate";
  try {
    check_outcome("jf", "https://h/System/Info?api_key=secret123456", untrusted);
    FAIL("no exception");
  } catch (const ws::Error& e) {
    CHECK(e.code() == ws::Errc::protocol);
    const std::string message = e.what();
    CHECK(message.find("jf: TLS failure talking to /System/Info") == 0);
    CHECK(message.find("verify_tls") != std::string::npos);
    CHECK(message.find("secret123456") == std::string::npos);
  }
}
