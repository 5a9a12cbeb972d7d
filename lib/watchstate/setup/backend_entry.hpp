// SPDX-License-Identifier: MIT
// ws-config add: ask a server who it is, who uses it and what it holds, and write the
// `backends:` entry a user pastes (or appends) into the config, with `uuid` filled in.
#pragma once

#include <watchstate/backend/backend.hpp>
#include <watchstate/http/client.hpp>
#include <watchstate/sync/services.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace ws::setup {

// What the user told ws-config add about the new backend.
struct NewBackend {
  std::string name;
  model::BackendType type = model::BackendType::plex;
  std::string url;
  std::string token;      // read from token_file or token_env (a secret, never written out)
  std::string token_file; // as the entry will name it (absolute), or ""
  std::string token_env;  // the variable the entry will name as ${...}, or ""
  std::string user;       // an id or a name, "" = Plex: the owner; Jellyfin/Emby: the only user
  bool verify_tls = true;
  std::string plextv_url; // Plex: where plex.tv answers, when not https://plex.tv ("" = default)
};

// What the server answered.
struct ProbedBackend {
  model::ServerInfo server;
  std::vector<backend::RemoteUser> users;
  std::vector<backend::Library> libraries;
  std::string user_id; // resolved from NewBackend::user ("" for a Plex owner)
  std::string user_name;
};

// Check the name and URL (Errc::usage) and ask the server. Throws ws::Error like the adapters
// (no_perm: token refused, tempfail: unreachable) and Errc::config when --user names nobody or
// a Jellyfin/Emby server has several users and none was named (the message lists them).
ProbedBackend probe_backend(const sync::Services& services, const NewBackend& backend,
                            const http::ClientOptions& options);

// The YAML text of the entry, indented for the `backends:` mapping, with comments naming the
// server, the user and the libraries (their ids, for options.ignore_libraries).
std::string backend_entry_yaml(const NewBackend& backend, const ProbedBackend& probed);

// Insert `entry` (backend_entry_yaml) at the end of the top-level `backends:` mapping of
// `file`, or append a `backends:` section when the file has none; a missing file is created
// (mode 0600). Every byte already in the file stays as it is. Written through a temporary file
// and rename. Throws Errc::usage when `name` is already configured there, Errc::io/cant_create
// on write failures.
void append_backend_entry(const std::filesystem::path& file, const std::string& name,
                          const std::string& entry);

} // namespace ws::setup
