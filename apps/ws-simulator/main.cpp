// SPDX-License-Identifier: MIT
// ws-simulator: fake Plex, Jellyfin and Emby servers for tests, benchmarks and demos.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "simulator/runtime.hpp"

namespace {

int run(int argc, char** argv) {
  ws::sim::Options o;
  std::string servers = "plex,jellyfin,emby";
  bool generate = false;
  CLI::App app{"Serve simulated Plex, Jellyfin and Emby servers over a deterministic world"};
  app.footer("Generated worlds: Jellyfin and Emby users alice (admin, password alice-pw) and bob\n"
             "(password bob-pw) for POST /Users/AuthenticateByName. Endpoints and world keys\n"
             "(webhook_plugin, premiere, playlists): lib/simulator/README.md");
  auto* world_opt =
      app.add_option("--world", o.world_file, "world file (JSON)")->check(CLI::ExistingFile);
  app.add_flag("--generate", generate, "generate a world (the default without --world)")
      ->excludes(world_opt);
  app.add_option("--seed", o.generate.seed, "generator seed")->capture_default_str();
  app.add_option("--items", o.generate.items, "movies + episodes per server")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{50000000}));
  app.add_option("--overlap", o.generate.overlap, "P(entry on a given server)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--played", o.generate.played, "P(played)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--in-progress", o.generate.in_progress, "P(in progress | not played)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--diverge", o.generate.diverge, "P(one server differs)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--messy", o.generate.messy,
                 "multiplier of the messy-metadata rates (0 = none; up to 20 for stress worlds)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 20.0));
  app.add_option("--playlists", o.generate.playlists,
                 "playlists of the first user of every server (plus a smart Plex and an audio "
                 "Jellyfin playlist when >= 2)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{0}, size_t{10000}));
  app.add_option("--listen", o.listen, "bind address")->capture_default_str();
  app.add_option("--plex-port", o.ports[0], "Plex port (0 = any free port)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--jellyfin-port", o.ports[1], "Jellyfin port (0 = any free port)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--emby-port", o.ports[2], "Emby port (0 = any free port)")
      ->check(CLI::Range(0, 65535));
  app.add_flag("--plextv", o.plextv,
               "also serve a plex.tv stand-in for the Plex users (needs plex)");
  app.add_option("--plextv-port", o.plextv_port,
                 "plex.tv stand-in port (0 = any free port; implies --plextv)")
      ->check(CLI::Range(0, 65535));
  app.add_flag("--plextv-autolink", o.plextv_autolink,
               "plex.tv stand-in: claim every new sign-in PIN for the owner after its second poll "
               "(for demos; implies --plextv)");
  app.add_option("--threads", o.threads, "worker threads per listener")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--ready-file", o.ready_file, "also write the ready line to this file");
  app.add_option("--write-config", o.write_config,
                 "write a watchstate config for the served servers");
  app.add_option("--state-dir", o.state_dir, "state_dir to put into that config");
  app.add_option("--servers", servers, "servers to serve (comma list)")->capture_default_str();
  std::string rescanned;
  app.add_option("--rescanned", rescanned,
                 "servers (comma list) whose library was scanned in one go, as a server set up "
                 "after the others: dated by that scan in file order, they list items in an "
                 "order of their own");
  auto* cert_opt = app.add_option("--tls-cert", o.tls_cert, "serve HTTPS with this PEM certificate")
                       ->check(CLI::ExistingFile);
  auto* key_opt = app.add_option("--tls-key", o.tls_key, "PEM private key of --tls-cert")
                      ->check(CLI::ExistingFile);
  cert_opt->needs(key_opt);
  key_opt->needs(cert_opt);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; every usage error exits 2 as the README promises.
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    o.servers = ws::sim::parse_server_list(servers);
    o.rescanned = rescanned.empty() ? 0 : ws::sim::parse_server_list(rescanned, "--rescanned");
    o.plextv = o.plextv || o.plextv_port != 0 || o.plextv_autolink;
    if (o.plextv && (o.servers & 1U) == 0) {
      throw ws::sim::WorldError("--plextv needs the plex server");
    }
  } catch (const ws::sim::WorldError& e) {
    std::cerr << "ws-simulator: " << e.what() << '\n';
    return 2;
  }
  return ws::sim::run(o);
}

} // namespace

int main(int argc, char** argv) {
  // Anything else (building the command line, memory) ends the process with one line, not
  // std::terminate's abort.
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "ws-simulator: " << e.what() << '\n';
    return 1;
  }
}
