// SPDX-License-Identifier: MIT
// Internal: the listing logic the Plex and Jellyfin/Emby adapters share. Episodes wait until
// their show is known, shows no listing held are fetched one by one, search hits collect the
// same way, and playlists are read page by page. What differs per server (the requests, the
// field names, how a page is parsed) comes from the adapter.
#pragma once

#include <watchstate/backend/adapter_support.hpp>
#include <watchstate/backend/backend.hpp>
#include <watchstate/http/client.hpp>

#include <rapidjson/fwd.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ws::backend::detail {

// --- Episodes and their shows ---

// Items on their way out of a listing: an episode whose show is not known yet waits, so that
// every episode goes out with its show as the server reports it now.
class EpisodeHold {
public:
  using Emit = std::function<void(RemoteItem&&)>;

  // `emit` must outlive the hold.
  EpisodeHold(ShowCache& shows, const Emit& emit) : m_shows(shows), m_emit(emit) {}

  [[nodiscard]] bool knows(const std::string& show_id) const;
  void add_show(const std::string& id, RemoteShow show);

  // Emit `item` now, unless it is an episode of a show not known yet, or `hold` says so: then
  // it waits.
  void offer(RemoteItem&& item, bool hold = false);

  // Emit the waiting episodes `ready` accepts, in the order they came; the others wait on.
  void release_if(const std::function<bool(const RemoteItem&)>& ready);

  // Emit every waiting episode, in the order they came.
  void release_all();

  // The shows that waiting episodes name and that are not known: sorted, each once.
  [[nodiscard]] std::vector<std::string> missing_shows() const;

private:
  ShowCache& m_shows;
  const Emit& m_emit;
  std::vector<RemoteItem> m_waiting;
};

// Longest multi-episode file or item expanded into one item per episode.
inline constexpr int k_max_episode_range = 5;

// `item`, an episode whose file or item spans episodes item.episode to `last` of its season, as
// one item per episode, each marked multi; a span longer than k_max_episode_range stays one
// item, with a warning naming it by `label` ("'<path>'", "item <id>").
void emit_episode_range(RemoteItem item, std::int64_t last, std::string_view backend,
                        std::string_view label, const EpisodeHold::Emit& emit);

// How an adapter fetches one show by its id.
struct ShowLookup {
  std::string_view noun; // "show", "series": in the message about one that is gone
  std::function<http::Request(const std::string& id)> request;
  // The show of a 2xx answer (throwing ws::Error when it holds none).
  std::function<RemoteShow(const std::string& id, http::Outcome& outcome, const std::string& url)>
      read;
};

// Fetch each show that waiting episodes named but no listing held (all at once; a 404 is a
// show deleted since, logged), then release every waiting episode.
void resolve_missing_shows(http::Client& client, const Connection& conn, EpisodeHold& hold,
                           const ShowLookup& lookup);

// The hits of a search or an item lookup; episodes wait in the same way until their show is
// known.
class FoundItems {
public:
  explicit FoundItems(ShowCache& shows) : m_hold(shows, m_collect) {}
  FoundItems(const FoundItems&) = delete;
  FoundItems& operator=(const FoundItems&) = delete;

  void add_show(RemoteShow show);
  void add_item(RemoteItem&& item) { m_hold.offer(std::move(item)); }
  EpisodeHold& hold() { return m_hold; }
  // The hits, once resolve_missing_shows() released the waiting episodes.
  std::vector<FoundItem> take() { return std::move(m_hits); }

private:
  std::vector<FoundItem> m_hits;
  EpisodeHold::Emit m_collect = [this](RemoteItem&& item) { collect(std::move(item)); };
  EpisodeHold m_hold;

  void collect(RemoteItem&& item);
};

// --- Playlists ---

using OnEntry = std::function<void(const rapidjson::Value& entry)>;

// How a server lists its playlists and their entries; the paging, the 404 of a playlist
// deleted while it is read and the entries without id are handled alike.
struct PlaylistListing {
  http::Client& client;
  const Connection& conn;
  // The field that names a playlist and an entry's item ("ratingKey", "Id"), and the one that
  // names an entry ("playlistItemID", "PlaylistItemId"; "" when absent).
  std::string_view id_field;
  std::string_view entry_id_field;
  // The requests for one page of the playlist list, and of one playlist's entries.
  std::function<http::Request(std::int64_t start, std::int64_t size)> list_page;
  std::function<http::Request(const std::string& playlist_id, std::int64_t start,
                              std::int64_t size)>
      entry_page;
  // Parse one page of either (throwing ws::Error), hand each entry on, say how much it held.
  std::function<PageRead(http::Outcome& outcome, const std::string& url, const char* what,
                         const OnEntry& on_entry)>
      read_page;
  // A playlist without its entries; nullopt without id.
  std::function<std::optional<RemotePlaylist>(const rapidjson::Value& entry)> map_playlist;
};

// Every playlist of the user with its entries; one deleted while it was read is left out.
std::vector<RemotePlaylist> read_playlists(const PlaylistListing& listing);

// `playlist` with its entries (a 404 fails the call).
RemotePlaylist with_entries(const PlaylistListing& listing, RemotePlaylist playlist);

} // namespace ws::backend::detail
