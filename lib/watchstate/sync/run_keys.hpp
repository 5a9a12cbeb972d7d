// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/db/state_store.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ws::sync {

// The matching keys of one identity (the state database's item_keys), held in memory for one
// import run that began with none stored: a first import. Every key the run writes or removes
// is written here too (BackendApplier), so the index answers what the database would (which rows
// a key points to, whether a row has a key) without a statement each: a first import of
// 3 x 100,000 items otherwise asks SQLite about a million times, most of the time about keys
// the row got a moment before from another server.
//
// The database stays the truth: the index only ever mirrors it (ahead of it by the keys the
// applier holds back to write them sorted, until the listing ends). Once it cannot (a backend's
// transaction rolled back, another process wrote, a row id it cannot hold) the caller drops it
// and the run goes on with the database's answers.
//
// A key is held as 88 bits of two independent hashes of its text, 16 bytes per (key, row):
// two keys of a run share them with a chance of about n^2 / 2^89, 4e-16 for a million keys.
class RunKeyIndex {
public:
  RunKeyIndex();

  // The rows `key` points to, lowest first.
  [[nodiscard]] std::vector<db::ItemId> rows(std::string_view key) const;
  // Starts loading the slot `key` is looked up at. The index is far larger than the CPU's
  // caches (16 MB for a first import of 3 x 100,000), so nearly every look-up waits for memory;
  // the matching prefetches all of an item's keys first, and waits about once instead of once
  // a key.
  void prefetch(std::string_view key) const;
  // Whether `key` points to `row`.
  [[nodiscard]] bool has(std::string_view key, db::ItemId row) const;
  // What add() found.
  enum class Added {
    new_pair,     // `key` points to `row` now
    already_held, // it did before
    cannot_hold,  // a row id outside what it can hold: no longer usable()
  };
  // Point `key` at `row` (also). One look-up answers both "is it there?" and "put it there":
  // most keys of a first import come a second and third time, from the other servers.
  Added add(std::string_view key, db::ItemId row);
  void remove(std::string_view key, db::ItemId row);

  // False once a row id outside what it can hold was added: its answers are then incomplete.
  [[nodiscard]] bool usable() const { return m_usable; }
  [[nodiscard]] std::size_t size() const { return m_size; }

private:
  // An open-addressing table (linear probing). `tag` holds a second hash's top 24 bits above
  // the row's 40; 0 is an empty slot, k_removed one whose pair was removed.
  struct Slot {
    std::uint64_t hash = 0;
    std::uint64_t tag = 0;
  };
  struct Hashed {
    std::uint64_t hash = 0;
    std::uint64_t check = 0; // the second hash's top 24 bits, shifted into place
  };
  static constexpr std::uint64_t k_removed = ~std::uint64_t{0};

  static Hashed hashed(std::string_view key);
  // The slot holding (key, row), or m_slots.size().
  [[nodiscard]] std::size_t find(const Hashed& h, db::ItemId row) const;
  void grow();

  std::vector<Slot> m_slots;
  std::size_t m_size = 0; // pairs held
  std::size_t m_used = 0; // slots not empty: pairs and removed ones
  bool m_usable = true;
};

// The (key, row) pairs a first import put in its RunKeyIndex and did not write to the database
// yet (BackendApplier writes them in sorted batches). Their texts are copied into blocks that
// never move, so a pair costs its text and 24 bytes instead of a string allocation each (a first
// import of 3 x 100,000 holds back about 500,000 of them, 65,536 at a time).
class HeldKeys {
public:
  void add(std::string_view key, db::ItemId row);
  [[nodiscard]] std::size_t size() const { return m_pairs.size(); }
  [[nodiscard]] bool empty() const { return m_pairs.empty(); }
  // The pairs in the database's order (key, then row), to be written; valid until clear().
  [[nodiscard]] std::vector<db::StateStore::KeyRow>& sorted();
  void clear();

private:
  static constexpr std::size_t k_block_size = std::size_t{64} * 1024;
  // Filled up to their capacity, never past it: their texts stay where they are (on the heap,
  // which moving a block into a larger vector does not change).
  std::vector<std::string> m_blocks;
  std::vector<db::StateStore::KeyRow> m_pairs;
};

} // namespace ws::sync
