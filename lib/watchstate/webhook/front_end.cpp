// SPDX-License-Identifier: MIT
#include <watchstate/webhook/front_end.hpp>

#include <watchstate/backend/webhook_payload.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/db/event_queue.hpp>
#include <watchstate/webhook/apply.hpp>
#include <watchstate/webhook/group_commit.hpp>
#include <watchstate/webhook/receiver_state.hpp>

#include <httplib.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <thread>
#include <utility>

namespace ws::webhook {
namespace {

// Requests handled at once (see configure()).
constexpr std::size_t k_request_threads = 32;

// Connections the kernel completes before the accept loop takes them. cpp-httplib listens with a
// backlog of 5, fixed when Debian built libcpp-httplib (defining CPPHTTPLIB_LISTEN_BACKLOG here
// changes nothing): a burst of webhook senders connecting at once overflows it, and each SYN the
// kernel drops costs its sender a one-second retry (or a reset connection).
constexpr int k_listen_backlog = 1024;

constexpr const char* k_plain_text = "text/plain; charset=utf-8";

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

// The API key a request carries: ?apikey=, else the X-Apikey header.
std::string given_key(const httplib::Request& req) {
  std::string key = req.get_param_value("apikey");
  if (key.empty()) {
    key = req.get_header_value("X-Apikey");
  }
  return key;
}

void answer(httplib::Response& res, int status, const std::string& text) {
  res.status = status;
  res.set_content(text + "\n", k_plain_text);
}

// The request as the payload reader takes it: multipart parts, the form fields Plex and
// Tautulli use, or the raw body.
backend::WebhookRequest webhook_request(const httplib::Request& req) {
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
  return request;
}

std::string no_target_reason(const model::WebhookEvent& event) {
  return event.library_event
             ? fmt::format("no configured backend has server id {}", event.server_id)
             : fmt::format("no configured backend has server id {} and user {}", event.server_id,
                           event.user_id);
}

// The receiver's own counters in the Prometheus text format.
std::string receiver_metrics(const ReceiverState& state) {
  return fmt::format(
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
      state.queued.load(), state.ignored.load(), state.refused.load(), state.applied.load(),
      state.failed.load(), state.writes.load());
}

} // namespace

struct FrontEnd::Impl {
  Impl(const sync::Services& the_services, const ServerOptions& server_options, std::string key,
       db::EventQueue& event_queue, const EventApplier& event_applier, ReceiverState& shared)
      : services(the_services), options(server_options), api_key(std::move(key)),
        applier(event_applier), state(shared),
        writer([&event_queue](const std::vector<db::Arrival>& arrivals) {
          return event_queue.push(arrivals);
        }) {}

  const sync::Services& services;

  const ServerOptions& options;
  const std::string api_key;
  const EventApplier& applier;
  ReceiverState& state;
  // Concurrent requests store their events in shared transactions: one sync to disk per batch
  // instead of one per event. Outlives the server, whose threads wait on it.
  GroupCommit writer;
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> done{false};

  void configure() {
    // Requests that arrive together are stored together (group commit): as many threads as
    // senders a burst brings, so that a batch is not cut at cpp-httplib's default of 8. The
    // threads only parse and wait for the commit; they do no other work.
    server.new_task_queue = [] {
      // NOLINTNEXTLINE(cppcoreguidelines-owning-memory): cpp-httplib takes a raw owning pointer
      return new httplib::ThreadPool(k_request_threads);
    };
    server.set_payload_max_length(options.max_body_bytes);
    server.set_read_timeout(options.read_timeout_seconds, 0);
    server.set_write_timeout(options.read_timeout_seconds, 0);
    server.set_error_handler(httplib::Server::HandlerWithResponse(
        [this](const httplib::Request& req, httplib::Response& res) {
          return on_error(req, res);
        }));
    if (options.metrics) {
      server.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
        serve_metrics(req, res);
      });
    }
    const auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      serve_webhook(req, res);
    };
    for (const char* path : {"/webhook", "/v1/api/webhook"}) {
      server.Get(path, handler);
      server.Post(path, handler);
      server.Put(path, handler);
    }
  }

  // POST /webhook: authenticate, parse, store, answer.
  void serve_webhook(const httplib::Request& req, httplib::Response& res) {
    ++state.received;
    if (!same_secret(given_key(req), api_key)) {
      ++state.refused;
      log::warning("webhook from {}: refused: missing or wrong api key", req.remote_addr);
      answer(res, 401, "missing or wrong api key");
      return;
    }
    if (req.method == "GET") {
      answer(res, 200, "webhook endpoint is ready");
      return;
    }
    const backend::ParseResult parsed = backend::parse_webhook(webhook_request(req));
    if (parsed.status == backend::ParseStatus::invalid) {
      ++state.refused;
      log::warning("webhook from {}: refused: {}", req.remote_addr, parsed.reason);
      answer(res, 400, parsed.reason);
      return;
    }
    if (parsed.status == backend::ParseStatus::ignored) {
      ++state.ignored;
      log::info("webhook {} {}: ignored: {}", source_name(parsed.event.source), parsed.event.event,
                parsed.reason);
      answer(res, 200, "ignored: " + parsed.reason);
      return;
    }
    if (applier.targets(parsed.event).empty()) {
      refuse_unknown_target(parsed.event, res);
      return;
    }
    enqueue(parsed.event, res);
  }

  // An event for a server (and user) no backend names: refused, and the worker looks at the
  // server ids again (the backend may have been imported or come up since).
  void refuse_unknown_target(const model::WebhookEvent& event, httplib::Response& res) {
    ++state.refused;
    state.relearn = true;
    const std::string reason = no_target_reason(event);
    log::warning("webhook {} {}: refused: {}", source_name(event.source), event.event, reason);
    answer(res, 422, reason);
    state.wake_worker();
  }

  void enqueue(const model::WebhookEvent& event, httplib::Response& res) {
    try {
      // Returns once the event is on disk (its batch committed); a failed commit throws here
      // for every request of the batch.
      const auto id = writer.store(event, services.now());
      ++state.queued;
      log::info("webhook {} {} '{}' (item {}): queued as #{}", source_name(event.source),
                event.event, event.title, event.item_id, id);
      answer(res, 200, fmt::format("queued #{}", id));
      state.wake_worker();
    } catch (const Error& e) {
      log::error("webhook: {}", e.what());
      answer(res, 503, "cannot store the event now");
    }
  }

  // GET /metrics: the run history's metrics and the receiver's counters.
  void serve_metrics(const httplib::Request& req, httplib::Response& res) {
    if (!same_secret(given_key(req), api_key)) {
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
    text += receiver_metrics(state);
    res.status = 200;
    res.set_content(text, "text/plain; version=0.0.4; charset=utf-8");
  }

  // httplib answers an oversized body itself (413, before any handler): give it a reason.
  httplib::Server::HandlerResponse on_error(const httplib::Request& req, httplib::Response& res) {
    if (res.status != 413) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    ++state.received;
    ++state.refused;
    const std::size_t max_body = options.max_body_bytes;
    log::warning("webhook from {}: refused: body larger than {} bytes", req.remote_addr, max_body);
    res.set_content(fmt::format("body larger than {} bytes\n", max_body), k_plain_text);
    return httplib::Server::HandlerResponse::Handled;
  }
};

FrontEnd::FrontEnd(const sync::Services& services, const ServerOptions& options,
                   std::string api_key, db::EventQueue& queue, const EventApplier& applier,
                   ReceiverState& state)
    : m_impl(std::make_unique<Impl>(services, options, std::move(api_key), queue, applier, state)) {
  m_impl->configure();
}

FrontEnd::~FrontEnd() {
  if (m_impl->thread.joinable()) {
    stop();
  }
}

bool FrontEnd::bind(const std::string& host, int port) {
  // cpp-httplib hands each socket it creates to the socket options before binding it; the one
  // it keeps is the last one handed over.
  socket_t listening = INVALID_SOCKET;
  m_impl->server.set_socket_options([&listening](socket_t sock) {
    httplib::default_socket_options(sock);
    listening = sock;
  });
  const bool bound = m_impl->server.bind_to_port(host, port);
  m_impl->server.set_socket_options(httplib::default_socket_options);
  // listen() on a socket that already listens sets its backlog anew (Linux).
  return bound && ::listen(listening, k_listen_backlog) == 0;
}

void FrontEnd::start() {
  m_impl->thread = std::thread([impl = m_impl.get()] {
    impl->server.listen_after_bind();
    impl->done = true;
  });
}

void FrontEnd::request_stop() { m_impl->server.stop(); }

void FrontEnd::stop() {
  // stop() only works once the server runs: repeat it until the listening thread has left.
  while (!m_impl->done) {
    m_impl->server.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  m_impl->thread.join();
}

} // namespace ws::webhook
