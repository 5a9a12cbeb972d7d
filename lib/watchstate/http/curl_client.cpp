// SPDX-License-Identifier: MIT
// The libcurl implementation of ws::http::Client: one multi handle per client (so connections
// stay alive between calls), a fixed pool of easy handles (one per allowed transfer), and a timed
// queue for retries so that a request waiting out its backoff does not hold up the others.
#include <watchstate/core/text.hpp>
#include <watchstate/http/client.hpp>

#include <watchstate/core/abort.hpp>
#include <watchstate/core/buffer_slack.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/redact.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <deque>
#include <mutex>
#include <queue>
#include <utility>

namespace ws::http {
namespace {

using Clock = std::chrono::steady_clock;

// Pre-sizing a body from Content-Length is only a hint; never trust a server with more than this.
constexpr std::size_t k_max_reserve = std::size_t{64} << 20;
// How long one wait may last, so that an abort request is noticed quickly.
constexpr std::chrono::milliseconds k_poll_slice{100};

const char* method_name(Method method) noexcept {
  switch (method) {
  case Method::get: return "GET";
  case Method::head: return "HEAD";
  case Method::post: return "POST";
  case Method::put: return "PUT";
  case Method::del: return "DELETE";
  }
  return "GET";
}

TransportError classify(CURLcode code) noexcept {
  switch (code) {
  case CURLE_OK: return TransportError::none;
  case CURLE_COULDNT_CONNECT:
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY: return TransportError::connect;
  case CURLE_OPERATION_TIMEDOUT: return TransportError::timeout;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_USE_SSL_FAILED: return TransportError::tls;
  default: return TransportError::other;
  }
}

// TLS failures and mistakes on our side (a malformed URL, a full disk of memory) fail the same
// way every time; everything else below HTTP may be a passing network or server problem.
bool is_retryable_code(CURLcode code) noexcept {
  if (classify(code) == TransportError::tls) {
    return false;
  }
  switch (code) {
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
  case CURLE_NOT_BUILT_IN:
  case CURLE_OUT_OF_MEMORY:
  case CURLE_BAD_FUNCTION_ARGUMENT:
  case CURLE_FAILED_INIT:
  case CURLE_WRITE_ERROR:
  case CURLE_UNKNOWN_OPTION: return false;
  default: return true;
  }
}

// One transfer slot: an easy handle kept for the client's lifetime and what it is receiving.
struct Slot {
  CURL* easy = nullptr;
  bool busy = false;
  std::size_t index = 0;
  Method method = Method::get;
  Clock::time_point started;
  Response response;
  // The header list of the last request, kept because a backend sends the same headers on
  // every request: rebuilding it would cost one allocation per header per request.
  curl_slist* header_list = nullptr;
  std::vector<Header> header_list_source;
  bool header_list_has_body = false;
  std::array<char, CURL_ERROR_SIZE> error{};
};

extern "C" std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* slot = static_cast<Slot*>(user);
  const std::size_t bytes = size * count;
  try {
    slot->response.body.append(data, bytes);
  } catch (...) {
    return 0; // curl fails the transfer with CURLE_WRITE_ERROR
  }
  return bytes;
}

extern "C" std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* slot = static_cast<Slot*>(user);
  const std::size_t bytes = size * count;
  try {
    const std::string_view raw(data, bytes);
    auto& headers = slot->response.headers;
    if (raw.rfind("HTTP/", 0) == 0) {
      // A new status line (after "100 Continue", for one) starts a new header block.
      headers.clear();
      return bytes;
    }
    if (!raw.empty() && (raw.front() == ' ' || raw.front() == '\t')) {
      const std::string_view more = trim(raw);
      if (!headers.empty() && !more.empty()) {
        headers.back().value.append(" ").append(more);
      }
      return bytes;
    }
    const std::string_view line = trim(raw);
    const std::size_t colon = line.find(':');
    if (line.empty() || colon == std::string_view::npos) {
      return bytes;
    }
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (slot->method != Method::head && iequals(name, "Content-Length")) {
      std::size_t length = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (ec == std::errc() && end == value.data() + value.size()) {
        slot->response.body.reserve(std::min(length, k_max_reserve) + k_buffer_slack);
      }
    }
    headers.push_back(Header{std::string(name), std::string(value)});
  } catch (...) {
    return 0;
  }
  return bytes;
}

// The per-call state of send_all.
struct Run {
  std::vector<Request>& requests;
  const CompletionHandler& on_done;
  std::vector<int> attempts;
  std::size_t next_new = 0;      // first request never started
  std::deque<std::size_t> ready; // retries whose delay is over, oldest first
  using Due = std::pair<Clock::time_point, std::size_t>;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> waiting; // retries in backoff
  std::size_t done = 0;
};

// A multi handle with its slots. A client keeps one per nesting level of send_all (a completion
// handler may send requests of its own), so a nested call never sees the outer call's transfers.
class Engine {
public:
  Engine(const ClientOptions& options, std::uint64_t& sent, std::uint64_t& received)
      : m_options(options), m_sent(sent), m_received(received), m_multi(curl_multi_init()) {
    if (m_multi == nullptr) {
      throw Error(Errc::internal, "cannot create a libcurl multi handle");
    }
    const long concurrency = std::max(1, m_options.concurrency);
    curl_multi_setopt(m_multi, CURLMOPT_MAX_HOST_CONNECTIONS, concurrency);
    curl_multi_setopt(m_multi, CURLMOPT_MAXCONNECTS, concurrency * 2);
    m_slots.resize(static_cast<std::size_t>(concurrency));
  }

  ~Engine() {
    for (auto& slot : m_slots) {
      if (slot.busy) {
        curl_multi_remove_handle(m_multi, slot.easy);
      }
    }
    curl_multi_cleanup(m_multi);
    for (auto& slot : m_slots) {
      if (slot.easy != nullptr) {
        curl_easy_cleanup(slot.easy);
      }
      curl_slist_free_all(slot.header_list);
    }
  }

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void run(std::vector<Request>& requests, const CompletionHandler& on_done) {
    Run state{requests, on_done, std::vector<int>(requests.size(), 0), 0, {}, {}, 0};
    // A throwing completion handler must not leave transfers attached to the multi handle.
    struct Detach {
      Engine& engine;
      ~Detach() { engine.detach_all(); }
    } detach{*this};

    const std::size_t total = requests.size();
    while (state.done < total) {
      if (abort_requested()) {
        abort_all(state);
        break;
      }
      promote_due(state);
      start_transfers(state);
      int running = 0;
      curl_multi_perform(m_multi, &running);
      collect(state);
      promote_due(state);
      if (state.done >= total || abort_requested() || can_start(state)) {
        continue; // a finished transfer freed a slot: fill it before waiting
      }
      auto wait = k_poll_slice;
      if (!state.waiting.empty()) {
        const auto until =
            std::chrono::ceil<std::chrono::milliseconds>(state.waiting.top().first - Clock::now());
        wait = std::clamp(until, std::chrono::milliseconds(0), wait);
      }
      if (wait.count() > 0 || m_busy > 0) {
        curl_multi_poll(m_multi, nullptr, 0, static_cast<int>(wait.count()), nullptr);
      }
    }
  }

private:
  void detach_all() noexcept {
    for (auto& slot : m_slots) {
      if (slot.busy) {
        count_received(slot);
        curl_multi_remove_handle(m_multi, slot.easy);
        release(slot);
      }
    }
  }

  // Add what the slot's transfer received to the client's count. libcurl's own figures, read
  // once the attempt is over: CURLINFO_HEADER_SIZE (every status and header line received) and
  // CURLINFO_SIZE_DOWNLOAD_T (the body as it came off the wire: before gzip/deflate decoding,
  // which happens after libcurl counts; the few bytes of chunked framing are not in it). The
  // write callback sees decoded bytes, so counting there would report what a compressed answer
  // holds rather than what it cost.
  void count_received(Slot& slot) noexcept {
    long headers = 0;
    curl_off_t body = 0;
    if (curl_easy_getinfo(slot.easy, CURLINFO_HEADER_SIZE, &headers) == CURLE_OK && headers > 0) {
      m_received += static_cast<std::uint64_t>(headers);
    }
    if (curl_easy_getinfo(slot.easy, CURLINFO_SIZE_DOWNLOAD_T, &body) == CURLE_OK && body > 0) {
      m_received += static_cast<std::uint64_t>(body);
    }
  }

  void release(Slot& slot) noexcept {
    slot.busy = false;
    --m_busy;
    slot.response.status = 0;
    slot.response.headers.clear();
    slot.response.body.clear();
  }

  void promote_due(Run& run) {
    const auto now = Clock::now();
    while (!run.waiting.empty() && run.waiting.top().first <= now) {
      run.ready.push_back(run.waiting.top().second);
      run.waiting.pop();
    }
  }

  [[nodiscard]] bool can_start(const Run& run) const {
    if (m_busy >= m_slots.size()) {
      return false;
    }
    if (!run.ready.empty()) {
      return true;
    }
    const bool sequential = m_slots.size() == 1;
    return !(sequential && !run.waiting.empty()) && run.next_new < run.requests.size();
  }

  void start_transfers(Run& run) {
    const bool sequential = m_slots.size() == 1;
    while (m_busy < m_slots.size()) {
      std::size_t index = 0;
      if (!run.ready.empty()) {
        index = run.ready.front();
        run.ready.pop_front();
      } else if (sequential && !run.waiting.empty()) {
        break; // strict order: the next request waits until this one's retry is done
      } else if (run.next_new < run.requests.size()) {
        index = run.next_new++;
      } else {
        break;
      }
      start(run, free_slot(), index);
    }
  }

  Slot& free_slot() {
    for (auto& slot : m_slots) {
      if (!slot.busy) {
        return slot;
      }
    }
    throw Error(Errc::internal, "http: no free transfer slot");
  }

  void start(Run& run, Slot& slot, std::size_t index) {
    const Request& request = run.requests[index];
    ++run.attempts[index];
    ++m_sent;
    if (slot.easy == nullptr) {
      slot.easy = curl_easy_init();
      if (slot.easy == nullptr) {
        throw Error(Errc::internal, "cannot create a libcurl easy handle");
      }
    } else {
      curl_easy_reset(slot.easy);
    }
    slot.index = index;
    slot.method = request.method;
    slot.response.status = 0;
    slot.response.headers.clear();
    slot.response.body.clear();
    slot.error[0] = '\0';
    configure(slot, request);
    slot.busy = true;
    ++m_busy;
    slot.started = Clock::now();
    if (const CURLMcode rc = curl_multi_add_handle(m_multi, slot.easy); rc != CURLM_OK) {
      slot.busy = false;
      --m_busy;
      finish(run, slot, CURLE_FAILED_INIT);
    }
  }

  void configure(Slot& slot, const Request& request) {
    CURL* easy = slot.easy;
    curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PRIVATE, static_cast<void*>(&slot));
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(easy, CURLOPT_USERAGENT, m_options.user_agent.c_str());
    // gzip and deflate only: a server that prefers brotli (cpp-httplib does, at its slowest
    // quality) spends seconds compressing each 1 MB listing page, far more than it saves. On
    // loopback, "identity": compressing there costs both sides CPU for nothing. Either value
    // also has curl decode a compressed answer, asked for or not.
    const bool compress = m_options.compress_on_loopback || !is_loopback_url(request.url);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, compress ? "gzip, deflate" : "identity");
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    const auto timeout_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(m_options.timeout);
    const auto connect_ms = std::min(timeout_ms, std::chrono::milliseconds(30'000));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms.count()));
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_ms.count()));
    if (!m_options.verify_tls) {
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, static_cast<void*>(&slot));
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, static_cast<void*>(&slot));
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, slot.error.data());

    const bool with_body = request.method == Method::post || request.method == Method::put ||
                           (request.method != Method::head && !request.body.empty());
    switch (request.method) {
    case Method::get:
      if (with_body) {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "GET");
      }
      break;
    case Method::head: curl_easy_setopt(easy, CURLOPT_NOBODY, 1L); break;
    case Method::post: break;
    case Method::put: curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "PUT"); break;
    case Method::del: curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "DELETE"); break;
    }
    if (with_body) {
      // The body lives in the caller's request vector until send_all returns, so curl need not
      // copy it.
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.c_str());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, header_list(slot, request, with_body));
  }

  curl_slist* header_list(Slot& slot, const Request& request, bool with_body) {
    const bool same =
        slot.header_list_has_body == with_body &&
        slot.header_list_source.size() == request.headers.size() &&
        std::equal(request.headers.begin(), request.headers.end(), slot.header_list_source.begin(),
                   [](const Header& a, const Header& b) {
                     return a.name == b.name && a.value == b.value;
                   });
    if (same) {
      return slot.header_list;
    }
    curl_slist_free_all(slot.header_list);
    slot.header_list = nullptr;
    slot.header_list_source.clear();
    bool has_content_type = false;
    std::string line;
    for (const auto& h : request.headers) {
      has_content_type = has_content_type || iequals(h.name, "Content-Type");
      line.assign(h.name).append(": ").append(h.value);
      append_header(slot, line.c_str());
    }
    if (with_body) {
      // curl would otherwise label every body as a form and hold bodies over 1 KiB back
      // waiting for "100 Continue".
      if (!has_content_type) {
        append_header(slot, "Content-Type:");
      }
      append_header(slot, "Expect:");
    }
    slot.header_list_source = request.headers;
    slot.header_list_has_body = with_body;
    return slot.header_list;
  }

  static void append_header(Slot& slot, const char* line) {
    curl_slist* grown = curl_slist_append(slot.header_list, line);
    if (grown == nullptr) {
      throw std::bad_alloc();
    }
    slot.header_list = grown;
  }

  void collect(Run& run) {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(m_multi, &left)) {
      if (msg->msg != CURLMSG_DONE) {
        continue;
      }
      // The message is invalid once its handle is removed: copy what is needed first.
      CURL* easy = msg->easy_handle;
      const CURLcode code = msg->data.result;
      void* user = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &user);
      auto* slot = static_cast<Slot*>(user);
      curl_multi_remove_handle(m_multi, easy);
      slot->busy = false;
      --m_busy;
      finish(run, *slot, code);
    }
  }

  // Decide what an attempt that just ended means: retry it later, or complete the request.
  void finish(Run& run, Slot& slot, CURLcode code) {
    const std::size_t index = slot.index;
    const Request& request = run.requests[index];
    const int attempt = run.attempts[index];
    count_received(slot);
    long status = 0;
    if (code == CURLE_OK) {
      curl_easy_getinfo(slot.easy, CURLINFO_RESPONSE_CODE, &status);
      slot.response.status = status;
    }
    const bool debug = log::level() >= log::Level::debug;
    if (debug) {
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - slot.started);
      log::debug("http: {} {} -> {} in {} ms (attempt {})", method_name(request.method),
                 redact(request.url),
                 code == CURLE_OK ? std::to_string(status) : curl_easy_strerror(code), ms.count(),
                 attempt);
    }

    const bool retryable =
        request.retry ? (code == CURLE_OK ? is_retryable_status(status) : is_retryable_code(code))
                      : code == CURLE_COULDNT_CONNECT;
    if (retryable && attempt <= m_options.retries) {
      const auto delay =
          retry_delay(m_options, attempt,
                      code == CURLE_OK ? slot.response.header("Retry-After") : std::string_view{});
      if (debug) {
        log::debug("http: retrying {} {} in {} ms", method_name(request.method),
                   redact(request.url), delay.count());
      }
      slot.response.headers.clear();
      slot.response.body.clear();
      if (delay.count() <= 0) {
        run.ready.push_back(index);
      } else {
        run.waiting.emplace(Clock::now() + delay, index);
      }
      return;
    }

    Outcome outcome;
    outcome.attempts = attempt;
    if (code == CURLE_OK) {
      outcome.response = std::move(slot.response);
      slot.response = Response{};
    } else {
      outcome.error = classify(code);
      const char* detail = slot.error[0] != '\0' ? slot.error.data() : curl_easy_strerror(code);
      outcome.error_message =
          redact(fmt::format("{} {}: {}", method_name(request.method), request.url, detail));
      slot.response.headers.clear();
      slot.response.body.clear();
    }
    ++run.done;
    run.on_done(index, outcome);
  }

  void complete_aborted(Run& run, std::size_t index) {
    Outcome outcome;
    outcome.error = TransportError::aborted;
    outcome.error_message = redact(fmt::format(
        "{} {}: aborted", method_name(run.requests[index].method), run.requests[index].url));
    outcome.attempts = run.attempts[index];
    ++run.done;
    run.on_done(index, outcome);
  }

  void abort_all(Run& run) {
    std::vector<std::size_t> pending;
    for (auto& slot : m_slots) {
      if (slot.busy) {
        count_received(slot);
        curl_multi_remove_handle(m_multi, slot.easy);
        release(slot);
        pending.push_back(slot.index);
      }
    }
    pending.insert(pending.end(), run.ready.begin(), run.ready.end());
    run.ready.clear();
    while (!run.waiting.empty()) {
      pending.push_back(run.waiting.top().second);
      run.waiting.pop();
    }
    while (run.next_new < run.requests.size()) {
      pending.push_back(run.next_new++);
    }
    for (std::size_t index : pending) {
      complete_aborted(run, index);
    }
  }

  const ClientOptions& m_options;
  std::uint64_t& m_sent;
  std::uint64_t& m_received;
  CURLM* m_multi;
  std::vector<Slot> m_slots;
  std::size_t m_busy = 0;
};

class CurlClient final : public Client {
public:
  explicit CurlClient(const ClientOptions& options) : m_options(options) {
    m_options.concurrency = std::max(1, m_options.concurrency);
    m_options.retries = std::max(0, m_options.retries);
    m_engines.push_back(std::make_unique<Engine>(m_options, m_sent, m_received));
  }

  void send_all(std::vector<Request> requests, const CompletionHandler& on_done) override {
    if (requests.empty()) {
      return;
    }
    if (m_engines.size() <= m_depth) {
      m_engines.push_back(std::make_unique<Engine>(m_options, m_sent, m_received));
    }
    Engine& engine = *m_engines[m_depth];
    ++m_depth;
    struct Leave {
      std::size_t& depth;
      ~Leave() { --depth; }
    } leave{m_depth};
    engine.run(requests, on_done);
  }

  [[nodiscard]] std::uint64_t requests_sent() const override { return m_sent; }
  [[nodiscard]] std::uint64_t bytes_received() const override { return m_received; }

private:
  ClientOptions m_options;
  std::uint64_t m_sent = 0;
  std::uint64_t m_received = 0;
  std::size_t m_depth = 0;
  std::vector<std::unique_ptr<Engine>> m_engines;
};

std::once_flag g_init_once;

} // namespace

void global_init() {
  static CURLcode result = CURLE_OK;
  std::call_once(g_init_once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK) {
    throw Error(Errc::internal,
                fmt::format("cannot initialise libcurl: {}", curl_easy_strerror(result)));
  }
}

std::string curl_version() {
  const auto* info = curl_version_info(CURLVERSION_NOW);
  if (info == nullptr) {
    return "?";
  }
  std::string version = info->version != nullptr ? info->version : "?";
  if (info->ssl_version != nullptr) {
    version += fmt::format(" ({})", info->ssl_version);
  }
  return version;
}

std::unique_ptr<Client> make_curl_client(const ClientOptions& options) {
  global_init();
  return std::make_unique<CurlClient>(options);
}

} // namespace ws::http
