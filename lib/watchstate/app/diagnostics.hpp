// SPDX-License-Identifier: MIT
#pragma once

// Internal to lib/watchstate/app: ws-state report, the redacted diagnostic bundle a user
// attaches to a bug report.

#include <watchstate/app/runner.hpp>

#include <string>

namespace ws::app {

struct ReportArgs {
  CLI::App* command = nullptr;
  bool live = false;  // --live: ask each backend's server_info()
  std::string output; // --output FILE: written atomically, mode 0600
};

// Adds `report` with --live and --output to `cli`; returns the subcommand.
CLI::App* add_report_command(CLI::App& cli, ReportArgs& args);

// ws-state report [--live] [--output FILE]: version and build, the OS, the config with every
// secret replaced, each backend's server as the last import saw it (--live: as it answers now),
// the database (schema, size, quick_check, counts), the last 20 runs with their errors, the
// webhook queue, the newest backup. Never recorded as a run.
ToolOutcome report_command(const ToolContext& ctx, const ReportArgs& args);

} // namespace ws::app
