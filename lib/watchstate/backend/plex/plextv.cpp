// SPDX-License-Identifier: MIT
#include <watchstate/backend/plex/plextv.hpp>

#include <watchstate/backend/adapter_support.hpp>
#include <watchstate/backend/json_fields.hpp>
#include <watchstate/backend/plex/plex_backend.hpp>
#include <watchstate/core/atomic_file.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/json/parse_buffer.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <utility>

namespace ws::backend::plex {
namespace {

std::string first_name(const rapidjson::Value& user) {
  for (const char* key : {"friendlyName", "username", "title", "email"}) {
    if (auto v = detail::string_member(user, key); v && !v->empty()) {
      return std::string(*v);
    }
  }
  return detail::id_member(user, "id").value_or("");
}

// Decode the five predefined XML entities and numeric references (ASCII only: user names and
// tokens need nothing more).
std::string xml_unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    const auto semi = text.find(';', i);
    if (semi == std::string_view::npos || semi - i > 8) {
      out += text[i];
      continue;
    }
    const std::string_view entity = text.substr(i + 1, semi - i - 1);
    char c = 0;
    if (entity == "amp") {
      c = '&';
    } else if (entity == "lt") {
      c = '<';
    } else if (entity == "gt") {
      c = '>';
    } else if (entity == "quot") {
      c = '"';
    } else if (entity == "apos") {
      c = '\'';
    } else if (entity.size() > 1 && entity[0] == '#') {
      const bool hex = entity[1] == 'x' || entity[1] == 'X';
      const std::string digits(entity.substr(hex ? 2 : 1));
      char* end = nullptr;
      const long code = std::strtol(digits.c_str(), &end, hex ? 16 : 10);
      if (!digits.empty() && end != nullptr && *end == '\0' && code > 0 && code < 128) {
        c = static_cast<char>(code);
      }
    }
    if (c == 0) {
      out += text[i];
      continue;
    }
    out += c;
    i = semi;
  }
  return out;
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == ':' ||
         c == '.';
}

// The attributes of one start tag's text (after the element name, up to '>' or '/>').
std::vector<std::pair<std::string, std::string>> attributes(std::string_view tag) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  while (i < tag.size()) {
    while (i < tag.size() && !is_name_char(tag[i])) {
      ++i;
    }
    const std::size_t name_start = i;
    while (i < tag.size() && is_name_char(tag[i])) {
      ++i;
    }
    const std::string name(tag.substr(name_start, i - name_start));
    while (i < tag.size() && std::isspace(static_cast<unsigned char>(tag[i])) != 0) {
      ++i;
    }
    if (name.empty() || i >= tag.size() || tag[i] != '=') {
      continue;
    }
    ++i;
    while (i < tag.size() && std::isspace(static_cast<unsigned char>(tag[i])) != 0) {
      ++i;
    }
    if (i >= tag.size() || (tag[i] != '"' && tag[i] != '\'')) {
      continue;
    }
    const char quote = tag[i++];
    const auto close = tag.find(quote, i);
    if (close == std::string_view::npos) {
      break;
    }
    out.emplace_back(name, xml_unescape(tag.substr(i, close - i)));
    i = close + 1;
  }
  return out;
}

std::string auth_message(std::string_view label, long status) {
  return fmt::format("{}: plex.tv refused the admin token (HTTP {}); the backend's token must be "
                     "the server owner's",
                     label, status);
}

} // namespace

std::vector<PlexTvUser> parse_home_users(std::string body, std::string_view what) {
  rapidjson::Document doc;
  detail::parse_json_body(doc, body, what, "home users", "/api/v2/home/users");
  const auto* users = detail::array_member(doc, "users");
  if (users == nullptr) {
    detail::throw_protocol(what, "home users", "/api/v2/home/users", "no 'users' array");
  }
  std::vector<PlexTvUser> out;
  for (const auto& entry : users->GetArray()) {
    auto id = detail::id_member(entry, "id");
    if (!id || id->empty()) {
      continue;
    }
    PlexTvUser user;
    user.id = std::move(*id);
    user.uuid = std::string(detail::string_member(entry, "uuid").value_or(""));
    user.name = first_name(entry);
    user.admin = detail::bool_member(entry, "admin").value_or(false);
    user.home = true;
    user.managed = detail::bool_member(entry, "restricted").value_or(false);
    user.protected_user = detail::bool_member(entry, "protected").value_or(false);
    user.token_available = user.admin || !user.uuid.empty();
    out.push_back(std::move(user));
  }
  return out;
}

std::string parse_switch_token(std::string body, std::string_view what) {
  rapidjson::Document doc;
  detail::parse_json_body(doc, body, what, "user switch", "/api/v2/home/users/…/switch");
  const auto token = detail::string_member(doc, "authToken");
  if (!token || token->empty()) {
    detail::throw_protocol(what, "user switch", "/api/v2/home/users/…/switch", "no authToken");
  }
  register_secret(*token);
  return std::string(*token);
}

std::optional<std::string> parse_resource_token(std::string body, std::string_view machine_id,
                                                std::string_view what) {
  rapidjson::Document doc;
  detail::parse_json_array_body(doc, body, what, "resources", "/api/v2/resources");
  for (const auto& entry : doc.GetArray()) {
    if (detail::string_member(entry, "clientIdentifier").value_or("") != machine_id) {
      continue;
    }
    const auto provides = detail::string_member(entry, "provides").value_or("server");
    if (provides.find("server") == std::string_view::npos) {
      continue;
    }
    const auto token = detail::string_member(entry, "accessToken");
    if (token && !token->empty()) {
      register_secret(*token);
      return std::string(*token);
    }
  }
  return std::nullopt;
}

std::vector<SharedServer> parse_shared_servers(std::string_view xml) {
  std::vector<SharedServer> out;
  constexpr std::string_view k_tag = "<SharedServer";
  std::size_t pos = 0;
  // Bounded: every round moves past one occurrence of the tag.
  while ((pos = xml.find(k_tag, pos)) != std::string_view::npos) {
    const std::size_t start = pos + k_tag.size();
    pos = start;
    if (start < xml.size() && is_name_char(xml[start])) {
      continue; // <SharedServers …>: another element
    }
    // A '>' may appear inside a quoted attribute value: the tag ends at the first one outside.
    std::size_t end = start;
    char quote = 0;
    for (; end < xml.size(); ++end) {
      const char c = xml[end];
      if (quote != 0) {
        quote = c == quote ? '\0' : quote;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>') {
        break;
      }
    }
    if (end >= xml.size()) {
      break; // a truncated document: the last tag is not trusted
    }
    SharedServer server;
    for (auto& [name, value] : attributes(xml.substr(start, end - start))) {
      if (name == "userID") {
        server.user_id = std::move(value);
      } else if (name == "username") {
        server.username = std::move(value);
      } else if (name == "accessToken") {
        server.access_token = std::move(value);
      }
    }
    if (!server.user_id.empty()) {
      if (!server.access_token.empty()) {
        register_secret(server.access_token);
      }
      out.push_back(std::move(server));
    }
    pos = end;
  }
  return out;
}

PlexTv::PlexTv(std::string label, std::string base_url, std::string admin_token,
               std::unique_ptr<http::Client> client)
    : m_label(std::move(label)), m_base_url(std::move(base_url)),
      m_admin_token(std::move(admin_token)), m_client(std::move(client)) {
  while (!m_base_url.empty() && m_base_url.back() == '/') {
    m_base_url.pop_back();
  }
}

http::Request PlexTv::request(http::Method method, std::string_view path,
                              std::string_view token) const {
  http::Request r;
  r.method = method;
  r.url = m_base_url + std::string(path);
  r.headers.push_back({"X-Plex-Token", std::string(token)});
  r.headers.push_back({"X-Plex-Client-Identifier", std::string(k_client_identifier)});
  r.headers.push_back({"X-Plex-Product", "watchstate"});
  r.headers.push_back({"Accept", "application/json"});
  return r;
}

std::string PlexTv::fetch(http::Request request, std::string_view what) {
  const std::string url = request.url;
  http::Outcome outcome = m_client->send(std::move(request));
  if (outcome.transport_ok()) {
    const long status = outcome.response.status;
    if (status == 401 || status == 403 || status == 498) {
      throw Error(Errc::no_perm, fmt::format("{}: plex.tv refused the token for {} (HTTP {})",
                                             m_label, what, status));
    }
  }
  detail::check_outcome(m_label + " (plex.tv)", url, outcome);
  return std::move(outcome.response.body);
}

std::vector<PlexTvUser> PlexTv::home_users() {
  auto req = request(http::Method::get, "/api/v2/home/users", m_admin_token);
  std::string body;
  try {
    body = fetch(std::move(req), "home users");
  } catch (const Error& e) {
    if (e.code() == Errc::no_perm) {
      throw Error(Errc::no_perm, auth_message(m_label, 401));
    }
    throw;
  }
  return parse_home_users(std::move(body), m_label + " (plex.tv)");
}

std::vector<SharedServer> PlexTv::shared_servers(std::string_view machine_id) {
  auto req = request(http::Method::get,
                     fmt::format("/api/servers/{}/shared_servers", detail::url_encode(machine_id)),
                     m_admin_token);
  req.headers.back().value = "application/xml";
  const std::string url = req.url;
  http::Outcome outcome = m_client->send(std::move(req));
  if (outcome.transport_ok() && outcome.response.status == 404) {
    return {}; // a server shared with nobody
  }
  if (outcome.transport_ok() &&
      (outcome.response.status == 401 || outcome.response.status == 403)) {
    throw Error(Errc::no_perm, auth_message(m_label, outcome.response.status));
  }
  detail::check_outcome(m_label + " (plex.tv)", url, outcome);
  return parse_shared_servers(outcome.response.body);
}

std::vector<PlexTvUser> PlexTv::users(std::string_view machine_id) {
  auto out = home_users();
  for (auto& shared : shared_servers(machine_id)) {
    const bool known = std::any_of(
        out.begin(), out.end(), [&shared](const PlexTvUser& u) { return u.id == shared.user_id; });
    if (known) {
      continue;
    }
    PlexTvUser user;
    user.id = shared.user_id;
    user.name = shared.username.empty() ? shared.user_id : shared.username;
    user.friend_user = true;
    user.token_available = !shared.access_token.empty();
    out.push_back(std::move(user));
  }
  return out;
}

std::string PlexTv::user_token(std::string_view user_id, std::string_view machine_id,
                               const HomeUserPin& pin) {
  const auto home = home_users();
  const auto found = std::find_if(home.begin(), home.end(),
                                  [&user_id](const PlexTvUser& u) { return u.id == user_id; });
  if (found != home.end()) {
    if (found->admin) {
      return m_admin_token;
    }
    if (found->uuid.empty()) {
      throw Error(Errc::protocol,
                  fmt::format("{}: plex.tv lists home user {} without a uuid", m_label, user_id));
    }
    std::string path = fmt::format("/api/v2/home/users/{}/switch", detail::url_encode(found->uuid));
    if (!pin.pin.empty()) {
      register_secret(pin.pin);
      path += "?pin=" + detail::url_encode(pin.pin);
    }
    auto req = request(http::Method::post, path, m_admin_token);
    std::string body;
    try {
      body = fetch(std::move(req), fmt::format("switching to user {}", user_id));
    } catch (const Error& e) {
      // plex.tv just took the admin token for the home users: a refused switch to a protected
      // user (403, "Invalid PIN") is the PIN's fault.
      if (e.code() != Errc::no_perm || (pin.pin.empty() && !found->protected_user)) {
        throw;
      }
      if (pin.pin.empty()) {
        const std::string where = pin.entry.empty() ? std::string() : " in " + pin.entry;
        throw Error(Errc::no_perm,
                    fmt::format("{}: Plex user '{}' is PIN-protected: set pin or pin_file{}",
                                m_label, found->name, where));
      }
      const std::string check =
          pin.entry.empty() ? std::string() : fmt::format(" (check {}.{})", pin.entry, pin.key);
      throw Error(Errc::no_perm, fmt::format("{}: plex.tv refused the PIN of Plex user '{}'{}",
                                             m_label, found->name, check));
    }
    const std::string temporary = parse_switch_token(std::move(body), m_label + " (plex.tv)");
    auto resources = request(http::Method::get, "/api/v2/resources?includeHttps=1", temporary);
    auto token = parse_resource_token(
        fetch(std::move(resources), fmt::format("the resources of user {}", user_id)), machine_id,
        m_label + " (plex.tv)");
    if (!token) {
      throw Error(Errc::no_perm, fmt::format("{}: plex.tv gives user {} no access to server {}",
                                             m_label, user_id, machine_id));
    }
    return *token;
  }
  for (const auto& shared : shared_servers(machine_id)) {
    if (shared.user_id == user_id) {
      if (shared.access_token.empty()) {
        throw Error(Errc::no_perm, fmt::format("{}: plex.tv lists no server token for friend {}",
                                               m_label, user_id));
      }
      return shared.access_token;
    }
  }
  throw Error(Errc::config,
              fmt::format("{}: plex.tv knows no home user or friend with id {} on server {} "
                          "(see ws-backend NAME users)",
                          m_label, user_id, machine_id));
}

namespace {

std::mutex g_cache_mutex;

struct CacheEntry {
  std::string backend;
  std::string user;
  std::string server;
  std::string token;
};

std::vector<CacheEntry> load_cache(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return {};
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  rapidjson::Document doc;
  doc.ParseInsitu(json::padded_for_parse(text));
  std::vector<CacheEntry> out;
  if (doc.HasParseError() || !doc.IsObject()) {
    return out; // a damaged cache only costs new tokens
  }
  const auto* tokens = detail::array_member(doc, "tokens");
  if (tokens == nullptr) {
    return out;
  }
  for (const auto& t : tokens->GetArray()) {
    CacheEntry e;
    e.backend = std::string(detail::string_member(t, "backend").value_or(""));
    e.user = std::string(detail::string_member(t, "user").value_or(""));
    e.server = std::string(detail::string_member(t, "server").value_or(""));
    e.token = std::string(detail::string_member(t, "token").value_or(""));
    if (!e.token.empty()) {
      register_secret(e.token);
      out.push_back(std::move(e));
    }
  }
  return out;
}

void save_cache(const std::filesystem::path& file, const std::vector<CacheEntry>& entries) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("tokens");
  w.StartArray();
  for (const auto& e : entries) {
    w.StartObject();
    w.Key("backend");
    w.String(e.backend.c_str());
    w.Key("user");
    w.String(e.user.c_str());
    w.Key("server");
    w.String(e.server.c_str());
    w.Key("token");
    w.String(e.token.c_str());
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();

  // Written whole and fsync'ed: a crash leaves the old cache or the new one. Only the owner may
  // read it (it holds tokens).
  try {
    write_file_atomic(file, std::string_view(buffer.GetString(), buffer.GetSize()), 0600);
  } catch (const Error& e) {
    // A cache that cannot be written is a local I/O error, whatever step failed.
    throw Error(Errc::io, e.what());
  }
}

bool same_key(const CacheEntry& e, std::string_view backend, std::string_view user,
              std::string_view server) {
  return e.backend == backend && e.user == user && e.server == server;
}

} // namespace

std::optional<std::string> TokenCache::get(std::string_view backend, std::string_view user,
                                           std::string_view server) const {
  const std::lock_guard lock(g_cache_mutex);
  for (auto& e : load_cache(m_file)) {
    if (same_key(e, backend, user, server)) {
      return std::move(e.token);
    }
  }
  return std::nullopt;
}

void TokenCache::put(std::string_view backend, std::string_view user, std::string_view server,
                     std::string_view token) const {
  const std::lock_guard lock(g_cache_mutex);
  auto entries = load_cache(m_file);
  std::erase_if(entries, [&](const CacheEntry& e) { return same_key(e, backend, user, server); });
  entries.push_back(
      CacheEntry{std::string(backend), std::string(user), std::string(server), std::string(token)});
  save_cache(m_file, entries);
}

void TokenCache::erase(std::string_view backend, std::string_view user,
                       std::string_view server) const {
  const std::lock_guard lock(g_cache_mutex);
  auto entries = load_cache(m_file);
  const auto before = entries.size();
  std::erase_if(entries, [&](const CacheEntry& e) { return same_key(e, backend, user, server); });
  if (entries.size() != before) {
    save_cache(m_file, entries);
  }
}

} // namespace ws::backend::plex
