// SPDX-License-Identifier: MIT
#include <watchstate/backend/webhook_payload.hpp>

#include <watchstate/backend/json_fields.hpp>
#include <watchstate/core/text.hpp>

#include <rapidjson/document.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace ws::backend {

using detail::id_member;
using detail::object_member;
using detail::string_member;

namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool one_of(std::string_view value, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

ParseResult invalid(std::string reason) {
  ParseResult r;
  r.status = ParseStatus::invalid;
  r.reason = std::move(reason);
  return r;
}

ParseResult ignored(WebhookEvent event, std::string reason) {
  ParseResult r;
  r.status = ParseStatus::ignored;
  r.event = std::move(event);
  r.reason = std::move(reason);
  return r;
}

ParseResult accepted(WebhookEvent event) {
  ParseResult r;
  r.status = ParseStatus::accepted;
  r.event = std::move(event);
  return r;
}

// "Movie"/"movie" -> "movie", "Episode"/"episode" -> "episode", else empty.
std::string media_type(std::string_view type) {
  std::string lower = lowercase_ascii(type);
  return lower == "movie" || lower == "episode" ? lower : std::string();
}

// Common end of every source: an item we sync, with the ids we need.
ParseResult finish(WebhookEvent event, bool wanted_event) {
  if (event.server_id.empty()) {
    return invalid(fmt::format("{} webhook without a server id", source_name(event.source)));
  }
  if (!wanted_event) {
    std::string reason = fmt::format("event '{}' changes no play state", event.event);
    return ignored(std::move(event), std::move(reason));
  }
  if (event.item_type.empty()) {
    return ignored(std::move(event), "not a movie or an episode");
  }
  if (event.item_id.empty()) {
    return invalid(
        fmt::format("{} event '{}' without an item id", source_name(event.source), event.event));
  }
  if (!event.library_event && event.user_id.empty()) {
    return invalid(
        fmt::format("{} event '{}' without a user id", source_name(event.source), event.event));
  }
  return accepted(std::move(event));
}

// Plex and Tautulli (whose template gives the same shape).
ParseResult parse_plex_shape(const rapidjson::Value& doc, WebhookSource source) {
  WebhookEvent event;
  event.source = source;
  event.event = std::string(string_member(doc, "event").value_or(""));
  if (const auto* server = object_member(doc, "Server")) {
    event.server_id = id_member(*server, "uuid").value_or("");
  }
  if (const auto* account = object_member(doc, "Account")) {
    event.user_id = id_member(*account, "id").value_or("");
  }
  const auto* metadata = object_member(doc, "Metadata");
  if (metadata != nullptr) {
    event.item_id = id_member(*metadata, "ratingKey").value_or("");
    event.item_type = media_type(string_member(*metadata, "type").value_or(""));
    event.title = std::string(string_member(*metadata, "grandparentTitle")
                                  .value_or(string_member(*metadata, "title").value_or("")));
  }
  // media.stop/pause carry a position; media.scrobble a play; library.new a new item.
  const bool library = one_of(event.event, {"library.new", "tautulli.created"});
  event.library_event = library;
  const bool wanted =
      library || one_of(event.event, {"media.scrobble", "media.stop", "media.pause",
                                      "tautulli.watched", "tautulli.stop", "tautulli.pause"});
  return finish(std::move(event), wanted);
}

ParseResult parse_jellyfin(const rapidjson::Value& doc) {
  WebhookEvent event;
  event.source = WebhookSource::jellyfin;
  event.event = std::string(string_member(doc, "NotificationType").value_or(""));
  event.server_id = id_member(doc, "ServerId").value_or("");
  event.user_id = id_member(doc, "UserId").value_or("");
  event.item_id = id_member(doc, "ItemId").value_or("");
  event.item_type = media_type(string_member(doc, "ItemType").value_or(""));
  event.title = std::string(
      string_member(doc, "SeriesName").value_or(string_member(doc, "Name").value_or("")));
  event.library_event = event.event == "ItemAdded";
  const bool wanted = one_of(event.event, {"ItemAdded", "UserDataSaved", "PlaybackStop"});
  return finish(std::move(event), wanted);
}

ParseResult parse_emby(const rapidjson::Value& doc) {
  WebhookEvent event;
  event.source = WebhookSource::emby;
  event.event = std::string(string_member(doc, "Event").value_or(""));
  if (const auto* server = object_member(doc, "Server")) {
    event.server_id = id_member(*server, "Id").value_or("");
  }
  if (const auto* user = object_member(doc, "User")) {
    event.user_id = id_member(*user, "Id").value_or("");
  }
  if (const auto* item = object_member(doc, "Item")) {
    event.item_id = id_member(*item, "Id").value_or("");
    event.item_type = media_type(string_member(*item, "Type").value_or(""));
    event.title = std::string(
        string_member(*item, "SeriesName").value_or(string_member(*item, "Name").value_or("")));
  }
  event.library_event = event.event == "library.new";
  const bool wanted = one_of(event.event, {"library.new", "item.markplayed", "item.markunplayed",
                                           "playback.stop", "playback.pause", "playback.scrobble"});
  return finish(std::move(event), wanted);
}

} // namespace

ParseResult parse_webhook(const WebhookRequest& request) {
  // Where the JSON is: Plex's multipart part `payload`, Emby's multipart part `data`, else the
  // body (Jellyfin posts it as text/plain unless told otherwise).
  std::string_view json = request.body;
  bool plex_form = false;
  if (const auto it = request.form.find("payload"); it != request.form.end()) {
    json = it->second;
    plex_form = true;
  } else if (const auto data = request.form.find("data"); data != request.form.end()) {
    json = data->second;
  }
  if (json.empty()) {
    return invalid("empty body: no JSON payload");
  }
  rapidjson::Document doc;
  try {
    doc.Parse(json.data(), json.size());
  } catch (const std::exception&) {
    return invalid("payload is not valid JSON");
  }
  if (doc.HasParseError() || !doc.IsObject()) {
    return invalid("payload is not a JSON object");
  }
  try {
    if (starts_with(request.user_agent, "Tautulli/")) {
      return parse_plex_shape(doc, WebhookSource::tautulli);
    }
    if (plex_form || starts_with(request.user_agent, "PlexMediaServer/")) {
      return parse_plex_shape(doc, WebhookSource::plex);
    }
    if (starts_with(request.user_agent, "Jellyfin-Server/") || doc.HasMember("NotificationType")) {
      return parse_jellyfin(doc);
    }
    if (doc.HasMember("Event") && object_member(doc, "Server") != nullptr) {
      return parse_emby(doc);
    }
  } catch (const std::exception&) {
    return invalid("payload has members of the wrong type");
  }
  return invalid("not a Plex, Tautulli, Jellyfin or Emby webhook");
}

} // namespace ws::backend
