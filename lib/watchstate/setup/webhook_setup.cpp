// SPDX-License-Identifier: MIT
#include <watchstate/backend/mediabrowser/mediabrowser_account.hpp>
#include <watchstate/backend/plex/plex_account.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/text.hpp>
#include <watchstate/setup/webhook_setup.hpp>
#include <watchstate/sync/open_backend.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace ws::setup {
namespace {

// The user ids of every identity on `backend`: the only users whose events ws-webhook uses.
std::vector<std::string> mapped_users(const config::Config& config, const std::string& backend) {
  std::vector<std::string> users;
  std::vector<std::string> identities{"main"};
  for (const auto& identity : config.identities) {
    identities.push_back(identity.name);
  }
  for (const auto& identity : identities) {
    for (const auto& b : config::backends_for_identity(config, identity)) {
      if (b.name == backend && !b.user.empty() &&
          std::find(users.begin(), users.end(), b.user) == users.end()) {
        users.push_back(b.user);
      }
    }
  }
  return users;
}

std::string change_name(backend::mediabrowser::WebhookChange change, bool dry_run) {
  using backend::mediabrowser::WebhookChange;
  switch (change) {
  case WebhookChange::added: return dry_run ? "planned" : "added";
  case WebhookChange::updated: return dry_run ? "planned" : "updated";
  case WebhookChange::unchanged: return "unchanged";
  case WebhookChange::unsupported: return "manual";
  }
  return "manual";
}

std::string plex_steps(const std::string& address) {
  return fmt::format("sign in to Plex Web as the server owner (webhooks need Plex Pass)\n"
                     "open Settings > Account settings > Webhooks (app.plex.tv/desktop/#!/settings/"
                     "webhooks)\n"
                     "Add Webhook: {}\n"
                     "Save Changes",
                     address);
}

std::string jellyfin_steps(const std::string& address) {
  return fmt::format("Dashboard > Plugins > Catalog: install \"Webhook\", restart Jellyfin\n"
                     "then run ws-config webhook again, or by hand: Dashboard > Plugins > "
                     "Webhook > Add Generic Destination\n"
                     "Webhook Url: {}\n"
                     "Notification Type: Item Added, Playback Stop, User Data Saved; item types: "
                     "Movies, Episodes\n"
                     "Send All Properties: on; Request Header: Content-Type = application/json",
                     address);
}

std::string emby_steps(const std::string& address) {
  return fmt::format("webhooks need Emby Premiere on this server\n"
                     "Settings > Notifications > Add Notification > Webhooks\n"
                     "Url: {}\n"
                     "Request content type: application/json (Emby 4.9+)\n"
                     "Events: New Media Added, Playback Stop and Pause, Mark Played, Mark "
                     "Unplayed",
                     address);
}

// The address as a person may read it: the key replaced by where it is found.
std::string shown_address(const std::string& address) {
  const auto key = address.find("apikey=");
  if (key == std::string::npos) {
    return address;
  }
  const auto end = address.find('&', key);
  return address.substr(0, key) + "apikey=<webhook.api_key>" +
         (end == std::string::npos ? std::string() : address.substr(end));
}

} // namespace

std::string webhook_address(const config::Config& config, const std::string& public_url) {
  if (config.webhook.api_key.empty()) {
    throw Error(Errc::config, fmt::format("{}: webhook.api_key is not set: ws-webhook refuses to "
                                          "start without it, and the servers must send it",
                                          config.file.string()));
  }
  std::string base = public_url;
  if (base.empty()) {
    base = fmt::format("http://{}/webhook", config.webhook.listen);
  } else if (!base.starts_with("http://") && !base.starts_with("https://")) {
    throw Error(Errc::usage, fmt::format("--url {}: must start with http:// or https://", base));
  }
  register_secret(config.webhook.api_key);
  return fmt::format("{}{}apikey={}", base, base.find('?') == std::string::npos ? '?' : '&',
                     url_encode(config.webhook.api_key));
}

WebhookSetup setup_webhook(const sync::Services& services, const config::Config& config,
                           const config::BackendConfig& backend, const std::string& address,
                           const sync::RunOptions& options) {
  WebhookSetup setup;
  setup.backend = backend.name;
  const auto client = sync::client_options(config, backend, options);
  if (backend.type == model::BackendType::plex) {
    // Plex webhooks belong to the plex.tv account of the token, not to the server.
    setup.where = "plex.tv account";
    backend::plex::PlexAccount account(backend.plextv_url, services.http_client(client));
    std::vector<std::string> urls;
    try {
      urls = account.webhooks(backend.token);
    } catch (const Error& e) {
      if (e.code() != Errc::no_perm) {
        throw;
      }
      setup.result = "manual";
      setup.steps = plex_steps(shown_address(address));
      return setup;
    }
    const auto same = std::find_if(urls.begin(), urls.end(), [&](const std::string& url) {
      return backend::mediabrowser::same_receiver(url, address);
    });
    if (same != urls.end() && *same == address) {
      setup.result = "unchanged";
      return setup;
    }
    setup.result = options.dry_run ? "planned" : (same != urls.end() ? "updated" : "added");
    if (same != urls.end()) {
      *same = address;
    } else {
      urls.push_back(address);
    }
    if (!options.dry_run) {
      account.set_webhooks(backend.token, urls);
    }
    return setup;
  }

  const bool emby = backend.type == model::BackendType::emby;
  setup.where = emby ? "Emby notifications" : "Jellyfin Webhook plugin";
  backend::mediabrowser::MediaBrowserAccount server(backend.name, backend.type, backend.url,
                                                    services.http_client(client));
  const auto change = server.register_webhook(backend.token, address,
                                              mapped_users(config, backend.name), options.dry_run);
  setup.result = change_name(change, options.dry_run);
  if (change == backend::mediabrowser::WebhookChange::unsupported) {
    setup.steps =
        emby ? emby_steps(shown_address(address)) : jellyfin_steps(shown_address(address));
  }
  return setup;
}

} // namespace ws::setup
