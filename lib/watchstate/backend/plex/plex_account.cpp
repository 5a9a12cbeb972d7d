// SPDX-License-Identifier: MIT
#include <watchstate/backend/adapter_support.hpp>
#include <watchstate/backend/json_fields.hpp>
#include <watchstate/backend/plex/plex_account.hpp>
#include <watchstate/backend/plex/plex_backend.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/redact.hpp>

#include <fmt/format.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <utility>

namespace ws::backend::plex {
namespace {

constexpr std::string_view k_label = "plex.tv";

} // namespace

SignInPin parse_pin(std::string body, std::string_view what, std::string& auth_token) {
  rapidjson::Document doc;
  detail::parse_json_body(doc, body, k_label, what, "/api/v2/pins");
  SignInPin pin;
  pin.id = detail::id_member(doc, "id").value_or("");
  pin.code = std::string(detail::string_member(doc, "code").value_or(""));
  pin.expires_in = detail::int_member(doc, "expiresIn").value_or(0);
  if (pin.id.empty() || pin.code.empty()) {
    detail::throw_protocol(k_label, what, "/api/v2/pins", "no id or code in the answer");
  }
  auth_token = std::string(detail::string_member(doc, "authToken").value_or(""));
  if (!auth_token.empty()) {
    register_secret(auth_token);
  }
  return pin;
}

std::vector<AccountServer> parse_account_servers(std::string body, std::string_view what) {
  rapidjson::Document doc;
  detail::parse_json_array_body(doc, body, k_label, what, "/api/v2/resources");
  std::vector<AccountServer> servers;
  for (const auto& resource : doc.GetArray()) {
    const auto provides = detail::string_member(resource, "provides").value_or("");
    if (provides.find("server") == std::string_view::npos) {
      continue; // players and other devices of the account
    }
    AccountServer server;
    server.name = std::string(detail::string_member(resource, "name").value_or(""));
    server.machine_id =
        std::string(detail::string_member(resource, "clientIdentifier").value_or(""));
    server.version = std::string(detail::string_member(resource, "productVersion").value_or(""));
    server.owned = detail::bool_member(resource, "owned").value_or(false);
    server.access_token = std::string(detail::string_member(resource, "accessToken").value_or(""));
    if (!server.access_token.empty()) {
      register_secret(server.access_token);
    }
    if (const auto* connections = detail::array_member(resource, "connections")) {
      for (const auto& c : connections->GetArray()) {
        ServerConnection connection;
        connection.uri = std::string(detail::string_member(c, "uri").value_or(""));
        connection.local = detail::bool_member(c, "local").value_or(false);
        connection.relay = detail::bool_member(c, "relay").value_or(false);
        if (!connection.uri.empty()) {
          server.connections.push_back(std::move(connection));
        }
      }
    }
    // The order a person should try them in: on the same network first, relays last.
    std::stable_sort(server.connections.begin(), server.connections.end(),
                     [](const ServerConnection& a, const ServerConnection& b) {
                       return std::pair(a.relay, !a.local) < std::pair(b.relay, !b.local);
                     });
    if (!server.machine_id.empty()) {
      servers.push_back(std::move(server));
    }
  }
  return servers;
}

std::vector<std::string> parse_webhook_urls(std::string body, std::string_view what) {
  rapidjson::Document doc;
  detail::parse_json_array_body(doc, body, k_label, what, "/api/v2/user/webhooks");
  std::vector<std::string> urls;
  for (const auto& hook : doc.GetArray()) {
    if (auto url = detail::string_member(hook, "url"); url && !url->empty()) {
      urls.emplace_back(*url);
    }
  }
  return urls;
}

PlexAccount::PlexAccount(std::string base_url, std::unique_ptr<http::Client> client)
    : m_base_url(std::move(base_url)), m_client(std::move(client)) {
  while (!m_base_url.empty() && m_base_url.back() == '/') {
    m_base_url.pop_back();
  }
}

http::Request PlexAccount::request(http::Method method, std::string_view path,
                                   std::string_view token) const {
  http::Request r;
  r.method = method;
  r.url = m_base_url + std::string(path);
  if (!token.empty()) {
    r.headers.push_back({"X-Plex-Token", std::string(token)});
  }
  // The identifier plex.tv lists the sign-in under ("Authorized devices"): the same one every
  // request of the tools carries.
  r.headers.push_back({"X-Plex-Client-Identifier", std::string(k_client_identifier)});
  r.headers.push_back({"X-Plex-Product", "watchstate"});
  r.headers.push_back({"X-Plex-Version", WS_VERSION});
  r.headers.push_back({"Accept", "application/json"});
  return r;
}

std::string PlexAccount::fetch(http::Request request, std::string_view what) {
  const std::string url = request.url;
  http::Outcome outcome = m_client->send(std::move(request));
  if (outcome.transport_ok()) {
    const long status = outcome.response.status;
    if (status == 401 || status == 498) {
      throw Error(Errc::no_perm,
                  fmt::format("plex.tv refused the token for {} (HTTP {}); sign in again with "
                              "`ws-config plex-login`",
                              what, status));
    }
    if (status == 403) {
      throw Error(Errc::no_perm, fmt::format("plex.tv refused {} (HTTP 403)", what));
    }
  }
  detail::check_outcome(k_label, url, outcome);
  return std::move(outcome.response.body);
}

SignInPin PlexAccount::request_pin() {
  std::string token;
  return parse_pin(fetch(request(http::Method::post, "/api/v2/pins", {}), "a sign-in PIN"),
                   "sign-in PIN", token);
}

std::optional<std::string> PlexAccount::check_pin(const SignInPin& pin) {
  auto req = request(http::Method::get, "/api/v2/pins/" + detail::url_encode(pin.id), {});
  const std::string url = req.url;
  http::Outcome outcome = m_client->send(std::move(req));
  if (outcome.transport_ok() && outcome.response.status == 404) {
    throw Error(Errc::no_perm, fmt::format("plex.tv: the PIN {} expired before it was entered; "
                                           "run ws-config plex-login again",
                                           pin.code));
  }
  detail::check_outcome(k_label, url, outcome);
  std::string token;
  parse_pin(std::move(outcome.response.body), "sign-in PIN", token);
  if (token.empty()) {
    return std::nullopt;
  }
  return token;
}

std::vector<AccountServer> PlexAccount::servers(std::string_view token) {
  return parse_account_servers(
      fetch(request(http::Method::get, "/api/v2/resources?includeHttps=1&includeRelay=1", token),
            "the account's servers"),
      "server list");
}

std::vector<std::string> PlexAccount::webhooks(std::string_view token) {
  return parse_webhook_urls(
      fetch(request(http::Method::get, "/api/v2/user/webhooks", token),
            "the account's webhooks (a Plex Pass feature, set by the server owner)"),
      "webhook list");
}

void PlexAccount::set_webhooks(std::string_view token, const std::vector<std::string>& urls) {
  auto req = request(http::Method::post, "/api/v2/user/webhooks", token);
  req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded; charset=UTF-8"});
  for (const auto& url : urls) {
    req.body +=
        fmt::format("{}urls%5B%5D={}", req.body.empty() ? "" : "&", detail::url_encode(url));
  }
  // An empty list still has to be sent as a form: plex.tv clears the list then.
  fetch(std::move(req), "the account's webhooks (a Plex Pass feature, set by the server owner)");
}

} // namespace ws::backend::plex
