// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ws::model {

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

// Validation rules: imdb "tt" + digits; tmdb/tvdb/tvmaze/tvrage/anidb digits; youtube/cmdb any
// non-empty string.
bool is_valid_guid_value(GuidKey key, std::string_view value);

} // namespace ws::model
