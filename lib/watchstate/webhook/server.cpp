// SPDX-License-Identifier: MIT
#include <watchstate/webhook/server.hpp>

#include <watchstate/backend/webhook_payload.hpp>
#include <watchstate/core/abort.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/lock.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/text.hpp>
#include <watchstate/core/time.hpp>
#include <watchstate/db/event_queue.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/http/client.hpp>
#include <watchstate/webhook/apply.hpp>

#include <httplib.h>

#include <fmt/format.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>

namespace ws::webhook {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t k_batch = 200;
constexpr UnixTime k_max_retry_delay = 600;

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

// Compare without leaking, through timing, how much of the key was right.
bool same_secret(std::string_view given, std::string_view expected) {
  unsigned diff = given.size() == expected.size() ? 0U : 1U;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const char g = i < given.size() ? given[i] : '\0';
    diff |= static_cast<unsigned>(static_cast<unsigned char>(g) ^
                                  static_cast<unsigned char>(expected[i]));
  }
  return diff == 0;
}

// Signals are taken by a thread of their own (sigwait) so that the worker can finish the
// queue after SIGTERM instead of being interrupted like a batch tool.
class SignalWatcher {
public:
  SignalWatcher() {
    sigemptyset(&m_set);
    sigaddset(&m_set, SIGINT);
    sigaddset(&m_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &m_set, &m_previous);
  }
  ~SignalWatcher() {
    stop();
    pthread_sigmask(SIG_SETMASK, &m_previous, nullptr);
  }
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  // Call `on_signal(count)` for each SIGINT/SIGTERM until stop().
  void start(std::function<void(int)> on_signal) {
    m_thread = std::thread([this, on_signal = std::move(on_signal)] {
      int count = 0;
      while (!m_stop) {
        timespec wait{0, 200'000'000};
        if (sigtimedwait(&m_set, nullptr, &wait) > 0) {
          on_signal(++count);
        }
      }
    });
  }
  void stop() {
    m_stop = true;
    if (m_thread.joinable()) {
      m_thread.join();
    }
  }

private:
  sigset_t m_set{};
  sigset_t m_previous{};
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
};

struct Shared {
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> queued{0};
  std::atomic<std::uint64_t> ignored{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> applied{0}; // the worker's counts, for GET /metrics
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> writes{0};
  std::atomic<bool> stopping{false}; // no more requests: drain the queue and leave
  std::atomic<bool> abort{false};    // a second signal: leave now, the queue waits on disk
  std::atomic<bool> relearn{false};  // an event named an unknown server: look at the ids again
  std::mutex mutex;
  std::condition_variable wake;
};

} // namespace

ServerStats run_server(const sync::Services& services, const config::Config& config,
                       const ServerOptions& options) {
  if (config.webhook.api_key.empty()) {
    throw Error(Errc::config, "webhook.api_key is not set: ws-webhook refuses to accept "
                              "unauthenticated events");
  }
  register_secret(config.webhook.api_key);
  const std::string listen = options.listen.empty() ? config.webhook.listen : options.listen;
  const Endpoint endpoint = parse_listen(listen);
  const auto started = Clock::now();

  db::EventQueue queue(options.queue_db);
  db::StateStore store(options.state_db);
  EventApplier applier(services, config, store);
  Shared shared;
  // Ids from the config and the last imports now; servers are asked once listening.
  bool ask_servers = applier.learn_server_ids(false) > 0;

  SignalWatcher signals; // blocks the signals in every thread started from here on
  httplib::Server server;
  server.set_payload_max_length(options.max_body_bytes);
  server.set_read_timeout(options.read_timeout_seconds, 0);
  server.set_write_timeout(options.read_timeout_seconds, 0);

  const std::string api_key = config.webhook.api_key;
  auto answer = [](httplib::Response& res, int status, const std::string& text) {
    res.status = status;
    res.set_content(text + "\n", "text/plain; charset=utf-8");
  };
  auto handler = [&](const httplib::Request& req, httplib::Response& res) {
    ++shared.received;
    std::string key = req.get_param_value("apikey");
    if (key.empty()) {
      key = req.get_header_value("X-Apikey");
    }
    if (!same_secret(key, api_key)) {
      ++shared.refused;
      log::warning("webhook from {}: refused: missing or wrong api key", req.remote_addr);
      answer(res, 401, "missing or wrong api key");
      return;
    }
    if (req.method == "GET") {
      answer(res, 200, "webhook endpoint is ready");
      return;
    }
    backend::WebhookRequest request;
    request.user_agent = req.get_header_value("User-Agent");
    request.content_type = req.get_header_value("Content-Type");
    for (const auto& [name, part] : req.files) {
      request.form.emplace(name, part.content);
    }
    if (request.content_type.rfind("application/x-www-form-urlencoded", 0) == 0) {
      for (const char* field : {"payload", "data"}) {
        if (req.has_param(field)) {
          request.form.emplace(field, req.get_param_value(field));
        }
      }
    } else if (req.files.empty()) {
      request.body = req.body;
    }
    const backend::ParseResult parsed = backend::parse_webhook(request);
    if (parsed.status == backend::ParseStatus::invalid) {
      ++shared.refused;
      log::warning("webhook from {}: refused: {}", req.remote_addr, parsed.reason);
      answer(res, 400, parsed.reason);
      return;
    }
    if (parsed.status == backend::ParseStatus::ignored) {
      ++shared.ignored;
      log::info("webhook {} {}: ignored: {}", source_name(parsed.event.source), parsed.event.event,
                parsed.reason);
      answer(res, 200, "ignored: " + parsed.reason);
      return;
    }
    if (applier.targets(parsed.event).empty()) {
      ++shared.refused;
      shared.relearn = true;
      const std::string reason =
          parsed.event.library_event
              ? fmt::format("no configured backend has server id {}", parsed.event.server_id)
              : fmt::format("no configured backend has server id {} and user {}",
                            parsed.event.server_id, parsed.event.user_id);
      log::warning("webhook {} {}: refused: {}", source_name(parsed.event.source),
                   parsed.event.event, reason);
      answer(res, 422, reason);
      shared.wake.notify_one();
      return;
    }
    try {
      const auto id = queue.push(parsed.event, services.now());
      ++shared.queued;
      log::info("webhook {} {} '{}' (item {}): queued as #{}", source_name(parsed.event.source),
                parsed.event.event, parsed.event.title, parsed.event.item_id, id);
      answer(res, 200, fmt::format("queued #{}", id));
      shared.wake.notify_one();
    } catch (const Error& e) {
      log::error("webhook: {}", e.what());
      answer(res, 503, "cannot store the event now");
    }
  };
  // httplib answers an oversized body itself (413, before any handler): give it a reason.
  const std::size_t max_body = options.max_body_bytes;
  const httplib::Server::HandlerWithResponse on_error = [&shared,
                                                         max_body](const httplib::Request& req,
                                                                   httplib::Response& res) {
    if (res.status != 413) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    ++shared.received;
    ++shared.refused;
    log::warning("webhook from {}: refused: body larger than {} bytes", req.remote_addr, max_body);
    res.set_content(fmt::format("body larger than {} bytes\n", max_body),
                    "text/plain; charset=utf-8");
    return httplib::Server::HandlerResponse::Handled;
  };
  server.set_error_handler(on_error);
  if (options.metrics) {
    server.Get("/metrics", [&](const httplib::Request& req, httplib::Response& res) {
      std::string key = req.get_param_value("apikey");
      if (key.empty()) {
        key = req.get_header_value("X-Apikey");
      }
      if (!same_secret(key, api_key)) {
        answer(res, 401, "missing or wrong api key");
        return;
      }
      std::string text;
      try {
        text = options.metrics();
      } catch (const std::exception& e) {
        log::warning("webhook: GET /metrics: {}", e.what());
        answer(res, 503, "the run history cannot be read now");
        return;
      }
      text += fmt::format(
          "# HELP watchstate_webhook_requests_total Requests to the webhook routes since "
          "ws-webhook started, by result.\n"
          "# TYPE watchstate_webhook_requests_total counter\n"
          "watchstate_webhook_requests_total{{result=\"queued\"}} {}\n"
          "watchstate_webhook_requests_total{{result=\"ignored\"}} {}\n"
          "watchstate_webhook_requests_total{{result=\"refused\"}} {}\n"
          "# HELP watchstate_webhook_events_total Queued events the worker finished since "
          "ws-webhook started, by result.\n"
          "# TYPE watchstate_webhook_events_total counter\n"
          "watchstate_webhook_events_total{{result=\"applied\"}} {}\n"
          "watchstate_webhook_events_total{{result=\"failed\"}} {}\n"
          "# HELP watchstate_webhook_pushes_total Writes pushed to other backends since "
          "ws-webhook started.\n"
          "# TYPE watchstate_webhook_pushes_total counter\n"
          "watchstate_webhook_pushes_total {}\n",
          shared.queued.load(), shared.ignored.load(), shared.refused.load(), shared.applied.load(),
          shared.failed.load(), shared.writes.load());
      res.status = 200;
      res.set_content(text, "text/plain; version=0.0.4; charset=utf-8");
    });
  }
  for (const char* path : {"/webhook", "/v1/api/webhook"}) {
    server.Get(path, handler);
    server.Post(path, handler);
    server.Put(path, handler);
  }

  if (!server.bind_to_port(endpoint.host, endpoint.port)) {
    throw Error(Errc::io, fmt::format("webhook: cannot listen on {} (address in use or not "
                                      "local?)",
                                      listen));
  }
  signals.start([&](int count) {
    shared.stopping = true;
    if (count > 1) {
      shared.abort = true;
      request_abort();
    }
    server.stop();
    shared.wake.notify_one();
  });
  std::atomic<bool> http_done{false};
  std::thread http_thread([&server, &http_done] {
    server.listen_after_bind();
    http_done = true;
  });
  log::info("webhook: listening on http://{}/webhook", listen);

  // The worker: this thread. Applies due events in batches, in arrival order.
  ServerStats stats;
  stats.listen = listen;
  std::optional<Clock::time_point> lock_wait_since;
  Clock::time_point last_asked = Clock::now();
  while (!shared.abort) {
    // An event for an unknown server: its backend may have been imported or come up since.
    // Servers are asked at most once a minute, so a stray sender cannot keep the worker busy.
    if (shared.relearn.exchange(false) || ask_servers) {
      const bool ask = ask_servers || Clock::now() - last_asked > std::chrono::minutes(1);
      if (ask) {
        last_asked = Clock::now();
      }
      applier.learn_server_ids(ask);
      ask_servers = false;
    }
    std::vector<db::QueuedEvent> due;
    try {
      due = queue.due(services.now(), k_batch);
    } catch (const Error& e) {
      log::error("{}", e.what());
    }
    if (due.empty()) {
      if (shared.stopping) {
        break;
      }
      std::unique_lock lock(shared.mutex);
      shared.wake.wait_for(lock, std::chrono::seconds(1));
      continue;
    }
    std::optional<RunLock> run_lock;
    try {
      run_lock.emplace(options.lock_file);
      lock_wait_since.reset();
    } catch (const Error&) {
      // A ws-sync or ws-import is running: the events wait on disk for it to finish.
      if (!lock_wait_since) {
        lock_wait_since = Clock::now();
        log::info("webhook: {} events wait for another run to release the state directory",
                  due.size());
      }
      if (shared.stopping &&
          Clock::now() - *lock_wait_since > std::chrono::seconds(options.drain_seconds)) {
        log::warning("webhook: the state directory stayed locked; {} events stay queued",
                     queue.pending());
        break;
      }
      std::unique_lock lock(shared.mutex);
      shared.wake.wait_for(lock, std::chrono::milliseconds(500));
      continue;
    }
    ApplyOutcome outcome;
    try {
      outcome = applier.apply(due);
    } catch (const std::exception& e) {
      // The state database itself failed (busy, disk): every event of the batch waits.
      log::error("webhook: cannot apply events now: {}", redact(e.what()));
      for (const auto& event : due) {
        outcome.retry.emplace_back(event.id, redact(e.what()));
      }
    }
    run_lock.reset();
    try {
      queue.remove(outcome.applied);
      for (const auto& [id, reason] : outcome.failed) {
        log::warning("webhook event #{}: not applied: {}", id, reason);
        queue.fail(id, reason);
      }
      for (const auto& [id, reason] : outcome.retry) {
        const auto it = std::find_if(due.begin(), due.end(),
                                     [&](const db::QueuedEvent& e) { return e.id == id; });
        const int attempts = it == due.end() ? 0 : it->attempts;
        const UnixTime delay =
            std::min<UnixTime>(k_max_retry_delay, UnixTime{2} << std::min(attempts, 9));
        queue.postpone(id, services.now() + delay, reason);
      }
    } catch (const Error& e) {
      log::error("{}", e.what());
    }
    stats.applied += outcome.applied.size();
    stats.failed += outcome.failed.size();
    shared.applied += outcome.applied.size();
    shared.failed += outcome.failed.size();
    shared.writes += outcome.writes;
    stats.retried += outcome.retry.size();
    stats.writes += outcome.writes;
    if (!outcome.retry.empty() && outcome.applied.empty() && outcome.failed.empty()) {
      if (shared.stopping) {
        break; // nothing can be applied now; the events wait on disk for the next start
      }
      std::unique_lock lock(shared.mutex);
      shared.wake.wait_for(lock, std::chrono::seconds(1));
    }
  }

  shared.stopping = true;
  // stop() only works once the server runs: repeat it until the listening thread has left.
  while (!http_done) {
    server.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  http_thread.join();
  signals.stop();
  stats.received = shared.received;
  stats.queued = shared.queued;
  stats.ignored = shared.ignored;
  stats.refused = shared.refused;
  try {
    stats.pending = queue.pending();
  } catch (const Error&) {
    stats.pending = -1;
  }
  stats.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  return stats;
}

} // namespace ws::webhook
