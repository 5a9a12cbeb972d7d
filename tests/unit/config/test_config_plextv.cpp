// SPDX-License-Identifier: MIT
#include <watchstate/config/config.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/redact.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

using namespace ws::config;

namespace {

constexpr const char* k_base = R"(backends:
  home_plex:
    type: plex
    url: http://127.0.0.1:32400
    token: plex-admin-token-1234
    options:
      plextv_url: http://127.0.0.1:9999/
  jf:
    type: jellyfin
    url: http://127.0.0.1:8096
    token: jf-api-key-1234
    user: aaaa
identities:
  kid:
    home_plex: { user: "1001" }
    jf: { user: bbbb }
  friend:
    home_plex: { user: "2002", token: friend-token-5678 }
)";

std::string letters_of_pid() {
  std::string letters;
  for (auto n = static_cast<unsigned long>(::getpid()); n != 0; n /= 10) {
    letters += static_cast<char>('a' + n % 10);
  }
  return letters;
}

} // namespace

TEST_CASE("config::plextv_url and obtained Plex user tokens", "[config][identities]") {
  const auto config = parse_config(k_base, "config.yaml");
  REQUIRE(config.backends.size() == 2);
  CHECK(config.backends[0].plextv_url == "http://127.0.0.1:9999");
  CHECK(config.backends[1].plextv_url == "https://plex.tv");

  const auto main = backends_for_identity(config, "main");
  CHECK_FALSE(main[0].obtain_user_token);
  CHECK(main[0].identity == "main");

  const auto kid = backends_for_identity(config, "kid");
  REQUIRE(kid.size() == 2);
  CHECK(kid[0].identity == "kid");
  CHECK(kid[0].obtain_user_token);
  CHECK(kid[0].token == "plex-admin-token-1234"); // the admin token plex.tv is asked with
  CHECK(kid[0].user == "1001");
  CHECK_FALSE(kid[1].obtain_user_token); // Jellyfin: the API key and the user id suffice

  const auto friend_backends = backends_for_identity(config, "friend");
  REQUIRE(friend_backends.size() == 1);
  CHECK_FALSE(friend_backends[0].obtain_user_token);
  CHECK(friend_backends[0].token == "friend-token-5678");

  std::string bad = k_base;
  bad.replace(bad.find("http://127.0.0.1:9999/"), 22, "plex.tv");
  CHECK_THROWS_WITH(parse_config(bad, "config.yaml"),
                    Catch::Contains("config.yaml:7") && Catch::Contains("plextv_url"));
}

namespace {

// The head of a config whose kid identity's home_plex entry follows (at 6 spaces).
constexpr const char* k_pin_head = R"(backends:
  home_plex:
    type: plex
    url: http://127.0.0.1:32400
    token: plex-admin-token-1234
  jf:
    type: jellyfin
    url: http://127.0.0.1:8096
    token: jf-api-key-1234
    user: aaaa
identities:
  kid:
)";

std::string pin_error(const std::string& entries) {
  try {
    (void)parse_config(k_pin_head + entries, "config.yaml");
  } catch (const ws::Error& e) {
    CHECK(e.code() == ws::Errc::config);
    return e.what();
  }
  return {};
}

} // namespace

TEST_CASE("config::identities pin and pin_file of a Plex home user", "[config][identities]") {
  const auto config =
      parse_config(std::string(k_pin_head) + "    home_plex: { user: \"1001\", pin: \"2580\" }\n",
                   "config.yaml");
  const auto kid = backends_for_identity(config, "kid");
  REQUIRE(kid.size() == 1);
  CHECK(kid[0].obtain_user_token);
  CHECK(kid[0].plex_pin == "2580");
  CHECK(kid[0].plex_pin_key == "pin");
  CHECK(ws::redact("switch?pin=2580 and 2580") == "switch?pin=<redacted> and <redacted>");
  CHECK(backends_for_identity(config, "main")[0].plex_pin.empty());
  // A leading zero is kept (YAML would read 0123 as a number elsewhere).
  CHECK(backends_for_identity(
            parse_config(std::string(k_pin_head) + "    home_plex: { user: \"1001\", pin: 0147 }\n",
                         "config.yaml"),
            "kid")[0]
            .plex_pin == "0147");

  // The pid spelled in letters: as digits, a pid such as 2580 equals a PIN this test
  // registers, and the error messages that name a file under this directory (rightly)
  // redact it.
  const auto dir = std::filesystem::temp_directory_path() / ("ws-config-pin-" + letters_of_pid());
  std::filesystem::create_directories(dir);
  const auto file = dir / "kid.pin";
  std::ofstream(file) << " 1470 \nnot the pin\n";
  const auto from_file =
      parse_config(std::string(k_pin_head) + "    home_plex:\n      user: \"1001\"\n" +
                       "      pin_file: kid.pin\n",
                   dir / "config.yaml");
  const auto kid_file = backends_for_identity(from_file, "kid");
  CHECK(kid_file[0].plex_pin == "1470");
  CHECK(kid_file[0].plex_pin_key == "pin_file");
  CHECK(ws::redact("1470") == "<redacted>");

  SECTION("errors name file, line and key, never the PIN") {
    CHECK(pin_error("    home_plex: { user: \"1001\", pin: \"25801\" }\n") ==
          "config.yaml:13: identities.kid.home_plex.pin: must be the 4 digits of the Plex home "
          "user's PIN");
    CHECK(pin_error("    home_plex: { user: \"1001\", pin: ab12 }\n") ==
          "config.yaml:13: identities.kid.home_plex.pin: must be the 4 digits of the Plex home "
          "user's PIN");
    CHECK(pin_error("    home_plex: { user: \"1001\", pin: }\n")
              .starts_with("config.yaml:13: identities.kid.home_plex.pin: must be the 4 digits"));
    CHECK(pin_error(
              "    home_plex:\n      user: \"1001\"\n      pin: \"2580\"\n      pin_file: /x\n") ==
          "config.yaml:16: identities.kid.home_plex: set only one of pin and pin_file");
    CHECK(pin_error("    jf: { user: bbbb, pin: \"2580\" }\n") ==
          "config.yaml:13: identities.kid.jf.pin: only a Plex home user has a PIN");
    CHECK(pin_error("    home_plex: { user: \"1001\", token: kid-token-9876, pin: \"2580\" }\n")
              .starts_with("config.yaml:13: identities.kid.home_plex.pin: a PIN is only used to "
                           "obtain this person's token through plex.tv"));
    const auto missing = dir / "nope.pin";
    CHECK(pin_error("    home_plex:\n      user: \"1001\"\n      pin_file: " + missing.string() +
                    "\n") ==
          "config.yaml:15: identities.kid.home_plex.pin_file: cannot read PIN file '" +
              missing.string() + "': No such file or directory");
    const auto bad = dir / "bad.pin";
    std::ofstream(bad) << "9x876\n";
    const std::string message =
        pin_error("    home_plex:\n      user: \"1001\"\n      pin_file: " + bad.string() + "\n");
    CHECK(message == "config.yaml:15: identities.kid.home_plex.pin_file: the first line of '" +
                         bad.string() + "' must be the 4 digits of the Plex home user's PIN");
    CHECK(message.find("9x876") == std::string::npos);
  }
  std::filesystem::remove_all(dir);
}
