// SPDX-License-Identifier: MIT
#include <watchstate/backend/listing.hpp>

#include <watchstate/backend/json_fields.hpp>
#include <watchstate/core/log.hpp>

#include <set>
#include <utility>

namespace ws::backend::detail {

bool EpisodeHold::knows(const std::string& show_id) const {
  return m_shows.find(show_id) != m_shows.end();
}

void EpisodeHold::add_show(const std::string& id, RemoteShow show) {
  m_shows.insert_or_assign(id, std::move(show));
}

void EpisodeHold::offer(RemoteItem&& item, bool hold) {
  if (item.type == MediaType::episode && !item.show_id.empty() && (hold || !knows(item.show_id))) {
    m_waiting.push_back(std::move(item));
  } else {
    m_emit(std::move(item));
  }
}

void EpisodeHold::release_if(const std::function<bool(const RemoteItem&)>& ready) {
  std::vector<RemoteItem> still;
  for (auto& item : m_waiting) {
    if (ready(item)) {
      m_emit(std::move(item));
    } else {
      still.push_back(std::move(item));
    }
  }
  m_waiting = std::move(still);
}

void EpisodeHold::release_all() {
  auto waiting = std::move(m_waiting);
  m_waiting.clear();
  for (auto& item : waiting) {
    m_emit(std::move(item));
  }
}

std::vector<std::string> EpisodeHold::missing_shows() const {
  std::set<std::string> missing;
  for (const auto& item : m_waiting) {
    if (!knows(item.show_id)) {
      missing.insert(item.show_id);
    }
  }
  return {missing.begin(), missing.end()};
}

void emit_episode_range(RemoteItem item, std::int64_t last, std::string_view backend,
                        std::string_view label, const EpisodeHold::Emit& emit) {
  item.multi = true;
  const auto count = last - item.episode + 1;
  if (count > k_max_episode_range) {
    log::warning("{}: {} spans {} episodes, more than {}; treated as one episode", backend, label,
                 count, k_max_episode_range);
    emit(std::move(item));
    return;
  }
  const int first = item.episode;
  for (int number = first; number <= static_cast<int>(last); ++number) {
    RemoteItem copy = item;
    copy.episode = number;
    emit(std::move(copy));
  }
}

void resolve_missing_shows(http::Client& client, const Connection& conn, EpisodeHold& hold,
                           const ShowLookup& lookup) {
  const std::vector<std::string> ids = hold.missing_shows();
  if (!ids.empty()) {
    std::vector<http::Request> requests;
    std::vector<std::string> urls;
    for (const auto& id : ids) {
      requests.push_back(lookup.request(id));
      urls.push_back(requests.back().url);
    }
    FirstError error;
    client.send_all(std::move(requests), [&](std::size_t index, http::Outcome& outcome) {
      error.run([&] {
        if (outcome.transport_ok() && outcome.response.status == 404) {
          log::warning("{}: {} {} no longer exists", conn.name, lookup.noun, ids[index]);
          return;
        }
        check_outcome(conn.name, urls[index], outcome, token_source(conn.type));
        hold.add_show(ids[index], lookup.read(ids[index], outcome, urls[index]));
      });
    });
    error.rethrow();
  }
  hold.release_all();
}

void FoundItems::add_show(RemoteShow show) {
  FoundItem hit;
  hit.kind = FoundItem::Kind::show;
  hit.show = std::move(show);
  m_hits.push_back(std::move(hit));
}

void FoundItems::collect(RemoteItem&& item) {
  FoundItem hit;
  hit.kind = item.type == MediaType::movie ? FoundItem::Kind::movie : FoundItem::Kind::episode;
  hit.item = std::move(item);
  m_hits.push_back(std::move(hit));
}

namespace {

// Every playlist of the list (paged), without entries.
std::vector<RemotePlaylist> list_playlists(const PlaylistListing& listing) {
  const Connection& conn = listing.conn;
  std::vector<RemotePlaylist> result;
  read_paged(
      listing.client, conn.name, 1, conn.page_size,
      [&](std::size_t, std::int64_t start, std::int64_t size) {
        return listing.list_page(start, size);
      },
      [&](std::size_t, http::Outcome& outcome, const std::string& url) {
        check_outcome(conn.name, url, outcome, token_source(conn.type));
        return std::optional<PageRead>(
            listing.read_page(outcome, url, "playlist list", [&](const rapidjson::Value& entry) {
              if (auto playlist = listing.map_playlist(entry)) {
                result.push_back(std::move(*playlist));
              } else {
                log::debug("{}: skipping a playlist without {}", conn.name, listing.id_field);
              }
            }));
      });
  return result;
}

// One entry of a page of `playlist`'s entries; one without item id is skipped.
void add_entry(const PlaylistListing& listing, RemotePlaylist& playlist,
               const rapidjson::Value& entry) {
  auto item = id_member(entry, listing.id_field);
  if (!item) {
    log::debug("{}: skipping an entry without {} in playlist {}", listing.conn.name,
               listing.id_field, playlist.id);
    return;
  }
  playlist.entries.push_back(
      PlaylistEntry{id_member(entry, listing.entry_id_field).value_or(""), std::move(*item)});
}

// Fill the entries of `playlists` (paged, all playlists at once). With `gone`, a playlist the
// server no longer knows (404) is marked there; without, the 404 fails the call.
void read_entries(const PlaylistListing& listing, std::vector<RemotePlaylist>& playlists,
                  std::vector<bool>* gone) {
  const Connection& conn = listing.conn;
  read_paged(
      listing.client, conn.name, playlists.size(), conn.page_size,
      [&](std::size_t i, std::int64_t start, std::int64_t size) {
        return listing.entry_page(playlists[i].id, start, size);
      },
      [&](std::size_t i, http::Outcome& outcome,
          const std::string& url) -> std::optional<PageRead> {
        auto& playlist = playlists[i];
        if (gone != nullptr && outcome.transport_ok() && outcome.response.status == 404) {
          (*gone)[i] = true;
          return std::nullopt;
        }
        check_playlist_outcome(conn.name, url, outcome, playlist_subject(playlist.id),
                               token_source(conn.type));
        return listing.read_page(
            outcome, url, "playlist items",
            [&](const rapidjson::Value& entry) { add_entry(listing, playlist, entry); });
      });
}

} // namespace

std::vector<RemotePlaylist> read_playlists(const PlaylistListing& listing) {
  auto result = list_playlists(listing);
  // A playlist deleted between the list and its entries is left out: it is gone.
  std::vector<bool> gone(result.size(), false);
  read_entries(listing, result, &gone);
  std::vector<RemotePlaylist> kept;
  kept.reserve(result.size());
  for (std::size_t i = 0; i < result.size(); ++i) {
    if (gone[i]) {
      log::info("{}: playlist {} ('{}') was deleted while it was read", listing.conn.name,
                result[i].id, result[i].title);
    } else {
      kept.push_back(std::move(result[i]));
    }
  }
  return kept;
}

RemotePlaylist with_entries(const PlaylistListing& listing, RemotePlaylist playlist) {
  std::vector<RemotePlaylist> one{std::move(playlist)};
  read_entries(listing, one, nullptr);
  return std::move(one.front());
}

} // namespace ws::backend::detail
