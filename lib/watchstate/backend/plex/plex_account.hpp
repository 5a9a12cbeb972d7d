// SPDX-License-Identifier: MIT
// What a Plex account offers a setup tool on plex.tv: the PIN sign-in (plex.tv/link), the
// servers the account reaches with their addresses, and the account's webhook list (a Plex Pass
// feature). Day-to-day syncing never calls these; ws-config does.
#pragma once

#include <watchstate/http/client.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ws::backend::plex {

// A sign-in PIN: the user enters `code` at plex.tv/link while the tool polls `id`.
struct SignInPin {
  std::string id;
  std::string code;
  std::int64_t expires_in = 0; // seconds, as plex.tv announced
};

// One address a server answers on, as plex.tv lists it.
struct ServerConnection {
  std::string uri;
  bool local = false;
  bool relay = false;
};

// A Plex Media Server the account can reach (GET /api/v2/resources, provides=server).
struct AccountServer {
  std::string name;
  std::string machine_id; // the `uuid` a backend entry takes
  std::string version;
  bool owned = false;
  std::string access_token;                  // this account's token for that server (a secret)
  std::vector<ServerConnection> connections; // local first, relays last
};

// Parse POST/GET /api/v2/pins/{id}: the pin, and its authToken once the user entered the code
// (empty before). Throws Errc::protocol naming `what`.
SignInPin parse_pin(std::string body, std::string_view what, std::string& auth_token);

// Parse GET /api/v2/resources: the servers (other resources, players and the like, skipped).
std::vector<AccountServer> parse_account_servers(std::string body, std::string_view what);

// Parse GET /api/v2/user/webhooks: the URLs registered.
std::vector<std::string> parse_webhook_urls(std::string body, std::string_view what);

// The plex.tv client of a setup tool. `base_url` is where plex.tv answers (https://plex.tv).
class PlexAccount {
public:
  PlexAccount(std::string base_url, std::unique_ptr<http::Client> client);

  // Ask plex.tv for a new sign-in PIN.
  SignInPin request_pin();
  // The account token once the user has entered the PIN's code, nullopt while they have not.
  // Throws Errc::no_perm once the PIN expired (plex.tv forgets it: 404).
  std::optional<std::string> check_pin(const SignInPin& pin);

  // The servers account `token` can reach. Throws Errc::no_perm when plex.tv refuses the token.
  std::vector<AccountServer> servers(std::string_view token);

  // The account's webhook URLs; Errc::no_perm when refused (no Plex Pass, or not the owner).
  std::vector<std::string> webhooks(std::string_view token);
  // Replace the account's webhook URLs with `urls`.
  void set_webhooks(std::string_view token, const std::vector<std::string>& urls);

  [[nodiscard]] std::uint64_t requests_sent() const { return m_client->requests_sent(); }
  [[nodiscard]] std::uint64_t bytes_received() const { return m_client->bytes_received(); }

private:
  http::Request request(http::Method method, std::string_view path, std::string_view token) const;
  std::string fetch(http::Request request, std::string_view what);

  std::string m_base_url;
  std::unique_ptr<http::Client> m_client;
};

} // namespace ws::backend::plex
