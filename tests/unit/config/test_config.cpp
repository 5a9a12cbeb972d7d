// SPDX-License-Identifier: MIT
#include <watchstate/config/config.hpp>
#include <watchstate/core/error.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using ws::config::BackendConfig;
using ws::config::Config;
using ws::config::parse_config;

namespace {

// Sets (or unsets) an environment variable for one scope and restores the old value.
class EnvGuard {
public:
  EnvGuard(std::string name, const char* value) : m_name(std::move(name)) {
    if (const char* old = std::getenv(m_name.c_str()); old != nullptr) {
      m_old = old;
    }
    if (value != nullptr) {
      ::setenv(m_name.c_str(), value, 1);
    } else {
      ::unsetenv(m_name.c_str());
    }
  }
  ~EnvGuard() {
    if (m_old) {
      ::setenv(m_name.c_str(), m_old->c_str(), 1);
    } else {
      ::unsetenv(m_name.c_str());
    }
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

private:
  std::string m_name;
  std::optional<std::string> m_old;
};

// A fresh directory under the system temp dir, removed at scope exit.
class TempDir {
public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "ws-config-test-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    m_path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] fs::path write(const std::string& name, const std::string& content) const {
    const fs::path file = m_path / name;
    std::ofstream out(file, std::ios::binary);
    out << content;
    return file;
  }
  [[nodiscard]] const fs::path& path() const { return m_path; }

private:
  fs::path m_path;
};

// The message of the ws::Error that parsing `text` throws ("" when it does not throw).
std::string config_error(const std::string& text) {
  try {
    (void)parse_config(text, "config.yaml");
  } catch (const ws::Error& e) {
    CHECK(e.code() == ws::Errc::config);
    return e.what();
  }
  return {};
}

const char* const k_plex_token = "tok-plex-Zq81vX3mNw";
const char* const k_minimal = "state_dir: /tmp/ws\n"
                              "backends:\n"
                              "  home_plex:\n"
                              "    type: plex\n"
                              "    url: http://127.0.0.1:32400\n"
                              "    token: tok-plex-Zq81vX3mNw\n";

} // namespace

TEST_CASE("config::parse_config full config", "[config]") {
  TempDir dir;
  const fs::path token_file = dir.write("jf_token", "  tok-jf-file-8Hq2LmPz\n\n");
  EnvGuard env("WS_TEST_EMBY_TOKEN", "tok-emby-env-4Kd9RtY");
  const std::string text = "state_dir: /var/lib/watchstate\n"
                           "http:\n"
                           "  concurrency: 8\n"
                           "  timeout: 120\n"
                           "  retries: 5\n"
                           "  page_size: 250\n"
                           "  backoff_ms: 50\n"
                           "progress:\n"
                           "  sync: false\n"
                           "  minimum: 90\n"
                           "backup:\n"
                           "  keep_days: 30\n"
                           "webhook:\n"
                           "  listen: 0.0.0.0:9000\n"
                           "  api_key: key-webhook-77aa1B\n"
                           "backends:\n"
                           "  home_plex:\n"
                           "    type: Plex\n"
                           "    url: http://192.168.1.10:32400//\n"
                           "    token: tok-plex-Zq81vX3mNw\n"
                           "    user: \"1\"\n"
                           "    uuid: abc123machine\n"
                           "    import: { enabled: true }\n"
                           "    export: { enabled: false }\n"
                           "    options:\n"
                           "      ignore_libraries: [\"4\", Home Videos, 7]\n"
                           "      page_size: 500\n"
                           "      concurrency: 2\n"
                           "      timeout: 600\n"
                           "      verify_tls: false\n"
                           "      disable_mark_unplayed: true\n"
                           "  living_room_jf:\n"
                           "    type: jellyfin\n"
                           "    url: https://jf.example.lan/\n"
                           "    token_file: " +
                           token_file.string() +
                           "\n"
                           "    user: 5e1f00aa\n"
                           "  den_emby:\n"
                           "    type: EMBY\n"
                           "    url: http://emby.lan:8096\n"
                           "    token: ${WS_TEST_EMBY_TOKEN}\n"
                           "    user: e77\n"
                           "    import:\n"
                           "      enabled: false\n"
                           "identities:\n"
                           "  alice:\n"
                           "    home_plex: { user: \"12345\", token: tok-alice-plex-9Wm3 }\n"
                           "    living_room_jf: { user: 9a8b }\n";
  const Config config = parse_config(text, "config.yaml");

  CHECK(config.file == fs::path("config.yaml"));
  CHECK(config.state_dir == fs::path("/var/lib/watchstate"));
  CHECK(config.http.concurrency == 8);
  CHECK(config.http.timeout == 120);
  CHECK(config.http.retries == 5);
  CHECK(config.http.page_size == 250);
  CHECK(config.http.backoff_ms == 50);
  CHECK_FALSE(config.progress.sync);
  CHECK(config.progress.minimum == 90);
  CHECK(config.backup.keep_days == 30);
  CHECK(config.webhook.listen == "0.0.0.0:9000");
  CHECK(config.webhook.api_key == "key-webhook-77aa1B");

  REQUIRE(config.backends.size() == 3);
  const BackendConfig& plex = config.backends[0];
  CHECK(plex.name == "home_plex");
  CHECK(plex.line == 17);
  CHECK(plex.type == ws::model::BackendType::plex);
  CHECK(plex.url == "http://192.168.1.10:32400");
  CHECK(plex.token == k_plex_token);
  CHECK(plex.user == "1");
  CHECK(plex.uuid == "abc123machine");
  CHECK(plex.import_enabled);
  CHECK_FALSE(plex.export_enabled);
  CHECK(plex.ignore_libraries == std::vector<std::string>{"4", "Home Videos", "7"});
  CHECK(plex.page_size == 500);
  CHECK(plex.concurrency == 2);
  CHECK(plex.timeout == 600);
  CHECK_FALSE(plex.verify_tls);
  CHECK(plex.disable_mark_unplayed);

  const BackendConfig& jf = config.backends[1];
  CHECK(jf.name == "living_room_jf");
  CHECK(jf.type == ws::model::BackendType::jellyfin);
  CHECK(jf.url == "https://jf.example.lan");
  CHECK(jf.token == "tok-jf-file-8Hq2LmPz");
  CHECK(jf.user == "5e1f00aa");
  CHECK(jf.import_enabled);
  CHECK(jf.export_enabled);
  CHECK(jf.ignore_libraries.empty());
  CHECK_FALSE(jf.page_size.has_value());
  CHECK_FALSE(jf.concurrency.has_value());
  CHECK_FALSE(jf.timeout.has_value());
  CHECK(jf.verify_tls);
  CHECK_FALSE(jf.disable_mark_unplayed);

  const BackendConfig& emby = config.backends[2];
  CHECK(emby.type == ws::model::BackendType::emby);
  CHECK(emby.token == "tok-emby-env-4Kd9RtY");
  CHECK_FALSE(emby.import_enabled);

  REQUIRE(config.identities.size() == 1);
  CHECK(config.identities[0].name == "alice");
  REQUIRE(config.identities[0].backends.size() == 2);
  CHECK(config.identities[0].backends[0].backend == "home_plex");
  CHECK(config.identities[0].backends[0].user == "12345");
  CHECK(config.identities[0].backends[0].token == "tok-alice-plex-9Wm3");
  CHECK(config.identities[0].backends[1].backend == "living_room_jf");
  CHECK(config.identities[0].backends[1].token.empty());
  CHECK_FALSE(config.readable_by_others_with_token); // parse_config never stats a file
}

TEST_CASE("config::parse_config defaults", "[config]") {
  EnvGuard xdg("XDG_STATE_HOME", "/srv/state");
  const Config config = parse_config("backends:\n"
                                     "  p:\n"
                                     "    type: plex\n"
                                     "    url: https://plex.lan\n"
                                     "    token: tok-plex-Zq81vX3mNw\n",
                                     "config.yaml");
  CHECK(config.state_dir == fs::path("/srv/state/watchstate"));
  CHECK(config.http.concurrency == 4);
  CHECK(config.http.timeout == 300);
  CHECK(config.http.retries == 3);
  CHECK(config.http.page_size == 1000);
  CHECK(config.http.backoff_ms == 1000);
  CHECK(config.progress.sync);
  CHECK(config.progress.minimum == 60);
  CHECK(config.backup.keep_days == 90);
  CHECK(config.webhook.listen == "127.0.0.1:8686");
  CHECK(config.webhook.api_key.empty());
  REQUIRE(config.backends.size() == 1);
  CHECK(config.backends[0].user.empty()); // optional for Plex
  CHECK(config.identities.empty());
}

TEST_CASE("config::parse_config errors name file, line and key", "[config]") {
  const std::string head = "state_dir: /tmp/ws\n"               // 1
                           "backends:\n"                        // 2
                           "  home_plex:\n"                     // 3
                           "    type: plex\n"                   // 4
                           "    url: http://127.0.0.1:32400\n"; // 5

  SECTION("bad type") {
    CHECK(config_error("state_dir: /tmp/ws\n"
                       "backends:\n"
                       "  home_plex:\n"
                       "    type: plax\n"
                       "    url: http://x\n"
                       "    token: tok-plex-Zq81vX3mNw\n") ==
          "config.yaml:4: backends.home_plex.type: must be plex, jellyfin or emby, not 'plax'");
  }
  SECTION("unknown top-level key") {
    CHECK(config_error(head + "    token: tok-plex-Zq81vX3mNw\nbakcup:\n  keep_days: 3\n")
              .starts_with("config.yaml:7: bakcup: unknown key; expected one of state_dir, http"));
  }
  SECTION("unknown backend key") {
    const auto message = config_error(head + "    token: tok-plex-Zq81vX3mNw\n    tokn: abc\n");
    CHECK(message.starts_with("config.yaml:7: backends.home_plex.tokn: unknown key"));
  }
  SECTION("unknown option key") {
    CHECK(config_error(head + "    token: tok-plex-Zq81vX3mNw\n    options:\n      pagesize: 5\n")
              .starts_with("config.yaml:8: backends.home_plex.options.pagesize: unknown key"));
  }
  SECTION("bad backend name") {
    CHECK(config_error("backends:\n  Home-Plex:\n    type: plex\n")
              .starts_with("config.yaml:2: backends.Home-Plex: a backend name may hold only"));
  }
  SECTION("url missing, url not http") {
    CHECK(config_error("backends:\n  p:\n    type: plex\n    token: tok-plex-Zq81vX3mNw\n") ==
          "config.yaml:2: backends.p.url: is required (e.g. http://192.168.1.10:32400)");
    CHECK(config_error("backends:\n  p:\n    type: plex\n    url: ftp://x\n") ==
          "config.yaml:4: backends.p.url: must be an http:// or https:// URL, not 'ftp://x'");
  }
  SECTION("token and token_file together, neither") {
    CHECK(config_error(head + "    token: tok-plex-Zq81vX3mNw\n    token_file: /x\n") ==
          "config.yaml:7: backends.home_plex: set only one of token and token_file");
    CHECK(config_error(head) ==
          "config.yaml:3: backends.home_plex.token: is required (or token_file)");
  }
  SECTION("user required for jellyfin") {
    CHECK(config_error("backends:\n  jf:\n    type: jellyfin\n    url: http://jf\n"
                       "    token: tok-plex-Zq81vX3mNw\n")
              .starts_with("config.yaml:2: backends.jf.user: is required for jellyfin backends"));
  }
  SECTION("numbers and booleans out of range") {
    CHECK(config_error("http:\n  concurrency: 0\n" + head) ==
          "config.yaml:2: http.concurrency: must be an integer from 1 to 64, not '0'");
    CHECK(config_error("http:\n  retries: 11\n") ==
          "config.yaml:2: http.retries: must be an integer from 0 to 10, not '11'");
    CHECK(config_error("http:\n\n  timeout: 5s\n") ==
          "config.yaml:3: http.timeout: must be an integer from 1 to 86400, not '5s'");
    CHECK(config_error("progress:\n  sync: maybe\n") ==
          "config.yaml:2: progress.sync: must be true or false, not 'maybe'");
    CHECK(config_error("backup:\n  keep_days: 0\n") ==
          "config.yaml:2: backup.keep_days: must be an integer from 1 to 365000, not '0'");
    CHECK(config_error(head +
                       "    token: tok-plex-Zq81vX3mNw\n    options:\n      concurrency: 65\n") ==
          "config.yaml:8: backends.home_plex.options.concurrency: must be an integer from 1 to "
          "64, not '65'");
    CHECK(config_error(head + "    token: tok-plex-Zq81vX3mNw\n    export: { enabled: nope }\n") ==
          "config.yaml:7: backends.home_plex.export.enabled: must be true or false, not 'nope'");
  }
  SECTION("webhook.listen") {
    CHECK(config_error("webhook:\n  listen: localhost\n")
              .starts_with("config.yaml:2: webhook.listen: must be host:port"));
    CHECK(config_error("webhook:\n  listen: 127.0.0.1:99999\n")
              .starts_with("config.yaml:2: webhook.listen: must be host:port"));
  }
  SECTION("no backends") {
    CHECK(config_error("state_dir: /tmp\n") ==
          "config.yaml:1: backends: at least one backend is required");
    CHECK(config_error("state_dir: /tmp\nbackends: {}\n") ==
          "config.yaml:2: backends: at least one backend is required");
  }
  SECTION("YAML syntax error and duplicate keys") {
    CHECK(config_error("http:\n  timeout: [1, 2\nbackends: {}\n") ==
          "config.yaml:3: end of sequence flow not found");
    CHECK(config_error("http:\n  timeout: 5\n  timeout: 6\n") ==
          "config.yaml:3: http.timeout: duplicate key (first on line 2)");
    CHECK(config_error("- a\n- b\n").starts_with("config.yaml:1: the file must be a YAML map"));
  }
  SECTION("identities") {
    const std::string base = head + "    token: tok-plex-Zq81vX3mNw\nidentities:\n";
    CHECK(config_error(base + "  main:\n    home_plex: { user: \"2\" }\n")
              .starts_with("config.yaml:8: identities.main: an identity name may hold only"));
    CHECK(config_error(base + "  bob:\n    home_plx: { user: \"2\" }\n") ==
          "config.yaml:9: identities.bob.home_plx: no backend named 'home_plx'; configured: "
          "home_plex");
    CHECK(config_error(base + "  bob:\n    home_plex: { user: \"2\", password: 1 }\n")
              .starts_with("config.yaml:9: identities.bob.home_plex.password: unknown key"));
    CHECK(config_error(base + "  bob:\n    home_plex: {}\n") ==
          "config.yaml:9: identities.bob.home_plex: set user, token or both for this person");
  }
}

TEST_CASE("config::parse_config expands ${VAR}", "[config]") {
  EnvGuard host("WS_TEST_HOST", "plex.example.lan");
  EnvGuard unset("WS_TEST_UNSET", nullptr);
  EnvGuard timeout("WS_TEST_TIMEOUT", "42");

  const Config config = parse_config("backends:\n"
                                     "  p:\n"
                                     "    type: plex\n"
                                     "    url: https://${WS_TEST_HOST}:32400\n"
                                     "    token: tok-plex-Zq81vX3mNw\n"
                                     "    uuid: cost$$5 and $x\n"
                                     "    options:\n"
                                     "      timeout: ${WS_TEST_TIMEOUT}\n",
                                     "config.yaml");
  REQUIRE(config.backends.size() == 1);
  CHECK(config.backends[0].url == "https://plex.example.lan:32400");
  CHECK(config.backends[0].uuid == "cost$5 and $x");
  CHECK(config.backends[0].timeout == 42);

  CHECK(config_error("backends:\n  p:\n    type: plex\n    url: http://x\n"
                     "    token: \"${WS_TEST_UNSET}\"\n") ==
        "config.yaml:5: backends.p.token: environment variable WS_TEST_UNSET is not set");
  CHECK(config_error("state_dir: ${WS_TEST_UNSET}/x\n") ==
        "config.yaml:1: state_dir: environment variable WS_TEST_UNSET is not set");
  CHECK(config_error("state_dir: ${oops\n").starts_with("config.yaml:1: state_dir: malformed ${"));
}

TEST_CASE("config::parse_config token_file", "[config]") {
  TempDir dir;
  const fs::path file = dir.write("token", "\ttok-file-Pz0q7Yx \n");
  const std::string prefix = "backends:\n  p:\n    type: plex\n    url: http://x\n";
  const Config config = parse_config(prefix + "    token_file: " + file.string() + "\n", "c.yaml");
  REQUIRE(config.backends.size() == 1);
  CHECK(config.backends[0].token == "tok-file-Pz0q7Yx");

  // Relative to the config file's directory.
  const Config relative = parse_config(prefix + "    token_file: token\n", dir.path() / "c.yaml");
  CHECK(relative.backends[0].token == "tok-file-Pz0q7Yx");

  const fs::path missing = dir.path() / "nope";
  CHECK(config_error(prefix + "    token_file: " + missing.string() + "\n") ==
        "config.yaml:5: backends.p.token_file: cannot read token file '" + missing.string() +
            "': No such file or directory");
  const fs::path empty = dir.write("empty", " \n");
  CHECK(config_error(prefix + "    token_file: " + empty.string() + "\n") ==
        "config.yaml:5: backends.p.token_file: token file '" + empty.string() + "' is empty");
}

TEST_CASE("config::parse_config malformed YAML fails, never hangs", "[config]") {
  // yaml-cpp 0.7's LoadAll loops forever on these (found by the config fuzz harness).
  for (const char* text : {",", ",\n", ",b\x14", "backends:\n,\n"}) {
    CAPTURE(text);
    CHECK_FALSE(config_error(text).empty());
  }
  CHECK(config_error(std::string(k_minimal) + "---\nstate_dir: /x\n") ==
        "config.yaml:7: the file holds more than one YAML document");
}

TEST_CASE("config::parse_config token_file that is not a small plain file", "[config]") {
  TempDir dir;
  const std::string prefix = "backends:\n  p:\n    type: plex\n    url: http://x\n";
  // Endless (/dev/zero) or blocking (a FIFO without a writer) sources fail at once.
  CHECK(config_error(prefix + "    token_file: /dev/zero\n") ==
        "config.yaml:5: backends.p.token_file: cannot read token file '/dev/zero': not a regular "
        "file");
  const fs::path fifo = dir.path() / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(config_error(prefix + "    token_file: " + fifo.string() + "\n") ==
        "config.yaml:5: backends.p.token_file: cannot read token file '" + fifo.string() +
            "': not a regular file");
  const fs::path huge = dir.write("huge", std::string(70000, 'a'));
  CHECK(config_error(prefix + "    token_file: " + huge.string() + "\n") ==
        "config.yaml:5: backends.p.token_file: cannot read token file '" + huge.string() +
            "': larger than 64 KiB");
}

TEST_CASE("config::parse_config accepts a WatchState servers.yaml entry", "[config]") {
  const Config config = parse_config("backends:\n"
                                     "  my_plex:\n"
                                     "    type: plex\n"
                                     "    url: 'http://plex.lan:32400'\n"
                                     "    token: 'tok-ws-plex-Xy7Rq2'\n"
                                     "    user: 11111111\n"
                                     "    uuid: 'machineIdentifier'\n"
                                     "    import:\n"
                                     "      enabled: true\n"
                                     "      lastSync: 1724173445\n"
                                     "      playlist: { lastSync: ~ }\n"
                                     "    export:\n"
                                     "      enabled: false\n"
                                     "      lastSync: ~\n"
                                     "    options:\n"
                                     "      ignore: '22,1, 2,3'\n"
                                     "      LIBRARY_SEGMENT: 300\n"
                                     "      MAX_EPISODE_RANGE: 5\n"
                                     "      DISABLE_MARK_UNPLAYED: true\n"
                                     "      DUMP_PAYLOAD: false\n"
                                     "      DEBUG_TRACE: false\n"
                                     "      DRY_RUN: false\n"
                                     "      client:\n"
                                     "        timeout: 299.5\n"
                                     "        http_version: 1.0\n"
                                     "        verify_host: false\n"
                                     "      is_limited_token: false\n"
                                     "      ADMIN_TOKEN: 'tok-ws-admin-Lm4Kp'\n"
                                     "      PLEX_USER_PIN: 1234\n"
                                     "      plex_external_user: false\n"
                                     "      plex_guest_user: false\n"
                                     "      plex_user_uuid: 'abc'\n"
                                     "      plex_user_name: 'someone'\n"
                                     "      ALT_NAME: 'my_plex'\n"
                                     "      ALT_ID: '11111111'\n"
                                     "      EXPORT_TIME_DIFF: 10\n",
                                     "servers.yaml");
  REQUIRE(config.backends.size() == 1);
  const BackendConfig& b = config.backends[0];
  CHECK(b.user == "11111111");
  CHECK(b.uuid == "machineIdentifier");
  CHECK(b.import_enabled);
  CHECK_FALSE(b.export_enabled);
  CHECK(b.ignore_libraries == std::vector<std::string>{"22", "1", "2", "3"});
  CHECK(b.page_size == 300);
  CHECK(b.disable_mark_unplayed);
  CHECK(b.timeout == 300);
  CHECK_FALSE(b.verify_tls);

  // Both spellings of one setting must agree.
  CHECK(config_error(
            "backends:\n  p:\n    type: plex\n    url: http://x\n    token: tok-plex-Zq81vX3mNw\n"
            "    options:\n      page_size: 500\n      LIBRARY_SEGMENT: 1000\n") ==
        "config.yaml:8: backends.p.options.LIBRARY_SEGMENT: contradicts "
        "backends.p.options.page_size; set only one of them");
}

TEST_CASE("config::parse_config never puts a token in a message", "[config]") {
  const std::string token = "tok-secret-Vb62HsQa";
  // A bad value next to a token.
  const auto type_error = config_error("backends:\n  p:\n    type: plax\n    url: http://x\n"
                                       "    token: " +
                                       token + "\n");
  CHECK(type_error.starts_with("config.yaml:3: backends.p.type: must be plex"));
  CHECK(type_error.find(token) == std::string::npos);

  // A token that fails validation is named by key only.
  const auto spaced = config_error("backends:\n  p:\n    type: plex\n    url: http://x\n"
                                   "    token: \"tok-sp ace-Qw98Ek\"\n");
  CHECK(spaced == "config.yaml:5: backends.p.token: must not contain spaces or control characters");

  // A token pasted into the wrong field does not leak through that field's message either.
  const auto misplaced = config_error("backends:\n  p:\n    type: tok-misplaced-Rt55Gh\n"
                                      "    url: http://x\n    token: tok-misplaced-Rt55Gh\n");
  CHECK(misplaced.find("tok-misplaced-Rt55Gh") == std::string::npos);
  CHECK(misplaced.starts_with("config.yaml:3: backends.p.type:"));

  // Identity tokens too.
  const auto identity_error = config_error(std::string(k_minimal) +
                                           "identities:\n  bob:\n"
                                           "    home_plex: { user: \"2\", token: tok-bob-Wq12Zx }\n"
                                           "    nowhere: { user: tok-bob-Wq12Zx }\n");
  CHECK(identity_error.starts_with("config.yaml:10: identities.bob.nowhere: no backend named"));
  CHECK(identity_error.find("tok-bob-Wq12Zx") == std::string::npos);
}

TEST_CASE("config::backends_for_identity", "[config]") {
  const Config config = parse_config(
      std::string(k_minimal) + "  living_room_jf:\n"
                               "    type: jellyfin\n"
                               "    url: http://jf\n"
                               "    token: tok-jf-admin-Ux31\n"
                               "    user: main-jf-user\n"
                               "  den_emby:\n"
                               "    type: emby\n"
                               "    url: http://emby\n"
                               "    token: tok-emby-admin-Ux32\n"
                               "    user: main-emby-user\n"
                               "identities:\n"
                               "  alice:\n"
                               "    living_room_jf: { user: alice-jf }\n"
                               "    home_plex: { user: \"12345\", token: tok-alice-Ux33 }\n",
      "config.yaml");
  CHECK(ws::config::backends_for_identity(config, "main").size() == 3);

  const auto alice = ws::config::backends_for_identity(config, "alice");
  REQUIRE(alice.size() == 2);
  // In the order of the backends section, not of the identity's entry.
  CHECK(alice[0].name == "home_plex");
  CHECK(alice[0].user == "12345");
  CHECK(alice[0].token == "tok-alice-Ux33");
  CHECK(alice[0].url == "http://127.0.0.1:32400");
  CHECK(alice[1].name == "living_room_jf");
  CHECK(alice[1].user == "alice-jf");
  CHECK(alice[1].token == "tok-jf-admin-Ux31"); // falls back to the main backend's token

  try {
    (void)ws::config::backends_for_identity(config, "bob");
    FAIL("no exception for an unknown identity");
  } catch (const ws::Error& e) {
    CHECK(e.code() == ws::Errc::usage);
    CHECK(std::string(e.what()) == "unknown identity 'bob'; configured: main, alice");
  }
}

TEST_CASE("config::load_config", "[config]") {
  TempDir dir;
  EnvGuard env("WS_TEST_PLEX_TOKEN", "tok-env-plex-Gh71Lp");

  SECTION("missing file") {
    const fs::path file = dir.path() / "missing.yaml";
    try {
      (void)ws::config::load_config(file);
      FAIL("no exception for a missing file");
    } catch (const ws::Error& e) {
      CHECK(e.code() == ws::Errc::config);
      const std::string message = e.what();
      CHECK(message.starts_with(file.string() +
                                ": cannot read config file: No such file or directory; "));
      // What to do next: the setup tool, the example and the reference.
      CHECK(message.find("ws-config add") != std::string::npos);
      CHECK(message.find("config.example.yaml") != std::string::npos);
      CHECK(message.find("watchstate.yaml(5)") != std::string::npos);
    }
  }
  SECTION("readable_by_others_with_token") {
    const fs::path inline_file = dir.write("inline.yaml", k_minimal);
    ::chmod(inline_file.c_str(), 0644);
    const Config open_config = ws::config::load_config(inline_file);
    CHECK(open_config.file == inline_file);
    CHECK(open_config.readable_by_others_with_token);

    ::chmod(inline_file.c_str(), 0640);
    CHECK(ws::config::load_config(inline_file).readable_by_others_with_token);

    ::chmod(inline_file.c_str(), 0600);
    CHECK_FALSE(ws::config::load_config(inline_file).readable_by_others_with_token);

    // A token from the environment is not in the file.
    const fs::path env_file = dir.write("env.yaml", "backends:\n  p:\n    type: plex\n"
                                                    "    url: http://x\n"
                                                    "    token: ${WS_TEST_PLEX_TOKEN}\n");
    ::chmod(env_file.c_str(), 0644);
    const Config env_config = ws::config::load_config(env_file);
    CHECK(env_config.backends[0].token == "tok-env-plex-Gh71Lp");
    CHECK_FALSE(env_config.readable_by_others_with_token);
  }
  SECTION("error lines come from the file") {
    const fs::path file = dir.write("bad.yaml", "\n\nhttp:\n  page_size: 0\n");
    try {
      (void)ws::config::load_config(file);
      FAIL("no exception for a bad file");
    } catch (const ws::Error& e) {
      CHECK(std::string(e.what()) ==
            file.string() + ":4: http.page_size: must be an integer from 1 to 10000, not '0'");
    }
  }
}

TEST_CASE("config::resolve_config_path and default_state_dir", "[config]") {
  EnvGuard home("HOME", "/home/tester-ws");
  EnvGuard xdg_config("XDG_CONFIG_HOME", nullptr);
  EnvGuard xdg_state("XDG_STATE_HOME", nullptr);

  CHECK(ws::config::resolve_config_path(fs::path("/x/y.yaml")) == fs::path("/x/y.yaml"));
  {
    EnvGuard ws_config("WS_CONFIG", "/etc/custom.yaml");
    CHECK(ws::config::resolve_config_path(std::nullopt) == fs::path("/etc/custom.yaml"));
    CHECK(ws::config::resolve_config_path(fs::path("cli.yaml")) == fs::path("cli.yaml"));
  }
  EnvGuard ws_config("WS_CONFIG", nullptr);
  TempDir dir;
  {
    EnvGuard xdg("XDG_CONFIG_HOME", dir.path().c_str());
    fs::create_directories(dir.path() / "watchstate");
    const fs::path user_file = dir.write("watchstate/config.yaml", k_minimal);
    CHECK(ws::config::resolve_config_path(std::nullopt) == user_file);
  }
  if (!fs::exists("/etc/watchstate/config.yaml")) {
    CHECK(ws::config::resolve_config_path(std::nullopt) ==
          fs::path("/home/tester-ws/.config/watchstate/config.yaml"));
  }

  CHECK(ws::config::default_state_dir() == fs::path("/home/tester-ws/.local/state/watchstate"));
  {
    EnvGuard xdg("XDG_STATE_HOME", "/var/tmp/st");
    CHECK(ws::config::default_state_dir() == fs::path("/var/tmp/st/watchstate"));
  }
  {
    EnvGuard xdg("XDG_STATE_HOME", "relative/ignored");
    CHECK(ws::config::default_state_dir() == fs::path("/home/tester-ws/.local/state/watchstate"));
  }

  // state_dir: "~" is the home directory.
  const Config config =
      parse_config("state_dir: ~/ws-state\n" + std::string(k_minimal).substr(19), "config.yaml");
  CHECK(config.state_dir == fs::path("/home/tester-ws/ws-state"));
}
