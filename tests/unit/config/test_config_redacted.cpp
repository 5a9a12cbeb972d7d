// SPDX-License-Identifier: MIT
// ws-state report's view of the config: the structure and the non-secret values, every secret
// (and every value of a key it does not know) replaced by "<redacted>".
#include <watchstate/config/config.hpp>
#include <watchstate/config/redacted.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/redact.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

using ws::config::redact_config;
using ws::config::RedactedNode;
using ws::config::to_yaml;

namespace {

const RedactedNode* find(const RedactedNode& node, std::initializer_list<std::string_view> path) {
  const RedactedNode* at = &node;
  for (auto key : path) {
    const RedactedNode* next = nullptr;
    for (const auto& entry : at->entries) {
      if (entry.key == key) {
        next = &entry.value;
      }
    }
    if (next == nullptr) {
      return nullptr;
    }
    at = next;
  }
  return at;
}

std::string text_at(const RedactedNode& node, std::initializer_list<std::string_view> path) {
  const auto* found = find(node, path);
  REQUIRE(found != nullptr);
  REQUIRE(found->kind == RedactedNode::Kind::scalar);
  return found->text;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ws-redact-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

} // namespace

TEST_CASE("config redaction keeps the structure and hides every secret", "[config][redact]") {
  ws::forget_secrets(); // what other tests registered must not change the values shown here
  TempDir dir;
  const auto token_file = dir.path / "jf.token";
  const auto pin_file = dir.path / "alice.pin";
  std::ofstream(token_file) << "tokenFileContentS3cretQ1\n";
  std::ofstream(pin_file) << "4821\n";
  ::setenv("WS_TEST_REDACT_EMBY", "envSecretValueZ9x8c7", 1);
  ::setenv("WS_TEST_REDACT_USER", "envUserValueW5v4", 1);

  const std::string yaml =
      "# a comment with oldCommentSecretT0ken\n"
      "state_dir: /var/lib/watchstate\n"
      "http: {timeout: 30, retries: 2}\n"
      "webhook:\n"
      "  listen: 127.0.0.1:8686\n"
      "  api_key: webhookApiS3cretK3y\n"
      "backends:\n"
      "  home_plex:\n"
      "    type: plex\n"
      "    url: http://plexuser:urlPassw0rdX@192.168.1.10:32400/?X-Plex-Token=urlTok3nQ\n"
      "    token: &owner plexOwnerS3cretTok\n"
      "    uuid: abc123machine\n"
      "    options:\n"
      "      ADMIN_TOKEN: plexAdminS3cretTok\n"
      "      PLEX_USER_PIN: '7319'\n"
      "      verify_tls: false\n"
      "      ignore_libraries: [Music, '4']\n"
      "      future_secret_option: futureS3cretValue\n"
      "      client: {timeout: 12.5, http_version: 2}\n"
      "  living_room_jf:\n"
      "    type: jellyfin\n"
      "    url: http://jf.lan:8096\n"
      "    token_file: " +
      token_file.string() +
      "\n"
      "    user: 5e1f0c1d2b3a4f4e6d8c7b6a5f4e3d2c\n"
      "    import: {enabled: false, lastSync: 1700000000}\n"
      "  emby:\n"
      "    type: emby\n"
      "    url: http://emby.lan:8096\n"
      "    token: ${WS_TEST_REDACT_EMBY}\n"
      "    user: ${WS_TEST_REDACT_USER}\n"
      "    webhook: {token: legacyWebhookS3cret}\n"
      "identities:\n"
      "  alice:\n"
      "    home_plex: {user: '1001', pin: '2468'}\n"
      "    living_room_jf: {user: abcd, token: aliceJfS3cretTok}\n"
      "  bob:\n"
      "    home_plex: {user: '1002', pin_file: " +
      pin_file.string() +
      "}\n"
      "    emby: {user: *owner}\n"
      "matching:\n"
      "  ignore: [tmdb://12345, {id: imdb://tt0111161, backend: home_plex, reason: wrong film}]\n"
      "unknown_future_key: {nested: futureNestedS3cret, list: [futureListS3cret]}\n"
      "brandNewSecretishKeyAbc123XYZ: plain\n";

  const RedactedNode tree = redact_config(yaml);
  const std::string out = to_yaml(tree);
  INFO(out);

  // Every secret kind is gone, wherever it was.
  for (const char* secret :
       {"oldCommentSecretT0ken", "webhookApiS3cretK3y", "urlPassw0rdX", "urlTok3nQ",
        "plexOwnerS3cretTok", "plexAdminS3cretTok", "7319", "futureS3cretValue",
        "tokenFileContentS3cretQ1", "envSecretValueZ9x8c7", "envUserValueW5v4",
        "legacyWebhookS3cret", "2468", "4821", "aliceJfS3cretTok", "futureNestedS3cret",
        "futureListS3cret", "brandNewSecretishKeyAbc123XYZ", "WS_TEST_REDACT_EMBY"}) {
    CHECK(out.find(secret) == std::string::npos);
  }

  // token, token (${ENV}), api_key, ADMIN_TOKEN, PLEX_USER_PIN, pin, identity token.
  CHECK(text_at(tree, {"backends", "home_plex", "token"}) == "<redacted>");
  CHECK(text_at(tree, {"backends", "emby", "token"}) == "<redacted>");
  CHECK(text_at(tree, {"webhook", "api_key"}) == "<redacted>");
  CHECK(text_at(tree, {"backends", "home_plex", "options", "ADMIN_TOKEN"}) == "<redacted>");
  CHECK(text_at(tree, {"backends", "home_plex", "options", "PLEX_USER_PIN"}) == "<redacted>");
  CHECK(text_at(tree, {"identities", "alice", "home_plex", "pin"}) == "<redacted>");
  CHECK(text_at(tree, {"identities", "alice", "living_room_jf", "token"}) == "<redacted>");
  // A key this version does not know: its value is hidden, also inside maps and lists.
  CHECK(text_at(tree, {"backends", "home_plex", "options", "future_secret_option"}) ==
        "<redacted>");
  CHECK(text_at(tree, {"unknown_future_key", "nested"}) == "<redacted>");
  const auto* list = find(tree, {"unknown_future_key", "list"});
  REQUIRE(list != nullptr);
  REQUIRE(list->items.size() == 1);
  CHECK(list->items[0].text == "<redacted>");
  CHECK(text_at(tree, {"backends", "emby", "webhook", "token"}) == "<redacted>");
  // A key that does not look like a config key is hidden too (a token pasted as a key).
  CHECK(find(tree, {"<redacted key 1>"}) != nullptr);
  // An alias of a secret placed where values are shown stays hidden.
  CHECK(text_at(tree, {"identities", "bob", "emby", "user"}) == "<redacted>");

  // token_file and pin_file are paths (never read); ${VAR} under a shown key stays a name.
  CHECK(text_at(tree, {"backends", "living_room_jf", "token_file"}) == token_file.string());
  CHECK(text_at(tree, {"identities", "bob", "home_plex", "pin_file"}) == pin_file.string());
  CHECK(text_at(tree, {"backends", "emby", "user"}) == "${WS_TEST_REDACT_USER}");

  // The non-secret values as written.
  CHECK(text_at(tree, {"state_dir"}) == "/var/lib/watchstate");
  CHECK(text_at(tree, {"http", "timeout"}) == "30");
  CHECK(text_at(tree, {"webhook", "listen"}) == "127.0.0.1:8686");
  CHECK(text_at(tree, {"backends", "home_plex", "type"}) == "plex");
  CHECK(text_at(tree, {"backends", "home_plex", "uuid"}) == "abc123machine");
  CHECK(text_at(tree, {"backends", "home_plex", "url"}) ==
        "http://<redacted>@192.168.1.10:32400/?X-Plex-Token=<redacted>");
  CHECK(text_at(tree, {"backends", "home_plex", "options", "verify_tls"}) == "false");
  CHECK(text_at(tree, {"backends", "home_plex", "options", "client", "timeout"}) == "12.5");
  CHECK(text_at(tree, {"backends", "living_room_jf", "user"}) ==
        "5e1f0c1d2b3a4f4e6d8c7b6a5f4e3d2c");
  CHECK(text_at(tree, {"backends", "living_room_jf", "import", "enabled"}) == "false");
  CHECK(text_at(tree, {"identities", "alice", "home_plex", "user"}) == "1001");
  const auto* libraries = find(tree, {"backends", "home_plex", "options", "ignore_libraries"});
  REQUIRE(libraries != nullptr);
  REQUIRE(libraries->items.size() == 2);
  CHECK(libraries->items[0].text == "Music");
  const auto* ignore = find(tree, {"matching", "ignore"});
  REQUIRE(ignore != nullptr);
  REQUIRE(ignore->items.size() == 2);
  CHECK(ignore->items[0].text == "tmdb://12345");
  CHECK(ignore->items[1].entries.at(2).value.text == "wrong film");

  // The YAML the report prints reads back as the same structure.
  const RedactedNode again = redact_config(out);
  CHECK(text_at(again, {"backends", "home_plex", "type"}) == "plex");
  CHECK(out.find("home_plex:") != std::string::npos);
  CHECK(out.find("<redacted>") != std::string::npos);

  ::unsetenv("WS_TEST_REDACT_EMBY");
  ::unsetenv("WS_TEST_REDACT_USER");
}

TEST_CASE("config redaction hides registered secrets under shown keys", "[config][redact]") {
  // A token the loader registered that a user also typed where values are shown.
  ws::register_secret("registeredS3cretUserTok");
  const auto tree = redact_config("backends:\n  p:\n    type: plex\n    user: "
                                  "registeredS3cretUserTok\n");
  CHECK(to_yaml(tree).find("registeredS3cretUserTok") == std::string::npos);
  ws::forget_secrets();
}

TEST_CASE("config redaction of text that is not YAML quotes none of it", "[config][redact]") {
  try {
    (void)redact_config("backends: [unclosedS3cretTok\n");
    FAIL("no error");
  } catch (const ws::Error& e) {
    CHECK(e.code() == ws::Errc::config);
    CHECK(std::string(e.what()).find("unclosedS3cretTok") == std::string::npos);
  }
}

TEST_CASE("a config the loader accepts is redacted whole", "[config][redact]") {
  // Every key of a complete config: the loader's keys are all placed (shown or redacted).
  const std::string yaml = "backends:\n"
                           "  jf:\n"
                           "    type: jellyfin\n"
                           "    url: http://jf.lan:8096\n"
                           "    token: jfLoaderS3cretTok\n"
                           "    user: u1\n";
  const auto config = ws::config::parse_config(yaml, "config.yaml");
  CHECK(config.backends.size() == 1);
  const auto out = to_yaml(redact_config(yaml));
  CHECK(out.find("jfLoaderS3cretTok") == std::string::npos);
  CHECK(out.find("http://jf.lan:8096") != std::string::npos);
  ws::forget_secrets();
}
