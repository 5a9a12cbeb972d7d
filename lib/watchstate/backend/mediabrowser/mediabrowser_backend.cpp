// SPDX-License-Identifier: MIT
#include <watchstate/backend/mediabrowser/mediabrowser_backend.hpp>

#include <watchstate/backend/adapter_support.hpp>
#include <watchstate/backend/json_fields.hpp>
#include <watchstate/backend/listing.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/text.hpp>
#include <watchstate/core/time.hpp>
#include <watchstate/http/client.hpp>
#include <watchstate/json/writer.hpp>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <utility>

namespace ws::backend::mediabrowser {

namespace {

using detail::array_member;
using detail::bool_member;
using detail::id_member;
using detail::int_member;
using detail::object_member;
using detail::PageWindow;
using detail::string_member;

#ifndef WS_VERSION
#define WS_VERSION "0.0.0"
#endif

constexpr int k_max_page_rounds = 1000;
constexpr std::int64_t k_ticks_per_ms = 10000;

// The filter every movie/episode listing shares (the count request and the pages).
constexpr std::string_view k_item_filter =
    "&Recursive=true&IncludeItemTypes=Movie,Episode&Filters=IsNotFolder"
    "&ExcludeLocationTypes=Virtual";

struct PendingPage {
  std::size_t library = 0;
  PageWindow window;
};

UnixTime date_member(const rapidjson::Value& item, std::string_view name) {
  const auto text = string_member(item, name);
  if (!text) {
    return 0;
  }
  return parse_iso8601(*text).value_or(0);
}

Guids provider_guids(const rapidjson::Value& item, const CustomGuidRules& custom) {
  std::vector<std::pair<std::string_view, std::string_view>> ids;
  if (const auto* providers = object_member(item, "ProviderIds")) {
    for (const auto& entry : providers->GetObject()) {
      if (entry.value.IsString()) {
        ids.emplace_back(std::string_view(entry.name.GetString(), entry.name.GetStringLength()),
                         std::string_view(entry.value.GetString(), entry.value.GetStringLength()));
      }
    }
  }
  return parse_provider_ids(ids, custom);
}

int item_year(const rapidjson::Value& item) {
  if (auto year = int_member(item, "ProductionYear"); year && *year > 0) {
    return static_cast<int>(*year);
  }
  return detail::year_of_date_member(item, "PremiereDate");
}

RemoteShow map_show(const rapidjson::Value& item, std::string id, const CustomGuidRules& custom) {
  RemoteShow show;
  show.id = std::move(id);
  show.title = std::string(string_member(item, "Name").value_or(""));
  show.year = item_year(item);
  show.guids = provider_guids(item, custom);
  show.path = std::string(string_member(item, "Path").value_or(""));
  return show;
}

class MediaBrowserBackend final : public Backend {
public:
  MediaBrowserBackend(Connection connection, std::unique_ptr<http::Client> client,
                      const MediaBrowserTraits& traits)
      : m_conn(std::move(connection)), m_client(std::move(client)), m_traits(traits) {
    register_secret(m_conn.token);
    if (m_conn.page_size < 1) {
      m_conn.page_size = 1;
    }
  }

  ServerInfo server_info() override {
    auto request = get("/System/Info");
    const detail::JsonAnswer answer(*m_client, m_conn, std::move(request), "server info");
    const rapidjson::Document& doc = answer.doc();
    const std::string& url = answer.url();
    ServerInfo info;
    info.id = std::string(string_member(doc, "Id").value_or(""));
    info.name = std::string(string_member(doc, "ServerName").value_or(""));
    info.version = std::string(string_member(doc, "Version").value_or(""));
    if (info.id.empty()) {
      detail::throw_protocol(m_conn.name, "server info", url, "no Id");
    }
    return info;
  }

  std::vector<Library> libraries() override {
    auto request = get(fmt::format("/Users/{}/Views", user()));
    const std::string url = request.url;
    auto outcome = detail::send_checked(*m_client, m_conn.name, std::move(request), 404,
                                        detail::token_source(m_conn.type));
    if (outcome.response.status == 404) {
      throw_unknown_user(); // the first request that names the user: say who there is
    }
    rapidjson::Document doc;
    detail::parse_json_body(doc, outcome.response.body, m_conn.name, "library list", url);
    const auto* items = array_member(doc, "Items");
    if (items == nullptr) {
      detail::throw_protocol(m_conn.name, "library list", url, "no Items array");
    }
    std::vector<Library> result;
    for (const auto& view : items->GetArray()) {
      auto id = id_member(view, "Id");
      if (!id) {
        continue;
      }
      const auto collection = string_member(view, "CollectionType");
      const auto type = string_member(view, "Type").value_or("");
      Library library;
      if (collection == "movies") {
        library.kind = LibraryKind::movies;
      } else if (collection == "tvshows") {
        library.kind = LibraryKind::shows;
      } else if ((!collection || collection == "mixed") && type == "CollectionFolder") {
        library.kind = LibraryKind::mixed;
      } else {
        continue;
      }
      library.id = std::move(*id);
      library.title = std::string(string_member(view, "Name").value_or(""));
      result.push_back(std::move(library));
    }
    return result;
  }

  void list_items(const std::vector<Library>& libraries, ShowCache& shows,
                  const std::function<void(RemoteItem&&)>& on_item) override {
    if (libraries.empty()) {
      return;
    }
    const std::vector<std::int64_t> totals = count_libraries(libraries);
    std::uint64_t total = 0;
    for (const auto t : totals) {
      total += static_cast<std::uint64_t>(t);
    }
    report_total(total);
    Listing listing{libraries, totals, detail::EpisodeHold(shows, on_item), {}};
    for (const auto& library : libraries) {
      if (has_series(library)) {
        listing.series_pending.insert(library.id);
      }
    }

    std::vector<PendingPage> pending;
    for (std::size_t i = 0; i < libraries.size(); ++i) {
      for (const auto& window : detail::plan_pages(totals[i], m_conn.page_size)) {
        pending.push_back(PendingPage{i, window});
      }
    }
    // The first batch also carries the series listings, which only fill `shows`.
    bool with_series = true;
    for (int round = 0; !pending.empty() || with_series; ++round) {
      if (round == k_max_page_rounds) {
        log::warning("{}: giving up on further pages after {} rounds", m_conn.name, round);
        break;
      }
      pending = fetch_pages(listing, pending, with_series);
      with_series = false;
    }
    resolve_missing_shows(listing.hold);
  }

  void fill_library_roots(std::vector<Library>& libraries) override {
    if (libraries.empty()) {
      return;
    }
    auto request = get("/Library/VirtualFolders");
    const detail::JsonAnswer answer(*m_client, m_conn, std::move(request), "library folders",
                                    detail::JsonAnswer::Shape::array);
    const rapidjson::Document& doc = answer.doc();
    for (const auto& folder : doc.GetArray()) {
      const auto id = id_member(folder, "ItemId");
      const auto* locations = array_member(folder, "Locations");
      if (!id || locations == nullptr) {
        continue;
      }
      const std::string wanted = normalized_id(*id);
      const auto library = std::find_if(libraries.begin(), libraries.end(), [&](const Library& l) {
        return normalized_id(l.id) == wanted;
      });
      if (library == libraries.end()) {
        continue;
      }
      library->roots.clear();
      for (const auto& location : locations->GetArray()) {
        if (location.IsString() && location.GetStringLength() > 0) {
          library->roots.emplace_back(location.GetString(), location.GetStringLength());
        }
      }
    }
  }

  std::vector<RemoteUser> users() override {
    auto request = get("/Users");
    const detail::JsonAnswer answer(*m_client, m_conn, std::move(request), "user list",
                                    detail::JsonAnswer::Shape::array);
    const rapidjson::Document& doc = answer.doc();
    std::vector<RemoteUser> result;
    for (const auto& entry : doc.GetArray()) {
      auto id = id_member(entry, "Id");
      if (!id) {
        continue;
      }
      RemoteUser user;
      user.id = std::move(*id);
      user.name = std::string(string_member(entry, "Name").value_or(""));
      if (const auto* policy = object_member(entry, "Policy")) {
        user.admin = bool_member(*policy, "IsAdministrator").value_or(false);
        user.disabled = bool_member(*policy, "IsDisabled").value_or(false);
      }
      result.push_back(std::move(user));
    }
    return result;
  }

  std::vector<FoundItem> search(std::string_view query, int limit, ShowCache& shows) override {
    auto request = get(
        fmt::format("/Users/{}/Items?searchTerm={}&Limit={}&Recursive=true"
                    "&IncludeItemTypes=Series,Movie,Episode&EnableUserData=true&EnableImages=false"
                    "&Fields={}",
                    user(), detail::url_encode(query), std::max(limit, 1), k_item_fields));
    const detail::JsonAnswer answer(*m_client, m_conn, std::move(request), "search result");
    const rapidjson::Document& doc = answer.doc();
    const std::string& url = answer.url();
    const auto* items = array_member(doc, "Items");
    if (items == nullptr) {
      detail::throw_protocol(m_conn.name, "search result", url, "no Items array");
    }
    detail::FoundItems found(shows);
    for (const auto& entry : items->GetArray()) {
      add_found(found, entry);
    }
    return finish_found(found);
  }

  std::vector<FoundItem> find_item(std::string_view id, ShowCache& shows) override {
    auto request = get(fmt::format("/Users/{}/Items/{}", user(), detail::url_encode(id)));
    const std::string url = request.url;
    auto outcome = m_client->send(std::move(request));
    // Jellyfin answers 400 for an id that is not a GUID at all.
    if (outcome.transport_ok() &&
        (outcome.response.status == 404 || outcome.response.status == 400)) {
      return {};
    }
    detail::check_outcome(m_conn.name, url, outcome, detail::token_source(m_conn.type));
    rapidjson::Document doc;
    detail::parse_json_body(doc, outcome.response.body, m_conn.name, "item metadata", url);
    detail::FoundItems found(shows);
    add_found(found, doc);
    return finish_found(found);
  }

  std::vector<std::string> active_items() override {
    const std::string wanted_user = normalized_id(m_conn.user);
    if (wanted_user.empty()) {
      throw Error(Errc::config, fmt::format("{}: no user id configured", m_conn.name));
    }
    auto request = get("/Sessions");
    const detail::JsonAnswer answer(*m_client, m_conn, std::move(request), "session list",
                                    detail::JsonAnswer::Shape::array);
    const rapidjson::Document& doc = answer.doc();
    std::vector<std::string> result;
    for (const auto& session : doc.GetArray()) {
      const auto* playing = object_member(session, "NowPlayingItem");
      if (playing == nullptr ||
          normalized_id(id_member(session, "UserId").value_or("")) != wanted_user) {
        continue;
      }
      if (auto id = id_member(*playing, "Id")) {
        result.push_back(std::move(*id));
      }
    }
    return result;
  }

  std::vector<WriteOutcome> write(const std::vector<WriteRequest>& requests) override {
    std::vector<http::Request> batch;
    batch.reserve(requests.size());
    for (const auto& wanted : requests) {
      batch.push_back(write_request(wanted));
    }
    std::vector<WriteOutcome> outcomes(requests.size());
    if (batch.empty()) {
      return outcomes;
    }
    m_client->send_all(std::move(batch), [&](std::size_t index, http::Outcome& outcome) {
      outcomes[index] = detail::write_outcome(m_conn.name, requests[index], outcome);
    });
    return outcomes;
  }

  // --- Playlists: the user's items of type Playlist, /Playlists/{id}/Items for their entries. ---

  std::vector<RemotePlaylist> playlists() override {
    return detail::read_playlists(playlist_listing());
  }

  RemotePlaylist playlist(const std::string& playlist_id) override {
    // The playlist as an item of the user: both servers answer it with DateCreated (Jellyfin's
    // GET /Playlists/{id} has no date, and Emby has no such endpoint).
    auto request = get(fmt::format("/Users/{}/Items/{}", user(), detail::url_encode(playlist_id)));
    const std::string url = request.url;
    auto outcome = detail::send_playlist_request(*m_client, m_conn.name, std::move(request),
                                                 detail::playlist_subject(playlist_id),
                                                 detail::token_source(m_conn.type));
    rapidjson::Document doc;
    detail::parse_json_body(doc, outcome.response.body, m_conn.name, "playlist", url);
    if (const auto type = string_member(doc, "Type"); type && *type != "Playlist") {
      detail::throw_protocol(m_conn.name, "playlist", url,
                             fmt::format("item {} is a {}, not a playlist", playlist_id, *type));
    }
    auto found = map_playlist(doc);
    if (!found) {
      detail::throw_protocol(m_conn.name, "playlist", url, "no Id");
    }
    return detail::with_entries(playlist_listing(), std::move(*found));
  }

  std::string create_playlist(const std::string& title,
                              const std::vector<std::string>& item_ids) override {
    const std::string user_id = user(); // Errc::config when none is configured
    const auto parts = detail::chunks(item_ids, detail::k_playlist_chunk);
    const std::vector<std::string> none;
    const auto& first = parts.empty() ? none : parts.front();
    http::Request request;
    if (m_traits.type == BackendType::emby) {
      // Emby reads the query only.
      request = get(fmt::format("/Playlists?Name={}&Ids={}&MediaType=Video&UserId={}",
                                detail::url_encode(title), detail::join_encoded(first), user_id));
    } else {
      // Jellyfin takes a CreatePlaylistDto body (its query parameters are obsolete).
      json::Writer body;
      body.begin_object().field("Name", title).key("Ids").begin_array();
      for (const auto& id : first) {
        body.value(id);
      }
      body.end_array().field("UserId", m_conn.user).field("MediaType", "Video").end_object();
      request = get("/Playlists");
      request.body = body.str();
      request.headers.push_back({"Content-Type", "application/json"});
    }
    request.method = http::Method::post;
    request.retry = false; // a lost answer must not make a second playlist
    const detail::JsonAnswer answer(*m_client, m_conn, std::move(request), "new playlist");
    const rapidjson::Document& doc = answer.doc();
    const std::string& url = answer.url();
    const auto id = id_member(doc, "Id");
    if (!id) {
      detail::throw_protocol(m_conn.name, "new playlist", url, "no Id");
    }
    for (std::size_t i = 1; i < parts.size(); ++i) {
      append_items(*id, parts[i]);
    }
    return *id;
  }

  void rename_playlist(const std::string& playlist_id, const std::string& title) override {
    const std::string subject = detail::playlist_subject(playlist_id);
    if (m_traits.type != BackendType::emby) {
      json::Writer body;
      body.begin_object().field("Name", title).end_object();
      auto request = get(fmt::format("/Playlists/{}", detail::url_encode(playlist_id)));
      request.method = http::Method::post;
      request.body = body.str();
      request.headers.push_back({"Content-Type", "application/json"});
      detail::send_playlist_request(*m_client, m_conn.name, std::move(request), subject,
                                    detail::token_source(m_conn.type));
      return;
    }
    // Emby has no playlist update: the item is posted back whole with its new Name (POST
    // /Items/{id} replaces the item's editable fields with what it is given).
    auto fetch = get(fmt::format("/Users/{}/Items/{}", user(), detail::url_encode(playlist_id)));
    const std::string url = fetch.url;
    auto outcome = detail::send_playlist_request(*m_client, m_conn.name, std::move(fetch), subject,
                                                 detail::token_source(m_conn.type));
    rapidjson::Document doc;
    detail::parse_json_body(doc, outcome.response.body, m_conn.name, "playlist", url);
    auto& allocator = doc.GetAllocator();
    rapidjson::Value name;
    name.SetString(title.data(), static_cast<rapidjson::SizeType>(title.size()), allocator);
    if (auto it = doc.FindMember("Name"); it != doc.MemberEnd()) {
      it->value = name;
    } else {
      doc.AddMember("Name", name, allocator);
    }
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    doc.Accept(writer);
    auto update = get(fmt::format("/Items/{}", detail::url_encode(playlist_id)));
    update.method = http::Method::post;
    update.body.assign(buffer.GetString(), buffer.GetSize());
    update.headers.push_back({"Content-Type", "application/json"});
    detail::send_playlist_request(*m_client, m_conn.name, std::move(update), subject,
                                  detail::token_source(m_conn.type));
  }

  void add_to_playlist(const std::string& playlist_id,
                       const std::vector<std::string>& item_ids) override {
    // In order, one chunk after the other: each is appended at the end.
    for (const auto& part : detail::chunks(item_ids, detail::k_playlist_chunk)) {
      append_items(playlist_id, part);
    }
  }

  void remove_from_playlist(const std::string& playlist_id,
                            const std::vector<std::string>& entry_ids) override {
    // Unknown entry ids are ignored by the servers, so the chunks do not depend on each other
    // (and a retried one does no harm): they go together.
    std::vector<http::Request> requests;
    std::vector<std::string> urls;
    for (const auto& part : detail::chunks(entry_ids, detail::k_playlist_chunk)) {
      auto request = get(fmt::format("/Playlists/{}/Items?{}={}", detail::url_encode(playlist_id),
                                     param("EntryIds"), detail::join_encoded(part)));
      request.method = http::Method::del;
      urls.push_back(request.url);
      requests.push_back(std::move(request));
    }
    if (requests.empty()) {
      return;
    }
    detail::FirstError error;
    m_client->send_all(std::move(requests), [&](std::size_t index, http::Outcome& outcome) {
      error.run([&] {
        detail::check_playlist_outcome(m_conn.name, urls[index], outcome,
                                       detail::playlist_subject(playlist_id),
                                       detail::token_source(m_conn.type));
      });
    });
    error.rethrow();
  }

  void move_in_playlist(const std::string& playlist_id, const std::string& entry_id,
                        std::size_t index, const std::string& /*after_entry_id*/) override {
    auto request =
        get(fmt::format("/Playlists/{}/Items/{}/Move/{}", detail::url_encode(playlist_id),
                        detail::url_encode(entry_id), index));
    request.method = http::Method::post;
    detail::send_playlist_request(*m_client, m_conn.name, std::move(request),
                                  detail::entry_subject(playlist_id, entry_id),
                                  detail::token_source(m_conn.type));
  }

  void delete_playlist(const std::string& playlist_id) override {
    auto request = get(fmt::format("/Items/{}", detail::url_encode(playlist_id)));
    request.method = http::Method::del;
    detail::send_playlist_request(*m_client, m_conn.name, std::move(request),
                                  detail::playlist_subject(playlist_id),
                                  detail::token_source(m_conn.type), true);
  }

  [[nodiscard]] std::uint64_t requests_sent() const override { return m_client->requests_sent(); }
  [[nodiscard]] std::uint64_t bytes_received() const override { return m_client->bytes_received(); }

private:
  // A query parameter of the /Playlists endpoints as each server spells it: Emby's own
  // PascalCase ("UserId"), Jellyfin's camelCase ("userId").
  std::string param(std::string_view pascal) const {
    std::string name(pascal);
    if (m_traits.type != BackendType::emby && !name.empty()) {
      name[0] = ascii_lower(name[0]);
    }
    return name;
  }

  // A playlist item (of the playlist query or GET /Users/{u}/Items/{id}), without its entries;
  // nullopt without Id.
  static std::optional<RemotePlaylist> map_playlist(const rapidjson::Value& entry) {
    auto id = id_member(entry, "Id");
    if (!id) {
      return std::nullopt;
    }
    RemotePlaylist playlist;
    playlist.id = std::move(*id);
    playlist.title = std::string(string_member(entry, "Name").value_or(""));
    // "Video", "Audio", "Photo", "Book"; an empty playlist may say "Unknown" or nothing.
    const auto media = string_member(entry, "MediaType").value_or("");
    playlist.video = media.empty() || media == "Video" || media == "Unknown";
    // Neither server reports when a playlist last changed; DateCreated is what there is.
    playlist.updated_at = date_member(entry, "DateCreated");
    return playlist;
  }

  // The Items of one page of a paged answer, and its TotalRecordCount.
  detail::PageRead read_page(http::Outcome& outcome, const std::string& url, const char* what,
                             const detail::OnEntry& on_entry) const {
    rapidjson::Document doc;
    detail::parse_json_body(doc, outcome.response.body, m_conn.name, what, url);
    const auto* items = array_member(doc, "Items");
    if (items == nullptr) {
      detail::throw_protocol(m_conn.name, what, url, "no Items array");
    }
    for (const auto& entry : items->GetArray()) {
      on_entry(entry);
    }
    detail::PageRead page;
    page.received = static_cast<std::int64_t>(items->Size());
    page.total = int_member(doc, "TotalRecordCount").value_or(-1);
    return page;
  }

  // The user's playlists (paged, oldest first so that pages stay put) and their entries
  // (GET /Playlists/{id}/Items, paged).
  detail::PlaylistListing playlist_listing() {
    return detail::PlaylistListing{
        *m_client,
        m_conn,
        "Id",
        "PlaylistItemId",
        [this](std::int64_t start, std::int64_t size) {
          return get(fmt::format("/Users/{}/Items?IncludeItemTypes=Playlist&Recursive=true"
                                 "&Fields=DateCreated&SortBy=DateCreated&SortOrder=Ascending"
                                 "&EnableImages=false&EnableUserData=false&StartIndex={}&Limit={}",
                                 user(), start, size));
        },
        [this](const std::string& id, std::int64_t start, std::int64_t size) {
          return get(fmt::format("/Playlists/{}/Items?{}={}&{}={}&{}={}&{}=false&{}=false",
                                 detail::url_encode(id), param("UserId"), user(),
                                 param("StartIndex"), start, param("Limit"), size,
                                 param("EnableImages"), param("EnableUserData")));
        },
        [this](http::Outcome& outcome, const std::string& url, const char* what,
               const detail::OnEntry& on_entry) { return read_page(outcome, url, what, on_entry); },
        map_playlist,
    };
  }

  // POST /Playlists/{id}/Items?ids=...&userId=... : `item_ids` appended at the end.
  void append_items(const std::string& playlist_id, const std::vector<std::string>& item_ids) {
    if (item_ids.empty()) {
      return;
    }
    auto request =
        get(fmt::format("/Playlists/{}/Items?{}={}&{}={}", detail::url_encode(playlist_id),
                        param("Ids"), detail::join_encoded(item_ids), param("UserId"), user()));
    request.method = http::Method::post;
    request.retry = false; // a lost answer must not append the items twice
    detail::send_playlist_request(*m_client, m_conn.name, std::move(request),
                                  detail::playlist_subject(playlist_id),
                                  detail::token_source(m_conn.type));
  }

  std::string date_played(UnixTime t) const {
    return m_traits.date_played == DatePlayedFormat::compact ? format_compact_utc(t)
                                                             : format_rfc3339(t);
  }

  http::Request write_request(const WriteRequest& wanted) const {
    const std::string id = detail::url_encode(wanted.remote_id);
    const std::string played_path = fmt::format("/Users/{}/PlayedItems/{}", user(), id);
    const std::string user_data_path = fmt::format("/Users/{}/Items/{}/UserData", user(), id);
    http::Request request;
    switch (wanted.action) {
    case WriteAction::mark_played:
      // Without a date the server keeps the last one or stamps "now", which beats 1970.
      request =
          get(wanted.played_at > 0 ? fmt::format("{}?DatePlayed={}", played_path,
                                                 detail::url_encode(date_played(wanted.played_at)))
                                   : played_path);
      request.method = http::Method::post;
      break;
    case WriteAction::mark_unplayed:
      request = get(played_path);
      request.method = http::Method::del;
      break;
    case WriteAction::set_progress:
      request = get(user_data_path);
      request.method = http::Method::post;
      request.body = fmt::format(R"({{"PlaybackPositionTicks":{},"Played":false}})",
                                 std::max<std::int64_t>(wanted.position_ms, 0) * k_ticks_per_ms);
      break;
    case WriteAction::reset_progress:
      request = get(user_data_path);
      request.method = http::Method::post;
      request.body = R"({"PlaybackPositionTicks":0})";
      break;
    }
    if (!request.body.empty()) {
      request.headers.push_back({"Content-Type", "application/json"});
    }
    return request;
  }

  struct Listing {
    const std::vector<Library>& libraries;
    const std::vector<std::int64_t>& totals;
    // Episodes whose series was not known yet when their page arrived, or whose library's
    // series list had not arrived yet, wait here.
    detail::EpisodeHold hold;
    // Library ids whose series list of this listing is still to come: their episodes wait, so
    // that each episode goes out with its series as the server reports it now (a series of the
    // cache may have changed its ids since).
    std::set<std::string> series_pending;
  };

  void add_found(detail::FoundItems& found, const rapidjson::Value& entry) {
    if (string_member(entry, "Type").value_or("") == "Series") {
      if (auto id = id_member(entry, "Id")) {
        found.add_show(map_show(entry, *id, m_conn.guid_rules));
      }
      return;
    }
    Library library; // the item's library is not part of a search hit
    map_item(entry, library, [&found](RemoteItem&& item) { found.add_item(std::move(item)); });
  }

  std::vector<FoundItem> finish_found(detail::FoundItems& found) {
    resolve_missing_shows(found.hold());
    return found.take();
  }

  [[noreturn]] void throw_unknown_user() {
    std::vector<std::string> known;
    try {
      for (const auto& u : users()) {
        known.push_back(fmt::format("{} (id {})", u.name, u.id));
      }
    } catch (const Error&) {
      // A token that may not list users: the message names the user alone.
    }
    throw Error(Errc::config,
                fmt::format("{}: the server has no user with id {}{}{}", m_conn.name, m_conn.user,
                            known.empty() ? "" : "; its users: ", fmt::join(known, ", ")));
  }

  std::string user() const {
    if (m_conn.user.empty()) {
      throw Error(Errc::config, fmt::format("{}: no user id configured", m_conn.name));
    }
    return detail::url_encode(m_conn.user);
  }

  http::Request get(std::string path_and_query) const {
    http::Request request;
    request.method = http::Method::get;
    request.url = m_conn.url + path_and_query;
    request.headers = {
        {"Accept", "application/json"},
        {"Authorization",
         fmt::format(R"(MediaBrowser Token="{}", Client="watchstate", Device="watchstate", )"
                     R"(DeviceId="{}", Version="{}")",
                     m_conn.token, m_traits.device_id, WS_VERSION)},
    };
    return request;
  }

  std::string items_path(const Library& library) const {
    return fmt::format("/Users/{}/Items?ParentId={}", user(), detail::url_encode(library.id));
  }

  http::Request page_request(const Library& library, const PageWindow& window) const {
    return get(fmt::format("{}{}&EnableUserData=true&EnableImages=false&CollapseBoxSetItems=false"
                           "&SortBy=DateCreated&SortOrder=Ascending&Fields={}&StartIndex={}"
                           "&Limit={}",
                           items_path(library), k_item_filter, k_item_fields, window.start,
                           window.size));
  }

  http::Request series_request(const Library& library) const {
    return get(
        fmt::format("{}&Recursive=true&IncludeItemTypes=Series&EnableUserData=false"
                    "&EnableImages=false&Fields=ProviderIds,Path,ProductionYear,PremiereDate",
                    items_path(library)));
  }

  static bool has_series(const Library& library) {
    return library.kind == LibraryKind::shows || library.kind == LibraryKind::mixed;
  }

  // One Limit=0 request per library, sent together; returns TotalRecordCount of each.
  std::vector<std::int64_t> count_libraries(const std::vector<Library>& libraries) {
    std::vector<http::Request> requests;
    std::vector<std::string> urls;
    for (const auto& library : libraries) {
      requests.push_back(
          get(fmt::format("{}{}&EnableUserData=false&EnableImages=false&EnableTotalRecordCount=true"
                          "&StartIndex=0&Limit=0",
                          items_path(library), k_item_filter)));
      urls.push_back(requests.back().url);
    }
    std::vector<std::int64_t> totals(libraries.size(), 0);
    detail::FirstError error;
    m_client->send_all(std::move(requests), [&](std::size_t index, http::Outcome& outcome) {
      error.run([&] {
        detail::check_outcome(m_conn.name, urls[index], outcome, detail::token_source(m_conn.type));
        rapidjson::Document doc;
        detail::parse_json_body(doc, outcome.response.body, m_conn.name, "item count", urls[index]);
        const auto total = int_member(doc, "TotalRecordCount");
        if (!total || *total < 0) {
          detail::throw_protocol(m_conn.name, "item count", urls[index], "no TotalRecordCount");
        }
        totals[index] = *total;
      });
    });
    error.rethrow();
    return totals;
  }

  // Send one batch of pages (plus the series listings when asked); return the follow-up pages
  // that short responses call for.
  std::vector<PendingPage> fetch_pages(Listing& listing, const std::vector<PendingPage>& pages,
                                       bool with_series) {
    std::vector<http::Request> requests;
    std::vector<std::string> urls;
    // The series lists go first (their episodes wait for them); indexes below `series` are
    // series lists, the others item pages.
    std::vector<std::size_t> series_libraries;
    if (with_series) {
      for (std::size_t i = 0; i < listing.libraries.size(); ++i) {
        if (has_series(listing.libraries[i])) {
          series_libraries.push_back(i);
          requests.push_back(series_request(listing.libraries[i]));
          urls.push_back(requests.back().url);
        }
      }
    }
    const std::size_t series = requests.size();
    for (const auto& page : pages) {
      requests.push_back(page_request(listing.libraries[page.library], page.window));
      urls.push_back(requests.back().url);
    }
    if (requests.empty()) {
      return {};
    }
    std::vector<PendingPage> follow_ups;
    detail::FirstError error;
    m_client->send_all(std::move(requests), [&](std::size_t index, http::Outcome& outcome) {
      error.run([&] {
        detail::check_outcome(m_conn.name, urls[index], outcome, detail::token_source(m_conn.type));
        rapidjson::Document doc;
        const char* what = index < series ? "series list" : "item page";
        detail::parse_json_body(doc, outcome.response.body, m_conn.name, what, urls[index]);
        const auto* items = array_member(doc, "Items");
        if (items == nullptr) {
          detail::throw_protocol(m_conn.name, what, urls[index], "no Items array");
        }
        if (index < series) {
          process_series(listing, *items);
          release_waiting(listing, listing.libraries[series_libraries[index]].id);
          return;
        }
        const auto& page = pages[index - series];
        process_items(listing, listing.libraries[page.library], *items);
        const std::int64_t total =
            int_member(doc, "TotalRecordCount").value_or(listing.totals[page.library]);
        const auto received = static_cast<std::int64_t>(items->Size());
        if (auto next = detail::follow_up_page(page.window, received, total)) {
          follow_ups.push_back(PendingPage{page.library, *next});
        }
      });
    });
    error.rethrow();
    return follow_ups;
  }

  void process_series(Listing& listing, const rapidjson::Value& items) {
    for (const auto& entry : items.GetArray()) {
      if (string_member(entry, "Type").value_or("") != "Series") {
        continue;
      }
      if (auto id = id_member(entry, "Id")) {
        listing.hold.add_show(*id, map_show(entry, *id, m_conn.guid_rules));
      }
    }
  }

  // The series list of library `library_id` arrived: its episodes that waited for it go out,
  // in the order they came (those of a series still unknown wait for the end).
  static void release_waiting(Listing& listing, const std::string& library_id) {
    listing.series_pending.erase(library_id);
    listing.hold.release_if([&listing](const RemoteItem& item) {
      return listing.series_pending.count(item.library_id) == 0 && listing.hold.knows(item.show_id);
    });
  }

  void process_items(Listing& listing, const Library& library, const rapidjson::Value& items) {
    const bool series_pending = listing.series_pending.count(library.id) > 0;
    for (const auto& entry : items.GetArray()) {
      map_item(entry, library, [&listing, series_pending](RemoteItem&& item) {
        listing.hold.offer(std::move(item), series_pending);
      });
    }
  }

  template <typename Emit>
  void map_item(const rapidjson::Value& entry, const Library& library, Emit&& emit) {
    if (bool_member(entry, "IsFolder").value_or(false)) {
      note_dropped();
      return;
    }
    const auto type = string_member(entry, "Type").value_or("");
    if (type != "Movie" && type != "Episode") {
      log::debug("{}: skipping item of type '{}'", m_conn.name, type);
      note_dropped();
      return;
    }
    auto id = id_member(entry, "Id");
    if (!id) {
      log::warning("{}: skipping a {} without Id", m_conn.name, type);
      note_dropped();
      return;
    }
    RemoteItem item;
    item.type = type == "Movie" ? MediaType::movie : MediaType::episode;
    item.id = std::move(*id);
    item.library_id = library.id;
    item.added_at = date_member(entry, "DateCreated");
    item.year = item_year(entry);
    item.path = std::string(string_member(entry, "Path").value_or(""));
    item.guids = provider_guids(entry, m_conn.guid_rules);
    if (const auto* user_data = object_member(entry, "UserData")) {
      item.played = bool_member(*user_data, "Played").value_or(false);
      item.last_played = date_member(*user_data, "LastPlayedDate");
      item.progress_ms =
          int_member(*user_data, "PlaybackPositionTicks").value_or(0) / k_ticks_per_ms;
    }
    item.duration_ms = int_member(entry, "RunTimeTicks").value_or(0) / k_ticks_per_ms;
    // Played with no date (Emby without UserDataLastPlayedDate, or imported state): the added
    // date is the only one there is.
    if (item.played && item.last_played == 0) {
      item.last_played = item.added_at;
      item.played_without_date = true;
    }
    if (item.type == MediaType::movie) {
      item.title = std::string(string_member(entry, "Name").value_or(""));
      emit(std::move(item));
      return;
    }
    item.title = std::string(string_member(entry, "SeriesName").value_or(""));
    item.show_id = id_member(entry, "SeriesId").value_or("");
    item.season = static_cast<int>(int_member(entry, "ParentIndexNumber").value_or(-1));
    item.episode = static_cast<int>(int_member(entry, "IndexNumber").value_or(-1));
    const auto end = int_member(entry, "IndexNumberEnd").value_or(-1);
    if (item.episode < 0 || end <= item.episode) {
      emit(std::move(item));
      return;
    }
    const std::string label = fmt::format("item {}", item.id);
    detail::emit_episode_range(std::move(item), end, m_conn.name, label, emit);
  }

  // Fetch each series that episodes referenced but no series listing held, then release the
  // episodes that waited for it.
  void resolve_missing_shows(detail::EpisodeHold& hold) {
    detail::ShowLookup lookup{
        "series",
        [this](const std::string& id) {
          return get(fmt::format("/Users/{}/Items/{}", user(), detail::url_encode(id)));
        },
        [this](const std::string& id, http::Outcome& outcome, const std::string& url) {
          rapidjson::Document doc;
          detail::parse_json_body(doc, outcome.response.body, m_conn.name, "series metadata", url);
          return map_show(doc, id, m_conn.guid_rules);
        },
    };
    detail::resolve_missing_shows(*m_client, m_conn, hold, lookup);
  }

  Connection m_conn;
  std::unique_ptr<http::Client> m_client;
  MediaBrowserTraits m_traits;
};

} // namespace

std::unique_ptr<Backend> make_mediabrowser_backend(const Connection& connection,
                                                   std::unique_ptr<http::Client> client,
                                                   const MediaBrowserTraits& traits) {
  return std::make_unique<MediaBrowserBackend>(connection, std::move(client), traits);
}

} // namespace ws::backend::mediabrowser
