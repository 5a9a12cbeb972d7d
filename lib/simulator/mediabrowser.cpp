// SPDX-License-Identifier: MIT
// Jellyfin (reference §2) and Emby (§3): the same DTOs with the documented differences.
#include "simulator/server.hpp"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <optional>

namespace ws::sim {

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

enum Field : uint32_t {
  f_provider_ids = 1U << 0,
  f_date_created = 1U << 1,
  f_path = 1U << 2,
  f_overview = 1U << 3,
  f_genres = 1U << 4,
  f_original_title = 1U << 5,
  f_media_sources = 1U << 6,
  f_sort_name = 1U << 7,
  f_parent_id = 1U << 8,
  f_ud_play_count = 1U << 9,
  f_ud_last_played = 1U << 10,
  f_all = 0xFFFFFFFFU,
};

enum TypeBit : uint32_t {
  t_movie = 1,
  t_series = 2,
  t_season = 4,
  t_episode = 8,
  t_folder = 16,
  t_all = 31,
};

uint32_t type_bit(ItemType t) {
  switch (t) {
  case ItemType::movie: return t_movie;
  case ItemType::series: return t_series;
  case ItemType::season: return t_season;
  case ItemType::episode: return t_episode;
  }
  return 0;
}

void key(JsonWriter& w, std::string_view k) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}

void kv(JsonWriter& w, std::string_view k, std::string_view v) {
  key(w, k);
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}

void kv(JsonWriter& w, std::string_view k, const char* v) { kv(w, k, std::string_view(v)); }
void kv(JsonWriter& w, std::string_view k, const std::string& v) { kv(w, k, std::string_view(v)); }

void kv(JsonWriter& w, std::string_view k, int64_t v) {
  key(w, k);
  w.Int64(v);
}

void kv(JsonWriter& w, std::string_view k, int v) { kv(w, k, static_cast<int64_t>(v)); }

void kb(JsonWriter& w, std::string_view k, bool v) {
  key(w, k);
  w.Bool(v);
}

std::string finish(const rapidjson::StringBuffer& buf) { return {buf.GetString(), buf.GetSize()}; }

Response json_response(int status, std::string body) {
  Response r;
  r.status = status;
  // httplib only gzips an exact "application/json", so the charset parameter is left out.
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (true) {
    const size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    while (!part.empty() && part.front() == ' ') {
      part.remove_prefix(1);
    }
    while (!part.empty() && part.back() == ' ') {
      part.remove_suffix(1);
    }
    if (!part.empty()) {
      out.push_back(to_lower(part));
    }
    if (comma == std::string_view::npos) {
      break;
    }
    text.remove_prefix(comma + 1);
  }
  return out;
}

// Collect every occurrence of a query parameter (names ignore case).
std::vector<std::string> all_values(const Request& req, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : req.params) {
    if (iequals(k, name)) {
      for (std::string& s : split_list(v)) {
        out.push_back(std::move(s));
      }
    }
  }
  return out;
}

std::optional<bool> bool_param(const Request& req, std::string_view name) {
  const std::string* v = req.iparam(name);
  if (v == nullptr || v->empty()) {
    return std::nullopt;
  }
  return iequals(*v, "true") || *v == "1";
}

uint32_t parse_fields(const Request& req) {
  uint32_t mask = 0;
  for (const std::string& f : all_values(req, "fields")) {
    if (f == "providerids") {
      mask |= f_provider_ids;
    } else if (f == "datecreated") {
      mask |= f_date_created;
    } else if (f == "path") {
      mask |= f_path;
    } else if (f == "overview") {
      mask |= f_overview;
    } else if (f == "genres") {
      mask |= f_genres;
    } else if (f == "originaltitle") {
      mask |= f_original_title;
    } else if (f == "mediasources") {
      mask |= f_media_sources;
    } else if (f == "sortname") {
      mask |= f_sort_name;
    } else if (f == "parentid") {
      mask |= f_parent_id;
    } else if (f == "userdataplaycount") {
      mask |= f_ud_play_count;
    } else if (f == "userdatalastplayeddate") {
      mask |= f_ud_last_played;
    }
  }
  return mask;
}

std::string provider_key(const std::string& provider) {
  static const std::pair<const char*, const char*> k_known[] = {
      {"imdb", "Imdb"},     {"tmdb", "Tmdb"},
      {"tvdb", "Tvdb"},     {"tvmaze", "TvMaze"},
      {"anidb", "AniDB"},   {"tvrage", "TvRage"},
      {"zap2it", "Zap2It"}, {"tmdbcollection", "TmdbCollection"}};
  for (const auto& [lower, proper] : k_known) {
    if (provider == lower) {
      return proper;
    }
  }
  std::string out = provider;
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') {
    out[0] = static_cast<char>(out[0] - 'a' + 'A');
  }
  return out;
}

using AuthParams = std::vector<std::pair<std::string_view, std::string_view>>;

// Parameters of an `Authorization: MediaBrowser|Emby k="v", …` header (views into it, values
// without quotes, still URL-encoded: see auth_value); nullopt for another scheme.
std::optional<AuthParams> auth_params(std::string_view v) {
  const size_t space = v.find(' ');
  if (space == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view scheme = v.substr(0, space);
  if (!iequals(scheme, "MediaBrowser") && !iequals(scheme, "Emby")) {
    return std::nullopt;
  }
  AuthParams out;
  v.remove_prefix(space + 1);
  while (!v.empty()) {
    const size_t comma = v.find(',');
    std::string_view part = v.substr(0, comma);
    while (!part.empty() && part.front() == ' ') {
      part.remove_prefix(1);
    }
    const size_t eq = part.find('=');
    if (eq != std::string_view::npos) {
      std::string_view val = part.substr(eq + 1);
      while (!val.empty() && val.back() == ' ') {
        val.remove_suffix(1);
      }
      if (val.size() >= 2 && val.front() == '"' && val.back() == '"') {
        val = val.substr(1, val.size() - 2);
      }
      out.emplace_back(part.substr(0, eq), val);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    v.remove_prefix(comma + 1);
  }
  return out;
}

// A URL-decoded parameter value of an Authorization header.
std::string auth_value(std::string_view raw) {
  return make_request("GET", "/?t=" + std::string(raw)).params.front().second;
}

// An error answer: Emby and 403 text/plain, Jellyfin problem-details JSON.
Response mb_error(bool emby, int status, std::string_view title) {
  Response r;
  r.status = status;
  if (emby || status == 403) {
    r.content_type = "text/plain; charset=utf-8";
    r.body = std::string(title);
  } else {
    r.content_type = "application/problem+json; charset=utf-8";
    r.body = fmt::format(
        R"({{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.{}","title":"{}","status":{}}})",
        status == 404 ? 5 : (status == 400 ? 1 : 2), title, status);
  }
  return r;
}

// The Jellyfin Webhook plugin as GET /Plugins lists it, and its configuration before any POST.
constexpr const char* k_webhook_plugin_id = "71552a5a5c5c4350a2aeebe451a30173";
constexpr const char* k_webhook_plugin_config =
    R"({"ServerUrl":"","DiscordOptions":[],"GenericOptions":[],"GenericFormOptions":[],"GotifyOptions":[],)"
    R"("PushbulletOptions":[],"PushoverOptions":[],"SlackOptions":[],"SmtpOptions":[],"MqttOptions":[]})";

struct MbRender {
  const World& world;
  const std::vector<Item>& items;
  const std::vector<Library>& libraries;
  const ServerDef& server;
  bool emby;
  const std::vector<PlayState>* state; // nullptr = no user data
  uint32_t fields;
  bool listing; // Emby gates PlayCount/LastPlayedDate in listings only
  const std::unordered_map<uint32_t, IdList>&
      ids; // entries presented with other ids (m_mutex held)

  std::string date(int64_t ms) const {
    return emby ? format_emby_date(ms) : format_jellyfin_date(ms);
  }

  std::string name(const Item& it) const {
    if (it.type == ItemType::season) {
      return it.season_no == 0 ? std::string("Specials") : fmt::format("Season {}", it.season_no);
    }
    return world.entries[it.entry].title;
  }

  void provider_ids(JsonWriter& w, const Item& it) const {
    key(w, "ProviderIds");
    w.StartObject();
    if (it.type != ItemType::season) {
      const Entry& e = world.entries[it.entry];
      const auto& custom = e.provider_ids[idx(server.kind)];
      const auto changed = ids.find(it.entry);
      if (changed != ids.end()) {
        for (const auto& [k, v] : changed->second) {
          kv(w, provider_key(k), v);
        }
      } else if (custom) {
        for (const auto& [k, v] : *custom) {
          kv(w, k, v);
        }
      } else {
        for (const auto& [k, v] : e.ids) {
          kv(w, provider_key(k), v);
        }
      }
    }
    w.EndObject();
  }

  // UserItemDataDto; `dto` adds the fields of a write response.
  void user_data(JsonWriter& w, uint32_t index, bool dto) const {
    const Item& it = items[index];
    if (!dto) {
      key(w, "UserData");
    }
    w.StartObject();
    if (it.is_folder()) {
      int64_t leaves = 0;
      int64_t unplayed = 0;
      auto add = [&](const Item& season) {
        for (uint32_t c : season.children) {
          ++leaves;
          unplayed += (*state)[c].played ? 0 : 1;
        }
      };
      if (it.type == ItemType::series) {
        for (uint32_t s : it.children) {
          add(items[s]);
        }
      } else {
        add(it);
      }
      kv(w, "UnplayedItemCount", unplayed);
      kv(w, "PlaybackPositionTicks", 0);
      kv(w, "PlayCount", 0);
      kb(w, "IsFavorite", false);
      kb(w, "Played", leaves > 0 && unplayed == 0);
      if (!emby) {
        kv(w, "Key", it.id);
        kv(w, "ItemId", it.id);
      }
      w.EndObject();
      return;
    }
    const PlayState& st = (*state)[index];
    const int64_t duration = world.entries[it.entry].duration_ms;
    if (!emby && st.position_ms > 0 && duration > 0) {
      key(w, "PlayedPercentage");
      w.Double(static_cast<double>(st.position_ms) * 100.0 / static_cast<double>(duration));
    }
    kv(w, "PlaybackPositionTicks", st.position_ms * 10000);
    const bool gate = emby && listing;
    kv(w, "PlayCount",
       gate && (fields & f_ud_play_count) == 0 ? 0 : static_cast<int64_t>(st.play_count));
    kb(w, "IsFavorite", st.favorite);
    if (st.last_played_ms != k_no_time && (!gate || (fields & f_ud_last_played) != 0)) {
      kv(w, "LastPlayedDate", date(st.last_played_ms));
    }
    kb(w, "Played", st.played);
    if (!emby || dto) {
      kv(w, "Key", it.id);
      kv(w, "ItemId", it.id);
    }
    if (emby && dto) {
      kv(w, "ServerId", server.server_id);
    }
    w.EndObject();
  }

  std::string premiere(const Entry& e, const Item& it) const {
    auto base = parse_iso_ms(fmt::format("{:04d}-01-01", e.year));
    int64_t offset = 0;
    if (it.type == ItemType::episode && e.episode > 0) {
      offset = static_cast<int64_t>(e.episode - 1) * 7 * 86400000LL;
    }
    return date(*base + offset);
  }

  void library_item(JsonWriter& w, size_t lib) const {
    const Library& l = libraries[lib];
    w.StartObject();
    kv(w, "Name", l.name);
    kv(w, "ServerId", server.server_id);
    kv(w, "Id", l.id);
    if ((fields & f_date_created) != 0) {
      kv(w, "DateCreated", date(1499601583000LL));
    }
    if ((fields & f_path) != 0) {
      kv(w, "Path", l.path);
    }
    kb(w, "IsFolder", true);
    kv(w, "Type", "CollectionFolder");
    kv(w, "CollectionType", l.collection_type);
    kv(w, "LocationType", "FileSystem");
    w.EndObject();
  }

  // `playlist_item_id` (not empty): the item as a playlist lists it, with its PlaylistItemId.
  void item(JsonWriter& w, uint32_t index, std::string_view playlist_item_id = {}) const {
    const Item& it = items[index];
    const Entry& e = world.entries[it.entry];
    const bool folder = it.is_folder();
    const bool episode = it.type == ItemType::episode;
    w.StartObject();
    kv(w, "Name", name(it));
    if ((fields & f_original_title) != 0 && it.type != ItemType::season) {
      kv(w, "OriginalTitle", e.title);
    }
    kv(w, "ServerId", server.server_id);
    kv(w, "Id", it.id);
    if (!playlist_item_id.empty()) {
      kv(w, "PlaylistItemId", playlist_item_id);
    }
    if ((fields & f_date_created) != 0) {
      kv(w, "DateCreated", date(it.added_at * 1000));
    }
    if ((fields & f_sort_name) != 0) {
      kv(w, "SortName", to_lower(name(it)));
    }
    if (e.year > 0 && it.type != ItemType::season) {
      kv(w, "PremiereDate", premiere(e, it));
    }
    if ((fields & f_media_sources) != 0 && !folder) {
      key(w, "MediaSources");
      w.StartArray();
      w.StartObject();
      kv(w, "Protocol", "File");
      kv(w, "Id", emby ? "mediasource_" + it.id : it.id);
      kv(w, "Path", e.file);
      kv(w, "Type", "Default");
      kv(w, "Container", "mkv");
      kv(w, "Name", e.title);
      kb(w, "IsRemote", false);
      kv(w, "RunTimeTicks", e.duration_ms * 10000);
      w.EndObject();
      w.EndArray();
    }
    if ((fields & f_path) != 0 && it.type != ItemType::season) {
      kv(w, "Path", e.file);
    }
    if ((fields & f_genres) != 0) {
      key(w, "Genres");
      w.StartArray();
      if (!episode && it.type != ItemType::season) {
        for (const std::string& g : e.genres) {
          w.String(g.data(), static_cast<rapidjson::SizeType>(g.size()));
        }
      }
      w.EndArray();
    }
    if (!folder) {
      kv(w, "RunTimeTicks", e.duration_ms * 10000);
    }
    if (e.year > 0) {
      kv(w, "ProductionYear", e.year);
    }
    if (episode) {
      kv(w, "IndexNumber", e.episode);
      if (e.episode_end >= 0) {
        kv(w, "IndexNumberEnd", e.episode_end);
      }
      kv(w, "ParentIndexNumber", e.season);
    } else if (it.type == ItemType::season) {
      kv(w, "IndexNumber", it.season_no);
    }
    if ((fields & f_provider_ids) != 0) {
      provider_ids(w, it);
    }
    kb(w, "IsFolder", folder);
    if ((fields & f_parent_id) != 0) {
      kv(w, "ParentId",
         it.parent >= 0 ? items[static_cast<size_t>(it.parent)].id : libraries[it.library].id);
    }
    kv(w, "Type",
       it.type == ItemType::movie    ? "Movie"
       : it.type == ItemType::series ? "Series"
       : it.type == ItemType::season ? "Season"
                                     : "Episode");
    if (episode || it.type == ItemType::season) {
      const Item& series = items[static_cast<size_t>(it.series)];
      kv(w, "SeriesName", world.entries[series.entry].title);
      kv(w, "SeriesId", series.id);
      if (episode) {
        kv(w, "SeasonId", items[static_cast<size_t>(it.parent)].id);
      }
    }
    if (state != nullptr) {
      user_data(w, index, false);
    }
    if (episode) {
      kv(w, "SeasonName", name(items[static_cast<size_t>(it.parent)]));
    }
    kv(w, "LocationType", "FileSystem");
    if (!folder) {
      kv(w, "MediaType", "Video");
    }
    w.EndObject();
  }

  // A playlist as the item queries list it (DateCreated and ChildCount always).
  void playlist(JsonWriter& w, const Playlist& p, int64_t children, int64_t duration_ms) const {
    w.StartObject();
    kv(w, "Name", p.title);
    kv(w, "ServerId", server.server_id);
    kv(w, "Id", p.id);
    kv(w, "DateCreated", date(p.added_at * 1000));
    kb(w, "CanDelete", true);
    if ((fields & f_sort_name) != 0) {
      kv(w, "SortName", to_lower(p.title));
    }
    if ((fields & f_path) != 0) {
      kv(w, "Path", fmt::format("/config/data/playlists/{}/playlist.xml", p.title));
    }
    kv(w, "RunTimeTicks", duration_ms * 10000);
    kv(w, "ChildCount", children);
    kb(w, "IsFolder", true);
    kv(w, "Type", "Playlist");
    kv(w, "LocationType", "FileSystem");
    kv(w, "MediaType", p.audio ? "Audio" : "Video");
    w.EndObject();
  }
};

} // namespace

Server::Caller Server::mb_caller(const Request& req) const {
  std::string token;
  for (const char* name : {"Authorization", "X-Emby-Authorization"}) {
    const std::string* h = req.header(name);
    if (h == nullptr || !token.empty()) {
      continue;
    }
    if (auto params = auth_params(*h)) {
      for (const auto& [k, v] : *params) {
        if (iequals(k, "Token")) {
          token = auth_value(v);
        }
      }
    }
  }
  if (token.empty()) {
    for (const char* name : {"X-Emby-Token", "X-MediaBrowser-Token"}) {
      if (const std::string* h = req.header(name); h != nullptr && !h->empty()) {
        token = *h;
        break;
      }
    }
  }
  if (token.empty()) {
    for (const char* name : {"ApiKey", "api_key"}) {
      if (const std::string* q = req.iparam(name); q != nullptr && !q->empty()) {
        token = *q;
        break;
      }
    }
  }
  Caller c;
  if (token.empty()) {
    return c;
  }
  // The world's tokens never change: no lock on this path. Tokens of logins come after.
  if (auto found = m_token_user.find(token); found != m_token_user.end()) {
    c.user = found->second;
  } else {
    std::shared_lock lock(m_login_mutex);
    auto login = m_login_tokens.find(token);
    if (login == m_login_tokens.end()) {
      return c;
    }
    c.user = login->second;
  }
  c.ok = true;
  c.admin = c.user < 0 || def().users[static_cast<size_t>(c.user)].admin;
  return c;
}

Response Server::mediabrowser(const Request& req, bool& is_write) {
  const bool emby = m_kind == Kind::emby;
  const ServerDef& s = def();
  auto error = [&](int status, std::string_view title) { return mb_error(emby, status, title); };
  std::string path = to_lower(req.path);
  // Emby serves everything under /emby too; Jellyfin 10.x also strips /emby and /mediabrowser.
  for (std::string_view p :
       {std::string_view("/emby"), std::string_view(emby ? "/emby" : "/mediabrowser")}) {
    if (path.rfind(p, 0) == 0 && (path.size() == p.size() || path[p.size()] == '/')) {
      path.erase(0, p.size());
      break;
    }
  }
  std::vector<std::string> seg;
  {
    std::string_view rest = path;
    while (!rest.empty()) {
      const size_t slash = rest.find('/');
      if (slash != 0) {
        seg.emplace_back(rest.substr(0, slash));
      }
      if (slash == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(slash + 1);
    }
  }
  const std::string& m = req.method;
  const bool get = m == "GET" || m == "HEAD";
  const bool post = m == "POST";
  const size_t n = seg.size();
  auto is = [&](std::initializer_list<const char*> parts) {
    if (parts.size() != n) {
      return false;
    }
    size_t i = 0;
    for (const char* p : parts) {
      if (p[0] != '*' && seg[i] != p) {
        return false;
      }
      ++i;
    }
    return true;
  };

  auto system_info = [&](bool full) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    kv(w, "LocalAddress", m_base_url);
    if (emby && !full) {
      key(w, "LocalAddresses");
      w.StartArray();
      w.String(m_base_url.c_str());
      w.EndArray();
      key(w, "RemoteAddresses");
      w.StartArray();
      w.EndArray();
    }
    kv(w, "ServerName", s.name);
    kv(w, "Version", s.version);
    if (!emby) {
      kv(w, "ProductName", "Jellyfin Server");
      kv(w, "OperatingSystem", "");
    }
    kv(w, "Id", s.server_id);
    if (!emby) {
      kb(w, "StartupWizardCompleted", true);
    }
    if (full) {
      const size_t colon = m_base_url.rfind(':');
      const int64_t port =
          colon == std::string::npos ? 0 : parse_int(m_base_url.substr(colon + 1)).value_or(0);
      if (emby) {
        kv(w, "OperatingSystem", "Linux");
      }
      kv(w, "OperatingSystemDisplayName", "Linux");
      kb(w, "HasPendingRestart", false);
      kb(w, "IsShuttingDown", false);
      kb(w, "SupportsLibraryMonitor", true);
      if (emby) {
        kv(w, "HttpServerPortNumber", port);
        kb(w, "SupportsHttps", false);
      }
      kv(w, "WebSocketPortNumber", port);
      kb(w, "CanSelfRestart", false);
      kb(w, "HasUpdateAvailable", false);
      if (!emby) {
        kv(w, "SystemArchitecture", "X64");
      }
    }
    w.EndObject();
    return json_response(200, finish(buf));
  };

  if (get && is({"system", "info", "public"})) {
    return system_info(false);
  }
  if ((get || post) && is({"system", "ping"})) {
    return json_response(200, fmt::format("\"{}\"", emby ? "Emby Server" : "Jellyfin Server"));
  }
  if (get && is({"users", "public"})) {
    return mb_users(req, false);
  }
  if (post && is({"users", "authenticatebyname"})) {
    return mb_login(req);
  }

  const Caller caller = mb_caller(req);
  if (!caller.ok) {
    Response r;
    r.status = 401;
    if (emby) {
      r.content_type = "text/plain; charset=utf-8";
      r.body = "Access token is invalid or expired.";
    }
    return r;
  }
  // Resolve a user id and check that the caller may act for it.
  int64_t forbidden_or_missing = 0; // 0 ok, 403, 404
  auto resolve_user = [&](std::string_view id) -> int64_t {
    const int64_t u = user_of_id(id);
    if (u < 0) {
      forbidden_or_missing = 404;
      return -1;
    }
    if (!caller.admin && caller.user != u) {
      forbidden_or_missing = 403;
      return -1;
    }
    return u;
  };
  auto query_user = [&]() -> int64_t {
    const std::string* uid = req.iparam("userId");
    if (uid != nullptr && !uid->empty()) {
      return resolve_user(*uid);
    }
    return caller.user;
  };
  auto user_error = [&]() {
    return forbidden_or_missing == 403 ? error(403, "User is not allowed to access this resource.")
                                       : error(404, "Not Found");
  };
  auto find_item = [&](const std::string& id) -> int64_t { return item_of_id(id); };

  if (get && is({"system", "info"})) {
    return system_info(true);
  }
  if (get && is({"users"})) {
    return mb_users(req, false);
  }
  if (get && emby && is({"users", "query"})) {
    return mb_users(req, true);
  }
  if (get && is({"users", "*"})) {
    const int64_t u = resolve_user(seg[1]);
    if (u < 0) {
      return user_error();
    }
    return mb_users(make_request("GET", "/?only=" + s.users[static_cast<size_t>(u)].id), false);
  }
  if (get && (is({"users", "*", "views"}) || (!emby && is({"userviews"})))) {
    const int64_t u = n == 3 ? resolve_user(seg[1]) : query_user();
    if (forbidden_or_missing != 0) {
      return user_error();
    }
    return mb_views(u);
  }
  if (get && is({"library", "virtualfolders"})) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartArray();
    for (const Library& l : m_libraries) {
      w.StartObject();
      kv(w, "Name", l.name);
      key(w, "Locations");
      w.StartArray();
      w.String(l.path.c_str());
      w.EndArray();
      kv(w, "CollectionType", l.collection_type);
      kv(w, "ItemId", l.id);
      w.EndObject();
    }
    w.EndArray();
    return json_response(200, finish(buf));
  }
  if (get && (is({"users", "*", "items"}) || is({"items"}))) {
    const int64_t u = n == 3 ? resolve_user(seg[1]) : query_user();
    if (forbidden_or_missing != 0) {
      return user_error();
    }
    // A playlist query answers playlists only; other queries never list playlists.
    for (const std::string& t : all_values(req, "includeItemTypes")) {
      if (t == "playlist") {
        return mb_playlist_listing(req, u);
      }
    }
    return mb_listing(req, u);
  }
  if (get && (is({"users", "*", "items", "*"}) || is({"items", "*"}))) {
    const int64_t u = n == 4 ? resolve_user(seg[1]) : query_user();
    if (forbidden_or_missing != 0) {
      return user_error();
    }
    if (Response r; mb_playlist_single(u, seg[n - 1], r)) {
      return r;
    }
    const int64_t i = find_item(seg[n - 1]);
    if (i < 0) {
      return error(404, "Not Found");
    }
    return mb_single(req, u, static_cast<uint32_t>(i));
  }
  if (get && is({"sessions"})) {
    return mb_sessions();
  }
  if ((!emby && n >= 1 && seg[0] == "plugins") ||
      (emby && is({"notifications", "services", "configured"}))) {
    return mb_setup(req, seg, caller);
  }
  if ((n >= 1 && seg[0] == "playlists") || (m == "DELETE" && is({"items", "*"})) ||
      (post && (is({"items", "*"}) || (emby && is({"items", "delete"}))))) {
    return mb_playlists(req, seg, caller, is_write);
  }
  // State-changing and user-data routes.
  std::string action;
  int64_t u = -1;
  std::string item_id;
  if (is({"users", "*", "items", "*", "userdata"})) {
    action = get ? "userdata_get" : (post ? "userdata_post" : "");
    u = resolve_user(seg[1]);
    item_id = seg[3];
  } else if (!emby && is({"useritems", "*", "userdata"})) {
    action = get ? "userdata_get" : (post ? "userdata_post" : "");
    u = query_user();
    item_id = seg[1];
  } else if (is({"users", "*", "playeditems", "*"})) {
    action = post ? "played" : (m == "DELETE" ? "unplayed" : "");
    u = resolve_user(seg[1]);
    item_id = seg[3];
  } else if (emby && is({"users", "*", "playeditems", "*", "delete"})) {
    action = post ? "unplayed" : "";
    u = resolve_user(seg[1]);
    item_id = seg[3];
  } else if (!emby && is({"userplayeditems", "*"})) {
    action = post ? "played" : (m == "DELETE" ? "unplayed" : "");
    u = query_user();
    item_id = seg[1];
  } else if (is({"users", "*", "playingitems", "*"})) {
    action = post ? "playing_start" : (m == "DELETE" ? "playing_stop" : "");
    u = resolve_user(seg[1]);
    item_id = seg[3];
  } else if (is({"users", "*", "playingitems", "*", "progress"})) {
    action = post ? "playing_progress" : "";
    u = resolve_user(seg[1]);
    item_id = seg[3];
  } else {
    return error(404, "Not Found");
  }
  if (action.empty()) {
    return error(405, "Method Not Allowed");
  }
  if (action != "userdata_get") {
    is_write = true;
  }
  if (forbidden_or_missing != 0) {
    return user_error();
  }
  if (u < 0) {
    return error(400, "Bad Request");
  }
  const int64_t i = find_item(item_id);
  if (i < 0) {
    return error(404, "Not Found");
  }
  if (m_items[static_cast<size_t>(i)].is_folder()) {
    return error(400, "Bad Request");
  }
  return mb_write(req, static_cast<size_t>(u), static_cast<uint32_t>(i), action);
}

Response Server::mb_users(const Request& req, bool query_form) {
  const ServerDef& s = def();
  const std::string* only = req.param("only");
  std::vector<size_t> order;
  for (size_t i = 0; i < s.users.size(); ++i) {
    if (only == nullptr || s.users[i].id == *only) {
      order.push_back(i);
    }
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return to_lower(s.users[a].name) < to_lower(s.users[b].name);
  });
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  const bool date7 = m_kind == Kind::emby;
  auto date = [&](int64_t ms) { return date7 ? format_emby_date(ms) : format_jellyfin_date(ms); };
  auto user = [&](const UserDef& u) {
    w.StartObject();
    kv(w, "Name", u.name);
    kv(w, "ServerId", s.server_id);
    kv(w, "Id", u.id);
    kb(w, "HasPassword", !u.password.empty());
    kb(w, "HasConfiguredPassword", !u.password.empty());
    kb(w, "HasConfiguredEasyPassword", false);
    kb(w, "EnableAutoLogin", false);
    kv(w, "LastLoginDate", date((k_anchor - 86400) * 1000));
    kv(w, "LastActivityDate", date((k_anchor - 3600) * 1000));
    key(w, "Policy");
    w.StartObject();
    kb(w, "IsAdministrator", u.admin);
    kb(w, "IsHidden", false);
    kb(w, "IsDisabled", false);
    kb(w, "EnableAllFolders", true);
    w.EndObject();
    w.EndObject();
  };
  if (only != nullptr) {
    user(s.users[order.at(0)]);
    return json_response(200, finish(buf));
  }
  if (query_form) {
    w.StartObject();
    key(w, "Items");
  }
  w.StartArray();
  for (size_t i : order) {
    user(s.users[i]);
  }
  w.EndArray();
  if (query_form) {
    kv(w, "TotalRecordCount", static_cast<int64_t>(order.size()));
    w.EndObject();
  }
  return json_response(200, finish(buf));
}

Response Server::mb_views(int64_t user) {
  (void)user;
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  MbRender r{*m_world, m_items, m_libraries, def(), m_kind == Kind::emby, nullptr, 0, true, m_ids};
  w.StartObject();
  key(w, "Items");
  w.StartArray();
  for (size_t l = 0; l < m_libraries.size(); ++l) {
    r.library_item(w, l);
  }
  w.EndArray();
  kv(w, "TotalRecordCount", static_cast<int64_t>(m_libraries.size()));
  if (m_kind != Kind::emby) {
    kv(w, "StartIndex", 0);
  }
  w.EndObject();
  return json_response(200, finish(buf));
}

Response Server::mb_single(const Request& req, int64_t user, uint32_t item) {
  const bool emby = m_kind == Kind::emby;
  const bool user_data = user >= 0 && bool_param(req, "enableUserData").value_or(true);
  rapidjson::StringBuffer buf(nullptr, 4096);
  JsonWriter w(buf);
  std::shared_lock lock(m_mutex);
  MbRender r{*m_world, m_items, m_libraries,
             def(),    emby,    user_data ? &m_state[static_cast<size_t>(user)] : nullptr,
             f_all,    false,   m_ids};
  r.item(w, item);
  lock.unlock();
  return json_response(200, finish(buf));
}

Response Server::mb_listing(const Request& req, int64_t user) {
  const bool emby = m_kind == Kind::emby;
  const World& world = *m_world;
  auto bad = [&]() {
    Response r;
    r.status = 400;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "Bad Request";
    return r;
  };
  // Scope: -1 = root, -2 - l = library l, >= 0 = item.
  int64_t scope = -1;
  if (const std::string* p = req.iparam("parentId"); p != nullptr && !p->empty()) {
    std::string pid = to_lower(*p);
    pid.erase(std::remove(pid.begin(), pid.end(), '-'), pid.end());
    bool found = false;
    for (size_t l = 0; l < m_libraries.size(); ++l) {
      if (m_libraries[l].id == pid) {
        scope = -2 - static_cast<int64_t>(l);
        found = true;
      }
    }
    if (!found) {
      const int64_t i = item_of_id(pid);
      if (i < 0) {
        Response r;
        r.status = 404;
        if (emby) {
          r.content_type = "text/plain; charset=utf-8";
          r.body = "Not Found";
        } else {
          r.content_type = "application/problem+json; charset=utf-8";
          r.body =
              R"({"type":"https://tools.ietf.org/html/rfc9110#section-15.5.5","title":"Not Found","status":404})";
        }
        return r;
      }
      scope = i;
    }
  }
  const bool recursive = bool_param(req, "recursive").value_or(false);
  uint32_t types = t_all;
  if (const std::string* inc = req.iparam("includeItemTypes"); inc != nullptr && !inc->empty()) {
    types = 0;
    for (const std::string& t : all_values(req, "includeItemTypes")) {
      types |= t == "movie"              ? t_movie
               : t == "series"           ? t_series
               : t == "season"           ? t_season
               : t == "episode"          ? t_episode
               : t == "collectionfolder" ? t_folder
                                         : 0U;
    }
  }
  for (const std::string& t : all_values(req, "excludeItemTypes")) {
    types &= ~(t == "movie"              ? t_movie
               : t == "series"           ? t_series
               : t == "season"           ? t_season
               : t == "episode"          ? t_episode
               : t == "collectionfolder" ? t_folder
                                         : 0U);
  }
  bool only_folders = false;
  bool no_folders = false;
  bool f_played = false;
  bool f_unplayed = false;
  bool f_resumable = false;
  bool f_favorite = false;
  for (const std::string& f : all_values(req, "filters")) {
    only_folders |= f == "isfolder";
    no_folders |= f == "isnotfolder";
    f_played |= f == "isplayed";
    f_unplayed |= f == "isunplayed";
    f_resumable |= f == "isresumable";
    f_favorite |= f == "isfavorite";
  }
  const auto is_played = bool_param(req, "isPlayed");
  const auto is_favorite = bool_param(req, "isFavorite");
  const std::vector<std::string> ids = all_values(req, "ids");
  const std::string search =
      req.iparam("searchTerm") != nullptr ? to_lower(*req.iparam("searchTerm")) : "";
  const uint32_t fields = parse_fields(req);
  const bool user_data = user >= 0 && bool_param(req, "enableUserData").value_or(true);
  enum class Sort { name, created, year };
  Sort sort = Sort::name;
  for (const std::string& sb : all_values(req, "sortBy")) {
    if (sb == "datecreated") {
      sort = Sort::created;
      break;
    }
    if (sb == "sortname" || sb == "name") {
      sort = Sort::name;
      break;
    }
    if (sb == "premieredate" || sb == "productionyear") {
      sort = Sort::year;
      break;
    }
  }
  const auto orders = all_values(req, "sortOrder");
  const bool desc = !orders.empty() && orders.front() == "descending";
  int64_t start = 0;
  if (const std::string* v = req.iparam("startIndex"); v != nullptr && !v->empty()) {
    auto p = parse_int(*v);
    if (!p || *p < 0) {
      return bad();
    }
    start = *p;
  }
  std::optional<int64_t> limit;
  if (const std::string* v = req.iparam("limit"); v != nullptr && !v->empty()) {
    auto p = parse_int(*v);
    if (!p || *p < 0) {
      return bad();
    }
    limit = *p;
  }

  rapidjson::StringBuffer buf(
      nullptr, static_cast<size_t>(std::min<int64_t>(limit.value_or(1000), 5000)) * 900 + 256);
  JsonWriter w(buf);
  MbRender r{world, m_items, m_libraries, def(), emby, nullptr, fields, true, m_ids};

  if (scope == -1 && !recursive) {
    // The user's root: the library views.
    std::vector<size_t> libs;
    if ((types & t_folder) != 0 && !no_folders) {
      for (size_t l = 0; l < m_libraries.size(); ++l) {
        libs.push_back(l);
      }
    }
    const auto total = static_cast<int64_t>(libs.size());
    const int64_t b = std::min(start, total);
    const int64_t e = std::min(total, b + limit.value_or(total));
    w.StartObject();
    key(w, "Items");
    w.StartArray();
    for (int64_t i = b; i < e; ++i) {
      r.library_item(w, libs[static_cast<size_t>(i)]);
    }
    w.EndArray();
    kv(w, "TotalRecordCount", total);
    if (!emby) {
      kv(w, "StartIndex", start);
    }
    w.EndObject();
    return json_response(200, finish(buf));
  }

  const uint32_t static_types = types & (only_folders ? (t_series | t_season) : t_all) &
                                (no_folders ? (t_movie | t_episode) : t_all);
  const std::string cache_key =
      fmt::format("mb|{}|{}|{}|{}", scope, recursive ? 1 : 0, static_cast<int>(sort), static_types);
  auto list = sorted(cache_key, [&]() {
    std::vector<uint32_t> out;
    auto take = [&](uint32_t i) {
      if ((type_bit(m_items[i].type) & static_types) != 0 && !hidden(i)) {
        out.push_back(i);
      }
    };
    if (scope == -1) {
      for (size_t i = 0; i < m_items.size(); ++i) {
        take(static_cast<uint32_t>(i));
      }
    } else if (scope <= -2) {
      const auto lib = static_cast<uint8_t>(-2 - scope);
      for (size_t i = 0; i < m_items.size(); ++i) {
        const Item& it = m_items[i];
        if (it.library == lib && m_libraries[lib].content != k_music &&
            (recursive || it.type == ItemType::movie || it.type == ItemType::series)) {
          take(static_cast<uint32_t>(i));
        }
      }
    } else {
      const Item& parent = m_items[static_cast<size_t>(scope)];
      for (uint32_t c : parent.children) {
        take(c);
        if (recursive) {
          for (uint32_t g : m_items[c].children) {
            take(g);
          }
        }
      }
    }
    if (sort == Sort::created) {
      std::stable_sort(out.begin(), out.end(), [&](uint32_t a, uint32_t b) {
        return m_items[a].added_at < m_items[b].added_at;
      });
    } else if (sort == Sort::year) {
      std::stable_sort(out.begin(), out.end(), [&](uint32_t a, uint32_t b) {
        return world.entries[m_items[a].entry].year < world.entries[m_items[b].entry].year;
      });
    } else {
      std::vector<std::pair<std::string, uint32_t>> named;
      named.reserve(out.size());
      for (uint32_t i : out) {
        const Item& it = m_items[i];
        const Entry& e = world.entries[it.entry];
        std::string name;
        if (it.type == ItemType::episode) {
          name = fmt::format("{}\x01{:05d}\x01{:05d}", to_lower(world.entries[e.show].title),
                             e.season, e.episode);
        } else if (it.type == ItemType::season) {
          name = fmt::format("{}\x01{:05d}", to_lower(e.title), it.season_no);
        } else {
          name = to_lower(e.title);
        }
        named.emplace_back(std::move(name), i);
      }
      std::stable_sort(named.begin(), named.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      for (size_t i = 0; i < named.size(); ++i) {
        out[i] = named[i].second;
      }
    }
    return out;
  });

  std::shared_lock lock(m_mutex);
  const std::vector<PlayState>* st = user >= 0 ? &m_state[static_cast<size_t>(user)] : nullptr;
  r.state = user_data ? st : nullptr;
  const bool dynamic = f_played || f_unplayed || f_resumable || f_favorite || is_played ||
                       is_favorite || !ids.empty() || !search.empty();
  std::vector<uint32_t> filtered;
  const std::vector<uint32_t>* view = list.get();
  if (dynamic) {
    auto played_of = [&](uint32_t i) {
      if (st == nullptr) {
        return false;
      }
      const Item& it = m_items[i];
      if (!it.is_folder()) {
        return (*st)[i].played;
      }
      bool any = false;
      auto all_played = [&](const Item& season) {
        for (uint32_t c : season.children) {
          any = true;
          if (!(*st)[c].played) {
            return false;
          }
        }
        return true;
      };
      if (it.type == ItemType::season) {
        return all_played(it) && any;
      }
      for (uint32_t s2 : it.children) {
        if (!all_played(m_items[s2])) {
          return false;
        }
      }
      return any;
    };
    for (uint32_t i : *list) {
      const Item& it = m_items[i];
      const bool played = played_of(i);
      const PlayState* ps = st != nullptr && !it.is_folder() ? &(*st)[i] : nullptr;
      if ((f_played || (is_played && *is_played)) && !played) {
        continue;
      }
      if ((f_unplayed || (is_played && !*is_played)) && played) {
        continue;
      }
      if (f_resumable && (ps == nullptr || ps->position_ms <= 0)) {
        continue;
      }
      const bool fav = ps != nullptr && ps->favorite;
      if ((f_favorite || (is_favorite && *is_favorite)) && !fav) {
        continue;
      }
      if (is_favorite && !*is_favorite && fav) {
        continue;
      }
      if (!ids.empty() && std::find(ids.begin(), ids.end(), it.id) == ids.end()) {
        continue;
      }
      if (!search.empty() && to_lower(r.name(it)).find(search) == std::string::npos) {
        continue;
      }
      filtered.push_back(i);
    }
    view = &filtered;
  }
  const auto total = static_cast<int64_t>(view->size());
  const int64_t b = std::min(start, total);
  const int64_t e = std::min(total, b + limit.value_or(total));
  w.StartObject();
  key(w, "Items");
  w.StartArray();
  for (int64_t i = b; i < e; ++i) {
    r.item(w, desc ? (*view)[static_cast<size_t>(total - 1 - i)] : (*view)[static_cast<size_t>(i)]);
  }
  w.EndArray();
  lock.unlock();
  kv(w, "TotalRecordCount", total);
  if (!emby) {
    kv(w, "StartIndex", start);
  }
  w.EndObject();
  return json_response(200, finish(buf));
}

Response Server::mb_write(const Request& req, size_t user, uint32_t item, std::string_view action) {
  const bool emby = m_kind == Kind::emby;
  auto bad = [&](std::string_view why) {
    Response r;
    r.status = 400;
    r.content_type = "text/plain; charset=utf-8";
    r.body = std::string(why);
    return r;
  };
  auto no_content = []() {
    Response r;
    r.status = 204;
    return r;
  };
  const int64_t now = now_ms();
  const int64_t duration = m_world->entries[m_items[item].entry].duration_ms;
  std::unique_lock lock(m_mutex);
  PlayState& st = m_state[user][item];
  if (action == "played") {
    const std::string* dp = req.iparam("DatePlayed");
    if (dp != nullptr && !dp->empty()) {
      auto when = parse_date_played(*dp);
      if (!when) {
        return bad("Invalid DatePlayed");
      }
      ++st.play_count;
      st.last_played_ms = *when;
    } else {
      st.play_count = std::max<uint32_t>(st.play_count, 1);
      if (st.last_played_ms == k_no_time) {
        st.last_played_ms = now;
      }
    }
    st.played = true;
    st.position_ms = 0;
  } else if (action == "unplayed") {
    st.played = false;
    st.play_count = 0;
    st.position_ms = 0;
    st.last_played_ms = k_no_time;
  } else if (action == "userdata_post") {
    rapidjson::Document doc;
    doc.Parse(req.body.data(), req.body.size());
    if (doc.HasParseError() || !doc.IsObject()) {
      return bad("Invalid JSON body");
    }
    PlayState next = st;
    for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
      const std::string_view name(it->name.GetString(), it->name.GetStringLength());
      const rapidjson::Value& v = it->value;
      if (iequals(name, "PlaybackPositionTicks")) {
        std::optional<int64_t> ticks;
        if (v.IsInt64()) {
          ticks = v.GetInt64();
        } else if (v.IsString()) {
          ticks = parse_int(v.GetString());
        } else if (v.IsNull()) {
          continue;
        }
        if (!ticks || *ticks < 0) {
          return bad("Invalid PlaybackPositionTicks");
        }
        next.position_ms = *ticks / 10000;
      } else if (iequals(name, "PlayCount")) {
        std::optional<int64_t> c;
        if (v.IsInt64()) {
          c = v.GetInt64();
        } else if (v.IsString()) {
          c = parse_int(v.GetString());
        } else if (v.IsNull()) {
          continue;
        }
        if (!c || *c < 0) {
          return bad("Invalid PlayCount");
        }
        next.play_count = static_cast<uint32_t>(*c);
      } else if (iequals(name, "Played") || iequals(name, "IsFavorite")) {
        if (v.IsNull()) {
          continue;
        }
        if (!v.IsBool()) {
          return bad("Invalid boolean");
        }
        (iequals(name, "Played") ? next.played : next.favorite) = v.GetBool();
      } else if (iequals(name, "LastPlayedDate")) {
        if (v.IsNull()) {
          next.last_played_ms = k_no_time;
          continue;
        }
        auto when = v.IsString() ? parse_iso_ms(v.GetString()) : std::nullopt;
        if (!when) {
          return bad("Invalid LastPlayedDate");
        }
        next.last_played_ms = *when;
      }
    }
    st = next;
    if (emby) {
      return no_content();
    }
  } else if (action == "playing_start") {
    ++st.play_count;
    st.last_played_ms = now;
    st.played = false;
    return no_content();
  } else if (action == "playing_progress") {
    if (const std::string* t = req.iparam("PositionTicks"); t != nullptr && !t->empty()) {
      auto ticks = parse_int(*t);
      if (!ticks || *ticks < 0) {
        return bad("Invalid PositionTicks");
      }
      st.position_ms = *ticks / 10000;
    }
    return no_content();
  } else if (action == "playing_stop") {
    if (const std::string* t = req.iparam("PositionTicks"); t != nullptr && !t->empty()) {
      auto ticks = parse_int(*t);
      if (!ticks || *ticks < 0) {
        return bad("Invalid PositionTicks");
      }
      const int64_t pos = *ticks / 10000;
      if (duration < 300000 || pos * 10 > duration * 9 || pos >= duration) {
        st.played = true;
        st.position_ms = 0;
      } else if (pos * 20 < duration) {
        st.position_ms = 0;
      } else {
        st.position_ms = pos;
      }
    }
    return no_content();
  }
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  MbRender r{*m_world, m_items, m_libraries, def(), emby, &m_state[user], f_all, false, m_ids};
  r.user_data(w, item, true);
  lock.unlock();
  return json_response(200, finish(buf));
}

Response Server::mb_sessions() {
  std::shared_lock lock(m_mutex);
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartArray();
  for (size_t n = 0; n < m_sessions.size(); ++n) {
    const Session& s = m_sessions[n];
    const Item& it = m_items[s.item];
    const Entry& e = m_world->entries[it.entry];
    const UserDef& u = def().users[s.user];
    w.StartObject();
    key(w, "PlayState");
    w.StartObject();
    kv(w, "PositionTicks", s.position_ms * 10000);
    kb(w, "CanSeek", true);
    kb(w, "IsPaused", s.paused);
    kb(w, "IsMuted", false);
    kv(w, "PlayMethod", "DirectPlay");
    w.EndObject();
    kv(w, "Id", hex_hash("session", fmt::format("{}/{}", n, it.id), 32));
    kv(w, "UserId", u.id);
    kv(w, "UserName", u.name);
    kv(w, "Client", "Simulated Client");
    kv(w, "DeviceName", "Simulated Device");
    kv(w, "DeviceId", hex_hash("device", u.id, 16));
    key(w, "NowPlayingItem");
    w.StartObject();
    kv(w, "Name", e.title);
    kv(w, "ServerId", def().server_id);
    kv(w, "Id", it.id);
    kv(w, "RunTimeTicks", e.duration_ms * 10000);
    kv(w, "Type", it.type == ItemType::episode ? "Episode" : "Movie");
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  lock.unlock();
  return json_response(200, finish(buf));
}

Response Server::mb_login(const Request& req) {
  const bool emby = m_kind == Kind::emby;
  const ServerDef& s = def();
  rapidjson::Document doc;
  doc.Parse(req.body.c_str(), req.body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return mb_error(emby, 400, "Bad Request");
  }
  const rapidjson::Value* name = nullptr;
  std::string pw;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    if (iequals(it->name.GetString(), "Username")) {
      name = &it->value;
    } else if (iequals(it->name.GetString(), "Pw") && it->value.IsString()) {
      pw = it->value.GetString();
    }
  }
  if (name == nullptr || !name->IsString()) {
    return mb_error(emby, 400, "Bad Request");
  }
  size_t u = 0;
  while (u < s.users.size() &&
         !(iequals(s.users[u].name, name->GetString()) && s.users[u].password == pw)) {
    ++u;
  }
  if (u == s.users.size()) {
    Response r;
    r.status = 401;
    return r;
  }
  const UserDef& user = s.users[u];
  // The client's description: the Authorization parameters, else Emby's X-Emby-* headers.
  std::string client;
  std::string device;
  std::string device_id;
  std::string version;
  for (const char* header : {"Authorization", "X-Emby-Authorization"}) {
    const std::string* h = req.header(header);
    auto params = h != nullptr ? auth_params(*h) : std::nullopt;
    if (!params) {
      continue;
    }
    for (const auto& [k, v] : *params) {
      if (iequals(k, "Client")) {
        client = auth_value(v);
      } else if (iequals(k, "Device")) {
        device = auth_value(v);
      } else if (iequals(k, "DeviceId")) {
        device_id = auth_value(v);
      } else if (iequals(k, "Version")) {
        version = auth_value(v);
      }
    }
    break;
  }
  for (auto [field, header] :
       {std::pair{&client, "X-Emby-Client"}, std::pair{&device, "X-Emby-Device-Name"},
        std::pair{&device_id, "X-Emby-Device-Id"}, std::pair{&version, "X-Emby-Client-Version"}}) {
    if (const std::string* h = req.header(header); field->empty() && h != nullptr) {
      *field = *h;
    }
  }
  // A new token per login (deterministic: the user and the number of the login).
  std::string token;
  {
    std::unique_lock lock(m_login_mutex);
    do {
      ++m_logins;
      token = hex_hash(user.id, fmt::format("{}/login/{}", s.server_id, m_logins), 32);
    } while (m_token_user.count(token) != 0 || m_login_tokens.count(token) != 0);
    m_login_tokens.emplace(token, static_cast<int64_t>(u));
  }
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.StartObject();
  key(w, "User");
  const Response one = mb_users(make_request("GET", "/?only=" + user.id), false);
  w.RawValue(one.body.data(), one.body.size(), rapidjson::kObjectType);
  key(w, "SessionInfo");
  w.StartObject();
  kv(w, "Id", hex_hash(token, "session", 32));
  kv(w, "UserId", user.id);
  kv(w, "UserName", user.name);
  kv(w, "Client", client);
  kv(w, "DeviceName", device);
  kv(w, "DeviceId", device_id);
  kv(w, "ApplicationVersion", version);
  kv(w, "ServerId", s.server_id);
  kb(w, "IsActive", true);
  w.EndObject();
  kv(w, "AccessToken", token);
  kv(w, "ServerId", s.server_id);
  w.EndObject();
  return json_response(200, finish(buf));
}

Response Server::mb_setup(const Request& req, const std::vector<std::string>& seg,
                          const Caller& caller) {
  const bool emby = m_kind == Kind::emby;
  const ServerDef& s = def();
  const bool get = req.method == "GET" || req.method == "HEAD";
  const bool post = req.method == "POST";
  auto no_content = []() {
    Response r;
    r.status = 204;
    return r;
  };
  auto body_object = [&](rapidjson::Document& doc) {
    doc.Parse(req.body.c_str(), req.body.size());
    return !doc.HasParseError() && doc.IsObject();
  };
  if (emby) {
    // /Notifications/Services/Configured: webhook notifiers, an Emby Premiere feature.
    if (!get && !post) {
      return mb_error(emby, 405, "Method Not Allowed");
    }
    if (!s.premiere) {
      return mb_error(emby, 403, "Emby Premiere is required for webhook notifications.");
    }
    if (!caller.admin) {
      return mb_error(emby, 403, "User is not allowed to access this resource.");
    }
    std::lock_guard lock(m_setup_mutex);
    if (get) {
      std::string body = "[";
      for (const auto& [id, json] : m_notifiers) {
        body += body.size() > 1 ? "," : "";
        body += json;
      }
      return json_response(200, body + "]");
    }
    rapidjson::Document doc;
    if (!body_object(doc)) {
      return mb_error(emby, 400, "Bad Request");
    }
    auto stored = m_notifiers.end();
    if (doc.HasMember("Id") && doc["Id"].IsString()) {
      const std::string id = doc["Id"].GetString();
      stored = std::find_if(m_notifiers.begin(), m_notifiers.end(),
                            [&](const auto& n) { return n.first == id; });
    }
    std::string id;
    if (stored != m_notifiers.end()) {
      id = stored->first;
    } else {
      for (size_t k = m_notifiers.size() + 1; id.empty(); ++k) {
        id = hex_hash(s.server_id, fmt::format("notifier/{}", k), 32);
        if (std::any_of(m_notifiers.begin(), m_notifiers.end(),
                        [&](const auto& n) { return n.first == id; })) {
          id.clear();
        }
      }
    }
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    kv(w, "Id", id);
    for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
      if (std::string_view(it->name.GetString()) != "Id") {
        key(w, it->name.GetString());
        it->value.Accept(w);
      }
    }
    w.EndObject();
    if (stored != m_notifiers.end()) {
      stored->second = finish(buf);
    } else {
      m_notifiers.emplace_back(id, finish(buf));
    }
    return no_content();
  }
  // Jellyfin: GET /Plugins, GET|POST /Plugins/{id}/Configuration (administrators only).
  const size_t n = seg.size();
  const bool list = n == 1;
  const bool config = n == 3 && seg[2] == "configuration";
  if (!list && !config) {
    return mb_error(emby, 404, "Not Found");
  }
  if (!(get || (config && post))) {
    return mb_error(emby, 405, "Method Not Allowed");
  }
  if (!caller.admin) {
    Response r;
    r.status = 403;
    return r;
  }
  if (list) {
    if (!s.webhook_plugin) {
      return json_response(200, "[]");
    }
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartArray();
    w.StartObject();
    kv(w, "Name", "Webhook");
    kv(w, "Version", "18.0.0.0");
    kv(w, "ConfigurationFileName", "Jellyfin.Plugin.Webhook.xml");
    kv(w, "Description", "Sends notifications to various services via webhooks.");
    kv(w, "Id", k_webhook_plugin_id);
    kb(w, "CanUninstall", true);
    kb(w, "HasImage", false);
    kv(w, "Status", "Active");
    w.EndObject();
    w.EndArray();
    return json_response(200, finish(buf));
  }
  std::string id = seg[1]; // the path is lower case already; a Guid may come with dashes
  id.erase(std::remove(id.begin(), id.end(), '-'), id.end());
  if (!s.webhook_plugin || id != k_webhook_plugin_id) {
    return mb_error(emby, 404, "Not Found");
  }
  std::lock_guard lock(m_setup_mutex);
  if (get) {
    return json_response(200, m_plugin_config.empty() ? std::string(k_webhook_plugin_config)
                                                      : m_plugin_config);
  }
  rapidjson::Document doc;
  if (!body_object(doc)) {
    return mb_error(emby, 400, "Bad Request");
  }
  // The plugin keeps its own type: options the body leaves out keep their defaults.
  rapidjson::Document merged;
  const std::string_view defaults(k_webhook_plugin_config);
  merged.Parse(defaults.data(), defaults.size());
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    auto old = merged.FindMember(it->name);
    if (old != merged.MemberEnd()) {
      old->value.CopyFrom(it->value, merged.GetAllocator());
    } else {
      merged.AddMember(rapidjson::Value(it->name, merged.GetAllocator()),
                       rapidjson::Value(it->value, merged.GetAllocator()), merged.GetAllocator());
    }
  }
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  merged.Accept(w);
  m_plugin_config = finish(buf);
  return no_content();
}

int64_t Server::mb_acting_user(const Request& req, const Caller& caller, int& status) const {
  status = 0;
  const std::string* uid = req.iparam("userId");
  if (uid == nullptr || uid->empty()) {
    return caller.user;
  }
  const int64_t u = user_of_id(*uid);
  if (u < 0) {
    status = 404;
  } else if (!caller.admin && caller.user != u) {
    status = 403;
  }
  return status == 0 ? u : -1;
}

// GET /Users/{uid}/Items?IncludeItemTypes=Playlist (also /Items?userId=): the user's playlists
// (every user's with the API key and no user), SortName or DateCreated order, paged.
Response Server::mb_playlist_listing(const Request& req, int64_t user) {
  const bool emby = m_kind == Kind::emby;
  std::optional<int64_t> start_p;
  std::optional<int64_t> limit;
  for (auto [name, out] : {std::pair{"startIndex", &start_p}, std::pair{"limit", &limit}}) {
    if (const std::string* v = req.iparam(name); v != nullptr && !v->empty()) {
      *out = parse_int(*v);
      if (!*out || **out < 0) {
        Response r;
        r.status = 400;
        r.content_type = "text/plain; charset=utf-8";
        r.body = "Bad Request";
        return r;
      }
    }
  }
  const int64_t start = start_p.value_or(0);
  const std::vector<std::string> ids = all_values(req, "ids");
  const std::string search =
      req.iparam("searchTerm") != nullptr ? to_lower(*req.iparam("searchTerm")) : "";
  bool by_date = false;
  for (const std::string& sb : all_values(req, "sortBy")) {
    if (sb == "datecreated" || sb == "sortname" || sb == "name") {
      by_date = sb == "datecreated";
      break;
    }
  }
  const auto orders = all_values(req, "sortOrder");
  const bool desc = !orders.empty() && orders.front() == "descending";
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  std::shared_lock lock(m_mutex);
  std::vector<const Playlist*> list;
  for (const Playlist& p : m_playlists) {
    if (!playlist_visible(p, user) ||
        (!search.empty() && to_lower(p.title).find(search) == std::string::npos)) {
      continue;
    }
    if (!ids.empty() && std::none_of(ids.begin(), ids.end(), [&](const std::string& id) {
          const int64_t i = playlist_of_id(id);
          return i >= 0 && &m_playlists[static_cast<size_t>(i)] == &p;
        })) {
      continue;
    }
    list.push_back(&p);
  }
  std::stable_sort(list.begin(), list.end(), [&](const Playlist* a, const Playlist* b) {
    return by_date ? a->added_at < b->added_at : to_lower(a->title) < to_lower(b->title);
  });
  if (desc) {
    std::reverse(list.begin(), list.end());
  }
  const auto total = static_cast<int64_t>(list.size());
  const int64_t b = std::min(start, total);
  const int64_t e = std::min(total, b + limit.value_or(total));
  MbRender r{*m_world, m_items, m_libraries, def(), emby, nullptr, parse_fields(req), true, m_ids};
  w.StartObject();
  key(w, "Items");
  w.StartArray();
  for (int64_t i = b; i < e; ++i) {
    const Playlist& p = *list[static_cast<size_t>(i)];
    r.playlist(w, p, static_cast<int64_t>(playlist_leaves(p)), playlist_duration_ms(p));
  }
  w.EndArray();
  lock.unlock();
  kv(w, "TotalRecordCount", total);
  if (!emby) {
    kv(w, "StartIndex", start);
  }
  w.EndObject();
  return json_response(200, finish(buf));
}

bool Server::mb_playlist_single(int64_t user, std::string_view id, Response& out) {
  std::shared_lock lock(m_mutex);
  const int64_t i = playlist_of_id(id);
  if (i < 0 || !playlist_visible(m_playlists[static_cast<size_t>(i)], user)) {
    return false;
  }
  const Playlist& p = m_playlists[static_cast<size_t>(i)];
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  MbRender r{*m_world, m_items, m_libraries, def(), m_kind == Kind::emby,
             nullptr,  f_all,   false,       m_ids};
  r.playlist(w, p, static_cast<int64_t>(playlist_leaves(p)), playlist_duration_ms(p));
  out = json_response(200, finish(buf));
  return true;
}

// /Playlists… and the playlist forms of /Items (README §5.5). A playlist of another user than
// the acting one (userId, else the token's user; the API key alone acts for every user) is unknown.
Response Server::mb_playlists(const Request& req, const std::vector<std::string>& seg,
                              const Caller& caller, bool& is_write) {
  const bool emby = m_kind == Kind::emby;
  const std::string& m = req.method;
  const bool get = m == "GET" || m == "HEAD";
  const bool post = m == "POST";
  const size_t n = seg.size();
  is_write = !get;
  auto error = [&](int status, std::string_view title) { return mb_error(emby, status, title); };
  auto bad = [&](std::string_view why = "Bad Request") { return mb_error(emby, 400, why); };
  auto no_content = [] {
    Response r;
    r.status = 204;
    return r;
  };
  auto now_s = [] { return now_ms() / 1000; };
  int status = 0;
  int64_t user = mb_acting_user(req, caller, status);
  if (status != 0) {
    return status == 403 ? error(403, "User is not allowed to access this resource.")
                         : error(404, "Not Found");
  }
  // A JSON object body; keys compared ignoring case (as ASP.NET binds them).
  rapidjson::Document body;
  const bool has_body = req.body.find_first_not_of(" \t\r\n") != std::string::npos;
  if (has_body) {
    body.Parse(req.body.c_str(), req.body.size());
    if (body.HasParseError() || !body.IsObject()) {
      return bad("Invalid JSON body");
    }
  }
  auto member = [&](std::string_view name) -> const rapidjson::Value* {
    if (!has_body) {
      return nullptr;
    }
    for (auto it = body.MemberBegin(); it != body.MemberEnd(); ++it) {
      if (iequals(std::string_view(it->name.GetString(), it->name.GetStringLength()), name)) {
        return it->value.IsNull() ? nullptr : &it->value;
      }
    }
    return nullptr;
  };
  // A list of strings (a body array); false when it is something else.
  auto strings = [](const rapidjson::Value* v, std::vector<std::string>& out) {
    if (v == nullptr) {
      return true;
    }
    if (!v->IsArray()) {
      return false;
    }
    for (const auto& x : v->GetArray()) {
      if (!x.IsString()) {
        return false;
      }
      out.emplace_back(x.GetString(), x.GetStringLength());
    }
    return true;
  };
  // The playlist of an id if the acting user may see it (the caller holds m_mutex).
  auto find = [&](std::string_view id) -> Playlist* {
    const int64_t i = playlist_of_id(id);
    if (i < 0 || !playlist_visible(m_playlists[static_cast<size_t>(i)], user)) {
      return nullptr;
    }
    return &m_playlists[static_cast<size_t>(i)];
  };

  if (seg[0] == "items") {
    // DELETE /Items/{id}, Emby POST /Items/Delete?Ids=…, POST /Items/{id} (rename, BaseItemDto).
    const bool remove = m == "DELETE" || (emby && seg[1] == "delete");
    std::vector<std::string> ids =
        remove && m != "DELETE" ? all_values(req, "ids") : std::vector{seg[1]};
    if (ids.empty()) {
      return bad();
    }
    std::string name;
    if (!remove) {
      const rapidjson::Value* v = member("Name");
      if (v == nullptr || !v->IsString() || v->GetStringLength() == 0) {
        return bad("A Name is required");
      }
      name.assign(v->GetString(), v->GetStringLength());
    }
    std::unique_lock lock(m_mutex);
    std::vector<Playlist*> targets;
    for (const std::string& id : ids) {
      if (Playlist* p = find(id)) {
        targets.push_back(p);
        continue;
      }
      const bool library =
          std::any_of(m_libraries.begin(), m_libraries.end(),
                      [&](const Library& l) { return to_lower(l.id) == to_lower(id); });
      if (playlist_of_id(id) < 0 && (item_of_id_any(id) >= 0 || library)) {
        return error(403, "The simulator deletes and edits playlists only.");
      }
      return error(404, "Not Found");
    }
    if (!remove) {
      for (Playlist* p : targets) {
        p->title = name;
        p->updated_at = now_s();
      }
      return no_content();
    }
    std::vector<std::string> gone;
    for (const Playlist* p : targets) {
      gone.push_back(p->id);
    }
    m_playlists.erase(std::remove_if(m_playlists.begin(), m_playlists.end(),
                                     [&](const Playlist& p) {
                                       return std::find(gone.begin(), gone.end(), p.id) !=
                                              gone.end();
                                     }),
                      m_playlists.end());
    return no_content();
  }

  if (n == 1) {
    // POST /Playlists: Jellyfin CreatePlaylistDto body and/or query name, ids, userId,
    // mediaType (the query wins); Emby query Name, Ids, MediaType[, UserId].
    if (!post) {
      return error(405, "Method Not Allowed");
    }
    std::string name;
    std::vector<std::string> ids;
    std::string media = "video";
    const rapidjson::Value* v = member("Name");
    if (v != nullptr && v->IsString()) {
      name.assign(v->GetString(), v->GetStringLength());
    } else if (v != nullptr) {
      return bad();
    }
    if (!strings(member("Ids"), ids)) {
      return bad();
    }
    if (const rapidjson::Value* mt = member("MediaType")) {
      if (!mt->IsString()) {
        return bad();
      }
      media = to_lower(mt->GetString());
    }
    if (const std::string* q = req.iparam("name"); q != nullptr && !q->empty()) {
      name = *q;
    }
    if (auto q = all_values(req, "ids"); !q.empty()) {
      ids = std::move(q);
    }
    if (const std::string* q = req.iparam("mediaType"); q != nullptr && !q->empty()) {
      media = to_lower(*q);
    }
    if (req.iparam("userId") == nullptr || req.iparam("userId")->empty()) {
      if (const rapidjson::Value* uid = member("UserId")) {
        const int64_t u = uid->IsString() ? user_of_id(uid->GetString()) : -1;
        if (u < 0) {
          return error(404, "Not Found");
        }
        if (!caller.admin && caller.user != u) {
          return error(403, "User is not allowed to access this resource.");
        }
        user = u;
      }
    }
    if (name.empty() || (media != "video" && media != "audio")) {
      return bad();
    }
    if (user < 0) {
      return bad("A UserId is required");
    }
    std::vector<uint32_t> items;
    if (!playable_items(ids, items)) {
      return bad("Unknown item id");
    }
    std::unique_lock lock(m_mutex);
    Playlist p;
    p.id = new_playlist_id();
    p.user = static_cast<size_t>(user);
    p.title = name;
    p.audio = media == "audio";
    p.added_at = now_s();
    p.updated_at = p.added_at;
    append_entries(p, items);
    m_playlists.push_back(std::move(p));
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    kv(w, "Id", m_playlists.back().id);
    if (emby) {
      kv(w, "Name", m_playlists.back().title);
    }
    w.EndObject();
    return json_response(200, finish(buf));
  }

  if (n == 2) {
    // Jellyfin only: GET /Playlists/{id} (PlaylistDto), POST /Playlists/{id} (UpdatePlaylistDto).
    if (emby) {
      return error(404, "Not Found");
    }
    if (get) {
      std::shared_lock lock(m_mutex);
      const Playlist* p = find(seg[1]);
      if (p == nullptr) {
        return error(404, "Not Found");
      }
      rapidjson::StringBuffer buf;
      JsonWriter w(buf);
      w.StartObject();
      kv(w, "Id", p->id);
      kv(w, "Name", p->title);
      kv(w, "MediaType", p->audio ? "Audio" : "Video");
      kb(w, "CanEdit", true);
      kb(w, "OpenAccess", false);
      key(w, "Shares");
      w.StartArray();
      w.EndArray();
      key(w, "ItemIds");
      w.StartArray();
      for (const PlaylistEntry& e : p->entries) {
        if (!hidden(e.item)) {
          w.String(m_items[e.item].id.c_str());
        }
      }
      w.EndArray();
      w.EndObject();
      return json_response(200, finish(buf));
    }
    if (!post) {
      return error(405, "Method Not Allowed");
    }
    if (!has_body) {
      return bad();
    }
    const rapidjson::Value* name = member("Name");
    if (name != nullptr && (!name->IsString() || name->GetStringLength() == 0)) {
      return bad();
    }
    std::vector<std::string> ids;
    const rapidjson::Value* ids_v = member("Ids");
    if (!strings(ids_v, ids)) {
      return bad();
    }
    std::vector<uint32_t> items;
    if (!playable_items(ids, items)) {
      return bad("Unknown item id");
    }
    std::unique_lock lock(m_mutex);
    Playlist* p = find(seg[1]);
    if (p == nullptr) {
      return error(404, "Not Found");
    }
    if (name != nullptr) {
      p->title.assign(name->GetString(), name->GetStringLength());
    }
    if (ids_v != nullptr) {
      p->entries.clear();
      append_entries(*p, items);
    }
    if (name != nullptr || ids_v != nullptr) {
      p->updated_at = now_s();
    }
    return no_content();
  }

  if (seg[2] != "items" || !(n == 3 || (n == 6 && seg[4] == "move"))) {
    return error(404, "Not Found");
  }
  if (n == 3 && get) {
    // GET /Playlists/{id}/Items: the entries as the item queries list them, with PlaylistItemId.
    std::optional<int64_t> start;
    std::optional<int64_t> limit;
    for (auto [name, out] : {std::pair{"startIndex", &start}, std::pair{"limit", &limit}}) {
      if (const std::string* v = req.iparam(name); v != nullptr && !v->empty()) {
        *out = parse_int(*v);
        if (!*out || **out < 0) {
          return bad();
        }
      }
    }
    const bool user_data = bool_param(req, "enableUserData").value_or(true);
    std::shared_lock lock(m_mutex);
    const Playlist* p = find(seg[1]);
    if (p == nullptr) {
      return error(404, "Not Found");
    }
    std::vector<const PlaylistEntry*> shown;
    for (const PlaylistEntry& e : p->entries) {
      if (!hidden(e.item)) {
        shown.push_back(&e);
      }
    }
    const auto total = static_cast<int64_t>(shown.size());
    const int64_t b = std::min(start.value_or(0), total);
    const int64_t e = std::min(total, b + limit.value_or(total));
    const size_t viewer = user >= 0 ? static_cast<size_t>(user) : p->user;
    rapidjson::StringBuffer buf(nullptr, static_cast<size_t>(e - b) * 900 + 256);
    JsonWriter w(buf);
    const std::vector<PlayState>* state = user_data ? &m_state[viewer] : nullptr;
    MbRender r{*m_world, m_items, m_libraries, def(), emby, state, parse_fields(req), true, m_ids};
    w.StartObject();
    key(w, "Items");
    w.StartArray();
    for (int64_t i = b; i < e; ++i) {
      r.item(w, shown[static_cast<size_t>(i)]->item, shown[static_cast<size_t>(i)]->id);
    }
    w.EndArray();
    lock.unlock();
    kv(w, "TotalRecordCount", total);
    if (!emby) {
      kv(w, "StartIndex", start.value_or(0));
    }
    w.EndObject();
    return json_response(200, finish(buf));
  }
  const bool add = n == 3 && post;
  const bool remove = n == 3 && m == "DELETE";
  const bool move = n == 6 && post;
  if (!add && !remove && !move) {
    return error(405, "Method Not Allowed");
  }
  std::unique_lock lock(m_mutex);
  Playlist* p = find(seg[1]);
  if (p == nullptr) {
    return error(404, "Not Found");
  }
  if (add) {
    // POST /Playlists/{id}/Items?ids=a,b (Emby Ids): appended in order.
    const std::vector<std::string> ids = all_values(req, "ids");
    std::vector<uint32_t> items;
    if (ids.empty() || !playable_items(ids, items)) {
      return bad(ids.empty() ? "Ids are required" : "Unknown item id");
    }
    append_entries(*p, items);
    p->updated_at = now_s();
    return no_content();
  }
  if (remove) {
    // DELETE /Playlists/{id}/Items?entryIds=e1,e2 (Emby EntryIds): unknown entry ids are ignored.
    std::vector<std::string> entries = all_values(req, "entryIds");
    if (entries.empty()) {
      return bad("EntryIds are required");
    }
    for (std::string& id : entries) {
      id.erase(std::remove(id.begin(), id.end(), '-'), id.end());
    }
    const size_t before = p->entries.size();
    p->entries.erase(std::remove_if(p->entries.begin(), p->entries.end(),
                                    [&](const PlaylistEntry& e) {
                                      return std::find(entries.begin(), entries.end(), e.id) !=
                                             entries.end();
                                    }),
                     p->entries.end());
    if (p->entries.size() != before) {
      p->updated_at = now_s();
    }
    return no_content();
  }
  // POST /Playlists/{id}/Items/{entryId}/Move/{newIndex}: 0-based, clamped to the end.
  const int64_t at = entry_of_id(*p, seg[3]);
  if (at < 0) {
    return error(404, "Not Found");
  }
  const auto to = parse_int(seg[5]);
  if (!to || *to < 0) {
    return bad();
  }
  const PlaylistEntry moved = p->entries[static_cast<size_t>(at)];
  p->entries.erase(p->entries.begin() + at);
  const int64_t dest = std::min(*to, static_cast<int64_t>(p->entries.size()));
  p->entries.insert(p->entries.begin() + dest, moved);
  if (dest != at) {
    p->updated_at = now_s();
  }
  return no_content();
}

} // namespace ws::sim
