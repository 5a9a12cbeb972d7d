// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/backend/backend.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/sync/ignore_list.hpp>
#include <watchstate/sync/import.hpp>
#include <watchstate/sync/import_rules.hpp>
#include <watchstate/sync/matching.hpp>
#include <watchstate/sync/run_keys.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace ws::sync {

// Rows merged away, each with the row it joined (which may itself have joined another since).
using MergedRows = std::unordered_map<db::ItemId, db::ItemId>;

// Moves each of `records` that was on a row merged away to the row it is on now: a merge moves
// every backend's records of the row along.
void follow_merges(std::vector<db::RecordRef>& records, const MergedRows& merged);

// Series ids of every backend of an identity, by backend name: a row's identity is the union of
// what each of its backends reported, episodes through their series.
using ShowCaches = std::unordered_map<std::string, model::ShowCache>;

// Applies one backend's report, item by item, to the state database inside the caller's
// transaction: finds the item's row (its earlier record, else the matching of
// sync/matching.hpp), follows re-matches, merges rows a new id shows to be one, keeps every copy
// of an item, takes the import decision (sync/import_rules.hpp) and writes the change log.
class BackendApplier {
public:
  BackendApplier(db::StateStore& store, const std::string& identity, const std::string& backend,
                 model::ShowCache shows, const ShowCaches& other_shows,
                 const config::MatchingSettings& matching, const ImportPolicy& policy,
                 BackendImportCounts& counts);

  // The backend's libraries with their root folders (path matching takes item paths relative
  // to them). Without them, an item keeps the path key it had while its path stays the same.
  void set_libraries(const std::vector<backend::Library>& libraries);

  // Series the next items refer to, as the backend reports them now. A series whose ids changed
  // since the last run makes its episodes match again.
  void apply_shows(std::vector<model::RemoteShow>& shows);

  // The backend's records as the run found them (StateStore::record_digests): an item that
  // reports exactly what its record holds is then taken as unchanged without reading the record
  // back. Only valid while no earlier backend of the run moved records (records_moved()).
  void set_known_records(std::vector<db::RecordDigest> known);

  // The identity's keys in memory for this run (a first import: sync/run_keys.hpp): the
  // matching asks `keys` instead of the database, and writes every key change to both. nullptr:
  // the database alone. The caller drops the index when the backend's transaction rolls back.
  //
  // While the index answers, new keys reach the database in sorted batches of `write_batch`
  // (and when the listing ends: forget_unreported(), unreported()). In the listing's order each
  // key lands at a random place of item_keys; sorted, next to the one before. (ws-bench-limits,
  // a first import's state with its 505,499 keys: 1.55 s of CPU sorted, 2.0 s shuffled.) Each
  // batch passes over the pages of the keys written before it: a first import of 3 x 100,000
  // took 0.1 s less CPU with batches of 262,144 than of 65,536, for 3.5 MiB more peak memory;
  // larger batches gained nothing more.
  void set_run_keys(RunKeyIndex* keys, std::size_t write_batch = k_key_write_batch);
  static constexpr std::size_t k_key_write_batch = 262'144; // about 12 MB held back at most

  // The item as the backend reported it; ignored ids are stripped from it.
  void apply(backend::RemoteItem& item);

  // Whether applying moved records between rows (a merge) or removed some: the records other
  // backends' appliers were given (set_known_records) may be stale.
  [[nodiscard]] bool records_moved() const { return m_records_moved; }

  // After a complete listing: the backend no longer has the items it did not report.
  // Writes the keys held back first (set_run_keys).
  std::int64_t forget_unreported();
  // After an incomplete listing: the records it did not confirm (kept, state unknown).
  // Writes the keys held back first (set_run_keys).
  std::vector<db::RecordRef> unreported();

  // The records the applied items matched or created, on the rows they are on now.
  [[nodiscard]] const std::vector<db::RecordRef>& seen();

  // The rows this applier merged away, with the rows they joined.
  [[nodiscard]] const MergedRows& merged_rows() const { return m_merged_into; }

  // This backend's series as they are after the items applied so far.
  [[nodiscard]] const model::ShowCache& shows() const { return m_shows; }

  // The items the ignore rules touched.
  [[nodiscard]] const std::vector<db::IgnoredItem>& ignored() const { return m_ignored; }

private:
  const model::RemoteShow* show_of(const backend::RemoteItem& item) const;
  const model::Guids& show_guids(const std::string& backend, const std::string& show_id,
                                 bool before_this_run) const;
  ItemIdentity identity_of_record(const db::ItemRow& row, const db::BackendRecord& record,
                                  bool before_this_run) const;
  // The row `id` as a candidate of the matching (nullopt when it is gone); `item_was_on`: the
  // item being matched was recorded on it.
  std::optional<MatchCandidate> candidate(db::ItemId id, bool item_was_on);
  MatchDecision match(const ItemIdentity& identity, const std::vector<MatchKey>& keys,
                      std::optional<db::ItemId> previous_row);
  // The run's key index while it answers for the database (set and usable), else nullptr.
  [[nodiscard]] RunKeyIndex* answering_keys() const;
  // The item_keys of the identity, through the run's index when there is one.
  std::vector<db::ItemId> rows_of_key(const std::string& key);
  bool add_key(const std::string& key, db::ItemId row); // whether it was new
  void remove_key(const std::string& key, db::ItemId row);
  // Writes the keys add_key held back, in the database's order.
  void write_held_keys();
  std::vector<std::string> keys_of(const db::ItemRow& row,
                                   const std::vector<db::BackendRecord>& records,
                                   bool before_this_run) const;
  void merge_rows(db::ItemId into, db::ItemId from,
                  const std::optional<db::BackendRecord>& gone_record);
  void take_back_keys(db::ItemId row, const db::BackendRecord& previous);
  // A re-matched item's unmark (`previous`: its record on `row`), applied to the row it was on
  // before that row merges into the one the item is now. Whether it took one.
  bool take_unmark(db::ItemId row, const db::BackendRecord& previous,
                   const backend::RemoteItem& item);
  db::ItemId insert(const backend::RemoteItem& item, const model::RemoteShow* show,
                    const db::BackendRecord& report, const std::vector<MatchKey>& keys,
                    const MatchDecision& decision);
  void update(db::ItemId id, const std::optional<db::BackendRecord>& previous, bool attached,
              const backend::RemoteItem& item, const db::BackendRecord& report,
              const std::vector<MatchKey>* keys, const MatchDecision* decision);
  void record_conflicts(const backend::RemoteItem& item, db::ItemId row,
                        const std::vector<MatchKey>& keys, const MatchDecision& decision);
  void forget_unused(db::ItemId row, const std::string& remote_id);
  void log_change(db::ItemId id, const char* field, std::string old_value, std::string new_value);
  std::string path_key(const backend::RemoteItem& item,
                       const std::optional<db::BackendRecord>& previous) const;
  // The path key when the roots alone decide it (nullopt: it depends on the item's record).
  std::optional<std::string> path_key_from_roots(const backend::RemoteItem& item) const;
  // The no-change case without reading the database: the item reports exactly what its record
  // (m_known) holds. Whether it was that case (then it is counted and seen).
  bool apply_unchanged(const backend::RemoteItem& item, const model::RemoteShow* show);
  // The records read at the start are stale once records moved between rows.
  void forget_known() {
    m_known.clear();
    m_records_moved = true;
  }

  db::StateStore& m_store;
  const std::string& m_identity;
  const std::string& m_name;
  model::ShowCache m_shows;
  const ShowCaches& m_other_shows;
  // Series whose ids changed in this run, with the ids they had (their episodes match again,
  // and their old keys are taken back).
  std::unordered_map<std::string, model::Guids> m_old_show_guids;
  bool m_has_records = false; // false on a backend's first import: no record to look up
  // Whether a key was removed while m_held_keys held some: then only the keys the index still
  // holds are written.
  bool m_removed_while_held = false;
  RunKeyIndex* m_keys = nullptr;
  // Keys new to the index and not yet written (set_run_keys).
  HeldKeys m_held_keys;
  std::size_t m_key_write_batch = k_key_write_batch;
  // This backend's records as they were when the applier started (StateStore::record_digests),
  // sorted by lookup key.
  std::vector<db::RecordDigest> m_known;
  bool m_records_moved = false;
  IgnoreList m_ignore;
  bool m_paths = false;
  std::vector<std::string> m_path_roots; // matching.paths.roots folders of this backend
  std::unordered_map<std::string, std::vector<std::string>> m_library_roots; // by library id
  std::vector<db::RecordRef> m_seen; // on the rows they were seen on (seen() follows merges)
  // Every row this applier merged away. (The matching of an item reads only rows that exist,
  // so of these, its conflicts can name only rows merged away while that item was applied.)
  MergedRows m_merged_into;
  std::vector<db::IgnoredItem> m_ignored;
  // Ids the matching did not use (conflicts other than ambiguous), by row: they are not part of
  // the row's identity.
  std::unordered_map<db::ItemId, std::vector<db::ConflictRecord>> m_unused;
  // The rows the matching of the current item read, and whether a merge changed rows since.
  std::vector<db::ItemRow> m_loaded;
  bool m_rows_changed = false;
  // Whether the server of the item being matched only dropped ids since its last report
  // (apply(); next to the other flag: a field of its own after the string costs 8 bytes).
  bool m_matching_lost_ids = false;
  std::string m_matching_remote_id; // the remote item being matched right now
  const ImportPolicy& m_policy;
  BackendImportCounts& m_counts;
};

} // namespace ws::sync
