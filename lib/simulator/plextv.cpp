// SPDX-License-Identifier: MIT
#include "simulator/plextv.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <utility>

namespace ws::sim {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr size_t k_log_limit = 100000;

Response json(std::string body, int status = 200) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

Response unauthorized() {
  return json(
      R"({"errors":[{"code":1001,"message":"User could not be authenticated","status":401}]})",
      401);
}

Response not_found() {
  return json(R"({"errors":[{"code":1002,"message":"Not found","status":404}]})", 404);
}

Response error(int status, int code, std::string_view message) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("errors");
  w.StartArray();
  w.StartObject();
  w.Key("code");
  w.Int(code);
  w.Key("message");
  w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  w.Key("status");
  w.Int(status);
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return json({buf.GetString(), buf.GetSize()}, status);
}

Response pin_not_found() { return error(404, 1020, "Code not found or expired"); }

Response no_content() {
  Response r;
  r.status = 204;
  return r;
}

constexpr int64_t k_pin_lifetime_ms = 1800 * 1000;
constexpr int64_t k_first_pin_id = 1000000000;
constexpr std::string_view k_public_address = "203.0.113.7";

// Unix milliseconds as plex.tv writes times: 2026-01-01T00:00:00Z.
std::string iso_time(int64_t unix_ms) {
  const auto s = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The pieces of the Plex URL a local connection lists.
struct UrlParts {
  std::string protocol = "http";
  std::string address;
  int64_t port = 0;
  bool ipv6 = false;
};

UrlParts split_url(std::string_view url) {
  UrlParts out;
  const size_t scheme = url.find("://");
  if (scheme != std::string_view::npos) {
    out.protocol = std::string(url.substr(0, scheme));
    url.remove_prefix(scheme + 3);
  }
  url = url.substr(0, url.find('/'));
  size_t colon = std::string_view::npos;
  if (!url.empty() && url.front() == '[') {
    const size_t close = url.find(']');
    out.address = std::string(
        url.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
    out.ipv6 = true;
    colon = close == std::string_view::npos ? close : url.find(':', close);
  } else {
    colon = url.rfind(':');
    out.address = std::string(url.substr(0, colon));
  }
  out.port = colon == std::string_view::npos ? (out.protocol == "https" ? 443 : 80)
                                             : parse_int(url.substr(colon + 1)).value_or(0);
  return out;
}

// The request log shows a home user's PIN as little as a token.
std::string redact_pin(std::string query) {
  size_t pos = 0;
  while (pos < query.size()) {
    const size_t amp = query.find('&', pos);
    const size_t end = amp == std::string::npos ? query.size() : amp;
    if (end - pos > 4 && iequals(std::string_view(query).substr(pos, 4), "pin=")) {
      query.replace(pos + 4, end - pos - 4, "REDACTED");
    }
    pos = query.find('&', pos);
    pos = pos == std::string::npos ? query.size() : pos + 1;
  }
  return query;
}

// A random PIN code: 4 upper-case letters and digits, or 25 lower-case ones for a strong PIN.
std::string pin_code(Rng& rng, bool strong) {
  constexpr std::string_view k_upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  constexpr std::string_view k_lower = "abcdefghijklmnopqrstuvwxyz0123456789";
  const std::string_view alphabet = strong ? k_lower : k_upper;
  std::string out;
  for (size_t i = 0; i < (strong ? 25U : 4U); ++i) {
    out += alphabet[rng.below(alphabet.size())];
  }
  return out;
}

} // namespace

PlexTv::PlexTv(std::shared_ptr<const World> world, std::string plex_url)
    : m_world(std::move(world)), m_plex_url(std::move(plex_url)) {
  const auto& users = plex().users;
  for (size_t i = 0; i < users.size(); ++i) {
    m_tokens.emplace(users[i].token, static_cast<int64_t>(i));
    if (users[i].home) {
      m_tokens.emplace(switch_token(users[i]), static_cast<int64_t>(i));
    }
  }
}

std::string PlexTv::switch_token(const UserDef& user) {
  return "tv" + hex_hash(user.token, "plextv/switch", 22);
}

int64_t PlexTv::user_of_token(const Request& req) const {
  const std::string* token = req.header("X-Plex-Token");
  if (token == nullptr) {
    token = req.iparam("X-Plex-Token");
  }
  if (token == nullptr) {
    return -1;
  }
  const auto found = m_tokens.find(*token);
  return found == m_tokens.end() ? -1 : found->second;
}

std::string PlexTv::user_json(size_t user) const {
  const UserDef& u = plex().users[user];
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("id");
  w.Int64(parse_int(u.id).value_or(0));
  w.Key("uuid");
  w.String(u.uuid.c_str());
  w.Key("title");
  w.String(u.name.c_str());
  w.Key("username");
  w.String(u.managed ? "" : u.name.c_str());
  w.Key("friendlyName");
  w.String(u.name.c_str());
  w.Key("admin");
  w.Bool(user == 0);
  w.Key("guest");
  w.Bool(false);
  w.Key("restricted");
  w.Bool(u.managed);
  w.Key("protected");
  w.Bool(!u.pin.empty());
  w.Key("home");
  w.Bool(u.home);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

Response PlexTv::handle(const Request& req) {
  if (req.path.starts_with("/__sim/plextv/")) {
    return control(req);
  }
  if (req.path == "/__sim/requests") {
    std::lock_guard lock(m_log_mutex);
    if (req.method == "DELETE") {
      m_log.clear();
      return json(R"({"ok":true})");
    }
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartArray();
    for (const LogEntry& e : m_log) {
      w.StartObject();
      w.Key("seq");
      w.Uint64(e.seq);
      w.Key("method");
      w.String(e.method.c_str());
      w.Key("path");
      w.String(e.path.c_str());
      w.Key("query");
      w.String(e.query.c_str());
      w.Key("status");
      w.Int(e.status);
      w.EndObject();
    }
    w.EndArray();
    return json({buf.GetString(), buf.GetSize()});
  }
  const auto start = std::chrono::steady_clock::now();
  Response res = answer(req);
  LogEntry e;
  e.method = req.method;
  e.path = req.path;
  e.query = redact_pin(Server::redact_query(req.query));
  e.status = res.status;
  e.ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::lock_guard lock(m_log_mutex);
  e.seq = ++m_seq;
  m_log.push_back(std::move(e));
  if (m_log.size() > k_log_limit) {
    m_log.pop_front();
  }
  return res;
}

Response PlexTv::answer(const Request& req) {
  const ServerDef& server = plex();
  if (req.path == "/api/v2/pins" || req.path == "/api/v2/pins/" ||
      req.path.starts_with("/api/v2/pins/")) {
    return pins(req); // PIN sign-in needs no token
  }
  const int64_t caller = user_of_token(req);
  if (caller < 0) {
    return unauthorized();
  }
  const auto& users = server.users;
  const UserDef& me = users[static_cast<size_t>(caller)];
  // The account endpoints take the owner's own token, not a switched one.
  const std::string* token = req.header("X-Plex-Token") != nullptr ? req.header("X-Plex-Token")
                                                                   : req.iparam("X-Plex-Token");
  const bool owner = token != nullptr && *token == users.front().token;
  const std::string& p = req.path;
  const bool get = req.method == "GET" || req.method == "HEAD";

  if (get && (p == "/api/v2/user" || p == "/api/v2/user/")) {
    return json(user_json(static_cast<size_t>(caller)));
  }
  if (p == "/api/v2/user/webhooks" || p == "/api/v2/user/webhooks/") {
    return webhooks(req, owner);
  }
  if (get && (p == "/api/v2/home/users" || p == "/api/v2/home/users/")) {
    if (!owner) {
      return unauthorized();
    }
    std::string body =
        fmt::format(R"({{"id":1,"name":"{} Home","guestUserID":null,"users":[)", "Sim");
    bool first = true;
    for (size_t i = 0; i < users.size(); ++i) {
      if (!users[i].home) {
        continue;
      }
      body += first ? "" : ",";
      body += user_json(i);
      first = false;
    }
    body += "]}";
    return json(std::move(body));
  }
  constexpr std::string_view k_home = "/api/v2/home/users/";
  if (req.method == "POST" && p.starts_with(k_home) && p.ends_with("/switch")) {
    if (!owner) {
      return unauthorized();
    }
    const std::string uuid = p.substr(k_home.size(), p.size() - k_home.size() - 7);
    for (const UserDef& u : users) {
      if (u.home && u.uuid == uuid) {
        // A protected home user switches only with the right PIN.
        const std::string* pin = req.iparam("pin");
        if (!u.pin.empty() && (pin == nullptr || *pin != u.pin)) {
          return error(403, 1041, "Invalid PIN");
        }
        return json(fmt::format(R"({{"id":{},"uuid":"{}","authToken":"{}"}})", u.id, u.uuid,
                                switch_token(u)),
                    201);
      }
    }
    return not_found();
  }
  if (get && p == "/api/v2/resources") {
    // The owner, home members and friends reach the server; any other account does not.
    if (!(caller == 0 || me.home || me.friend_user)) {
      return json("[]");
    }
    const UrlParts local = split_url(m_plex_url);
    const std::string remote_host =
        fmt::format("{}.{}.plex.direct", "203-0-113-7", server.server_id.substr(0, 32));
    const std::string created = iso_time((k_anchor - 400 * 86400) * 1000);
    const std::string seen = iso_time(now_ms());
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartArray();
    w.StartObject();
    w.Key("name");
    w.String(server.name.c_str());
    w.Key("product");
    w.String("Plex Media Server");
    w.Key("productVersion");
    w.String(server.version.c_str());
    w.Key("platform");
    w.String("Linux");
    w.Key("platformVersion");
    w.String("6.1.0");
    w.Key("device");
    w.String("PC");
    w.Key("clientIdentifier");
    w.String(server.server_id.c_str());
    w.Key("createdAt");
    w.String(created.c_str());
    w.Key("lastSeenAt");
    w.String(seen.c_str());
    w.Key("provides");
    w.String("server");
    w.Key("ownerId");
    if (caller == 0) {
      w.Null();
    } else {
      w.Int64(parse_int(users.front().id).value_or(0));
    }
    w.Key("sourceTitle");
    if (caller == 0) {
      w.Null();
    } else {
      w.String(users.front().name.c_str());
    }
    w.Key("publicAddress");
    w.String(k_public_address.data(), static_cast<rapidjson::SizeType>(k_public_address.size()));
    w.Key("accessToken");
    w.String(me.token.c_str());
    w.Key("owned");
    w.Bool(caller == 0);
    w.Key("home");
    w.Bool(me.home);
    w.Key("synced");
    w.Bool(false);
    w.Key("relay");
    w.Bool(true);
    w.Key("presence");
    w.Bool(true);
    w.Key("httpsRequired");
    w.Bool(false);
    w.Key("publicAddressMatches");
    w.Bool(true);
    w.Key("dnsRebindingProtection");
    w.Bool(false);
    w.Key("natLoopbackSupported");
    w.Bool(false);
    w.Key("connections");
    w.StartArray();
    w.StartObject();
    w.Key("protocol");
    w.String(local.protocol.c_str());
    w.Key("address");
    w.String(local.address.c_str());
    w.Key("port");
    w.Int64(local.port);
    w.Key("uri");
    w.String(m_plex_url.c_str());
    w.Key("local");
    w.Bool(true);
    w.Key("relay");
    w.Bool(false);
    w.Key("IPv6");
    w.Bool(local.ipv6);
    w.EndObject();
    const std::string remote_uri = fmt::format("https://{}:32400", remote_host);
    w.StartObject();
    w.Key("protocol");
    w.String("https");
    w.Key("address");
    w.String(k_public_address.data(), static_cast<rapidjson::SizeType>(k_public_address.size()));
    w.Key("port");
    w.Int(32400);
    w.Key("uri");
    w.String(remote_uri.c_str());
    w.Key("local");
    w.Bool(false);
    w.Key("relay");
    w.Bool(false);
    w.Key("IPv6");
    w.Bool(false);
    w.EndObject();
    w.EndArray();
    w.EndObject();
    w.EndArray();
    return json({buf.GetString(), buf.GetSize()});
  }
  constexpr std::string_view k_servers = "/api/servers/";
  if (get && p.starts_with(k_servers) && p.ends_with("/shared_servers")) {
    if (!owner) {
      return unauthorized();
    }
    const std::string machine = p.substr(k_servers.size(), p.size() - k_servers.size() - 15);
    if (machine != server.server_id) {
      return not_found();
    }
    std::string body = fmt::format(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<MediaContainer friendlyName=\"myPlex\" "
        "identifier=\"com.plexapp.plugins.myplex\" machineIdentifier=\"{}\" size=\"{}\">\n",
        server.server_id, 0);
    size_t shared = 0;
    for (size_t i = 0; i < users.size(); ++i) {
      const UserDef& u = users[i];
      if (!u.friend_user) {
        continue;
      }
      ++shared;
      body += fmt::format(
          "  <SharedServer id=\"{}\" username=\"{}\" email=\"{}@example.test\" userID=\"{}\" "
          "accessToken=\"{}\" name=\"{}\" owned=\"0\" allowSync=\"1\" acceptedAt=\"1700000000\">\n"
          "    <Section id=\"1\" key=\"1\" title=\"Movies\" type=\"movie\" shared=\"1\"/>\n"
          "  </SharedServer>\n",
          9000 + i, xml_escape(u.name), xml_escape(u.name), u.id, u.token, xml_escape(server.name));
    }
    body += "</MediaContainer>\n";
    const std::string size_attr = "size=\"0\"";
    body.replace(body.find(size_attr), size_attr.size(), fmt::format("size=\"{}\"", shared));
    Response r;
    r.content_type = "application/xml";
    r.body = std::move(body);
    return r;
  }
  return not_found();
}

int64_t PlexTv::user_of_ref(const std::string& ref) const {
  const auto& users = plex().users;
  for (size_t i = 0; i < users.size(); ++i) {
    if (users[i].id == ref) {
      return static_cast<int64_t>(i);
    }
  }
  for (size_t i = 0; i < users.size(); ++i) {
    if (users[i].name == ref) {
      return static_cast<int64_t>(i);
    }
  }
  const auto index = parse_int(ref);
  if (index && *index >= 0 && static_cast<size_t>(*index) < users.size()) {
    return *index;
  }
  return -1;
}

PlexTv::Pin* PlexTv::pin_of_code(const std::string& code) {
  for (Pin& pin : m_pins) {
    if (iequals(pin.code, code)) {
      return &pin;
    }
  }
  return nullptr;
}

std::string PlexTv::pin_json(const Pin& pin, int64_t now) const {
  const std::string qr = "https://plex.tv/api/v2/pins/qr/" + pin.code;
  const std::string created = iso_time(pin.created_ms);
  const std::string expires = iso_time(pin.expires_ms);
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  w.Key("id");
  w.Int64(pin.id);
  w.Key("code");
  w.String(pin.code.c_str());
  w.Key("product");
  w.String(pin.product.c_str());
  w.Key("trusted");
  w.Bool(false);
  w.Key("qr");
  w.String(qr.c_str());
  w.Key("clientIdentifier");
  w.String(pin.client_id.c_str());
  w.Key("location");
  w.StartObject();
  w.Key("code");
  w.String("US");
  w.Key("european_union_member");
  w.Bool(false);
  w.Key("continent_code");
  w.String("NA");
  w.Key("country");
  w.String("United States");
  w.Key("city");
  w.String("Simville");
  w.Key("time_zone");
  w.String("UTC");
  w.Key("postal_code");
  w.String("00000");
  w.Key("in_privacy_restricted_country");
  w.Bool(false);
  w.Key("subdivisions");
  w.String("");
  w.Key("coordinates");
  w.String("0.0000, 0.0000");
  w.EndObject();
  w.Key("expiresIn");
  w.Int64(std::max<int64_t>(0, (pin.expires_ms - now + 999) / 1000));
  w.Key("createdAt");
  w.String(created.c_str());
  w.Key("expiresAt");
  w.String(expires.c_str());
  w.Key("authToken");
  if (pin.user >= 0) {
    w.String(plex().users[static_cast<size_t>(pin.user)].token.c_str());
  } else {
    w.Null();
  }
  w.Key("newRegistration");
  w.Null();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

Response PlexTv::pins(const Request& req) {
  const std::string* client = req.header("X-Plex-Client-Identifier");
  if (client == nullptr) {
    client = req.iparam("X-Plex-Client-Identifier");
  }
  const bool has_client = client != nullptr && !client->empty();
  const int64_t now = now_ms();
  const std::string& p = req.path;
  if (req.method == "POST" && (p == "/api/v2/pins" || p == "/api/v2/pins/")) {
    if (!has_client) {
      return error(400, 1000, "X-Plex-Client-Identifier is missing");
    }
    const std::string* product = req.header("X-Plex-Product");
    if (product == nullptr) {
      product = req.iparam("X-Plex-Product");
    }
    const std::string* strong = req.iparam("strong");
    const bool is_strong = strong != nullptr && (*strong == "true" || *strong == "1");
    std::lock_guard lock(m_account_mutex);
    std::erase_if(m_pins, [now](const Pin& pin) { return pin.expires_ms <= now; });
    Pin pin;
    pin.id = k_first_pin_id + ++m_next_pin;
    Rng rng(mix64(m_world->seed ^ static_cast<uint64_t>(pin.id)));
    do {
      pin.code = pin_code(rng, is_strong);
    } while (pin_of_code(pin.code) != nullptr);
    pin.client_id = *client;
    pin.product = product != nullptr ? *product : std::string();
    pin.created_ms = now;
    pin.expires_ms = now + k_pin_lifetime_ms;
    m_pins.push_back(pin);
    return json(pin_json(pin, now), 201);
  }
  constexpr std::string_view k_prefix = "/api/v2/pins/";
  if ((req.method == "GET" || req.method == "HEAD") && p.size() > k_prefix.size()) {
    std::string_view rest = std::string_view(p).substr(k_prefix.size());
    if (rest.ends_with('/')) {
      rest.remove_suffix(1);
    }
    const auto id = parse_int(rest);
    std::lock_guard lock(m_account_mutex);
    for (Pin& pin : m_pins) {
      if (!id || pin.id != *id) {
        continue;
      }
      // Another client's PIN is as unknown as an expired one.
      if (pin.expires_ms <= now || !has_client || pin.client_id != *client) {
        break;
      }
      ++pin.polls;
      std::string body = pin_json(pin, now);
      if (m_autolink && pin.user < 0 && pin.polls >= 2) {
        pin.user = 0; // the owner signs in after the second poll
      }
      return json(std::move(body));
    }
    return pin_not_found();
  }
  return not_found();
}

Response PlexTv::control(const Request& req) {
  const std::string& p = req.path;
  const std::string* code = req.param("code");
  if (req.method == "POST" && (p == "/__sim/plextv/link" || p == "/__sim/plextv/expire")) {
    if (code == nullptr || code->empty()) {
      return error(400, 1000, "code is missing");
    }
    const int64_t now = now_ms();
    int64_t user = 0;
    if (p == "/__sim/plextv/link") {
      const std::string* ref = req.param("user");
      if (ref != nullptr) {
        user = user_of_ref(*ref);
        if (user < 0) {
          return error(404, 1002, fmt::format("no Plex user '{}'", *ref));
        }
      }
    }
    std::lock_guard lock(m_account_mutex);
    Pin* pin = pin_of_code(*code);
    if (pin == nullptr || pin->expires_ms <= now) {
      return pin_not_found();
    }
    if (p == "/__sim/plextv/link") {
      pin->user = user;
    } else {
      pin->expires_ms = 0;
    }
    return no_content();
  }
  if ((req.method == "GET" || req.method == "HEAD") && p == "/__sim/plextv/pins") {
    const int64_t now = now_ms();
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    std::lock_guard lock(m_account_mutex);
    w.StartArray();
    for (const Pin& pin : m_pins) {
      w.StartObject();
      w.Key("id");
      w.Int64(pin.id);
      w.Key("code");
      w.String(pin.code.c_str());
      w.Key("clientIdentifier");
      w.String(pin.client_id.c_str());
      w.Key("product");
      w.String(pin.product.c_str());
      w.Key("polls");
      w.Int(pin.polls);
      w.Key("expired");
      w.Bool(pin.expires_ms <= now);
      w.Key("user");
      if (pin.user >= 0) {
        w.String(plex().users[static_cast<size_t>(pin.user)].id.c_str());
      } else {
        w.Null();
      }
      w.EndObject();
    }
    w.EndArray();
    return json({buf.GetString(), buf.GetSize()});
  }
  return not_found();
}

Response PlexTv::webhooks(const Request& req, bool owner) {
  if (!owner) {
    return unauthorized();
  }
  if (!plex().plex_pass) {
    return error(403, 1998, "Plex Pass required");
  }
  auto list_json = [this]() {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartArray();
    for (const std::string& url : m_webhooks) {
      w.StartObject();
      w.Key("url");
      w.String(url.c_str());
      w.EndObject();
    }
    w.EndArray();
    return std::string(buf.GetString(), buf.GetSize());
  };
  if (req.method == "GET" || req.method == "HEAD") {
    std::lock_guard lock(m_account_mutex);
    return json(list_json());
  }
  if (req.method != "POST") {
    return not_found();
  }
  // The form body (urls[]=…&urls[]=…, the brackets possibly encoded) names the whole new list;
  // query parameters count too.
  Pairs params = req.params;
  if (!req.body.empty()) {
    const std::string* type = req.header("Content-Type");
    if (type == nullptr || !to_lower(*type).starts_with("application/x-www-form-urlencoded")) {
      return error(400, 1000, "Content-Type must be application/x-www-form-urlencoded");
    }
    const Request form = make_request("POST", "/?" + req.body);
    params.insert(params.end(), form.params.begin(), form.params.end());
  }
  std::vector<std::string> urls;
  for (const auto& [name, value] : params) {
    if (name == "urls[]" && !value.empty()) {
      urls.push_back(value);
    }
  }
  std::lock_guard lock(m_account_mutex);
  m_webhooks = std::move(urls);
  return json(list_json(), 201);
}

} // namespace ws::sim
