// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/config/config.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/sync/run_context.hpp>

#include <deque>
#include <string>
#include <vector>

namespace ws::sync {

// The checks of ws-parity, by name.
inline const std::vector<std::string> k_parity_checks = {
    "missing",        "played",   "progress", "id_conflict", "duplicate_id",
    "duplicate_file", "metadata", "weak",     "conflicts"};

struct ParityOptions {
  std::size_t min_backends = 0;    // an item on fewer backends is "missing"; 0 = all selected
  std::vector<std::string> checks; // empty: all
  bool prune = false;              // remove rows no backend reports any more
  bool live = false;               // compare what the backends report now, not at the last import
};

// One side of an identity conflict: a local row and the server items on it that carry the id.
struct ConflictSide {
  struct ServerItem {
    std::string backend;
    std::string id;    // the backend's item id
    std::string value; // the value of the disputed provider it carries ("" = none)
    int season = -1;   // as the backend numbers it (episodes)
    int episode = -1;
  };
  db::ItemId row = 0;
  std::string title;
  std::vector<ServerItem> items;
};

struct ParityFinding {
  std::string check;
  db::ItemId item = 0;
  std::string title;
  std::string detail;
  std::vector<std::string> backends; // the backends the finding is about
  // check "conflicts": what kind (disagree, other_row, ambiguous, shared_id, type), the disputed
  // key, both items, and what to fix where.
  std::string kind;
  std::string key;
  std::vector<ConflictSide> sides;
  std::string fix;
};

struct ParityResult {
  std::string identity;
  bool live = false;
  std::vector<std::string> backends;
  std::uint64_t items = 0;
  // A deque: a report of 100,000 findings grows a block at a time, never copied into an array
  // twice its size.
  std::deque<ParityFinding> findings;
  std::vector<db::ItemRow> pruned;     // removed (or, in a dry run, to remove)
  [[nodiscard]] int exit_code() const; // 1 when something differs, else 0
};

// Compare what the backends reported at their last import, item by item: which backends lack
// it, where they disagree on played/unplayed or on the position (beyond progress.minimum), and
// the health checks (one provider with different ids across backends, an id of one row also
// reported for another, one file on several rows, backends disagreeing on a movie's year or an
// episode's season/episode numbers, rows matched only through their show), and the identity
// conflicts: ids the matching did not use (sync/matching.hpp), ids several episodes share, imdb
// ids on a movie and an episode.
ParityResult run_parity(const config::Config& config, db::StateStore& store,
                        const RunOptions& options, const ParityOptions& parity);

} // namespace ws::sync
