// SPDX-License-Identifier: MIT
#pragma once

// Internal to lib/watchstate/app: `ws-state maintain`, the state database's upkeep. The work is
// db::maintain_database's (db/maintenance.hpp); here only its flag and what it prints.

#include <watchstate/app/runner.hpp>

namespace ws::app {

struct MaintainArgs {
  CLI::App* command = nullptr;
  bool vacuum = false; // --vacuum: also when little of the file is free
};

void add_maintain_command(CLI::App& cli, MaintainArgs& args);

// ws-state maintain [--vacuum] [--dry-run]: takes the state directory's lock. A damaged
// database exits 65 (Errc::data) with one error line naming the file, and is left untouched.
ToolOutcome maintain_command(ToolContext& ctx, const MaintainArgs& args);

} // namespace ws::app
