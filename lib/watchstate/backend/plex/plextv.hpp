// SPDX-License-Identifier: MIT
// plex.tv: the Plex account service that lists a server owner's home/managed users and friends
// and hands out their per-server tokens (/api/v2/home/users, /api/servers/{id}/shared_servers,
// /api/v2/home/users/{uuid}/switch, /api/v2/resources).
#pragma once

#include <watchstate/http/client.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ws::backend::plex {

inline constexpr std::string_view k_default_plextv_url = "https://plex.tv";

// A person plex.tv knows in the owner's account: a home/managed user or a friend.
struct PlexTvUser {
  std::string id;               // plex.tv numeric id: what an identity's `user:` takes
  std::string uuid;             // home users: the id the switch endpoint takes
  std::string name;             // friendlyName, else username, else title
  bool admin = false;           // the account owner
  bool home = false;            // a member of Plex Home (switchable)
  bool managed = false;         // a managed (restricted) home user without a plex.tv login
  bool friend_user = false;     // shared with (not home): token from shared_servers
  bool token_available = false; // a server token can be obtained for this user
  bool protected_user = false;  // a home user whose switch takes a PIN (plex.tv `protected`)
};

// The PIN of a PIN-protected home user, sent with the switch to that user, and where the config
// sets it, for messages: `entry` "identities.kid.home_plex", `key` "pin" or "pin_file".
struct HomeUserPin {
  std::string pin; // "" = none
  std::string entry;
  std::string key = "pin";
};

// One <SharedServer> of plex.tv's shared_servers list.
struct SharedServer {
  std::string user_id;
  std::string username;
  std::string access_token;
};

// Parse GET /api/v2/home/users (JSON object with `users`). Throws Errc::protocol naming `what`.
std::vector<PlexTvUser> parse_home_users(std::string body, std::string_view what);

// Parse POST /api/v2/home/users/{uuid}/switch: the `authToken`. Throws Errc::protocol.
std::string parse_switch_token(std::string body, std::string_view what);

// Parse GET /api/v2/resources (JSON array): the `accessToken` of the server resource whose
// clientIdentifier is `machine_id`; nullopt when the list has none. Throws Errc::protocol.
std::optional<std::string> parse_resource_token(std::string body, std::string_view machine_id,
                                                std::string_view what);

// Parse GET /api/servers/{machine}/shared_servers (XML): the attributes of every <SharedServer>
// element. Tolerates other elements, attribute order, both quote styles and entities.
std::vector<SharedServer> parse_shared_servers(std::string_view xml);

// The plex.tv client of one Plex backend, authenticated with the owner's (admin) token.
class PlexTv {
public:
  // `label` names the backend in messages ("kid/home_plex"); `base_url` has no trailing '/'.
  PlexTv(std::string label, std::string base_url, std::string admin_token,
         std::unique_ptr<http::Client> client);

  // Home and managed users (owner included).
  std::vector<PlexTvUser> home_users();
  // Friends the server `machine_id` is shared with, with their server tokens.
  std::vector<SharedServer> shared_servers(std::string_view machine_id);
  // Home users and friends of server `machine_id`, each once (a home user wins).
  std::vector<PlexTvUser> users(std::string_view machine_id);
  // The server token of plex.tv user `user_id` for server `machine_id`: switch + resources for a
  // home/managed user, shared_servers for a friend, the admin token for the owner. Throws
  // ws::Error naming the backend and the user: no_perm when plex.tv refuses (also a wrong or
  // missing PIN of a protected home user: `pin` goes with the switch), config when it knows no
  // such user, tempfail/protocol as the adapters do. The token is registered as a secret.
  std::string user_token(std::string_view user_id, std::string_view machine_id,
                         const HomeUserPin& pin = {});

  [[nodiscard]] std::uint64_t requests_sent() const { return m_client->requests_sent(); }
  [[nodiscard]] std::uint64_t bytes_received() const { return m_client->bytes_received(); }

private:
  http::Request request(http::Method method, std::string_view path, std::string_view token) const;
  std::string fetch(http::Request request, std::string_view what);

  std::string m_label;
  std::string m_base_url;
  std::string m_admin_token;
  std::unique_ptr<http::Client> m_client;
};

// Server tokens obtained through plex.tv, kept in a JSON file (mode 0600) in state_dir, never in
// state.db, keyed by (backend, user, server id). Safe to use from several threads.
class TokenCache {
public:
  explicit TokenCache(std::filesystem::path file) : m_file(std::move(file)) {}

  // The cached token (registered as a secret), nullopt when none.
  std::optional<std::string> get(std::string_view backend, std::string_view user,
                                 std::string_view server) const;
  // Store (or replace) a token. Throws Errc::io when the file cannot be written.
  void put(std::string_view backend, std::string_view user, std::string_view server,
           std::string_view token) const;
  // Forget a token (after the server refused it).
  void erase(std::string_view backend, std::string_view user, std::string_view server) const;

  [[nodiscard]] const std::filesystem::path& file() const { return m_file; }

private:
  std::filesystem::path m_file;
};

} // namespace ws::backend::plex
