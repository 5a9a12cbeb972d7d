// SPDX-License-Identifier: MIT
// What a Jellyfin or Emby server offers a setup tool: the user-name login that hands out an
// access token, and webhook registration (Jellyfin: the Webhook plugin's configuration; Emby:
// its configured notifiers, an Emby Premiere feature). Day-to-day syncing never calls these.
#pragma once

#include <watchstate/backend/backend.hpp>
#include <watchstate/http/client.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ws::backend::mediabrowser {

// The answer of POST /Users/AuthenticateByName.
struct LoginResult {
  std::string access_token; // a secret (registered as one)
  std::string user_id;
  std::string user_name;
  std::string server_id;
  bool admin = false;
};

// What a webhook registration did. `unsupported`: the server cannot send webhooks as it is set
// up (Jellyfin without the Webhook plugin, Emby without Premiere); nothing was changed.
enum class WebhookChange { added, updated, unchanged, unsupported };

// Parse the login answer. Throws Errc::protocol naming `label`.
LoginResult parse_login(std::string body, std::string_view label);

// The name watchstate's entries carry on the server (Jellyfin WebhookName, Emby FriendlyName).
inline constexpr std::string_view k_webhook_name = "watchstate";

class MediaBrowserAccount {
public:
  // `label` names the server in messages; `type` is jellyfin or emby; `url` has no trailing '/'.
  MediaBrowserAccount(std::string label, BackendType type, std::string url,
                      std::unique_ptr<http::Client> client);

  // Log in with a user name and password. Errc::no_perm when the server refuses them.
  LoginResult login(std::string_view user_name, std::string_view password);

  // Register `webhook_url` for the events ws-webhook reads, limited to `user_ids` (all users
  // when empty), with admin `token`. An entry that already points at the same host and path is
  // updated in place, so running it twice adds nothing (`unchanged` when it already says the
  // same). With `dry_run` the change is decided but not sent. Errc::no_perm when the token is
  // refused (an admin's token is needed).
  WebhookChange register_webhook(std::string_view token, std::string_view webhook_url,
                                 const std::vector<std::string>& user_ids, bool dry_run);

private:
  http::Request request(http::Method method, std::string path, std::string_view token) const;
  WebhookChange register_jellyfin(std::string_view token, std::string_view webhook_url,
                                  const std::vector<std::string>& user_ids, bool dry_run);
  WebhookChange register_emby(std::string_view token, std::string_view webhook_url,
                              const std::vector<std::string>& user_ids, bool dry_run);

  std::string m_label;
  BackendType m_type;
  std::string m_url;
  std::unique_ptr<http::Client> m_client;
};

// Whether two webhook URLs name the same receiver: same scheme, host, port and path (the
// query, which carries the key, may differ).
bool same_receiver(std::string_view a, std::string_view b);

} // namespace ws::backend::mediabrowser
