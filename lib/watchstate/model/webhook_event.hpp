// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>

namespace ws::model {

enum class WebhookSource { plex, tautulli, jellyfin, emby };

std::string_view source_name(WebhookSource source);

// One event, reduced to what identifies the item: the item itself is re-read from its server,
// so the server's current state (not the payload's) decides.
struct WebhookEvent {
  WebhookSource source = WebhookSource::plex;
  std::string event;          // as the server names it: "media.scrobble", "UserDataSaved", ...
  std::string server_id;      // Plex machineIdentifier, Jellyfin/Emby server Id
  std::string user_id;        // Plex account id, Jellyfin/Emby user id; empty for library events
  std::string item_id;        // the server's item id (ratingKey / Id)
  std::string item_type;      // "movie" or "episode"
  std::string title;          // for log lines
  bool library_event = false; // a new item, not one person's play state: every identity's
};

} // namespace ws::model
