// SPDX-License-Identifier: MIT
#include <watchstate/sync/playlist_plan.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

namespace ws::sync {

std::string_view playlist_op_name(PlaylistOp::Kind kind) {
  switch (kind) {
  case PlaylistOp::Kind::create: return "create";
  case PlaylistOp::Kind::rename: return "rename";
  case PlaylistOp::Kind::remove: return "remove";
  case PlaylistOp::Kind::add: return "add";
  case PlaylistOp::Kind::move: return "move";
  case PlaylistOp::Kind::remove_playlist: return "delete";
  }
  return "add";
}

std::string playlist_name_key(std::string_view title) {
  const auto first = title.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = title.find_last_not_of(" \t");
  std::string key(title.substr(first, last - first + 1));
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return key;
}

std::string playlist_signature(const backend::RemotePlaylist& playlist) {
  std::string text = playlist.title;
  text += '\x1f';
  for (std::size_t i = 0; i < playlist.entries.size(); ++i) {
    text += i == 0 ? "" : ",";
    text += playlist.entries[i].item_id;
  }
  return text;
}

namespace {

PlaylistOp make_op(PlaylistOp::Kind kind) {
  PlaylistOp op;
  op.kind = kind;
  return op;
}

// Indexes (into `seq`) of a longest strictly increasing subsequence of `seq`.
std::vector<std::size_t> longest_increasing(const std::vector<std::size_t>& seq) {
  std::vector<std::size_t> tails; // index into seq of the smallest tail per length
  std::vector<std::size_t> parent(seq.size(), seq.size());
  for (std::size_t i = 0; i < seq.size(); ++i) {
    const auto at = std::lower_bound(tails.begin(), tails.end(), seq[i],
                                     [&](std::size_t t, std::size_t v) { return seq[t] < v; });
    if (at != tails.begin()) {
      parent[i] = *(at - 1);
    }
    if (at == tails.end()) {
      tails.push_back(i);
    } else {
      *at = i;
    }
  }
  std::vector<std::size_t> out;
  for (auto i = tails.empty() ? seq.size() : tails.back(); i < seq.size(); i = parent[i]) {
    out.push_back(i);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

} // namespace

std::vector<PlaylistOp> playlist_edit_ops(const std::vector<backend::PlaylistEntry>& current,
                                          const std::vector<std::string>& desired) {
  std::vector<PlaylistOp> ops;
  std::unordered_map<std::string, std::size_t> wanted;
  for (const auto& id : desired) {
    ++wanted[id];
  }
  // Keep the first occurrences an item is wanted for, remove the rest.
  std::vector<backend::PlaylistEntry> list;
  auto remove = make_op(PlaylistOp::Kind::remove);
  for (const auto& e : current) {
    auto it = wanted.find(e.item_id);
    if (it != wanted.end() && it->second > 0) {
      --it->second;
      list.push_back(e);
    } else {
      remove.entry_ids.push_back(e.entry_id);
    }
  }
  if (!remove.entry_ids.empty()) {
    ops.push_back(std::move(remove));
  }
  // What is still wanted is appended, in the order the list wants it.
  auto add = make_op(PlaylistOp::Kind::add);
  for (const auto& id : desired) {
    auto& left = wanted[id];
    if (left > 0) {
      --left;
      add.item_ids.push_back(id);
      list.push_back({fmt::format("new:{}", add.item_ids.size() - 1), id});
    }
  }
  if (!add.item_ids.empty()) {
    ops.push_back(std::move(add));
  }

  // Pair the k-th occurrence of an item in the list with its k-th place in `desired`.
  std::unordered_map<std::string, std::vector<std::size_t>> places;
  for (std::size_t i = desired.size(); i-- > 0;) {
    places[desired[i]].push_back(i); // reversed: back() is the earliest place
  }
  std::vector<std::size_t> place_of(list.size());
  std::vector<std::size_t> entry_at(desired.size());
  for (std::size_t k = 0; k < list.size(); ++k) {
    auto& p = places[list[k].item_id];
    place_of[k] = p.back();
    entry_at[p.back()] = k;
    p.pop_back();
  }
  // Entries on a longest already-ordered run stay; each other one is moved, in the order of
  // the places it goes to, right after the entry that precedes it there.
  std::vector<bool> stays(list.size(), false);
  for (const auto k : longest_increasing(place_of)) {
    stays[k] = true;
  }
  std::vector<std::string> order; // entry ids as the server holds them, simulated
  order.reserve(list.size());
  for (const auto& e : list) {
    order.push_back(e.entry_id);
  }
  for (std::size_t i = 0; i < desired.size(); ++i) {
    const auto k = entry_at[i];
    if (stays[k]) {
      continue;
    }
    const auto& id = list[k].entry_id;
    order.erase(std::find(order.begin(), order.end(), id));
    auto move = make_op(PlaylistOp::Kind::move);
    move.entry_id = id;
    if (i > 0) {
      move.after = list[entry_at[i - 1]].entry_id;
      move.index = static_cast<std::size_t>(std::find(order.begin(), order.end(), move.after) -
                                            order.begin()) +
                   1;
    }
    order.insert(order.begin() + static_cast<std::ptrdiff_t>(move.index), id);
    ops.push_back(std::move(move));
  }
  return ops;
}

namespace {

// A logical playlist while planning: the known row (if any) and the copy each backend holds.
struct Group {
  const db::PlaylistRow* known = nullptr;
  std::string key;
  std::map<std::string, const ObservedPlaylist*> copies; // backend -> its copy
};

const db::PlaylistCopy* known_copy(const db::PlaylistRow* row, const std::string& backend) {
  if (row == nullptr) {
    return nullptr;
  }
  for (const auto& c : row->copies) {
    if (c.backend == backend) {
      return &c;
    }
  }
  return nullptr;
}

std::vector<db::ItemId> resolved_items(const ObservedPlaylist& copy, std::size_t& unresolved) {
  std::vector<db::ItemId> items;
  unresolved = 0;
  for (const auto& local : copy.local) {
    if (local) {
      items.push_back(*local);
    } else {
      ++unresolved;
    }
  }
  return items;
}

} // namespace

PlaylistPlan plan_playlists(const PlaylistPlanInput& input) {
  PlaylistPlan plan;

  // 1. Group the copies: by the id a known copy has, else by title.
  std::vector<Group> groups;
  for (const auto& row : input.known) {
    groups.push_back({&row, row.name_key, {}});
  }
  std::map<std::string, std::set<std::string>> blocked; // backend -> titles it must not get
  for (const auto& b : input.backends) {
    if (!b.readable) {
      continue;
    }
    std::set<std::string> listed; // the ids of this backend's playlists
    for (const auto& o : b.playlists) {
      listed.insert(o.remote.id);
    }
    for (const auto& o : b.playlists) {
      const auto key = playlist_name_key(o.remote.title);
      if (o.remote.smart || !o.remote.video) {
        plan.skipped.push_back({b.name, o.remote.id, o.remote.title,
                                o.remote.smart ? "smart playlist" : "not a video playlist"});
        blocked[b.name].insert(key);
        continue;
      }
      Group* group = nullptr;
      for (auto& g : groups) {
        const auto* c = known_copy(g.known, b.name);
        if (c != nullptr && !c->deleted && c->remote_id == o.remote.id) {
          group = &g;
          break;
        }
      }
      if (group == nullptr) {
        // By title: a playlist new to us, or one deleted and made again under the same title
        // (its old copy is gone from the listing), never a second one beside a synced copy.
        for (auto& g : groups) {
          const auto* c = known_copy(g.known, b.name);
          const bool synced_copy_listed =
              c != nullptr && !c->deleted && listed.count(c->remote_id) != 0;
          if (g.key == key && !synced_copy_listed && g.copies.count(b.name) == 0) {
            group = &g;
            break;
          }
        }
      }
      if (group == nullptr) {
        const bool taken = std::any_of(groups.begin(), groups.end(), [&](const Group& g) {
          return g.key == key && g.copies.count(b.name) != 0;
        });
        if (!taken) {
          groups.push_back({nullptr, key, {}});
          group = &groups.back();
        }
      }
      if (group == nullptr || group->copies.count(b.name) != 0) {
        plan.skipped.push_back({b.name, o.remote.id, o.remote.title,
                                "another playlist of this title on this backend is synced"});
        continue;
      }
      group->copies[b.name] = &o;
    }
  }

  // 2. Decide each playlist.
  for (auto& g : groups) {
    PlannedPlaylist p;
    const auto* known = g.known;
    p.next.identity = input.identity;
    p.next.synced_at = input.now;
    if (known != nullptr) {
      p.next = *known;
      p.next.synced_at = input.now;
      p.next.copies.clear();
    }

    // Edited copies and their edit times; deleted copies.
    struct Edit {
      std::string backend;
      UnixTime at = 0;
      std::size_t order = 0;
    };
    std::vector<Edit> edits;
    for (std::size_t bi = 0; bi < input.backends.size(); ++bi) {
      const auto& b = input.backends[bi];
      if (!b.readable) {
        continue;
      }
      const auto* c = known_copy(known, b.name);
      const auto it = g.copies.find(b.name);
      if (it == g.copies.end()) {
        if (c != nullptr && !c->deleted) {
          p.deleted_on.push_back(b.name);
        }
        continue;
      }
      const auto signature = playlist_signature(it->second->remote);
      if (c != nullptr && !c->deleted &&
          (c->signature == signature || c->signature == k_unknown_playlist_signature)) {
        continue;
      }
      UnixTime at = input.now;
      const bool new_copy = c == nullptr || c->deleted || c->remote_id != it->second->remote.id;
      if (b.has_edit_time || new_copy) {
        at = it->second->remote.updated_at > 0 ? it->second->remote.updated_at : input.now;
      }
      if (known != nullptr && new_copy && at <= known->updated) {
        // A copy older than the list (a backend added to the config with its own playlist of
        // this title): the list is newer, the copy is brought to it.
        continue;
      }
      edits.push_back({b.name, at, bi});
      p.changed_on.push_back(b.name);
    }
    const auto winner =
        std::max_element(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) {
          return a.at != b.at ? a.at < b.at : a.order > b.order;
        });

    // The list every copy should have.
    if (winner != edits.end()) {
      const auto& copy = *g.copies.at(winner->backend);
      p.source = winner->backend;
      p.next.title = copy.remote.title;
      p.next.name_key = playlist_name_key(copy.remote.title);
      p.next.items = resolved_items(copy, p.unresolved);
      p.next.updated = winner->at;
      p.next.source = winner->backend;
    } else if (known != nullptr) {
      // Nothing edited: the list stays, unless the copy it came from now resolves better (an
      // item imported since, a row merged): that is no edit, only better knowledge.
      const auto src = g.copies.find(known->source);
      if (src != g.copies.end()) {
        std::size_t unresolved = 0;
        auto items = resolved_items(*src->second, unresolved);
        if (items != known->items && items.size() >= known->items.size()) {
          p.next.items = std::move(items);
        }
        p.unresolved = unresolved;
      }
    } else {
      continue; // cannot happen: a group without a known row has a copy, which is an edit
    }
    p.title = p.next.title;
    // The copy the list was taken from (now or by an earlier run) is never written: it may hold
    // entries the state database does not know, which no other copy has and none may lose.
    const std::string& list_from = p.source.empty() ? p.next.source : p.source;

    const bool delete_everywhere =
        input.propagate_deletes && !p.deleted_on.empty() && edits.empty();

    // Copies to write and the state of each copy afterwards.
    bool wrote = false;
    for (const auto& b : input.backends) {
      const auto* c = known_copy(known, b.name);
      const auto it = g.copies.find(b.name);
      const ObservedPlaylist* copy = it == g.copies.end() ? nullptr : it->second;
      if (!b.readable) {
        if (c != nullptr) {
          p.next.copies.push_back(*c); // unknown now: kept as it was
        }
        continue;
      }
      const bool deleted_here =
          std::find(p.deleted_on.begin(), p.deleted_on.end(), b.name) != p.deleted_on.end();
      if (deleted_here || (copy == nullptr && c != nullptr && c->deleted)) {
        p.next.copies.push_back({b.name, "", "", true, c != nullptr ? c->seen_at : input.now});
        continue;
      }
      const auto keep_copy = [&] {
        if (copy != nullptr) {
          const auto signature = playlist_signature(copy->remote);
          const bool same = c != nullptr && !c->deleted && c->signature == signature;
          p.next.copies.push_back(
              {b.name, copy->remote.id, signature, false, same ? c->seen_at : input.now});
        }
      };
      if (delete_everywhere) {
        if (copy != nullptr && b.writable) {
          PlaylistTarget t{b.name, copy->remote.id, {}, {}, {}};
          t.ops.push_back(make_op(PlaylistOp::Kind::remove_playlist));
          p.targets.push_back(std::move(t));
          p.next.copies.push_back({b.name, "", "", true, input.now});
        } else {
          keep_copy();
        }
        continue;
      }
      if (b.name == list_from || !b.writable) {
        keep_copy();
        if (!b.writable && copy == nullptr) {
          p.not_on.push_back(fmt::format("{}: export disabled", b.name));
        }
        continue;
      }
      if (copy == nullptr && blocked[b.name].count(p.next.name_key) != 0) {
        p.not_on.push_back(
            fmt::format("{}: holds a smart or non-video playlist of this title", b.name));
        continue;
      }

      // What this backend should hold: each item through its copies there, preferring a copy
      // the playlist already holds.
      PlaylistTarget t;
      t.backend = b.name;
      std::unordered_map<std::string, std::size_t> present;
      if (copy != nullptr) {
        t.remote_id = copy->remote.id;
        for (const auto& e : copy->remote.entries) {
          ++present[e.item_id];
        }
      }
      for (const auto item : p.next.items) {
        const auto ids =
            input.copies_on ? input.copies_on(item, b.name) : std::vector<std::string>{};
        if (ids.empty()) {
          t.missing.push_back(item);
          continue;
        }
        std::string chosen = ids.front();
        for (const auto& id : ids) {
          auto at = present.find(id);
          if (at != present.end() && at->second > 0) {
            --at->second;
            chosen = id;
            break;
          }
        }
        t.desired.push_back(chosen);
      }
      if (copy == nullptr && t.desired.empty()) {
        // Not made empty: Plex cannot create a playlist without items, and an empty copy
        // helps nobody; it is made once one of the items is there.
        p.not_on.push_back(
            fmt::format("{}: {}", b.name,
                        p.next.items.empty() ? "the playlist is empty" : "has none of its items"));
        if (!t.missing.empty()) {
          p.targets.push_back(std::move(t)); // the missing items are reported
        }
        continue;
      }
      if (copy == nullptr) {
        auto create = make_op(PlaylistOp::Kind::create);
        create.title = p.next.title;
        create.item_ids = t.desired;
        t.ops.push_back(std::move(create));
      } else {
        t.ops = playlist_edit_ops(copy->remote.entries, t.desired);
        if (copy->remote.title != p.next.title) {
          auto rename = make_op(PlaylistOp::Kind::rename);
          rename.title = p.next.title;
          t.ops.push_back(std::move(rename));
        }
        if (t.ops.empty()) {
          keep_copy();
        }
      }
      if (!t.ops.empty()) {
        // Its copy state is filled in once the writes are done (sync/playlists.cpp).
        wrote = true;
        p.targets.push_back(std::move(t));
      } else if (!t.missing.empty()) {
        p.targets.push_back(std::move(t)); // nothing to write, but missing items to report
      }
    }

    std::sort(
        p.next.copies.begin(), p.next.copies.end(),
        [](const db::PlaylistCopy& a, const db::PlaylistCopy& b) { return a.backend < b.backend; });
    const bool any_copy_left =
        wrote || std::any_of(p.next.copies.begin(), p.next.copies.end(),
                             [](const db::PlaylistCopy& c) { return !c.deleted; });
    if (delete_everywhere || !any_copy_left) {
      // Deleted everywhere (by the user, or by this run with --delete): nothing left to sync.
      p.action = "deleted";
      p.forget = !any_copy_left;
    } else if (known == nullptr) {
      p.action = "created";
    } else if (wrote || !edits.empty()) {
      p.action = "updated";
    } else if (!p.deleted_on.empty()) {
      p.action = "kept";
    }
    plan.playlists.push_back(std::move(p));
  }
  return plan;
}

} // namespace ws::sync
