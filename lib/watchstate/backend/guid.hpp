// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/model/guids.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ws::backend {

// The id types live in model/guids.hpp; the adapters name them unqualified.
using model::CustomGuidRule;
using model::CustomGuidRules;
using model::Guid;
using model::guid_key_from_name;
using model::guid_key_name;
using model::GuidKey;
using model::Guids;
using model::is_valid_guid_value;
using model::k_guid_key_count;

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
