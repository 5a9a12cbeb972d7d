// SPDX-License-Identifier: MIT
#include <watchstate/sync/matching.hpp>

#include <watchstate/core/text.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <initializer_list>
#include <optional>
#include <tuple>

namespace ws::sync {
namespace {

using Level = MatchKey::Level;

bool is_episode(const ItemIdentity& identity) { return identity.type == model::MediaType::episode; }

bool same_numbers(const ItemIdentity& a, const ItemIdentity& b) {
  return a.season == b.season && a.episode == b.episode;
}

bool has_any_id(const ItemIdentity& identity) {
  return !identity.ids.empty() || !identity.show_ids.empty();
}

const model::Guids& ids_at(const ItemIdentity& identity, Level level) {
  return level == Level::show ? identity.show_ids : identity.ids;
}

bool holds(const model::Guids& ids, model::GuidKey provider, const std::string& value) {
  return std::any_of(ids.begin(), ids.end(),
                     [&](const model::Guid& g) { return g.key == provider && g.value == value; });
}

bool holds_provider(const model::Guids& ids, model::GuidKey provider) {
  return std::any_of(ids.begin(), ids.end(),
                     [&](const model::Guid& g) { return g.key == provider; });
}

// Two id sets contradict each other when, for some provider, both hold ids and none agree.
bool contradict(const model::Guids& a, const model::Guids& b) {
  for (const auto& g : a) {
    if (holds_provider(b, g.key) && !std::any_of(a.begin(), a.end(), [&](const model::Guid& x) {
          return x.key == g.key && holds(b, x.key, x.value);
        })) {
      return true;
    }
  }
  return false;
}

std::string normalized_title(std::string_view title);

// Whether any title of `a` is one of `b` (years aside).
bool same_title(const ItemIdentity& a, const ItemIdentity& b) {
  for (const auto& x : a.names) {
    const std::string title = normalized_title(x.title);
    if (!title.empty() && std::any_of(b.names.begin(), b.names.end(), [&](const auto& y) {
          return normalized_title(y.title) == title;
        })) {
      return true;
    }
  }
  return false;
}

struct Vote {
  int agree = 0;
  int disagree = 0;
  // A majority of the providers, or an even split settled by the same title and year.
  [[nodiscard]] bool wins(const ItemIdentity& item, const ItemIdentity& row) const {
    return agree > 0 && (agree > disagree || (agree == disagree && same_title_and_year(item, row)));
  }
};

std::string normalized_title(std::string_view title) {
  std::string out;
  for (const char c : title) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
      out.push_back(ascii_lower(c));
    } else if ((static_cast<unsigned char>(c) & 0x80U) != 0) {
      out.push_back(c); // UTF-8 bytes are kept as they are
    }
  }
  return out;
}

// How the item's providers at `level` vote on `candidate`: a provider agrees when one of its
// keys points to the candidate or the candidate holds the same id, and disagrees when the
// candidate holds only other ids of that provider.
Vote vote(const ItemIdentity& item, const std::vector<MatchKey>& keys,
          const MatchCandidate& candidate, Level level) {
  Vote v;
  const auto& mine = ids_at(item, level);
  const auto& theirs = ids_at(candidate.identity, level);
  for (std::size_t i = 0; i < mine.size(); ++i) {
    const auto& g = mine[i];
    if (i > 0 && mine[i - 1].key == g.key) {
      continue; // one vote per provider
    }
    const bool hit = std::any_of(candidate.hits.begin(), candidate.hits.end(), [&](std::size_t h) {
      return keys[h].level == level && keys[h].provider == g.key;
    });
    if (hit || holds(theirs, g.key, g.value)) {
      ++v.agree;
    } else if (holds_provider(theirs, g.key)) {
      ++v.disagree;
    }
  }
  return v;
}

bool hit_at(const MatchCandidate& candidate, const std::vector<MatchKey>& keys, Level level) {
  return std::any_of(candidate.hits.begin(), candidate.hits.end(),
                     [&](std::size_t h) { return keys[h].level == level; });
}

struct Eligible {
  std::size_t index = 0; // into candidates
  Vote vote;
  // Sort key: the margin, then the agreeing providers, then the row the item was on (a row
  // that holds an id only through a copy whose other ids contradict it must not take the item
  // from its own row because more backends report it), then how many backends report the row.
  [[nodiscard]] auto rank(const MatchCandidate& c) const {
    return std::make_tuple(vote.agree - vote.disagree, vote.agree, c.previous, c.reporters);
  }
};

std::vector<Eligible> eligible_at(const ItemIdentity& item, const std::vector<MatchKey>& keys,
                                  const std::vector<MatchCandidate>& candidates, Level level) {
  std::vector<Eligible> out;
  std::size_t path_hits = 0;
  if (level == Level::path) {
    path_hits = static_cast<std::size_t>(
        std::count_if(candidates.begin(), candidates.end(),
                      [&](const auto& c) { return hit_at(c, keys, Level::path); }));
  }
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const auto& c = candidates[i];
    if (c.identity.type != item.type || (is_episode(item) && !same_numbers(c.identity, item))) {
      continue;
    }
    switch (level) {
    case Level::show: {
      const Vote v = vote(item, keys, c, Level::show);
      if (v.wins(item, c.identity)) {
        out.push_back({i, v});
      }
      break;
    }
    case Level::own: {
      if (is_episode(item)) {
        // The fallback for episodes: its series must not be contradicted, and when one side
        // knows no series ids, the series must at least carry the same title.
        if (vote(item, keys, c, Level::show).disagree > 0) {
          break;
        }
        if ((item.show_ids.empty() || c.identity.show_ids.empty()) &&
            !same_title(item, c.identity)) {
          break;
        }
      }
      const Vote v = vote(item, keys, c, Level::own);
      if (v.wins(item, c.identity)) {
        out.push_back({i, v});
      }
      break;
    }
    case Level::path:
      if (path_hits == 1 && hit_at(c, keys, Level::path) &&
          (!has_any_id(item) || !has_any_id(c.identity))) {
        out.push_back({i, Vote{1, 0}});
      }
      break;
    }
  }
  std::stable_sort(out.begin(), out.end(), [&](const Eligible& a, const Eligible& b) {
    return a.rank(candidates[a.index]) > b.rank(candidates[b.index]);
  });
  return out;
}

std::optional<std::size_t> key_of(const std::vector<MatchKey>& keys, Level level,
                                  model::GuidKey provider) {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].level == level && keys[i].provider == provider) {
      return i;
    }
  }
  return std::nullopt;
}

void add_sorted(model::Guids& into, const model::Guids& more) {
  for (const auto& g : more) {
    if (!holds(into, g.key, g.value)) {
      into.push_back(g);
    }
  }
  std::sort(into.begin(), into.end(), [](const model::Guid& a, const model::Guid& b) {
    return std::tie(a.key, a.value) < std::tie(b.key, b.value);
  });
}

} // namespace

ItemIdentity identity_of(const backend::RemoteItem& item, const model::RemoteShow* show) {
  ItemIdentity identity;
  identity.type = item.type;
  identity.ids = item.guids;
  if (item.type != model::MediaType::episode) {
    identity.names.push_back({item.title, item.year});
    return identity;
  }
  identity.season = item.season;
  identity.episode = item.episode;
  // Adapters give an episode its series' title; an episode's own year is its air year, not the
  // series'.
  if (show != nullptr) {
    identity.show_ids = show->guids;
    identity.names.push_back({show->title.empty() ? item.title : show->title, show->year});
  } else {
    identity.names.push_back({item.title, 0});
  }
  return identity;
}

std::string normalized_path(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '\\') {
      c = '/';
    }
    if (c == '/' && !out.empty() && out.back() == '/') {
      continue;
    }
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  while (out.size() > 1 && out.back() == '/') {
    out.pop_back();
  }
  return out;
}

std::optional<std::string> relative_to(const std::string& path,
                                       const std::vector<std::string>& roots) {
  const std::string* best = nullptr;
  for (const auto& root : roots) {
    const bool under = !root.empty() && path.size() > root.size() + 1 &&
                       path.compare(0, root.size(), root) == 0 &&
                       (root.back() == '/' || path[root.size()] == '/');
    if (under && (best == nullptr || root.size() > best->size())) {
      best = &root;
    }
  }
  if (best == nullptr) {
    return std::nullopt;
  }
  return path.substr(best->back() == '/' ? best->size() : best->size() + 1);
}

bool same_title_and_year(const ItemIdentity& a, const ItemIdentity& b) {
  for (const auto& x : a.names) {
    const std::string title = normalized_title(x.title);
    const bool found =
        !title.empty() && x.year > 0 &&
        std::any_of(b.names.begin(), b.names.end(), [&](const auto& y) {
          return y.year > 0 && std::abs(x.year - y.year) <= 1 && normalized_title(y.title) == title;
        });
    if (found) {
      return true;
    }
  }
  return false;
}

namespace {

// Appends `value` in decimal.
void append_number(std::string& out, int value) {
  std::array<char, 12> digits{};
  const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
  out.append(digits.data(), end);
}

// Builds a key by appending its parts: match_keys runs for every listed item of a first
// import (four keys each on average), where fmt::format's parse of its pattern was 3.4 % of
// the whole run's instructions (3 x 20,000 items).
std::string key_text(std::initializer_list<std::string_view> parts) {
  std::size_t size = 0;
  for (auto part : parts) {
    size += part.size();
  }
  std::string out;
  out.reserve(size + 24); // room for a season and an episode number
  for (auto part : parts) {
    out.append(part);
  }
  return out;
}

} // namespace

std::string own_id_key(model::GuidKey provider, std::string_view id, model::MediaType type) {
  return key_text({model::guid_key_name(provider), "://", id,
                   type == model::MediaType::episode ? "/episode" : "/movie"});
}

std::vector<MatchKey> match_keys(const ItemIdentity& identity) {
  std::vector<MatchKey> keys;
  const bool episode = is_episode(identity);
  // Episodes without a usable number cannot be matched through their series (WatchState drops
  // episode numbers below 1 too); season 0 holds specials and is valid.
  const bool numbered = episode && identity.season >= 0 && identity.episode >= 1;
  keys.reserve((numbered ? identity.show_ids.size() : 0) + identity.ids.size() +
               (identity.path.empty() ? 0 : 1));
  if (numbered) {
    for (const auto& g : identity.show_ids) {
      // "r<provider>://<show id>/<season>/<episode>"
      std::string text = key_text({"r", model::guid_key_name(g.key), "://", g.value, "/"});
      append_number(text, identity.season);
      text.push_back('/');
      append_number(text, identity.episode);
      keys.push_back({std::move(text), Level::show, g.key, g.value});
    }
  }
  for (const auto& g : identity.ids) {
    keys.push_back({own_id_key(g.key, g.value, identity.type), Level::own, g.key, g.value});
  }
  if (!identity.path.empty()) {
    // "path://<path>|<season>|<episode>/episode" or "path://<path>/movie"
    std::string text = key_text({"path://", identity.path});
    if (episode) {
      text.push_back('|');
      append_number(text, identity.season);
      text.push_back('|');
      append_number(text, identity.episode);
    }
    text.append(episode ? "/episode" : "/movie");
    keys.push_back({std::move(text), Level::path, model::GuidKey::imdb, identity.path});
  }
  return keys;
}

bool has_match_keys(const backend::RemoteItem& item, const model::RemoteShow* show,
                    std::string_view path) {
  if (!item.guids.empty() || !path.empty()) {
    return true; // own ids, or a path key
  }
  // Series ids, for an episode with a usable number (match_keys).
  return item.type == model::MediaType::episode && show != nullptr && !show->guids.empty() &&
         item.season >= 0 && item.episode >= 1;
}

std::vector<std::string> matching_keys(const backend::RemoteItem& item,
                                       const model::RemoteShow* show) {
  std::vector<std::string> out;
  for (auto& key : match_keys(identity_of(item, show))) {
    out.push_back(std::move(key.text));
  }
  return out;
}

std::string_view conflict_kind_name(ConflictKind kind) {
  switch (kind) {
  case ConflictKind::disagree: return "disagree";
  case ConflictKind::other_row: return "other_row";
  case ConflictKind::ambiguous: return "ambiguous";
  }
  return "disagree";
}

bool compatible(const ItemIdentity& a, const ItemIdentity& b) {
  if (a.type != b.type) {
    return false;
  }
  if (is_episode(a)) {
    // An episode is its series + numbers; its own ids may be shared, so they do not decide.
    return same_numbers(a, b) && !contradict(a.show_ids, b.show_ids) &&
           !contradict(b.show_ids, a.show_ids);
  }
  return !contradict(a.ids, b.ids) && !contradict(b.ids, a.ids);
}

void merge_identity(ItemIdentity& into, const ItemIdentity& more) {
  add_sorted(into.ids, more.ids);
  add_sorted(into.show_ids, more.show_ids);
  if (into.path.empty()) {
    into.path = more.path;
  }
  for (const auto& name : more.names) {
    if (!name.title.empty() &&
        std::find(into.names.begin(), into.names.end(), name) == into.names.end()) {
      into.names.push_back(name);
    }
  }
}

MatchDecision decide_match(const ItemIdentity& item, const std::vector<MatchKey>& keys,
                           const std::vector<MatchCandidate>& candidates) {
  MatchDecision d;
  d.use_key.assign(keys.size(), true);

  // The rows each level finds; the first level that finds any decides, and rows a later level
  // finds are merged when they do not contradict it (an episode of a series without ids on one
  // server, found by its own id or its path, is the episode the series' ids found).
  std::vector<std::vector<Eligible>> levels;
  for (const Level level : {Level::show, Level::own, Level::path}) {
    if (level != Level::show || is_episode(item)) {
      levels.push_back(eligible_at(item, keys, candidates, level));
    }
  }
  std::vector<Eligible> eligible;
  std::vector<Eligible> later;
  for (auto& found : levels) {
    if (eligible.empty()) {
      eligible = std::move(found);
    } else {
      later.insert(later.end(), found.begin(), found.end());
    }
  }

  bool ambiguous = false;
  std::vector<std::size_t> matched; // indices into candidates
  if (!eligible.empty()) {
    const auto& best = eligible.front();
    matched.push_back(best.index);
    // The identity of the rows matched so far: the best row's own until another joins it (the
    // common case, one row, copies nothing).
    const ItemIdentity* joined = &candidates[best.index].identity;
    std::optional<ItemIdentity> merged;
    const auto join = [&](std::size_t index) {
      matched.push_back(index);
      if (!merged) {
        merged = *joined;
        joined = &*merged;
      }
      merge_identity(*merged, candidates[index].identity);
    };
    for (std::size_t i = 1; i < eligible.size(); ++i) {
      const auto& c = candidates[eligible[i].index];
      if (compatible(*joined, c.identity)) {
        join(eligible[i].index);
      } else if (eligible[i].rank(c) == best.rank(candidates[best.index])) {
        ambiguous = true;
      }
    }
    for (const auto& e : later) {
      const auto& c = candidates[e.index];
      if (!ambiguous && std::find(matched.begin(), matched.end(), e.index) == matched.end() &&
          compatible(*joined, c.identity)) {
        join(e.index);
      }
    }
    if (!ambiguous) {
      d.row = candidates[best.index].row;
      for (std::size_t i = 1; i < matched.size(); ++i) {
        d.merge.push_back(candidates[matched[i]].row);
      }
      // Ids of the item that the chosen row (with what merges into it) holds otherwise.
      for (const Level level : {Level::show, Level::own}) {
        const auto& mine = ids_at(item, level);
        const auto& theirs = ids_at(*joined, level);
        for (const auto& g : mine) {
          const auto k = key_of(keys, level, g.key);
          if (!k || holds(theirs, g.key, g.value) || !holds_provider(theirs, g.key)) {
            continue;
          }
          const bool hit = std::any_of(matched.begin(), matched.end(), [&](std::size_t m) {
            const auto& hits = candidates[m].hits;
            return std::find(hits.begin(), hits.end(), *k) != hits.end();
          });
          if (!hit) {
            d.conflicts.push_back({*k, *d.row, ConflictKind::disagree});
            d.use_key[*k] = false;
          }
        }
      }
    }
  }

  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (std::find(matched.begin(), matched.end(), i) != matched.end() && !ambiguous) {
      continue;
    }
    const auto& c = candidates[i];
    for (const std::size_t h : c.hits) {
      // Own ids of episodes may be shared by several episodes (the episode is its series and
      // numbers), and a path is only a fallback: neither is a conflict of identity.
      if (keys[h].level == Level::path || (is_episode(item) && keys[h].level == Level::own)) {
        continue;
      }
      if (d.row) {
        d.conflicts.push_back({h, c.row, ConflictKind::other_row});
        d.use_key[h] = false;
      } else {
        // A row of its own whose ids others claim too: its keys point at it as well, and the
        // item is matched again on every run until one row clearly wins.
        d.conflicts.push_back({h, c.row, ConflictKind::ambiguous});
      }
    }
  }
  return d;
}

} // namespace ws::sync
