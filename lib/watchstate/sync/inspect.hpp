// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/backend/backend.hpp>
#include <watchstate/config/config.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/sync/run_context.hpp>
#include <watchstate/sync/services.hpp>
#include <watchstate/sync/title_match.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ws::sync {

// What ws-backend reports about one backend, as seen by one identity.

// One person a backend knows.
struct UserEntry {
  backend::RemoteUser user;
  // Plex: "owner", "home", "managed", "friend" (from plex.tv) or "account" (only the server's
  // own account list); Jellyfin/Emby: "user".
  std::string kind;
  bool token_available = false; // Plex: a server token can be obtained for an identity
};

struct LibraryEntry {
  backend::Library library;
  bool ignored = false; // listed in options.ignore
};

// A search or lookup hit with the local row it matches.
struct InspectedItem {
  backend::FoundItem found;
  std::vector<std::string> keys;          // matching keys; empty: no usable id (never synced)
  std::optional<db::ItemRow> local;       // movies and episodes only
  std::vector<db::BackendRecord> records; // every copy of `local` on every backend
};

struct MismatchedEntry {
  backend::FoundItem::Kind kind = backend::FoundItem::Kind::movie;
  std::string id;
  std::string title;
  int year = 0;
  std::string path;
  std::string library_id;
  TitleScore score;
};

struct MismatchReport {
  double threshold = 0;
  std::uint64_t checked = 0; // movies and series with a path
  std::vector<MismatchedEntry> items;
};

struct UnmatchedReport {
  std::uint64_t checked = 0; // movies and episodes listed
  std::vector<backend::RemoteItem> items;
};

struct StaleEntry {
  db::ItemRow row;
  db::BackendRecord record;
};

struct StaleReport {
  std::uint64_t remote = 0;      // items the backend lists now (outside ignored libraries)
  std::uint64_t local = 0;       // local rows that point to this backend
  std::vector<StaleEntry> stale; // local rows whose item the backend no longer has
};

// One backend of one identity, opened for inspection. Every call asks the server (throws
// ws::Error like backend::Backend); local rows come from `store`, which is only read.
class BackendInspector {
public:
  BackendInspector(const Services& services, const config::Config& config,
                   const config::BackendConfig& backend, db::StateStore& store,
                   std::string identity, const RunOptions& options);
  ~BackendInspector();
  BackendInspector(const BackendInspector&) = delete;
  BackendInspector& operator=(const BackendInspector&) = delete;

  model::ServerInfo info();
  // The server's accounts; for Plex also plex.tv's home users, managed users and friends of
  // the server (when plex.tv cannot be asked, the server's list alone, with a warning).
  std::vector<UserEntry> users();
  std::vector<LibraryEntry> libraries();
  std::vector<InspectedItem> search(const std::string& query, int limit);
  // Empty when the server has no item with that id.
  std::vector<InspectedItem> item(const std::string& id);
  // Movies and episodes of the wanted libraries with no usable external id.
  UnmatchedReport unmatched();
  // Movies and series whose title resembles none of their file or folder names (score below
  // `threshold`, 0..100).
  MismatchReport mismatched(double threshold);
  // Local rows whose item the backend no longer lists (rows of ignored libraries excepted).
  StaleReport stale();

  [[nodiscard]] std::uint64_t requests_sent() const;
  [[nodiscard]] std::uint64_t bytes_received() const;

private:
  InspectedItem inspect(backend::FoundItem&& found, const model::ShowCache& shows);

  Services m_services;
  const config::Config& m_config;
  const config::BackendConfig& m_backend;
  RunOptions m_options;
  db::StateStore& m_store;
  std::string m_identity;
  std::unique_ptr<backend::Backend> m_adapter;
};

std::string_view library_kind_name(backend::LibraryKind kind);
std::string_view found_kind_name(backend::FoundItem::Kind kind);

} // namespace ws::sync
