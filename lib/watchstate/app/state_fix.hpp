// SPDX-License-Identifier: MIT
#pragma once

// Internal to lib/watchstate/app: ws-state's filters of `list` and its writers `mark` and
// `forget` (fixing one item by hand).

#include <watchstate/app/runner.hpp>
#include <watchstate/db/state_store.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace ws::app {

// The filters of `ws-state list` beyond --title/--played/--unplayed.
struct ListFilterArgs {
  std::string id;   // --id PROVIDER://VALUE
  std::string path; // --path SUBSTRING
  std::optional<int> year;
  std::optional<int> season;
  std::optional<int> episode;
  std::string type;    // --type movie|episode
  std::string backend; // --backend NAME
};

void add_list_filter_options(CLI::App& list, ListFilterArgs& args);

// The query of `ws-state list` for the identity of -u (default main). Throws Errc::usage for an
// external id that is not PROVIDER://VALUE of a known provider, a backend no config names, or
// --type movie with --season/--episode.
db::ItemQuery make_item_query(const ToolContext& ctx, const ListFilterArgs& args);

struct MarkArgs {
  std::int64_t item_id = 0;
  std::string state; // "played" or "unplayed"
  std::string at;    // --at DATE
  bool keep_position = false;
  bool push = false;
};

CLI::App* add_mark_command(CLI::App& cli, MarkArgs& args);
CLI::App* add_forget_command(CLI::App& cli, std::int64_t& item_id);

// ws-state mark ID played|unplayed [--at DATE] [--keep-position] [--push]
ToolOutcome mark_command(ToolContext& ctx, const MarkArgs& args);
// ws-state forget ID [--dry-run]
ToolOutcome forget_command(ToolContext& ctx, std::int64_t item_id);

} // namespace ws::app
