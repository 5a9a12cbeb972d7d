// SPDX-License-Identifier: MIT
// The backends and identities sections: servers.yaml entries, tokens, options, people.
#include <watchstate/config/reader.hpp>

#include <watchstate/core/error.hpp>
#include <watchstate/core/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

namespace ws::config::detail {

namespace {

// WatchState option keys (servers.yaml `options`) that carry no meaning here. They are accepted
// and ignored so that a WatchState backend entry can be pasted in unchanged:
//   MAX_EPISODE_RANGE     multi-episode expansion limit (we always expand the full range)
//   DUMP_PAYLOAD, DEBUG_TRACE, DRY_RUN   WatchState debugging switches
//   EXPORT_TIME_DIFF      push-mode clock margin of WatchState's queue
//   FORCE_FULL, IMPORT_METADATA_ONLY, LIBRARY_SELECT, LIBRARY_INVERSE   per-run flags WatchState
//                         stores transiently (ours are command-line options)
//   is_limited_token, ADMIN_TOKEN, PLEX_USER_PIN, plex_external_user, plex_guest_user,
//   plex_user_uuid, plex_user_name   plex.tv user management of WatchState's web UI
//   ALT_NAME, ALT_ID      WatchState's link from an identity's copy back to the main backend
const std::vector<std::string_view> k_watchstate_option_keys = {"MAX_EPISODE_RANGE",
                                                                "DUMP_PAYLOAD",
                                                                "DEBUG_TRACE",
                                                                "DRY_RUN",
                                                                "EXPORT_TIME_DIFF",
                                                                "FORCE_FULL",
                                                                "IMPORT_METADATA_ONLY",
                                                                "LIBRARY_SELECT",
                                                                "LIBRARY_INVERSE",
                                                                "is_limited_token",
                                                                "ADMIN_TOKEN",
                                                                "PLEX_USER_PIN",
                                                                "plex_external_user",
                                                                "plex_guest_user",
                                                                "plex_user_uuid",
                                                                "plex_user_name",
                                                                "ALT_NAME",
                                                                "ALT_ID"};

// Backend-level keys of older WatchState versions (per-backend webhook token and matching,
// removed upstream) that old servers.yaml files may still carry.
const std::vector<std::string_view> k_watchstate_legacy_backend_keys = {"webhook"};

void add_libraries(const Parser& parser, const Field& field, std::vector<std::string>& out) {
  auto add = [&out](std::string id) {
    if (!id.empty() && std::find(out.begin(), out.end(), id) == out.end()) {
      out.push_back(std::move(id));
    }
  };
  if (field.value.IsSequence()) {
    for (std::size_t i = 0; i < field.value.size(); ++i) {
      Field item{field.key, field.value[i], fmt::format("{}[{}]", field.path, i)};
      const auto text = parser.string(item);
      if (!text || trim(*text).empty()) {
        parser.fail(Parser::line(item), item.path, "must be a library id or name");
      }
      add(trim(*text));
    }
    return;
  }
  if (field.value.IsMap()) {
    parser.fail(Parser::line(field), field.path,
                "must be a list of library ids or names, or a comma-separated string");
  }
  const auto text = parser.string(field);
  if (!text) {
    return;
  }
  std::string_view rest(*text);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    add(trim(rest.substr(0, comma)));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
}

} // namespace

bool Parser::parse_enabled(const Field& field) const {
  // lastSync and playlist are WatchState's own sync bookkeeping; ours lives in state_dir.
  const MapReader map(*this, field, {"enabled"}, {"lastSync", "playlist"});
  if (auto f = map.value("enabled")) {
    return boolean(*f);
  }
  return true;
}

// token or token_file (exactly one when required, at most one otherwise).
std::optional<std::string> Parser::read_token_pair(const Field& owner, const MapReader& map,
                                                   bool required) {
  const auto inline_token = map.get("token");
  const auto file_token = map.get("token_file");
  if (inline_token && file_token) {
    fail(line_of(file_token->key), owner.path, "set only one of token and token_file");
  }
  if (inline_token) {
    return token(*inline_token);
  }
  if (file_token) {
    return token_from_file(*file_token);
  }
  if (required) {
    fail(line_of(owner.key), owner.path + ".token", "is required (or token_file)");
  }
  return std::nullopt;
}

void Parser::parse_options(const Field& field, BackendConfig& backend) {
  const MapReader map(*this, field,
                      {"ignore_libraries", "page_size", "concurrency", "timeout", "verify_tls",
                       "disable_mark_unplayed", "ignore", "LIBRARY_SEGMENT",
                       "DISABLE_MARK_UNPLAYED", "client", "plextv_url"},
                      k_watchstate_option_keys);

  for (const char* key : {"ignore_libraries", "ignore"}) {
    if (auto f = map.get(key)) {
      add_libraries(*this, *f, backend.ignore_libraries);
    }
  }

  std::optional<std::pair<int, std::string>> page_size;
  for (const char* key : {"page_size", "LIBRARY_SEGMENT"}) {
    if (auto f = map.value(key)) {
      merge_setting(*this, page_size, *f, integer(*f, 1, 10000));
    }
  }
  if (page_size) {
    backend.page_size = page_size->first;
  }
  if (auto f = map.value("concurrency")) {
    backend.concurrency = integer(*f, 1, 64);
  }

  std::optional<std::pair<bool, std::string>> unplayed;
  for (const char* key : {"disable_mark_unplayed", "DISABLE_MARK_UNPLAYED"}) {
    if (auto f = map.value(key)) {
      merge_setting(*this, unplayed, *f, boolean(*f));
    }
  }
  backend.disable_mark_unplayed = unplayed && unplayed->first;

  std::optional<std::pair<int, std::string>> timeout;
  std::optional<std::pair<bool, std::string>> verify;
  if (auto f = map.value("timeout")) {
    merge_setting(*this, timeout, *f, integer(*f, 1, 86400));
  }
  if (auto f = map.value("verify_tls")) {
    merge_setting(*this, verify, *f, boolean(*f));
  }
  if (auto client = map.get("client")) {
    // WatchState hands `client` to its HTTP client; http_version only works around PHP's
    // HTTP/2 problems and has no meaning for libcurl here.
    const MapReader client_map(*this, *client, {"timeout", "verify_host", "verify_peer"},
                               {"http_version"});
    if (auto f = client_map.value("timeout")) {
      merge_setting(*this, timeout, *f, seconds(*f, 1, 86400));
    }
    for (const char* key : {"verify_host", "verify_peer"}) {
      if (auto f = client_map.value(key)) {
        merge_setting(*this, verify, *f, boolean(*f));
      }
    }
  }
  if (timeout) {
    backend.timeout = timeout->first;
  }
  if (verify) {
    backend.verify_tls = verify->first;
  }
  if (auto f = map.value("plextv_url")) {
    std::string url = trim(string(*f).value_or(""));
    while (!url.empty() && url.back() == '/') {
      url.pop_back();
    }
    const std::string lower = lowercase_ascii(url);
    if ((!lower.starts_with("http://") && !lower.starts_with("https://")) ||
        url.find_first_of(k_whitespace) != std::string::npos || url.size() <= 8) {
      fail(line(*f), f->path, fmt::format("must be an http:// or https:// URL, not '{}'", url));
    }
    backend.plextv_url = url;
  }

  if (auto f = map.value("ADMIN_TOKEN")) {
    // Unused, but a secret all the same: hide it and count it for the file-mode warning.
    (void)token(*f);
  }
}

BackendConfig Parser::parse_backend(const Field& field) {
  BackendConfig backend;
  backend.name = field.key.Scalar();
  backend.line = line_of(field.key);
  if (!valid_name(backend.name)) {
    fail(backend.line, field.path,
         "a backend name may hold only lower-case letters, digits and '_' ([a-z0-9_]+)");
  }
  const MapReader map(*this, field,
                      {"type", "url", "token", "token_file", "user", "uuid", "import", "export",
                       "playlists", "options"},
                      k_watchstate_legacy_backend_keys);

  const auto type_field = map.value("type");
  if (!type_field) {
    fail(backend.line, field.path + ".type", "is required: plex, jellyfin or emby");
  }
  const std::string type_text = string(*type_field).value_or("");
  const std::string type = lowercase_ascii(trim(type_text));
  if (type == "plex") {
    backend.type = model::BackendType::plex;
  } else if (type == "jellyfin") {
    backend.type = model::BackendType::jellyfin;
  } else if (type == "emby") {
    backend.type = model::BackendType::emby;
  } else {
    fail(line(*type_field), type_field->path,
         fmt::format("must be plex, jellyfin or emby, not '{}'", type_text));
  }

  const auto url_field = map.value("url");
  if (!url_field) {
    fail(backend.line, field.path + ".url", "is required (e.g. http://192.168.1.10:32400)");
  }
  std::string url = trim(string(*url_field).value_or(""));
  const std::string lower = lowercase_ascii(url);
  std::size_t scheme = 0;
  if (lower.starts_with("http://")) {
    scheme = 7;
  } else if (lower.starts_with("https://")) {
    scheme = 8;
  }
  while (url.size() > scheme && url.back() == '/') {
    url.pop_back();
  }
  if (scheme == 0 || url.size() == scheme || url.find_first_of(k_whitespace) != std::string::npos) {
    fail(line(*url_field), url_field->path,
         fmt::format("must be an http:// or https:// URL, not '{}'", url));
  }
  backend.url = lower.substr(0, scheme) + url.substr(scheme);

  backend.token = read_token_pair(field, map, true).value_or("");

  if (auto f = map.value("user")) {
    backend.user = trim(string(*f).value_or(""));
  }
  if (backend.user.empty() && backend.type != model::BackendType::plex) {
    fail(backend.line, field.path + ".user",
         fmt::format("is required for {} backends (the user id whose play state is synced)", type));
  }
  if (auto f = map.value("uuid")) {
    backend.uuid = trim(string(*f).value_or(""));
  }
  if (auto f = map.get("import")) {
    backend.import_enabled = parse_enabled(*f);
  }
  if (auto f = map.get("export")) {
    backend.export_enabled = parse_enabled(*f);
  }
  if (auto f = map.get("playlists")) {
    backend.playlists_enabled = parse_enabled(*f);
  }
  if (auto f = map.get("options")) {
    parse_options(*f, backend);
  }
  return backend;
}

IdentityConfig Parser::parse_identity(const Field& field,
                                      const std::vector<BackendConfig>& backends) {
  IdentityConfig identity;
  identity.name = field.key.Scalar();
  if (!valid_name(identity.name) || identity.name == "main") {
    fail(line_of(field.key), field.path,
         "an identity name may hold only lower-case letters, digits and '_' ([a-z0-9_]+), and "
         "'main' is reserved");
  }
  const auto entries = this->entries(field, "a map of backend names to { user, token }");
  if (entries.empty()) {
    fail(line_of(field.key), field.path, "must map at least one backend to this person's user");
  }
  for (const auto& entry : entries) {
    const std::string& name = entry.key.Scalar();
    const auto main = std::find_if(backends.begin(), backends.end(),
                                   [&name](const BackendConfig& b) { return b.name == name; });
    if (main == backends.end()) {
      std::vector<std::string> names;
      for (const auto& b : backends) {
        names.push_back(b.name);
      }
      fail(line_of(entry.key), entry.path,
           fmt::format("no backend named '{}'; configured: {}", name, join(names)));
    }
    const MapReader map(*this, entry, {"user", "token", "token_file", "pin", "pin_file"});
    IdentityBackend out;
    out.backend = name;
    out.token = read_token_pair(entry, map, false).value_or("");
    const auto inline_pin = map.get("pin");
    const auto file_pin = map.get("pin_file");
    if (inline_pin && file_pin) {
      fail(line_of(file_pin->key), entry.path, "set only one of pin and pin_file");
    }
    if (inline_pin || file_pin) {
      const Field& pin_field = inline_pin ? *inline_pin : *file_pin;
      out.pin = inline_pin ? pin(*inline_pin) : pin_from_file(*file_pin);
      out.pin_key = pin_field.key.Scalar();
      if (main->type != model::BackendType::plex) {
        fail(line_of(pin_field.key), pin_field.path, "only a Plex home user has a PIN");
      }
      if (!out.token.empty()) {
        fail(line_of(pin_field.key), pin_field.path,
             "a PIN is only used to obtain this person's token through plex.tv; with a token "
             "set, remove the PIN");
      }
    }
    if (auto f = map.value("user")) {
      out.user = trim(string(*f).value_or(""));
    }
    if (out.user.empty() && main->type != model::BackendType::plex) {
      fail(line_of(entry.key), entry.path + ".user",
           fmt::format("is required for {} backends (this person's user id)",
                       type_name(main->type)));
    }
    if (out.user.empty() && out.token.empty()) {
      fail(line_of(entry.key), entry.path, "set user, token or both for this person");
    }
    identity.backends.push_back(std::move(out));
  }
  return identity;
}

void Parser::refer_to_backend(std::string name, int line, std::string path) {
  m_backend_references.push_back(BackendReference{std::move(name), line, std::move(path)});
}

void Parser::check_backend_references(const std::vector<BackendConfig>& backends) const {
  for (const auto& reference : m_backend_references) {
    const bool known = std::any_of(backends.begin(), backends.end(), [&](const BackendConfig& b) {
      return b.name == reference.name;
    });
    if (!known) {
      std::vector<std::string> names;
      for (const auto& b : backends) {
        names.push_back(b.name);
      }
      fail(reference.line, reference.path,
           fmt::format("no backend named '{}'; configured: {}", reference.name, join(names)));
    }
  }
}

} // namespace ws::config::detail
