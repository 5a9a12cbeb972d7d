// SPDX-License-Identifier: MIT
#include <watchstate/sync/run_keys.hpp>

#include <algorithm>
#include <functional>

namespace ws::sync {
namespace {

constexpr unsigned k_row_bits = 40;
constexpr std::uint64_t k_row_mask = (std::uint64_t{1} << k_row_bits) - 1;
constexpr std::size_t k_initial_slots = std::size_t{1} << 16;

// FNV-1a: independent of std::hash (libstdc++'s is MurmurHash-based), so the two together
// behave as one wider hash.
std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Whether the index can hold `row` in a slot: row ids start at 1 and grow by one, and 2^40 - 1
// of them is beyond any library. (The all-ones tag is k_removed.)
bool holdable(db::ItemId row) { return row > 0 && static_cast<std::uint64_t>(row) < k_row_mask; }

} // namespace

RunKeyIndex::RunKeyIndex() : m_slots(k_initial_slots) {}

RunKeyIndex::Hashed RunKeyIndex::hashed(std::string_view key) {
  return {std::hash<std::string_view>{}(key), (fnv1a(key) >> k_row_bits) << k_row_bits};
}

std::size_t RunKeyIndex::find(const Hashed& h, db::ItemId row) const {
  const std::size_t mask = m_slots.size() - 1;
  const std::uint64_t tag = h.check | static_cast<std::uint64_t>(row);
  for (std::size_t i = h.hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = m_slots[i];
    if (slot.tag == 0) {
      return m_slots.size();
    }
    if (slot.hash == h.hash && slot.tag == tag) {
      return i;
    }
  }
}

std::vector<db::ItemId> RunKeyIndex::rows(std::string_view key) const {
  const Hashed h = hashed(key);
  const std::size_t mask = m_slots.size() - 1;
  std::vector<db::ItemId> out;
  for (std::size_t i = h.hash & mask; m_slots[i].tag != 0; i = (i + 1) & mask) {
    const Slot& slot = m_slots[i];
    if (slot.hash == h.hash && slot.tag != k_removed && (slot.tag & ~k_row_mask) == h.check) {
      out.push_back(static_cast<db::ItemId>(slot.tag & k_row_mask));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void RunKeyIndex::prefetch(std::string_view key) const {
  __builtin_prefetch(&m_slots[hashed(key).hash & (m_slots.size() - 1)]);
}

bool RunKeyIndex::has(std::string_view key, db::ItemId row) const {
  return holdable(row) && find(hashed(key), row) != m_slots.size();
}

RunKeyIndex::Added RunKeyIndex::add(std::string_view key, db::ItemId row) {
  if (!holdable(row)) {
    m_usable = false;
    return Added::cannot_hold;
  }
  const Hashed h = hashed(key);
  if (find(h, row) != m_slots.size()) {
    return Added::already_held;
  }
  // At most 3/4 of the slots in use (pairs and removed ones) keeps probe runs short.
  if ((m_used + 1) * 4 > m_slots.size() * 3) {
    grow();
  }
  const std::size_t mask = m_slots.size() - 1;
  std::size_t i = h.hash & mask;
  while (m_slots[i].tag != 0 && m_slots[i].tag != k_removed) {
    i = (i + 1) & mask;
  }
  if (m_slots[i].tag == 0) {
    ++m_used;
  }
  m_slots[i] = {h.hash, h.check | static_cast<std::uint64_t>(row)};
  ++m_size;
  return Added::new_pair;
}

void RunKeyIndex::remove(std::string_view key, db::ItemId row) {
  if (!holdable(row)) {
    return;
  }
  const std::size_t i = find(hashed(key), row);
  if (i != m_slots.size()) {
    m_slots[i] = {0, k_removed}; // still taken: probe runs pass over it
    --m_size;
  }
}

void RunKeyIndex::grow() {
  // Twice the slots, unless removed pairs take most of the room: then re-placing is enough.
  const std::size_t slots = m_size * 2 >= m_slots.size() / 2 ? m_slots.size() * 2 : m_slots.size();
  std::vector<Slot> old(slots);
  old.swap(m_slots);
  const std::size_t mask = m_slots.size() - 1;
  m_used = 0;
  for (const Slot& slot : old) {
    if (slot.tag == 0 || slot.tag == k_removed) {
      continue;
    }
    std::size_t i = slot.hash & mask;
    while (m_slots[i].tag != 0) {
      i = (i + 1) & mask;
    }
    m_slots[i] = slot;
    ++m_used;
  }
}

void HeldKeys::add(std::string_view key, db::ItemId row) {
  if (m_blocks.empty() || m_blocks.back().capacity() - m_blocks.back().size() < key.size()) {
    // A new block (the rest of the last one stays unused); a key longer than a block gets one
    // of its own size.
    m_blocks.emplace_back().reserve(std::max(k_block_size, key.size()));
  }
  std::string& block = m_blocks.back();
  const std::size_t at = block.size();
  block.append(key);
  m_pairs.push_back({std::string_view(block).substr(at), row});
}

std::vector<db::StateStore::KeyRow>& HeldKeys::sorted() {
  std::sort(m_pairs.begin(), m_pairs.end());
  return m_pairs;
}

void HeldKeys::clear() {
  m_pairs.clear(); // keeps its capacity: the next batch fills it again
  m_blocks.clear();
}

} // namespace ws::sync
