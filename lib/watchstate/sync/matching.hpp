// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/backend/backend.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// How items match across backends (README "How items match", ws-import(1)). This file holds the
// rules; sync/import_apply.cpp looks the candidates up in the state database and acts on the
// decision, backup/backup.cpp uses the same rules against a backup's records.
namespace ws::sync {

// What an item is, as far as matching goes. For a remote item: its type, its own validated ids
// and, for an episode, its series' ids with the season and episode numbers. For a local row:
// the union of what its backends reported, so a row may hold two values of one provider (that
// is a conflict).
struct ItemIdentity {
  model::MediaType type = model::MediaType::movie;
  int season = -1;  // episodes
  int episode = -1; // episodes
  model::Guids ids;
  model::Guids show_ids;
  // What it is called: the movie's (for episodes the series') title and year, as each backend
  // reports it. They break an even split of the ids.
  struct Name {
    std::string title;
    int year = 0; // 0: unknown
    friend bool operator==(const Name&, const Name&) = default;
  };
  std::vector<Name> names;
  // Opt-in path matching (matching.paths): the file's path relative to its library root,
  // normalised; empty when off or unknown.
  std::string path;
};

// `show` is the episode's series (nullptr for movies, or when unknown).
ItemIdentity identity_of(const backend::RemoteItem& item, const model::RemoteShow* show);

// One key an identity is looked up by.
struct MatchKey {
  enum class Level : std::uint8_t { show, own, path };
  std::string text; // "rtvdb://100/1/2", "imdb://tt1/movie", "path://…/movie"
  Level level = Level::own;
  model::GuidKey provider = model::GuidKey::imdb; // show and own levels
  std::string value;                              // the id (show id for the show level)
};

// The keys of `identity`, most specific first: for an episode "r<provider>://<show id>/<season>/
// <episode>" for each id of its series (when it has a season >= 0 and an episode >= 1), then
// "<provider>://<id>/<type>" for each own id, then the path key. Empty when the item has no
// usable identity: it is skipped, never matched by title.
std::vector<MatchKey> match_keys(const ItemIdentity& identity);

// The key of one own id of an item of `type`: "<provider>://<id>/movie" or ".../episode", as
// match_keys gives it (ws-parity looks ids up by it).
std::string own_id_key(model::GuidKey provider, std::string_view id, model::MediaType type);

// Whether match_keys gives `item` (with its series `show` and path key `path`) any key: the same
// conditions, without building the identity or the keys (a no-change import asks it of every
// item).
bool has_match_keys(const backend::RemoteItem& item, const model::RemoteShow* show,
                    std::string_view path);

// The key texts of a remote item (ws-backend item shows them).
std::vector<std::string> matching_keys(const backend::RemoteItem& item,
                                       const model::RemoteShow* show);

// Path matching: a file path as it is compared: '/' separators, no repeated or trailing '/',
// ASCII letters in lower case.
std::string normalized_path(std::string_view path);

// `path` relative to the longest of `roots` it lies under (all normalised); nullopt when under
// none of them.
std::optional<std::string> relative_to(const std::string& path,
                                       const std::vector<std::string>& roots);

// Whether two identities carry a name for the same thing: titles equal once case and everything
// but letters and digits are dropped, years known and at most one apart.
bool same_title_and_year(const ItemIdentity& a, const ItemIdentity& b);

// A local row (or a backup record) one or more of the item's keys point to.
struct MatchCandidate {
  std::int64_t row = 0;
  ItemIdentity identity;         // the row's type, numbers and every id its backends reported
  std::vector<std::size_t> hits; // indices into the item's keys that point to this row
  // The row the item was on, reported by others too or left with ids its server only dropped:
  // a tie keeps it there.
  bool previous = false;
  int reporters = 0; // backends that report the row: breaks the other ties between rows
};

enum class ConflictKind : std::uint8_t {
  disagree,  // the item's id of a provider differs from the one its row holds: not used
  other_row, // the item's id points to another row than the one the rest of it matched: not used
  ambiguous, // its ids point to rows that are not one item, none more than another: a row of its
             // own
};

std::string_view conflict_kind_name(ConflictKind kind);

struct MatchConflict {
  std::size_t key = 0;    // index into the item's keys
  std::int64_t other = 0; // the row the id points to (or disagrees with)
  ConflictKind kind = ConflictKind::disagree;
};

struct MatchDecision {
  std::optional<std::int64_t> row; // the item's row; nullopt: it is new (a row of its own)
  std::vector<std::int64_t> merge; // rows the item shows to be the same as `row`
  std::vector<MatchConflict> conflicts;
  std::vector<bool> use_key; // per key of the item: point it at the item's row
};

// THE matching decision. The rules:
//  - A movie is the row most of its providers agree with: a provider agrees when the item's id
//    points to the row (or the row holds the same id) and disagrees when the row holds only
//    other ids of it. A row with more agreeing than disagreeing providers matches; on an even
//    split the row matches only when it also has the same title and year (within a year).
//  - An episode is its series + season + episode: rows its series' ids point to (at the same
//    numbers) match by the same vote over the series' ids (an even split: the same series title
//    and year). Only when none does, its own ids may
//    find a row, and only one with the same season and episode whose series no id contradicts.
//    Own ids never join two episodes whose series, season or episode differ.
//  - A path key (opt-in) finds a row only when one side has no usable id, the type (and the
//    episode numbers) agree and exactly one row has that path.
//  - Several matching rows that do not contradict each other are one item: they merge. Between
//    rows that contradict each other, the vote's margin decides, then the number of agreeing
//    providers; on a tie the item stays on the row it was on when records other than its own
//    report that row or its server only dropped ids (an item whose ids changed leaves it only
//    for a better one), else the row more backends report wins. Rows that the item agrees with
//    equally in all of these: the item is ambiguous and gets a row of its own. Ids that disagree
//    with the chosen row, or point to a row the item did not match, are conflicts: recorded, never
//    used to merge (their keys are not added).
MatchDecision decide_match(const ItemIdentity& item, const std::vector<MatchKey>& keys,
                           const std::vector<MatchCandidate>& candidates);

// Whether two identities can be one item: same type, the same numbers for episodes, and no
// provider (series ids for episodes, own ids for movies) for which both hold ids and none agree.
bool compatible(const ItemIdentity& a, const ItemIdentity& b);

// Add `more`'s ids to `into` (a row's identity grows with every report).
void merge_identity(ItemIdentity& into, const ItemIdentity& more);

} // namespace ws::sync
