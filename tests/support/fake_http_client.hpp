// SPDX-License-Identifier: MIT
// A scripted ws::http::Client for unit tests: answers by method + path (+ query substrings) and
// records every request. Header-only so any test can use it.
#pragma once

#include <watchstate/http/client.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ws::test {

// The path of an absolute or relative URL: "http://h:1/a/b?x=1" -> "/a/b".
inline std::string url_path(std::string_view url) {
  if (const auto scheme = url.find("://"); scheme != std::string_view::npos) {
    const auto slash = url.find('/', scheme + 3);
    url = slash == std::string_view::npos ? std::string_view("/") : url.substr(slash);
  }
  return std::string(url.substr(0, std::min(url.find('?'), url.find('#'))));
}

// The query of a URL without the '?': "http://h/a?x=1&y=2" -> "x=1&y=2".
inline std::string url_query(std::string_view url) {
  const auto q = url.find('?');
  if (q == std::string_view::npos) {
    return {};
  }
  const auto rest = url.substr(q + 1);
  return std::string(rest.substr(0, rest.find('#')));
}

// The raw (not decoded) value of query parameter `name`, nullopt when absent.
inline std::optional<std::string> query_param(std::string_view url, std::string_view name) {
  const std::string query = url_query(url);
  std::string_view rest = query;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string() : std::string(pair.substr(eq + 1));
    }
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
  }
  return std::nullopt;
}

// The value of request header `name` (case-insensitive), nullopt when absent.
inline std::optional<std::string> header_of(const std::vector<http::Header>& headers,
                                            std::string_view name) {
  for (const auto& header : headers) {
    if (header.name.size() == name.size() &&
        std::equal(header.name.begin(), header.name.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return header.value;
    }
  }
  return std::nullopt;
}

inline http::Response json_response(std::string body, long status = 200,
                                    std::vector<http::Header> headers = {}) {
  http::Response response;
  response.status = status;
  response.headers = std::move(headers);
  response.headers.push_back({"Content-Type", "application/json"});
  response.body = std::move(body);
  return response;
}

inline http::Response text_response(long status, std::string body = {}) {
  http::Response response;
  response.status = status;
  response.headers.push_back({"Content-Type", "text/plain"});
  response.body = std::move(body);
  return response;
}

class FakeHttpClient final : public http::Client {
public:
  using Responder = std::function<http::Outcome(const http::Request&)>;

  // A route: method + exact path + substrings the query must all contain. When several routes
  // match, the one with the most query substrings wins, then the earliest added. A route with
  // `times` > 0 answers that many requests and then stops matching.
  struct Route {
    http::Method method = http::Method::get;
    std::string path;
    std::vector<std::string> query_contains;
    Responder responder;
    int times = 0; // 0 = unlimited
    int used = 0;
  };

  // Answer `method path` whose query contains every string of `query_contains`.
  FakeHttpClient& on(http::Method method, std::string path, std::vector<std::string> query_contains,
                     http::Response response, int times = 0) {
    return on_call(
        method, std::move(path), std::move(query_contains),
        [response = std::move(response)](const http::Request&) {
          http::Outcome outcome;
          outcome.response = response;
          return outcome;
        },
        times);
  }
  FakeHttpClient& on(http::Method method, std::string path, http::Response response,
                     int times = 0) {
    return on(method, std::move(path), {}, std::move(response), times);
  }
  FakeHttpClient& on_get(std::string path, std::vector<std::string> query_contains,
                         std::string json_body) {
    return on(http::Method::get, std::move(path), std::move(query_contains),
              json_response(std::move(json_body)));
  }
  FakeHttpClient& on_get(std::string path, std::string json_body) {
    return on_get(std::move(path), {}, std::move(json_body));
  }

  // Answer with a transport failure (after "retries": attempts is reported as 4).
  FakeHttpClient& on_transport_error(http::Method method, std::string path,
                                     http::TransportError error, std::string message = "fake") {
    return on_call(method, std::move(path), {},
                   [error, message = std::move(message)](const http::Request&) {
                     http::Outcome outcome;
                     outcome.error = error;
                     outcome.error_message = message;
                     outcome.attempts = 4;
                     return outcome;
                   });
  }

  // Answer with whatever `responder` computes from the request.
  FakeHttpClient& on_call(http::Method method, std::string path,
                          std::vector<std::string> query_contains, Responder responder,
                          int times = 0) {
    m_routes->push_back(
        Route{method, std::move(path), std::move(query_contains), std::move(responder), times, 0});
    return *this;
  }

  // Complete each batch in reverse order (to test that callers do not rely on order).
  void set_reverse_completion(bool reverse) { m_reverse = reverse; }

  void send_all(std::vector<http::Request> requests,
                const http::CompletionHandler& on_done) override {
    ++m_state->batches;
    m_state->batch_sizes.push_back(requests.size());
    std::vector<std::size_t> order(requests.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
      order[i] = m_reverse ? order.size() - 1 - i : i;
    }
    for (const auto index : order) {
      const auto& request = requests[index];
      m_state->requests.push_back(request);
      ++m_state->sent;
      http::Outcome outcome = answer(request);
      if (outcome.attempts == 0) {
        outcome.attempts = 1;
      }
      if (outcome.transport_ok()) {
        m_state->received += outcome.response.body.size();
        for (const auto& h : outcome.response.headers) {
          m_state->received += h.name.size() + h.value.size() + 4; // "Name: value\r\n"
        }
      }
      on_done(index, outcome);
    }
  }

  [[nodiscard]] std::uint64_t requests_sent() const override { return m_state->sent; }
  // The bodies and header lines answered (no status line: a test compares with what it set).
  [[nodiscard]] std::uint64_t bytes_received() const override { return m_state->received; }

  // Everything recorded; shared with `recorder()` copies so a test can keep looking after the
  // client was moved into a backend.
  struct State {
    std::vector<http::Request> requests;
    std::vector<http::Request> unmatched;
    std::vector<std::size_t> batch_sizes;
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    int batches = 0;

    // Requests for `method path` whose query contains every string of `query_contains`.
    [[nodiscard]] std::vector<http::Request>
    matching(http::Method method, std::string_view path,
             const std::vector<std::string>& query_contains = {}) const {
      std::vector<http::Request> out;
      for (const auto& request : requests) {
        if (request.method == method && url_path(request.url) == path &&
            query_has_all(url_query(request.url), query_contains)) {
          out.push_back(request);
        }
      }
      return out;
    }
    [[nodiscard]] std::size_t count(http::Method method, std::string_view path,
                                    const std::vector<std::string>& query_contains = {}) const {
      return matching(method, path, query_contains).size();
    }
  };

  [[nodiscard]] std::shared_ptr<const State> recorder() const { return m_state; }
  [[nodiscard]] const State& state() const { return *m_state; }

  static bool query_has_all(const std::string& query, const std::vector<std::string>& parts) {
    return std::all_of(parts.begin(), parts.end(), [&query](const std::string& part) {
      return query.find(part) != std::string::npos;
    });
  }

private:
  http::Outcome answer(const http::Request& request) {
    const std::string path = url_path(request.url);
    const std::string query = url_query(request.url);
    Route* best = nullptr;
    for (auto& route : *m_routes) {
      if (route.method != request.method || route.path != path ||
          (route.times > 0 && route.used >= route.times) ||
          !query_has_all(query, route.query_contains)) {
        continue;
      }
      if (best == nullptr || route.query_contains.size() > best->query_contains.size()) {
        best = &route;
      }
    }
    if (best == nullptr) {
      m_state->unmatched.push_back(request);
      http::Outcome outcome;
      outcome.response = text_response(404, "no fake route for " + path);
      return outcome;
    }
    ++best->used;
    return best->responder(request);
  }

  std::shared_ptr<std::vector<Route>> m_routes = std::make_shared<std::vector<Route>>();
  std::shared_ptr<State> m_state = std::make_shared<State>();
  bool m_reverse = false;
};

} // namespace ws::test
