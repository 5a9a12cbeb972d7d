// SPDX-License-Identifier: MIT
#include <watchstate/sync/parity.hpp>

#include <watchstate/core/exit_code.hpp>
#include <watchstate/sync/display.hpp>
#include <watchstate/sync/matching.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace ws::sync {
namespace {

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    out += out.empty() ? p : ", " + p;
  }
  return out;
}

bool wanted(const ParityOptions& options, std::string_view check) {
  return options.checks.empty() ||
         std::find(options.checks.begin(), options.checks.end(), check) != options.checks.end();
}

// How a record is named in findings: its backend, with the item id when the row has several
// copies on that backend.
std::string label(const db::BackendRecord& r, const std::vector<db::BackendRecord>& all) {
  const auto copies =
      std::count_if(all.begin(), all.end(), [&](const auto& o) { return o.backend == r.backend; });
  return copies > 1 ? fmt::format("{}#{}", r.backend, r.remote_id) : r.backend;
}

// A matching key taken apart: provider, value, and whether it is a series key.
struct KeyParts {
  std::string provider;
  std::string value;
  bool series = false;
  bool episode = false;
};

KeyParts key_parts(std::string_view key) {
  KeyParts k;
  const auto scheme_end = key.find("://");
  if (scheme_end == std::string_view::npos) {
    return k;
  }
  k.provider = std::string(key.substr(0, scheme_end));
  std::string_view rest = key.substr(scheme_end + 3);
  k.value = std::string(rest.substr(0, rest.find('/')));
  k.series = k.provider.size() > 1 && k.provider.front() == 'r' &&
             model::guid_key_from_name(k.provider.substr(1)).has_value();
  if (k.series) {
    k.provider.erase(0, 1);
  }
  k.episode = k.series || rest.ends_with("/episode");
  return k;
}

std::string value_of(const model::Guids& guids, std::string_view provider) {
  for (const auto& g : guids) {
    if (model::guid_key_name(g.key) == provider) {
      return g.value;
    }
  }
  return "";
}

// The conflicts check: what the matching recorded (ids it did not use), ids several rows
// share, imdb ids on a movie and an episode. Each finding names both items and what to fix.
class ConflictFinder {
public:
  ConflictFinder(db::StateStore& store, const std::string& identity,
                 const std::vector<std::string>& backends, std::deque<ParityFinding>& out)
      : m_store(store), m_identity(identity), m_backends(backends), m_out(out) {}

  void run() {
    for (const auto& c : m_store.conflicts(m_identity, "")) {
      if (selected(c.backend)) {
        recorded(c);
      }
    }
    for (const auto& [key, rows] : m_store.shared_keys(m_identity)) {
      shared(key, rows);
    }
    for (const auto& [imdb, movie, episode] : m_store.imdb_on_movie_and_episode(m_identity)) {
      cross_type(imdb, movie, episode);
    }
  }

private:
  bool selected(const std::string& backend) const {
    return std::find(m_backends.begin(), m_backends.end(), backend) != m_backends.end();
  }

  // One side: row `row` and those of its server items `keep` accepts.
  std::optional<ConflictSide> side(db::ItemId row, const KeyParts& k,
                                   const std::function<bool(const db::BackendRecord&)>& keep) {
    const auto item = m_store.item(row);
    if (!item) {
      return std::nullopt;
    }
    ConflictSide s;
    s.row = row;
    s.title = display_title(*item);
    for (const auto& r : m_store.records(row)) {
      if (selected(r.backend) && keep(r)) {
        s.items.push_back({r.backend, r.remote_id,
                           k.series ? k.value : value_of(r.guids, k.provider), r.season,
                           r.episode});
      }
    }
    return s;
  }

  static std::string where(const ConflictSide& s) {
    std::vector<std::string> parts;
    for (const auto& i : s.items) {
      parts.push_back(i.episode >= 0
                          ? fmt::format("{} {} ({}x{:02})", i.backend, i.id, i.season, i.episode)
                          : fmt::format("{} {}", i.backend, i.id));
    }
    return parts.empty() ? "no selected backend" : join(parts);
  }

  void add(std::string kind, std::string key, std::vector<ConflictSide> sides, std::string detail,
           std::string fix) {
    ParityFinding f;
    f.check = "conflicts";
    f.item = sides.front().row;
    f.title = sides.front().title;
    f.detail = std::move(detail);
    for (const auto& s : sides) {
      for (const auto& i : s.items) {
        if (std::find(f.backends.begin(), f.backends.end(), i.backend) == f.backends.end()) {
          f.backends.push_back(i.backend);
        }
      }
    }
    f.kind = std::move(kind);
    f.key = std::move(key);
    f.sides = std::move(sides);
    f.fix = std::move(fix);
    m_out.push_back(std::move(f));
  }

  void recorded(const db::ConflictRecord& c) {
    const KeyParts k = key_parts(c.key);
    auto mine = side(c.item, k, [&](const auto& r) {
      return r.backend == c.backend && r.remote_id == c.remote_id;
    });
    if (!mine || mine->items.empty()) {
      return;
    }
    mine->items.front().value = k.value;
    const auto& at = mine->items.front();
    const std::string what = fmt::format("{} item {}", at.backend, at.id);
    if (c.kind == "disagree") {
      auto theirs = side(c.item, k, [&](const auto& r) {
        return !(r.backend == c.backend && r.remote_id == c.remote_id) &&
               !value_of(r.guids, k.provider).empty();
      });
      if (!theirs) {
        return;
      }
      const std::string detail =
          fmt::format("{} has {} {}; {} of the same item: {}", what, k.provider, k.value,
                      k.series ? "the series on the other servers" : "the other servers' items",
                      where(*theirs));
      add(c.kind, c.key, {std::move(*mine), std::move(*theirs)}, detail,
          fmt::format("correct the {} id where it is wrong (Plex: Fix Match; Jellyfin/Emby: "
                      "Identify), or ignore {}://{} on {}",
                      k.provider, k.provider, k.value, at.backend));
      return;
    }
    auto theirs = side(c.other, k, [&](const auto& r) {
      return k.series || value_of(r.guids, k.provider) == k.value;
    });
    if (!theirs) {
      return;
    }
    const std::string detail =
        c.kind == "ambiguous"
            ? fmt::format("{}'s ids point to items that are not one: {} {} is #{} '{}' ({}); "
                          "the item is kept apart",
                          what, k.provider, k.value, theirs->row, theirs->title, where(*theirs))
            : fmt::format("{} {} of {} belongs to #{} '{}' ({}), while its other ids say #{}",
                          k.provider, k.value, what, theirs->row, theirs->title, where(*theirs),
                          c.item);
    add(c.kind, c.key, {std::move(*mine), std::move(*theirs)}, detail,
        fmt::format("one of these servers has the wrong {} id: correct it there (Plex: Fix "
                    "Match; Jellyfin/Emby: Identify), or ignore {}://{} on the backend that is "
                    "wrong",
                    k.provider, k.provider, k.value));
  }

  void shared(const std::string& key, const std::vector<db::ItemId>& rows) {
    const KeyParts k = key_parts(key);
    if (!k.episode) {
      return; // movie ids several rows hold: the rows of ambiguous items, reported above
    }
    std::vector<ConflictSide> sides;
    for (const auto row : rows) {
      if (auto s = side(
              row, k,
              [&](const auto& r) { return k.series || value_of(r.guids, k.provider) == k.value; });
          s && !s->items.empty()) {
        sides.push_back(std::move(*s));
      }
    }
    if (sides.size() < 2) {
      return;
    }
    std::vector<std::string> parts;
    for (const auto& s : sides) {
      parts.push_back(fmt::format("#{} '{}' ({})", s.row, s.title, where(s)));
    }
    add("shared_id", key, std::move(sides),
        fmt::format("{} {} is carried by {} different episodes: {}", k.provider, k.value,
                    parts.size(), join(parts)),
        fmt::format("at most one of them is right: correct the episode's {} id where it is "
                    "wrong; episodes match by series, season and episode, so their play state "
                    "stays apart",
                    k.provider));
  }

  void cross_type(const std::string& imdb, db::ItemId movie, db::ItemId episode) {
    const KeyParts k{"imdb", imdb, false, false};
    auto m = side(movie, k, [&](const auto& r) { return value_of(r.guids, "imdb") == imdb; });
    auto e = side(episode, k, [&](const auto& r) { return value_of(r.guids, "imdb") == imdb; });
    if (!m || !e || m->items.empty() || e->items.empty()) {
      return;
    }
    const std::string detail =
        fmt::format("imdb {} is given to the movie #{} '{}' ({}) and to the episode #{} '{}' ({})",
                    imdb, m->row, m->title, where(*m), e->row, e->title, where(*e));
    add("type", "imdb://" + imdb, {std::move(*m), std::move(*e)}, detail,
        "an imdb id names either a movie or an episode: correct it where it is wrong (types never "
        "match each other, so no play state crossed over)");
  }

  db::StateStore& m_store;
  const std::string& m_identity;
  const std::vector<std::string>& m_backends;
  std::deque<ParityFinding>& m_out;
};

// A (backend, path) pair as a 64-bit hash.
std::uint64_t path_hash(std::string_view backend, std::string_view path) {
  const std::uint64_t b = std::hash<std::string_view>{}(backend);
  const std::uint64_t p = std::hash<std::string_view>{}(path);
  return b ^ (p + 0x9e3779b97f4a7c15ULL + (b << 6U) + (b >> 2U));
}

// The hashes of the (backend, path) pairs that records of more than one row carry, on the
// selected backends: the duplicate_file check can report only these, so the pass keeps the
// owner of these paths alone instead of every path of the library. A hash two pairs share
// only lets a pair through that is then found on one row: the report is the same.
std::unordered_set<std::uint64_t> paths_on_several_rows(db::StateStore& store,
                                                        const std::string& identity,
                                                        const std::vector<std::string>& backends) {
  std::vector<std::pair<std::uint64_t, db::ItemId>> seen;
  store.for_each_record_path(
      identity, [&](std::string_view backend, std::string_view path, bool multi, db::ItemId row) {
        if (!multi && std::find(backends.begin(), backends.end(), backend) != backends.end()) {
          seen.emplace_back(path_hash(backend, path), row);
        }
      });
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  std::unordered_set<std::uint64_t> shared;
  for (std::size_t i = 1; i < seen.size(); ++i) {
    if (seen[i].first == seen[i - 1].first) {
      shared.insert(seen[i].first);
    }
  }
  return shared;
}

} // namespace

int ParityResult::exit_code() const {
  return findings.empty() ? exit_code::ok : exit_code::attention;
}

ParityResult run_parity(const config::Config& config, db::StateStore& store,
                        const RunOptions& options, const ParityOptions& parity) {
  validate_backend_filter(config, options);
  for (const auto& check : parity.checks) {
    if (std::find(k_parity_checks.begin(), k_parity_checks.end(), check) == k_parity_checks.end()) {
      throw Error(Errc::usage, fmt::format("--check {}: no such check; known: {}", check,
                                           join(k_parity_checks)));
    }
  }
  ParityResult result;
  result.identity = options.identity.value_or("main");
  result.live = parity.live;
  for (const auto& b : config::backends_for_identity(config, result.identity)) {
    if (backend_selected(options, b.name)) {
      result.backends.push_back(b.name);
    }
  }
  const std::size_t min_backends =
      parity.min_backends > 0 ? parity.min_backends : result.backends.size();
  const std::int64_t tolerance_ms = static_cast<std::int64_t>(config.progress.minimum) * 1000;

  // One pass over the items in list order, each read with its records when it comes: what is
  // held is the ids (8 bytes an item) and the findings, never every row.
  const auto ids = store.item_ids_in_list_order(result.identity);
  result.items = ids.size();
  const auto shared_paths = wanted(parity, "duplicate_file")
                                ? paths_on_several_rows(store, result.identity, result.backends)
                                : std::unordered_set<std::uint64_t>{};

  std::map<std::pair<std::string, std::string>, db::ItemId> files; // (backend, path) -> row
  for (const auto id : ids) {
    const auto item = store.item(id);
    if (!item) {
      continue; // removed since the ids were read (a run of another tool)
    }
    const db::ItemRow& row = *item;
    const std::string title = display_title(row);
    auto records = store.records(row.id);
    std::erase_if(records, [&](const db::BackendRecord& r) {
      return std::find(result.backends.begin(), result.backends.end(), r.backend) ==
             result.backends.end();
    });
    auto add = [&](const char* check, std::string detail, std::vector<std::string> backends) {
      ParityFinding f;
      f.check = check;
      f.item = row.id;
      f.title = title;
      f.detail = std::move(detail);
      f.backends = std::move(backends);
      result.findings.push_back(std::move(f));
    };

    std::vector<std::string> reporting;
    for (const auto& r : records) {
      if (std::find(reporting.begin(), reporting.end(), r.backend) == reporting.end()) {
        reporting.push_back(r.backend);
      }
    }
    if (wanted(parity, "missing") && reporting.size() < min_backends) {
      std::vector<std::string> absent;
      for (const auto& b : result.backends) {
        if (std::none_of(records.begin(), records.end(),
                         [&](const auto& r) { return r.backend == b; })) {
          absent.push_back(b);
        }
      }
      add("missing", "not on " + join(absent), absent);
    }

    std::vector<std::string> played;
    std::vector<std::string> unplayed;
    for (const auto& r : records) {
      (r.watched ? played : unplayed).push_back(label(r, records));
    }
    if (wanted(parity, "played") && !played.empty() && !unplayed.empty()) {
      add("played", fmt::format("played on {}; unplayed on {}", join(played), join(unplayed)),
          unplayed);
    }

    if (wanted(parity, "progress")) {
      std::int64_t low = -1;
      std::int64_t high = -1;
      std::vector<std::string> with_position;
      for (const auto& r : records) {
        if (!r.watched) {
          low = low < 0 ? r.progress_ms : std::min(low, r.progress_ms);
          high = std::max(high, r.progress_ms);
          with_position.push_back(fmt::format("{} {}s", label(r, records), r.progress_ms / 1000));
        }
      }
      if (high >= 0 && high - low > tolerance_ms && high >= tolerance_ms) {
        add("progress", "positions differ: " + join(with_position), {});
      }
    }

    if (wanted(parity, "id_conflict")) {
      std::map<model::GuidKey, std::vector<std::pair<std::string, std::string>>> by_key;
      for (const auto& r : records) {
        for (const auto& g : r.guids) {
          by_key[g.key].emplace_back(g.value, label(r, records));
        }
      }
      for (const auto& [key, values] : by_key) {
        // Named outside the lambda: clang 14 (clang-tidy) cannot capture a structured binding.
        const std::string& first = values.front().first;
        const bool differ = std::any_of(values.begin(), values.end(),
                                        [&first](const auto& v) { return v.first != first; });
        if (differ) {
          std::vector<std::string> parts;
          std::vector<std::string> backends;
          for (const auto& [value, backend] : values) {
            parts.push_back(fmt::format("{} ({})", value, backend));
            backends.push_back(backend);
          }
          add("id_conflict", fmt::format("{}: {}", model::guid_key_name(key), join(parts)),
              backends);
        }
      }
    }

    if (wanted(parity, "duplicate_id")) {
      std::map<std::string, std::vector<std::string>> seen;
      for (const auto& r : records) {
        for (const auto& g : r.guids) {
          seen[own_id_key(g.key, g.value, row.type)].push_back(r.backend);
        }
      }
      for (const auto& [key, backends] : seen) {
        for (const auto owner : store.items_by_key(result.identity, key)) {
          if (owner != row.id) {
            add("duplicate_id", fmt::format("{} also identifies item #{}", key, owner), backends);
          }
        }
      }
    }

    if (wanted(parity, "duplicate_file")) {
      for (const auto& r : records) {
        if (r.path.empty() || r.multi || !shared_paths.contains(path_hash(r.backend, r.path))) {
          continue;
        }
        const auto [it, inserted] = files.emplace(std::make_pair(r.backend, r.path), row.id);
        if (!inserted && it->second != row.id) {
          add("duplicate_file",
              fmt::format("{} on {} is also item #{}", r.path, r.backend, it->second), {r.backend});
        }
      }
    }

    if (wanted(parity, "metadata")) {
      // Type cannot differ (the matching keys carry it). An episode's year is its air year on
      // some servers and its series' year on others, so only a movie's year is compared.
      std::map<std::string, std::vector<std::string>> said; // value -> backends saying it
      for (const auto& r : records) {
        if (row.type == model::MediaType::movie && r.year > 0) {
          said[fmt::format("year {}", r.year)].push_back(r.backend);
        } else if (row.type == model::MediaType::episode && r.season >= 0 && r.episode >= 0) {
          said[fmt::format("{}x{:02}", r.season, r.episode)].push_back(r.backend);
        }
      }
      if (said.size() > 1) {
        std::vector<std::string> parts;
        std::vector<std::string> backends;
        for (const auto& [value, by] : said) {
          parts.push_back(fmt::format("{} ({})", value, join(by)));
          backends.insert(backends.end(), by.begin(), by.end());
        }
        add("metadata", "backends disagree: " + join(parts), backends);
      }
    }

    if (wanted(parity, "weak") && !records.empty() &&
        std::all_of(records.begin(), records.end(),
                    [](const auto& r) { return r.guids.empty(); })) {
      add("weak", "matched only through its show's ids and the season/episode numbers", {});
    }
  }

  if (wanted(parity, "conflicts")) {
    ConflictFinder(store, result.identity, result.backends, result.findings).run();
  }

  if (parity.prune) {
    result.pruned = store.prune_unreported(result.identity, options.dry_run);
  }
  return result;
}

} // namespace ws::sync
