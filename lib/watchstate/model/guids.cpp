// SPDX-License-Identifier: MIT
#include <watchstate/model/guids.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace ws::model {

namespace {

constexpr std::array<std::string_view, k_guid_key_count> k_key_names = {
    "anidb", "cmdb", "imdb", "tmdb", "tvdb", "tvmaze", "tvrage", "youtube"};

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

std::string_view guid_key_name(GuidKey key) {
  const auto index = static_cast<std::size_t>(key);
  return index < k_key_names.size() ? k_key_names[index] : std::string_view("unknown");
}

std::optional<GuidKey> guid_key_from_name(std::string_view name) {
  std::string wanted(name);
  std::transform(wanted.begin(), wanted.end(), wanted.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  for (std::size_t i = 0; i < k_key_names.size(); ++i) {
    if (k_key_names[i] == wanted) {
      return static_cast<GuidKey>(i);
    }
  }
  return std::nullopt;
}

bool is_valid_guid_value(GuidKey key, std::string_view value) {
  switch (key) {
  case GuidKey::imdb:
    return value.size() > 2 && value.substr(0, 2) == "tt" && all_digits(value.substr(2));
  case GuidKey::tmdb:
  case GuidKey::tvdb:
  case GuidKey::tvmaze:
  case GuidKey::tvrage:
  case GuidKey::anidb: return all_digits(value);
  case GuidKey::youtube:
  case GuidKey::cmdb: return !value.empty();
  }
  return false;
}

} // namespace ws::model
