// SPDX-License-Identifier: MIT
#include "simulator/server.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <thread>
#include <tuple>

namespace ws::sim {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::string url_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

constexpr size_t k_log_limit = 200000;

} // namespace

const std::string* Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) {
      return &v;
    }
  }
  return nullptr;
}

const std::string* Request::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) {
      return &v;
    }
  }
  return nullptr;
}

const std::string* Request::iparam(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (iequals(k, name)) {
      return &v;
    }
  }
  return nullptr;
}

Request make_request(std::string method, std::string_view target, Pairs headers, std::string body) {
  Request r;
  r.method = std::move(method);
  const size_t q = target.find('?');
  r.path = url_decode(target.substr(0, q), false);
  if (q != std::string_view::npos) {
    r.query = std::string(target.substr(q + 1));
    std::string_view rest = r.query;
    while (!rest.empty()) {
      const size_t amp = rest.find('&');
      const std::string_view part = rest.substr(0, amp);
      if (!part.empty()) {
        const size_t eq = part.find('=');
        r.params.emplace_back(url_decode(part.substr(0, eq), true),
                              eq == std::string_view::npos ? std::string()
                                                           : url_decode(part.substr(eq + 1), true));
      }
      if (amp == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(amp + 1);
    }
  }
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

Server::Server(std::shared_ptr<const World> world, Kind kind, bool rescanned)
    : m_world(std::move(world)), m_kind(kind) {
  build();
  date_items(rescanned);
}

void Server::date_items(bool rescanned) {
  const World& w = *m_world;
  for (Item& it : m_items) {
    it.added_at = w.entries[it.entry].added_at; // a season's entry is its show's
  }
  if (!rescanned) {
    return;
  }
  // One scan a week before the anchor, a second per item, in the order of the files (a series'
  // folder before its seasons, each season before its episodes' files).
  std::vector<uint32_t> order(m_items.size());
  std::iota(order.begin(), order.end(), 0U);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const Item& x = m_items[a];
    const Item& y = m_items[b];
    return std::tie(w.entries[x.entry].file, x.season_no) <
           std::tie(w.entries[y.entry].file, y.season_no);
  });
  const int64_t scan_start = k_anchor - int64_t{7} * 86400;
  for (size_t rank = 0; rank < order.size(); ++rank) {
    m_items[order[rank]].added_at = scan_start + static_cast<int64_t>(rank);
  }
}

void Server::build() {
  const World& w = *m_world;
  const ServerDef& s = def();
  const bool plex = m_kind == Kind::plex;
  const bool jelly = m_kind == Kind::jellyfin;
  // The three main libraries always (with the ids they always had), a 4K library of movies or
  // shows only when this server holds a 4K entry of that kind.
  bool uhd[2] = {false, false};
  for (const Entry& e : w.entries) {
    if (e.library == k_4k_library && e.kind != EntryKind::episode && e.on(m_kind)) {
      uhd[e.kind == EntryKind::movie ? 0 : 1] = true;
    }
  }
  struct LibDef {
    const char* name;
    const char* ctype;
    const char* ptype;
    const char* path;
    const char* hash_key;
    uint8_t content;
    uint8_t slot;
  };
  static const LibDef k_defs[] = {
      {"Movies", "movies", "movie", "/media/movies", "movies", k_movies, k_main_library},
      {"TV Shows", "tvshows", "show", "/media/tv", "tvshows", k_shows, k_main_library},
      {"Music", "music", "artist", "/media/music", "music", k_music, k_main_library},
      {"Movies 4K", "movies", "movie", "/media/movies4k", "movies4k", k_movies, k_4k_library},
      {"TV Shows 4K", "tvshows", "show", "/media/tv4k", "tvshows4k", k_shows, k_4k_library},
  };
  uint8_t lib_of[2][2] = {{0, 0}, {0, 0}}; // [content][slot]
  for (int i = 0; i < 5; ++i) {
    const LibDef& d = k_defs[i];
    if (d.slot == k_4k_library && !uhd[d.content]) {
      continue;
    }
    Library lib;
    lib.id = jelly ? hex_hash(s.server_id, std::string("library/") + d.hash_key, 32)
                   : fmt::format("{}", i + 1);
    lib.name = d.name;
    lib.collection_type = d.ctype;
    lib.plex_type = d.ptype;
    lib.path = d.path;
    lib.content = d.content;
    lib.slot = d.slot;
    lib.number = i + 1;
    if (d.content != k_music) {
      lib_of[d.content][d.slot] = static_cast<uint8_t>(m_libraries.size());
    }
    m_libraries.push_back(lib);
  }
  uint64_t counter = plex ? 1 : 1000;
  auto make_id = [&](const std::string& what) {
    if (jelly) {
      return hex_hash(s.server_id, what, 32);
    }
    return fmt::format("{}", counter++);
  };
  m_item_of_entry.assign(w.entries.size(), -1);
  m_items.reserve(w.entries.size() + w.entries.size() / 8);
  for (size_t i = 0; i < w.entries.size(); ++i) {
    const Entry& e = w.entries[i];
    if (!e.on(m_kind) || e.kind == EntryKind::show) {
      continue;
    }
    if (e.kind == EntryKind::movie) {
      Item it;
      it.type = ItemType::movie;
      it.library = lib_of[k_movies][e.library];
      it.entry = static_cast<uint32_t>(i);
      it.id = make_id("item/" + e.key);
      m_item_of_entry[i] = static_cast<int32_t>(m_items.size());
      m_items.push_back(std::move(it));
      continue;
    }
    const Entry& show = w.entries[e.show];
    const uint8_t library = lib_of[k_shows][show.library];
    if (m_item_of_entry[e.show] < 0) {
      Item it;
      it.type = ItemType::series;
      it.library = library;
      it.entry = e.show;
      it.id = make_id("item/" + show.key);
      m_item_of_entry[e.show] = static_cast<int32_t>(m_items.size());
      m_items.push_back(std::move(it));
    }
    const auto series = static_cast<uint32_t>(m_item_of_entry[e.show]);
    int32_t season = -1;
    for (uint32_t c : m_items[series].children) {
      if (m_items[c].season_no == e.season) {
        season = static_cast<int32_t>(c);
        break;
      }
    }
    if (season < 0) {
      Item it;
      it.type = ItemType::season;
      it.library = library;
      it.entry = e.show;
      it.season_no = e.season;
      it.parent = static_cast<int32_t>(series);
      it.series = static_cast<int32_t>(series);
      it.id = make_id(fmt::format("season/{}/{}", show.key, e.season));
      season = static_cast<int32_t>(m_items.size());
      m_items[series].children.push_back(static_cast<uint32_t>(season));
      m_items.push_back(std::move(it));
    }
    Item it;
    it.type = ItemType::episode;
    it.library = library;
    it.entry = static_cast<uint32_t>(i);
    it.season_no = e.season;
    it.parent = season;
    it.series = static_cast<int32_t>(series);
    it.id = make_id("item/" + e.key);
    m_item_of_entry[i] = static_cast<int32_t>(m_items.size());
    m_items[static_cast<size_t>(season)].children.push_back(static_cast<uint32_t>(m_items.size()));
    m_items.push_back(std::move(it));
  }
  // Seasons in ascending order so that children listings are natural.
  for (Item& it : m_items) {
    if (it.type == ItemType::series) {
      std::stable_sort(it.children.begin(), it.children.end(), [this](uint32_t a, uint32_t b) {
        return m_items[a].season_no < m_items[b].season_no;
      });
    } else if (it.type == ItemType::season) {
      std::stable_sort(it.children.begin(), it.children.end(), [this, &w](uint32_t a, uint32_t b) {
        return w.entries[m_items[a].entry].episode < w.entries[m_items[b].entry].episode;
      });
    }
  }
  m_hidden = std::make_unique<std::atomic<bool>[]>(m_items.size());
  m_by_id.reserve(m_items.size() * 2);
  for (size_t i = 0; i < m_items.size(); ++i) {
    m_by_id.emplace(m_items[i].id, static_cast<uint32_t>(i));
  }
  m_state.assign(s.users.size(), std::vector<PlayState>(m_items.size()));
  for (size_t u = 0; u < s.users.size(); ++u) {
    for (size_t i = 0; i < m_items.size(); ++i) {
      if (!m_items[i].is_folder()) {
        m_state[u][i] = w.initial_state(m_kind, u, m_items[i].entry);
      }
    }
  }
  for (size_t u = 0; u < s.users.size(); ++u) {
    m_token_user.emplace(s.users[u].token, static_cast<int64_t>(u));
  }
  for (const Rematch& r : w.rematches) {
    if (r.kind == m_kind && m_item_of_entry[r.entry] >= 0) {
      m_ids[r.entry] = r.wrong;
      m_rematch.push_back(r.entry);
    }
  }
  if (!plex) {
    m_token_user[s.token] = -1;
  }
  build_playlists();
}

int64_t Server::item_of_key(std::string_view key) const {
  std::call_once(m_keys_once, [this]() {
    const World& w = *m_world;
    m_entry_of_key.reserve(w.entries.size());
    for (size_t i = 0; i < w.entries.size(); ++i) {
      m_entry_of_key.emplace(w.entries[i].key, static_cast<uint32_t>(i));
    }
  });
  const auto it = m_entry_of_key.find(key);
  return it == m_entry_of_key.end() ? -1 : m_item_of_entry[it->second];
}

int64_t Server::item_of_id(std::string_view id) const {
  const int64_t i = item_of_id_any(id);
  return i >= 0 && hidden(static_cast<uint32_t>(i)) ? -1 : i;
}

void Server::set_hidden(const std::vector<uint32_t>& items, bool value) {
  std::lock_guard lock(m_cache_mutex);
  for (uint32_t i : items) {
    m_hidden[i].store(value, std::memory_order_relaxed);
  }
  m_cache.clear();
}

int64_t Server::item_of_id_any(std::string_view id) const {
  std::string norm;
  if (m_kind == Kind::jellyfin) {
    for (char c : id) {
      if (c != '-') {
        norm.push_back(c);
      }
    }
    norm = to_lower(norm);
  } else {
    norm = std::string(id);
  }
  auto it = m_by_id.find(norm);
  return it == m_by_id.end() ? -1 : static_cast<int64_t>(it->second);
}

int64_t Server::user_of_id(std::string_view id) const {
  std::string norm;
  for (char c : id) {
    if (c != '-') {
      norm.push_back(c);
    }
  }
  norm = to_lower(norm);
  const auto& users = def().users;
  for (size_t i = 0; i < users.size(); ++i) {
    if (users[i].id == norm) {
      return static_cast<int64_t>(i);
    }
  }
  return -1;
}

PlayState Server::state(size_t user, uint32_t item) const {
  std::shared_lock lock(m_mutex);
  return m_state.at(user).at(item);
}

IdList Server::presented_ids(uint32_t item) const {
  std::shared_lock lock(m_mutex);
  return presented_ids_locked(item);
}

namespace {

// The external id a Plex guid carries: "imdb://tt1" (Guid[]) or a legacy agent guid such as
// "com.plexapp.agents.imdb://tt1?lang=en"; nothing for plex://, local://, agents.none and the
// episode form "…://<show id>/<season>/<episode>" (it carries no episode id).
std::optional<std::pair<std::string, std::string>> plex_guid_id(std::string_view guid) {
  const size_t sep = guid.find("://");
  if (sep == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view scheme = guid.substr(0, sep);
  std::string_view value = guid.substr(sep + 3);
  value = value.substr(0, value.find('?'));
  constexpr std::string_view legacy = "com.plexapp.agents.";
  if (scheme.rfind(legacy, 0) == 0) {
    scheme.remove_prefix(legacy.size());
  }
  if (value.empty() || value.find('/') != std::string_view::npos) {
    return std::nullopt;
  }
  if (scheme == "imdb" || scheme == "tmdb" || scheme == "tvdb") {
    return std::make_pair(std::string(scheme), std::string(value));
  }
  if (scheme == "themoviedb") {
    return std::make_pair(std::string("tmdb"), std::string(value));
  }
  if (scheme == "thetvdb") {
    return std::make_pair(std::string("tvdb"), std::string(value));
  }
  if (scheme == "hama") {
    const size_t dash = value.find('-');
    if (dash != std::string_view::npos && dash + 1 < value.size()) {
      return std::make_pair(std::string(value.substr(0, dash)),
                            std::string(value.substr(dash + 1)));
    }
  }
  return std::nullopt;
}

} // namespace

IdList Server::presented_ids_locked(uint32_t item) const {
  const Item& it = m_items[item];
  const Entry& e = m_world->entries[it.entry];
  const auto over = m_ids.find(it.entry);
  const IdList& ids = over != m_ids.end() ? over->second : e.ids;
  IdList out;
  if (m_kind == Kind::plex) {
    if (over == m_ids.end() && !e.plex_guids.empty()) {
      for (const std::string& g : e.plex_guids) {
        if (auto id = plex_guid_id(g)) {
          out.push_back(std::move(*id));
        }
      }
      return out;
    }
    // The modern agent: Guid[] holds the imdb, tmdb and tvdb ids.
    for (const char* provider : {"imdb", "tmdb", "tvdb"}) {
      for (const auto& [k, v] : ids) {
        if (k == provider) {
          out.emplace_back(k, v);
          break;
        }
      }
    }
    return out;
  }
  const auto& custom = e.provider_ids[idx(m_kind)];
  if (over == m_ids.end() && custom) {
    for (const auto& [k, v] : *custom) {
      std::string name;
      for (char c : to_lower(k)) {
        if (c != ' ') {
          name.push_back(c);
        }
      }
      out.emplace_back(std::move(name), v);
    }
    return out;
  }
  return ids;
}

void Server::set_ids(uint32_t entry, IdList ids) {
  // Listings cache only the order of items (ids are rendered from m_ids under m_mutex), so no
  // cached listing can show stale ids.
  m_ids[entry] = std::move(ids);
}

std::shared_ptr<const std::vector<uint32_t>>
Server::sorted(const std::string& cache_key, const std::function<std::vector<uint32_t>()>& make) {
  std::lock_guard lock(m_cache_mutex);
  auto it = m_cache.find(cache_key);
  if (it != m_cache.end()) {
    return it->second;
  }
  auto list = std::make_shared<const std::vector<uint32_t>>(make());
  m_cache.emplace(cache_key, list);
  return list;
}

std::string Server::redact_query(std::string_view query) {
  std::string out;
  out.reserve(query.size());
  while (true) {
    const size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    const size_t eq = part.find('=');
    const std::string name = url_decode(part.substr(0, eq), true);
    if (eq != std::string_view::npos &&
        (iequals(name, "X-Plex-Token") || iequals(name, "api_key") || iequals(name, "ApiKey"))) {
      out.append(part.substr(0, eq + 1));
      out += "REDACTED";
    } else {
      out.append(part);
    }
    if (amp == std::string_view::npos) {
      break;
    }
    out.push_back('&');
    query.remove_prefix(amp + 1);
  }
  return out;
}

void Server::log_request(const Request& req, int status, double ms) {
  LogEntry e;
  e.method = req.method;
  e.path = req.path;
  e.query = redact_query(req.query);
  e.status = status;
  e.ms = ms;
  std::lock_guard lock(m_log_mutex);
  e.seq = ++m_seq;
  m_log.push_back(std::move(e));
  if (m_log.size() > k_log_limit) {
    m_log.pop_front();
  }
}

Response Server::handle(const Request& req) {
  if (req.path == "/__sim" || req.path.rfind("/__sim/", 0) == 0) {
    return control(req);
  }
  const auto start = std::chrono::steady_clock::now();
  bool faulted = false;
  FaultRule rule;
  {
    std::lock_guard lock(m_fault_mutex);
    for (auto it = m_faults.begin(); it != m_faults.end(); ++it) {
      if (!it->method.empty() && !iequals(it->method, req.method)) {
        continue;
      }
      if (!std::regex_search(req.path, it->re)) {
        continue;
      }
      if (it->skip > 0) {
        --it->skip;
        break;
      }
      rule = *it;
      faulted = true;
      if (it->times > 0 && --it->times == 0) {
        m_faults.erase(it);
      }
      // Hidden (or shown) before the next request is matched: a request that arrives after
      // this one must see the change. Done after the lock, a request on another thread could
      // slip in between and list the item once more (a fault-matrix case failed so: the item
      // was listed, then its write answered 404).
      if (!rule.hide.empty()) {
        set_hidden(rule.hide, true);
      }
      if (!rule.unhide.empty()) {
        set_hidden(rule.unhide, false);
      }
      break;
    }
  }
  if (faulted && rule.delay_ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(rule.delay_ms));
  }
  Response res;
  bool is_write = false;
  const bool replace = faulted && (rule.status != 0 || rule.has_body) &&
                       !(rule.has_body && rule.body == "truncated");
  if (replace) {
    if (rule.has_body && rule.body == "malformed") {
      res.status = rule.status != 0 ? rule.status : 200;
      res.content_type = "application/json";
      res.body = m_kind == Kind::plex ? R"({"MediaContainer":{"size":)" : R"({"Items":[{"Name":)";
    } else {
      res.status = rule.status != 0 ? rule.status : 500;
      res.content_type = "text/plain";
      if (rule.has_body && rule.body != "empty") {
        res.body = rule.body;
      }
    }
  } else {
    res = dispatch(req, is_write);
    if (faulted && rule.has_body && rule.body == "truncated") {
      res.body.resize(res.body.size() / 2);
      res.status = rule.status != 0 ? rule.status : 200;
    }
  }
  if (faulted && !rule.retry_after.empty()) {
    res.headers.emplace_back("Retry-After", rule.retry_after);
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  {
    std::lock_guard lock(m_log_mutex);
    ++m_requests;
    if (is_write) {
      ++m_writes;
    }
  }
  log_request(req, res.status, ms);
  return res;
}

Response Server::dispatch(const Request& req, bool& is_write) {
  return m_kind == Kind::plex ? plex(req, is_write) : mediabrowser(req, is_write);
}

} // namespace ws::sim
