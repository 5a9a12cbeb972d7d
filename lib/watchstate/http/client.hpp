// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ws::http {

enum class Method { get, head, post, put, del };

struct Header {
  std::string name;
  std::string value;
};

struct Request {
  Method method = Method::get;
  std::string url; // absolute; may carry a token in the query (redacted whenever logged)
  std::vector<Header> headers;
  std::string body; // sent when non-empty; set Content-Type in `headers`
  // false: a write that must not happen twice (creating a playlist, appending to one). It is
  // retried only when the connection failed (nothing reached the server); a timeout or an
  // error status ends it, since an attempt whose answer was lost may have taken effect.
  bool retry = true;
};

struct Response {
  long status = 0;
  std::vector<Header> headers;
  std::string body; // already decompressed

  // The value of header `name` (case-insensitive), or "" when absent.
  [[nodiscard]] std::string_view header(std::string_view name) const;
};

// Whether `url` names this machine (localhost, 127.0.0.0/8, [::1]). Answers from it are not
// asked to be compressed: on loopback, compressing costs both processes CPU and saves nothing
// (a media server in a container on the same host as the tool is a common setup).
[[nodiscard]] bool is_loopback_url(std::string_view url);

// Failures below HTTP. An HTTP status, even 500, is not a transport error: it is data.
enum class TransportError { none, connect, timeout, tls, aborted, other };

struct Outcome {
  TransportError error = TransportError::none;
  std::string error_message; // redacted; empty when error == none
  Response response;         // meaningful when error == none
  int attempts = 0;          // how many times the request was sent

  [[nodiscard]] bool transport_ok() const { return error == TransportError::none; }
  [[nodiscard]] bool ok() const {
    return transport_ok() && response.status >= 200 && response.status < 300;
  }
};

struct ClientOptions {
  int concurrency = 4;                       // parallel transfers; 1 = strictly sequential
  std::chrono::seconds timeout{300};         // per attempt
  int retries = 3;                           // extra attempts after the first
  std::chrono::milliseconds backoff{1000};   // first retry delay; doubles, +/-10 % jitter
  std::chrono::seconds max_retry_after{120}; // cap on a server's Retry-After
  bool verify_tls = true;
  std::string user_agent = "watchstate";
  // Ask for gzip also from a server on this machine (is_loopback_url); tests use it.
  bool compress_on_loopback = false;
};

// Called on the thread that called send_all, once per request, in completion order.
// `index` is the request's position in the vector passed to send_all.
using CompletionHandler = std::function<void(std::size_t index, Outcome& outcome)>;

// An HTTP client for one backend. Not thread-safe: one client per thread.
class Client {
public:
  virtual ~Client() = default;
  Client() = default;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Send every request, at most `concurrency` at a time, keeping connections alive. Timeouts,
  // connection errors, 429 and 5xx are retried up to `retries` times with exponential backoff,
  // honouring Retry-After. Once abort_requested() turns true, requests not yet finished complete
  // with TransportError::aborted and the call returns promptly.
  virtual void send_all(std::vector<Request> requests, const CompletionHandler& on_done) = 0;

  // Number of HTTP requests put on the wire so far, retries included.
  [[nodiscard]] virtual std::uint64_t requests_sent() const = 0;

  // Bytes received so far, every attempt included (retries, failed and aborted transfers): each
  // response's status line and headers, and its body as it came off the wire, before any gzip
  // or deflate decoding (so a compressed answer counts what it cost, not what it holds; the
  // framing of a chunked body is left out).
  [[nodiscard]] virtual std::uint64_t bytes_received() const = 0;

  // Send one request (same retry policy) and return its outcome.
  Outcome send(Request request);
};

// The libcurl implementation. Call global_init() once before the first client is made.
std::unique_ptr<Client> make_curl_client(const ClientOptions& options);
void global_init();
// The libcurl version in use, with its TLS library: "7.88.1 (OpenSSL/3.0.11)".
std::string curl_version();

// True for statuses worth retrying: 429 and 5xx other than 501.
bool is_retryable_status(long status) noexcept;
// Delay before retry number `attempt` (1-based): Retry-After (seconds or HTTP date) when the
// response carries one, capped at `options.max_retry_after`; else backoff * 2^(attempt-1).
std::chrono::milliseconds retry_delay(const ClientOptions& options, int attempt,
                                      std::string_view retry_after_header);

} // namespace ws::http
