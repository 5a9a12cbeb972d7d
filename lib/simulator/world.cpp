// SPDX-License-Identifier: MIT
#include "simulator/world.hpp"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

namespace ws::sim {

std::string_view kind_name(Kind kind) {
  switch (kind) {
  case Kind::plex: return "plex";
  case Kind::jellyfin: return "jellyfin";
  case Kind::emby: return "emby";
  }
  return "plex";
}

std::optional<Kind> kind_from_name(std::string_view name) {
  for (Kind k : k_all_kinds) {
    if (kind_name(k) == name) {
      return k;
    }
  }
  return std::nullopt;
}

PlayState World::initial_state(Kind kind, size_t user, size_t entry) const {
  const auto& per_kind = state[idx(kind)];
  if (user < per_kind.size() && entry < per_kind[user].size()) {
    return per_kind[user][entry];
  }
  return {};
}

int64_t default_added_at(std::string_view key) {
  return 1600000000 + static_cast<int64_t>(fnv1a32(key) % 94608000U);
}

namespace {

constexpr int64_t k_year_s = 365 * 86400;

std::string seed_text(uint64_t seed) { return fmt::format("seed-{}", seed); }

std::string two(int v) { return fmt::format("{:02d}", v); }

std::string episode_file_name(const Entry& show, const Entry& ep) {
  std::string name = fmt::format("{} - S{}E{}", show.title, two(ep.season), two(ep.episode));
  if (ep.episode_end >= 0) {
    name += fmt::format("-E{}", two(ep.episode_end));
  }
  return name + ".mkv";
}

// Fill server defaults (ids, tokens, users) that the world did not give.
void complete_server(ServerDef& s, const std::string& seed) {
  const std::string kn(kind_name(s.kind));
  if (s.server_id.empty()) {
    s.server_id = hex_hash(seed, kn + "/server", s.kind == Kind::plex ? 40 : 32);
  }
  s.server_id = to_lower(s.server_id);
  if (s.name.empty()) {
    s.name =
        s.kind == Kind::plex ? "SimPlex" : (s.kind == Kind::jellyfin ? "SimJellyfin" : "SimEmby");
  }
  if (s.version.empty()) {
    s.version = s.kind == Kind::plex ? "1.41.3.9314-a0bfb8370"
                                     : (s.kind == Kind::jellyfin ? "10.10.7" : "4.8.11.0");
  }
  if (s.users.empty()) {
    UserDef u;
    u.name = s.kind == Kind::plex ? "owner" : "alice";
    u.id = s.kind == Kind::plex ? "1" : "";
    u.admin = true;
    s.users.push_back(u);
  }
  for (size_t i = 0; i < s.users.size(); ++i) {
    UserDef& u = s.users[i];
    if (u.id.empty()) {
      u.id = s.kind == Kind::plex ? fmt::format("{}", i == 0 ? 1 : 1000 + i)
                                  : hex_hash(seed, kn + "/user/" + u.name, 32);
    }
    u.id = to_lower(u.id);
    if (u.token.empty()) {
      u.token = hex_hash(seed, kn + "/token/" + u.id, s.kind == Kind::plex ? 20 : 32);
    }
    if (s.kind == Kind::plex) {
      u.home = u.home || u.managed || i == 0;
      if (u.uuid.empty()) {
        u.uuid = hex_hash(seed, kn + "/uuid/" + u.id, 16);
      }
    }
  }
  if (s.token.empty()) {
    s.token = s.kind == Kind::plex ? s.users.front().token : hex_hash(seed, kn + "/apikey", 32);
  }
}

void complete_paths(World& w) {
  for (Entry& e : w.entries) {
    const std::string year = e.year > 0 ? fmt::format(" ({})", e.year) : std::string();
    const bool uhd = e.library == k_4k_library;
    if (e.kind == EntryKind::movie) {
      const std::string dir = (uhd ? "/media/movies4k/" : "/media/movies/") + e.title + year;
      if (e.file.empty()) {
        e.file = dir + "/" + e.title + year + ".mkv";
      } else if (e.file.front() != '/') {
        e.file = dir + "/" + e.file;
      }
    } else if (e.kind == EntryKind::show) {
      if (e.file.empty()) {
        e.file = (uhd ? "/media/tv4k/" : "/media/tv/") + e.title;
      }
    }
  }
  for (Entry& e : w.entries) {
    if (e.kind != EntryKind::episode) {
      continue;
    }
    const Entry& show = w.entries[e.show];
    const std::string dir = fmt::format("{}/Season {}", show.file, two(e.season));
    if (e.file.empty()) {
      e.file = dir + "/" + episode_file_name(show, e);
    } else if (e.file.front() != '/') {
      e.file = dir + "/" + e.file;
    }
  }
}

// ------------------------------------------------------------------ generation

const char* const k_adjectives[] = {"Silent", "Crimson", "Hidden",   "Broken",  "Golden", "Last",
                                    "Frozen", "Distant", "Electric", "Wild",    "Lonely", "Burning",
                                    "Secret", "Falling", "Endless",  "Midnight"};
const char* const k_nouns[] = {"River",   "Empire",  "Garden",  "Signal",  "Harbor", "Machine",
                               "Forest",  "Promise", "Station", "Kingdom", "Mirror", "Voyage",
                               "Orchard", "Circuit", "Lantern", "Frontier"};
const char* const k_genres[] = {"Drama",           "Comedy",      "Action",   "Thriller",
                                "Science Fiction", "Documentary", "Animation"};

std::string gen_title(Rng& rng, size_t n) {
  return fmt::format("{} {} {}", k_adjectives[rng.below(16)], k_nouns[rng.below(16)], n);
}

IdList upper_keys(const IdList& ids, bool emby_show) {
  IdList out;
  for (const auto& [k, v] : ids) {
    if (k == "tvmaze" && emby_show) {
      out.emplace_back("Tv Maze", v);
    } else {
      std::string up = k;
      for (char& c : up) {
        if (c >= 'a' && c <= 'z') {
          c = static_cast<char>(c - 'a' + 'A');
        }
      }
      out.emplace_back(up, v);
    }
  }
  return out;
}

PlayState mutate(Rng& rng, PlayState s, int64_t duration_ms) {
  const uint64_t variant = rng.below(3);
  if (variant == 1 && s.last_played_ms != k_no_time) {
    const int64_t days = rng.range(1, 30);
    s.last_played_ms += (rng.chance(0.5) ? 1 : -1) * days * 86400 * 1000;
    return s;
  }
  if (variant == 2 && !s.played) {
    const int64_t cap = std::max<int64_t>(duration_ms * 85 / 100, 180000);
    int64_t pos = rng.range(2, 80) * 60000;
    pos = std::min(pos, cap);
    if (pos == s.position_ms) {
      pos = pos > 120000 ? pos - 60000 : pos + 60000;
    }
    s.position_ms = pos;
    if (s.last_played_ms == k_no_time) {
      s.last_played_ms = (k_anchor - rng.range(0, 3 * k_year_s)) * 1000;
    }
    return s;
  }
  if (s.played) {
    return PlayState{};
  }
  PlayState p;
  p.played = true;
  p.play_count = 1;
  p.last_played_ms = (k_anchor - rng.range(0, 3 * k_year_s)) * 1000;
  return p;
}

// Draw the initial state of one (user, entry) from its own stream (played, in progress or neither).
PlayState draw_state(Rng& rng, const GenerateOptions& o, int64_t duration_ms) {
  PlayState base;
  if (rng.chance(o.played)) {
    base.played = true;
    base.play_count = static_cast<uint32_t>(rng.range(1, 3));
    base.last_played_ms = (k_anchor - rng.range(0, 3 * k_year_s)) * 1000;
  } else if (rng.chance(o.in_progress)) {
    const int64_t cap = std::max<int64_t>(duration_ms * 85 / 100, 120000);
    base.position_ms = std::min(rng.range(2, 80) * 60000, cap);
    base.last_played_ms = (k_anchor - rng.range(0, 3 * k_year_s)) * 1000;
  }
  return base;
}

const std::string* id_of(const IdList& ids, std::string_view provider) {
  for (const auto& [k, v] : ids) {
    if (k == provider) {
      return &v;
    }
  }
  return nullptr;
}

// Playlists of the first user of every served server (--playlists N), from a stream of their own
// so that the catalogue and the play state do not depend on N. Playlist i: i % 3 == 0 the same
// title and items on every server; 1 the same title, but every server after the first changes
// the list once (drops an item, adds one or swaps two; edited up to 30 days later); 2 a title of
// each server's own. With N >= 2 also a smart playlist on Plex and an audio playlist on Jellyfin.
void generate_playlists(World& w, const GenerateOptions& o, const std::vector<Kind>& present) {
  if (o.playlists == 0 || present.empty()) {
    return;
  }
  Rng prng(mix64(o.seed ^ 0x9a7115d5ULL));
  std::array<std::vector<uint32_t>, k_kinds> on; // movies/episodes of each server
  std::vector<uint32_t> common;                  // ... and those on every served server
  for (size_t i = 0; i < w.entries.size(); ++i) {
    const Entry& e = w.entries[i];
    if (e.kind == EntryKind::show) {
      continue;
    }
    bool everywhere = true;
    for (Kind k : present) {
      if (e.on(k)) {
        on[idx(k)].push_back(static_cast<uint32_t>(i));
      } else {
        everywhere = false;
      }
    }
    if (everywhere) {
      common.push_back(static_cast<uint32_t>(i));
    }
  }
  // Up to `count` distinct entries of the pool; now and then the first one again at the end.
  auto pick = [&](const std::vector<uint32_t>& pool, size_t count) {
    std::vector<uint32_t> out;
    count = std::min(count, pool.size());
    for (size_t attempt = 0; out.size() < count && attempt < count * 8; ++attempt) {
      const uint32_t e = pool[prng.below(pool.size())];
      if (std::find(out.begin(), out.end(), e) == out.end()) {
        out.push_back(e);
      }
    }
    if (out.size() >= 2 && prng.chance(0.15)) {
      out.push_back(out.front());
    }
    return out;
  };
  auto add = [&](Kind k, std::string title, int64_t updated_at, std::vector<uint32_t> entries) {
    PlaylistDef p;
    p.kind = k;
    p.title = std::move(title);
    p.updated_at = updated_at;
    p.entries = std::move(entries);
    w.playlists.push_back(std::move(p));
  };
  constexpr int64_t day = 86400;
  for (size_t i = 0; i < o.playlists; ++i) {
    const std::string title =
        fmt::format("{} {} Mix {}", k_adjectives[prng.below(16)], k_nouns[prng.below(16)], i + 1);
    const int64_t updated = k_anchor - prng.range(31 * day, 365 * day);
    const auto count = static_cast<size_t>(prng.range(2, 12));
    if (i % 3 == 2) {
      for (Kind k : present) {
        add(k, fmt::format("{} ({})", title, kind_name(k)), updated, pick(on[idx(k)], count));
      }
      continue;
    }
    const std::vector<uint32_t> base = pick(common, count);
    for (size_t s = 0; s < present.size(); ++s) {
      const Kind k = present[s];
      std::vector<uint32_t> items = base;
      int64_t when = updated;
      if (i % 3 == 1 && s > 0) {
        const std::vector<uint32_t>& pool = on[idx(k)];
        const uint64_t change = prng.below(3);
        if (change == 0 && items.size() >= 2) {
          items.erase(items.begin() + static_cast<std::ptrdiff_t>(prng.below(items.size())));
        } else if (change == 2 && items.size() >= 2 && items.front() != items.back()) {
          const size_t a = prng.below(items.size());
          size_t b = prng.below(items.size() - 1);
          b += b >= a ? 1 : 0;
          std::swap(items[a], items[b]);
        } else if (!pool.empty()) {
          items.push_back(pool[prng.below(pool.size())]);
        }
        when += prng.range(1, 30) * day;
      }
      add(k, title, when, std::move(items));
    }
  }
  if (o.playlists >= 2) {
    for (Kind k : {Kind::plex, Kind::jellyfin}) {
      if (std::find(present.begin(), present.end(), k) == present.end()) {
        continue;
      }
      const bool smart = k == Kind::plex;
      const std::string title = fmt::format("{} {} {}", smart ? "Smart" : "Audio",
                                            k_adjectives[prng.below(16)], k_nouns[prng.below(16)]);
      add(k, title, k_anchor - prng.range(1 * day, 30 * day), pick(on[idx(k)], smart ? 8 : 5));
      (smart ? w.playlists.back().smart : w.playlists.back().audio) = true;
    }
  }
}

} // namespace

World generate_world(const GenerateOptions& o) {
  auto check_fraction = [](double v, const char* name) {
    if (!(v >= 0.0 && v <= 1.0)) {
      throw WorldError(fmt::format("--{} must be between 0 and 1 (got {})", name, v));
    }
  };
  check_fraction(o.overlap, "overlap");
  check_fraction(o.played, "played");
  check_fraction(o.in_progress, "in-progress");
  check_fraction(o.diverge, "diverge");
  if (!(o.messy >= 0.0 && o.messy <= 20.0)) {
    throw WorldError(fmt::format("--messy must be between 0 and 20 (got {})", o.messy));
  }
  if (o.items == 0) {
    throw WorldError("--items must be at least 1");
  }
  if (o.playlists > 10000) {
    throw WorldError(fmt::format("--playlists must be at most 10000 (got {})", o.playlists));
  }
  if ((o.servers & 0b111) == 0) {
    throw WorldError("no server selected");
  }

  World w;
  w.seed = o.seed;
  const std::string seed = seed_text(o.seed);
  std::vector<Kind> present;
  for (Kind k : k_all_kinds) {
    ServerDef& s = w.servers[idx(k)];
    s.kind = k;
    s.present = ((o.servers >> idx(k)) & 1U) != 0;
    if (!s.present) {
      continue;
    }
    present.push_back(k);
    if (k == Kind::plex) {
      s.users = {UserDef{"1", "owner", "", "", true}, UserDef{"1001", "alice", "", "", false}};
    } else {
      // Passwords for POST /Users/AuthenticateByName: the user's name + "-pw".
      s.users = {UserDef{"", "alice", "", "alice-pw", true},
                 UserDef{"", "bob", "", "bob-pw", false}};
    }
    complete_server(s, seed);
  }

  Rng rng(mix64(o.seed ^ 0x5157a11dULL));
  // The messy-metadata cases draw from a stream of their own, so that the catalogue stream is
  // consumed as it always was: with --messy 0 a seed still gives the world it gave before.
  Rng mrng(mix64(o.seed ^ 0x3e55c0deULL));
  auto messy = [&](double rate) { return mrng.chance(rate * o.messy); };
  std::array<size_t, k_kinds> counts{};
  auto full = [&](Kind k) { return counts[idx(k)] >= o.items; };
  auto all_full = [&]() { return std::all_of(present.begin(), present.end(), full); };
  // A random server of `mask` (with room for one more item when `need_room`), or -1.
  auto pick_server = [&](uint8_t mask, bool need_room) -> int {
    std::vector<Kind> open;
    for (Kind k : present) {
      if (((mask >> idx(k)) & 1U) != 0 && (!need_room || !full(k))) {
        open.push_back(k);
      }
    }
    return open.empty() ? -1 : static_cast<int>(idx(open[mrng.below(open.size())]));
  };

  w.entries.reserve(o.items * 3 / 2 + 64);
  int64_t current_show = -1;
  int show_total = 0;
  int show_next = 0; // index of the next episode slot in the current show
  bool show_no_ids = false;
  int show_agent = 0; // 0 modern, 1 legacy tvdb, 2 hama
  // Messy cases of the current show.
  int specials_total = 0; // season 0 episodes, generated before the regular ones
  int specials_next = 0;
  int dup_at = -1; // from this regular slot on, an episode takes the previous one's tvdb id
  int64_t prev_episode = -1; // the show's previous episode entry
  bool want_copy = false;    // a 4k copy of the whole show on one of its servers
  bool want_rematch = false; // a re-match candidate on one of its servers
  int64_t copy_show = -1;    // the copy's show entry, once its server is known
  Kind copy_kind = Kind::plex;
  std::vector<uint32_t> tvdb_episodes; // episodes with a tvdb id (for ids shared across shows)
  std::vector<uint32_t> tmdb_movies;   // movies with a tmdb id (for conflicting ids)
  size_t n = 0;
  while (!all_full()) {
    ++n;
    const bool movie = rng.chance(0.4);
    Entry e;
    e.key = fmt::format("{}{}", movie ? "m" : "e", n);
    if (movie) {
      e.kind = EntryKind::movie;
      e.title = gen_title(rng, n);
      e.year = static_cast<int>(rng.range(1950, 2025));
      e.duration_ms = rng.range(80, 170) * 60000;
      e.added_at = k_anchor - rng.range(0, 4 * k_year_s);
      e.genres.emplace_back(k_genres[rng.below(7)]);
      const bool no_ids = rng.chance(0.01);
      const bool legacy = rng.chance(0.01);
      const bool odd = rng.chance(0.01);
      if (no_ids) {
        e.plex_guids = {fmt::format("local://{}", n)};
      } else {
        e.ids = {{"imdb", fmt::format("tt{:07d}", 1000000 + n)},
                 {"tmdb", fmt::format("{}", 10000 + n)}};
        if (legacy) {
          e.plex_guids = {fmt::format("com.plexapp.agents.imdb://tt{:07d}?lang=en", 1000000 + n)};
        }
        if (odd) {
          IdList up = upper_keys(e.ids, false);
          e.provider_ids[idx(Kind::jellyfin)] = up;
          e.provider_ids[idx(Kind::emby)] = up;
        }
      }
    } else {
      if (current_show < 0 || (show_next >= show_total && specials_next >= specials_total)) {
        Entry show;
        show.kind = EntryKind::show;
        show.key = fmt::format("s{}", n);
        show.title =
            fmt::format("{} {} Show {}", k_adjectives[rng.below(16)], k_nouns[rng.below(16)], n);
        show.year = static_cast<int>(rng.range(1990, 2025));
        show.added_at = k_anchor - rng.range(0, 4 * k_year_s);
        show.genres.emplace_back(k_genres[rng.below(7)]);
        show_total = static_cast<int>(rng.range(10, 30));
        show_next = 0;
        show_no_ids = rng.chance(0.01);
        show_agent = rng.chance(0.01) ? 1 : (rng.chance(0.01) ? 2 : 0);
        const bool odd = rng.chance(0.01);
        if (!show_no_ids) {
          show.ids = {{"tvdb", fmt::format("{}", 70000 + n)},
                      {"imdb", fmt::format("tt{:07d}", 3000000 + n)},
                      {"tmdb", fmt::format("{}", 90000 + n)},
                      {"tvmaze", fmt::format("{}", 5000 + n)}};
          if (show_agent == 1) {
            show.plex_guids = {fmt::format("com.plexapp.agents.thetvdb://{}?lang=en", 70000 + n)};
          } else if (show_agent == 2) {
            show.ids.emplace_back("anidb", fmt::format("{}", 100 + n));
            show.plex_guids = {fmt::format("com.plexapp.agents.hama://anidb-{}?lang=en", 100 + n)};
          }
          if (odd) {
            show.provider_ids[idx(Kind::jellyfin)] = upper_keys(show.ids, false);
            show.provider_ids[idx(Kind::emby)] = upper_keys(show.ids, true);
          }
        } else {
          show_agent = 3;
          show.plex_guids = {fmt::format("com.plexapp.agents.none://{}?lang=xn", n)};
        }
        current_show = static_cast<int64_t>(w.entries.size());
        w.entries.push_back(std::move(show));
        specials_total = messy(0.05) ? static_cast<int>(mrng.range(1, 3)) : 0;
        specials_next = 0;
        dup_at = messy(0.02) ? static_cast<int>(mrng.range(1, show_total - 1)) : -1;
        prev_episode = -1;
        want_copy = messy(0.005);
        want_rematch = !show_no_ids && messy(0.003);
        copy_show = -1;
      }
      Entry& show = w.entries[static_cast<size_t>(current_show)];
      e.kind = EntryKind::episode;
      e.show = static_cast<uint32_t>(current_show);
      const bool special = specials_next < specials_total;
      const int slot = show_next;
      if (special) {
        e.season = 0;
        e.episode = ++specials_next;
      } else {
        e.season = 1 + show_next / 10;
        e.episode = 1 + show_next % 10;
        ++show_next;
        const bool multi = rng.chance(0.01);
        if (multi && show_next < show_total && show_next % 10 != 0) {
          e.episode_end = e.episode + 1;
          ++show_next;
        }
      }
      e.title = fmt::format("Episode {}", e.episode);
      e.year = special ? show.year : show.year + e.season - 1;
      e.duration_ms = rng.range(20, 60) * 60000;
      e.added_at =
          special
              ? std::min(k_anchor, show.added_at + e.episode * 3600)
              : std::min(k_anchor, show.added_at + (e.season - 1) * 86400 * 7 + e.episode * 3600);
      const bool no_episode_ids = rng.chance(0.01);
      if (!show_no_ids && !no_episode_ids) {
        e.ids.emplace_back("tvdb", fmt::format("{}", 5000000 + n));
        if (rng.chance(0.5)) {
          e.ids.emplace_back("imdb", fmt::format("tt{:07d}", 6000000 + n));
        }
      }
      // Episode ids the metadata sources got wrong: the same tvdb id on two consecutive
      // episodes of one show, or the tvdb id of an episode of another show.
      const Entry* prev =
          prev_episode >= 0 ? &w.entries[static_cast<size_t>(prev_episode)] : nullptr;
      if (!special && dup_at >= 0 && slot >= dup_at && prev != nullptr && !e.ids.empty() &&
          id_of(prev->ids, "tvdb") != nullptr) {
        e.ids.front().second = *id_of(prev->ids, "tvdb");
        e.cases |= mc_shared_episode_id;
        const auto p = static_cast<size_t>(prev_episode);
        w.entries[p].cases |= mc_shared_episode_id;
        for (size_t c = p + 1; c < w.entries.size() && c <= p + 2; ++c) {
          if (w.entries[c].copy_of == prev_episode) {
            w.entries[c].cases |= mc_shared_episode_id;
          }
        }
        dup_at = -1;
      } else if (!e.ids.empty() && !tvdb_episodes.empty() && messy(0.005)) {
        for (int attempt = 0; attempt < 4; ++attempt) {
          const Entry& other = w.entries[tvdb_episodes[mrng.below(tvdb_episodes.size())]];
          if (other.show != e.show) {
            e.ids.front().second = *id_of(other.ids, "tvdb");
            e.cases |= mc_cross_show_episode_id;
            break;
          }
        }
      }
      if (show_agent == 1) {
        e.plex_guids = {fmt::format("com.plexapp.agents.thetvdb://{}/{}/{}?lang=en",
                                    show.ids.front().second, e.season, e.episode)};
      } else if (show_agent == 2) {
        e.plex_guids = {fmt::format("com.plexapp.agents.hama://anidb-{}/{}/{}?lang=en",
                                    show.ids.back().second, e.season, e.episode)};
      } else if (show_agent == 3) {
        e.plex_guids = {fmt::format("com.plexapp.agents.none://{}/{}/{}?lang=xn",
                                    show.key.substr(1), e.season, e.episode)};
      }
      if (show.provider_ids[idx(Kind::jellyfin)] && !e.ids.empty()) {
        e.provider_ids[idx(Kind::jellyfin)] = upper_keys(e.ids, false);
        e.provider_ids[idx(Kind::emby)] = upper_keys(e.ids, false);
      }
    }
    // Presence: every present server draws, full servers are skipped.
    uint8_t mask = 0;
    for (Kind k : present) {
      if (rng.chance(o.overlap) && !full(k)) {
        mask = static_cast<uint8_t>(mask | (1U << idx(k)));
      }
    }
    if (mask == 0) {
      std::vector<Kind> open;
      for (Kind k : present) {
        if (!full(k)) {
          open.push_back(k);
        }
      }
      mask = static_cast<uint8_t>(1U << idx(open[rng.below(open.size())]));
    }
    e.servers = mask;
    for (Kind k : present) {
      if (e.on(k)) {
        ++counts[idx(k)];
      }
    }
    const auto index = static_cast<uint32_t>(w.entries.size());
    std::optional<Entry> copy_of_show; // a show's 4k copy, created with its first copied episode
    std::optional<Entry> copy;         // the 4k copy of this movie/episode (own key, same ids)
    if (e.kind == EntryKind::movie) {
      if (messy(0.01)) {
        const int k = pick_server(mask, true);
        if (k >= 0) {
          copy = e; // before the per-server cases below change e's presentation
          copy->key += "c";
          copy->library = k_4k_library;
          copy->servers = static_cast<uint8_t>(1U << k);
          copy->copy_of = static_cast<int32_t>(index);
          ++counts[static_cast<size_t>(k)];
        }
      }
      const std::string* imdb = id_of(e.ids, "imdb");
      if (imdb != nullptr && messy(0.005)) {
        // One server matched it wrongly: a fresh imdb id no other entry has, no tmdb id.
        const int k = pick_server(mask, false);
        w.rematches.push_back(
            Rematch{index, static_cast<Kind>(k), {{"imdb", fmt::format("tt9{:07d}", n)}}});
        e.cases |= mc_rematch;
        e.case_server = static_cast<int8_t>(k);
      } else if (imdb != nullptr && !tmdb_movies.empty() && messy(0.005)) {
        // One server presents the movie's imdb id with the tmdb id of another movie.
        const Entry& other = w.entries[tmdb_movies[mrng.below(tmdb_movies.size())]];
        const std::string tmdb = *id_of(other.ids, "tmdb");
        const int k = pick_server(mask, false);
        if (static_cast<Kind>(k) == Kind::plex) {
          e.plex_guids = {"plex://movie/" + hex_hash("plex-guid", e.key, 24), "imdb://" + *imdb,
                          "tmdb://" + tmdb};
        } else {
          e.provider_ids[static_cast<size_t>(k)] = IdList{{"Imdb", *imdb}, {"Tmdb", tmdb}};
        }
        e.cases |= mc_conflicting_ids;
        e.case_server = static_cast<int8_t>(k);
      }
      if (id_of(e.ids, "tmdb") != nullptr) {
        tmdb_movies.push_back(index);
      }
    } else {
      Entry& show = w.entries[e.show];
      show.servers = static_cast<uint8_t>(show.servers | mask);
      show.episodes.push_back(index);
      if (want_rematch) {
        // One server matched the show wrongly: a fresh tvdb id, no other ids.
        want_rematch = false;
        const int k = pick_server(mask, false);
        w.rematches.push_back(
            Rematch{e.show, static_cast<Kind>(k), {{"tvdb", fmt::format("9{:08d}", n)}}});
        show.cases |= mc_rematch;
        show.case_server = static_cast<int8_t>(k);
      }
      if (want_copy && copy_show < 0) {
        const int k = pick_server(mask, true);
        if (k >= 0) {
          want_copy = false;
          copy_kind = static_cast<Kind>(k);
          copy_show = static_cast<int64_t>(index) + 1;
          copy_of_show = show;
          copy_of_show->key += "c";
          copy_of_show->library = k_4k_library;
          copy_of_show->servers = 0;
          copy_of_show->episodes.clear();
          copy_of_show->copy_of = static_cast<int32_t>(e.show);
          copy_of_show->cases = 0;
          copy_of_show->case_server = -1;
        }
      }
      if (copy_show >= 0 && e.on(copy_kind) && !full(copy_kind)) {
        copy = e;
        copy->key += "c";
        copy->show = static_cast<uint32_t>(copy_show);
        copy->servers = static_cast<uint8_t>(1U << idx(copy_kind));
        copy->copy_of = static_cast<int32_t>(index);
        ++counts[idx(copy_kind)];
        Entry& cs = copy_of_show ? *copy_of_show : w.entries[static_cast<size_t>(copy_show)];
        cs.servers = static_cast<uint8_t>(cs.servers | copy->servers);
        cs.episodes.push_back(index + (copy_of_show ? 2 : 1));
      }
      prev_episode = static_cast<int64_t>(index);
      if (id_of(e.ids, "tvdb") != nullptr && e.cases == 0) {
        tvdb_episodes.push_back(index);
      }
    }
    w.entries.push_back(std::move(e));
    if (copy_of_show) {
      w.entries.push_back(std::move(*copy_of_show));
    }
    if (copy) {
      w.entries.push_back(std::move(*copy));
    }
  }

  // Play state in a second pass with its own stream so the catalogue does not depend on it.
  // Copies are left out here (they did not exist before --messy) and drawn in a third pass.
  Rng srng(mix64(o.seed ^ 0x57a7e5ULL));
  const size_t users = 2;
  for (Kind k : present) {
    w.state[idx(k)].assign(users, std::vector<PlayState>(w.entries.size()));
  }
  for (size_t i = 0; i < w.entries.size(); ++i) {
    const Entry& e = w.entries[i];
    if (e.kind == EntryKind::show || e.copy_of >= 0) {
      continue;
    }
    std::vector<Kind> on;
    for (Kind k : present) {
      if (e.on(k)) {
        on.push_back(k);
      }
    }
    for (size_t u = 0; u < users; ++u) {
      const PlayState base = draw_state(srng, o, e.duration_ms);
      for (Kind k : on) {
        w.state[idx(k)][u][i] = base;
      }
      if (on.size() >= 2 && srng.chance(o.diverge)) {
        const Kind k = on[srng.below(on.size())];
        w.state[idx(k)][u][i] = mutate(srng, base, e.duration_ms);
      }
    }
  }
  // A copy has its own state: per user, half the time the original's on that server.
  Rng crng(mix64(o.seed ^ 0xc0b1e5ULL));
  for (size_t i = 0; i < w.entries.size(); ++i) {
    const Entry& e = w.entries[i];
    if (e.kind == EntryKind::show || e.copy_of < 0) {
      continue;
    }
    for (Kind k : present) {
      if (!e.on(k)) {
        continue;
      }
      for (size_t u = 0; u < users; ++u) {
        w.state[idx(k)][u][i] = crng.chance(0.5)
                                    ? w.state[idx(k)][u][static_cast<size_t>(e.copy_of)]
                                    : draw_state(crng, o, e.duration_ms);
      }
    }
  }
  generate_playlists(w, o, present);
  complete_paths(w);
  return w;
}

// ------------------------------------------------------------------ world files

namespace {

using Value = rapidjson::Value;

class Parser {
public:
  Parser(std::string_view source, uint8_t servers) : m_source(source), m_serve(servers) {}

  World parse(std::string_view text);

private:
  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw WorldError(fmt::format("world file {}: {}: {}", m_source, where, what));
  }

  void check_keys(const Value& obj, const std::string& where,
                  std::initializer_list<const char*> allowed) const {
    if (!obj.IsObject()) {
      fail(where, "expected an object");
    }
    for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
      const std::string_view name(it->name.GetString(), it->name.GetStringLength());
      bool ok = false;
      for (const char* a : allowed) {
        if (name == a) {
          ok = true;
          break;
        }
      }
      if (!ok) {
        fail(where, fmt::format("unknown key \"{}\"", name));
      }
    }
  }

  std::string str(const Value& v, const std::string& where) const {
    if (!v.IsString()) {
      fail(where, "expected a string");
    }
    return {v.GetString(), v.GetStringLength()};
  }

  int64_t integer(const Value& v, const std::string& where) const {
    if (!v.IsInt64()) {
      fail(where, "expected an integer");
    }
    return v.GetInt64();
  }

  bool boolean(const Value& v, const std::string& where) const {
    if (!v.IsBool()) {
      fail(where, "expected true or false");
    }
    return v.GetBool();
  }

  IdList id_list(const Value& v, const std::string& where, bool lower_keys) const {
    if (!v.IsObject()) {
      fail(where, "expected an object of strings");
    }
    IdList out;
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      std::string k(it->name.GetString(), it->name.GetStringLength());
      const std::string val = str(it->value, where + "." + k);
      if (lower_keys) {
        if (k != to_lower(k) || k.empty()) {
          fail(where + "." + k, "provider names in \"ids\" must be lower-case");
        }
      }
      if (val.empty()) {
        fail(where + "." + k, "empty id");
      }
      out.emplace_back(std::move(k), val);
    }
    return out;
  }

  std::vector<std::string> strings(const Value& v, const std::string& where, bool non_empty) const {
    if (!v.IsArray()) {
      fail(where, "expected an array of strings");
    }
    std::vector<std::string> out;
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      out.push_back(str(v[i], fmt::format("{}[{}]", where, i)));
    }
    if (non_empty && out.empty()) {
      fail(where, "must not be empty");
    }
    return out;
  }

  uint8_t server_mask(const Value& v, const std::string& where) const {
    uint8_t mask = 0;
    for (const std::string& name : strings(v, where, true)) {
      auto k = kind_from_name(name);
      if (!k) {
        fail(where, fmt::format("unknown server \"{}\" (plex, jellyfin, emby)", name));
      }
      if (!m_world.servers[idx(*k)].present) {
        fail(where, fmt::format("server \"{}\" is not in the world", name));
      }
      mask = static_cast<uint8_t>(mask | (1U << idx(*k)));
    }
    return mask;
  }

  uint8_t library(const Value& v, const std::string& where) const {
    const std::string name = str(v, where);
    if (name == "main") {
      return k_main_library;
    }
    if (name == "4k") {
      return k_4k_library;
    }
    fail(where, "expected \"main\" or \"4k\"");
  }

  // Read "library" and remember "copy_of" (resolved once every entry is known).
  void parse_slot(size_t entry, const Value& v, const std::string& where) {
    if (v.HasMember("library")) {
      m_world.entries[entry].library = library(v["library"], where + ".library");
    }
    if (v.HasMember("copy_of")) {
      m_copies.push_back({entry, {str(v["copy_of"], where + ".copy_of"), where + ".copy_of"}});
    }
  }

  void resolve_copies();

  void parse_server(Kind k, const Value& v, const std::string& where);
  void parse_common(Entry& e, const Value& v, const std::string& where, bool key_title_required);
  void parse_state(size_t entry, const Value& v, const std::string& where);
  void parse_playlists(const Value& v);

  std::string m_source;
  uint8_t m_serve;
  World m_world;
  std::set<std::string> m_keys;
  std::vector<std::pair<size_t, std::pair<const Value*, std::string>>> m_states;
  std::vector<std::pair<size_t, std::pair<std::string, std::string>>>
      m_copies; // entry, (key, where)
};

void Parser::resolve_copies() {
  std::vector<Entry>& es = m_world.entries;
  if (m_copies.empty()) {
    return;
  }
  std::unordered_map<std::string_view, size_t> by_key;
  for (size_t i = 0; i < es.size(); ++i) {
    by_key.emplace(es[i].key, i);
  }
  for (const auto& [entry, ref] : m_copies) {
    const auto& [key, where] = ref;
    auto found = by_key.find(key);
    const EntryKind kind = es[entry].kind;
    const char* what = kind == EntryKind::movie ? "movie" : "show";
    if (found == by_key.end() || es[found->second].kind != kind) {
      fail(where, fmt::format("no {} with key \"{}\"", what, key));
    }
    const size_t original = found->second;
    if (original == entry) {
      fail(where, fmt::format("a {} cannot be a copy of itself", what));
    }
    es[entry].copy_of = static_cast<int32_t>(original);
    // The episodes of a copied show copy the original's episodes with the same numbers.
    for (uint32_t ep : es[entry].episodes) {
      for (uint32_t oe : es[original].episodes) {
        if (es[oe].season == es[ep].season && es[oe].episode == es[ep].episode) {
          es[ep].copy_of = static_cast<int32_t>(oe);
          break;
        }
      }
    }
  }
}

void Parser::parse_server(Kind k, const Value& v, const std::string& where) {
  check_keys(v, where,
             {"server_id", "name", "version", "token", "users", "plex_pass", "webhook_plugin",
              "premiere"});
  ServerDef& s = m_world.servers[idx(k)];
  const size_t id_len = k == Kind::plex ? 40 : 32;
  if (v.HasMember("server_id")) {
    s.server_id = str(v["server_id"], where + ".server_id");
    if (s.server_id.size() != id_len || !is_hex(s.server_id)) {
      fail(where + ".server_id", fmt::format("must be {} hex characters", id_len));
    }
  }
  if (v.HasMember("name")) {
    s.name = str(v["name"], where + ".name");
  }
  if (v.HasMember("version")) {
    s.version = str(v["version"], where + ".version");
  }
  if (v.HasMember("token")) {
    s.token = str(v["token"], where + ".token");
    if (s.token.empty()) {
      fail(where + ".token", "must not be empty");
    }
  }
  if (v.HasMember("plex_pass")) {
    if (k != Kind::plex) {
      fail(where + ".plex_pass", "only a Plex server has a plex.tv account");
    }
    s.plex_pass = boolean(v["plex_pass"], where + ".plex_pass");
  }
  if (v.HasMember("webhook_plugin")) {
    if (k != Kind::jellyfin) {
      fail(where + ".webhook_plugin", "only a Jellyfin server has the Webhook plugin");
    }
    s.webhook_plugin = boolean(v["webhook_plugin"], where + ".webhook_plugin");
  }
  if (v.HasMember("premiere")) {
    if (k != Kind::emby) {
      fail(where + ".premiere", "only an Emby server has Emby Premiere");
    }
    s.premiere = boolean(v["premiere"], where + ".premiere");
  }
  if (v.HasMember("users")) {
    const Value& us = v["users"];
    if (!us.IsArray() || us.Empty()) {
      fail(where + ".users", "expected a non-empty array");
    }
    std::set<std::string> ids;
    for (rapidjson::SizeType i = 0; i < us.Size(); ++i) {
      const std::string uw = fmt::format("{}.users[{}]", where, i);
      check_keys(
          us[i], uw,
          {"id", "name", "token", "password", "admin", "home", "managed", "friend", "uuid", "pin"});
      UserDef u;
      if (!us[i].HasMember("name")) {
        fail(uw, "missing \"name\"");
      }
      u.name = str(us[i]["name"], uw + ".name");
      if (us[i].HasMember("id")) {
        u.id = str(us[i]["id"], uw + ".id");
        const bool ok = k == Kind::plex ? is_digits(u.id) : (u.id.size() == 32 && is_hex(u.id));
        if (!ok) {
          fail(uw + ".id",
               k == Kind::plex ? "must be a decimal account id" : "must be 32 hex characters");
        }
      }
      if (us[i].HasMember("token")) {
        u.token = str(us[i]["token"], uw + ".token");
      }
      if (us[i].HasMember("password")) {
        u.password = str(us[i]["password"], uw + ".password");
      }
      u.admin = i == 0;
      if (us[i].HasMember("admin")) {
        u.admin = boolean(us[i]["admin"], uw + ".admin");
      }
      for (const char* key : {"home", "managed", "friend", "uuid", "pin"}) {
        if (us[i].HasMember(key) && k != Kind::plex) {
          fail(uw + "." + key, "only Plex users have plex.tv properties");
        }
      }
      if (us[i].HasMember("home")) {
        u.home = boolean(us[i]["home"], uw + ".home");
      }
      if (us[i].HasMember("managed")) {
        u.managed = boolean(us[i]["managed"], uw + ".managed");
      }
      if (us[i].HasMember("friend")) {
        u.friend_user = boolean(us[i]["friend"], uw + ".friend");
      }
      if (us[i].HasMember("uuid")) {
        u.uuid = str(us[i]["uuid"], uw + ".uuid");
      }
      if (u.friend_user && (u.home || u.managed)) {
        fail(uw + ".friend", "a friend is not a home or managed user");
      }
      if (us[i].HasMember("pin")) {
        u.pin = str(us[i]["pin"], uw + ".pin");
        if (u.pin.size() != 4 || !is_digits(u.pin)) {
          fail(uw + ".pin", "must be 4 digits");
        }
        if (u.friend_user) {
          fail(uw + ".pin", "a PIN protects a home user, not a friend");
        }
      }
      s.users.push_back(std::move(u));
    }
  }
}

void Parser::parse_common(Entry& e, const Value& v, const std::string& where, bool title_required) {
  if (!v.HasMember("key")) {
    fail(where, "missing \"key\"");
  }
  e.key = str(v["key"], where + ".key");
  if (e.key.empty() || !std::all_of(e.key.begin(), e.key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
      })) {
    fail(where + ".key", "must match [A-Za-z0-9_.-]+");
  }
  if (!m_keys.insert(e.key).second) {
    fail(where + ".key", fmt::format("duplicate key \"{}\"", e.key));
  }
  if (v.HasMember("title")) {
    e.title = str(v["title"], where + ".title");
  } else if (title_required) {
    fail(where, "missing \"title\"");
  }
  if (v.HasMember("year")) {
    const int64_t y = integer(v["year"], where + ".year");
    if (y < 1 || y > 9999) {
      fail(where + ".year", "must be between 1 and 9999");
    }
    e.year = static_cast<int>(y);
  }
  if (v.HasMember("ids")) {
    e.ids = id_list(v["ids"], where + ".ids", true);
  }
  e.added_at = v.HasMember("added_at") ? integer(v["added_at"], where + ".added_at")
                                       : default_added_at(e.key);
  if (v.HasMember("duration_ms")) {
    e.duration_ms = integer(v["duration_ms"], where + ".duration_ms");
    if (e.duration_ms <= 0) {
      fail(where + ".duration_ms", "must be positive");
    }
  }
  if (v.HasMember("file")) {
    e.file = str(v["file"], where + ".file");
    if (e.file.empty()) {
      fail(where + ".file", "must not be empty");
    }
  }
  if (v.HasMember("genres")) {
    e.genres = strings(v["genres"], where + ".genres", false);
  }
  if (v.HasMember("plex_guids")) {
    e.plex_guids = strings(v["plex_guids"], where + ".plex_guids", true);
  }
  if (v.HasMember("provider_ids")) {
    IdList p = id_list(v["provider_ids"], where + ".provider_ids", false);
    e.provider_ids[idx(Kind::jellyfin)] = p;
    e.provider_ids[idx(Kind::emby)] = p;
  }
  if (v.HasMember("jellyfin_provider_ids")) {
    e.provider_ids[idx(Kind::jellyfin)] =
        id_list(v["jellyfin_provider_ids"], where + ".jellyfin_provider_ids", false);
  }
  if (v.HasMember("emby_provider_ids")) {
    e.provider_ids[idx(Kind::emby)] =
        id_list(v["emby_provider_ids"], where + ".emby_provider_ids", false);
  }
}

void Parser::parse_state(size_t entry, const Value& v, const std::string& where) {
  if (!v.IsObject()) {
    fail(where, "expected an object keyed by server name");
  }
  const Entry& e = m_world.entries[entry];
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    const std::string sname(it->name.GetString(), it->name.GetStringLength());
    const std::string sw = where + "." + sname;
    auto k = kind_from_name(sname);
    if (!k) {
      fail(sw, "unknown server (plex, jellyfin, emby)");
    }
    if (!e.on(*k)) {
      fail(sw, "the item is not on this server");
    }
    std::vector<const Value*> list;
    if (it->value.IsArray()) {
      for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
        list.push_back(&it->value[i]);
      }
    } else {
      list.push_back(&it->value);
    }
    const ServerDef& s = m_world.servers[idx(*k)];
    auto& per_user = m_world.state[idx(*k)];
    for (size_t i = 0; i < list.size(); ++i) {
      const Value& st = *list[i];
      const std::string stw = it->value.IsArray() ? fmt::format("{}[{}]", sw, i) : sw;
      check_keys(st, stw,
                 {"user", "played", "play_count", "last_played", "position_ms", "favorite"});
      size_t user = 0;
      if (st.HasMember("user")) {
        const std::string uid = to_lower(str(st["user"], stw + ".user"));
        auto found = std::find_if(s.users.begin(), s.users.end(),
                                  [&](const UserDef& u) { return u.id == uid; });
        if (found == s.users.end()) {
          fail(stw + ".user", fmt::format("unknown user \"{}\"", uid));
        }
        user = static_cast<size_t>(found - s.users.begin());
      }
      PlayState p;
      if (st.HasMember("played")) {
        p.played = boolean(st["played"], stw + ".played");
      }
      p.play_count = p.played ? 1 : 0;
      if (st.HasMember("play_count")) {
        const int64_t c = integer(st["play_count"], stw + ".play_count");
        if (c < 0) {
          fail(stw + ".play_count", "must not be negative");
        }
        p.play_count = static_cast<uint32_t>(c);
      }
      if (st.HasMember("last_played") && !st["last_played"].IsNull()) {
        p.last_played_ms = integer(st["last_played"], stw + ".last_played") * 1000;
      }
      if (st.HasMember("position_ms")) {
        p.position_ms = integer(st["position_ms"], stw + ".position_ms");
        if (p.position_ms < 0) {
          fail(stw + ".position_ms", "must not be negative");
        }
      }
      if (st.HasMember("favorite")) {
        p.favorite = boolean(st["favorite"], stw + ".favorite");
      }
      if (per_user.size() < s.users.size()) {
        per_user.resize(s.users.size());
      }
      per_user[user].resize(std::max(per_user[user].size(), entry + 1));
      per_user[user][entry] = p;
    }
  }
}

// "playlists": {"<server>": [{"user","title","summary","smart","media_type","items","updated_at"},
// …]}
void Parser::parse_playlists(const Value& v) {
  if (!v.IsObject()) {
    fail("playlists", "expected an object keyed by server name");
  }
  std::unordered_map<std::string_view, size_t> by_key;
  for (size_t i = 0; i < m_world.entries.size(); ++i) {
    by_key.emplace(m_world.entries[i].key, i);
  }
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    const std::string sname(it->name.GetString(), it->name.GetStringLength());
    const std::string sw = "playlists." + sname;
    auto k = kind_from_name(sname);
    if (!k) {
      fail(sw, "unknown server (plex, jellyfin, emby)");
    }
    const ServerDef& s = m_world.servers[idx(*k)];
    if (!s.present) {
      fail(sw, fmt::format("server \"{}\" is not in the world", sname));
    }
    if (!it->value.IsArray()) {
      fail(sw, "expected an array of playlists");
    }
    for (rapidjson::SizeType j = 0; j < it->value.Size(); ++j) {
      const Value& pv = it->value[j];
      const std::string pw = fmt::format("{}[{}]", sw, j);
      check_keys(pv, pw,
                 {"user", "title", "summary", "smart", "media_type", "items", "updated_at"});
      PlaylistDef p;
      p.kind = *k;
      if (pv.HasMember("user")) {
        const std::string uid = to_lower(str(pv["user"], pw + ".user"));
        auto found = std::find_if(s.users.begin(), s.users.end(),
                                  [&](const UserDef& u) { return u.id == uid; });
        if (found == s.users.end()) {
          fail(pw + ".user", fmt::format("unknown user \"{}\"", uid));
        }
        p.user = static_cast<size_t>(found - s.users.begin());
      }
      if (!pv.HasMember("title")) {
        fail(pw, "missing \"title\"");
      }
      p.title = str(pv["title"], pw + ".title");
      if (p.title.empty()) {
        fail(pw + ".title", "must not be empty");
      }
      if (pv.HasMember("summary")) {
        p.summary = str(pv["summary"], pw + ".summary");
      }
      if (pv.HasMember("smart")) {
        p.smart = boolean(pv["smart"], pw + ".smart");
        if (p.smart && *k != Kind::plex) {
          fail(pw + ".smart", "smart playlists exist on Plex only");
        }
      }
      if (pv.HasMember("media_type")) {
        const std::string mt = str(pv["media_type"], pw + ".media_type");
        if (mt != "video" && mt != "audio") {
          fail(pw + ".media_type", "expected \"video\" or \"audio\"");
        }
        p.audio = mt == "audio";
      }
      if (pv.HasMember("items")) {
        const Value& items = pv["items"];
        if (!items.IsArray()) {
          fail(pw + ".items", "expected an array of world keys");
        }
        for (rapidjson::SizeType n = 0; n < items.Size(); ++n) {
          const std::string iw = fmt::format("{}.items[{}]", pw, n);
          const std::string key = str(items[n], iw);
          auto found = by_key.find(key);
          if (found == by_key.end() || m_world.entries[found->second].kind == EntryKind::show ||
              !m_world.entries[found->second].on(*k)) {
            fail(iw, fmt::format("no movie or episode with key \"{}\" on {}", key, sname));
          }
          p.entries.push_back(static_cast<uint32_t>(found->second));
        }
      }
      p.updated_at = pv.HasMember("updated_at") ? integer(pv["updated_at"], pw + ".updated_at")
                                                : default_added_at(p.title);
      m_world.playlists.push_back(std::move(p));
    }
  }
}

World Parser::parse(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) {
    fail(fmt::format("offset {}", doc.GetErrorOffset()),
         rapidjson::GetParseError_En(doc.GetParseError()));
  }
  check_keys(doc, "top level", {"servers", "movies", "shows", "playlists"});
  m_world.seed = 0;
  for (Kind k : k_all_kinds) {
    m_world.servers[idx(k)].kind = k;
    m_world.servers[idx(k)].present = !doc.HasMember("servers");
  }
  if (doc.HasMember("servers")) {
    const Value& sv = doc["servers"];
    if (!sv.IsObject() || sv.MemberCount() == 0) {
      fail("servers", "expected a non-empty object");
    }
    for (auto it = sv.MemberBegin(); it != sv.MemberEnd(); ++it) {
      const std::string name(it->name.GetString(), it->name.GetStringLength());
      auto k = kind_from_name(name);
      if (!k) {
        fail("servers." + name, "unknown server (plex, jellyfin, emby)");
      }
      m_world.servers[idx(*k)].present = true;
      parse_server(*k, it->value, "servers." + name);
    }
  }
  for (Kind k : k_all_kinds) {
    ServerDef& s = m_world.servers[idx(k)];
    if ((m_serve >> idx(k)) & 1U) {
      if (!s.present) {
        fail("servers",
             fmt::format("server \"{}\" is requested but not in the world", kind_name(k)));
      }
    }
    if (s.present) {
      complete_server(s, "world");
      std::set<std::string> ids;
      for (size_t i = 0; i < s.users.size(); ++i) {
        if (!ids.insert(s.users[i].id).second) {
          fail(fmt::format("servers.{}.users[{}].id", kind_name(k), i), "duplicate user id");
        }
      }
    }
  }
  uint8_t all = 0;
  for (Kind k : k_all_kinds) {
    if (m_world.servers[idx(k)].present) {
      all = static_cast<uint8_t>(all | (1U << idx(k)));
    }
  }
  if (doc.HasMember("movies")) {
    const Value& ms = doc["movies"];
    if (!ms.IsArray()) {
      fail("movies", "expected an array");
    }
    for (rapidjson::SizeType i = 0; i < ms.Size(); ++i) {
      const std::string where = fmt::format("movies[{}]", i);
      check_keys(ms[i], where,
                 {"key", "title", "year", "ids", "added_at", "duration_ms", "servers", "file",
                  "genres", "plex_guids", "provider_ids", "jellyfin_provider_ids",
                  "emby_provider_ids", "state", "library", "copy_of"});
      Entry e;
      e.kind = EntryKind::movie;
      e.duration_ms = 6000000;
      parse_common(e, ms[i], where, true);
      e.servers =
          ms[i].HasMember("servers") ? server_mask(ms[i]["servers"], where + ".servers") : all;
      m_world.entries.push_back(std::move(e));
      parse_slot(m_world.entries.size() - 1, ms[i], where);
      if (ms[i].HasMember("state")) {
        m_states.push_back({m_world.entries.size() - 1, {&ms[i]["state"], where + ".state"}});
      }
    }
  }
  if (doc.HasMember("shows")) {
    const Value& ss = doc["shows"];
    if (!ss.IsArray()) {
      fail("shows", "expected an array");
    }
    for (rapidjson::SizeType i = 0; i < ss.Size(); ++i) {
      const std::string where = fmt::format("shows[{}]", i);
      check_keys(ss[i], where,
                 {"key", "title", "year", "ids", "added_at", "servers", "file", "genres",
                  "plex_guids", "provider_ids", "jellyfin_provider_ids", "emby_provider_ids",
                  "episodes", "library", "copy_of"});
      Entry show;
      show.kind = EntryKind::show;
      parse_common(show, ss[i], where, true);
      const uint8_t show_mask =
          ss[i].HasMember("servers") ? server_mask(ss[i]["servers"], where + ".servers") : all;
      const size_t show_index = m_world.entries.size();
      m_world.entries.push_back(std::move(show));
      parse_slot(show_index, ss[i], where);
      if (!ss[i].HasMember("episodes")) {
        continue;
      }
      const Value& eps = ss[i]["episodes"];
      if (!eps.IsArray()) {
        fail(where + ".episodes", "expected an array");
      }
      std::set<std::pair<int, int>> numbers;
      for (rapidjson::SizeType j = 0; j < eps.Size(); ++j) {
        const std::string ew = fmt::format("{}.episodes[{}]", where, j);
        check_keys(eps[j], ew,
                   {"key", "season", "episode", "episode_end", "title", "year", "ids", "added_at",
                    "duration_ms", "servers", "file", "genres", "plex_guids", "provider_ids",
                    "jellyfin_provider_ids", "emby_provider_ids", "state"});
        Entry e;
        e.kind = EntryKind::episode;
        e.duration_ms = 2700000;
        parse_common(e, eps[j], ew, false);
        if (!eps[j].HasMember("season")) {
          fail(ew, "missing \"season\"");
        }
        if (!eps[j].HasMember("episode")) {
          fail(ew, "missing \"episode\"");
        }
        e.season = static_cast<int>(integer(eps[j]["season"], ew + ".season"));
        e.episode = static_cast<int>(integer(eps[j]["episode"], ew + ".episode"));
        if (e.season < 0 || e.season > 9999) {
          fail(ew + ".season", "must be between 0 and 9999");
        }
        if (e.episode < 0 || e.episode > 99999) {
          fail(ew + ".episode", "must be between 0 and 99999");
        }
        if (eps[j].HasMember("episode_end")) {
          e.episode_end = static_cast<int>(integer(eps[j]["episode_end"], ew + ".episode_end"));
          if (e.episode_end < e.episode || e.episode_end > 99999) {
            fail(ew + ".episode_end", "must not be below \"episode\"");
          }
        }
        if (!numbers.insert({e.season, e.episode}).second) {
          fail(ew, fmt::format("duplicate season {} episode {}", e.season, e.episode));
        }
        if (e.title.empty()) {
          e.title = fmt::format("Episode {}", e.episode);
        }
        if (e.year == 0) {
          e.year = m_world.entries[show_index].year;
        }
        e.show = static_cast<uint32_t>(show_index);
        e.servers = eps[j].HasMember("servers") ? server_mask(eps[j]["servers"], ew + ".servers")
                                                : show_mask;
        const auto ep_index = static_cast<uint32_t>(m_world.entries.size());
        m_world.entries[show_index].episodes.push_back(ep_index);
        m_world.entries[show_index].servers =
            static_cast<uint8_t>(m_world.entries[show_index].servers | e.servers);
        m_world.entries.push_back(std::move(e));
        if (eps[j].HasMember("state")) {
          m_states.push_back({ep_index, {&eps[j]["state"], ew + ".state"}});
        }
      }
    }
  }
  resolve_copies();
  for (const auto& [entry, st] : m_states) {
    parse_state(entry, *st.first, st.second);
  }
  if (doc.HasMember("playlists")) {
    parse_playlists(doc["playlists"]);
  }
  for (Kind k : k_all_kinds) {
    auto& per_user = m_world.state[idx(k)];
    for (auto& v : per_user) {
      v.resize(m_world.entries.size());
    }
  }
  complete_paths(m_world);
  return std::move(m_world);
}

} // namespace

World parse_world(std::string_view json, std::string_view source, uint8_t servers) {
  Parser p(source, servers);
  return p.parse(json);
}

World load_world_file(const std::string& path, uint8_t servers) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw WorldError(fmt::format("world file {}: cannot be read", path));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_world(ss.str(), path, servers);
}

} // namespace ws::sim
