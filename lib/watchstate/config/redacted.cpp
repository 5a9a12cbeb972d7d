// SPDX-License-Identifier: MIT
#include <watchstate/config/redacted.hpp>

#include <watchstate/core/error.hpp>
#include <watchstate/core/redact.hpp>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <string>

namespace ws::config {
namespace {

// The places whose values are shown. "*" is any key (a backend, identity or folder name), "[]"
// any item of a list. A place not listed here is redacted, whatever it holds: an allow-list, so
// a key added later (or misspelt) can never leak a secret.
constexpr std::array k_shown = {
    "state_dir",
    "http.concurrency",
    "http.timeout",
    "http.retries",
    "http.page_size",
    "http.backoff_ms",
    "progress.sync",
    "progress.minimum",
    "backup.keep_days",
    "webhook.listen",
    "metrics.textfile",
    "history.keep_days",
    "matching.ignore.[]",
    "matching.ignore.[].id",
    "matching.ignore.[].backend",
    "matching.ignore.[].type",
    "matching.ignore.[].item",
    "matching.ignore.[].reason",
    "matching.paths.enabled",
    "matching.paths.roots.[].*",
    "matching.guids.[].plex_prefix",
    "matching.guids.[].provider_id",
    "matching.guids.[].provider",
    "backends.*.type",
    "backends.*.url",
    "backends.*.token_file",
    "backends.*.user",
    "backends.*.uuid",
    "backends.*.import.enabled",
    "backends.*.import.lastSync",
    "backends.*.export.enabled",
    "backends.*.export.lastSync",
    "backends.*.playlists.enabled",
    "backends.*.options.ignore_libraries",
    "backends.*.options.ignore_libraries.[]",
    "backends.*.options.ignore",
    "backends.*.options.ignore.[]",
    "backends.*.options.page_size",
    "backends.*.options.concurrency",
    "backends.*.options.timeout",
    "backends.*.options.verify_tls",
    "backends.*.options.disable_mark_unplayed",
    "backends.*.options.LIBRARY_SEGMENT",
    "backends.*.options.DISABLE_MARK_UNPLAYED",
    "backends.*.options.plextv_url",
    "backends.*.options.client.timeout",
    "backends.*.options.client.verify_host",
    "backends.*.options.client.verify_peer",
    "backends.*.options.client.http_version",
    "backends.*.options.MAX_EPISODE_RANGE",
    "backends.*.options.DUMP_PAYLOAD",
    "backends.*.options.DEBUG_TRACE",
    "backends.*.options.DRY_RUN",
    "backends.*.options.EXPORT_TIME_DIFF",
    "backends.*.options.FORCE_FULL",
    "backends.*.options.IMPORT_METADATA_ONLY",
    "backends.*.options.LIBRARY_SELECT",
    "backends.*.options.LIBRARY_INVERSE",
    "backends.*.options.is_limited_token",
    "backends.*.options.plex_external_user",
    "backends.*.options.plex_guest_user",
    "backends.*.options.plex_user_uuid",
    "backends.*.options.plex_user_name",
    "backends.*.options.ALT_NAME",
    "backends.*.options.ALT_ID",
    "identities.*.*.user",
    "identities.*.*.token_file",
    "identities.*.*.pin_file",
};

// Places whose keys are names the user chose (shown when they look like names).
constexpr std::array k_name_places = {"backends.*", "identities.*", "identities.*.*",
                                      "matching.paths.roots.[].*"};

// Keys of the config that hold a secret (never shown, but their names are).
constexpr std::array k_secret_keys = {"token",       "api_key",       "pin",
                                      "ADMIN_TOKEN", "PLEX_USER_PIN", "webhook"};

constexpr std::array k_url_keys = {"url", "plextv_url"};

std::vector<std::string_view> split(std::string_view pattern) {
  std::vector<std::string_view> out;
  while (true) {
    const auto dot = pattern.find('.');
    out.push_back(pattern.substr(0, dot));
    if (dot == std::string_view::npos) {
      return out;
    }
    pattern = pattern.substr(dot + 1);
  }
}

bool matches(std::string_view pattern, const std::vector<std::string>& path) {
  const auto parts = split(pattern);
  if (parts.size() != path.size()) {
    return false;
  }
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const bool list_item = path[i] == "[]";
    if (parts[i] == "[]" ? !list_item : (list_item || (parts[i] != "*" && parts[i] != path[i]))) {
      return false;
    }
  }
  return true;
}

template <typename Patterns>
bool any_matches(const Patterns& patterns, const std::vector<std::string>& path) {
  return std::any_of(std::begin(patterns), std::end(patterns),
                     [&path](std::string_view p) { return matches(p, path); });
}

// Every key the config knows, wherever it goes.
bool known_key(std::string_view key) {
  const auto in = [key](const auto& patterns) {
    return std::any_of(std::begin(patterns), std::end(patterns), [key](std::string_view p) {
      const auto parts = split(p);
      return std::find(parts.begin(), parts.end(), key) != parts.end();
    });
  };
  return key != "*" && key != "[]" &&
         (in(k_shown) ||
          std::find(k_secret_keys.begin(), k_secret_keys.end(), key) != k_secret_keys.end());
}

bool is_lower_snake(std::string_view key) {
  // a future key of ours: new_option, keep_days2 (letters first, '_' between words)
  if (key.empty() || key.size() > 40 || !(key[0] >= 'a' && key[0] <= 'z')) {
    return false;
  }
  return std::all_of(
             key.begin(), key.end(),
             [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }) &&
         std::count_if(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; }) <= 2;
}

bool is_upper_snake(std::string_view key) {
  // WatchState's option keys: DUMP_PAYLOAD, PLEX_USER_PIN
  if (key.empty() || key.size() > 40 || !(key[0] >= 'A' && key[0] <= 'Z')) {
    return false;
  }
  return std::all_of(
             key.begin(), key.end(),
             [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }) &&
         std::count_if(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; }) <= 2;
}

bool is_name(std::string_view key) {
  return !key.empty() && key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// http://user:password@host/ -> http://<redacted>@host/
std::string without_userinfo(std::string text) {
  const auto scheme = text.find("://");
  if (scheme == std::string::npos) {
    return text;
  }
  const auto start = scheme + 3;
  const auto end = text.find_first_of("/?#", start);
  const auto at = text.rfind('@', end == std::string::npos ? std::string::npos : end);
  if (at != std::string::npos && at >= start && (end == std::string::npos || at < end)) {
    text.replace(start, at - start, k_redacted);
  }
  return text;
}

class Redactor {
public:
  // First pass: find the scalars that will be redacted, so that an alias of one (`user: *tok`)
  // placed where values are shown is redacted too.
  void collect(const YAML::Node& node, std::vector<std::string>& path) {
    if (node.IsScalar()) {
      if (!any_matches(k_shown, path)) {
        m_hidden.push_back(node);
      }
    } else if (node.IsMap()) {
      for (auto it = node.begin(); it != node.end(); ++it) {
        path.push_back(it->first.IsScalar() ? it->first.Scalar() : std::string("?"));
        collect(it->second, path);
        path.pop_back();
      }
    } else if (node.IsSequence()) {
      for (std::size_t i = 0; i < node.size(); ++i) {
        path.emplace_back("[]");
        collect(node[i], path);
        path.pop_back();
      }
    }
  }

  RedactedNode walk(const YAML::Node& node, std::vector<std::string>& path) {
    RedactedNode out;
    if (node.IsScalar()) {
      out.kind = RedactedNode::Kind::scalar;
      const bool hidden = std::any_of(m_hidden.begin(), m_hidden.end(),
                                      [&node](const YAML::Node& h) { return h.is(node); });
      if (hidden || !any_matches(k_shown, path)) {
        out.text = k_redacted;
        out.redacted = true;
        return out;
      }
      std::string text = node.Scalar();
      if (!path.empty() &&
          std::find(k_url_keys.begin(), k_url_keys.end(), path.back()) != k_url_keys.end()) {
        text = without_userinfo(std::move(text));
      }
      out.text = redact(text);
      out.redacted = out.text != text;
      return out;
    }
    if (node.IsMap()) {
      out.kind = RedactedNode::Kind::map;
      for (auto it = node.begin(); it != node.end(); ++it) {
        const std::string key = it->first.IsScalar() ? it->first.Scalar() : std::string();
        path.push_back(key);
        out.entries.push_back(RedactedEntry{shown_key(key, path), walk(it->second, path)});
        path.pop_back();
      }
      return out;
    }
    if (node.IsSequence()) {
      out.kind = RedactedNode::Kind::list;
      for (std::size_t i = 0; i < node.size(); ++i) {
        path.emplace_back("[]");
        out.items.push_back(walk(node[i], path));
        path.pop_back();
      }
      return out;
    }
    return out; // null (an empty value)
  }

private:
  // A key as it may be shown: a key the config knows, a name where names go, or a key that
  // looks like one of ours; anything else (a token pasted as a key) is hidden.
  std::string shown_key(const std::string& key, const std::vector<std::string>& path) {
    const bool shown = known_key(key) || (any_matches(k_name_places, path) && is_name(key)) ||
                       is_lower_snake(key) || is_upper_snake(key);
    if (shown && redact(key) == key) {
      return key;
    }
    return fmt::format("<redacted key {}>", ++m_hidden_keys);
  }

  std::vector<YAML::Node> m_hidden;
  int m_hidden_keys = 0;
};

void emit(YAML::Emitter& out, const RedactedNode& node) {
  switch (node.kind) {
  case RedactedNode::Kind::null: out << YAML::Null; break;
  case RedactedNode::Kind::scalar: out << node.text; break;
  case RedactedNode::Kind::map:
    out << YAML::BeginMap;
    for (const auto& entry : node.entries) {
      out << YAML::Key << entry.key << YAML::Value;
      emit(out, entry.value);
    }
    out << YAML::EndMap;
    break;
  case RedactedNode::Kind::list:
    out << YAML::BeginSeq;
    for (const auto& item : node.items) {
      emit(out, item);
    }
    out << YAML::EndSeq;
    break;
  }
}

} // namespace

RedactedNode redact_config(std::string_view yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    // e.msg is yaml-cpp's description of the problem ("illegal map value"), never the text.
    throw Error(Errc::config, fmt::format("line {}: not valid YAML: {}",
                                          e.mark.line >= 0 ? e.mark.line + 1 : 0, e.msg));
  }
  Redactor redactor;
  std::vector<std::string> path;
  redactor.collect(root, path);
  return redactor.walk(root, path);
}

std::string to_yaml(const RedactedNode& node) {
  YAML::Emitter out;
  emit(out, node);
  std::string text = out.c_str();
  if (!text.empty() && text.back() != '\n') {
    text.push_back('\n');
  }
  return text;
}

} // namespace ws::config
