// SPDX-License-Identifier: MIT
#include <watchstate/core/redact.hpp>

#include <catch2/catch.hpp>

#include <string>

TEST_CASE("core::redact hides token-bearing query parameters", "[core]") {
  CHECK(ws::redact("http://plex:32400/library/sections?X-Plex-Token=abcDEF123&type=1") ==
        "http://plex:32400/library/sections?X-Plex-Token=<redacted>&type=1");
  CHECK(ws::redact("http://jf/Users?api_key=0123456789abcdef") ==
        "http://jf/Users?api_key=<redacted>");
  CHECK(ws::redact("http://emby/x?ApiKey=k1k2k3k4&y=2") == "http://emby/x?ApiKey=<redacted>&y=2");
  CHECK(ws::redact("http://x/?a=1&token=zzzzzz") == "http://x/?a=1&token=<redacted>");
  CHECK(ws::redact("http://x/?x-plex-token=lower") == "http://x/?x-plex-token=<redacted>");
  CHECK(ws::redact("http://x/?access_token=qqqq&X-Emby-Token=rrrr") ==
        "http://x/?access_token=<redacted>&X-Emby-Token=<redacted>");
  // A Plex home user's PIN on the plex.tv switch; "spin=" is another parameter.
  CHECK(ws::redact("http://tv/api/v2/home/users/u1/switch?pin=0123") ==
        "http://tv/api/v2/home/users/u1/switch?pin=<redacted>");
  CHECK(ws::redact("spin=0123") == "spin=0123");
}

TEST_CASE("core::redact hides MediaBrowser Authorization tokens", "[core]") {
  const std::string header = R"(Authorization: MediaBrowser Client="watchstate", )"
                             R"(Device="host", DeviceId="id1", Version="0.1", Token="s3cr3tt0k3n")";
  const std::string out = ws::redact(header);
  CHECK(out.find("s3cr3tt0k3n") == std::string::npos);
  CHECK(out.find(R"(Token="<redacted>")") != std::string::npos);
  CHECK(out.find(R"(DeviceId="id1")") != std::string::npos);
}

TEST_CASE("core::redact leaves ordinary text alone", "[core]") {
  CHECK(ws::redact("") == "");
  CHECK(ws::redact("http://plex:32400/library/sections/1/all?type=4") ==
        "http://plex:32400/library/sections/1/all?type=4");
  // "mytoken=" is not the parameter "token=".
  CHECK(ws::redact("mytoken=abc") == "mytoken=abc");
  // An empty value has nothing to hide.
  CHECK(ws::redact("http://x/?X-Plex-Token=&a=1") == "http://x/?X-Plex-Token=&a=1");
  CHECK(ws::redact("X-Plex-Token=") == "X-Plex-Token=");
}

TEST_CASE("core::redact hides registered secrets anywhere", "[core]") {
  ws::register_secret("Zq9-registered-secret");
  CHECK(ws::redact("header X-Plex-Token: Zq9-registered-secret, twice Zq9-registered-secret") ==
        "header X-Plex-Token: <redacted>, twice <redacted>");
  // Short strings are not registered: they would mangle ordinary words.
  ws::register_secret("the");
  CHECK(ws::redact("the theme") == "the theme");
  // Registering twice is harmless.
  ws::register_secret("Zq9-registered-secret");
  CHECK(ws::redact("Zq9-registered-secret") == "<redacted>");
}
