// SPDX-License-Identifier: MIT
#pragma once

// Internal to lib/watchstate/app: the only place CLI11 is used.

#include <watchstate/config/config.hpp>
#include <watchstate/core/time.hpp>
#include <watchstate/db/run_history.hpp>
#include <watchstate/sync/run_context.hpp>
#include <watchstate/sync/services.hpp>

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ws::json {
class Writer;
}

namespace ws::app {

// The common options of every tool (man/common-options.scd.in), as parsed.
struct CommonOptions {
  std::string config_file;
  std::vector<std::string> select;
  std::vector<std::string> exclude;
  std::string identity;
  bool dry_run = false;
  bool json = false;
  int verbose = 0;
  bool quiet = false;
  int concurrency = 0;                        // 0 = not given
  int timeout = 0;                            // 0 = not given
  std::string metrics_file;                   // --metrics-file: overrides metrics.textfile
  std::vector<std::string> libraries;         // --library (tools with library_scope)
  std::vector<std::string> exclude_libraries; // --exclude-library
};

// What a tool's run produced; the runner wraps it into the output envelope.
struct ToolOutcome {
  int exit_code = 0;
  std::string status; // empty: derived from exit_code (0 ok, 1 partial, else error)
  std::function<void(json::Writer&)> write_result; // the `result` object; may be empty
  std::vector<sync::BackendError> errors;
  std::string human;               // printed on stdout without --json (see print_human)
  bool print_human_always = false; // else only when stdout is a terminal
  // The run history (ws-state status, runs, the metrics file): what the run did per backend.
  // Runs that only read (ws-state's own queries) set record_run to false.
  std::vector<db::RunBackend> run_backends;
  bool record_run = true;
};

struct ToolContext {
  CommonOptions common;
  config::Config config;
  UnixTime started_at = 0;
  // HTTP clients and the clock, for every use case the tool runs (app/services.hpp).
  sync::Services services;

  // RunOptions for the sync use cases from the common flags.
  [[nodiscard]] sync::RunOptions run_options() const;
};

struct ToolDefinition {
  const char* name;        // "ws-import"
  const char* description; // one line for --help
  bool needs_config = true;
  std::function<void(CLI::App&)> add_options;   // tool-specific flags and subcommands
  std::function<ToolOutcome(ToolContext&)> run; // the use case
  bool library_scope = false;                   // takes --library / --exclude-library
};

// Load the config the common options name (-c, else $WS_CONFIG, else the default places),
// warning when a file holding a token is readable by others. Throws ws::Error(Errc::config).
config::Config load_tool_config(const CommonOptions& common);

// Parse the command line, load the config, run the tool, print the result and map every
// failure to its exit code (core/exit_code.hpp). Never throws.
int run_tool(const ToolDefinition& tool, int argc, char** argv);

} // namespace ws::app
