// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/core/time.hpp>
#include <watchstate/model/media.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ws::db {

using ItemId = std::int64_t;

// One movie or episode of one identity: the local play state.
struct ItemRow {
  ItemId id = 0;
  std::string identity;
  model::MediaType type = model::MediaType::movie;
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
  model::Guids guids; // the backend's own external ids for the item
  std::int64_t duration_ms = 0;
  // What the backend says the item is (ws-parity compares them): year (0 unknown), and for
  // episodes season and episode number (-1 unknown).
  int year = 0;
  int season = -1;
  int episode = -1;
  // Path matching (opt-in): the file's path relative to its library root, normalised; "" off.
  std::string path_key;
  // The title as the backend gives it (an episode's: its series' title).
  std::string title;
  friend bool operator==(const BackendRecord&, const BackendRecord&) = default;
};

// The digest of everything a record holds but its backend name (the fields its == compares):
// two records with the same digest are taken to be the same (core/digest.hpp).
std::uint64_t record_digest(const BackendRecord& record);

// What names a backend's record of an item: the remote id, and for a multi-episode file the
// episode (season and episode number), as one hash.
std::uint64_t record_lookup_key(std::string_view remote_id, int season, int episode);

// A record's place and digest (StateStore::record_digests).
struct RecordDigest {
  std::uint64_t lookup = 0; // record_lookup_key
  ItemId item = 0;
  std::uint64_t digest = 0; // record_digest
};

// One record of a backend's item on a row, named.
struct RecordRef {
  ItemId item = 0;
  std::string remote_id;
};

// An id the matching did not use (sync/matching.hpp: ConflictKind), for the record of
// (backend, remote_id) on row `item`.
struct ConflictRecord {
  std::string backend;
  std::string remote_id;
  ItemId item = 0;
  std::string key;  // the matching key of the id: "tmdb://5/movie"
  ItemId other = 0; // the row the id points to or disagrees with
  std::string kind; // "disagree", "other_row", "ambiguous"
  friend bool operator==(const ConflictRecord&, const ConflictRecord&) = default;
};

// A server item an ignore rule (config matching.ignore) touched at the backend's last listing:
// kept out of the sync ("item") or stripped of an id ("id").
struct IgnoredItem {
  std::string backend;
  std::string remote_id;
  std::string rule; // the rule's text (config::IgnoreRule::text)
  std::string title;
  std::string kind; // "item" or "id"
  friend bool operator==(const IgnoredItem&, const IgnoredItem&) = default;
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

// What `ws-state list` selects: every filter that is set must hold. Done in SQL, rows streamed.
struct ItemQuery {
  std::string identity = "main";
  std::string title_contains; // case-insensitive substring, empty = any
  std::optional<bool> watched;
  std::optional<model::MediaType> type;
  std::optional<int> year;
  std::optional<int> season;  // episodes of this season
  std::optional<int> episode; // episodes with this number
  // An external id: items that have it as their own id, and episodes of a series that has it.
  std::optional<model::Guid> external_id;
  std::string path_contains; // case-insensitive substring of a file path any backend reported
  std::string backend;       // rows this backend holds a record for, empty = any
  std::size_t limit = 0;     // 0 = no limit
};

// What forget_item removed (or, inside a transaction rolled back, would remove).
struct ForgottenItem {
  ItemRow row;
  std::vector<std::string> keys;
  std::vector<BackendRecord> records;
  std::int64_t changes = 0;   // change log entries
  std::int64_t conflicts = 0; // recorded conflicts naming the row
};

// One backend's copy of a playlist, as the last ws-playlist run left it.
struct PlaylistCopy {
  std::string backend;
  std::string remote_id; // "" when deleted
  std::string signature; // the copy's title and item ids as last seen or written
  bool deleted = false;  // the user deleted it there: not re-created
  UnixTime seen_at = 0;  // when that signature was first seen
  friend bool operator==(const PlaylistCopy&, const PlaylistCopy&) = default;
};

// A playlist of one identity as last synced: its title and items (local rows, in order).
struct PlaylistRow {
  std::int64_t id = 0; // 0: not stored yet
  std::string identity;
  std::string title;
  std::string name_key;      // what copies are matched by: the title, trimmed and case-folded
  std::vector<ItemId> items; // in order; an item may appear twice
  UnixTime updated = 0;      // when the list was last edited (the edit that won)
  std::string source;        // the backend whose copy the list was taken from
  UnixTime synced_at = 0;
  std::vector<PlaylistCopy> copies; // by backend name
  friend bool operator==(const PlaylistRow&, const PlaylistRow&) = default;
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

  // While it lives, commits leave what they wrote in the write-ahead log instead of copying
  // it into the database file once the log holds 1,000 pages (SQLite's automatic checkpoint);
  // its end copies the log once. A first import changes the same pages in each backend's
  // transaction (records are stored by row, and each backend adds one to most rows): copied
  // after each commit, most pages were copied, and synced, three times. The log is not
  // restarted while a run writes, so it grows as large either way (259 MB beside a 131 MB
  // database for 3 x 100,000 items); once copied (and no reader still needs it), the next
  // transaction starts it again from its beginning, and the run removes it when it closes the
  // database. Create it before the transactions it spans, so that they end first.
  class DeferredCheckpoint {
  public:
    explicit DeferredCheckpoint(StateStore& store);
    ~DeferredCheckpoint();
    DeferredCheckpoint(const DeferredCheckpoint&) = delete;
    DeferredCheckpoint& operator=(const DeferredCheckpoint&) = delete;

  private:
    StateStore& m_store;
    bool m_active = false; // false: an outer one is active (or the pragma failed)
  };

  [[nodiscard]] int schema_version() const;
  // Changes whenever another connection (another process) commits to the database; this
  // connection's own commits leave it as it is (SQLite's PRAGMA data_version).
  [[nodiscard]] std::int64_t data_version() const;

  // --- Matching keys: "imdb://tt1/movie", "rtvdb://100/1/2", ... ---
  // A key may point to several rows (an episode id two episodes share, a row of its own for an
  // ambiguous item); the matching rules (sync/matching.hpp) decide between them.
  // The rows `key` points to, lowest id first.
  std::vector<ItemId> items_by_key(const std::string& identity, const std::string& key);
  // Point `key` at `item` (also). Returns whether it was new.
  bool add_key(const std::string& identity, const std::string& key, ItemId item);
  // A key and the row it points to, for add_keys (the text is not copied).
  struct KeyRow {
    std::string_view key;
    ItemId item = 0;
    friend bool operator<(const KeyRow& a, const KeyRow& b) {
      return std::tie(a.key, a.item) < std::tie(b.key, b.item);
    }
  };
  // Point each key at its item (also), as add_key does one by one; for many keys at once (a
  // first import writes hundreds of thousands), several to a statement.
  void add_keys(const std::string& identity, const std::vector<KeyRow>& keys);
  void remove_key(const std::string& identity, const std::string& key, ItemId item);
  std::vector<std::string> keys_of(ItemId item);
  // Whether `identity` has any key (one index probe): not before its first import.
  bool has_keys(const std::string& identity);

  // --- Items ---
  std::optional<ItemRow> item(ItemId id);
  // Insert `row` (its id is ignored) and return the new id.
  ItemId insert_item(const ItemRow& row);
  // Write the play-state columns (watched, updated, progress_ms, progress_at, via) and updated_at.
  void update_item_state(const ItemRow& row);
  void list_items(const ListFilter& filter, const std::function<void(const ItemRow&)>& on_row);
  std::int64_t count_items(const std::string& identity);
  // Fold row `from` into row `into`: its records, change log and conflicts move over, `from` is
  // deleted. The play state is the caller's (it writes `into`'s); so are the keys (the caller
  // knows which keys `from` had from its records).
  void merge_item(ItemId into, ItemId from);

  // --- Per-backend records: what a backend reported about each of its items ---
  // One per (backend, remote item, row): an item can have several copies on one backend
  // (another library, another file), and a multi-episode file covers several rows.
  std::vector<BackendRecord> records(ItemId item);
  std::vector<BackendRecord> records(ItemId item, const std::string& backend);
  // Row `item` with what each of its records says the item is (backend, remote_id, show_id,
  // guids, year, season, episode, path_key, title; the other fields left default), in one
  // query: the matching weighs a candidate row by both. Nothing when there is no such row.
  struct RowWithIdentity {
    ItemRow row;
    std::vector<BackendRecord> records;
  };
  std::optional<RowWithIdentity> item_with_identity_records(ItemId item);
  // The rows `backend`'s item `remote_id` is recorded on, with the record (several for a
  // multi-episode file).
  std::vector<std::pair<ItemId, BackendRecord>> records_by_remote_id(const std::string& identity,
                                                                     const std::string& backend,
                                                                     const std::string& remote_id);
  void upsert_record(const std::string& identity, ItemId item, const BackendRecord& record);
  // Remove one record and the conflicts recorded for it.
  void remove_record(const std::string& identity, const std::string& backend,
                     const std::string& remote_id, ItemId item);
  std::int64_t count_records(const std::string& identity, const std::string& backend);
  // Whether `backend` has any record for `identity` (one index probe, where a count reads all).
  bool has_records(const std::string& identity, const std::string& backend);
  // Remove the records `backend` holds for `identity` other than `kept` (what a complete listing
  // no longer reports), with their conflicts. Returns how many were removed.
  std::int64_t remove_records_except(const std::string& identity, const std::string& backend,
                                     const std::vector<RecordRef>& kept);
  // The records `backend` holds for `identity` other than `kept`.
  std::vector<RecordRef> records_except(const std::string& identity, const std::string& backend,
                                        const std::vector<RecordRef>& kept);
  // Remove the items of `identity` that no backend reports any more (with their keys and
  // change log). With `dry_run` only list them. Returns the items (removed or to remove).
  std::vector<ItemRow> prune_unreported(const std::string& identity, bool dry_run);
  // Every record `backend` holds for `identity` (every copy), with its row, in no particular
  // order. Light: the row has no via/dates of writing, the record no path, library, show or
  // guids.
  void
  for_each_with_record(const std::string& identity, const std::string& backend,
                       const std::function<void(const ItemRow&, const BackendRecord&)>& on_pair);
  // The ids of `identity`'s items in list_items' order (title, year, season, episode, id): a
  // pass over every item reads each row and its records when it comes to it (ws-parity), and
  // holds 8 bytes per item instead of the rows.
  std::vector<ItemId> item_ids_in_list_order(const std::string& identity);
  // Every record of `identity` that has a file path, as (backend, path, multi, row), in no
  // particular order; the views are valid during the call only.
  void
  for_each_record_path(const std::string& identity,
                       const std::function<void(std::string_view backend, std::string_view path,
                                                bool multi, ItemId item)>& on_path);

  // Every record of `identity`, by backend, each as where it is and a digest of what it holds
  // (record_digest, stored with the record when it is written): one pass over a narrow index,
  // no record built. A no-change import compares what a backend reports now with these instead
  // of reading each record back.
  std::unordered_map<std::string, std::vector<RecordDigest>>
  record_digests(const std::string& identity);

  // --- Identity conflicts the matching recorded (sync/matching.hpp) ---
  std::vector<ConflictRecord> conflicts_of(const std::string& identity, const std::string& backend,
                                           const std::string& remote_id, ItemId item);
  // Replace the conflicts recorded for one record; writes nothing when they are the same.
  void replace_conflicts(const std::string& identity, const std::string& backend,
                         const std::string& remote_id, ItemId item,
                         const std::vector<ConflictRecord>& conflicts);
  // Every conflict of `identity` (`backend` empty: of every backend), ordered by row.
  std::vector<ConflictRecord> conflicts(const std::string& identity, const std::string& backend);
  // Keys that point to more than one row, with the rows (ids episodes share; rows of ambiguous
  // items).
  std::vector<std::pair<std::string, std::vector<ItemId>>> shared_keys(const std::string& identity);
  // imdb ids given both to a movie row and to an episode row: (imdb id, movie row, episode row).
  std::vector<std::tuple<std::string, ItemId, ItemId>>
  imdb_on_movie_and_episode(const std::string& identity);

  // --- What the ignore rules touched, per backend (replaced after each complete listing) ---
  std::vector<IgnoredItem> ignored_items(const std::string& identity, const std::string& backend);
  // Writes nothing when the set is the same.
  void replace_ignored_items(const std::string& identity, const std::string& backend,
                             std::vector<IgnoredItem> items);

  // --- Change log ---
  void log_change(const ChangeEntry& entry);
  std::vector<ChangeEntry> changes(ItemId item);
  // Forget the entries logged before `cutoff` (with `dry_run` only count them); returns how
  // many. Nothing decides by the change log (it is for people: ws-state show), so pruning it
  // changes no sync.
  std::int64_t prune_changes(UnixTime cutoff, bool dry_run = false);

  // --- Sync cursors, per (identity, backend, kind) where kind is "import" or "export" ---
  std::optional<UnixTime> cursor(const std::string& identity, const std::string& backend,
                                 const std::string& kind);
  void set_cursor(const std::string& identity, const std::string& backend, const std::string& kind,
                  UnixTime value);

  // --- A backend's series as an identity's last import saw them, kept across runs ---
  // By identity: a series whose ids changed since (a Fix Match) re-matches its episodes in
  // every identity, each at its own next import.
  model::ShowCache load_shows(const std::string& identity, const std::string& backend);
  void save_show(const std::string& identity, const std::string& backend,
                 const model::RemoteShow& show);

  // --- The server id each backend reported at its last import ---
  void save_server(const std::string& backend, const model::ServerInfo& info);
  std::optional<model::ServerInfo> server(const std::string& backend);

  // --- ws-state: find items, forget one ---
  // The items `query` selects, sorted like list_items (title, year, season, episode, id).
  void query_items(const ItemQuery& query, const std::function<void(const ItemRow&)>& on_row);
  // Remove row `id` with its keys, records, change log and conflicts (in one transaction, a
  // savepoint inside the caller's). The next import re-creates the item from what the backends
  // report. nullopt when there is no such row.
  std::optional<ForgottenItem> forget_item(ItemId id);

  // --- Playlists (ws-playlist) ---
  std::vector<PlaylistRow> playlists(const std::string& identity);
  // Insert (`row.id` 0) or update the playlist and replace its copies; returns its id.
  std::int64_t save_playlist(const PlaylistRow& row);
  void delete_playlist(std::int64_t id);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// "imdb", "tvdb", ... as stored; "episode"/"movie" for MediaType.
std::string_view media_type_name(model::MediaType type);

} // namespace ws::db
