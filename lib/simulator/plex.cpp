// SPDX-License-Identifier: MIT
// Plex Media Server API (reference §1): XML by default, JSON with Accept: application/json.
#include "simulator/server.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

namespace ws::sim {

namespace {

constexpr std::string_view k_unauthorized =
    "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>";
constexpr std::string_view k_not_found =
    "<html><head><title>Not Found</title></head><body><h1>404 Not Found</h1></body></html>";
constexpr std::string_view k_bad_request =
    "<html><head><title>Bad Request</title></head><body><h1>400 Bad Request</h1></body></html>";
constexpr std::string_view k_identifier = "com.plexapp.plugins.library";

// Emit one PMS document as XML or JSON from the same sequence of calls. JSON groups consecutive
// children with the same array name into one array, which is how PMS maps XML to JSON.
class PlexOut {
public:
  explicit PlexOut(bool json, size_t reserve = 4096)
      : m_json(json), m_buf(nullptr, reserve), m_w(m_buf) {
    if (json) {
      m_w.StartObject();
    } else {
      m_xml.reserve(reserve);
      m_xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    }
  }

  void open(std::string_view tag, std::string_view array) {
    if (m_json) {
      if (m_stack.empty()) {
        m_w.Key(tag.data(), static_cast<rapidjson::SizeType>(tag.size()));
      } else {
        Frame& parent = m_stack.back();
        if (parent.array != array) {
          if (!parent.array.empty()) {
            m_w.EndArray();
          }
          m_w.Key(array.data(), static_cast<rapidjson::SizeType>(array.size()));
          m_w.StartArray();
          parent.array = array;
        }
      }
      m_w.StartObject();
    } else {
      if (!m_stack.empty() && !m_stack.back().children) {
        m_xml += ">\n";
        m_stack.back().children = true;
      }
      m_xml += '<';
      m_xml += tag;
    }
    m_stack.push_back(Frame{tag, {}, false});
  }

  // A child element that Plex renders as a single JSON object, not an array (the User,
  // Player and Session of a /status/sessions entry).
  void open_object(std::string_view tag) {
    if (!m_json || m_stack.empty()) {
      open(tag, tag);
      return;
    }
    Frame& parent = m_stack.back();
    if (!parent.array.empty()) {
      m_w.EndArray();
      parent.array = {};
    }
    m_w.Key(tag.data(), static_cast<rapidjson::SizeType>(tag.size()));
    m_w.StartObject();
    m_stack.push_back(Frame{tag, {}, false});
  }

  void attr(std::string_view key, std::string_view value) {
    if (m_json) {
      m_w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
      m_w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    } else {
      m_xml += ' ';
      m_xml += key;
      m_xml += "=\"";
      m_xml += xml_escape(value);
      m_xml += '"';
    }
  }

  void attr(std::string_view key, const char* value) { attr(key, std::string_view(value)); }
  void attr(std::string_view key, const std::string& value) { attr(key, std::string_view(value)); }

  void num(std::string_view key, int64_t value) {
    if (m_json) {
      m_w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
      m_w.Int64(value);
    } else {
      m_xml += ' ';
      m_xml += key;
      m_xml += "=\"";
      m_xml += fmt::format("{}", value);
      m_xml += '"';
    }
  }

  void flag(std::string_view key, bool value) {
    if (m_json) {
      m_w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
      m_w.Bool(value);
    } else {
      m_xml += ' ';
      m_xml += key;
      m_xml += value ? "=\"1\"" : "=\"0\"";
    }
  }

  void close() {
    Frame f = m_stack.back();
    m_stack.pop_back();
    if (m_json) {
      if (!f.array.empty()) {
        m_w.EndArray();
      }
      m_w.EndObject();
    } else if (f.children) {
      m_xml += "</";
      m_xml += f.tag;
      m_xml += ">\n";
    } else {
      m_xml += " />\n";
    }
  }

  std::string finish() {
    while (!m_stack.empty()) {
      close();
    }
    if (m_json) {
      m_w.EndObject();
      return {m_buf.GetString(), m_buf.GetSize()};
    }
    return std::move(m_xml);
  }

private:
  struct Frame {
    std::string_view tag;
    std::string_view array;
    bool children;
  };
  bool m_json;
  rapidjson::StringBuffer m_buf;
  rapidjson::Writer<rapidjson::StringBuffer> m_w;
  std::string m_xml;
  std::vector<Frame> m_stack;
};

Response plex_response(int status, std::string_view body, const char* type = "text/html") {
  Response r;
  r.status = status;
  r.content_type = type;
  r.body = std::string(body);
  r.headers.emplace_back("X-Plex-Protocol", "1.0");
  return r;
}

Response plex_doc(PlexOut& out, bool json) {
  Response r;
  r.status = 200;
  r.content_type = json ? "application/json" : "text/xml;charset=utf-8";
  r.body = out.finish();
  r.headers.emplace_back("X-Plex-Protocol", "1.0");
  return r;
}

std::string release_date(int year, int offset_days) {
  if (year <= 0) {
    return {};
  }
  auto base = parse_iso_ms(fmt::format("{:04d}-01-01", year));
  return format_day(*base / 1000 + static_cast<int64_t>(offset_days) * 86400);
}

std::string section_uuid(const std::string& server_id, size_t section) {
  const std::string h = hex_hash(server_id, fmt::format("section/{}", section), 32);
  return fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4),
                     h.substr(16, 4), h.substr(20));
}

// Read an X-Plex-* value from the query (which wins) or the headers.
const std::string* plex_value(const Request& req, std::string_view name) {
  if (const std::string* q = req.iparam(name)) {
    return q;
  }
  return req.header(name);
}

// Accept "123" or "/library/metadata/123".
std::string strip_metadata_prefix(std::string_view key) {
  constexpr std::string_view prefix = "/library/metadata/";
  if (key.rfind(prefix, 0) == 0) {
    key.remove_prefix(prefix.size());
  }
  return std::string(key);
}

// What a request asked to be left out of its items (PMS "Response Customization": excludeFields
// and excludeElements, each a comma-separated list of names). Of what the simulator renders,
// the `summary` attribute and the Genre elements can be left out; everything else stays, as
// PMS keeps fields it needs (ratingKey, key, guid, type) whatever is asked.
struct Trim {
  bool summary = true;
  bool genres = true;

  static bool names(const std::string* list, std::string_view name) {
    if (list == nullptr) {
      return false;
    }
    std::string_view rest(*list);
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      if (rest.substr(0, comma) == name) {
        return true;
      }
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    return false;
  }

  static Trim of(const Request& req) {
    Trim trim;
    trim.summary = !names(req.param("excludeFields"), "summary");
    trim.genres = !names(req.param("excludeElements"), "Genre");
    return trim;
  }
};

// A summary as long as a real one (a few hundred bytes), made up from the item's title.
std::string summary_of(const Entry& e) {
  return fmt::format("{} is a {} that exists only in this simulated library. It follows a "
                     "handful of people through a difficult season of their lives, with more "
                     "detours than the plot needs, and ends where it began, only quieter. Its "
                     "summary is here so that a listing weighs what a real one weighs.",
                     e.title, e.kind == EntryKind::movie ? "film" : "story");
}

// Render one item; the caller holds the state lock.
struct PlexRender {
  const World& world;
  const std::vector<Item>& items;
  const std::vector<Library>& libraries;
  const std::vector<PlayState>& state;
  const std::unordered_map<uint32_t, IdList>&
      ids; // entries presented with other ids (modern agent)

  const IdList* changed(const Item& it) const {
    const auto found = ids.find(it.entry);
    return found == ids.end() ? nullptr : &found->second;
  }

  std::string guid(const Item& it) const {
    const Entry& e = world.entries[it.entry];
    const bool modern = e.plex_guids.empty() || changed(it) != nullptr;
    if (it.type == ItemType::season) {
      if (!modern) {
        std::string g = e.plex_guids.front();
        const size_t q = g.find('?');
        g.insert(q == std::string::npos ? g.size() : q, fmt::format("/{}", it.season_no));
        return g;
      }
      return "plex://season/" +
             hex_hash("plex-guid", fmt::format("{}/{}", e.key, it.season_no), 24);
    }
    if (!modern) {
      return e.plex_guids.front();
    }
    const char* type =
        it.type == ItemType::movie ? "movie" : (it.type == ItemType::series ? "show" : "episode");
    return fmt::format("plex://{}/{}", type, hex_hash("plex-guid", e.key, 24));
  }

  void guids(PlexOut& o, const Item& it) const {
    if (it.type == ItemType::season) {
      return;
    }
    const Entry& e = world.entries[it.entry];
    const IdList* given = changed(it);
    if (given == nullptr && !e.plex_guids.empty()) {
      for (size_t i = 1; i < e.plex_guids.size(); ++i) {
        o.open("Guid", "Guid");
        o.attr("id", e.plex_guids[i]);
        o.close();
      }
      return;
    }
    for (const char* provider : {"imdb", "tmdb", "tvdb"}) {
      for (const auto& [k, v] : given != nullptr ? *given : e.ids) {
        if (k == provider) {
          o.open("Guid", "Guid");
          o.attr("id", fmt::format("{}://{}", k, v));
          o.close();
          break;
        }
      }
    }
  }

  void section(PlexOut& o, const Item& it) const {
    const Library& lib = libraries[it.library];
    o.attr("librarySectionTitle", lib.name);
    o.num("librarySectionID", lib.number);
    o.attr("librarySectionKey", fmt::format("/library/sections/{}", lib.id));
  }

  void counts(PlexOut& o, const Item& it) const {
    int64_t leaves = 0;
    int64_t viewed = 0;
    auto add = [&](const Item& season) {
      for (uint32_t c : season.children) {
        ++leaves;
        viewed += state[c].played ? 1 : 0;
      }
    };
    if (it.type == ItemType::series) {
      for (uint32_t s : it.children) {
        add(items[s]);
      }
    } else {
      add(it);
    }
    o.num("leafCount", leaves);
    o.num("viewedLeafCount", viewed);
    if (it.type == ItemType::series) {
      o.num("childCount", static_cast<int64_t>(it.children.size()));
    }
  }

  // `playlist_item_id` >= 0: the item as a playlist lists it (with its playlistItemID).
  void render(PlexOut& o, uint32_t index, bool with_guids, int64_t playlist_item_id = -1,
              const Trim& trim = {}) const {
    const Item& it = items[index];
    const Entry& e = world.entries[it.entry];
    const std::string& rk = it.id;
    if (it.type == ItemType::series || it.type == ItemType::season) {
      o.open("Directory", "Metadata");
      o.attr("ratingKey", rk);
      o.attr("key", fmt::format("/library/metadata/{}/children", rk));
      if (it.type == ItemType::season) {
        const Item& series = items[static_cast<size_t>(it.parent)];
        o.attr("parentRatingKey", series.id);
        o.attr("guid", guid(it));
        o.attr("parentGuid", guid(series));
        o.attr("type", "season");
        o.attr("title", it.season_no == 0 ? std::string("Specials")
                                          : fmt::format("Season {}", it.season_no));
        o.attr("parentKey", fmt::format("/library/metadata/{}", series.id));
        o.attr("parentTitle", e.title);
        section(o, it);
        o.num("index", it.season_no);
        if (e.year > 0) {
          o.num("parentYear", e.year);
        }
      } else {
        o.attr("guid", guid(it));
        o.attr("type", "show");
        o.attr("title", e.title);
        if (trim.summary) {
          o.attr("summary", summary_of(e));
        }
        section(o, it);
        if (e.year > 0) {
          o.num("year", e.year);
          o.attr("originallyAvailableAt", release_date(e.year, 0));
        }
      }
      counts(o, it);
      o.num("addedAt", it.added_at);
      o.num("updatedAt", it.added_at);
      if (it.type == ItemType::series && trim.genres) {
        for (const std::string& g : e.genres) {
          o.open("Genre", "Genre");
          o.attr("tag", g);
          o.close();
        }
      }
      if (it.type == ItemType::series) {
        if (with_guids) {
          guids(o, it);
        }
        o.open("Location", "Location");
        o.attr("path", e.file);
        o.close();
      }
      o.close();
      return;
    }
    const PlayState& st = state[index];
    const bool episode = it.type == ItemType::episode;
    o.open("Video", "Metadata");
    o.attr("ratingKey", rk);
    o.attr("key", fmt::format("/library/metadata/{}", rk));
    const Item* season = episode ? &items[static_cast<size_t>(it.parent)] : nullptr;
    const Item* series = episode ? &items[static_cast<size_t>(it.series)] : nullptr;
    const Entry* show = episode ? &world.entries[series->entry] : nullptr;
    if (episode) {
      o.attr("parentRatingKey", season->id);
      o.attr("grandparentRatingKey", series->id);
    }
    o.attr("guid", guid(it));
    if (episode) {
      o.attr("parentGuid", guid(*season));
      o.attr("grandparentGuid", guid(*series));
    }
    o.attr("type", episode ? "episode" : "movie");
    o.attr("title", e.title);
    if (trim.summary) {
      o.attr("summary", summary_of(e));
    }
    if (episode) {
      o.attr("grandparentKey", fmt::format("/library/metadata/{}", series->id));
      o.attr("parentKey", fmt::format("/library/metadata/{}", season->id));
    }
    section(o, it);
    if (episode) {
      o.attr("grandparentTitle", show->title);
      o.attr("parentTitle",
             e.season == 0 ? std::string("Specials") : fmt::format("Season {}", e.season));
      o.num("index", e.episode);
      o.num("parentIndex", e.season);
    }
    if (e.year > 0) {
      o.num("year", e.year);
      o.attr("originallyAvailableAt",
             release_date(e.year, episode ? (e.episode > 0 ? e.episode - 1 : 0) * 7 : 0));
    }
    o.num("duration", e.duration_ms);
    if (st.position_ms > 0) {
      o.num("viewOffset", st.position_ms);
    }
    // Plex knows no "played" flag besides viewCount, so a played item always shows one.
    if (st.played) {
      o.num("viewCount", std::max<uint32_t>(st.play_count, 1));
    }
    if (st.last_played_ms != k_no_time) {
      o.num("lastViewedAt",
            st.last_played_ms >= 0 ? st.last_played_ms / 1000 : (st.last_played_ms - 999) / 1000);
    }
    o.num("addedAt", it.added_at);
    o.num("updatedAt", it.added_at);
    if (playlist_item_id >= 0) {
      o.num("playlistItemID", playlist_item_id);
    }
    o.open("Media", "Media");
    o.num("id", index + 1);
    o.num("duration", e.duration_ms);
    o.attr("container", "mkv");
    o.open("Part", "Part");
    o.num("id", index + 1);
    o.attr("key", fmt::format("/library/parts/{}/{}/file.mkv", index + 1, e.added_at));
    o.num("duration", e.duration_ms);
    o.attr("file", e.file);
    o.num("size", e.duration_ms * 250);
    o.attr("container", "mkv");
    o.close();
    o.close();
    if (trim.genres) {
      for (const std::string& g : e.genres) {
        o.open("Genre", "Genre");
        o.attr("tag", g);
        o.close();
      }
    }
    if (with_guids) {
      guids(o, it);
    }
    o.close();
  }
};

} // namespace

Response Server::plex(const Request& req, bool& is_write) {
  const std::string* accept = req.header("Accept");
  const bool json = accept != nullptr && accept->find("application/json") != std::string::npos;
  const ServerDef& s = def();
  std::string path = req.path;
  if (path == "/identity" || path == "/identity/") {
    PlexOut o(json);
    o.open("MediaContainer", "");
    o.num("size", 0);
    o.flag("claimed", true);
    o.attr("machineIdentifier", s.server_id);
    o.attr("version", s.version);
    return plex_doc(o, json);
  }
  const std::string* token = plex_value(req, "X-Plex-Token");
  auto found = token != nullptr ? m_token_user.find(*token) : m_token_user.end();
  if (found == m_token_user.end() || found->second < 0) {
    return plex_response(401, req.method == "HEAD" ? std::string_view() : k_unauthorized);
  }
  const auto user = static_cast<size_t>(found->second);
  if (path.size() > 1 && path.back() == '/') {
    path.pop_back();
  }
  if (path == "/" || path.empty()) {
    PlexOut o(json);
    o.open("MediaContainer", "");
    o.num("size", 2);
    o.flag("allowSync", true);
    o.attr("friendlyName", s.name);
    o.attr("machineIdentifier", s.server_id);
    o.flag("multiuser", true);
    o.flag("myPlex", true);
    o.attr("myPlexSigninState", "ok");
    o.attr("myPlexUsername", s.users.front().name + "@example.test");
    o.attr("platform", "Linux");
    o.attr("platformVersion", "6.1");
    o.num("transcoderActiveVideoSessions", 0);
    o.num("updatedAt", k_anchor);
    o.attr("version", s.version);
    for (const char* key : {"library", "accounts"}) {
      o.open("Directory", "Directory");
      o.num("count", 1);
      o.attr("key", key);
      o.attr("title", key);
      o.close();
    }
    return plex_doc(o, json);
  }
  if (path == "/accounts") {
    PlexOut o(json);
    o.open("MediaContainer", "");
    o.num("size", static_cast<int64_t>(s.users.size() + 1));
    o.attr("identifier", "com.plexapp.system.accounts");
    auto account = [&](const std::string& id, const std::string& name) {
      o.open("Account", "Account");
      o.num("id", parse_int(id).value_or(0));
      o.attr("key", "/accounts/" + id);
      o.attr("name", name);
      o.attr("defaultAudioLanguage", "en");
      o.flag("autoSelectAudio", true);
      o.attr("defaultSubtitleLanguage", "en");
      o.num("subtitleMode", 1);
      o.attr("thumb", "");
      o.close();
    };
    account("0", "");
    for (const UserDef& u : s.users) {
      account(u.id, u.name);
    }
    return plex_doc(o, json);
  }
  if (path == "/library/sections" || path == "/library/sections/all") {
    PlexOut o(json);
    o.open("MediaContainer", "");
    o.num("size", static_cast<int64_t>(m_libraries.size()));
    o.flag("allowSync", false);
    o.attr("identifier", k_identifier);
    o.attr("title1", "Plex Library");
    const char* agents[] = {"tv.plex.agents.movie", "tv.plex.agents.series",
                            "tv.plex.agents.music"};
    const char* scanners[] = {"Plex Movie", "Plex TV Series", "Plex Music"};
    // The uuid and Location id of a section follow its key (1..5), whichever sections exist.
    for (size_t i = 0; i < m_libraries.size(); ++i) {
      const Library& lib = m_libraries[i];
      o.open("Directory", "Directory");
      o.flag("allowSync", true);
      o.attr("art", fmt::format("/:/resources/{}-fanart.jpg", lib.plex_type));
      o.flag("filters", true);
      o.flag("refreshing", false);
      o.attr("thumb", fmt::format("/:/resources/{}.png", lib.plex_type));
      o.attr("key", lib.id);
      o.attr("type", lib.plex_type);
      o.attr("title", lib.name);
      o.attr("agent", agents[lib.content]);
      o.attr("scanner", scanners[lib.content]);
      o.attr("language", "en-US");
      o.attr("uuid", section_uuid(s.server_id, static_cast<size_t>(lib.number - 1)));
      o.num("updatedAt", k_anchor);
      o.num("createdAt", 1499601583);
      o.num("scannedAt", k_anchor);
      o.flag("content", true);
      o.flag("directory", true);
      o.num("contentChangedAt", 18253756);
      o.num("hidden", 0);
      o.open("Location", "Location");
      o.num("id", lib.number);
      o.attr("path", lib.path);
      o.close();
      o.close();
    }
    return plex_doc(o, json);
  }
  constexpr std::string_view sections = "/library/sections/";
  if (path.rfind(sections, 0) == 0 && path.size() > sections.size() + 4 &&
      path.compare(path.size() - 4, 4, "/all") == 0) {
    const std::string key = path.substr(sections.size(), path.size() - sections.size() - 4);
    for (size_t i = 0; i < m_libraries.size(); ++i) {
      if (m_libraries[i].id == key) {
        return plex_listing(req, user, i, json);
      }
    }
    return plex_response(404, k_not_found);
  }
  constexpr std::string_view metadata = "/library/metadata/";
  if (path.rfind(metadata, 0) == 0) {
    std::string rest = path.substr(metadata.size());
    bool children = false;
    if (rest.size() > 9 && rest.compare(rest.size() - 9, 9, "/children") == 0) {
      children = true;
      rest.resize(rest.size() - 9);
    }
    if (rest.empty() || rest.find('/') != std::string::npos) {
      return plex_response(404, k_not_found);
    }
    return plex_metadata(req, user, rest, children, json);
  }
  if (path == "/:/scrobble" || path == "/:/unscrobble" || path == "/:/timeline" ||
      path == "/:/progress") {
    if (req.method != "GET" && req.method != "PUT" && req.method != "POST") {
      return plex_response(405, "");
    }
    is_write = true;
    return plex_write(req, user, path.substr(3), json);
  }
  if (path == "/status/sessions") {
    return plex_sessions(json);
  }
  if (path == "/hubs/search") {
    return plex_search(req, user, json);
  }
  if (path == "/playlists" || path.rfind("/playlists/", 0) == 0) {
    return plex_playlists(req, user, path, json, is_write);
  }
  return plex_response(404, k_not_found);
}

// GET /hubs/search?query=Q&limit=N: one hub per type (movie, show, episode), each with at most
// N items whose title contains Q (case-insensitive), as PMS groups its search results.
Response Server::plex_search(const Request& req, size_t user, bool json) {
  const std::string* query = req.param("query");
  if (query == nullptr) {
    return plex_response(400, "");
  }
  const std::string wanted = to_lower(*query);
  int64_t limit = 10;
  if (const std::string* l = req.param("limit")) {
    limit = std::max<int64_t>(1, parse_int(*l).value_or(10));
  }
  const bool with_guids = req.param("includeGuids") != nullptr && *req.param("includeGuids") == "1";
  const Trim trim = Trim::of(req);
  struct HubDef {
    ItemType type;
    const char* name;
    const char* title;
  };
  const HubDef hubs[] = {{ItemType::movie, "movie", "Movies"},
                         {ItemType::series, "show", "Shows"},
                         {ItemType::episode, "episode", "Episodes"}};
  PlexOut o(json);
  o.open("MediaContainer", "");
  o.num("size", 3);
  std::shared_lock lock(m_mutex);
  PlexRender r{*m_world, m_items, m_libraries, m_state[user], m_ids};
  for (const HubDef& hub : hubs) {
    std::vector<uint32_t> hits;
    for (size_t i = 0; i < m_items.size() && static_cast<int64_t>(hits.size()) < limit; ++i) {
      const Item& it = m_items[i];
      if (it.type == hub.type && !hidden(static_cast<uint32_t>(i)) &&
          (wanted.empty() ||
           to_lower(m_world->entries[it.entry].title).find(wanted) != std::string::npos)) {
        hits.push_back(static_cast<uint32_t>(i));
      }
    }
    o.open("Hub", "Hub");
    o.attr("title", hub.title);
    o.attr("type", hub.name);
    o.attr("hubIdentifier", hub.name);
    o.num("size", static_cast<int64_t>(hits.size()));
    for (uint32_t i : hits) {
      r.render(o, i, with_guids, -1, trim);
    }
    o.close();
  }
  lock.unlock();
  return plex_doc(o, json);
}

Response Server::plex_listing(const Request& req, size_t user, size_t section, bool json) {
  const Library& lib = m_libraries[section];
  const bool movies = lib.content == k_movies;
  const bool shows = lib.content == k_shows;
  int64_t type = movies ? 1 : (shows ? 2 : 8);
  if (const std::string* t = req.param("type")) {
    type = parse_int(*t).value_or(-1);
  }
  std::optional<ItemType> wanted;
  if (movies && type == 1) {
    wanted = ItemType::movie;
  } else if (shows && type == 2) {
    wanted = ItemType::series;
  } else if (shows && type == 3) {
    wanted = ItemType::season;
  } else if (shows && type == 4) {
    wanted = ItemType::episode;
  }
  bool by_added = false;
  bool desc = false;
  if (const std::string* sort = req.param("sort")) {
    std::string field = *sort;
    const size_t colon = field.find(':');
    if (colon != std::string::npos) {
      desc = iequals(field.substr(colon + 1), "desc");
      field.resize(colon);
    }
    by_added = field == "addedAt" || field == "episode.addedAt" || field == "season.addedAt" ||
               field == "show.addedAt";
  }
  const bool with_guids = req.param("includeGuids") != nullptr && *req.param("includeGuids") == "1";
  const Trim trim = Trim::of(req);
  std::shared_ptr<const std::vector<uint32_t>> list;
  if (wanted) {
    const ItemType wt = *wanted;
    list = sorted(
        fmt::format("plex|{}|{}|{}", section, static_cast<int>(wt), by_added ? "added" : "title"),
        [this, wt, section, by_added]() {
          std::vector<uint32_t> out;
          std::vector<std::string> keys;
          std::vector<int64_t> added;
          for (size_t i = 0; i < m_items.size(); ++i) {
            if (m_items[i].type == wt && m_items[i].library == section &&
                !hidden(static_cast<uint32_t>(i))) {
              out.push_back(static_cast<uint32_t>(i));
            }
          }
          const World& w = *m_world;
          if (by_added) {
            std::stable_sort(out.begin(), out.end(), [&](uint32_t a, uint32_t b) {
              return m_items[a].added_at < m_items[b].added_at;
            });
          } else {
            std::vector<std::pair<std::string, uint32_t>> named;
            named.reserve(out.size());
            for (uint32_t i : out) {
              const Item& it = m_items[i];
              std::string name = to_lower(w.entries[it.entry].title);
              if (it.type != ItemType::movie && it.type != ItemType::series) {
                name += fmt::format("\x01{:05d}", it.season_no);
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
  } else {
    list = std::make_shared<const std::vector<uint32_t>>();
  }
  const auto total = static_cast<int64_t>(list->size());
  int64_t start = 0;
  if (const std::string* v = plex_value(req, "X-Plex-Container-Start")) {
    start = std::max<int64_t>(0, parse_int(*v).value_or(0));
  }
  int64_t size = total;
  if (const std::string* v = plex_value(req, "X-Plex-Container-Size")) {
    size = std::max<int64_t>(0, parse_int(*v).value_or(total));
  }
  const int64_t begin = std::min(start, total);
  const int64_t end = req.method == "HEAD" ? begin : std::min(total, begin + size);
  PlexOut o(json, static_cast<size_t>(end - begin) * 1400 + 1024);
  o.open("MediaContainer", "");
  o.num("size", end - begin);
  o.num("totalSize", total);
  o.num("offset", start);
  o.flag("allowSync", true);
  o.attr("identifier", k_identifier);
  o.num("librarySectionID", lib.number);
  o.attr("librarySectionTitle", lib.name);
  o.attr("librarySectionUUID", section_uuid(def().server_id, static_cast<size_t>(lib.number - 1)));
  o.attr("title1", lib.name);
  const char* groups[] = {"", "movie", "show", "season", "episode"};
  o.attr("viewGroup", type >= 1 && type <= 4 ? groups[type] : "");
  {
    std::shared_lock lock(m_mutex);
    PlexRender r{*m_world, m_items, m_libraries, m_state[user], m_ids};
    for (int64_t i = begin; i < end; ++i) {
      const uint32_t index =
          desc ? (*list)[static_cast<size_t>(total - 1 - i)] : (*list)[static_cast<size_t>(i)];
      r.render(o, index, with_guids, -1, trim);
    }
  }
  Response res = plex_doc(o, json);
  res.headers.emplace_back("X-Plex-Container-Start", fmt::format("{}", start));
  res.headers.emplace_back("X-Plex-Container-Total-Size", fmt::format("{}", total));
  return res;
}

Response Server::plex_metadata(const Request& req, size_t user, std::string_view keys,
                               bool children, bool json) {
  std::vector<uint32_t> found;
  std::string_view rest = keys;
  while (true) {
    const size_t comma = rest.find(',');
    const int64_t i = item_of_id(rest.substr(0, comma));
    if (i >= 0) {
      found.push_back(static_cast<uint32_t>(i));
    }
    if (comma == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(comma + 1);
  }
  if (found.empty() || (children && found.size() != 1)) {
    return plex_response(404, k_not_found);
  }
  std::vector<uint32_t> list;
  if (children) {
    for (uint32_t c : m_items[found.front()].children) {
      if (!hidden(c)) {
        list.push_back(c);
      }
    }
  } else {
    list = found;
  }
  PlexOut o(json);
  o.open("MediaContainer", "");
  o.num("size", req.method == "HEAD" ? 0 : static_cast<int64_t>(list.size()));
  o.flag("allowSync", true);
  o.attr("identifier", k_identifier);
  const Item& first = m_items[found.front()];
  const Library& lib = m_libraries[first.library];
  o.num("librarySectionID", lib.number);
  o.attr("librarySectionTitle", lib.name);
  o.attr("librarySectionUUID", section_uuid(def().server_id, static_cast<size_t>(lib.number - 1)));
  if (req.method != "HEAD") {
    std::shared_lock lock(m_mutex);
    PlexRender r{*m_world, m_items, m_libraries, m_state[user], m_ids};
    for (uint32_t i : list) {
      r.render(o, i, true);
    }
  }
  return plex_doc(o, json);
}

Response Server::plex_write(const Request& req, size_t user, std::string_view what, bool json) {
  const int64_t now = now_ms();
  auto scrobble = [&](uint32_t i, bool played) {
    PlayState& st = m_state[user][i];
    if (played) {
      ++st.play_count;
      st.played = true;
      st.last_played_ms = now;
      st.position_ms = 0;
    } else {
      st = PlayState{false, st.favorite, 0, k_no_time, 0};
    }
  };
  auto leaves = [&](uint32_t i) {
    std::vector<uint32_t> out;
    const Item& it = m_items[i];
    if (it.type == ItemType::series) {
      for (uint32_t s : it.children) {
        out.insert(out.end(), m_items[s].children.begin(), m_items[s].children.end());
      }
    } else if (it.type == ItemType::season) {
      out = it.children;
    } else {
      out.push_back(i);
    }
    return out;
  };
  if (what == "scrobble" || what == "unscrobble") {
    const std::string* identifier = req.iparam("identifier");
    const std::string* key = req.iparam("key");
    if (identifier == nullptr || *identifier != k_identifier || key == nullptr || key->empty()) {
      return plex_response(400, k_bad_request);
    }
    const int64_t i = item_of_id(strip_metadata_prefix(*key));
    if (i < 0) {
      return plex_response(404, k_not_found);
    }
    std::unique_lock lock(m_mutex);
    for (uint32_t leaf : leaves(static_cast<uint32_t>(i))) {
      scrobble(leaf, what == "scrobble");
    }
    return plex_response(200, "");
  }
  if (what == "progress") {
    const std::string* key = req.iparam("key");
    if (key == nullptr || key->empty()) {
      return plex_response(400, k_bad_request);
    }
    const int64_t i = item_of_id(strip_metadata_prefix(*key));
    if (i < 0) {
      return plex_response(404, k_not_found);
    }
    if (m_items[static_cast<size_t>(i)].is_folder()) {
      return plex_response(400, k_bad_request);
    }
    const int64_t time =
        req.iparam("time") != nullptr ? parse_int(*req.iparam("time")).value_or(0) : 0;
    if (time > 0) {
      std::unique_lock lock(m_mutex);
      m_state[user][static_cast<size_t>(i)].position_ms = time;
    }
    return plex_response(200, "");
  }
  // timeline
  std::string rk;
  if (const std::string* v = req.iparam("ratingKey")) {
    rk = *v;
  } else if (const std::string* k = req.iparam("key")) {
    rk = strip_metadata_prefix(*k);
  }
  if (rk.empty()) {
    return plex_response(400, k_bad_request);
  }
  const int64_t i = item_of_id(rk);
  if (i < 0) {
    return plex_response(404, k_not_found);
  }
  if (m_items[static_cast<size_t>(i)].is_folder()) {
    return plex_response(400, k_bad_request);
  }
  const std::string* time_s = req.iparam("time");
  const std::string* duration_s = req.iparam("duration");
  const std::string* client = plex_value(req, "X-Plex-Client-Identifier");
  const auto time = time_s != nullptr ? parse_int(*time_s) : std::nullopt;
  const auto duration = duration_s != nullptr ? parse_int(*duration_s) : std::nullopt;
  if (time && duration && *duration > 0 && client != nullptr && !client->empty()) {
    std::unique_lock lock(m_mutex);
    if (*time * 10 >= *duration * 9) {
      scrobble(static_cast<uint32_t>(i), true);
    } else {
      m_state[user][static_cast<size_t>(i)].position_ms = std::max<int64_t>(0, *time);
    }
  }
  PlexOut o(json);
  o.open("MediaContainer", "");
  o.num("size", 0);
  return plex_doc(o, json);
}

Response Server::plex_sessions(bool json) {
  std::shared_lock lock(m_mutex);
  PlexOut o(json);
  o.open("MediaContainer", "");
  o.num("size", static_cast<int64_t>(m_sessions.size()));
  for (size_t n = 0; n < m_sessions.size(); ++n) {
    const Session& s = m_sessions[n];
    const Item& it = m_items[s.item];
    const Entry& e = m_world->entries[it.entry];
    const UserDef& u = def().users[s.user];
    o.open("Video", "Metadata");
    o.attr("ratingKey", it.id);
    o.attr("key", "/library/metadata/" + it.id);
    o.attr("type", it.type == ItemType::episode ? "episode" : "movie");
    o.attr("title", e.title);
    if (it.type == ItemType::episode) {
      o.attr("grandparentTitle", m_world->entries[e.show].title);
    }
    o.num("duration", e.duration_ms);
    o.num("viewOffset", s.position_ms);
    o.attr("sessionKey", fmt::format("{}", n + 1));
    o.open_object("User");
    o.attr("id", u.id);
    o.attr("title", u.name);
    o.attr("thumb",
           fmt::format("https://plex.tv/users/{}/avatar", hex_hash("plex-user", u.id, 16)));
    o.close();
    o.open_object("Player");
    o.attr("state", s.paused ? "paused" : "playing");
    o.attr("title", "Simulated Player");
    o.attr("machineIdentifier", hex_hash("player", u.id, 24));
    o.close();
    o.open_object("Session");
    o.attr("id", hex_hash("session", fmt::format("{}/{}", n, it.id), 24));
    o.close();
    o.close();
  }
  lock.unlock();
  return plex_doc(o, json);
}

// /playlists… (README §5.5): the playlists of the token's user; another user's playlist is
// unknown (404). Smart playlists are listed but their items cannot be changed (400).
Response Server::plex_playlists(const Request& req, size_t user, const std::string& path, bool json,
                                bool& is_write) {
  const std::string& m = req.method;
  const bool get = m == "GET" || m == "HEAD";
  is_write = !get;
  std::vector<std::string> seg; // the parts after "/playlists"
  {
    std::string_view rest = std::string_view(path).substr(std::string_view("/playlists").size());
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
  const size_t n = seg.size();
  auto bad = [] { return plex_response(400, k_bad_request); };
  auto not_found = [] { return plex_response(404, k_not_found); };
  auto not_allowed = [] { return plex_response(405, ""); };
  auto now_s = [] { return now_ms() / 1000; };
  // X-Plex-Container-Start/-Size from the query or the headers (as the library listings).
  struct Page {
    int64_t begin = 0;
    int64_t end = 0;
    int64_t start = 0;
    bool paged = false;
  };
  auto page = [&](int64_t total) {
    Page pg;
    const std::string* start = plex_value(req, "X-Plex-Container-Start");
    const std::string* size = plex_value(req, "X-Plex-Container-Size");
    pg.paged = start != nullptr || size != nullptr;
    pg.start = start != nullptr ? std::max<int64_t>(0, parse_int(*start).value_or(0)) : 0;
    const int64_t count =
        size != nullptr ? std::max<int64_t>(0, parse_int(*size).value_or(total)) : total;
    pg.begin = std::min(pg.start, total);
    pg.end = m == "HEAD" ? pg.begin : std::min(total, pg.begin + count);
    return pg;
  };
  auto paged_doc = [&](PlexOut& o, const Page& pg, int64_t total) {
    Response res = plex_doc(o, json);
    if (pg.paged) {
      res.headers.emplace_back("X-Plex-Container-Start", fmt::format("{}", pg.start));
      res.headers.emplace_back("X-Plex-Container-Total-Size", fmt::format("{}", total));
    }
    return res;
  };
  // uri=server://<machineIdentifier>/com.plexapp.plugins.library/library/metadata/<rk>[,<rk>…]
  auto uri_items = [&](std::vector<uint32_t>& items) {
    const std::string* uri = req.param("uri");
    if (uri == nullptr) {
      return false;
    }
    std::string_view u = *uri;
    constexpr std::string_view scheme = "server://";
    constexpr std::string_view library = "/com.plexapp.plugins.library/library/metadata/";
    if (u.rfind(scheme, 0) != 0) {
      return false;
    }
    u.remove_prefix(scheme.size());
    const size_t slash = u.find('/');
    if (slash == std::string_view::npos || !iequals(u.substr(0, slash), def().server_id)) {
      return false;
    }
    u.remove_prefix(slash);
    if (u.rfind(library, 0) != 0) {
      return false;
    }
    u.remove_prefix(library.size());
    std::vector<std::string> ids;
    while (true) {
      const size_t comma = u.find(',');
      if (const std::string_view id = u.substr(0, comma); !id.empty()) {
        ids.emplace_back(id);
      }
      if (comma == std::string_view::npos) {
        break;
      }
      u.remove_prefix(comma + 1);
    }
    return !ids.empty() && playable_items(ids, items);
  };
  // The playlist object (Metadata[] of /playlists); the caller holds m_mutex.
  auto render_playlist = [&](PlexOut& o, const Playlist& p) {
    const std::string h = hex_hash(def().server_id, "playlist-guid/" + p.id, 32);
    o.open("Playlist", "Metadata");
    o.attr("ratingKey", p.id);
    o.attr("key", fmt::format("/playlists/{}/items", p.id));
    o.attr("guid", fmt::format("com.plexapp.agents.none://{}-{}-{}-{}-{}", h.substr(0, 8),
                               h.substr(8, 4), h.substr(12, 4), h.substr(16, 4), h.substr(20)));
    o.attr("type", "playlist");
    o.attr("title", p.title);
    o.attr("summary", p.summary);
    o.flag("smart", p.smart);
    o.attr("playlistType", p.audio ? "audio" : "video");
    o.attr("composite", fmt::format("/playlists/{}/composite/{}", p.id, p.updated_at));
    if (p.smart) {
      o.attr("icon", "playlist://image.smart");
    }
    o.num("leafCount", static_cast<int64_t>(playlist_leaves(p)));
    o.num("duration", playlist_duration_ms(p));
    o.num("addedAt", p.added_at);
    o.num("updatedAt", p.updated_at);
    o.close();
  };
  // MediaContainer{size:1, Metadata:[playlist]} (plus the counts of an addition).
  auto playlist_doc = [&](const Playlist& p, int64_t added, int64_t requested) {
    PlexOut o(json);
    o.open("MediaContainer", "");
    if (requested >= 0) {
      o.num("leafCountAdded", added);
      o.num("leafCountRequested", requested);
    }
    o.num("size", 1);
    render_playlist(o, p);
    return plex_doc(o, json);
  };
  // The items as /library/metadata lists them, with playlistItemID (not on smart playlists).
  auto items_doc = [&](const Playlist& p) {
    std::vector<const PlaylistEntry*> shown;
    for (const PlaylistEntry& e : p.entries) {
      if (!hidden(e.item)) {
        shown.push_back(&e);
      }
    }
    const auto total = static_cast<int64_t>(shown.size());
    const Page pg = page(total);
    PlexOut o(json, static_cast<size_t>(pg.end - pg.begin) * 1400 + 1024);
    o.open("MediaContainer", "");
    o.num("size", pg.end - pg.begin);
    if (pg.paged) {
      o.num("totalSize", total);
      o.num("offset", pg.start);
    }
    o.attr("composite", fmt::format("/playlists/{}/composite/{}", p.id, p.updated_at));
    o.num("duration", playlist_duration_ms(p));
    o.num("leafCount", total);
    o.attr("playlistType", p.audio ? "audio" : "video");
    o.attr("ratingKey", p.id);
    o.flag("smart", p.smart);
    o.attr("title", p.title);
    PlexRender r{*m_world, m_items, m_libraries, m_state[user], m_ids};
    for (int64_t i = pg.begin; i < pg.end; ++i) {
      const PlaylistEntry& e = *shown[static_cast<size_t>(i)];
      r.render(o, e.item, true, p.smart ? -1 : parse_int(e.id).value_or(-1));
    }
    return paged_doc(o, pg, total);
  };
  // The playlist of seg[0] if it is this user's (the caller holds m_mutex).
  auto find = [&]() -> Playlist* {
    const int64_t i = playlist_of_id(seg[0]);
    if (i < 0 || m_playlists[static_cast<size_t>(i)].user != user) {
      return nullptr;
    }
    return &m_playlists[static_cast<size_t>(i)];
  };

  if (n == 0 && get) {
    const std::string* type = req.param("playlistType");
    const std::string* smart = req.param("smart");
    std::shared_lock lock(m_mutex);
    std::vector<const Playlist*> list;
    for (const Playlist& p : m_playlists) {
      if (p.user != user || (type != nullptr && *type != (p.audio ? "audio" : "video")) ||
          (smart != nullptr && !smart->empty() && (*smart == "1") != p.smart)) {
        continue;
      }
      list.push_back(&p);
    }
    const auto total = static_cast<int64_t>(list.size());
    const Page pg = page(total);
    PlexOut o(json);
    o.open("MediaContainer", "");
    o.num("size", pg.end - pg.begin);
    if (pg.paged) {
      o.num("totalSize", total);
      o.num("offset", pg.start);
    }
    for (int64_t i = pg.begin; i < pg.end; ++i) {
      render_playlist(o, *list[static_cast<size_t>(i)]);
    }
    return paged_doc(o, pg, total);
  }
  if (n == 0 && m == "POST") {
    const std::string* title = req.param("title");
    const std::string* type = req.param("type");
    const std::string* smart = req.param("smart");
    if (title == nullptr || title->empty() ||
        (type != nullptr && *type != "video" && *type != "audio") ||
        (smart != nullptr && *smart != "0" && !smart->empty())) {
      return bad();
    }
    std::vector<uint32_t> items;
    if (!uri_items(items)) {
      return bad();
    }
    std::unique_lock lock(m_mutex);
    Playlist p;
    p.id = new_playlist_id();
    p.user = user;
    p.title = *title;
    if (const std::string* summary = req.param("summary")) {
      p.summary = *summary;
    }
    p.audio = type != nullptr && *type == "audio";
    p.added_at = now_s();
    p.updated_at = p.added_at;
    append_entries(p, items);
    m_playlists.push_back(std::move(p));
    return playlist_doc(m_playlists.back(), 0, -1);
  }
  if (n == 0) {
    return not_allowed();
  }
  if (n == 1) {
    if (get) {
      std::shared_lock lock(m_mutex);
      const Playlist* p = find();
      return p == nullptr ? not_found() : playlist_doc(*p, 0, -1);
    }
    if (m == "PUT") {
      const std::string* title =
          req.param("title") != nullptr ? req.param("title") : req.param("title.value");
      const std::string* summary =
          req.param("summary") != nullptr ? req.param("summary") : req.param("summary.value");
      if ((title == nullptr && summary == nullptr) || (title != nullptr && title->empty())) {
        return bad();
      }
      std::unique_lock lock(m_mutex);
      Playlist* p = find();
      if (p == nullptr) {
        return not_found();
      }
      if (title != nullptr) {
        p->title = *title;
      }
      if (summary != nullptr) {
        p->summary = *summary;
      }
      p->updated_at = now_s();
      return plex_response(200, "");
    }
    if (m == "DELETE") {
      std::unique_lock lock(m_mutex);
      const Playlist* p = find();
      if (p == nullptr) {
        return not_found();
      }
      m_playlists.erase(m_playlists.begin() + (p - m_playlists.data()));
      return plex_response(200, "");
    }
    return not_allowed();
  }
  if (seg[1] != "items" || n > 4 || (n == 4 && seg[3] != "move")) {
    return not_found();
  }
  if (n == 2 && get) {
    std::shared_lock lock(m_mutex);
    const Playlist* p = find();
    return p == nullptr ? not_found() : items_doc(*p);
  }
  const bool add = n == 2 && m == "PUT";
  const bool clear = n == 2 && m == "DELETE";
  const bool remove = n == 3 && m == "DELETE";
  const bool move = n == 4 && m == "PUT";
  if (!add && !clear && !remove && !move) {
    return not_allowed();
  }
  std::vector<uint32_t> items;
  const bool uri_ok = add && uri_items(items);
  std::unique_lock lock(m_mutex);
  Playlist* p = find();
  if (p == nullptr) {
    return not_found();
  }
  if (p->smart) {
    return bad();
  }
  if (add) {
    if (!uri_ok) {
      return bad();
    }
    append_entries(*p, items);
    p->updated_at = now_s();
    return playlist_doc(*p, static_cast<int64_t>(items.size()), static_cast<int64_t>(items.size()));
  }
  if (clear) {
    p->entries.clear();
    p->updated_at = now_s();
    return playlist_doc(*p, 0, -1);
  }
  const int64_t at = entry_of_id(*p, seg[2]);
  if (at < 0) {
    return not_found();
  }
  if (remove) {
    p->entries.erase(p->entries.begin() + at);
    p->updated_at = now_s();
    return playlist_doc(*p, 0, -1);
  }
  // Move the entry right after the entry `after`; without `after` to the top.
  const std::string* after = req.param("after");
  if (after != nullptr && !after->empty() && entry_of_id(*p, *after) < 0) {
    return bad();
  }
  if (after == nullptr || after->empty() || entry_of_id(*p, *after) != at) {
    const PlaylistEntry moved = p->entries[static_cast<size_t>(at)];
    std::vector<PlaylistEntry> before = p->entries;
    p->entries.erase(p->entries.begin() + at);
    const int64_t to = after == nullptr || after->empty() ? 0 : entry_of_id(*p, *after) + 1;
    p->entries.insert(p->entries.begin() + to, moved);
    const bool changed =
        !std::equal(before.begin(), before.end(), p->entries.begin(),
                    [](const PlaylistEntry& a, const PlaylistEntry& b) { return a.id == b.id; });
    if (changed) {
      p->updated_at = now_s();
    }
  }
  return items_doc(*p);
}

} // namespace ws::sim
