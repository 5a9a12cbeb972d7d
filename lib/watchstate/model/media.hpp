// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/model/guids.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ws::model {

// The three kinds of media server the suite speaks to.
enum class BackendType { plex, jellyfin, emby };

// "plex", "jellyfin", "emby": the config's `type` and every document's name for it.
std::string_view backend_type_name(BackendType type);

// What a server says of itself.
struct ServerInfo {
  std::string id; // Plex machineIdentifier, Jellyfin/Emby Id
  std::string name;
  std::string version;
};

enum class MediaType : std::uint8_t { movie, episode };

// A series as a backend reports it; only its external ids matter (episodes match through them).
struct RemoteShow {
  std::string id;
  std::string title;
  int year = 0;
  Guids guids;
  std::string path; // the series folder; only set when listed or fetched, not from the cache
};

// Series ids already known (from earlier runs), by the backend's series id.
using ShowCache = std::unordered_map<std::string, RemoteShow>;

} // namespace ws::model
