// SPDX-License-Identifier: MIT
// The senders of the webhook benchmark (tests/bench/bench_webhook.py): posts prepared requests
// to 127.0.0.1 from concurrent threads, one connection per request as a media server's webhook
// sender opens, and prints each answer's status and time. A Python sender spends about as much
// CPU per request as ws-webhook does to store it, so on a small machine it measured itself;
// this one costs a few microseconds per request. Not a test: it prints JSON.
//
//   ws-bench-post --port PORT --target /webhook?apikey=... [--threads 16] REQUESTS.jsonl
//
// REQUESTS.jsonl: one request per line, {"content_type": "...", "body": "...", "headers": {...}}.
// Output: {"requests": [[status, at, seconds], ...], "started": s, "finished": s,
// "cpu_seconds": ...}, times on the clock Python's time.monotonic() reads (CLOCK_MONOTONIC): when
// each answer came and how long after its connection was opened, when the first request and the
// last answer; status 0 when no answer came.
#include <rapidjson/document.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

struct Answer {
  int status = 0;
  double at = 0;      // when the answer came
  double seconds = 0; // from opening the connection to the answer
};

double monotonic_seconds() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

[[noreturn]] void fail(const std::string& what) {
  (void)std::fprintf(stderr, "ws-bench-post: %s\n", what.c_str());
  std::exit(1);
}

// Every request as it goes on the wire.
std::vector<std::string> read_requests(const std::string& path, int port,
                                       const std::string& target) {
  std::ifstream in(path);
  if (!in) {
    fail("cannot read " + path);
  }
  std::vector<std::string> requests;
  std::string line;
  while (std::getline(in, line)) {
    rapidjson::Document doc;
    doc.Parse(line.c_str(), line.size());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("body") ||
        !doc["body"].IsString()) {
      fail(path + ": line " + std::to_string(requests.size() + 1) + " is not a request");
    }
    const std::string body(doc["body"].GetString(), doc["body"].GetStringLength());
    std::string head = "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                       "\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\nConnection: close\r\n";
    if (doc.HasMember("content_type") && doc["content_type"].IsString()) {
      head += std::string("Content-Type: ") + doc["content_type"].GetString() + "\r\n";
    }
    if (doc.HasMember("headers") && doc["headers"].IsObject()) {
      for (const auto& header : doc["headers"].GetObject()) {
        if (header.value.IsString()) {
          head.append(header.name.GetString()).append(": ").append(header.value.GetString());
          head += "\r\n";
        }
      }
    }
    head += "\r\n";
    head += body;
    requests.push_back(std::move(head));
  }
  return requests;
}

// A whole decimal number at the start of `text`, else 0.
int number(std::string_view text) {
  int value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// One request on a connection of its own; the answer's status, 0 when none came.
int post(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return 0;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int status = 0;
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API takes sockaddr*
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    std::size_t sent = 0;
    while (sent < request.size()) {
      const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) {
        break;
      }
      sent += static_cast<std::size_t>(n);
    }
    std::string answer;
    std::array<char, 4096> buffer{};
    while (true) {
      const ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
      if (n <= 0) {
        break;
      }
      answer.append(buffer.data(), static_cast<std::size_t>(n));
    }
    // "HTTP/1.1 200 OK"
    if (answer.size() > 12 && answer.compare(0, 5, "HTTP/") == 0) {
      status = number(std::string_view(answer).substr(answer.find(' ') + 1));
    }
  }
  close(fd);
  return status;
}

} // namespace

int run(int argc, char** argv) {
  int port = 0;
  int threads = 16;
  std::string target;
  std::string file;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--port" && i + 1 < argc) {
      port = number(argv[++i]);
    } else if (arg == "--target" && i + 1 < argc) {
      target = argv[++i];
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = number(argv[++i]);
    } else {
      file = arg;
    }
  }
  if (port <= 0 || target.empty() || file.empty() || threads <= 0) {
    fail("usage: ws-bench-post --port PORT --target PATH [--threads N] REQUESTS.jsonl");
  }
  const std::vector<std::string> requests = read_requests(file, port, target);
  std::vector<Answer> answers(requests.size());
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> senders;
  senders.reserve(static_cast<std::size_t>(threads));
  const double started = monotonic_seconds();
  for (int t = 0; t < threads; ++t) {
    senders.emplace_back([&] {
      for (std::size_t i = next++; i < requests.size(); i = next++) {
        const double opened = monotonic_seconds();
        answers[i].status = post(port, requests[i]);
        answers[i].at = monotonic_seconds();
        answers[i].seconds = answers[i].at - opened;
      }
    });
  }
  for (auto& sender : senders) {
    sender.join();
  }
  const double finished = monotonic_seconds();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  std::printf("{\"requests\": [");
  for (std::size_t i = 0; i < answers.size(); ++i) {
    std::printf("%s[%d, %.6f, %.6f]", i == 0 ? "" : ", ", answers[i].status, answers[i].at,
                answers[i].seconds);
  }
  std::printf("], \"started\": %.6f, \"finished\": %.6f, \"cpu_seconds\": %.3f}\n", started,
              finished, cpu);
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    fail(e.what());
  }
}
