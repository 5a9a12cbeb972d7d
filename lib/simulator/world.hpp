// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "simulator/util.hpp"

namespace ws::sim {

// A bad world file or bad generation options; the message names the place at fault.
class WorldError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

enum class Kind : uint8_t { plex = 0, jellyfin = 1, emby = 2 };
inline constexpr size_t k_kinds = 3;
inline constexpr std::array<Kind, k_kinds> k_all_kinds{Kind::plex, Kind::jellyfin, Kind::emby};

std::string_view kind_name(Kind kind);
std::optional<Kind> kind_from_name(std::string_view name);
inline size_t idx(Kind kind) { return static_cast<size_t>(kind); }

struct UserDef {
  std::string id;
  std::string name;
  std::string token;
  std::string password;
  bool admin = false;
  // Plex only, served by the plex.tv stand-in (plextv.cpp): a Plex Home member (the owner
  // always is), a managed home user (implies home), a friend the server is shared with.
  bool home = false;
  bool managed = false;
  bool friend_user = false;
  std::string uuid{}; // plex.tv uuid (home users switch by it); default derived
  std::string pin{};  // Plex only: a PIN-protected home user's 4-digit PIN ("" = none)
};

struct ServerDef {
  Kind kind = Kind::plex;
  bool present = false;
  std::string server_id;
  std::string name;
  std::string version;
  std::string token; // Jellyfin/Emby API key; Plex: the first user's token
  std::vector<UserDef> users;
  bool plex_pass = true;      // Plex only: the owner's plex.tv account has Plex Pass (webhooks)
  bool webhook_plugin = true; // Jellyfin only: the Webhook plugin is installed (GET /Plugins)
  bool premiere = true;       // Emby only: Emby Premiere is active (webhook notifiers)
};

// Per (user, item) play state.
struct PlayState {
  bool played = false;
  bool favorite = false;
  uint32_t play_count = 0;
  int64_t last_played_ms = k_no_time;
  int64_t position_ms = 0;
  bool operator==(const PlayState&) const = default;
};

using IdList = std::vector<std::pair<std::string, std::string>>;

enum class EntryKind : uint8_t { movie, show, episode };

// Library slot of a movie or show (episodes follow their show).
inline constexpr uint8_t k_main_library = 0;
inline constexpr uint8_t k_4k_library = 1;

// Hard cases the generator put into an entry (bits of Entry::cases). Reported by /__sim/truth,
// never used for serving.
enum MessyCase : uint8_t {
  mc_shared_episode_id = 1U << 0,     // shares its episode id with the next/previous episode
  mc_cross_show_episode_id = 1U << 1, // carries the episode id of an episode of another show
  mc_conflicting_ids = 1U << 2,       // one server presents the tmdb id of another movie
  mc_rematch = 1U << 3,               // one server presents wrong ids until /__sim/rematch
};

// One catalogue entry of the world (shared by all servers that hold it).
struct Entry {
  EntryKind kind = EntryKind::movie;
  uint8_t servers = 0; // bit per Kind
  int year = 0;        // 0 = unknown
  int season = 0;
  int episode = 0;
  int episode_end = -1; // -1 = single episode
  uint32_t show = 0;    // episodes: index of the show entry
  int64_t added_at = 0; // unix s
  int64_t duration_ms = 0;
  std::string key;
  std::string title;
  std::string file; // absolute path (shows: directory)
  IdList ids;
  std::vector<std::string> genres;
  std::vector<std::string> plex_guids;         // empty = modern agent presentation
  std::optional<IdList> provider_ids[k_kinds]; // Jellyfin/Emby override
  std::vector<uint32_t> episodes;              // shows: episode entry indices
  uint8_t library = k_main_library;            // movies/shows (episodes: their show's)
  int32_t copy_of = -1;    // the entry this one copies (reported by /__sim/truth only)
  uint8_t cases = 0;       // MessyCase bits (reported by /__sim/truth only)
  int8_t case_server = -1; // Kind of the server a per-server case applies to
  bool on(Kind k) const { return (servers >> idx(k)) & 1U; }
};

// A generated re-match candidate: `kind` presents the entry (movie or show) with `wrong` ids
// until POST /__sim/rematch switches it to the entry's own ids.
struct Rematch {
  uint32_t entry = 0;
  Kind kind = Kind::plex;
  IdList wrong;
};

// A user playlist a server starts with (world file "playlists", generated with --playlists N).
struct PlaylistDef {
  Kind kind = Kind::plex;
  size_t user = 0; // user slot on that server
  std::string title;
  std::string summary;           // Plex shows it; Jellyfin/Emby ignore it
  bool smart = false;            // Plex only: listed, its items cannot be changed
  bool audio = false;            // media type audio (default video)
  int64_t updated_at = 0;        // unix s (also its creation time)
  std::vector<uint32_t> entries; // movie/episode entries on that server, in order (repeats allowed)
};

struct World {
  uint64_t seed = 1;
  std::array<ServerDef, k_kinds> servers;
  std::vector<Entry> entries;
  // Initial play state: [kind][user][entry]; missing vectors mean "unplayed".
  std::array<std::vector<std::vector<PlayState>>, k_kinds> state;
  std::vector<Rematch> rematches;
  std::vector<PlaylistDef> playlists; // per server and user, in the order the servers create them
  // Return the initial state of (kind, user, entry).
  PlayState initial_state(Kind kind, size_t user, size_t entry) const;
};

struct GenerateOptions {
  uint64_t seed = 1;
  size_t items = 1000;
  double overlap = 0.8;
  double played = 0.3;
  double in_progress = 0.1;
  double diverge = 0.3;
  double messy = 1.0;   // multiplies the rates of the messy-metadata cases (0 = none; at most 20)
  size_t playlists = 0; // playlists of the first user of every server (README §4)
  uint8_t servers = 0b111;
};

// Anchor of all generated dates: 2026-01-01T00:00:00Z.
inline constexpr int64_t k_anchor = 1767225600;

// Build a world from generator options; throw WorldError on invalid options.
World generate_world(const GenerateOptions& options);
// Parse a world from JSON text; `source` names the file in messages; `servers` restricts serving.
World parse_world(std::string_view json, std::string_view source, uint8_t servers = 0b111);
// Read and parse a world file; throw WorldError naming the file on any problem.
World load_world_file(const std::string& path, uint8_t servers = 0b111);

// Default added_at of a key: 1600000000 + fnv1a32(key) % 94608000.
int64_t default_added_at(std::string_view key);

} // namespace ws::sim
