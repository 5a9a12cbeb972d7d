// SPDX-License-Identifier: MIT
// Shared pieces of the libFuzzer harnesses: a scripted HTTP client that answers a backend
// adapter's requests with the fuzz input, and the rule for which exceptions are expected.
#pragma once

#include <watchstate/backend/backend.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/http/client.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ws::fuzz {

// Answers every request with status 200 and `body`, except requests whose URL contains
// `count_marker` (the adapter's "how many items?" request), which get `count_body`: so that
// the listing goes on to request pages, and the fuzz input reaches the page parser. Bounded:
// after `max_requests` requests every answer is a 500 (the adapter gives up).
class ScriptedClient final : public http::Client {
public:
  ScriptedClient(std::string body, std::string count_marker, std::string count_body)
      : m_body(std::move(body)), m_count_marker(std::move(count_marker)),
        m_count_body(std::move(count_body)) {}

  void send_all(std::vector<http::Request> requests,
                const http::CompletionHandler& on_done) override {
    for (std::size_t i = 0; i < requests.size(); ++i) {
      http::Outcome outcome;
      outcome.attempts = 1;
      ++m_sent;
      if (m_sent > k_max_requests) {
        outcome.response.status = 500;
      } else {
        outcome.response.status = 200;
        outcome.response.headers.push_back({"Content-Type", "application/json"});
        const bool count =
            !m_count_marker.empty() && requests[i].url.find(m_count_marker) != std::string::npos;
        outcome.response.body = count ? m_count_body : m_body;
      }
      m_received += outcome.response.body.size();
      on_done(i, outcome);
    }
  }

  [[nodiscard]] std::uint64_t requests_sent() const override { return m_sent; }
  [[nodiscard]] std::uint64_t bytes_received() const override { return m_received; }

  static constexpr std::uint64_t k_max_requests = 200;

private:
  std::string m_body;
  std::string m_count_marker;
  std::string m_count_body;
  std::uint64_t m_sent = 0;
  std::uint64_t m_received = 0;
};

// Run `work`, accepting ws::Error: hostile input must end in a clean, classified failure.
// Anything else (std::logic_error from a RapidJSON assertion, std::out_of_range, ...) escapes,
// and libFuzzer reports it as a crash.
template <typename F> void expect_clean(F&& work) {
  try {
    work();
  } catch (const Error&) {
  }
}

// The fuzz input as text without its first byte, which the harnesses use to pick a variant.
inline std::pair<std::uint8_t, std::string> split_selector(const std::uint8_t* data,
                                                           std::size_t size) {
  if (size == 0) {
    return {0, {}};
  }
  return {data[0], std::string(reinterpret_cast<const char*>(data + 1), size - 1)};
}

} // namespace ws::fuzz
