// SPDX-License-Identifier: MIT
// The config file as a whole: where it is, reading it, its top level (the sections are parsed in
// parse_*.cpp, through the reader of reader.cpp), and the backends an identity sees.
#include <watchstate/config/config.hpp>
#include <watchstate/config/reader.hpp>

#include <watchstate/core/error.hpp>
#include <watchstate/core/read_file.hpp>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <sys/stat.h>

namespace ws::config {

namespace detail {

Config Parser::parse(const std::string& text) {
  const YAML::Node root = load(text);
  if (!root.IsMap()) {
    fail(line_of(root), {}, "the file must be a YAML map with at least a 'backends' key");
  }
  register_secrets_early(root);

  const Field top{YAML::Node(), root, {}};
  const MapReader map(*this, top,
                      {"state_dir", "http", "progress", "backup", "webhook", "matching", "metrics",
                       "history", "backends", "identities"});
  Config config;
  if (auto f = map.value("state_dir")) {
    const std::string dir = trim(string(*f).value_or(""));
    if (dir.empty()) {
      fail(line(*f), f->path, "must be a directory path");
    }
    config.state_dir = path(*f, dir);
  } else {
    config.state_dir = default_state_dir();
  }
  if (auto f = map.get("http")) {
    config.http = parse_http(*f);
  }
  if (auto f = map.get("progress")) {
    config.progress = parse_progress(*f);
  }
  if (auto f = map.get("backup")) {
    config.backup = parse_backup(*f);
  }
  if (auto f = map.get("webhook")) {
    config.webhook = parse_webhook(*f);
  }
  if (auto f = map.get("matching")) {
    config.matching = parse_matching(*f);
  }
  if (auto f = map.get("metrics")) {
    config.metrics = parse_metrics(*f);
  }
  if (auto f = map.get("history")) {
    config.history = parse_history(*f);
  }
  const auto backends = map.get("backends");
  const auto backend_entries =
      backends ? entries(*backends, "a map of backend names to backend settings")
               : std::vector<Field>();
  if (backend_entries.empty()) {
    fail(backends ? line(*backends) : 1, "backends", "at least one backend is required");
  }
  for (const auto& entry : backend_entries) {
    config.backends.push_back(parse_backend(entry));
  }
  check_backend_references(config.backends);
  if (auto f = map.get("identities")) {
    for (const auto& entry : entries(*f, "a map of identity names to their backends")) {
      config.identities.push_back(parse_identity(entry, config.backends));
    }
  }
  return config;
}

} // namespace detail

namespace {

namespace fs = std::filesystem;
using detail::home_dir;
using detail::join;

// XDG base directory variables count only when set to an absolute path (XDG spec).
std::optional<fs::path> xdg_dir(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    return std::nullopt;
  }
  fs::path path(value);
  if (!path.is_absolute()) {
    return std::nullopt;
  }
  return path;
}

// Far more than any config; a path such as /dev/zero must not eat the memory.
constexpr std::size_t k_max_config_bytes = std::size_t{16} << 20;

Config parse_with(const std::string& text, const fs::path& file, bool& inline_secret) {
  detail::Parser parser(file.string(), file.parent_path());
  Config config = parser.parse(text);
  config.file = file;
  inline_secret = parser.has_inline_secret();
  return config;
}

} // namespace

std::filesystem::path
resolve_config_path(const std::optional<std::filesystem::path>& explicit_path) {
  if (explicit_path) {
    return *explicit_path;
  }
  if (const char* env = std::getenv("WS_CONFIG"); env != nullptr && *env != '\0') {
    return fs::path(env);
  }
  fs::path user_file;
  if (const auto xdg = xdg_dir("XDG_CONFIG_HOME")) {
    user_file = *xdg / "watchstate" / "config.yaml";
  } else if (const auto home = home_dir()) {
    user_file = *home / ".config" / "watchstate" / "config.yaml";
  }
  const fs::path system_file = "/etc/watchstate/config.yaml";
  std::error_code ec;
  if (!user_file.empty() && fs::exists(user_file, ec)) {
    return user_file;
  }
  if (fs::exists(system_file, ec) || user_file.empty()) {
    return system_file;
  }
  // Neither exists: name the per-user file in the "cannot read" message.
  return user_file;
}

std::filesystem::path default_state_dir() {
  if (const auto xdg = xdg_dir("XDG_STATE_HOME")) {
    return *xdg / "watchstate";
  }
  if (const auto home = home_dir()) {
    return *home / ".local" / "state" / "watchstate";
  }
  throw Error(Errc::config,
              "cannot find a state directory: set state_dir in the config, XDG_STATE_HOME or HOME");
}

Config load_config(const std::filesystem::path& file) {
  std::string text;
  if (const int err = read_file(file, text, k_max_config_bytes).error; err != 0) {
    // The first thing a new user meets: say how to get a config, not only that there is none.
    throw Error(Errc::config,
                fmt::format("{}: cannot read config file: {}{}", file.string(), std::strerror(err),
                            err == ENOENT ? "; write one with `ws-config add NAME --type T --url U "
                                            "--token-file F --append FILE`, or start from "
                                            "share/watchstate/config.example.yaml (keys: "
                                            "watchstate.yaml(5))"
                                          : ""));
  }
  bool inline_secret = false;
  Config config = parse_with(text, file, inline_secret);
  struct stat info {};
  if (inline_secret && ::stat(file.c_str(), &info) == 0) {
    config.readable_by_others_with_token = (info.st_mode & (S_IRGRP | S_IROTH)) != 0;
  }
  return config;
}

Config parse_config(const std::string& text, const std::filesystem::path& file) {
  bool inline_secret = false;
  return parse_with(text, file, inline_secret);
}

std::vector<BackendConfig> backends_for_identity(const Config& config,
                                                 const std::string& identity) {
  if (identity == "main") {
    return config.backends;
  }
  const auto found =
      std::find_if(config.identities.begin(), config.identities.end(),
                   [&identity](const IdentityConfig& i) { return i.name == identity; });
  if (found == config.identities.end()) {
    std::vector<std::string> names{"main"};
    for (const auto& i : config.identities) {
      names.push_back(i.name);
    }
    throw Error(Errc::usage,
                fmt::format("unknown identity '{}'; configured: {}", identity, join(names)));
  }
  std::vector<BackendConfig> out;
  for (const auto& backend : config.backends) {
    const auto mapped =
        std::find_if(found->backends.begin(), found->backends.end(),
                     [&backend](const IdentityBackend& b) { return b.backend == backend.name; });
    if (mapped == found->backends.end()) {
      continue;
    }
    BackendConfig copy = backend;
    copy.user = mapped->user;
    copy.identity = identity;
    if (!mapped->token.empty()) {
      copy.token = mapped->token;
    } else if (copy.type == model::BackendType::plex && !copy.user.empty()) {
      copy.obtain_user_token = true;
      copy.plex_pin = mapped->pin;
      copy.plex_pin_key = mapped->pin_key;
    }
    out.push_back(std::move(copy));
  }
  return out;
}

} // namespace ws::config
