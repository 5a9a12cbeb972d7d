// SPDX-License-Identifier: MIT
#include <watchstate/sync/import_apply.hpp>

#include <watchstate/core/log.hpp>
#include <watchstate/sync/display.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace ws::sync {
namespace {

std::string state_text(bool watched, UnixTime when) {
  return fmt::format("{}@{}", watched ? "played" : "unplayed", when);
}

const model::Guids k_no_guids;

// Whether `candidate` already holds what `key` stands for (then looking the key up can only
// find the same row).
bool holds_key(const ItemIdentity& candidate, const ItemIdentity& item, const MatchKey& key) {
  const auto holds = [&](const model::Guids& ids) {
    return std::any_of(ids.begin(), ids.end(), [&](const model::Guid& g) {
      return g.key == key.provider && g.value == key.value;
    });
  };
  if (candidate.type != item.type) {
    return false;
  }
  switch (key.level) {
  case MatchKey::Level::show:
    return candidate.season == item.season && candidate.episode == item.episode &&
           holds(candidate.show_ids);
  case MatchKey::Level::own: return holds(candidate.ids);
  case MatchKey::Level::path: return false;
  }
  return false;
}

// A played row unmarked at `at`. The unmark undoes the play of row.updated: a resume position
// observed before that play is gone with it (the play would have cleared it on every server),
// one observed after it stands. So the row has no position as of the play: export clears the
// older ones servers still hold (decide_export), and the import and the merges take newer ones
// (a position that moved since the last run, another row's position observed after the play).
void unmark(db::ItemRow& row, UnixTime at) {
  row.progress_ms = 0;
  row.progress_at = row.updated;
  row.watched = false;
  row.updated = at;
}

// The date of a row's newest event. An unplayed row's is its own (an unmark, or 0). A played row's
// is its latest play, which may be newer than the row's date: a play reported for a row already
// played (a rewatch, another server's play) leaves the row as it is, and only the record keeps it.
UnixTime newest_event(const db::ItemRow& row, const std::vector<db::BackendRecord>& records) {
  UnixTime newest = row.updated;
  if (row.watched) {
    for (const auto& r : records) {
      if (r.watched) {
        newest = std::max(newest, r.played_at);
      }
    }
  }
  return newest;
}

bool same_identity(const db::BackendRecord& a, const db::BackendRecord& b) {
  return a.guids == b.guids && a.show_id == b.show_id && a.season == b.season &&
         a.episode == b.episode && a.path_key == b.path_key;
}

// Whether `now` says a part of what `before` said and nothing else: ids dropped (a metadata
// refresh that lost one), none added or changed, the same series and numbers.
bool only_lost_ids(const db::BackendRecord& before, const db::BackendRecord& now) {
  const bool ids_kept = std::all_of(now.guids.begin(), now.guids.end(), [&](const auto& id) {
    return std::find(before.guids.begin(), before.guids.end(), id) != before.guids.end();
  });
  return ids_kept && now.show_id == before.show_id && now.season == before.season &&
         now.episode == before.episode && (now.path_key.empty() || now.path_key == before.path_key);
}

// How ignored items are named to the user.
std::string display_name(const backend::RemoteItem& item) {
  if (item.type == model::MediaType::episode) {
    return fmt::format("{} {}x{:02}", item.title, item.season, item.episode);
  }
  return item.year > 0 ? fmt::format("{} ({})", item.title, item.year) : item.title;
}

} // namespace

BackendApplier::BackendApplier(db::StateStore& store, const std::string& identity,
                               const std::string& backend, model::ShowCache shows,
                               const ShowCaches& other_shows,
                               const config::MatchingSettings& matching, const ImportPolicy& policy,
                               BackendImportCounts& counts)
    : m_store(store), m_identity(identity), m_name(backend), m_shows(std::move(shows)),
      m_other_shows(other_shows), m_ignore(matching.ignore, backend),
      m_paths(matching.paths.enabled), m_policy(policy), m_counts(counts) {
  m_has_records = m_store.has_records(identity, backend);
  for (auto& c : m_store.conflicts(identity, "")) {
    if (c.kind != conflict_kind_name(ConflictKind::ambiguous)) {
      m_unused[c.item].push_back(std::move(c));
    }
  }
  for (const auto& root : matching.paths.roots) {
    for (const auto& [name, folder] : root) {
      if (name == backend) {
        m_path_roots.push_back(normalized_path(folder));
      }
    }
  }
}

void BackendApplier::set_known_records(std::vector<db::RecordDigest> known) {
  if (m_policy.force_full) {
    return; // --full decides every item again
  }
  m_known = std::move(known);
  std::sort(
      m_known.begin(), m_known.end(),
      [](const db::RecordDigest& a, const db::RecordDigest& b) { return a.lookup < b.lookup; });
}

void BackendApplier::set_libraries(const std::vector<backend::Library>& libraries) {
  for (const auto& library : libraries) {
    auto& roots = m_library_roots[library.id];
    for (const auto& root : library.roots) {
      roots.push_back(normalized_path(root));
    }
  }
}

std::optional<std::string>
BackendApplier::path_key_from_roots(const backend::RemoteItem& item) const {
  if (!m_paths || item.path.empty()) {
    return std::string();
  }
  const std::string path = normalized_path(item.path);
  // A configured root first (it says how folders of different backends correspond), then the
  // library's own folders.
  if (auto rel = relative_to(path, m_path_roots)) {
    return *rel;
  }
  if (const auto it = m_library_roots.find(item.library_id); it != m_library_roots.end()) {
    return relative_to(path, it->second).value_or("");
  }
  return std::nullopt;
}

std::string BackendApplier::path_key(const backend::RemoteItem& item,
                                     const std::optional<db::BackendRecord>& previous) const {
  if (auto key = path_key_from_roots(item)) {
    return std::move(*key);
  }
  // Library folders unknown here (a webhook's single item): the key stays while the path does.
  if (previous && previous->path == item.path) {
    return previous->path_key;
  }
  return {};
}

void BackendApplier::apply_shows(std::vector<model::RemoteShow>& shows) {
  for (auto& show : shows) {
    m_ignore.strip(show); // an ignored series id is as if the server did not give it
    const auto it = m_shows.find(show.id);
    const bool known = it != m_shows.end();
    if (known && it->second.guids == show.guids && it->second.title == show.title &&
        it->second.year == show.year) {
      continue;
    }
    if (!known || it->second.guids != show.guids) {
      // New to the cache or re-matched: its episodes go through the matching again.
      m_old_show_guids.emplace(show.id, known ? it->second.guids : model::Guids{});
    }
    // New or changed since the last run: kept in the database for the next one.
    m_store.save_show(m_identity, m_name, show);
    m_shows[show.id] = std::move(show);
  }
}

const model::RemoteShow* BackendApplier::show_of(const backend::RemoteItem& item) const {
  if (item.type != model::MediaType::episode || item.show_id.empty()) {
    return nullptr;
  }
  const auto it = m_shows.find(item.show_id);
  return it == m_shows.end() ? nullptr : &it->second;
}

const model::Guids& BackendApplier::show_guids(const std::string& backend,
                                               const std::string& show_id,
                                               bool before_this_run) const {
  if (show_id.empty()) {
    return k_no_guids;
  }
  if (backend == m_name) {
    if (before_this_run) {
      if (const auto old = m_old_show_guids.find(show_id); old != m_old_show_guids.end()) {
        return old->second;
      }
    }
    const auto it = m_shows.find(show_id);
    return it == m_shows.end() ? k_no_guids : it->second.guids;
  }
  const auto cache = m_other_shows.find(backend);
  if (cache == m_other_shows.end()) {
    return k_no_guids;
  }
  const auto it = cache->second.find(show_id);
  return it == cache->second.end() ? k_no_guids : it->second.guids;
}

ItemIdentity BackendApplier::identity_of_record(const db::ItemRow& row,
                                                const db::BackendRecord& record,
                                                bool before_this_run) const {
  ItemIdentity identity;
  identity.type = row.type;
  identity.ids = record.guids;
  identity.path = record.path_key;
  if (row.type == model::MediaType::episode) {
    identity.season = record.season >= 0 ? record.season : row.season;
    identity.episode = record.episode >= 0 ? record.episode : row.episode;
    identity.show_ids = show_guids(record.backend, record.show_id, before_this_run);
    // An episode's record carries its air year; the series' year is the row's.
    identity.names.push_back({record.title, row.year});
  } else {
    identity.names.push_back({record.title, record.year});
  }
  // Ids the matching did not use for this record (conflicts) are not part of the row's identity.
  // The record of the item being matched again is taken whole: what it said is where it was, so
  // a server that only dropped an id keeps the item on its row unless other rows outvote it.
  const bool matching_itself = record.backend == m_name && record.remote_id == m_matching_remote_id;
  if (const auto unused = m_unused.find(row.id); unused != m_unused.end() && !matching_itself) {
    for (const auto& key : match_keys(identity)) {
      const bool drop =
          std::any_of(unused->second.begin(), unused->second.end(), [&](const auto& c) {
            return c.backend == record.backend && c.remote_id == record.remote_id &&
                   c.key == key.text;
          });
      if (drop) {
        auto& ids = key.level == MatchKey::Level::show ? identity.show_ids : identity.ids;
        std::erase_if(ids, [&](const model::Guid& g) {
          return g.key == key.provider && g.value == key.value;
        });
      }
    }
  }
  return identity;
}

std::optional<MatchCandidate> BackendApplier::candidate(db::ItemId id, bool item_was_on) {
  auto loaded = m_store.item_with_identity_records(id);
  if (!loaded || loaded->row.identity != m_identity) {
    return std::nullopt;
  }
  MatchCandidate c;
  c.row = id;
  c.identity.type = loaded->row.type;
  c.identity.season = loaded->row.season;
  c.identity.episode = loaded->row.episode;
  c.identity.names.push_back({loaded->row.title, loaded->row.year});
  std::set<std::string_view> reporters;
  for (const auto& r : loaded->records) {
    merge_identity(c.identity, identity_of_record(loaded->row, r, false));
    reporters.insert(r.backend);
  }
  c.reporters = static_cast<int>(reporters.size());
  // The row the item was on wins a tie when others report it too, or when its server only
  // dropped ids (m_matching_lost_ids). Otherwise a row only the item itself reports is its old
  // self (its identity even takes a re-matched series' new ids), and a Fix Match leaves it for
  // the row of what the item is now.
  c.previous =
      item_was_on &&
      (m_matching_lost_ids ||
       std::any_of(loaded->records.begin(), loaded->records.end(), [&](const db::BackendRecord& r) {
         return r.backend != m_name || r.remote_id != m_matching_remote_id;
       }));
  m_loaded.push_back(std::move(loaded->row));
  return c;
}

MatchDecision BackendApplier::match(const ItemIdentity& identity, const std::vector<MatchKey>& keys,
                                    std::optional<db::ItemId> previous_row) {
  m_loaded.clear();
  if (const auto* index = answering_keys()) {
    for (const auto& key : keys) {
      index->prefetch(key.text);
    }
  }
  std::vector<MatchCandidate> candidates;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    // The common case: every backend gives the same ids, so once a row is found the other keys
    // can only point to it. Look a key up only when no candidate holds it yet.
    bool held = false;
    for (auto& c : candidates) {
      if (holds_key(c.identity, identity, keys[i])) {
        c.hits.push_back(i);
        held = true;
      }
    }
    if (held) {
      continue;
    }
    for (const db::ItemId id : rows_of_key(keys[i].text)) {
      auto existing = std::find_if(candidates.begin(), candidates.end(),
                                   [id](const MatchCandidate& c) { return c.row == id; });
      if (existing != candidates.end()) {
        existing->hits.push_back(i);
        continue;
      }
      if (auto c = candidate(id, previous_row == id)) {
        c->hits.push_back(i);
        candidates.push_back(std::move(*c));
      } else {
        remove_key(keys[i].text, id); // a key left behind by a removed row
      }
    }
  }
  // The row the item was on is always weighed: its ids (this item's old ones among them) vote
  // like any other row's, so an item that only lost an id stays unless others outvote it.
  if (previous_row && std::none_of(candidates.begin(), candidates.end(),
                                   [&](const auto& c) { return c.row == *previous_row; })) {
    if (auto c = candidate(*previous_row, true)) {
      candidates.push_back(std::move(*c));
    }
  }
  return decide_match(identity, keys, candidates);
}

RunKeyIndex* BackendApplier::answering_keys() const {
  return m_keys != nullptr && m_keys->usable() ? m_keys : nullptr;
}

std::vector<db::ItemId> BackendApplier::rows_of_key(const std::string& key) {
  if (const auto* index = answering_keys()) {
    return index->rows(key);
  }
  return m_store.items_by_key(m_identity, key);
}

void BackendApplier::set_run_keys(RunKeyIndex* keys, std::size_t write_batch) {
  write_held_keys();
  m_keys = keys;
  m_key_write_batch = std::max<std::size_t>(write_batch, 1);
}

bool BackendApplier::add_key(const std::string& key, db::ItemId row) {
  auto* index = answering_keys();
  if (index == nullptr) {
    return m_store.add_key(m_identity, key, row);
  }
  switch (index->add(key, row)) {
  case RunKeyIndex::Added::already_held:
    return false; // most keys a second server gives: the first one's
  case RunKeyIndex::Added::new_pair:
    // The matching reads keys from the index alone, so the database may hold this one later.
    // (If writing it then throws, the run drops the index with the backend's transaction.)
    m_held_keys.add(key, row);
    if (m_held_keys.size() >= m_key_write_batch) {
      write_held_keys();
    }
    return true;
  case RunKeyIndex::Added::cannot_hold: break;
  }
  write_held_keys(); // the database answers from now on: it must hold every key
  return m_store.add_key(m_identity, key, row);
}

void BackendApplier::remove_key(const std::string& key, db::ItemId row) {
  m_store.remove_key(m_identity, key, row);
  if (m_keys != nullptr) {
    m_keys->remove(key, row);
    if (!m_held_keys.empty()) {
      m_removed_while_held = true;
    }
  }
}

void BackendApplier::write_held_keys() {
  // In item_keys' order (identity, key, item_id): each insert lands next to the one before,
  // on pages SQLite has at hand.
  auto& keys = m_held_keys.sorted();
  if (m_removed_while_held) {
    // A key removed after it was held back is no longer in the index: not written.
    std::erase_if(keys, [&](const auto& held) { return !m_keys->has(held.key, held.item); });
  }
  m_store.add_keys(m_identity, keys);
  m_held_keys.clear();
  m_removed_while_held = false;
}

std::vector<std::string> BackendApplier::keys_of(const db::ItemRow& row,
                                                 const std::vector<db::BackendRecord>& records,
                                                 bool before_this_run) const {
  std::set<std::string> keys;
  for (const auto& r : records) {
    for (auto& k : match_keys(identity_of_record(row, r, before_this_run))) {
      keys.insert(std::move(k.text));
    }
  }
  return {keys.begin(), keys.end()};
}

void BackendApplier::merge_rows(db::ItemId into, db::ItemId from,
                                const std::optional<db::BackendRecord>& gone_record) {
  if (into == from) {
    return;
  }
  auto target = m_store.item(into);
  auto other = m_store.item(from);
  if (!target || !other) {
    return;
  }
  // The keys of `from`: what its backends report, and what the record that just left it said.
  auto records = m_store.records(from);
  for (const auto& key : keys_of(*other, records, false)) {
    remove_key(key, from);
    add_key(key, into);
  }
  if (gone_record) {
    for (const auto& key : keys_of(*other, {*gone_record}, true)) {
      remove_key(key, from);
    }
  }
  // The newest event wins: the played flag with the later date, the position observed later.
  // The record that just left `from` is part of its history (its play, say, before a Fix Match).
  if (gone_record) {
    records.push_back(*gone_record);
  }
  const UnixTime target_newest = newest_event(*target, m_store.records(into));
  const UnixTime other_newest = newest_event(*other, records);
  bool changed = false;
  if (other_newest > target_newest) {
    if (other->watched != target->watched) {
      log_change(into, "watched", state_text(target->watched, target->updated),
                 state_text(other->watched, other_newest));
    }
    target->watched = other->watched;
    target->updated = other_newest;
    target->via = other->via;
    changed = true;
  }
  if (target->watched) {
    changed = changed || target->progress_ms != 0;
    target->progress_ms = 0;
    target->progress_at = 0;
  } else if (other->progress_at > target->progress_at && !other->watched) {
    log_change(into, "progress", std::to_string(target->progress_ms),
               std::to_string(other->progress_ms));
    target->progress_ms = other->progress_ms;
    target->progress_at = other->progress_at;
    changed = true;
  }
  log_change(into, "merged", fmt::format("#{} {}", from, display_title(*other)), "");
  m_store.merge_item(into, from);
  forget_known(); // `from`'s records, this backend's among them, are on `into` now
  m_merged_into[from] = into;
  if (auto moved = m_unused.extract(from)) {
    auto& kept = m_unused[into];
    for (auto& c : moved.mapped()) {
      c.item = into;
      kept.push_back(std::move(c));
    }
  }
  m_rows_changed = true;
  if (changed) {
    target->updated_at = m_policy.now;
    m_store.update_item_state(*target);
  }
  ++m_counts.merged;
  log::info("{}: item #{} '{}' is the same as #{}: merged", m_name, from, display_title(*other),
            into);
}

bool BackendApplier::take_unmark(db::ItemId row, const db::BackendRecord& previous,
                                 const backend::RemoteItem& item) {
  // An unmark the item reports belongs to the history of the row it was on (the backend had
  // reported it played there), so it is taken there before rows merge, and the merge weighs it
  // like any other event. Taken on the merged row, it would come after the merge: a played row
  // merging with an unplayed one drops that row's resume position (a played item has none), and
  // the item would end unplayed without it while the servers that reported it still hold it.
  auto local = m_store.item(row);
  if (!local) {
    return false;
  }
  const ImportDecision d = decide_import(*local, previous, item, m_policy);
  if (d.state != StateChange::unplayed) {
    return false; // a play, a position: taken on the merged row (update), the newer one winning
  }
  log_change(row, "watched", state_text(local->watched, local->updated),
             state_text(false, d.new_updated));
  unmark(*local, d.new_updated);
  local->via = m_name;
  local->updated_at = m_policy.now;
  m_store.update_item_state(*local);
  m_rows_changed = true; // the rows the matching read are not what they were
  ++m_counts.marked_unplayed;
  return true;
}

void BackendApplier::take_back_keys(db::ItemId row, const db::BackendRecord& previous) {
  const auto local = m_store.item(row);
  if (!local) {
    return;
  }
  // Keys only the record as it was gave the row: its records now no longer hold them.
  const auto still = keys_of(*local, m_store.records(row), false);
  for (const auto& key : keys_of(*local, {previous}, true)) {
    if (!std::binary_search(still.begin(), still.end(), key)) {
      remove_key(key, row);
    }
  }
}

void BackendApplier::apply(backend::RemoteItem& item) {
  if (const auto* rule = m_ignore.item_rule(item.id)) {
    ++m_counts.ignored;
    m_ignored.push_back({m_name, item.id, rule->text, display_name(item), "item"});
    return;
  }
  const auto stripped = m_ignore.strip(item);
  for (const auto* rule : stripped) {
    m_ignored.push_back({m_name, item.id, rule->text, display_name(item), "id"});
  }
  const model::RemoteShow* show = show_of(item);
  if (apply_unchanged(item, show)) {
    return;
  }

  // Where this remote item was recorded last time (a multi-episode file: once per episode).
  std::optional<db::ItemId> previous_row;
  std::optional<db::BackendRecord> previous;
  if (m_has_records) {
    auto found = m_store.records_by_remote_id(m_identity, m_name, item.id);
    for (auto& [row, record] : found) {
      if (record.season == item.season && record.episode == item.episode) {
        previous_row = row;
        previous = std::move(record);
        break;
      }
    }
    if (!previous && found.size() == 1 && !item.multi) {
      previous_row = found.front().first;
      previous = std::move(found.front().second);
    }
  }

  ItemIdentity identity = identity_of(item, show);
  identity.path = path_key(item, previous);
  const auto keys = match_keys(identity);
  if (keys.empty()) {
    ++m_counts.skipped;
    log::debug("{}: skipped '{}' (id {}): no usable external id", m_name, item.title, item.id);
    return;
  }
  db::BackendRecord report = make_record(m_name, item);
  report.path_key = identity.path;
  if (m_policy.keep_record_state && previous) {
    // ws-import --metadata-only: the ids and copies are refreshed, but the record keeps the
    // play state the last real import saw, so that the next one still sees this change.
    report.watched = previous->watched;
    report.played_at = previous->played_at;
    report.progress_ms = previous->progress_ms;
  }

  const bool rematch =
      item.type == model::MediaType::episode && m_old_show_guids.count(item.show_id) > 0;
  if (previous && !rematch && same_identity(*previous, report)) {
    m_seen.push_back({*previous_row, item.id});
    // The backend reports exactly what it reported last time: everything the decision could
    // take from it was taken then, and local dates only move forward since. (--full decides
    // again: it lets the backend win over whatever the row says now.)
    if (!m_policy.force_full && *previous == report) {
      ++m_counts.unchanged;
      return;
    }
    m_loaded.clear();
    update(*previous_row, previous, false, item, report, nullptr, nullptr);
    return;
  }

  // A remote item seen for the first time, or one whose ids changed: match it.
  m_rows_changed = false;
  m_matching_remote_id = item.id;
  // An item whose server only dropped ids (a metadata refresh) stays on its row on a tie: what
  // is left of its ids does not say it is something else. In model world 105208 Emby's Alpha
  // lost its imdb id, and its tmdb id, which a stray Plex copy had given Beta's larger row,
  // took it and its play to Beta. An id an ignore rule strips is another matter: the user said
  // it was wrong, and the item joins the row the rest of its ids name.
  m_matching_lost_ids =
      previous && !rematch && stripped.empty() && only_lost_ids(*previous, report);
  MatchDecision decision = match(identity, keys, previous_row);
  m_matching_remote_id.clear();
  m_matching_lost_ids = false;
  if (m_policy.metadata_only) {
    decision.merge.clear(); // a metadata-only backend attaches ids; it never merges rows
  }
  std::optional<db::ItemId> target = decision.row;
  const auto merges_with = [&](db::ItemId row) {
    return std::find(decision.merge.begin(), decision.merge.end(), row) != decision.merge.end();
  };

  bool moved = false;
  bool unmarked = false;
  if (previous && previous_row != target) {
    // The server re-matched the item: it leaves its old row.
    m_store.remove_record(m_identity, m_name, item.id, *previous_row);
    forget_known();
    forget_unused(*previous_row, item.id);
    moved = true;
    ++m_counts.rematched;
    const bool orphaned = m_store.records(*previous_row).empty();
    if (target && (orphaned || merges_with(*previous_row))) {
      // Nothing else reports the old row (it was this item all along), or the new ids show both
      // rows to be one: its history joins the row the item is now, with the item's unmark.
      unmarked = take_unmark(*previous_row, *previous, item);
      merge_rows(*target, *previous_row, previous);
    } else if (orphaned) {
      // No row has the new ids: the row follows the item, history and all.
      target = previous_row;
    } else {
      take_back_keys(*previous_row, *previous);
    }
  } else if (previous && !decision.merge.empty()) {
    // Other rows join the row the item stays on: its unmark first (take_unmark).
    unmarked = take_unmark(*previous_row, *previous, item);
  }
  for (const db::ItemId other : decision.merge) {
    if (!previous_row || other != *previous_row) {
      merge_rows(*target, other, std::nullopt);
    }
  }

  if (!target) {
    if (m_policy.metadata_only) {
      // A metadata-only backend attaches ids to rows others created; it never creates rows.
      ++m_counts.skipped;
      return;
    }
    const db::ItemId id = insert(item, show, report, keys, decision);
    m_seen.push_back({id, item.id});
    return;
  }
  m_seen.push_back({*target, item.id});
  // An unmark taken with the history of the row the item was on is not taken again: the merged
  // row weighs it already (a play newer than the unmark stays).
  std::optional<db::BackendRecord> before = previous;
  if (unmarked) {
    before->watched = false;
  }
  update(*target, before, !previous || moved, item, report, &keys, &decision);
  if (previous && target == previous_row) {
    take_back_keys(*target, *previous); // ids the item no longer has
  }
}

bool BackendApplier::apply_unchanged(const backend::RemoteItem& item,
                                     const model::RemoteShow* show) {
  // The same answer as apply()'s full path when the item's record says what it reports now:
  // not under --full (which decides again), not for an episode whose series was re-matched,
  // not when the import keeps the record's play state (--metadata-only).
  if (m_known.empty() || m_policy.keep_record_state ||
      (item.type == model::MediaType::episode && m_old_show_guids.count(item.show_id) > 0)) {
    return false;
  }
  const auto lookup = db::record_lookup_key(item.id, item.season, item.episode);
  // Named iterators, not a structured binding: the lambda below captures them (clang 14
  // does not capture bindings).
  const auto range = std::equal_range(
      m_known.begin(), m_known.end(), db::RecordDigest{lookup, 0, 0},
      [](const db::RecordDigest& a, const db::RecordDigest& b) { return a.lookup < b.lookup; });
  const auto first = range.first;
  const auto last = range.second;
  if (first == last) {
    return false; // not recorded when the applier started
  }
  // From here on the full path may write this item's record: what m_known says of it is then
  // out of date (a listing may report an item twice when its pages shift).
  const auto take_full_path = [&] {
    std::for_each(first, last, [](db::RecordDigest& known) { known.item = 0; });
    return false;
  };
  if (last - first != 1 || first->item == 0) {
    return take_full_path(); // on several rows, or handled by the full path before
  }
  auto path = path_key_from_roots(item);
  if (!path) {
    return take_full_path();
  }
  if (!has_match_keys(item, show, *path)) {
    return take_full_path(); // counted as skipped by the full path
  }
  db::BackendRecord report = make_record(m_name, item);
  report.path_key = std::move(*path);
  if (db::record_digest(report) != first->digest) {
    return take_full_path();
  }
  m_seen.push_back({first->item, item.id});
  ++m_counts.unchanged;
  return true;
}

db::ItemId BackendApplier::insert(const backend::RemoteItem& item, const model::RemoteShow* show,
                                  const db::BackendRecord& report,
                                  const std::vector<MatchKey>& keys,
                                  const MatchDecision& decision) {
  std::string title = item.title;
  int year = item.year;
  if (show != nullptr) {
    if (!show->title.empty()) {
      title = show->title;
    }
    if (show->year > 0) {
      year = show->year;
    }
  }
  const db::ItemRow row = new_row_from(item, m_identity, m_name, title, year, m_policy);
  const db::ItemId id = m_store.insert_item(row);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (decision.use_key[i]) {
      add_key(keys[i].text, id);
    }
  }
  m_store.upsert_record(m_identity, id, report);
  if (!decision.conflicts.empty()) {
    record_conflicts(item, id, keys, decision);
  }
  if (row.watched) {
    log_change(id, "watched", "", state_text(true, row.updated));
  }
  if (row.progress_ms > 0) {
    log_change(id, "progress", "", std::to_string(row.progress_ms));
  }
  ++m_counts.added;
  return id;
}

void BackendApplier::update(db::ItemId id, const std::optional<db::BackendRecord>& previous,
                            bool attached, const backend::RemoteItem& item,
                            const db::BackendRecord& report, const std::vector<MatchKey>* keys,
                            const MatchDecision* decision) {
  // The row as the matching read it, unless a merge or a move changed it since.
  std::optional<db::ItemRow> local;
  if (const auto it = std::find_if(m_loaded.begin(), m_loaded.end(),
                                   [id](const db::ItemRow& r) { return r.id == id; });
      it != m_loaded.end() && !m_rows_changed) {
    local = *it;
  } else {
    local = m_store.item(id);
  }
  if (!local) {
    ++m_counts.failed;
    return;
  }
  const ImportDecision d = decide_import(*local, previous, item, m_policy);
  bool row_changed = false;
  if (d.state != StateChange::none) {
    const bool played = d.state == StateChange::played;
    log_change(id, "watched", state_text(local->watched, local->updated),
               state_text(played, d.new_updated));
    if (played) {
      local->watched = true;
      local->updated = d.new_updated;
      local->progress_ms = 0;
      local->progress_at = 0;
      ++m_counts.marked_played;
    } else {
      unmark(*local, d.new_updated);
      ++m_counts.marked_unplayed;
    }
    local->via = m_name;
    row_changed = true;
  }
  if (d.progress_changed) {
    log_change(id, "progress", std::to_string(local->progress_ms),
               std::to_string(d.new_progress_ms));
    local->progress_ms = d.new_progress_ms;
    local->progress_at = d.new_progress_at;
    local->via = m_name;
    ++m_counts.progress_updated;
    row_changed = true;
  }
  if (row_changed) {
    local->updated_at = m_policy.now;
    m_store.update_item_state(*local);
  }
  bool identity_changed = attached;
  if (keys != nullptr && decision != nullptr) {
    for (std::size_t i = 0; i < keys->size(); ++i) {
      if (decision->use_key[i] && add_key((*keys)[i].text, id)) {
        identity_changed = true;
      }
    }
    if (previous || !decision->conflicts.empty()) {
      record_conflicts(item, id, *keys, *decision); // a new record has none to replace
    }
  }
  if (attached || !previous || *previous != report) {
    m_store.upsert_record(m_identity, id, report);
  }
  // A record that only took the backend's newer dates changes nothing the user sees: only a
  // changed row, a new or moved copy or new ids count as updated.
  if (row_changed || identity_changed) {
    ++m_counts.updated;
    log::debug("{}: '{}' (id {}) updated item #{}{}{}", m_name, item.title, item.id, id,
               row_changed ? " (play state)" : "", identity_changed ? " (identity)" : "");
  } else {
    ++m_counts.unchanged;
  }
}

void BackendApplier::forget_unused(db::ItemId row, const std::string& remote_id) {
  if (const auto it = m_unused.find(row); it != m_unused.end()) {
    std::erase_if(it->second, [&](const db::ConflictRecord& c) {
      return c.backend == m_name && c.remote_id == remote_id;
    });
  }
}

void BackendApplier::record_conflicts(const backend::RemoteItem& item, db::ItemId row,
                                      const std::vector<MatchKey>& keys,
                                      const MatchDecision& decision) {
  forget_unused(row, item.id);
  std::vector<db::ConflictRecord> conflicts;
  for (const auto& c : decision.conflicts) {
    if (c.other != row && m_merged_into.count(c.other) > 0) {
      continue; // that row is this one now
    }
    conflicts.push_back(
        {m_name, item.id, row, keys[c.key].text, c.other, std::string(conflict_kind_name(c.kind))});
    if (c.kind != ConflictKind::ambiguous) {
      m_unused[row].push_back(conflicts.back());
    }
    log::debug("{}: '{}' (id {}): {} {} item #{}", m_name, item.title, item.id, keys[c.key].text,
               conflict_kind_name(c.kind), c.other);
  }
  m_store.replace_conflicts(m_identity, m_name, item.id, row, conflicts);
}

void follow_merges(std::vector<db::RecordRef>& records, const MergedRows& merged) {
  if (merged.empty()) {
    return;
  }
  for (auto& record : records) {
    // A row may have joined one that later joined another: followed to the row it is in now.
    for (auto it = merged.find(record.item); it != merged.end(); it = merged.find(record.item)) {
      record.item = it->second;
    }
  }
}

const std::vector<db::RecordRef>& BackendApplier::seen() {
  follow_merges(m_seen, m_merged_into);
  return m_seen;
}

std::int64_t BackendApplier::forget_unreported() {
  write_held_keys();
  // A record seen on a row that merged into another since is on that row now: on its old row
  // it would not be found among the kept, and the copy would be forgotten.
  return m_store.remove_records_except(m_identity, m_name, seen());
}

std::vector<db::RecordRef> BackendApplier::unreported() {
  write_held_keys();
  return m_store.records_except(m_identity, m_name, seen());
}

void BackendApplier::log_change(db::ItemId id, const char* field, std::string old_value,
                                std::string new_value) {
  m_store.log_change(db::ChangeEntry{0, id, m_name, "import", field, std::move(old_value),
                                     std::move(new_value), m_policy.now, "ok"});
}

} // namespace ws::sync
