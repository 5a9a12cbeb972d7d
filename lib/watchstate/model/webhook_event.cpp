// SPDX-License-Identifier: MIT
#include <watchstate/model/webhook_event.hpp>

namespace ws::model {

std::string_view source_name(WebhookSource source) {
  switch (source) {
  case WebhookSource::plex: return "plex";
  case WebhookSource::tautulli: return "tautulli";
  case WebhookSource::jellyfin: return "jellyfin";
  case WebhookSource::emby: return "emby";
  }
  return "unknown";
}

} // namespace ws::model
