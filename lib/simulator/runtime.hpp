// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "simulator/world.hpp"

namespace ws::sim {

struct Options {
  std::string world_file; // empty = generate
  GenerateOptions generate;
  std::string listen = "127.0.0.1";
  std::array<int, k_kinds> ports{0, 0, 0};
  bool plextv = false;          // also serve the plex.tv stand-in (needs Plex)
  int plextv_port = 0;          // its port (0 = any free port)
  bool plextv_autolink = false; // claim every new sign-in PIN for the owner (implies plextv)
  size_t threads = 8;
  std::string ready_file;
  std::string write_config;
  std::string state_dir;
  uint8_t servers = 0b111;
  uint8_t rescanned = 0; // servers whose library was scanned in one go (see Server's constructor)
  std::string tls_cert;  // PEM certificate: serve HTTPS instead of HTTP (with tls_key)
  std::string tls_key;   // PEM private key of tls_cert
};

// Parse "plex,jellyfin" into a server mask; throw WorldError naming `option` on an unknown name
// or an empty list.
uint8_t parse_server_list(const std::string& list, std::string_view option = "--servers");

struct ServerInfo {
  Kind kind = Kind::plex;
  std::string url;
  std::string token;
  std::string server_id;
  std::string user;
};

// Return the one-line ready JSON for the served servers.
// `plextv_url` (when not empty) adds "plextv":{"url":…}.
std::string ready_line(const std::vector<ServerInfo>& servers, const std::string& plextv_url = {});
// Return the watchstate config YAML (watchstate.yaml(5)) for the served servers.
// `plextv_url` (when not empty) becomes the Plex backend's options.plextv_url.
std::string config_yaml(const std::vector<ServerInfo>& servers, const std::string& state_dir,
                        const std::string& plextv_url = {});

// Serve until SIGINT/SIGTERM; return the process exit code. Errors are reported on stderr.
int run(const Options& options);

} // namespace ws::sim
