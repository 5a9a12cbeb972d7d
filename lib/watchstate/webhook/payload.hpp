// SPDX-License-Identifier: MIT
#pragma once

#include <map>
#include <string>

namespace ws::webhook {

// What a webhook request carried, already taken apart by the HTTP layer.
struct WebhookRequest {
  std::string user_agent;
  std::string content_type;
  std::string body;                        // raw body (empty for multipart forms)
  std::map<std::string, std::string> form; // multipart / urlencoded fields ("payload", "data")
};

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

enum class ParseStatus {
  accepted, // an event to apply
  ignored,  // a well-formed event that changes no play state (media.play, a test ping, music)
  invalid,  // not a webhook we understand
};

struct ParseResult {
  ParseStatus status = ParseStatus::invalid;
  WebhookEvent event;
  std::string reason; // why ignored / invalid, one line for the HTTP answer and the log
};

// Recognise a Plex (multipart, JSON in `payload`), Tautulli (JSON, User-Agent Tautulli/...,
// Plex-shaped), Jellyfin (webhook plugin JSON, also sent as text/plain) or Emby (JSON, or
// multipart with JSON in `data`) webhook and extract its event. Never throws.
ParseResult parse_webhook(const WebhookRequest& request);

} // namespace ws::webhook
