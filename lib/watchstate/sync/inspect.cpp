// SPDX-License-Identifier: MIT
#include <watchstate/sync/inspect.hpp>

#include <watchstate/core/error.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/sync/matching.hpp>
#include <watchstate/sync/open_backend.hpp>
#include <watchstate/sync/user_token.hpp>

#include <algorithm>
#include <unordered_set>
#include <utility>

namespace ws::sync {

using backend::FoundItem;

namespace {

// The series of an episode in `shows` (nullptr for a movie or an unknown series).
const model::RemoteShow* show_of(const backend::RemoteItem& item, const model::ShowCache& shows) {
  if (item.type != model::MediaType::episode) {
    return nullptr;
  }
  const auto show = shows.find(item.show_id);
  return show == shows.end() ? nullptr : &show->second;
}

} // namespace

std::string_view library_kind_name(backend::LibraryKind kind) {
  switch (kind) {
  case backend::LibraryKind::movies: return "movies";
  case backend::LibraryKind::shows: return "shows";
  case backend::LibraryKind::mixed: return "mixed";
  }
  return "unknown";
}

std::string_view found_kind_name(FoundItem::Kind kind) {
  switch (kind) {
  case FoundItem::Kind::movie: return "movie";
  case FoundItem::Kind::episode: return "episode";
  case FoundItem::Kind::show: return "show";
  }
  return "unknown";
}

BackendInspector::BackendInspector(const Services& services, const config::Config& config,
                                   const config::BackendConfig& backend, db::StateStore& store,
                                   std::string identity, const RunOptions& options)
    : m_services(services), m_config(config), m_backend(backend), m_options(options),
      m_store(store), m_identity(std::move(identity)),
      m_adapter(open_backend(services, config, backend, options)) {}

BackendInspector::~BackendInspector() = default;

std::uint64_t BackendInspector::requests_sent() const { return m_adapter->requests_sent(); }

std::uint64_t BackendInspector::bytes_received() const { return m_adapter->bytes_received(); }

model::ServerInfo BackendInspector::info() { return m_adapter->server_info(); }

std::vector<UserEntry> BackendInspector::users() {
  std::vector<UserEntry> result;
  const bool plex = m_backend.type == model::BackendType::plex;
  for (auto& user : m_adapter->users()) {
    result.push_back(UserEntry{std::move(user), plex ? "account" : "user", false});
  }
  if (!plex) {
    return result;
  }
  // The people of the Plex account (plex.tv): who can have an identity, and how.
  std::vector<backend::plex::PlexTvUser> people;
  try {
    people = plex_tv_users(m_services, m_config, m_backend,
                           client_options(m_config, m_backend, m_options));
  } catch (const Error& e) {
    log::warning("{}: plex.tv not asked ({}); only the server's accounts are listed",
                 m_backend.name, redact(e.what()));
    return result;
  }
  for (const auto& person : people) {
    const auto kind = person.admin     ? "owner"
                      : person.managed ? "managed"
                      : person.home    ? "home"
                                       : "friend";
    auto same = std::find_if(result.begin(), result.end(),
                             [&](const UserEntry& e) { return e.user.id == person.id; });
    if (same == result.end()) {
      result.push_back(UserEntry{backend::RemoteUser{person.id, person.name, person.admin, false},
                                 kind, person.token_available});
    } else {
      same->kind = kind;
      same->token_available = person.token_available;
    }
  }
  return result;
}

std::vector<LibraryEntry> BackendInspector::libraries() {
  std::vector<LibraryEntry> result;
  for (auto& library : m_adapter->libraries()) {
    const bool ignored = library_ignored(m_backend, library);
    result.push_back(LibraryEntry{std::move(library), ignored});
  }
  return result;
}

InspectedItem BackendInspector::inspect(FoundItem&& found, const model::ShowCache& shows) {
  InspectedItem result;
  result.found = std::move(found);
  if (result.found.kind == FoundItem::Kind::show) {
    return result;
  }
  const auto& item = result.found.item;
  result.keys = matching_keys(item, show_of(item, shows));
  // The row this backend's item was recorded on at the last import, else the row its ids match.
  for (const auto& [id, record] :
       m_store.records_by_remote_id(m_identity, m_backend.name, item.id)) {
    auto row = m_store.item(id);
    if (row && (item.type == model::MediaType::movie || record.episode == item.episode)) {
      result.local = std::move(row);
      break;
    }
  }
  for (const auto& key : result.keys) {
    if (result.local) {
      break;
    }
    for (const auto id : m_store.items_by_key(m_identity, key)) {
      if (auto row = m_store.item(id); row && row->type == item.type) {
        result.local = std::move(row);
        break;
      }
    }
  }
  if (result.local) {
    // Every copy of the item: on this backend and on the others.
    result.records = m_store.records(result.local->id);
  }
  return result;
}

std::vector<InspectedItem> BackendInspector::search(const std::string& query, int limit) {
  auto shows = m_store.load_shows(m_identity, m_backend.name);
  std::vector<InspectedItem> result;
  for (auto& found : m_adapter->search(query, limit, shows)) {
    result.push_back(inspect(std::move(found), shows));
  }
  return result;
}

std::vector<InspectedItem> BackendInspector::item(const std::string& id) {
  auto shows = m_store.load_shows(m_identity, m_backend.name);
  std::vector<InspectedItem> result;
  for (auto& found : m_adapter->find_item(id, shows)) {
    result.push_back(inspect(std::move(found), shows));
  }
  return result;
}

UnmatchedReport BackendInspector::unmatched() {
  const auto libraries = wanted_libraries(*m_adapter, m_backend);
  model::ShowCache shows = m_store.load_shows(m_identity, m_backend.name);
  UnmatchedReport report;
  m_adapter->list_items(libraries, shows, [&](backend::RemoteItem&& item) {
    ++report.checked;
    if (matching_keys(item, show_of(item, shows)).empty()) {
      report.items.push_back(std::move(item));
    }
  });
  return report;
}

MismatchReport BackendInspector::mismatched(double threshold) {
  const auto libraries = wanted_libraries(*m_adapter, m_backend);
  // A fresh cache: the series listing then carries every series' folder.
  model::ShowCache shows;
  MismatchReport report;
  report.threshold = threshold;
  auto check = [&](FoundItem::Kind kind, const std::string& id, const std::string& title, int year,
                   const std::string& path, const std::string& library_id) {
    if (path.empty()) {
      return;
    }
    ++report.checked;
    auto score = score_title({title}, year, path, kind == FoundItem::Kind::show);
    if (score.score < threshold) {
      report.items.push_back(
          MismatchedEntry{kind, id, title, year, path, library_id, std::move(score)});
    }
  };
  m_adapter->list_items(libraries, shows, [&](backend::RemoteItem&& item) {
    if (item.type == model::MediaType::movie) {
      check(FoundItem::Kind::movie, item.id, item.title, item.year, item.path, item.library_id);
    }
  });
  std::vector<const model::RemoteShow*> ordered;
  for (const auto& [id, show] : shows) {
    ordered.push_back(&show);
  }
  std::sort(ordered.begin(), ordered.end(),
            [](const auto* a, const auto* b) { return a->title < b->title; });
  for (const auto* show : ordered) {
    check(FoundItem::Kind::show, show->id, show->title, show->year, show->path, "");
  }
  return report;
}

StaleReport BackendInspector::stale() {
  std::unordered_set<std::string> ignored_libraries;
  std::vector<backend::Library> listed;
  for (auto& entry : libraries()) {
    if (entry.ignored) {
      ignored_libraries.insert(entry.library.id);
    } else {
      listed.push_back(std::move(entry.library));
    }
  }
  std::unordered_set<std::string> remote_ids;
  model::ShowCache shows = m_store.load_shows(m_identity, m_backend.name);
  StaleReport report;
  m_adapter->list_items(listed, shows, [&](backend::RemoteItem&& item) {
    if (remote_ids.insert(item.id).second) {
      ++report.remote;
    }
  });
  std::vector<db::RecordRef> missing;
  m_store.for_each_with_record(m_identity, m_backend.name,
                               [&](const db::ItemRow& row, const db::BackendRecord& record) {
                                 ++report.local;
                                 if (remote_ids.count(record.remote_id) == 0) {
                                   missing.push_back({row.id, record.remote_id});
                                 }
                               });
  for (const auto& ref : missing) {
    auto row = m_store.item(ref.item);
    std::optional<db::BackendRecord> record;
    for (auto& r : m_store.records(ref.item, m_backend.name)) {
      if (r.remote_id == ref.remote_id) {
        record = std::move(r);
      }
    }
    if (!row || !record) {
      continue;
    }
    // A library the config ignores is not listed, so its rows cannot be judged.
    if (ignored_libraries.count(record->library_id) != 0) {
      --report.local;
      continue;
    }
    report.stale.push_back(StaleEntry{std::move(*row), std::move(*record)});
  }
  return report;
}

} // namespace ws::sync
