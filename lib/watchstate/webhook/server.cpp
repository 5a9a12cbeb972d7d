// SPDX-License-Identifier: MIT
// ws-webhook's startup and shutdown: the pieces (front end, worker, signal thread) wired together.
#include <watchstate/webhook/server.hpp>

#include <watchstate/core/abort.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/db/event_queue.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/webhook/apply.hpp>
#include <watchstate/webhook/front_end.hpp>
#include <watchstate/webhook/receiver_state.hpp>
#include <watchstate/webhook/signal_watcher.hpp>
#include <watchstate/webhook/worker.hpp>

#include <fmt/format.h>

#include <charconv>
#include <chrono>

namespace ws::webhook {
namespace {

using Clock = std::chrono::steady_clock;

struct Endpoint {
  std::string host;
  int port = 0;
};

Endpoint parse_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    throw Error(Errc::config, fmt::format("webhook.listen '{}': expected host:port", listen));
  }
  Endpoint endpoint;
  endpoint.host = listen.substr(0, colon);
  if (endpoint.host.size() >= 2 && endpoint.host.front() == '[' && endpoint.host.back() == ']') {
    endpoint.host = endpoint.host.substr(1, endpoint.host.size() - 2); // [::1]:8686
  }
  const std::string_view port(listen.data() + colon + 1, listen.size() - colon - 1);
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), endpoint.port);
  if (ec != std::errc{} || ptr != port.data() + port.size() || endpoint.port < 1 ||
      endpoint.port > 65535) {
    throw Error(Errc::config, fmt::format("webhook.listen '{}': bad port", listen));
  }
  return endpoint;
}

void require_api_key(const config::Config& config) {
  if (config.webhook.api_key.empty()) {
    throw Error(Errc::config, "webhook.api_key is not set: ws-webhook refuses to accept "
                              "unauthenticated events");
  }
  register_secret(config.webhook.api_key);
}

// The first signal stops the front end and lets the worker drain the queue; a second one
// makes everything leave at once.
void on_signal(int count, ReceiverState& state, FrontEnd& front_end) {
  state.stopping = true;
  if (count > 1) {
    state.abort = true;
    request_abort();
  }
  front_end.request_stop();
  state.wake_worker();
}

// The front end's counts and what is left in the queue, into the worker's `stats`.
void finish_stats(ServerStats& stats, const ReceiverState& state, db::EventQueue& queue,
                  Clock::time_point started) {
  stats.received = state.received;
  stats.queued = state.queued;
  stats.ignored = state.ignored;
  stats.refused = state.refused;
  try {
    stats.pending = queue.pending();
  } catch (const Error&) {
    stats.pending = -1;
  }
  stats.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
}

} // namespace

ServerStats run_server(const sync::Services& services, const config::Config& config,
                       const ServerOptions& options) {
  require_api_key(config);
  const std::string listen = options.listen.empty() ? config.webhook.listen : options.listen;
  const Endpoint endpoint = parse_listen(listen);
  const auto started = Clock::now();

  db::EventQueue queue(options.queue_db);
  db::StateStore store(options.state_db);
  EventApplier applier(services, config, store);
  ReceiverState state;
  // Ids from the config and the last imports now; servers are asked once listening.
  const bool ask_servers = applier.learn_server_ids(false) > 0;

  SignalWatcher signals; // blocks the signals in every thread started from here on
  FrontEnd front_end(services, options, config.webhook.api_key, queue, applier, state);
  if (!front_end.bind(endpoint.host, endpoint.port)) {
    throw Error(Errc::io, fmt::format("webhook: cannot listen on {} (address in use or not "
                                      "local?)",
                                      listen));
  }
  signals.start([&](int count) { on_signal(count, state, front_end); });
  front_end.start();
  log::info("webhook: listening on http://{}/webhook", listen);

  ServerStats stats;
  stats.listen = listen;
  Worker(services, options, queue, applier, state, ask_servers).run(stats);

  state.stopping = true;
  front_end.stop();
  signals.stop();
  finish_stats(stats, state, queue, started);
  return stats;
}

} // namespace ws::webhook
