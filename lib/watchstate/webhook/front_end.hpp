// SPDX-License-Identifier: MIT
// Internal: the HTTP front end of ws-webhook (cpp-httplib stays inside front_end.cpp).
#pragma once

#include <watchstate/sync/services.hpp>
#include <watchstate/webhook/server.hpp>

#include <memory>
#include <string>

namespace ws::db {
class EventQueue;
} // namespace ws::db

namespace ws::webhook {

class EventApplier;
struct ReceiverState;

// Serves POST/PUT/GET /webhook and /v1/api/webhook (and GET /metrics when options.metrics is
// set) behind the API key (?apikey= or X-Apikey): parses each event, stores it in `queue` when a
// configured backend is its target (stamped with the services' clock), answers, and wakes the
// worker. Counts into `state`.
class FrontEnd {
public:
  FrontEnd(const sync::Services& services, const ServerOptions& options, std::string api_key,
           db::EventQueue& queue, const EventApplier& applier, ReceiverState& state);
  ~FrontEnd();
  FrontEnd(const FrontEnd&) = delete;
  FrontEnd& operator=(const FrontEnd&) = delete;

  // Take the address; false when it cannot be bound.
  bool bind(const std::string& host, int port);
  // Serve on a thread of its own until stop().
  void start();
  // Ask the server to stop (any thread; a no-op before it runs).
  void request_stop();
  // Stop the server and wait for its thread.
  void stop();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace ws::webhook
