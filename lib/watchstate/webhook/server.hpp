// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/config/config.hpp>
#include <watchstate/sync/services.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace ws::webhook {

struct ServerOptions {
  std::string listen;                     // "host:port"; empty: the config's webhook.listen
  std::filesystem::path state_db;         // state_dir/state.db
  std::filesystem::path queue_db;         // state_dir/webhook-queue.db
  std::filesystem::path lock_file;        // state_dir's lock, shared with ws-sync and friends
  std::size_t max_body_bytes = 4U << 20U; // Plex adds a poster image to some events
  int read_timeout_seconds = 10;          // a client slower than this is dropped
  int drain_seconds = 60;                 // at SIGTERM, how long to wait for a busy state_dir lock
  // GET /metrics (API key required): the metrics of the run history (Prometheus text), to
  // which the receiver adds its own counters. Empty: no /metrics route.
  std::function<std::string()> metrics;
};

struct ServerStats {
  std::string listen;
  std::uint64_t received = 0; // requests to the webhook routes
  std::uint64_t queued = 0;   // accepted and stored
  std::uint64_t ignored = 0;  // well-formed, nothing to do (200)
  std::uint64_t refused = 0;  // 4xx: unauthenticated, unparseable, unknown server or user
  std::uint64_t applied = 0;  // events applied to the state database
  std::uint64_t failed = 0;   // events that can never be applied (kept in the queue, marked)
  std::uint64_t retried = 0;  // applications postponed (a server down, the lock busy)
  std::uint64_t writes = 0;   // writes pushed to other backends
  std::int64_t pending = 0;   // still queued at exit: applied at the next start
  std::int64_t duration_ms = 0;
};

// Serve POST /webhook and /v1/api/webhook until SIGTERM or SIGINT: authenticate (?apikey= or
// X-Apikey), parse, store the event durably, answer, and let one worker apply the events in
// order (re-read the item, import rules, push to the other backends). At the signal it stops
// accepting, applies what is queued and returns. Throws ws::Error when it cannot start
// (no webhook.api_key: Errc::config; the address cannot be bound: Errc::io).
ServerStats run_server(const sync::Services& services, const config::Config& config,
                       const ServerOptions& options);

} // namespace ws::webhook
