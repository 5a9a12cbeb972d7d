// SPDX-License-Identifier: MIT
#include <watchstate/sync/matching.hpp>

#include <fmt/format.h>

namespace ws::sync {

std::vector<std::string> matching_keys(const backend::RemoteItem& item,
                                       const backend::Guids& show_guids) {
  std::vector<std::string> keys;
  const bool episode = item.type == backend::MediaType::episode;
  // Episodes without a usable number cannot be matched through their show (WatchState drops
  // episode numbers below 1 too); season 0 holds specials and is valid.
  if (episode && item.season >= 0 && item.episode >= 1) {
    for (const auto& g : show_guids) {
      keys.push_back(fmt::format("r{}://{}/{}/{}", backend::guid_key_name(g.key), g.value,
                                 item.season, item.episode));
    }
  }
  const char* type = episode ? "episode" : "movie";
  for (const auto& g : item.guids) {
    keys.push_back(fmt::format("{}://{}/{}", backend::guid_key_name(g.key), g.value, type));
  }
  return keys;
}

} // namespace ws::sync
