// SPDX-License-Identifier: MIT
// ws-config webhook: register ws-webhook's address (with its key) on a backend whose API
// allows it, or say exactly what to do by hand where it does not.
#pragma once

#include <watchstate/config/config.hpp>
#include <watchstate/sync/run_context.hpp>
#include <watchstate/sync/services.hpp>

#include <string>

namespace ws::setup {

struct WebhookSetup {
  std::string backend;
  // "added", "updated", "unchanged" (already registered as it would be), "planned" (--dry-run),
  // or "manual": the server cannot take it through its API; `steps` says what to do.
  std::string result;
  std::string where; // where it was registered: "plex.tv account", "Webhook plugin", ...
  std::string steps; // by-hand steps (manual), one per line
};

// The address the servers should post to: `public_url` (e.g. http://nas.lan:8686/webhook) or,
// when empty, http://<webhook.listen>/webhook; with ?apikey=<webhook.api_key> added. Throws
// Errc::config when webhook.api_key is not set.
std::string webhook_address(const config::Config& config, const std::string& public_url);

// Register `address` on `backend` (of the main identity) for the users every identity maps
// there. With options.dry_run nothing is sent but what reads the current registration.
WebhookSetup setup_webhook(const sync::Services& services, const config::Config& config,
                           const config::BackendConfig& backend, const std::string& address,
                           const sync::RunOptions& options);

} // namespace ws::setup
