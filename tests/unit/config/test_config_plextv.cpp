// SPDX-License-Identifier: MIT
#include <watchstate/config/config.hpp>
#include <watchstate/core/error.hpp>

#include <catch2/catch.hpp>

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
