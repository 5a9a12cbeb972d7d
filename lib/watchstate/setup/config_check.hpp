// SPDX-License-Identifier: MIT
// ws-config check: ask every configured backend what the tools will need, and say what is wrong
// where. Reads the config and talks to the servers; writes nothing anywhere (no state.db, no
// token cache).
#pragma once

#include <watchstate/config/config.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/sync/run_context.hpp>
#include <watchstate/sync/services.hpp>

#include <string>
#include <vector>

namespace ws::setup {

enum class CheckStatus { ok, warning, failed };

struct CheckResult {
  std::string identity; // "main" or an identity name
  std::string backend;
  std::string check; // "server", "uuid", "user", "libraries", "tls", "identity"
  CheckStatus status = CheckStatus::ok;
  Errc kind = Errc::config; // meaningful when failed
  std::string message;      // one line, no secret
};

std::string_view check_status_name(CheckStatus status);

// Run every check on the backends `options` selects (-s/-x, -u), each backend in its own
// thread. Results come grouped by identity and backend, in config order.
std::vector<CheckResult> check_config(const sync::Services& services, const config::Config& config,
                                      const sync::RunOptions& options);

} // namespace ws::setup
