// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/model/webhook_event.hpp>

#include <map>
#include <string>

namespace ws::backend {

using model::source_name;
using model::WebhookEvent;
using model::WebhookSource;

// Reading the webhooks Plex, Tautulli, Jellyfin and Emby send.

// What a webhook request carried, already taken apart by the HTTP layer.
struct WebhookRequest {
  std::string user_agent;
  std::string content_type;
  std::string body;                        // raw body (empty for multipart forms)
  std::map<std::string, std::string> form; // multipart / urlencoded fields ("payload", "data")
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

} // namespace ws::backend
