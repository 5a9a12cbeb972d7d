// SPDX-License-Identifier: MIT
#include <watchstate/backend/guid.hpp>

#include <watchstate/core/log.hpp>
#include <watchstate/core/text.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace ws::backend {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

bool starts_with_icase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

std::string_view cut_at(std::string_view text, char c) {
  const auto pos = text.find(c);
  return pos == std::string_view::npos ? text : text.substr(0, pos);
}

// Numeric comparison of two digit strings of any length (ids can exceed 64 bits in theory).
bool numerically_less(std::string_view a, std::string_view b) {
  const auto strip = [](std::string_view s) {
    const auto pos = s.find_first_not_of('0');
    return pos == std::string_view::npos ? std::string_view{} : s.substr(pos);
  };
  a = strip(a);
  b = strip(b);
  if (a.size() != b.size()) {
    return a.size() < b.size();
  }
  return a < b;
}

// On conflict the lowest numeric id wins; a non-numeric newcomer never
// replaces what is there.
void add_guid(Guids& guids, GuidKey key, std::string_view value) {
  if (!is_valid_guid_value(key, value)) {
    log::debug("dropping invalid {} id '{}'", guid_key_name(key), value);
    return;
  }
  auto it = std::find_if(guids.begin(), guids.end(), [key](const Guid& g) { return g.key == key; });
  if (it == guids.end()) {
    guids.push_back(Guid{key, std::string(value)});
    return;
  }
  if (it->value == value) {
    return;
  }
  log::debug("conflicting {} ids '{}' and '{}'", guid_key_name(key), it->value, value);
  if (!all_digits(value)) {
    return;
  }
  if (all_digits(it->value) && numerically_less(it->value, value)) {
    return;
  }
  it->value = std::string(value);
}

void sort_guids(Guids& guids) {
  std::sort(guids.begin(), guids.end(), [](const Guid& a, const Guid& b) { return a.key < b.key; });
}

constexpr std::string_view k_legacy_prefix = "com.plexapp.agents.";

bool is_known_legacy_agent(std::string_view agent) {
  constexpr std::array<std::string_view, 9> k_agents = {"imdb",    "tmdb",         "themoviedb",
                                                        "xbmcnfo", "xbmcnfotv",    "thetvdb",
                                                        "hama",    "ytinforeader", "cmdb"};
  return std::find(k_agents.begin(), k_agents.end(), agent) != k_agents.end();
}

// hama ids look like "anidb-123456", "tvdb2-81797", "tsdb-1234[extra]": source, optional digit,
// '-', then the id up to a bracket.
std::optional<std::string> parse_hama(std::string_view value) {
  constexpr std::array<std::string_view, 5> k_sources = {"anidb", "tvdb", "tmdb", "tsdb", "imdb"};
  for (const auto source : k_sources) {
    if (!starts_with_icase(value, source)) {
      continue;
    }
    std::size_t pos = source.size();
    if (pos < value.size() && is_digit(value[pos])) {
      ++pos;
    }
    if (pos >= value.size() || value[pos] != '-') {
      continue;
    }
    std::string_view id = value.substr(pos + 1);
    id = id.substr(0, std::min(id.find('['), id.find(']')));
    id = cut_at(id, '?');
    const std::string_view key = source == "tsdb" ? std::string_view("tmdb") : source;
    return std::string(key) + "://" + std::string(id);
  }
  return std::nullopt;
}

// Rewrite a legacy agent id into "<provider>://<value>"; nullopt when it is not an external id.
std::optional<std::string> rewrite_legacy(std::string_view id) {
  // "com.plexapp.agents.thetvdb://123/1/2?lang=en" is relative to the show (the two slashes of
  // the scheme plus at least one more); watchstate builds its own relative ids.
  if (std::count(id.begin(), id.end(), '/') >= 3) {
    return std::nullopt;
  }
  const std::string_view rest = id.substr(k_legacy_prefix.size());
  const auto sep = rest.find("://");
  if (sep == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string agent = lowercase_ascii(rest.substr(0, sep));
  const std::string_view value = rest.substr(sep + 3);
  if (!is_known_legacy_agent(agent)) {
    return std::nullopt;
  }
  if (agent == "hama") {
    return parse_hama(value);
  }
  std::string_view provider = agent;
  if (agent == "themoviedb") {
    provider = "tmdb";
  } else if (agent == "xbmcnfotv" || agent == "thetvdb") {
    provider = "tvdb";
  } else if (agent == "xbmcnfo") {
    provider = starts_with_icase(value, "tt") ? "imdb" : "tmdb";
  }
  return std::string(provider) + "://" + std::string(cut_at(value, '?'));
}

// "tv.plex.agents.nfo.series://show/tvdb_121361" -> "tvdb://121361".
std::optional<std::string> rewrite_nfo(std::string_view id) {
  std::string_view value = cut_at(id.substr(id.find("://") + 3), '?');
  const auto slash = value.rfind('/');
  if (slash != std::string_view::npos) {
    value = value.substr(slash + 1);
  }
  const auto underscore = value.find('_');
  if (underscore == std::string_view::npos) {
    return std::nullopt;
  }
  return lowercase_ascii(value.substr(0, underscore)) + "://" +
         std::string(value.substr(underscore + 1));
}

std::optional<GuidKey> plex_key(std::string_view key) {
  if (key == "ytinforeader") {
    return GuidKey::youtube;
  }
  return guid_key_from_name(key);
}

// The first custom rule whose Plex prefix starts `id` (any case), or nullptr.
const CustomGuidRule* custom_plex_rule(std::string_view id, const CustomGuidRules& custom) {
  for (const auto& rule : custom) {
    if (!rule.plex_prefix.empty() && starts_with_icase(id, rule.plex_prefix)) {
      return &rule;
    }
  }
  return nullptr;
}

// The provider a custom rule gives ProviderIds key `lower_name` (already lower case).
std::optional<GuidKey> custom_provider_key(std::string_view lower_name,
                                           const CustomGuidRules& custom) {
  for (const auto& rule : custom) {
    if (!rule.provider_id.empty() && rule.provider_id.size() == lower_name.size() &&
        starts_with_icase(lower_name, rule.provider_id)) {
      return rule.provider;
    }
  }
  return std::nullopt;
}

// Emby writes "Tv Maze"; some plugins store YouTube ids under their agent's name.
std::optional<GuidKey> builtin_provider_key(std::string_view lower_name) {
  if (lower_name == "tv maze") {
    return GuidKey::tvmaze;
  }
  if (lower_name == "ytinforeader") {
    return GuidKey::youtube;
  }
  return guid_key_from_name(lower_name);
}

} // namespace

Guids parse_plex_guids(const std::vector<std::string_view>& ids, const CustomGuidRules& custom) {
  Guids guids;
  for (const auto raw : ids) {
    if (raw.empty()) {
      continue;
    }
    if (const auto* rule = custom_plex_rule(raw, custom)) {
      const std::string_view value = cut_at(raw.substr(rule->plex_prefix.size()), '?');
      // The rule claims the GUID even when its value is unusable: a built-in reading of an
      // agent the user remapped would be a guess. A '/' makes the id relative to a series (an
      // episode named through its show), not an id of the item itself.
      if (value.find('/') == std::string_view::npos) {
        add_guid(guids, rule->provider, value);
      }
      continue;
    }
    std::string id(raw);
    if (starts_with_icase(raw, k_legacy_prefix)) {
      auto rewritten = rewrite_legacy(raw);
      if (!rewritten) {
        continue;
      }
      id = std::move(*rewritten);
    } else if ((starts_with_icase(raw, "tv.plex.agents.nfo.movie://") ||
                starts_with_icase(raw, "tv.plex.agents.nfo.series://"))) {
      auto rewritten = rewrite_nfo(raw);
      if (!rewritten) {
        continue;
      }
      id = std::move(*rewritten);
    }
    const auto sep = id.find("://");
    if (sep == std::string::npos) {
      log::debug("unparseable Plex guid '{}'", raw);
      continue;
    }
    // plex://, local://, *.agents.none and unknown providers have no matching key.
    const auto key = plex_key(lowercase_ascii(std::string_view(id).substr(0, sep)));
    if (!key) {
      continue;
    }
    add_guid(guids, *key, cut_at(std::string_view(id).substr(sep + 3), '?'));
  }
  sort_guids(guids);
  return guids;
}

Guids parse_provider_ids(const std::vector<std::pair<std::string_view, std::string_view>>& ids,
                         const CustomGuidRules& custom) {
  Guids guids;
  for (const auto& [name, value] : ids) {
    if (value.empty()) {
      continue;
    }
    const std::string key_name = lowercase_ascii(name);
    // A configured rule decides, even for a key the built-in table knows.
    auto key = custom_provider_key(key_name, custom);
    if (!key) {
      key = builtin_provider_key(key_name);
    }
    if (key) {
      add_guid(guids, *key, value);
    }
  }
  sort_guids(guids);
  return guids;
}

namespace {

// A cursor over a lower-cased file name; every read returns false without moving on mismatch.
class Scanner {
public:
  Scanner(std::string_view text, std::size_t pos) : m_text(text), m_pos(pos) {}
  [[nodiscard]] std::size_t pos() const { return m_pos; }
  [[nodiscard]] bool at_end() const { return m_pos >= m_text.size(); }
  [[nodiscard]] char peek(std::size_t ahead = 0) const {
    return m_pos + ahead < m_text.size() ? m_text[m_pos + ahead] : '\0';
  }
  bool literal(std::string_view word) {
    if (m_text.substr(m_pos, word.size()) != word) {
      return false;
    }
    m_pos += word.size();
    return true;
  }
  // Read 1..max_digits digits (no more digits may follow).
  bool number(int& out, std::size_t max_digits = 4) {
    std::size_t n = 0;
    int value = 0;
    while (is_digit(peek(n))) {
      if (n == max_digits) {
        return false;
      }
      value = value * 10 + (peek(n) - '0');
      ++n;
    }
    if (n == 0) {
      return false;
    }
    m_pos += n;
    out = value;
    return true;
  }
  void skip_separators() {
    while (peek() == ' ' || peek() == '.' || peek() == '_') {
      ++m_pos;
    }
  }

private:
  std::string_view m_text;
  std::size_t m_pos;
};

// A word starts at `pos` when the previous character is not a letter or digit.
bool word_start(std::string_view text, std::size_t pos) {
  return pos == 0 || !is_alnum(text[pos - 1]);
}

EpisodeRange make_range(int season, int first, int last) {
  return EpisodeRange{season, first, last > first ? last : first};
}

// The tail of "S01E01": "-E02", "-02", "E02", ".S01E02", "-S01E02".
int sxxexx_last(Scanner s, int season, int first) {
  int last = 0;
  int season2 = 0;
  Scanner copy = s;
  if (copy.literal("e") && copy.number(last)) {
    return last;
  }
  copy = s;
  const bool dash = copy.peek() == '-';
  if (copy.literal("-") || copy.literal(".")) {
    Scanner after = copy;
    if (after.literal("e") && after.number(last)) {
      return last;
    }
    after = copy;
    if (after.literal("s") && after.number(season2) && after.literal("e") && after.number(last) &&
        season2 == season) {
      return last;
    }
    after = copy;
    // "-02" but not ".02", "-1080p" or "-2.0": the number must end the token.
    if (dash && after.number(last, 3) && !is_alnum(after.peek()) &&
        !(after.peek() == '.' && is_digit(after.peek(1)))) {
      return last;
    }
  }
  return first;
}

std::optional<EpisodeRange> parse_sxxexx(std::string_view name) {
  for (std::size_t pos = 0; pos < name.size(); ++pos) {
    if (name[pos] != 's' || !word_start(name, pos)) {
      continue;
    }
    Scanner s(name, pos + 1);
    int season = 0;
    int first = 0;
    if (s.number(season) && s.literal("e") && s.number(first)) {
      return make_range(season, first, sxxexx_last(s, season, first));
    }
  }
  return std::nullopt;
}

std::optional<EpisodeRange> parse_season_episode_words(std::string_view name) {
  for (auto pos = name.find("season"); pos != std::string_view::npos;
       pos = name.find("season", pos + 1)) {
    if (!word_start(name, pos)) {
      continue;
    }
    Scanner s(name, pos + 6);
    s.skip_separators();
    int season = 0;
    int first = 0;
    if (!s.number(season)) {
      continue;
    }
    s.skip_separators();
    if (!s.literal("episode")) {
      continue;
    }
    s.skip_separators();
    if (!s.number(first)) {
      continue;
    }
    int last = first;
    Scanner tail = s;
    tail.skip_separators();
    if (tail.literal("-")) {
      tail.skip_separators();
      if (!tail.number(last)) {
        last = first;
      }
    }
    return make_range(season, first, last);
  }
  return std::nullopt;
}

std::optional<EpisodeRange> parse_nxnn(std::string_view name) {
  for (std::size_t pos = 0; pos < name.size(); ++pos) {
    if (!is_digit(name[pos]) || !word_start(name, pos)) {
      continue;
    }
    Scanner s(name, pos);
    int season = 0;
    int first = 0;
    // Two-digit seasons and three-digit episodes keep "1920x1080" from matching.
    if (!s.number(season, 2) || !s.literal("x") || !s.number(first, 3)) {
      continue;
    }
    int last = first;
    Scanner tail = s;
    if (tail.literal("-") && tail.number(last, 3) && !is_alnum(tail.peek())) {
      return make_range(season, first, last);
    }
    tail = s;
    int season2 = 0;
    if (tail.literal("-") && tail.number(season2, 2) && tail.literal("x") && tail.number(last, 3) &&
        season2 == season) {
      return make_range(season, first, last);
    }
    if (!is_alnum(s.peek())) {
      return make_range(season, first, first);
    }
  }
  return std::nullopt;
}

// "E001-E002" / "E05": no season in the name, reported as k_unknown_season.
constexpr int k_unknown_season = -1;

std::optional<EpisodeRange> parse_exx(std::string_view name) {
  for (std::size_t pos = 0; pos < name.size(); ++pos) {
    if (name[pos] != 'e' || !word_start(name, pos)) {
      continue;
    }
    Scanner s(name, pos + 1);
    int first = 0;
    if (!s.number(first)) {
      continue;
    }
    int last = first;
    Scanner tail = s;
    if (tail.literal("-")) {
      tail.literal("e");
      if (tail.number(last) && !is_alnum(tail.peek())) {
        return make_range(k_unknown_season, first, last);
      }
    }
    if (!is_alnum(s.peek())) {
      return make_range(k_unknown_season, first, first);
    }
  }
  return std::nullopt;
}

} // namespace

std::optional<EpisodeRange> parse_episode_range(std::string_view file_name) {
  const auto slash = file_name.find_last_of("/\\");
  if (slash != std::string_view::npos) {
    file_name = file_name.substr(slash + 1);
  }
  const std::string name = lowercase_ascii(file_name);
  if (auto range = parse_sxxexx(name)) {
    return range;
  }
  if (auto range = parse_season_episode_words(name)) {
    return range;
  }
  if (auto range = parse_nxnn(name)) {
    return range;
  }
  return parse_exx(name);
}

} // namespace ws::backend
