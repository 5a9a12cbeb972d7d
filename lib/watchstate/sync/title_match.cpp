// SPDX-License-Identifier: MIT
#include <watchstate/sync/title_match.hpp>

#include <algorithm>
#include <cstdint>
#include <regex>

namespace ws::sync {

namespace {

// UTF-8 to code points; a byte that does not start a valid sequence stands for itself, so
// nothing is lost on a badly encoded file name.
std::u32string code_points(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    int extra = 0;
    char32_t cp = lead;
    if (lead >= 0xF0 && lead <= 0xF4) {
      extra = 3;
      cp = lead & 0x07U;
    } else if (lead >= 0xE0) {
      extra = 2;
      cp = lead & 0x0FU;
    } else if (lead >= 0xC2 && lead < 0xE0) {
      extra = 1;
      cp = lead & 0x1FU;
    }
    bool valid = i + static_cast<std::size_t>(extra) < text.size();
    for (int k = 1; valid && k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
      valid = (next & 0xC0U) == 0x80U;
      cp = (cp << 6U) | (next & 0x3FU);
    }
    if (!valid) {
      out.push_back(lead);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += static_cast<std::size_t>(extra) + 1;
  }
  return out;
}

// Characters shared by a and b: the longest common run, then the same left and right of it.
std::size_t similar_chars(std::u32string_view a, std::u32string_view b) {
  std::size_t best = 0;
  std::size_t at_a = 0;
  std::size_t at_b = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    for (std::size_t j = 0; j < b.size(); ++j) {
      std::size_t n = 0;
      while (i + n < a.size() && j + n < b.size() && a[i + n] == b[j + n]) {
        ++n;
      }
      if (n > best) {
        best = n;
        at_a = i;
        at_b = j;
      }
    }
  }
  if (best == 0) {
    return 0;
  }
  return best + similar_chars(a.substr(0, at_a), b.substr(0, at_b)) +
         similar_chars(a.substr(at_a + best), b.substr(at_b + best));
}

std::string_view base_name(std::string_view path) {
  while (!path.empty() && (path.back() == '/' || path.back() == '\\')) {
    path.remove_suffix(1);
  }
  const auto slash = path.find_last_of("/\\");
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view parent_of(std::string_view path) {
  const auto slash = path.find_last_of("/\\");
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

} // namespace

std::string normalize_title(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  int bracket_depth = 0; // inside [...] or {...}
  auto space = [&out] {
    if (!out.empty() && out.back() != ' ') {
      out.push_back(' ');
    }
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '[' || c == '{') {
      ++bracket_depth;
      space();
      continue;
    }
    if ((c == ']' || c == '}') && bracket_depth > 0) {
      --bracket_depth;
      continue;
    }
    if (bracket_depth > 0) {
      continue;
    }
    // U+2013 EN DASH (E2 80 93) counts as punctuation like '-'.
    if (c == '\xE2' && i + 2 < text.size() && text[i + 1] == '\x80' && text[i + 2] == '\x93') {
      space();
      i += 2;
      continue;
    }
    if (std::string_view("?:()[],|%.-'\"+/;&_!*").find(c) != std::string_view::npos || c == ' ' ||
        c == '\t' || c == '}') {
      space();
      continue;
    }
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  while (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  return out;
}

double similar_text_percent(std::string_view a, std::string_view b) {
  const auto ua = code_points(a);
  const auto ub = code_points(b);
  if (ua.empty() && ub.empty()) {
    return 0;
  }
  return static_cast<double>(similar_chars(ua, ub)) * 200.0 /
         static_cast<double>(ua.size() + ub.size());
}

double levenshtein_percent(std::string_view a, std::string_view b) {
  const auto ua = code_points(a);
  const auto ub = code_points(b);
  const std::size_t longest = std::max(ua.size(), ub.size());
  if (longest == 0) {
    return 0;
  }
  std::vector<std::size_t> row(ub.size() + 1);
  for (std::size_t j = 0; j <= ub.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= ua.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= ub.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (ua[i - 1] == ub[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return (1.0 - static_cast<double>(row[ub.size()]) / static_cast<double>(longest)) * 100.0;
}

std::vector<std::string> path_names(std::string_view path, bool is_show) {
  std::vector<std::string> names;
  const std::string_view name = base_name(path);
  if (name.empty()) {
    return names;
  }
  names.emplace_back(name);
  if (!is_show) {
    const std::string_view folder = base_name(parent_of(path));
    if (!folder.empty() && name.substr(0, folder.size()) != folder) {
      names.emplace_back(folder);
    }
  }
  return names;
}

TitleScore score_title(const std::vector<std::string>& titles, int year, std::string_view path,
                       bool is_show) {
  static const std::regex k_year_in_path(R"(\((19|20)\d\d\))");
  const bool path_has_year =
      year > 0 && std::regex_search(path.begin(), path.end(), k_year_in_path);
  TitleScore best;
  best.score = -1;
  for (const auto& raw_name : path_names(path, is_show)) {
    const std::string name = normalize_title(raw_name);
    for (const auto& raw_title : titles) {
      std::string title = normalize_title(raw_title);
      if (title.empty()) {
        continue;
      }
      if (path_has_year) {
        title += " " + std::to_string(year);
      }
      const double score = name.rfind(title, 0) == 0 ? 100.0
                                                     : std::max(similar_text_percent(title, name),
                                                                levenshtein_percent(title, name));
      if (score > best.score) {
        best = TitleScore{score, title, name};
      }
    }
  }
  if (best.score < 0) {
    best.score = 0;
  }
  return best;
}

} // namespace ws::sync
