// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ws::backend {

// External id providers used for matching, in alphabetical order (so a vector sorted by key is
// sorted by name too).
enum class GuidKey : std::uint8_t { anidb, cmdb, imdb, tmdb, tvdb, tvmaze, tvrage, youtube };
inline constexpr std::size_t k_guid_key_count = 8;

struct Guid {
  GuidKey key;
  std::string value;
  friend bool operator==(const Guid&, const Guid&) = default;
};

// Validated external ids of one item: sorted by key, at most one value per key.
using Guids = std::vector<Guid>;

// matching.guids: ids of agents the suite does not know, mapped to a provider it does (as
// WatchState's guid.yaml links do). Exactly one of the two sources is set.
struct CustomGuidRule {
  // A Plex GUID prefix, e.g. "com.plexapp.agents.mydb://": the text after it, up to '?', is an
  // id of `provider`. Compared case-insensitively.
  std::string plex_prefix;
  // A Jellyfin/Emby ProviderIds key, any case, e.g. "MyDb".
  std::string provider_id;
  GuidKey provider = GuidKey::tmdb;
};
using CustomGuidRules = std::vector<CustomGuidRule>;

// "imdb", "tvdb", ...
std::string_view guid_key_name(GuidKey key);
std::optional<GuidKey> guid_key_from_name(std::string_view name);

// Validation rules: imdb "tt" + digits; tmdb/tvdb/tvmaze/tvrage/anidb
// digits; youtube/cmdb any non-empty string.
bool is_valid_guid_value(GuidKey key, std::string_view value);

// Parse a Plex item's `Guid[].id` values plus its own `guid` attribute (legacy
// agents, hama, NFO agents, plex:// and local:// ignored, relative agent ids ignored, lowest
// numeric id wins on conflict). Invalid values are dropped.
// `custom` rules are tried before the built-in ones, in order; the first whose prefix matches
// decides (its value validated, ids holding '/' dropped as relative ones).
Guids parse_plex_guids(const std::vector<std::string_view>& ids,
                       const CustomGuidRules& custom = {});

// Parse Jellyfin/Emby ProviderIds: keys in any case, Emby's "tv maze".
// `custom` rules map further keys, and take precedence over the built-in names.
Guids parse_provider_ids(const std::vector<std::pair<std::string_view, std::string_view>>& ids,
                         const CustomGuidRules& custom = {});

// A multi-episode file name ("S01E01-E02", "1x01-02", ...).
struct EpisodeRange {
  int season = 0;
  int first = 0;
  int last = 0;
};
// Parse the episode range in `file_name` (a base name or a full path; only the base name is
// read). nullopt when the name carries no episode number.
std::optional<EpisodeRange> parse_episode_range(std::string_view file_name);

} // namespace ws::backend
