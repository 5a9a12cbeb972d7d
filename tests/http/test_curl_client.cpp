// SPDX-License-Identifier: MIT
// The libcurl client against an in-process httplib server on 127.0.0.1 (an ephemeral port).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <watchstate/core/abort.hpp>
#include <watchstate/http/client.hpp>

#include <httplib.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using ws::http::Method;
using ws::http::Outcome;
using ws::http::Request;
using ws::http::TransportError;
using Clock = std::chrono::steady_clock;

namespace {

// An httplib server on 127.0.0.1 with handlers installed by the test, stopped on destruction.
class TestServer {
public:
  template <typename Setup> explicit TestServer(Setup&& setup) {
    setup(m_server);
    m_server.set_keep_alive_max_count(10000);
    m_server.set_tcp_nodelay(true);
    m_port = m_server.bind_to_any_port("127.0.0.1");
    if (m_port <= 0) {
      throw std::runtime_error("cannot bind the test server");
    }
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    for (int i = 0; i < 500 && !m_server.is_running(); ++i) {
      std::this_thread::sleep_for(2ms);
    }
  }
  ~TestServer() {
    m_server.stop();
    m_thread.join();
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  [[nodiscard]] std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(m_port) + path;
  }

private:
  httplib::Server m_server;
  int m_port = 0;
  std::thread m_thread;
};

ws::http::ClientOptions test_options(int concurrency = 4) {
  ws::http::ClientOptions options;
  options.concurrency = concurrency;
  options.timeout = 5s;
  options.retries = 2;
  options.backoff = 10ms;
  options.max_retry_after = 5s;
  options.user_agent = "watchstate-test/1";
  return options;
}

std::unique_ptr<ws::http::Client> make_client(const ws::http::ClientOptions& options) {
  ws::http::global_init();
  return ws::http::make_curl_client(options);
}

Request get(const std::string& url) {
  Request request;
  request.url = url;
  return request;
}

// Send `requests` and return the outcomes by index, checking each completes exactly once.
std::vector<Outcome> send_all(ws::http::Client& client, std::vector<Request> requests,
                              std::vector<std::size_t>* order = nullptr) {
  std::vector<Outcome> outcomes(requests.size());
  std::vector<int> calls(requests.size(), 0);
  client.send_all(std::move(requests), [&](std::size_t index, Outcome& outcome) {
    ++calls.at(index);
    outcomes.at(index) = std::move(outcome);
    if (order != nullptr) {
      order->push_back(index);
    }
  });
  for (int count : calls) {
    REQUIRE(count == 1);
  }
  return outcomes;
}

// Counts how often each path was requested.
class Hits {
public:
  int add(const std::string& path) {
    std::lock_guard lock(m_mutex);
    return ++m_hits[path];
  }
  int get(const std::string& path) {
    std::lock_guard lock(m_mutex);
    return m_hits[path];
  }

private:
  std::mutex m_mutex;
  std::map<std::string, int> m_hits;
};

std::uint32_t crc32(const std::string& data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
  }
  return ~crc;
}

// A gzip member holding `data` in one stored (uncompressed) deflate block (RFC 1951/1952).
std::string gzip_stored(const std::string& data) {
  REQUIRE(data.size() < 65536);
  std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  const auto len = static_cast<std::uint16_t>(data.size());
  const auto nlen = static_cast<std::uint16_t>(~len);
  out.push_back('\x01');
  for (std::uint16_t v : {len, nlen}) {
    out.push_back(static_cast<char>(v & 0xFF));
    out.push_back(static_cast<char>(v >> 8));
  }
  out += data;
  for (std::uint32_t v : {crc32(data), static_cast<std::uint32_t>(data.size())}) {
    for (int shift = 0; shift < 32; shift += 8) {
      out.push_back(static_cast<char>((v >> shift) & 0xFF));
    }
  }
  return out;
}

// A port on 127.0.0.1 that refuses connections: bound, never listening, held for the test.
class RefusingPort {
public:
  RefusingPort() : m_fd(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t size = sizeof addr;
    if (m_fd < 0 || ::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
      throw std::runtime_error("cannot reserve a port");
    }
    m_port = ntohs(addr.sin_port);
  }
  ~RefusingPort() { ::close(m_fd); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  [[nodiscard]] int port() const { return m_port; }

private:
  int m_fd;
  int m_port = 0;
};

// A server on 127.0.0.1 answering each request, on kept-alive connections, with the next of
// `responses` exactly as given (status line, headers and body, already encoded): so that a test
// knows to the byte what went over the wire. Requests are read up to their blank line (the
// client sends GETs without a body).
class RawServer {
public:
  explicit RawServer(std::vector<std::string> responses)
      : m_responses(std::move(responses)), m_listen(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof addr;
    if (m_listen < 0 || ::bind(m_listen, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(m_listen, 8) != 0 ||
        ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
      throw std::runtime_error("cannot start the raw test server");
    }
    m_port = ntohs(addr.sin_port);
    m_thread = std::thread([this] { serve(); });
  }
  ~RawServer() {
    m_stop = true;
    m_thread.join();
    ::close(m_listen);
  }
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;

  [[nodiscard]] std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(m_port) + path;
  }
  // Bytes of responses written so far.
  [[nodiscard]] std::uint64_t written() const { return m_written; }

private:
  void serve() {
    std::map<int, std::string> pending; // connection -> what it sent that is not answered yet
    std::size_t next = 0;
    while (!m_stop) {
      std::vector<pollfd> fds{{m_listen, POLLIN, 0}};
      for (const auto& [fd, unused] : pending) {
        fds.push_back({fd, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 20) <= 0) {
        continue;
      }
      if ((fds[0].revents & POLLIN) != 0) {
        if (const int fd = ::accept(m_listen, nullptr, nullptr); fd >= 0) {
          pending[fd];
        }
      }
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
          continue;
        }
        std::array<char, 4096> buffer{};
        const auto got = ::read(fds[i].fd, buffer.data(), buffer.size());
        if (got <= 0) {
          ::close(fds[i].fd);
          pending.erase(fds[i].fd);
          continue;
        }
        auto& request = pending[fds[i].fd];
        request.append(buffer.data(), static_cast<std::size_t>(got));
        for (auto end = request.find("\r\n\r\n"); end != std::string::npos;
             end = request.find("\r\n\r\n")) {
          request.erase(0, end + 4);
          const std::string& response = m_responses.at(std::min(next++, m_responses.size() - 1));
          // Counted before the write: the client may have read the response and the test asked
          // written() before this thread returns from write (a CI run saw exactly that).
          m_written += response.size();
          std::size_t sent = 0;
          while (sent < response.size()) {
            const auto n = ::write(fds[i].fd, response.data() + sent, response.size() - sent);
            if (n <= 0) {
              break;
            }
            sent += static_cast<std::size_t>(n);
          }
          m_written -= response.size() - sent; // what could not be written after all
        }
      }
    }
    for (const auto& [fd, unused] : pending) {
      ::close(fd);
    }
  }

  std::vector<std::string> m_responses;
  int m_listen;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  std::atomic<std::uint64_t> m_written{0};
  std::thread m_thread;
};

} // namespace

TEST_CASE("http::curl respects the concurrency bound", "[http][curl]") {
  std::atomic<int> active{0};
  std::atomic<int> peak{0};
  std::mutex order_mutex;
  std::vector<std::string> arrivals;
  TestServer server([&](httplib::Server& s) {
    s.Get("/slow", [&](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard lock(order_mutex);
        arrivals.push_back(req.get_param_value("i"));
      }
      const int now = ++active;
      int seen = peak.load();
      while (now > seen && !peak.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(60ms);
      --active;
      res.set_content("slow " + req.get_param_value("i"), "text/plain");
    });
  });

  for (int concurrency : {1, 3}) {
    INFO("concurrency " << concurrency);
    active = 0;
    peak = 0;
    arrivals.clear();
    auto client = make_client(test_options(concurrency));
    std::vector<Request> requests;
    for (int i = 0; i < 9; ++i) {
      requests.push_back(get(server.url("/slow?i=" + std::to_string(i))));
    }
    std::vector<std::size_t> order;
    const auto outcomes = send_all(*client, std::move(requests), &order);
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      CHECK(outcomes[i].ok());
      CHECK(outcomes[i].attempts == 1);
      CHECK(outcomes[i].response.body == "slow " + std::to_string(i));
    }
    CHECK(peak.load() <= concurrency);
    CHECK(client->requests_sent() == 9);
    if (concurrency == 1) {
      CHECK(peak.load() == 1);
      CHECK(order == std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8});
      CHECK(arrivals == std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8"});
    } else {
      CHECK(peak.load() >= 2);
    }
  }
}

TEST_CASE("http::curl retries 503 and 429, honouring Retry-After", "[http][curl]") {
  Hits hits;
  TestServer server([&](httplib::Server& s) {
    s.Get("/unavailable", [&](const httplib::Request&, httplib::Response& res) {
      if (hits.add("/unavailable") == 1) {
        res.status = 503;
        res.set_header("Retry-After", "0");
        res.set_content("busy", "text/plain");
        return;
      }
      res.set_content("ok", "text/plain");
    });
    s.Get("/limited", [&](const httplib::Request&, httplib::Response& res) {
      if (hits.add("/limited") <= 2) {
        res.status = 429;
        res.set_header("Retry-After", "0");
        return;
      }
      res.set_content("fine", "text/plain");
    });
  });
  auto client = make_client(test_options());

  Outcome unavailable = client->send(get(server.url("/unavailable")));
  CHECK(unavailable.ok());
  CHECK(unavailable.attempts == 2);
  CHECK(unavailable.response.body == "ok");
  CHECK(hits.get("/unavailable") == 2);

  Outcome limited = client->send(get(server.url("/limited")));
  CHECK(limited.ok());
  CHECK(limited.attempts == 3);
  CHECK(limited.response.body == "fine");
  CHECK(client->requests_sent() == 5);
}

TEST_CASE("http::curl returns the last 5xx once retries are exhausted", "[http][curl]") {
  Hits hits;
  TestServer server([&](httplib::Server& s) {
    s.Get("/broken", [&](const httplib::Request&, httplib::Response& res) {
      hits.add("/broken");
      res.status = 500;
      res.set_content("{\"error\":\"boom\"}", "application/json");
    });
    s.Get("/missing", [&](const httplib::Request&, httplib::Response& res) {
      hits.add("/missing");
      res.status = 404;
    });
    s.Get("/notimpl", [&](const httplib::Request&, httplib::Response& res) {
      hits.add("/notimpl");
      res.status = 501;
    });
  });
  auto options = test_options();
  options.retries = 3;
  auto client = make_client(options);

  const Outcome broken = client->send(get(server.url("/broken")));
  CHECK(broken.transport_ok());
  CHECK_FALSE(broken.ok());
  CHECK(broken.response.status == 500);
  CHECK(broken.response.body == "{\"error\":\"boom\"}");
  CHECK(broken.attempts == 4);
  CHECK(hits.get("/broken") == 4);

  const Outcome missing = client->send(get(server.url("/missing")));
  CHECK(missing.response.status == 404);
  CHECK(missing.attempts == 1);
  const Outcome notimpl = client->send(get(server.url("/notimpl")));
  CHECK(notimpl.response.status == 501);
  CHECK(notimpl.attempts == 1);
  CHECK(client->requests_sent() == 6);
}

TEST_CASE("http::curl sends a request that must not be repeated once", "[http][curl]") {
  Hits hits;
  TestServer server([&](httplib::Server& s) {
    s.Post("/create", [&](const httplib::Request&, httplib::Response& res) {
      hits.add("/create");
      res.status = 503;
    });
  });
  auto options = test_options();
  options.retries = 3;
  auto client = make_client(options);
  Request once = get(server.url("/create"));
  once.method = Method::post;
  once.retry = false;
  const Outcome outcome = client->send(once);
  CHECK(outcome.response.status == 503);
  CHECK(outcome.attempts == 1);
  CHECK(hits.get("/create") == 1);
  once.retry = true;
  CHECK(client->send(once).attempts == 4);
}

TEST_CASE("http::curl keeps other requests flowing while a retry waits", "[http][curl]") {
  Hits hits;
  TestServer server([&](httplib::Server& s) {
    s.Get("/later", [&](const httplib::Request&, httplib::Response& res) {
      if (hits.add("/later") == 1) {
        res.status = 503;
        res.set_header("Retry-After", "1");
        return;
      }
      res.set_content("later", "text/plain");
    });
    s.Get("/fast", [&](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(20ms);
      res.set_content("fast", "text/plain");
    });
  });
  auto client = make_client(test_options(2));
  std::vector<Request> requests;
  requests.push_back(get(server.url("/later")));
  for (int i = 0; i < 6; ++i) {
    requests.push_back(get(server.url("/fast")));
  }
  const auto start = Clock::now();
  std::vector<Clock::duration> finished(requests.size());
  std::vector<Outcome> outcomes(requests.size());
  client->send_all(std::move(requests), [&](std::size_t index, Outcome& outcome) {
    finished.at(index) = Clock::now() - start;
    outcomes.at(index) = std::move(outcome);
  });
  CHECK(outcomes[0].ok());
  CHECK(outcomes[0].attempts == 2);
  CHECK(finished[0] >= 900ms);
  for (std::size_t i = 1; i < outcomes.size(); ++i) {
    INFO(i);
    CHECK(outcomes[i].ok());
    CHECK(finished[i] < 800ms);
  }
}

TEST_CASE("http::curl reports a timeout", "[http][curl]") {
  Hits hits;
  TestServer server([&](httplib::Server& s) {
    s.Get("/sleepy", [&](const httplib::Request&, httplib::Response& res) {
      hits.add("/sleepy");
      std::this_thread::sleep_for(1300ms);
      res.set_content("too late", "text/plain");
    });
  });
  auto options = test_options();
  options.timeout = 1s;
  options.retries = 1;
  auto client = make_client(options);
  const auto start = Clock::now();
  const Outcome outcome = client->send(get(server.url("/sleepy?X-Plex-Token=sleepysecret42")));
  const auto elapsed = Clock::now() - start;
  CHECK(outcome.error == TransportError::timeout);
  CHECK(outcome.attempts == 2);
  CHECK(hits.get("/sleepy") == 2);
  CHECK(elapsed >= 1900ms);
  CHECK(elapsed < 4s);
  CHECK_FALSE(outcome.error_message.empty());
  CHECK(outcome.error_message.find("sleepysecret42") == std::string::npos);
}

TEST_CASE("http::curl reports a refused connection without leaking the token", "[http][curl]") {
  RefusingPort refusing;
  auto options = test_options();
  options.retries = 2;
  auto client = make_client(options);
  const std::string url = "http://127.0.0.1:" + std::to_string(refusing.port()) +
                          "/library/sections?X-Plex-Token=refusedsecret99";
  const Outcome outcome = client->send(get(url));
  CHECK(outcome.error == TransportError::connect);
  CHECK(outcome.attempts == 3);
  CHECK(client->requests_sent() == 3);
  INFO(outcome.error_message);
  CHECK(outcome.error_message.find("refusedsecret99") == std::string::npos);
  CHECK(outcome.error_message.find("<redacted>") != std::string::npos);
  CHECK(outcome.error_message.find("/library/sections") != std::string::npos);
}

TEST_CASE("http::is_loopback_url names this machine only", "[http]") {
  for (const char* url :
       {"http://127.0.0.1:32400/x", "http://localhost/", "https://LOCALHOST:8096",
        "http://127.1.2.3:80", "http://[::1]:8096/web", "http://u:p@127.0.0.1/"}) {
    INFO(url);
    CHECK(ws::http::is_loopback_url(url));
  }
  for (const char* url :
       {"http://192.168.1.2:32400/", "http://127.0.0.1.example.com/", "http://localhost.example/",
        "http://128.0.0.1/", "http://[::2]/", "http://127.0.0.256/", "http://127.0.0/",
        "127.0.0.1:32400", "http://example.com/?next=http://127.0.0.1/"}) {
    INFO(url);
    CHECK_FALSE(ws::http::is_loopback_url(url));
  }
}

TEST_CASE("http::curl decodes gzip bodies", "[http][curl]") {
  const std::string payload = R"({"MediaContainer":{"size":3,"title":"gzip works"}})";
  std::string accept_encoding;
  TestServer server([&](httplib::Server& s) {
    s.Get("/gz", [&](const httplib::Request& req, httplib::Response& res) {
      accept_encoding = req.get_header_value("Accept-Encoding");
      // A non-text type keeps httplib from compressing the body a second time.
      res.set_header("Content-Encoding", "gzip");
      res.set_content(gzip_stored(payload), "application/octet-stream");
    });
    s.Get("/big", [&](const httplib::Request&, httplib::Response& res) {
      std::string body(300'000, 'x');
      for (std::size_t i = 0; i < body.size(); i += 97) {
        body[i] = static_cast<char>('a' + (i % 26));
      }
      res.set_content(body, "application/json"); // httplib compresses this one itself
    });
  });
  auto options = test_options();
  options.compress_on_loopback = true; // as for a server on another machine
  auto client = make_client(options);
  const Outcome outcome = client->send(get(server.url("/gz")));
  REQUIRE(outcome.ok());
  CHECK(outcome.response.body == payload);
  CHECK(outcome.response.header("content-encoding") == "gzip");
  CHECK(accept_encoding.find("gzip") != std::string::npos);
  CHECK(accept_encoding.find("deflate") != std::string::npos);

  SECTION("a server on this machine is asked for no compression, and decoded if it sends some") {
    auto local = make_client(test_options());
    const Outcome plain = local->send(get(server.url("/gz")));
    REQUIRE(plain.ok());
    CHECK(accept_encoding == "identity");
    CHECK(plain.response.body == payload);
  }

  const Outcome big = client->send(get(server.url("/big")));
  REQUIRE(big.ok());
  REQUIRE(big.response.body.size() == 300'000);
  CHECK(big.response.body[97] == 'a' + (97 % 26));
  CHECK(big.response.body[1] == 'x');
}

TEST_CASE("http::curl reuses connections", "[http][curl]") {
  std::mutex mutex;
  std::set<int> ports;
  int count = 0;
  TestServer server([&](httplib::Server& s) {
    s.Get("/page", [&](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard lock(mutex);
        ports.insert(req.remote_port);
        ++count;
      }
      res.set_content("{}", "application/json");
    });
  });

  for (int concurrency : {1, 3}) {
    INFO("concurrency " << concurrency);
    {
      std::lock_guard lock(mutex);
      ports.clear();
      count = 0;
    }
    auto client = make_client(test_options(concurrency));
    const auto start = Clock::now();
    // Two calls: connections must also survive between send_all calls.
    for (int call = 0; call < 2; ++call) {
      std::vector<Request> requests;
      for (int i = 0; i < 40; ++i) {
        requests.push_back(get(server.url("/page?start=" + std::to_string(i * 100))));
      }
      for (const auto& outcome : send_all(*client, std::move(requests))) {
        CHECK(outcome.ok());
      }
    }
    // A loop that idles between transfers instead of starting the next one shows up here.
    CHECK(Clock::now() - start < 2s);
    std::lock_guard lock(mutex);
    CHECK(count == 80);
    CHECK(ports.size() <= static_cast<std::size_t>(concurrency));
  }
}

TEST_CASE("http::curl sends methods, bodies and headers", "[http][curl]") {
  struct Seen {
    std::string method, body, content_type, custom, user_agent, expect, auth;
    bool has_content_type = false;
  };
  std::mutex mutex;
  std::vector<Seen> seen;
  const auto record = [&](const httplib::Request& req, httplib::Response& res) {
    Seen s{req.method,
           req.body,
           req.get_header_value("Content-Type"),
           req.get_header_value("X-Test"),
           req.get_header_value("User-Agent"),
           req.get_header_value("Expect"),
           req.get_header_value("Authorization"),
           req.has_header("Content-Type")};
    std::lock_guard lock(mutex);
    seen.push_back(s);
    res.set_header("X-Echo-Method", req.method);
    res.set_content("echo:" + req.body, "text/plain");
  };
  TestServer server([&](httplib::Server& s) {
    s.Post("/echo", record);
    s.Put("/echo", record);
    s.Delete("/echo", record);
    s.Get("/echo", record);
  });
  auto client = make_client(test_options(1));

  const std::string big_body(5000, 'b'); // over 1 KiB: must not wait for "100 Continue"
  std::vector<Request> requests(5);
  requests[0].method = Method::post;
  requests[0].url = server.url("/echo");
  requests[0].body = R"({"played":true})";
  requests[0].headers = {{"Content-Type", "application/json"},
                         {"X-Test", "yes"},
                         {"Authorization", R"(MediaBrowser Token="abc")"}};
  requests[1].method = Method::post; // empty body, no content type
  requests[1].url = server.url("/echo");
  requests[2].method = Method::put;
  requests[2].url = server.url("/echo");
  requests[2].body = big_body;
  requests[2].headers = {{"Content-Type", "text/plain"}};
  requests[3].method = Method::del;
  requests[3].url = server.url("/echo");
  requests[4].method = Method::head;
  requests[4].url = server.url("/echo");
  const auto start = Clock::now();
  const auto outcomes = send_all(*client, std::move(requests));
  CHECK(Clock::now() - start < 900ms);
  for (const auto& outcome : outcomes) {
    CHECK(outcome.ok());
  }
  CHECK(outcomes[0].response.body == R"(echo:{"played":true})");
  CHECK(outcomes[2].response.body == "echo:" + big_body);
  CHECK(outcomes[4].response.header("X-Echo-Method") == "HEAD");
  CHECK(outcomes[4].response.body.empty());

  std::lock_guard lock(mutex);
  REQUIRE(seen.size() == 5);
  CHECK(seen[0].method == "POST");
  CHECK(seen[0].body == R"({"played":true})");
  CHECK(seen[0].content_type == "application/json");
  CHECK(seen[0].custom == "yes");
  CHECK(seen[0].auth == R"(MediaBrowser Token="abc")");
  CHECK(seen[0].user_agent == "watchstate-test/1");
  CHECK(seen[1].method == "POST");
  CHECK(seen[1].body.empty());
  CHECK_FALSE(seen[1].has_content_type);
  CHECK(seen[2].method == "PUT");
  CHECK(seen[2].body == big_body);
  CHECK(seen[2].content_type == "text/plain");
  CHECK(seen[2].expect.empty());
  CHECK(seen[3].method == "DELETE");
  CHECK(seen[3].body.empty());
  CHECK(seen[4].method == "HEAD");
}

TEST_CASE("http::curl abort ends send_all promptly", "[http][curl]") {
  std::atomic<bool> release{false};
  TestServer server([&](httplib::Server& s) {
    s.Get("/hang", [&](const httplib::Request&, httplib::Response& res) {
      for (int i = 0; i < 250 && !release; ++i) {
        std::this_thread::sleep_for(20ms);
      }
      res.set_content("done", "text/plain");
    });
    s.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok", "text/plain");
    });
  });
  ws::clear_abort();
  auto client = make_client(test_options(2));

  std::vector<Request> requests;
  for (int i = 0; i < 6; ++i) {
    requests.push_back(get(server.url("/hang")));
  }
  std::thread aborter([] {
    std::this_thread::sleep_for(200ms);
    ws::request_abort();
  });
  const auto start = Clock::now();
  const auto outcomes = send_all(*client, std::move(requests));
  const auto elapsed = Clock::now() - start;
  aborter.join();
  ws::clear_abort();
  release = true;
  CHECK(elapsed < 1s);
  int sent = 0;
  for (const auto& outcome : outcomes) {
    CHECK(outcome.error == TransportError::aborted);
    sent += outcome.attempts;
  }
  CHECK(sent == 2); // two were in flight, four never left the queue

  // An abort requested before the call completes everything without sending anything.
  ws::request_abort();
  const auto none = send_all(*client, {get(server.url("/ok")), get(server.url("/ok"))});
  ws::clear_abort();
  for (const auto& outcome : none) {
    CHECK(outcome.error == TransportError::aborted);
    CHECK(outcome.attempts == 0);
  }

  // The client stays usable.
  const Outcome after = client->send(get(server.url("/ok")));
  CHECK(after.ok());
  CHECK(after.response.body == "ok");
}

TEST_CASE("http::curl survives a throwing handler and nested calls", "[http][curl]") {
  TestServer server([&](httplib::Server& s) {
    s.Get("/item", [](const httplib::Request& req, httplib::Response& res) {
      std::this_thread::sleep_for(10ms);
      res.set_content("item " + req.get_param_value("i"), "text/plain");
    });
  });
  auto client = make_client(test_options(2));

  std::vector<Request> requests;
  for (int i = 0; i < 4; ++i) {
    requests.push_back(get(server.url("/item?i=" + std::to_string(i))));
  }
  CHECK_THROWS_AS(client->send_all(std::move(requests),
                                   [](std::size_t, Outcome&) { throw std::logic_error("no"); }),
                  std::logic_error);

  // A handler may send requests of its own on the same client.
  std::vector<std::string> nested;
  std::vector<Request> outer;
  for (int i = 0; i < 3; ++i) {
    outer.push_back(get(server.url("/item?i=" + std::to_string(i))));
  }
  client->send_all(std::move(outer), [&](std::size_t index, Outcome& outcome) {
    CHECK(outcome.ok());
    const Outcome inner = client->send(get(server.url("/item?i=" + std::to_string(100 + index))));
    nested.push_back(inner.response.body);
  });
  std::sort(nested.begin(), nested.end());
  CHECK(nested == std::vector<std::string>{"item 100", "item 101", "item 102"});
}

TEST_CASE("http::curl counts the bytes it received", "[http][curl]") {
  // What the server sends, byte for byte: a 503 that is retried, a gzip body (counted as it came
  // off the wire, not as decoded), a plain body with a long header.
  const std::string payload(2000, 'p');
  const std::string gzipped = gzip_stored(payload);
  const std::vector<std::string> responses{
      "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\nContent-Length: 4\r\n\r\nbusy",
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
      "Content-Length: " +
          std::to_string(gzipped.size()) + "\r\n\r\n" + gzipped,
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Padding: " + std::string(300, 'h') +
          "\r\nContent-Length: 10\r\n\r\n0123456789",
  };
  std::uint64_t total = 0;
  for (const auto& r : responses) {
    total += r.size();
  }
  RawServer server(responses);
  auto client = make_client(test_options(1));
  CHECK(client->bytes_received() == 0);

  const Outcome first = client->send(get(server.url("/listing")));
  REQUIRE(first.ok());
  CHECK(first.attempts == 2);
  const Outcome second = client->send(get(server.url("/other")));
  REQUIRE(second.ok());
  CHECK(second.response.body == "0123456789");

  // Exactly what was sent: both attempts of the first request, every status and header line,
  // and the gzip body as sent (decoded it is 23 bytes shorter, so counting decoded bytes, or
  // leaving out the headers or the retried attempt, would not add up).
  CHECK(server.written() == total);
  CHECK(client->bytes_received() == total);
  CHECK(client->requests_sent() == 3);
}
