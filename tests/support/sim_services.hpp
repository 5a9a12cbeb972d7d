// SPDX-License-Identifier: MIT
// The use cases in-process: sync::Services whose HTTP clients answer from ws-simulator's
// servers without a socket (the request goes to sim::Server::handle, the server speaking the
// real Plex/Jellyfin/Emby API), and a clock the test sets. With it a Catch2 test drives import,
// export, parity, restore or the webhook applier against the simulator's world and reads the
// servers' end state from that world, never from the tool's database.
#pragma once

#include <watchstate/config/config.hpp>
#include <watchstate/core/time.hpp>
#include <watchstate/http/client.hpp>
#include <watchstate/sync/services.hpp>

#include "simulator/server.hpp"
#include "simulator/world.hpp"

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ws::test {

// The three servers of one world; hosts plex.sim, jellyfin.sim and emby.sim.
class SimServers {
public:
  explicit SimServers(std::string_view world_json)
      : m_world(std::make_shared<const sim::World>(sim::parse_world(world_json, "test"))),
        m_servers{std::make_unique<sim::Server>(m_world, sim::Kind::plex),
                  std::make_unique<sim::Server>(m_world, sim::Kind::jellyfin),
                  std::make_unique<sim::Server>(m_world, sim::Kind::emby)} {}

  sim::Server& server(sim::Kind kind) { return *m_servers[sim::idx(kind)]; }
  std::uint64_t requests() const { return m_requests; }

  // Play-state and playlist writes the three servers took so far, as each counts them
  // (GET /__sim/stats: Plex's scrobble and timeline calls are GETs that write).
  std::uint64_t writes() {
    std::uint64_t total = 0;
    for (auto& server : m_servers) {
      const auto stats = server->handle(sim::make_request("GET", "/__sim/stats")).body;
      const auto at = stats.find("\"writes\":");
      total += at == std::string::npos ? 0 : std::stoull(stats.substr(at + 9));
    }
    return total;
  }

  // The server a URL names by its host, or nullptr.
  sim::Server* server_of(std::string_view url) {
    for (const auto kind : sim::k_all_kinds) {
      const std::string prefix = "http://" + std::string(sim::kind_name(kind)) + ".sim";
      if (url.substr(0, prefix.size()) == prefix) {
        return &server(kind);
      }
    }
    return nullptr;
  }

  // Answer `request` as the named server would over HTTP.
  http::Response answer(const http::Request& request) {
    ++m_requests;
    http::Response response;
    sim::Server* target = server_of(request.url);
    if (target == nullptr) {
      response.status = 404;
      return response;
    }
    const auto slash = request.url.find('/', request.url.find("://") + 3);
    const std::string target_path =
        slash == std::string::npos ? std::string("/") : request.url.substr(slash);
    sim::Pairs headers;
    for (const auto& h : request.headers) {
      headers.emplace_back(h.name, h.value);
    }
    const auto answered = target->handle(
        sim::make_request(method_name(request.method), target_path, headers, request.body));
    response.status = answered.status;
    response.body = answered.body;
    for (const auto& [name, value] : answered.headers) {
      response.headers.push_back({name, value});
    }
    if (!answered.content_type.empty()) {
      response.headers.push_back({"Content-Type", answered.content_type});
    }
    return response;
  }

  // The play state world user `user` (a world user id or name) has of world entry `key` on
  // server `kind`.
  sim::PlayState state(sim::Kind kind, std::string_view user, std::string_view key) {
    auto& s = server(kind);
    const auto item = s.item_of_key(key);
    const auto slot = s.user_ref(user);
    if (item < 0 || slot < 0) {
      throw std::runtime_error("no item " + std::string(key) + " or user " + std::string(user));
    }
    return s.state(static_cast<std::size_t>(slot), static_cast<std::uint32_t>(item));
  }

private:
  static std::string method_name(http::Method method) {
    switch (method) {
    case http::Method::get: return "GET";
    case http::Method::head: return "HEAD";
    case http::Method::post: return "POST";
    case http::Method::put: return "PUT";
    case http::Method::del: return "DELETE";
    }
    return "GET";
  }

  std::shared_ptr<const sim::World> m_world;
  std::array<std::unique_ptr<sim::Server>, 3> m_servers;
  std::uint64_t m_requests = 0;
};

// An http::Client answering from SimServers, one request after the other.
class SimClient final : public http::Client {
public:
  explicit SimClient(SimServers& servers) : m_servers(servers) {}

  void send_all(std::vector<http::Request> requests,
                const http::CompletionHandler& on_done) override {
    for (std::size_t i = 0; i < requests.size(); ++i) {
      http::Outcome outcome;
      outcome.attempts = 1;
      outcome.response = m_servers.answer(requests[i]);
      ++m_sent;
      m_received += wire_size(outcome.response);
      on_done(i, outcome);
    }
  }

  [[nodiscard]] std::uint64_t requests_sent() const override { return m_sent; }
  [[nodiscard]] std::uint64_t bytes_received() const override { return m_received; }

  // What `response` would take on the wire uncompressed: an HTTP/1.1 status line, its header
  // lines, the blank line and the body.
  static std::uint64_t wire_size(const http::Response& response) {
    std::uint64_t size = std::string_view("HTTP/1.1 200 OK\r\n\r\n").size() + response.body.size();
    for (const auto& h : response.headers) {
      size += h.name.size() + 2 + h.value.size() + 2;
    }
    return size;
  }

private:
  SimServers& m_servers;
  std::uint64_t m_sent = 0;
  std::uint64_t m_received = 0;
};

// Services for the use cases: clients of `servers`, the time `*clock` holds.
inline sync::Services sim_services(SimServers& servers, const UnixTime* clock) {
  sync::Services services;
  services.http_client = [&servers](const http::ClientOptions&) {
    return std::make_unique<SimClient>(servers);
  };
  services.now = [clock] { return *clock; };
  return services;
}

} // namespace ws::test
