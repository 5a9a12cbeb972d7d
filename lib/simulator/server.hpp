// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <rapidjson/fwd.h>

#include "simulator/world.hpp"

namespace ws::sim {

using Pairs = std::vector<std::pair<std::string, std::string>>;

// One HTTP request, independent of the socket library.
struct Request {
  std::string method; // upper case; HEAD is answered like GET without a body
  std::string path;   // decoded path, without query
  std::string query;  // raw query string (without '?')
  Pairs params;       // decoded query parameters in order
  Pairs headers;
  std::string body;

  // Return the first header with that name (case-insensitive) or nullptr.
  const std::string* header(std::string_view name) const;
  // Return the first query parameter with exactly that name or nullptr.
  const std::string* param(std::string_view name) const;
  // Return the first query parameter with that name ignoring case or nullptr.
  const std::string* iparam(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type;
  std::string body;
  Pairs headers;
};

// Build a Request from a target such as "/a/b?x=1&y=2" (the query is URL-decoded).
Request make_request(std::string method, std::string_view target, Pairs headers = {},
                     std::string body = {});

enum class ItemType : uint8_t { movie, series, season, episode };

// One item as a given server presents it.
struct Item {
  ItemType type = ItemType::movie;
  uint8_t library = 0; // index into Server::libraries()
  int32_t season_no = 0;
  uint32_t entry = 0;  // world entry (seasons: the show entry)
  int32_t parent = -1; // episode: season item; season: series item
  int32_t series = -1; // episode/season: series item
  std::string id;
  std::vector<uint32_t> children;
  int64_t added_at = 0; // unix s: the world entry's, or this server's scan (Server's `rescanned`)
  bool is_folder() const { return type == ItemType::series || type == ItemType::season; }
};

// Library content (Library::content).
inline constexpr uint8_t k_movies = 0;
inline constexpr uint8_t k_shows = 1;
inline constexpr uint8_t k_music = 2;

struct Library {
  std::string id;
  std::string name;
  std::string collection_type; // movies | tvshows | music
  std::string plex_type;       // movie | show | artist
  std::string path;
  uint8_t content = k_movies; // k_movies | k_shows | k_music
  uint8_t slot = k_main_library;
  int number = 1; // 1 Movies, 2 TV Shows, 3 Music, 4 Movies 4K, 5 TV Shows 4K (Plex section key)
};

struct Session {
  size_t user = 0;
  uint32_t item = 0;
  int64_t position_ms = 0;
  bool paused = false;
};

struct FaultRule {
  std::string path;
  std::regex re;
  std::string method;
  int status = 0; // 0 = none
  int64_t times = 1;
  int64_t delay_ms = 0;
  std::string body;
  bool has_body = false;
  std::string retry_after;
  int64_t skip = 0;
  std::vector<uint32_t> hide;   // items hidden when the rule fires (before the request is answered)
  std::vector<uint32_t> unhide; // items shown again when the rule fires
};

// One entry of a playlist: its server-wide id (Plex playlistItemID, Jellyfin/Emby PlaylistItemId;
// never reused) and the movie/episode it plays.
struct PlaylistEntry {
  std::string id;
  uint32_t item = 0;
};

// A user playlist on one server (README §5.5).
struct Playlist {
  std::string id;
  size_t user = 0; // owner (user slot)
  std::string title;
  std::string summary;
  bool smart = false;
  bool audio = false;
  int64_t added_at = 0;   // unix s
  int64_t updated_at = 0; // unix s: every change of title, items or order
  std::vector<PlaylistEntry> entries;
};

struct LogEntry {
  uint64_t seq = 0;
  std::string method;
  std::string path;
  std::string query;
  int status = 0;
  double ms = 0;
};

// One simulated media server: answers requests from its view of the shared world.
class Server {
public:
  // `rescanned`: this server's library was scanned in one go (a server set up after the others):
  // its items are dated by that scan, in the order of their files, not by the world's dates,
  // so it lists them (by date added) in another order than a server that grew with the world.
  Server(std::shared_ptr<const World> world, Kind kind, bool rescanned = false);

  // Answer one request (control API, faults, logging and the media-server API).
  Response handle(const Request& request);

  Kind kind() const { return m_kind; }
  const ServerDef& def() const { return m_world->servers[idx(m_kind)]; }
  const std::vector<Item>& items() const { return m_items; }
  const std::vector<Library>& libraries() const { return m_libraries; }
  // Return the item index of a world key (movies/episodes/shows) or -1.
  int64_t item_of_key(std::string_view key) const;
  // Return the item index of a server id or -1 (also -1 for a hidden item).
  int64_t item_of_id(std::string_view id) const;
  // Return the item index of a server id or -1, hidden items included.
  int64_t item_of_id_any(std::string_view id) const;
  // Whether a movie/episode is hidden: left out of listings, 404 for lookups and writes.
  bool hidden(uint32_t item) const { return m_hidden[item].load(std::memory_order_relaxed); }
  // Hide or show items again (the listings change at once: pages shift).
  void set_hidden(const std::vector<uint32_t>& items, bool hidden);
  // Return a copy of the current state of (user, item).
  PlayState state(size_t user, uint32_t item) const;
  // The ids this server presents for an item now (lower-case providers, e.g. imdb, tvdb).
  IdList presented_ids(uint32_t item) const;
  // Set the address reported as LocalAddress (e.g. http://127.0.0.1:8096).
  void set_base_url(std::string url) { m_base_url = std::move(url); }
  const std::string& base_url() const { return m_base_url; }

  // Redact token values in a raw query string.
  static std::string redact_query(std::string_view query);

  // The playlists of a user (slot) as GET /__sim/playlists answers them (README §6).
  std::string playlists_json(size_t user) const;
  // A user slot from a world user id, else a user name, else a slot number; -1 if none.
  int64_t user_ref(std::string_view ref) const;
  // Let GET /__sim/playlists?server=<kind> on this listener answer for another served server.
  void set_peer(Kind kind, Server* peer) { m_peers[idx(kind)] = peer; }

private:
  struct Caller {
    bool ok = false;
    bool admin = false;
    int64_t user = -1;
  };

  Response dispatch(const Request& request, bool& is_write);
  Response control(const Request& request);
  Response plex(const Request& request, bool& is_write);
  Response mediabrowser(const Request& request, bool& is_write);

  // Plex pieces (plex.cpp)
  Response plex_listing(const Request& req, size_t user, size_t section, bool json);
  Response plex_metadata(const Request& req, size_t user, std::string_view keys, bool children,
                         bool json);
  Response plex_write(const Request& req, size_t user, std::string_view what, bool json);
  Response plex_sessions(bool json);
  Response plex_search(const Request& req, size_t user, bool json);
  // /playlists… of the token's user (README §5.5).
  Response plex_playlists(const Request& req, size_t user, const std::string& path, bool json,
                          bool& is_write);

  // Jellyfin/Emby pieces (mediabrowser.cpp)
  Caller mb_caller(const Request& req) const;
  Response mb_listing(const Request& req, int64_t user);
  Response mb_single(const Request& req, int64_t user, uint32_t item);
  Response mb_views(int64_t user);
  Response mb_users(const Request& req, bool query_form);
  Response mb_write(const Request& req, size_t user, uint32_t item, std::string_view action);
  Response mb_sessions();
  Response mb_login(const Request& req);
  // GET /Plugins and /Plugins/{id}/Configuration (Jellyfin), /Notifications/Services/Configured
  // (Emby).
  Response mb_setup(const Request& req, const std::vector<std::string>& seg, const Caller& caller);
  // Playlists (README §5.5): /Playlists…, and the playlist forms of /Items.
  Response mb_playlists(const Request& req, const std::vector<std::string>& seg,
                        const Caller& caller, bool& is_write);
  Response mb_playlist_listing(const Request& req, int64_t user);
  // GET /Users/{uid}/Items/{id} of a playlist the user may see: true and `out` set.
  bool mb_playlist_single(int64_t user, std::string_view id, Response& out);
  // The user a playlist request acts for: userId/UserId if given (checked as other routes check
  // it: `status` becomes 403/404), else the token's user (-1 = the API key: every user).
  int64_t mb_acting_user(const Request& req, const Caller& caller, int& status) const;

  // Control pieces (control.cpp)
  Response control_items(const Request& req);
  Response control_state(const Request& req);
  Response control_sessions(const Request& req);
  Response control_faults(const Request& req);
  Response control_visibility(const Request& req);
  Response control_ids(const Request& req);
  Response control_rematch();
  Response control_truth();
  Response control_playlists(const Request& req);
  // The /__sim/items form of a movie/episode (a show: without play state); holds m_mutex.
  std::string item_json(size_t user, uint32_t item) const;
  // presented_ids() for a caller that holds m_mutex.
  IdList presented_ids_locked(uint32_t item) const;
  // Present an entry with these ids from now on (caller holds m_mutex exclusively).
  void set_ids(uint32_t entry, IdList ids);
  // The movie/episode items of an array of world keys; sets `problem` on a bad entry.
  std::vector<uint32_t> items_of_keys(const rapidjson::Value& keys, std::string& problem) const;

  void build();
  void date_items(bool rescanned);
  // Playlist pieces (playlists.cpp); the callers hold m_mutex (exclusively for changes).
  void build_playlists();
  std::string new_playlist_id();
  std::string new_entry_id();
  // The index into m_playlists of a playlist id (any case/dashes on Jellyfin), or -1.
  int64_t playlist_of_id(std::string_view id) const;
  // Whether `user` (-1 = the API key) may see and change a playlist.
  static bool playlist_visible(const Playlist& p, int64_t user) {
    return user < 0 || p.user == static_cast<size_t>(user);
  }
  // The entry index of an entry id in a playlist, or -1.
  int64_t entry_of_id(const Playlist& p, std::string_view id) const;
  void append_entries(Playlist& p, const std::vector<uint32_t>& items);
  // The visible (not hidden) entries' count and total runtime.
  size_t playlist_leaves(const Playlist& p) const;
  int64_t playlist_duration_ms(const Playlist& p) const;
  // Movie/episode items of server ids (visible ones only); false on an unknown id or a folder.
  bool playable_items(const std::vector<std::string>& ids, std::vector<uint32_t>& out) const;
  int64_t user_of_id(std::string_view id) const;
  std::shared_ptr<const std::vector<uint32_t>>
  sorted(const std::string& cache_key, const std::function<std::vector<uint32_t>()>& make);
  void log_request(const Request& req, int status, double ms);

  std::shared_ptr<const World> m_world;
  Kind m_kind;
  std::string m_base_url;
  std::vector<Item> m_items;
  std::vector<Library> m_libraries;
  std::vector<int32_t> m_item_of_entry;
  // World key -> entry (views into the world's keys), built on first use to keep start-up fast.
  mutable std::once_flag m_keys_once;
  mutable std::unordered_map<std::string_view, uint32_t> m_entry_of_key;
  std::unordered_map<std::string, uint32_t> m_by_id;
  std::unordered_map<std::string, int64_t> m_token_user; // -1 = API key

  // Jellyfin/Emby: access tokens of POST /Users/AuthenticateByName (looked up after
  // m_token_user, which never changes), the webhook plugin configuration (Jellyfin) and the
  // configured notifiers (Emby).
  mutable std::shared_mutex m_login_mutex;
  std::unordered_map<std::string, int64_t> m_login_tokens;
  uint64_t m_logins = 0;
  std::mutex m_setup_mutex;
  std::string m_plugin_config; // "" = the plugin's default configuration
  std::vector<std::pair<std::string, std::string>> m_notifiers; // (Id, JSON object)

  mutable std::shared_mutex m_mutex;
  std::vector<std::vector<PlayState>> m_state; // [user][item]
  std::vector<Session> m_sessions;
  // Entries this server presents with other ids than the world's (POST /__sim/ids, re-match
  // candidates): the modern Plex agent / default ProviderIds of these ids.
  std::unordered_map<uint32_t, IdList> m_ids;
  std::vector<uint32_t> m_rematch; // re-match candidates (entries) not switched yet
  // Playlists (creation order) and the counters of their ids and entry ids (never reused).
  std::vector<Playlist> m_playlists;
  uint64_t m_playlists_made = 0;
  uint64_t m_entries_made = 0;
  std::array<Server*, k_kinds> m_peers{};
  // Per item; written under m_cache_mutex so that a cached listing never mixes two states.
  std::unique_ptr<std::atomic<bool>[]> m_hidden;

  std::once_flag m_truth_once;
  std::string m_truth; // GET /__sim/truth (the world does not change)

  std::mutex m_cache_mutex;
  std::map<std::string, std::shared_ptr<const std::vector<uint32_t>>> m_cache;

  std::mutex m_log_mutex;
  std::deque<LogEntry> m_log;
  uint64_t m_seq = 0;
  uint64_t m_requests = 0;
  uint64_t m_writes = 0;

  // Taken before m_cache_mutex where both are held (a rule that hides items: see handle()).
  std::mutex m_fault_mutex;
  std::vector<FaultRule> m_faults;
};

} // namespace ws::sim
