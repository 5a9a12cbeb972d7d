// SPDX-License-Identifier: MIT
// User playlists (README §5.5): the state shared by the Plex (plex.cpp) and Jellyfin/Emby
// (mediabrowser.cpp) routes and GET /__sim/playlists (control.cpp).
#include "simulator/server.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

namespace ws::sim {

namespace {

// Jellyfin ids are GUIDs: any case, with or without dashes.
std::string normalise_id(Kind kind, std::string_view id) {
  if (kind != Kind::jellyfin) {
    return std::string(id);
  }
  std::string out;
  for (char c : id) {
    if (c != '-') {
      out.push_back(c);
    }
  }
  return to_lower(out);
}

} // namespace

void Server::build_playlists() {
  for (const PlaylistDef& d : m_world->playlists) {
    if (d.kind != m_kind) {
      continue;
    }
    Playlist p;
    p.id = new_playlist_id();
    p.user = d.user;
    p.title = d.title;
    p.summary = d.summary;
    p.smart = d.smart;
    p.audio = d.audio;
    p.added_at = d.updated_at;
    p.updated_at = d.updated_at;
    std::vector<uint32_t> items;
    items.reserve(d.entries.size());
    for (uint32_t e : d.entries) {
      items.push_back(static_cast<uint32_t>(m_item_of_entry[e])); // the world checked presence
    }
    append_entries(p, items);
    m_playlists.push_back(std::move(p));
  }
}

// Plex: ratingKeys after the items'; Emby: numbers after the items'; Jellyfin: 32 hex.
std::string Server::new_playlist_id() {
  const uint64_t n = m_playlists_made++;
  switch (m_kind) {
  case Kind::plex: return fmt::format("{}", m_items.size() + 1 + n);
  case Kind::emby: return fmt::format("{}", 1000 + m_items.size() + n);
  case Kind::jellyfin: break;
  }
  return hex_hash(def().server_id, fmt::format("playlist/{}", n), 32);
}

// Plex playlistItemID and Emby PlaylistItemId: 1, 2, …; Jellyfin: 32 hex.
std::string Server::new_entry_id() {
  const uint64_t n = ++m_entries_made;
  if (m_kind == Kind::jellyfin) {
    return hex_hash(def().server_id, fmt::format("playlist-entry/{}", n), 32);
  }
  return fmt::format("{}", n);
}

int64_t Server::playlist_of_id(std::string_view id) const {
  const std::string want = normalise_id(m_kind, id);
  for (size_t i = 0; i < m_playlists.size(); ++i) {
    if (m_playlists[i].id == want) {
      return static_cast<int64_t>(i);
    }
  }
  return -1;
}

int64_t Server::entry_of_id(const Playlist& p, std::string_view id) const {
  const std::string want = normalise_id(m_kind, id);
  for (size_t i = 0; i < p.entries.size(); ++i) {
    if (p.entries[i].id == want) {
      return static_cast<int64_t>(i);
    }
  }
  return -1;
}

void Server::append_entries(Playlist& p, const std::vector<uint32_t>& items) {
  for (uint32_t item : items) {
    p.entries.push_back(PlaylistEntry{new_entry_id(), item});
  }
}

size_t Server::playlist_leaves(const Playlist& p) const {
  return static_cast<size_t>(
      std::count_if(p.entries.begin(), p.entries.end(),
                    [this](const PlaylistEntry& e) { return !hidden(e.item); }));
}

int64_t Server::playlist_duration_ms(const Playlist& p) const {
  int64_t total = 0;
  for (const PlaylistEntry& e : p.entries) {
    if (!hidden(e.item)) {
      total += m_world->entries[m_items[e.item].entry].duration_ms;
    }
  }
  return total;
}

bool Server::playable_items(const std::vector<std::string>& ids, std::vector<uint32_t>& out) const {
  for (const std::string& id : ids) {
    const int64_t i = item_of_id(id);
    if (i < 0 || m_items[static_cast<size_t>(i)].is_folder()) {
      return false;
    }
    out.push_back(static_cast<uint32_t>(i));
  }
  return true;
}

int64_t Server::user_ref(std::string_view ref) const {
  if (const int64_t u = user_of_id(ref); u >= 0) {
    return u;
  }
  const auto& users = def().users;
  for (size_t i = 0; i < users.size(); ++i) {
    if (users[i].name == ref) {
      return static_cast<int64_t>(i);
    }
  }
  if (const auto n = parse_int(ref); n && *n >= 0 && static_cast<size_t>(*n) < users.size()) {
    return *n;
  }
  return -1;
}

std::string Server::playlists_json(size_t user) const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  std::shared_lock lock(m_mutex);
  w.StartArray();
  for (const Playlist& p : m_playlists) {
    if (p.user != user) {
      continue;
    }
    w.StartObject();
    w.Key("id");
    w.String(p.id.c_str());
    w.Key("title");
    w.String(p.title.c_str());
    w.Key("summary");
    w.String(p.summary.c_str());
    w.Key("smart");
    w.Bool(p.smart);
    w.Key("media_type");
    w.String(p.audio ? "audio" : "video");
    w.Key("user");
    w.String(def().users[p.user].id.c_str());
    w.Key("added_at");
    w.Int64(p.added_at);
    w.Key("updated_at");
    w.Int64(p.updated_at);
    w.Key("entries");
    w.StartArray();
    for (const PlaylistEntry& e : p.entries) {
      w.StartObject();
      w.Key("entry_id");
      w.String(e.id.c_str());
      w.Key("key");
      w.String(m_world->entries[m_items[e.item].entry].key.c_str());
      w.Key("item_id");
      w.String(m_items[e.item].id.c_str());
      if (hidden(e.item)) {
        w.Key("hidden");
        w.Bool(true);
      }
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  return {buf.GetString(), buf.GetSize()};
}

} // namespace ws::sim
