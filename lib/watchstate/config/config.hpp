// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/model/media.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ws::config {

struct HttpSettings {
  int concurrency = 4;
  int timeout = 300; // seconds per request
  int retries = 3;
  int page_size = 1000;
  int backoff_ms = 1000; // first retry delay (extension; doubles each retry)
};

struct ProgressSettings {
  bool sync = true;
  int minimum = 60; // seconds
};

struct BackupSettings {
  int keep_days = 90;
};

// metrics: the Prometheus text file every tool rewrites after its run.
struct MetricsSettings {
  std::filesystem::path textfile; // empty: none
};

// history: how long the run history (ws-state runs, status) and the change log are kept.
struct HistorySettings {
  int keep_days = 180;
  // ws-state maintain forgets change-log entries older than this; 0 keeps them for ever.
  int change_log_days = 730;
};

struct WebhookSettings {
  std::string listen = "127.0.0.1:8686";
  std::string api_key;
};

// matching.ignore: an external id dropped wherever it appears (optionally only on one backend,
// for one kind of item, or on one server item), or one server item that is never imported nor
// written.
struct IgnoreRule {
  std::optional<model::Guid> id; // nullopt: the rule names one server item (`backend`+`item`)
  std::string type;              // with `id`: "movie", "show", "episode" or "" (any)
  std::string backend;           // "": every backend (only with `id`)
  std::string item;              // a server item id on `backend`
  std::string reason;
  std::string text; // the rule as a user reads it: "tmdb://12345 on home_plex (movie)"
  int line = 0;     // where the config gives it
};

// matching.paths: opt-in matching by file path for items that have no usable id on one side.
struct PathMatching {
  bool enabled = false;
  // Folders that are one place seen from several backends, each a list of (backend, folder):
  // {home_plex: /media/movies, living_room_jf: /data/movies}.
  std::vector<std::vector<std::pair<std::string, std::string>>> roots;
};

struct MatchingSettings {
  std::vector<IgnoreRule> ignore;
  PathMatching paths;
  model::CustomGuidRules guids;
};

// One backend entry (WatchState servers.yaml keys). Per-backend options fall back to `http`.
struct BackendConfig {
  std::string name;
  model::BackendType type = model::BackendType::plex;
  std::string url;   // as written, trailing '/' removed
  std::string token; // after ${ENV} expansion or token_file
  std::string user;
  std::string uuid;
  bool import_enabled = true;
  bool export_enabled = true;
  bool playlists_enabled = true; // ws-playlist reads it (and writes it when export is enabled)
  std::vector<std::string> ignore_libraries; // ids or names
  std::optional<int> page_size;
  std::optional<int> concurrency;
  std::optional<int> timeout;
  bool verify_tls = true;
  bool disable_mark_unplayed = false;
  int line = 0; // line of the entry in the config file, for messages
  // Plex: where plex.tv answers (options.plextv_url; an extension for tests and proxies).
  std::string plextv_url = "https://plex.tv";
  // The identity this copy belongs to ("main" for the entries of `backends`).
  std::string identity = "main";
  // Plex, other identities: `token` is the main (admin) token, and this person's server token
  // is obtained through plex.tv at run time (the identity's entry set no token).
  bool obtain_user_token = false;
  // Plex, obtain_user_token: the PIN of a PIN-protected home user (the identity's `pin` or
  // `pin_file`), sent with the plex.tv user switch; "" = none. `plex_pin_key` is the key that set
  // it ("pin" or "pin_file"), for messages.
  std::string plex_pin;
  std::string plex_pin_key;
};

// An identity's view of one backend: the main entry with `user`/`token` overridden.
struct IdentityBackend {
  std::string backend; // name of a configured backend
  std::string user;
  std::string token;   // empty: the main backend's token
  std::string pin;     // Plex home user's PIN (pin or pin_file); empty: none
  std::string pin_key; // "pin" or "pin_file" (the key that set `pin`)
};

struct IdentityConfig {
  std::string name;
  std::vector<IdentityBackend> backends;
};

struct Config {
  std::filesystem::path file;
  std::filesystem::path state_dir;
  HttpSettings http;
  ProgressSettings progress;
  BackupSettings backup;
  WebhookSettings webhook;
  MatchingSettings matching;
  MetricsSettings metrics;
  HistorySettings history;
  std::vector<BackendConfig> backends;    // in file order
  std::vector<IdentityConfig> identities; // besides `main`
  // The file holds a token and can be read by group or others.
  bool readable_by_others_with_token = false;
};

// The config file to use: `explicit_path` if given, else $WS_CONFIG, else
// $XDG_CONFIG_HOME/watchstate/config.yaml (~/.config/...), else /etc/watchstate/config.yaml.
std::filesystem::path
resolve_config_path(const std::optional<std::filesystem::path>& explicit_path);

// Default state_dir: $XDG_STATE_HOME/watchstate, else ~/.local/state/watchstate.
std::filesystem::path default_state_dir();

// Load and validate `file`. Throws ws::Error(Errc::config) with one line naming the file, the
// line and the key: "config.yaml:12: backends.home_plex.type: must be plex, jellyfin or emby".
// Tokens are registered with redact() as they are read.
Config load_config(const std::filesystem::path& file);

// Parse YAML text (tests); `file` is used in messages only.
Config parse_config(const std::string& text, const std::filesystem::path& file);

// The backends of identity `identity` ("main" or a configured name), with user/token overrides
// applied. An identity lists only the backends it maps.
std::vector<BackendConfig> backends_for_identity(const Config& config, const std::string& identity);

} // namespace ws::config
