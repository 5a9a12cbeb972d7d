// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/backend/guid.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/time.hpp>
#include <watchstate/model/media.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ws::http {
class Client;
}

namespace ws::backend {

// The domain types of model/ the adapters name unqualified.
using model::backend_type_name;
using model::BackendType;
using model::MediaType;
using model::RemoteShow;
using model::ServerInfo;
using model::ShowCache;

// What an adapter needs to talk to one server as one user.
struct Connection {
  std::string name; // backend name from the config, for messages
  BackendType type = BackendType::plex;
  std::string url;   // base URL without a trailing slash
  std::string token; // never logged
  std::string user;  // Plex account id (optional) / Jellyfin-Emby user id
  int page_size = 1000;
  // config matching.guids: further agents' ids read as known providers (items and shows).
  CustomGuidRules guid_rules{};
};

// An account of the server (Plex GET /accounts, Jellyfin/Emby GET /Users).
struct RemoteUser {
  std::string id; // Plex account id / Jellyfin-Emby user id: what `user:` takes in the config
  std::string name;
  bool admin = false;
  bool disabled = false;
};

enum class LibraryKind { movies, shows, mixed };

struct Library {
  std::string id;
  std::string title;
  LibraryKind kind = LibraryKind::movies;
  // The folders the library holds, as the server names them (for path matching). Plex fills
  // them in libraries(); Jellyfin/Emby only in fill_library_roots(). The initializer keeps
  // {id, title, kind} aggregates free of missing-initializer warnings.
  std::vector<std::string> roots{};
};

// One movie or episode as a backend reports it, with the configured user's play state.
// A multi-episode file is reported as one RemoteItem per episode number, each with multi=true.
struct RemoteItem {
  MediaType type = MediaType::movie;
  bool played = false;
  bool multi = false;
  // Jellyfin/Emby: Played=true but no LastPlayedDate; last_played then holds added_at.
  bool played_without_date = false;
  int year = 0;
  int season = -1;  // episodes only
  int episode = -1; // episodes only
  UnixTime added_at = 0;
  UnixTime last_played = 0;     // 0 when never played
  std::int64_t progress_ms = 0; // resume position as the server reports it (also when played)
  std::int64_t duration_ms = 0; // runtime (Plex duration, Jellyfin/Emby RunTimeTicks / 10000)
  std::string id;               // backend item id (ratingKey / Id)
  std::string library_id;
  std::string title;   // movie title; for episodes the series title
  std::string show_id; // episodes: the backend's series id
  std::string path;    // media file path, may be empty
  Guids guids;         // the item's own validated external ids
};

// One hit of a title search or an item lookup: a movie or an episode (`item`), or a series
// (`show`). A multi-episode file gives one hit per episode, like the listing.
struct FoundItem {
  enum class Kind : std::uint8_t { movie, episode, show };
  Kind kind = Kind::movie;
  RemoteItem item; // movie, episode
  RemoteShow show; // show
};

// A play-state write to one item (the JSON names: mark_played, mark_unplayed, set_progress).
enum class WriteAction : std::uint8_t {
  mark_played, // with `played_at` (Jellyfin ISO / Emby yyyyMMddHHmmss; Plex takes no date)
  mark_unplayed,
  set_progress, // resume at `position_ms` (Plex timeline needs `duration_ms`)
  // Clear a stale resume position: of a played item on Jellyfin/Emby (Plex clears it when it
  // scrobbles, and never gets this for a played item), or of an unplayed one (Plex: unscrobble).
  reset_progress,
};

struct WriteRequest {
  std::string remote_id;
  WriteAction action = WriteAction::mark_played;
  UnixTime played_at = 0;
  std::int64_t position_ms = 0;
  std::int64_t duration_ms = 0;
};

struct WriteOutcome {
  bool ok = false;
  Errc kind = Errc::internal; // when !ok: no_perm (401/403), tempfail, protocol (other 4xx)
  std::string message;        // when !ok: one redacted line naming backend, item and status
};

// One entry of a playlist: the item it plays and the entry's own id. A playlist may hold one
// item twice; the entry id tells the two apart (remove and move take it).
struct PlaylistEntry {
  std::string entry_id; // Plex playlistItemID / Jellyfin-Emby PlaylistItemId
  std::string item_id;  // the movie or episode: Plex ratingKey / Jellyfin-Emby Id
};

// A playlist of the configured user as the server holds it, its entries in order.
struct RemotePlaylist {
  std::string id; // Plex ratingKey / Jellyfin-Emby Id
  std::string title;
  bool smart = false; // Plex smart playlist (a saved filter): never edited
  bool video = true;  // false: an audio or photo playlist, left alone
  // When the server says the playlist last changed: Plex updatedAt. Jellyfin and Emby report
  // no edit time, only DateCreated, which is given here (0 when absent).
  UnixTime updated_at = 0;
  std::vector<PlaylistEntry> entries;
};

// The read side of one server. Every method throws ws::Error: Errc::no_perm for 401/403,
// Errc::tempfail for transport failures, 5xx and 429 (after the client's retries),
// Errc::protocol for a body that cannot be parsed. Implementations never log the token.
class Backend {
public:
  virtual ~Backend() = default;
  Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  // Identity of the server (GET / on Plex, GET /System/Info on Jellyfin/Emby).
  virtual ServerInfo server_info() = 0;

  // The movie and show libraries (mixed folders on Jellyfin/Emby); music, photos etc. left out.
  virtual std::vector<Library> libraries() = 0;

  // Every movie and episode of `libraries`, paged with bounded parallel requests. `on_item` is
  // called once per item on the calling thread. Series ids of episodes are resolved through
  // `shows`: listed once per show library, and fetched one by one only when missing there;
  // newly resolved shows are added to `shows`. A page that fails after retries fails the call.
  virtual void list_items(const std::vector<Library>& libraries, ShowCache& shows,
                          const std::function<void(RemoteItem&&)>& on_item) = 0;

  // Fill Library::roots of `libraries` (from libraries()) where libraries() could not: Jellyfin
  // and Emby need one more request (GET /Library/VirtualFolders). Never called by the listing
  // itself, so only a caller that wants the folders pays for them. Libraries the server does
  // not report keep what they have. Throws like the listing calls (401/403: Errc::no_perm).
  // The default does nothing: libraries() already filled them, or the backend has none.
  virtual void fill_library_roots(std::vector<Library>& /*libraries*/) {}

  // The server's accounts (needs an admin token; Errc::no_perm otherwise).
  virtual std::vector<RemoteUser> users() = 0;

  // Movies, series and episodes whose title matches `query` (the server's own search: Plex
  // GET /hubs/search, Jellyfin/Emby searchTerm), at most `limit`, with the configured user's
  // play state. Series of episodes are resolved through `shows` like list_items does.
  virtual std::vector<FoundItem> search(std::string_view query, int limit, ShowCache& shows) = 0;

  // The item with backend id `id` (empty when the server has no such item: 404).
  virtual std::vector<FoundItem> find_item(std::string_view id, ShowCache& shows) = 0;

  // Remote ids of the items the configured user is playing right now (Plex GET /status/sessions,
  // Jellyfin/Emby GET /Sessions): writes leave them alone. Throws like the listing calls.
  virtual std::vector<std::string> active_items() = 0;

  // Send `requests` with bounded parallelism (the client's retry policy applies: the writes are
  // idempotent). Returns one outcome per request, in the same order; an HTTP failure of one item
  // is an outcome, not an exception.
  virtual std::vector<WriteOutcome> write(const std::vector<WriteRequest>& requests) = 0;

  // --- Playlists (ws-playlist). Each call throws like the listing calls (401/403:
  // Errc::no_perm, transport/5xx/429: Errc::tempfail, an unparsable body: Errc::protocol; a
  // playlist or entry the server does not know (404): Errc::protocol naming it). ---

  // Every playlist of the configured user with its entries (smart, audio and photo playlists
  // included, flagged): one request for the list, one per playlist for its entries.
  virtual std::vector<RemotePlaylist> playlists() = 0;

  // One playlist with its entries, as playlists() reports it (after writes, to learn the entry
  // ids the server gave new entries).
  virtual RemotePlaylist playlist(const std::string& playlist_id) = 0;

  // Create a video playlist named `title` holding `item_ids` in that order; returns its id.
  virtual std::string create_playlist(const std::string& title,
                                      const std::vector<std::string>& item_ids) = 0;

  virtual void rename_playlist(const std::string& playlist_id, const std::string& title) = 0;

  // Append `item_ids`, in that order, at the end of the playlist.
  virtual void add_to_playlist(const std::string& playlist_id,
                               const std::vector<std::string>& item_ids) = 0;

  // Remove the entries `entry_ids` (PlaylistEntry::entry_id).
  virtual void remove_from_playlist(const std::string& playlist_id,
                                    const std::vector<std::string>& entry_ids) = 0;

  // Move entry `entry_id` to position `index` (0-based) of the playlist, right after the entry
  // `after_entry_id` ("" when `index` is 0): Plex takes the entry it follows, Jellyfin and Emby
  // the index.
  virtual void move_in_playlist(const std::string& playlist_id, const std::string& entry_id,
                                std::size_t index, const std::string& after_entry_id) = 0;

  virtual void delete_playlist(const std::string& playlist_id) = 0;

  // HTTP requests sent so far, retries included.
  [[nodiscard]] virtual std::uint64_t requests_sent() const = 0;
  // Bytes received so far (headers and bodies as they came off the wire, every attempt):
  // http::Client::bytes_received of the clients the adapter used.
  [[nodiscard]] virtual std::uint64_t bytes_received() const = 0;

  // Called by list_items, on the calling thread, with the number of movies and episodes the
  // listing will hold once the server has counted them (for a progress display; expanded
  // multi-episode files may add a few).
  void set_total_listener(std::function<void(std::uint64_t)> listener) {
    m_total_listener = std::move(listener);
  }

  // Entries the server counted and listed that the adapter could not use (no id, a folder, a
  // type it does not sync), since the adapter was made. With the total and the items listed,
  // the caller can tell whether a listing missed items (pages that shifted while they were
  // read).
  [[nodiscard]] virtual std::uint64_t dropped() const { return m_dropped; }

protected:
  void report_total(std::uint64_t total) const {
    if (m_total_listener) {
      m_total_listener(total);
    }
  }
  void note_dropped() { ++m_dropped; }

private:
  std::function<void(std::uint64_t)> m_total_listener;
  std::uint64_t m_dropped = 0;
};

// Build the adapter for `connection.type`, sending through `client`.
std::unique_ptr<Backend> make_backend(const Connection& connection,
                                      std::unique_ptr<http::Client> client);

} // namespace ws::backend
