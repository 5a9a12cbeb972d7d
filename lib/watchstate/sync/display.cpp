// SPDX-License-Identifier: MIT
#include <watchstate/sync/display.hpp>

#include <fmt/format.h>

namespace ws::sync {

std::string display_title(const db::ItemRow& row) {
  const std::string& title = row.title.empty() ? std::string("??") : row.title;
  const std::string year = row.year > 0 ? fmt::format("{:04}", row.year) : "0000";
  if (row.type == model::MediaType::episode) {
    return fmt::format("{} ({}) - {:02}x{:02}", title, year, std::max(row.season, 0),
                       std::max(row.episode, 0));
  }
  return fmt::format("{} ({})", title, year);
}

} // namespace ws::sync
