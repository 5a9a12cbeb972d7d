// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/backend/backend.hpp>
#include <watchstate/core/time.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ws::db {

using ItemId = std::int64_t;

// One movie or episode of one identity: the local play state.
struct ItemRow {
  ItemId id = 0;
  std::string identity;
  backend::MediaType type = backend::MediaType::movie;
  std::string title; // movie title; for episodes the series title
  int year = 0;
  int season = -1;
  int episode = -1;
  bool watched = false;
  UnixTime updated = 0; // play-state time: last played, or when it was unmarked (0: never played)
  std::int64_t progress_ms = 0; // resume position of an unwatched item
  UnixTime progress_at = 0;     // when that position was observed
  std::string via;              // backend that last set the state
  UnixTime created_at = 0;
  UnixTime updated_at = 0; // last write of this row (export selects rows by it)
};

// What one backend reported about an item at its last import (WatchState's metadata.<backend>).
struct BackendRecord {
  std::string backend;
  std::string remote_id;
  std::string library_id;
  std::string show_id;
  bool watched = false;
  UnixTime played_at = 0; // 0 when unplayed
  UnixTime added_at = 0;
  std::int64_t progress_ms = 0;
  std::string path;
  bool multi = false;
  backend::Guids guids; // the backend's own external ids for the item
  std::int64_t duration_ms = 0;
  // What the backend says the item is (ws-parity compares them): year (0 unknown), and for
  // episodes season and episode number (-1 unknown).
  int year = 0;
  int season = -1;
  int episode = -1;
  friend bool operator==(const BackendRecord&, const BackendRecord&) = default;
};

// One change of a played flag or resume position.
struct ChangeEntry {
  std::int64_t id = 0;
  ItemId item_id = 0;
  std::string backend;   // where the change came from (import) or went to (export)
  std::string direction; // "import" or "export"
  std::string field;     // "watched" or "progress"
  std::string old_value; // "played@<unix>", "unplayed@<unix>", "<ms>" or "" for none
  std::string new_value;
  UnixTime at = 0;
  std::string outcome = "ok"; // export: "ok" or why the write failed
};

struct ListFilter {
  std::string identity = "main";
  std::string title_contains; // case-insensitive substring, empty = any
  std::optional<bool> watched;
  std::size_t limit = 0; // 0 = no limit
};

// The local state database (SQLite, WAL). One connection, used from one thread.
// Every SQLite failure is converted to ws::Error here: Errc::tempfail when the database is busy
// or locked, Errc::no_perm when it cannot be opened for lack of permission, else Errc::io.
class StateStore {
public:
  // Open (creating if needed) the database at `file` and bring its schema up to date.
  explicit StateStore(const std::filesystem::path& file);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // A transaction (a savepoint when one is already open); rolled back on destruction unless
  // committed.
  class Transaction {
  public:
    explicit Transaction(StateStore& store);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

  private:
    StateStore& m_store;
    bool m_nested = false;
    bool m_done = false;
  };

  [[nodiscard]] int schema_version() const;

  // --- Matching ---
  // The item a matching key ("imdb://tt1/movie", "rtvdb://100/1/2") points to.
  std::optional<ItemId> find_by_key(const std::string& identity, const std::string& key);
  // Point `key` at `item` unless the key exists already (then it keeps its item: the first
  // item a key was seen on owns it). Returns whether the key was added.
  bool add_key(const std::string& identity, const std::string& key, ItemId item);
  std::vector<std::string> keys_of(ItemId item);
  // Items of `identity` that `backend` reported with id `remote_id`.
  std::vector<ItemId> find_by_remote_id(const std::string& identity, const std::string& backend,
                                        const std::string& remote_id);

  // --- Items ---
  std::optional<ItemRow> item(ItemId id);
  // Insert `row` (its id is ignored) and return the new id.
  ItemId insert_item(const ItemRow& row);
  // Write the play-state columns (watched, updated, progress_ms, progress_at, via) and updated_at.
  void update_item_state(const ItemRow& row);
  void list_items(const ListFilter& filter, const std::function<void(const ItemRow&)>& on_row);
  std::int64_t count_items(const std::string& identity);

  // --- Per-backend records ---
  std::optional<BackendRecord> record(ItemId item, const std::string& backend);
  std::vector<BackendRecord> records(ItemId item);
  void upsert_record(ItemId item, const BackendRecord& record);
  // Remove the records `backend` holds for items of `identity` other than `kept`: what a
  // complete listing no longer reports. Returns how many were removed.
  std::int64_t remove_records_except(const std::string& identity, const std::string& backend,
                                     const std::vector<ItemId>& kept);
  // Remove the items of `identity` that no backend reports any more (with their keys and
  // change log). With `dry_run` only list them. Returns the items (removed or to remove).
  std::vector<ItemRow> prune_unreported(const std::string& identity, bool dry_run);
  // Every item of `identity` that `backend` has reported, with that backend's record, by id.
  // Light: the row has no via/dates of writing, the record no path, library, show or guids.
  void for_each_with_record(const std::string& identity, const std::string& backend,
                            const std::function<void(const ItemRow&, const BackendRecord&)>& on_pair);

  // --- Change log ---
  void log_change(const ChangeEntry& entry);
  std::vector<ChangeEntry> changes(ItemId item);

  // --- Sync cursors, per (identity, backend, kind) where kind is "import" or "export" ---
  std::optional<UnixTime> cursor(const std::string& identity, const std::string& backend,
                                 const std::string& kind);
  void set_cursor(const std::string& identity, const std::string& backend,
                  const std::string& kind, UnixTime value);

  // --- Series ids of each backend, kept across runs ---
  backend::ShowCache load_shows(const std::string& backend);
  void save_show(const std::string& backend, const backend::RemoteShow& show);

  // --- The server id each backend reported at its last import ---
  void save_server(const std::string& backend, const backend::ServerInfo& info);
  std::optional<backend::ServerInfo> server(const std::string& backend);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// "imdb", "tvdb", ... as stored; "episode"/"movie" for MediaType.
std::string_view media_type_name(backend::MediaType type);

} // namespace ws::db
