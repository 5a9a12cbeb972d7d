// SPDX-License-Identifier: MIT
#include <watchstate/model/media.hpp>

namespace ws::model {

std::string_view backend_type_name(BackendType type) {
  switch (type) {
  case BackendType::plex: return "plex";
  case BackendType::jellyfin: return "jellyfin";
  case BackendType::emby: return "emby";
  }
  return "unknown";
}

} // namespace ws::model
