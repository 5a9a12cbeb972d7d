// SPDX-License-Identifier: MIT
#include <watchstate/config/config.hpp>
#include <watchstate/core/error.hpp>

#include <catch2/catch.hpp>

#include <string>

using ws::config::parse_config;

namespace {

const std::string k_backends = "backends:\n"
                               "  home_plex:\n"
                               "    type: plex\n"
                               "    url: http://127.0.0.1:32400\n"
                               "    token: tok-history-1\n";

std::string history_error(const std::string& history) {
  try {
    (void)parse_config(history + k_backends, "config.yaml");
  } catch (const ws::Error& e) {
    CHECK(e.code() == ws::Errc::config);
    return e.what();
  }
  return {};
}

} // namespace

TEST_CASE("config history: keep_days and change_log_days", "[config]") {
  const auto defaults = parse_config(k_backends, "config.yaml");
  CHECK(defaults.history.keep_days == 180);
  CHECK(defaults.history.change_log_days == 730);

  const auto set = parse_config("history:\n  keep_days: 30\n  change_log_days: 365\n" + k_backends,
                                "config.yaml");
  CHECK(set.history.keep_days == 30);
  CHECK(set.history.change_log_days == 365);

  const auto kept = parse_config("history:\n  change_log_days: 0\n" + k_backends, "config.yaml");
  CHECK(kept.history.change_log_days == 0); // 0: the change log is kept whole

  CHECK(history_error("history:\n  change_log_days: -1\n") ==
        "config.yaml:2: history.change_log_days: must be an integer from 0 to 365000, not '-1'");
  CHECK(history_error("history:\n  change_log_days: 2y\n") ==
        "config.yaml:2: history.change_log_days: must be an integer from 0 to 365000, not '2y'");
  CHECK(history_error("history:\n  keep_days: 0\n") ==
        "config.yaml:2: history.keep_days: must be an integer from 1 to 365000, not '0'");
  CHECK(history_error("history:\n  changelog_days: 30\n")
            .starts_with("config.yaml:2: history.changelog_days: unknown key"));
}
