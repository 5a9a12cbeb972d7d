// SPDX-License-Identifier: MIT
#include <watchstate/backend/plex/plex_backend.hpp>

#include <watchstate/backend/adapter_support.hpp>
#include <watchstate/backend/json_fields.hpp>
#include <watchstate/backend/listing.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/http/client.hpp>

#include <rapidjson/document.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

namespace ws::backend::plex {

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

constexpr std::string_view k_library_identifier = "com.plexapp.plugins.library";
constexpr int k_type_movie = 1;
constexpr int k_type_show = 2;
constexpr int k_type_episode = 4;
// Follow-up rounds for short pages; each round strictly advances every listing, so this only
// guards against a server that keeps reporting a growing total.
constexpr int k_max_page_rounds = 1000;
// What the library listings ask Plex to leave out of every item: the long text fields and the
// tag elements (genres, cast, crew, collections, labels) that nothing here reads; ratingKey,
// guid, Guid, Media/Part (the file) and Location stay. Plex Media Server's API documentation
// (developer.plex.tv/pms, "Response Customization") describes excludeFields and excludeElements
// as comma-separated attribute and element names, with excludeFields=summary,tagline as its
// example, and treats them as requests rather than guarantees: a server that ignores them sends
// the full items, which the parser reads the same way. includeFields is not used: its meaning
// changed with API version 1.0.0 (PMS 1.41.9; before, it asked for extra fields).
constexpr std::string_view k_listing_trim =
    "excludeFields=summary,tagline"
    "&excludeElements=Genre,Country,Director,Writer,Producer,Role,Collection,Label";

constexpr std::string_view k_platform =
#if defined(__linux__)
    "Linux";
#elif defined(__APPLE__)
    "macOS";
#else
    "Unknown";
#endif

// One listing of one metadata type (movies, shows or episodes) of one library.
struct Stream {
  std::size_t library = 0;
  int type = k_type_movie;
  std::int64_t total = 0;
};

struct PendingPage {
  std::size_t stream = 0;
  PageWindow window;
};

std::string_view sort_for(int type) {
  if (type == k_type_movie) {
    return "addedAt";
  }
  if (type == k_type_episode) {
    return "episode.addedAt";
  }
  return {};
}

std::int64_t parse_count(std::string_view text) {
  std::int64_t value = -1;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && ptr == text.data() + text.size() && value >= 0 ? value : -1;
}

Guids plex_item_guids(const rapidjson::Value& item, const CustomGuidRules& custom) {
  std::vector<std::string_view> ids;
  if (const auto* list = array_member(item, "Guid")) {
    for (const auto& entry : list->GetArray()) {
      if (auto id = string_member(entry, "id")) {
        ids.push_back(*id);
      }
    }
  }
  if (auto own = string_member(item, "guid")) {
    ids.push_back(*own);
  }
  return parse_plex_guids(ids, custom);
}

int plex_year(const rapidjson::Value& item) {
  if (auto year = int_member(item, "year"); year && *year > 0) {
    return static_cast<int>(*year);
  }
  if (const int year = detail::year_of_date_member(item, "originallyAvailableAt"); year > 0) {
    return year;
  }
  if (auto year = int_member(item, "parentYear"); year && *year > 0) {
    return static_cast<int>(*year);
  }
  return 0;
}

std::string first_part_file(const rapidjson::Value& item) {
  const auto* media = array_member(item, "Media");
  if (media == nullptr || media->Empty()) {
    return {};
  }
  const auto* parts = array_member((*media)[0], "Part");
  if (parts == nullptr || parts->Empty()) {
    return {};
  }
  return std::string(string_member((*parts)[0], "file").value_or(""));
}

RemoteShow map_show(const rapidjson::Value& item, std::string id, const CustomGuidRules& custom) {
  RemoteShow show;
  show.id = std::move(id);
  show.title = std::string(string_member(item, "title").value_or(""));
  show.year = plex_year(item);
  show.guids = plex_item_guids(item, custom);
  if (const auto* locations = array_member(item, "Location");
      locations != nullptr && !locations->Empty()) {
    show.path = std::string(string_member((*locations)[0], "path").value_or(""));
  }
  return show;
}

class PlexBackend final : public Backend {
public:
  PlexBackend(Connection connection, std::unique_ptr<http::Client> client)
      : m_conn(std::move(connection)), m_client(std::move(client)) {
    register_secret(m_conn.token);
    if (m_conn.page_size < 1) {
      m_conn.page_size = 1;
    }
  }

  ServerInfo server_info() override {
    const detail::JsonAnswer answer(*m_client, m_conn, get("/"), "server info");
    const rapidjson::Document& doc = answer.doc();
    const std::string& url = answer.url();
    const auto* container = container_of(doc, "server info", url);
    ServerInfo info;
    info.id = std::string(string_member(*container, "machineIdentifier").value_or(""));
    info.name = std::string(string_member(*container, "friendlyName").value_or(""));
    info.version = std::string(string_member(*container, "version").value_or(""));
    if (info.id.empty()) {
      detail::throw_protocol(m_conn.name, "server info", url, "no machineIdentifier");
    }
    m_machine_id = info.id; // playlist writes name the server by it
    return info;
  }

  std::vector<Library> libraries() override {
    auto request = get("/library/sections");
    const detail::JsonAnswer answer(*m_client, m_conn, std::move(request), "library list");
    const rapidjson::Document& doc = answer.doc();
    const std::string& url = answer.url();
    const auto* container = container_of(doc, "library list", url);
    std::vector<Library> result;
    const auto* directories = array_member(*container, "Directory");
    if (directories == nullptr) {
      return result;
    }
    for (const auto& dir : directories->GetArray()) {
      const auto type = string_member(dir, "type").value_or("");
      auto id = id_member(dir, "key");
      if (!id || (type != "movie" && type != "show")) {
        continue;
      }
      Library library;
      library.id = std::move(*id);
      library.title = std::string(string_member(dir, "title").value_or(""));
      library.kind = type == "movie" ? LibraryKind::movies : LibraryKind::shows;
      if (const auto* locations = array_member(dir, "Location")) {
        for (const auto& location : locations->GetArray()) {
          if (auto path = string_member(location, "path"); path && !path->empty()) {
            library.roots.emplace_back(*path);
          }
        }
      }
      result.push_back(std::move(library));
    }
    return result;
  }

  // libraries() read the folders from the same answer.
  void fill_library_roots(std::vector<Library>& /*libraries*/) override {}

  void list_items(const std::vector<Library>& libraries, ShowCache& shows,
                  const std::function<void(RemoteItem&&)>& on_item) override {
    std::vector<Stream> streams;
    for (std::size_t i = 0; i < libraries.size(); ++i) {
      const auto kind = libraries[i].kind;
      if (kind == LibraryKind::movies || kind == LibraryKind::mixed) {
        streams.push_back(Stream{i, k_type_movie, 0});
      }
      if (kind == LibraryKind::shows || kind == LibraryKind::mixed) {
        streams.push_back(Stream{i, k_type_show, 0});
        streams.push_back(Stream{i, k_type_episode, 0});
      }
    }
    if (streams.empty()) {
      return;
    }
    count_streams(libraries, streams);
    std::uint64_t total = 0;
    for (const auto& stream : streams) {
      total += stream.type == k_type_show ? 0 : static_cast<std::uint64_t>(stream.total);
    }
    report_total(total);

    Listing listing{libraries, streams, detail::EpisodeHold(shows, on_item)};
    // The shows first: every episode then goes out with its show as the server reports it now
    // (a show of the cache may have changed its ids since the last run).
    std::vector<PendingPage> show_pages;
    std::vector<PendingPage> item_pages;
    for (std::size_t s = 0; s < streams.size(); ++s) {
      for (const auto& window : detail::plan_pages(streams[s].total, m_conn.page_size)) {
        (streams[s].type == k_type_show ? show_pages : item_pages)
            .push_back(PendingPage{s, window});
      }
    }
    for (auto* pending : {&show_pages, &item_pages}) {
      for (int round = 0; !pending->empty(); ++round) {
        if (round == k_max_page_rounds) {
          log::warning("{}: giving up on further pages after {} rounds", m_conn.name, round);
          break;
        }
        *pending = fetch_pages(listing, *pending);
      }
    }
    resolve_missing_shows(listing.hold);
  }

  std::vector<RemoteUser> users() override {
    auto request = get("/accounts");
    const detail::JsonAnswer answer(*m_client, m_conn, std::move(request), "account list");
    const rapidjson::Document& doc = answer.doc();
    const std::string& url = answer.url();
    const auto* container = container_of(doc, "account list", url);
    std::vector<RemoteUser> result;
    const auto* accounts = array_member(*container, "Account");
    if (accounts == nullptr) {
      return result;
    }
    for (const auto& account : accounts->GetArray()) {
      auto id = id_member(account, "id");
      // Account 0 is the nameless system account, not a person.
      if (!id || *id == "0") {
        continue;
      }
      RemoteUser user;
      user.id = std::move(*id);
      user.name = std::string(string_member(account, "name").value_or(""));
      user.admin = user.id == "1"; // the server owner's local id
      result.push_back(std::move(user));
    }
    return result;
  }

  std::vector<FoundItem> search(std::string_view query, int limit, ShowCache& shows) override {
    auto request = get(fmt::format("/hubs/search?query={}&limit={}&includeGuids=1"
                                   "&includeLocations=1&includeExternalMedia=0"
                                   "&includeCollections=0",
                                   detail::url_encode(query), std::max(limit, 1)));
    const detail::JsonAnswer answer(*m_client, m_conn, std::move(request), "search result");
    const rapidjson::Document& doc = answer.doc();
    const std::string& url = answer.url();
    const auto* container = container_of(doc, "search result", url);
    detail::FoundItems found(shows);
    if (const auto* hubs = array_member(*container, "Hub")) {
      for (const auto& hub : hubs->GetArray()) {
        const auto type = string_member(hub, "type").value_or("");
        const auto* metadata = array_member(hub, "Metadata");
        if (metadata == nullptr || (type != "movie" && type != "show" && type != "episode")) {
          continue;
        }
        for (const auto& entry : metadata->GetArray()) {
          add_found(found, entry);
        }
      }
    }
    return finish_found(found);
  }

  std::vector<FoundItem> find_item(std::string_view id, ShowCache& shows) override {
    auto request = get(fmt::format("/library/metadata/{}?includeGuids=1", detail::url_encode(id)));
    const std::string url = request.url;
    auto outcome = m_client->send(std::move(request));
    detail::FoundItems found(shows);
    if (outcome.transport_ok() && outcome.response.status == 404) {
      return {};
    }
    detail::check_outcome(m_conn.name, url, outcome, detail::token_source(m_conn.type));
    rapidjson::Document doc;
    detail::parse_json_body(doc, outcome.response.body, m_conn.name, "item metadata", url);
    const auto* container = container_of(doc, "item metadata", url);
    if (const auto* metadata = array_member(*container, "Metadata");
        metadata != nullptr && !metadata->Empty()) {
      add_found(found, (*metadata)[0]);
    }
    return finish_found(found);
  }

  std::vector<std::string> active_items() override {
    auto request = get("/status/sessions");
    const detail::JsonAnswer answer(*m_client, m_conn, std::move(request), "session list");
    const rapidjson::Document& doc = answer.doc();
    const std::string& url = answer.url();
    const auto* container = container_of(doc, "session list", url);
    std::vector<std::string> result;
    const auto* metadata = array_member(*container, "Metadata");
    if (metadata == nullptr) {
      return result;
    }
    for (const auto& entry : metadata->GetArray()) {
      // PMS writes `User` as an object; XML-to-JSON renderings make it a one-element array.
      const auto* user = object_member(entry, "User");
      if (const auto* users = array_member(entry, "User"); users != nullptr && !users->Empty()) {
        user = &(*users)[0];
      }
      const auto user_id = user == nullptr ? std::nullopt : id_member(*user, "id");
      if (!session_is_ours(user_id)) {
        continue;
      }
      if (auto id = id_member(entry, "ratingKey")) {
        result.push_back(std::move(*id));
      }
    }
    return result;
  }

  std::vector<WriteOutcome> write(const std::vector<WriteRequest>& requests) override {
    std::vector<WriteOutcome> outcomes(requests.size());
    std::vector<http::Request> batch;
    std::vector<std::size_t> origin; // batch index -> index in `requests`
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const auto& wanted = requests[i];
      const std::string id = detail::url_encode(wanted.remote_id);
      switch (wanted.action) {
      case WriteAction::mark_played:
      case WriteAction::mark_unplayed:
      case WriteAction::reset_progress:
        // Plex has no call that only clears a position (a progress of 0 is ignored); unscrobble
        // clears it, and reset_progress reaches Plex only for unplayed items (see WriteAction).
        batch.push_back(
            get(fmt::format("/:/{}?identifier={}&key={}",
                            wanted.action == WriteAction::mark_played ? "scrobble" : "unscrobble",
                            k_library_identifier, id)));
        break;
      case WriteAction::set_progress: {
        // PMS silently ignores a timeline update without a duration.
        if (wanted.duration_ms <= 0) {
          outcomes[i] =
              detail::failed_write(m_conn.name, wanted, Errc::protocol, "no duration known");
          continue;
        }
        auto request = get(fmt::format(
            "/:/timeline?ratingKey={}&key={}&identifier={}&state=stopped&time={}&duration={}"
            "&X-Plex-Client-Identifier={}",
            id, detail::url_encode("/library/metadata/" + wanted.remote_id), k_library_identifier,
            std::max<std::int64_t>(wanted.position_ms, 0), wanted.duration_ms,
            k_client_identifier));
        request.method = http::Method::post;
        batch.push_back(std::move(request));
        break;
      }
      }
      origin.push_back(i);
    }
    if (batch.empty()) {
      return outcomes;
    }
    m_client->send_all(std::move(batch), [&](std::size_t index, http::Outcome& outcome) {
      const std::size_t i = origin[index];
      outcomes[i] = detail::write_outcome(m_conn.name, requests[i], outcome);
    });
    return outcomes;
  }

  // --- Playlists: GET /playlists, /playlists/{id}[/items]; writes through the library uri. ---

  std::vector<RemotePlaylist> playlists() override {
    return detail::read_playlists(playlist_listing());
  }

  RemotePlaylist playlist(const std::string& playlist_id) override {
    const std::string subject = detail::playlist_subject(playlist_id);
    auto request = get(fmt::format("/playlists/{}", detail::url_encode(playlist_id)));
    const std::string url = request.url;
    auto outcome = detail::send_playlist_request(*m_client, m_conn.name, std::move(request),
                                                 subject, detail::token_source(m_conn.type));
    rapidjson::Document doc;
    detail::parse_json_body(doc, outcome.response.body, m_conn.name, "playlist", url);
    const auto* container = container_of(doc, "playlist", url);
    const auto* metadata = array_member(*container, "Metadata");
    if (metadata == nullptr || metadata->Empty()) {
      detail::throw_protocol(m_conn.name, "playlist", url, "no Metadata entry");
    }
    auto found = map_playlist((*metadata)[0]);
    if (!found) {
      detail::throw_protocol(m_conn.name, "playlist", url, "no ratingKey");
    }
    return detail::with_entries(playlist_listing(), std::move(*found));
  }

  std::string create_playlist(const std::string& title,
                              const std::vector<std::string>& item_ids) override {
    // PMS makes a (non-smart) playlist from a uri naming its first items, and has no empty one.
    if (item_ids.empty()) {
      throw Error(Errc::internal, fmt::format("{}: a Plex playlist cannot be created empty ('{}')",
                                              m_conn.name, title));
    }
    const auto parts = detail::chunks(item_ids, detail::k_playlist_chunk);
    auto request =
        get(fmt::format("/playlists?type=video&title={}&smart=0&uri={}", detail::url_encode(title),
                        detail::url_encode(items_uri(parts.front()))));
    request.method = http::Method::post;
    request.retry = false; // a lost answer must not make a second playlist
    const detail::JsonAnswer answer(*m_client, m_conn, std::move(request), "new playlist");
    const rapidjson::Document& doc = answer.doc();
    const std::string& url = answer.url();
    const auto* container = container_of(doc, "new playlist", url);
    const auto* metadata = array_member(*container, "Metadata");
    const auto id = metadata == nullptr || metadata->Empty()
                        ? std::nullopt
                        : id_member((*metadata)[0], "ratingKey");
    if (!id) {
      detail::throw_protocol(m_conn.name, "new playlist", url, "no ratingKey");
    }
    if (const auto count = int_member((*metadata)[0], "leafCount");
        count && *count < static_cast<std::int64_t>(parts.front().size())) {
      log::warning("{}: new playlist {} ('{}') holds {} of the {} items it was created with",
                   m_conn.name, *id, title, *count, parts.front().size());
    }
    for (std::size_t i = 1; i < parts.size(); ++i) {
      append_items(*id, parts[i]);
    }
    return *id;
  }

  void rename_playlist(const std::string& playlist_id, const std::string& title) override {
    auto request = get(fmt::format("/playlists/{}?title={}", detail::url_encode(playlist_id),
                                   detail::url_encode(title)));
    request.method = http::Method::put;
    detail::send_playlist_request(*m_client, m_conn.name, std::move(request),
                                  detail::playlist_subject(playlist_id),
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
    if (entry_ids.empty()) {
      return;
    }
    // PMS removes one entry per request; they do not depend on each other, so they go together.
    std::vector<http::Request> requests;
    std::vector<std::string> urls;
    for (const auto& entry : entry_ids) {
      auto request = get(fmt::format("/playlists/{}/items/{}", detail::url_encode(playlist_id),
                                     detail::url_encode(entry)));
      request.method = http::Method::del;
      urls.push_back(request.url);
      requests.push_back(std::move(request));
    }
    detail::FirstError error;
    m_client->send_all(std::move(requests), [&](std::size_t index, http::Outcome& outcome) {
      error.run([&] {
        // A 404 after a retry: the lost first attempt removed it.
        detail::check_playlist_outcome(m_conn.name, urls[index], outcome,
                                       detail::entry_subject(playlist_id, entry_ids[index]),
                                       detail::token_source(m_conn.type), true);
      });
    });
    error.rethrow();
  }

  void move_in_playlist(const std::string& playlist_id, const std::string& entry_id,
                        std::size_t /*index*/, const std::string& after_entry_id) override {
    // Plex places the entry right after another one; without `after` it goes to the top.
    std::string path = fmt::format("/playlists/{}/items/{}/move", detail::url_encode(playlist_id),
                                   detail::url_encode(entry_id));
    if (!after_entry_id.empty()) {
      path += "?after=" + detail::url_encode(after_entry_id);
    }
    auto request = get(std::move(path));
    request.method = http::Method::put;
    detail::send_playlist_request(*m_client, m_conn.name, std::move(request),
                                  detail::entry_subject(playlist_id, entry_id),
                                  detail::token_source(m_conn.type));
  }

  void delete_playlist(const std::string& playlist_id) override {
    auto request = get(fmt::format("/playlists/{}", detail::url_encode(playlist_id)));
    request.method = http::Method::del;
    detail::send_playlist_request(*m_client, m_conn.name, std::move(request),
                                  detail::playlist_subject(playlist_id),
                                  detail::token_source(m_conn.type), true);
  }

  [[nodiscard]] std::uint64_t requests_sent() const override { return m_client->requests_sent(); }
  [[nodiscard]] std::uint64_t bytes_received() const override { return m_client->bytes_received(); }

private:
  // A playlist of GET /playlists or /playlists/{id}, without its entries; nullopt without id.
  static std::optional<RemotePlaylist> map_playlist(const rapidjson::Value& entry) {
    auto id = id_member(entry, "ratingKey");
    if (!id) {
      return std::nullopt;
    }
    RemotePlaylist playlist;
    playlist.id = std::move(*id);
    playlist.title = std::string(string_member(entry, "title").value_or(""));
    playlist.smart = bool_member(entry, "smart").value_or(false);
    // "video", "audio" or "photo"; every PMS names it, so only a missing one counts as video.
    playlist.video = string_member(entry, "playlistType").value_or("video") == "video";
    // A playlist never edited since it was made may lack updatedAt.
    playlist.updated_at =
        int_member(entry, "updatedAt").value_or(int_member(entry, "addedAt").value_or(0));
    return playlist;
  }

  // GET `path` for the page [start, start + size), with the paging in the query and the headers
  // as the listing requests carry it.
  http::Request paged_get(const std::string& path, std::int64_t start, std::int64_t size) const {
    auto request = get(fmt::format("{}{}X-Plex-Container-Start={}&X-Plex-Container-Size={}", path,
                                   path.find('?') == std::string::npos ? '?' : '&', start, size));
    request.headers.push_back({"X-Plex-Container-Start", std::to_string(start)});
    request.headers.push_back({"X-Plex-Container-Size", std::to_string(size)});
    return request;
  }

  // The Metadata entries of one page of a paged answer; `total` from totalSize or the header.
  detail::PageRead read_page(http::Outcome& outcome, const std::string& url, const char* what,
                             const detail::OnEntry& on_entry) const {
    rapidjson::Document doc;
    detail::parse_json_body(doc, outcome.response.body, m_conn.name, what, url);
    const auto* container = container_of(doc, what, url);
    detail::PageRead page;
    page.total = int_member(*container, "totalSize").value_or(-1);
    if (page.total < 0) {
      page.total =
          parse_count(detail::header_value(outcome.response, "X-Plex-Container-Total-Size"));
    }
    // PMS leaves Metadata out of an empty container.
    if (const auto* metadata = array_member(*container, "Metadata")) {
      for (const auto& entry : metadata->GetArray()) {
        on_entry(entry);
      }
      page.received = static_cast<std::int64_t>(metadata->Size());
    }
    return page;
  }

  // The token's user's playlists: GET /playlists and /playlists/{id}/items, paged.
  detail::PlaylistListing playlist_listing() {
    return detail::PlaylistListing{
        *m_client,
        m_conn,
        "ratingKey",
        "playlistItemID", // smart playlists have none: their entries are never edited
        [this](std::int64_t start, std::int64_t size) {
          return paged_get("/playlists", start, size);
        },
        [this](const std::string& id, std::int64_t start, std::int64_t size) {
          return paged_get(fmt::format("/playlists/{}/items", detail::url_encode(id)), start, size);
        },
        [this](http::Outcome& outcome, const std::string& url, const char* what,
               const detail::OnEntry& on_entry) { return read_page(outcome, url, what, on_entry); },
        map_playlist,
    };
  }

  // The machine identifier the library uri names (GET / once, kept).
  const std::string& machine_id() {
    if (m_machine_id.empty()) {
      (void)server_info();
    }
    return m_machine_id;
  }

  // server://{machine}/com.plexapp.plugins.library/library/metadata/{id},{id}...
  std::string items_uri(const std::vector<std::string>& item_ids) {
    return fmt::format("server://{}/{}/library/metadata/{}", machine_id(), k_library_identifier,
                       fmt::join(item_ids, ","));
  }

  // PUT /playlists/{id}/items?uri=... : `item_ids` appended at the end. PMS answers with how
  // many it added; fewer than sent (an id it does not know, or cannot play) fails the call, as
  // the caller takes the last entries for the ones it added.
  void append_items(const std::string& playlist_id, const std::vector<std::string>& item_ids) {
    if (item_ids.empty()) {
      return;
    }
    auto request = get(fmt::format("/playlists/{}/items?uri={}", detail::url_encode(playlist_id),
                                   detail::url_encode(items_uri(item_ids))));
    request.method = http::Method::put;
    request.retry = false; // a lost answer must not append the items twice
    const std::string url = request.url;
    auto outcome = detail::send_playlist_request(*m_client, m_conn.name, std::move(request),
                                                 detail::playlist_subject(playlist_id),
                                                 detail::token_source(m_conn.type));
    if (outcome.response.body.empty()) {
      return;
    }
    rapidjson::Document doc;
    detail::parse_json_body(doc, outcome.response.body, m_conn.name, "playlist addition", url);
    const auto* container = container_of(doc, "playlist addition", url);
    const auto added = int_member(*container, "leafCountAdded");
    const auto requested = int_member(*container, "leafCountRequested");
    if (added && requested && *added < *requested) {
      detail::throw_protocol(m_conn.name, "playlist addition", url,
                             fmt::format("playlist {}: the server added {} of the {} items sent",
                                         playlist_id, *added, *requested));
    }
  }

  // Whether a session of account `user_id` belongs to the configured user; without one the
  // token's owner is meant, which is the server admin, account 1.
  bool session_is_ours(const std::optional<std::string>& user_id) const {
    if (m_conn.user.empty()) {
      return !user_id || user_id->empty() || *user_id == "1";
    }
    return user_id && *user_id == m_conn.user;
  }

  struct Listing {
    const std::vector<Library>& libraries;
    const std::vector<Stream>& streams;
    // Episodes whose show was not known yet when their page arrived wait here.
    detail::EpisodeHold hold;
  };

  void add_found(detail::FoundItems& found, const rapidjson::Value& entry) {
    const auto type = string_member(entry, "type").value_or("");
    if (type == "show") {
      if (auto id = id_member(entry, "ratingKey")) {
        found.add_show(map_show(entry, *id, m_conn.guid_rules));
      }
      return;
    }
    map_item(entry, id_member(entry, "librarySectionID").value_or(""),
             [&found](RemoteItem&& item) { found.add_item(std::move(item)); });
  }

  std::vector<FoundItem> finish_found(detail::FoundItems& found) {
    resolve_missing_shows(found.hold());
    return found.take();
  }

  http::Request get(std::string path_and_query) const {
    http::Request request;
    request.method = http::Method::get;
    request.url = m_conn.url + path_and_query;
    request.headers = {
        {"Accept", "application/json"},
        {"X-Plex-Token", m_conn.token},
        {"X-Plex-Client-Identifier", std::string(k_client_identifier)},
        {"X-Plex-Product", "watchstate"},
        {"X-Plex-Version", WS_VERSION},
        {"X-Plex-Platform", std::string(k_platform)},
        {"X-Plex-Device-Name", "watchstate"},
    };
    return request;
  }

  http::Request listing_request(const Library& library, int type, std::int64_t start,
                                std::int64_t size) const {
    // k_listing_trim leaves out what map_item and map_show never read.
    std::string query = fmt::format("/library/sections/{}/all?includeGuids=1&type={}&{}",
                                    detail::url_encode(library.id), type, k_listing_trim);
    if (const auto sort = sort_for(type); !sort.empty()) {
      query += fmt::format("&sort={}", sort);
    }
    query += fmt::format("&X-Plex-Container-Start={}&X-Plex-Container-Size={}", start, size);
    auto request = get(std::move(query));
    request.headers.push_back({"X-Plex-Container-Start", std::to_string(start)});
    request.headers.push_back({"X-Plex-Container-Size", std::to_string(size)});
    return request;
  }

  const rapidjson::Value* container_of(const rapidjson::Value& doc, std::string_view what,
                                       std::string_view url) const {
    const auto* container = object_member(doc, "MediaContainer");
    if (container == nullptr) {
      detail::throw_protocol(m_conn.name, what, url, "no MediaContainer object");
    }
    return container;
  }

  // Fill Stream::total from one size-0 request per stream, sent together.
  void count_streams(const std::vector<Library>& libraries, std::vector<Stream>& streams) {
    std::vector<http::Request> requests;
    std::vector<std::string> urls;
    for (const auto& stream : streams) {
      requests.push_back(listing_request(libraries[stream.library], stream.type, 0, 0));
      urls.push_back(requests.back().url);
    }
    detail::FirstError error;
    m_client->send_all(std::move(requests), [&](std::size_t index, http::Outcome& outcome) {
      error.run([&] {
        detail::check_outcome(m_conn.name, urls[index], outcome, detail::token_source(m_conn.type));
        auto total =
            parse_count(detail::header_value(outcome.response, "X-Plex-Container-Total-Size"));
        if (total < 0) {
          rapidjson::Document doc;
          detail::parse_json_body(doc, outcome.response.body, m_conn.name, "item count",
                                  urls[index]);
          const auto* container = container_of(doc, "item count", urls[index]);
          total = int_member(*container, "totalSize").value_or(-1);
          if (total < 0) {
            detail::throw_protocol(m_conn.name, "item count", urls[index],
                                   "neither X-Plex-Container-Total-Size nor totalSize");
          }
        }
        streams[index].total = total;
      });
    });
    error.rethrow();
  }

  // Send one batch of pages; return the follow-up pages short responses call for.
  std::vector<PendingPage> fetch_pages(Listing& listing, const std::vector<PendingPage>& pages) {
    std::vector<http::Request> requests;
    std::vector<std::string> urls;
    requests.reserve(pages.size());
    for (const auto& page : pages) {
      const auto& stream = listing.streams[page.stream];
      requests.push_back(listing_request(listing.libraries[stream.library], stream.type,
                                         page.window.start, page.window.size));
      urls.push_back(requests.back().url);
    }
    std::vector<PendingPage> follow_ups;
    detail::FirstError error;
    m_client->send_all(std::move(requests), [&](std::size_t index, http::Outcome& outcome) {
      error.run([&] {
        detail::check_outcome(m_conn.name, urls[index], outcome, detail::token_source(m_conn.type));
        const auto& page = pages[index];
        const auto result = process_page(listing, page, outcome, urls[index]);
        const std::int64_t total =
            result.total >= 0 ? result.total : listing.streams[page.stream].total;
        if (auto next = detail::follow_up_page(page.window, result.received, total)) {
          follow_ups.push_back(PendingPage{page.stream, *next});
        }
      });
    });
    error.rethrow();
    return follow_ups;
  }

  struct PageResult {
    std::int64_t received = 0; // entries the page held
    std::int64_t total = -1;   // totalSize the server reported, -1 when none
  };

  // Parse one page and hand its items on.
  PageResult process_page(Listing& listing, const PendingPage& page, http::Outcome& outcome,
                          const std::string& url) {
    rapidjson::Document doc;
    detail::parse_json_body(doc, outcome.response.body, m_conn.name, "item page", url);
    const auto* container = container_of(doc, "item page", url);
    PageResult result;
    result.total = int_member(*container, "totalSize").value_or(-1);
    if (result.total < 0) {
      result.total =
          parse_count(detail::header_value(outcome.response, "X-Plex-Container-Total-Size"));
    }
    const auto* metadata = array_member(*container, "Metadata");
    if (metadata == nullptr) {
      return result;
    }
    const auto& stream = listing.streams[page.stream];
    const Library& library = listing.libraries[stream.library];
    std::string library_id = id_member(*container, "librarySectionID").value_or(library.id);
    for (const auto& entry : metadata->GetArray()) {
      if (stream.type == k_type_show) {
        if (auto id = id_member(entry, "ratingKey")) {
          listing.hold.add_show(*id, map_show(entry, *id, m_conn.guid_rules));
        }
        continue;
      }
      map_item(entry, library_id,
               [&listing](RemoteItem&& item) { listing.hold.offer(std::move(item)); });
    }
    result.received = static_cast<std::int64_t>(metadata->Size());
    return result;
  }

  template <typename Emit>
  void map_item(const rapidjson::Value& entry, const std::string& library_id, Emit&& emit) {
    const auto type = string_member(entry, "type").value_or("");
    if (type != "movie" && type != "episode") {
      log::debug("{}: skipping item of type '{}'", m_conn.name, type);
      note_dropped();
      return;
    }
    auto id = id_member(entry, "ratingKey");
    if (!id) {
      log::warning("{}: skipping a {} without ratingKey", m_conn.name, type);
      note_dropped();
      return;
    }
    RemoteItem item;
    item.type = type == "movie" ? MediaType::movie : MediaType::episode;
    item.id = std::move(*id);
    item.played = int_member(entry, "viewCount").value_or(0) > 0;
    item.last_played = int_member(entry, "lastViewedAt").value_or(0);
    item.added_at = int_member(entry, "addedAt").value_or(0);
    item.progress_ms = int_member(entry, "viewOffset").value_or(0);
    item.duration_ms = int_member(entry, "duration").value_or(0);
    item.year = plex_year(entry);
    item.library_id = id_member(entry, "librarySectionID").value_or(library_id);
    item.path = first_part_file(entry);
    item.guids = plex_item_guids(entry, m_conn.guid_rules);
    if (item.type == MediaType::movie) {
      item.title = std::string(string_member(entry, "title").value_or(""));
      emit(std::move(item));
      return;
    }
    item.title = std::string(string_member(entry, "grandparentTitle").value_or(""));
    item.season = static_cast<int>(int_member(entry, "parentIndex").value_or(-1));
    item.episode = static_cast<int>(int_member(entry, "index").value_or(-1));
    item.show_id = id_member(entry, "grandparentRatingKey")
                       .value_or(id_member(entry, "parentRatingKey").value_or(""));
    emit_episodes(std::move(item), emit);
  }

  // A file named as an episode range that starts at this episode of this season
  // stands for every episode of the range.
  template <typename Emit> void emit_episodes(RemoteItem item, Emit& emit) {
    const auto range = item.path.empty() ? std::nullopt : parse_episode_range(item.path);
    if (!range || range->last <= range->first) {
      emit(std::move(item));
      return;
    }
    item.multi = true;
    const bool same_season = range->season < 0 || range->season == item.season;
    if (!same_season || range->first != item.episode) {
      emit(std::move(item));
      return;
    }
    const std::string label = fmt::format("'{}'", item.path);
    detail::emit_episode_range(std::move(item), range->last, m_conn.name, label, emit);
  }

  // Fetch each show that episodes referenced but no series page listed, then release the
  // episodes that waited for it.
  void resolve_missing_shows(detail::EpisodeHold& hold) {
    detail::ShowLookup lookup{
        "show",
        [this](const std::string& id) {
          return get(fmt::format("/library/metadata/{}?includeGuids=1", detail::url_encode(id)));
        },
        [this](const std::string& id, http::Outcome& outcome, const std::string& url) {
          rapidjson::Document doc;
          detail::parse_json_body(doc, outcome.response.body, m_conn.name, "show metadata", url);
          const auto* container = container_of(doc, "show metadata", url);
          const auto* metadata = array_member(*container, "Metadata");
          if (metadata == nullptr || metadata->Empty() || !(*metadata)[0].IsObject()) {
            detail::throw_protocol(m_conn.name, "show metadata", url, "no Metadata entry");
          }
          return map_show((*metadata)[0], id, m_conn.guid_rules);
        },
    };
    detail::resolve_missing_shows(*m_client, m_conn, hold, lookup);
  }

  Connection m_conn;
  std::unique_ptr<http::Client> m_client;
  std::string m_machine_id; // from server_info(), for playlist writes
};

} // namespace

std::unique_ptr<Backend> make_plex_backend(const Connection& connection,
                                           std::unique_ptr<http::Client> client) {
  return std::make_unique<PlexBackend>(connection, std::move(client));
}

} // namespace ws::backend::plex
