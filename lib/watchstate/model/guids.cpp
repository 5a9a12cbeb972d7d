// SPDX-License-Identifier: MIT
#include <watchstate/model/guids.hpp>

#include <watchstate/core/text.hpp>

#include <array>

namespace ws::model {

namespace {

constexpr std::array<std::string_view, k_guid_key_count> k_key_names = {
    "anidb", "cmdb", "imdb", "tmdb", "tvdb", "tvmaze", "tvrage", "youtube"};

} // namespace

std::string_view guid_key_name(GuidKey key) {
  const auto index = static_cast<std::size_t>(key);
  return index < k_key_names.size() ? k_key_names[index] : std::string_view("unknown");
}

std::optional<GuidKey> guid_key_from_name(std::string_view name) {
  for (std::size_t i = 0; i < k_key_names.size(); ++i) {
    if (iequals(k_key_names[i], name)) {
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
