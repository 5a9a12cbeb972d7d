// SPDX-License-Identifier: MIT
#include "simulator/runtime.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "simulator/plextv.hpp"
#include "simulator/server.hpp"

namespace ws::sim {

uint8_t parse_server_list(const std::string& list, std::string_view option) {
  uint8_t mask = 0;
  size_t pos = 0;
  while (pos <= list.size()) {
    const size_t comma = list.find(',', pos);
    const std::string name =
        list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (!name.empty()) {
      auto k = kind_from_name(name);
      if (!k) {
        throw WorldError(
            fmt::format("{}: unknown server \"{}\" (plex, jellyfin, emby)", option, name));
      }
      mask = static_cast<uint8_t>(mask | (1U << idx(*k)));
    }
    if (comma == std::string::npos) {
      break;
    }
    pos = comma + 1;
  }
  if (mask == 0) {
    throw WorldError(fmt::format("{}: no server named", option));
  }
  return mask;
}

std::string ready_line(const std::vector<ServerInfo>& servers, const std::string& plextv_url) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  for (const ServerInfo& s : servers) {
    w.Key(std::string(kind_name(s.kind)).c_str());
    w.StartObject();
    w.Key("url");
    w.String(s.url.c_str());
    w.Key("token");
    w.String(s.token.c_str());
    w.Key("server_id");
    w.String(s.server_id.c_str());
    w.Key("user");
    w.String(s.user.c_str());
    w.EndObject();
  }
  if (!plextv_url.empty()) {
    w.Key("plextv");
    w.StartObject();
    w.Key("url");
    w.String(plextv_url.c_str());
    w.EndObject();
  }
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

namespace {

std::string yaml_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  out += '"';
  return out;
}

void write_atomically(const std::string& path, const std::string& content, mode_t mode) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, static_cast<long>(::getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw WorldError(fmt::format("cannot write {}", tmp));
    }
    out << content;
    out.flush();
    if (!out) {
      throw WorldError(fmt::format("cannot write {}", tmp));
    }
  }
  ::chmod(tmp.c_str(), mode);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw WorldError(fmt::format("cannot rename {} to {}", tmp, path));
  }
}

Response to_response(Server& server, const httplib::Request& hreq) {
  Pairs headers;
  headers.reserve(hreq.headers.size());
  for (const auto& [k, v] : hreq.headers) {
    headers.emplace_back(k, v);
  }
  const std::string& target = hreq.target.empty() ? hreq.path : hreq.target;
  return server.handle(make_request(hreq.method, target, std::move(headers), hreq.body));
}

} // namespace

std::string config_yaml(const std::vector<ServerInfo>& servers, const std::string& state_dir,
                        const std::string& plextv_url) {
  std::string out = "# Written by ws-simulator.\n";
  if (!state_dir.empty()) {
    out += "state_dir: " + yaml_quote(state_dir) + "\n";
  }
  out += "backends:\n";
  for (const ServerInfo& s : servers) {
    out +=
        fmt::format("  {}:\n    type: {}\n    url: {}\n    token: {}\n    user: {}\n    uuid: {}\n",
                    kind_name(s.kind), kind_name(s.kind), yaml_quote(s.url), yaml_quote(s.token),
                    yaml_quote(s.user), yaml_quote(s.server_id));
    if (s.kind == Kind::plex && !plextv_url.empty()) {
      out += fmt::format("    options:\n      plextv_url: {}\n", yaml_quote(plextv_url));
    }
  }
  return out;
}

int run(const Options& o) {
  std::shared_ptr<const World> world;
  try {
    if (!o.world_file.empty()) {
      world = std::make_shared<const World>(load_world_file(o.world_file, o.servers));
    } else {
      GenerateOptions g = o.generate;
      g.servers = o.servers;
      world = std::make_shared<const World>(generate_world(g));
    }
  } catch (const WorldError& e) {
    std::cerr << "ws-simulator: " << e.what() << '\n';
    return 1;
  }

  // Block the stop signals before any thread starts so that only sigwait() sees them.
  sigset_t stop_set;
  sigemptyset(&stop_set);
  sigaddset(&stop_set, SIGINT);
  sigaddset(&stop_set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  struct Listener {
    std::unique_ptr<Server> server;
    std::unique_ptr<PlexTv> plextv; // the plex.tv stand-in's listener has no Server
    std::unique_ptr<httplib::Server> http;
    std::thread thread;
  };
  std::vector<Listener> listeners;
  std::vector<ServerInfo> infos;
  const std::string host =
      o.listen.find(':') != std::string::npos ? "[" + o.listen + "]" : o.listen;
  for (Kind k : k_all_kinds) {
    if (((o.servers >> idx(k)) & 1U) == 0) {
      continue;
    }
    Listener l;
    l.server = std::make_unique<Server>(world, k, ((o.rescanned >> idx(k)) & 1U) != 0);
    if (o.tls_cert.empty()) {
      l.http = std::make_unique<httplib::Server>();
    } else {
      auto https = std::make_unique<httplib::SSLServer>(o.tls_cert.c_str(), o.tls_key.c_str());
      if (!https->is_valid()) {
        std::cerr << "ws-simulator: cannot use the TLS certificate " << o.tls_cert
                  << " with the key " << o.tls_key << '\n';
        return 1;
      }
      l.http = std::move(https);
    }
    // Without TCP_NODELAY a response's header and body segments meet the client's delayed
    // ACK: ~40 ms per small request, which made write-heavy syncs look 10x slower.
    l.http->set_tcp_nodelay(true);
    const size_t threads = std::max<size_t>(1, o.threads);
    // httplib takes the queue as a raw pointer and deletes it when it stops.
    l.http->new_task_queue = [threads]() {
      return new httplib::ThreadPool(threads); // NOLINT(cppcoreguidelines-owning-memory)
    };
    l.http->set_keep_alive_max_count(100000);
    l.http->set_keep_alive_timeout(5);
    l.http->set_payload_max_length(64 * 1024 * 1024);
    Server* srv = l.server.get();
    auto handler = [srv](const httplib::Request& hreq, httplib::Response& hres) {
      Response res = to_response(*srv, hreq);
      hres.status = res.status;
      for (const auto& [k2, v] : res.headers) {
        hres.set_header(k2, v);
      }
      if (!res.body.empty() || !res.content_type.empty()) {
        hres.set_content(res.body, res.content_type); // httplib copies it: no overload moves
      }
    };
    // A bodiless POST/DELETE (no Content-Length, as libcurl sends with a custom method) would
    // get a 400 from httplib's body reader, so such requests are answered before it runs.
    l.http->set_pre_routing_handler([handler](const httplib::Request& hreq,
                                              httplib::Response& hres) {
      const bool framed = hreq.has_header("Content-Length") || hreq.has_header("Transfer-Encoding");
      if (framed) {
        return httplib::Server::HandlerResponse::Unhandled;
      }
      handler(hreq, hres);
      return httplib::Server::HandlerResponse::Handled;
    });
    l.http->Get(".*", handler);
    l.http->Post(".*", handler);
    l.http->Put(".*", handler);
    l.http->Patch(".*", handler);
    l.http->Delete(".*", handler);
    l.http->Options(".*", handler);
    int port = o.ports[idx(k)];
    if (port == 0) {
      port = l.http->bind_to_any_port(o.listen);
    } else if (!l.http->bind_to_port(o.listen, port)) {
      port = -1;
    }
    if (port < 0) {
      std::cerr << "ws-simulator: cannot listen on " << o.listen << ':' << o.ports[idx(k)]
                << " for " << kind_name(k) << '\n';
      return 1;
    }
    const std::string url =
        fmt::format("{}://{}:{}", o.tls_cert.empty() ? "http" : "https", host, port);
    l.server->set_base_url(url);
    const ServerDef& d = l.server->def();
    infos.push_back(ServerInfo{k, url, d.token, d.server_id, d.users.front().id});
    listeners.push_back(std::move(l));
  }
  // GET /__sim/playlists?server=<kind> answers on every listener.
  for (Listener& a : listeners) {
    for (Listener& b : listeners) {
      a.server->set_peer(b.server->kind(), b.server.get());
    }
  }
  std::string plextv_url;
  if (o.plextv && ((o.servers >> idx(Kind::plex)) & 1U) != 0) {
    // plex.tv stand-in: plain HTTP always (watchstate's options.plextv_url names it).
    Listener l;
    l.plextv = std::make_unique<PlexTv>(world, listeners.front().server->base_url());
    l.plextv->set_autolink(o.plextv_autolink);
    l.http = std::make_unique<httplib::Server>();
    l.http->set_tcp_nodelay(true);
    l.http->new_task_queue = []() {
      return new httplib::ThreadPool(2); // NOLINT(cppcoreguidelines-owning-memory): as above
    };
    PlexTv* tv = l.plextv.get();
    auto handler = [tv](const httplib::Request& hreq, httplib::Response& hres) {
      Pairs headers;
      for (const auto& [k2, v] : hreq.headers) {
        headers.emplace_back(k2, v);
      }
      const std::string& target = hreq.target.empty() ? hreq.path : hreq.target;
      Response res = tv->handle(make_request(hreq.method, target, std::move(headers), hreq.body));
      hres.status = res.status;
      if (!res.body.empty() || !res.content_type.empty()) {
        hres.set_content(res.body, res.content_type); // httplib copies it: no overload moves
      }
    };
    l.http->set_pre_routing_handler(
        [handler](const httplib::Request& hreq, httplib::Response& hres) {
          if (hreq.has_header("Content-Length") || hreq.has_header("Transfer-Encoding")) {
            return httplib::Server::HandlerResponse::Unhandled;
          }
          handler(hreq, hres);
          return httplib::Server::HandlerResponse::Handled;
        });
    l.http->Get(".*", handler);
    l.http->Post(".*", handler);
    l.http->Delete(".*", handler);
    int port = o.plextv_port;
    if (port == 0) {
      port = l.http->bind_to_any_port(o.listen);
    } else if (!l.http->bind_to_port(o.listen, port)) {
      port = -1;
    }
    if (port < 0) {
      std::cerr << "ws-simulator: cannot listen on " << o.listen << ':' << o.plextv_port
                << " for plex.tv\n";
      return 1;
    }
    plextv_url = fmt::format("http://{}:{}", host, port);
    listeners.push_back(std::move(l));
  }
  for (Listener& l : listeners) {
    httplib::Server* http = l.http.get();
    l.thread = std::thread([http]() { http->listen_after_bind(); });
  }
  // bind_to_port() already listens, so connections queue until the accept loops run.
  const std::string line = ready_line(infos, plextv_url);
  try {
    if (!o.write_config.empty()) {
      write_atomically(o.write_config, config_yaml(infos, o.state_dir, plextv_url), 0600);
    }
    if (!o.ready_file.empty()) {
      write_atomically(o.ready_file, line + "\n", 0600);
    }
  } catch (const WorldError& e) {
    std::cerr << "ws-simulator: " << e.what() << '\n';
    for (Listener& l : listeners) {
      l.http->stop();
      l.thread.join();
    }
    return 1;
  }
  std::cout << line << '\n' << std::flush;

  int sig = 0;
  sigwait(&stop_set, &sig);
  for (Listener& l : listeners) {
    l.http->stop();
  }
  for (Listener& l : listeners) {
    l.thread.join();
  }
  return 0;
}

} // namespace ws::sim
