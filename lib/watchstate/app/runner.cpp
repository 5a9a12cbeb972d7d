// SPDX-License-Identifier: MIT
#include <watchstate/app/json_blocks.hpp>
#include <watchstate/app/run_record.hpp>
#include <watchstate/app/runner.hpp>
#include <watchstate/app/services.hpp>

#include <watchstate/core/error.hpp>
#include <watchstate/core/exit_code.hpp>
#include <watchstate/core/lock.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/progress.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/signals.hpp>
#include <watchstate/http/client.hpp>
#include <watchstate/json/writer.hpp>

#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ws::app {
namespace {

using Clock = std::chrono::steady_clock;

std::string status_for(const ToolOutcome& outcome) {
  if (!outcome.status.empty()) {
    return outcome.status;
  }
  if (outcome.exit_code == exit_code::ok) {
    return "ok";
  }
  return outcome.exit_code == exit_code::attention ? "partial" : "error";
}

void print_json(const ToolDefinition& tool, const ToolOutcome& outcome, bool dry_run,
                UnixTime started_at, Clock::time_point started) {
  // Straight to stdout as it is written: a document of 100,000 items is never held.
  json::Writer out(stdout);
  out.begin_object();
  out.field("tool", tool.name);
  out.field("version", WS_VERSION);
  out.field("status", status_for(outcome));
  out.field("exit_code", outcome.exit_code);
  out.field("started_at", format_rfc3339(started_at));
  out.field(
      "duration_ms",
      static_cast<std::int64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()));
  out.field("dry_run", dry_run);
  out.key("result");
  if (outcome.write_result) {
    outcome.write_result(out);
  } else {
    out.begin_object().end_object();
  }
  out.key("errors");
  write_backend_errors(out, outcome.errors);
  out.end_object();
  out.flush();
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

ToolOutcome failure(Errc kind, const std::string& message) {
  ToolOutcome outcome;
  outcome.exit_code = exit_code_for(kind);
  outcome.errors.push_back({"", "", kind, message, ""});
  return outcome;
}

bool argv_has_json(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) {
      return true;
    }
  }
  return false;
}

} // namespace

sync::RunOptions ToolContext::run_options() const {
  sync::RunOptions o;
  o.select = common.select;
  o.exclude = common.exclude;
  if (!common.identity.empty()) {
    o.identity = common.identity;
  }
  o.dry_run = common.dry_run;
  if (common.concurrency > 0) {
    o.concurrency = common.concurrency;
  }
  if (common.timeout > 0) {
    o.timeout = common.timeout;
  }
  o.libraries = common.libraries;
  o.exclude_libraries = common.exclude_libraries;
  return o;
}

config::Config load_tool_config(const CommonOptions& common) {
  const auto file = config::resolve_config_path(
      common.config_file.empty() ? std::nullopt
                                 : std::optional<std::filesystem::path>(common.config_file));
  log::debug("config file {}", file.string());
  auto config = config::load_config(file);
  if (config.readable_by_others_with_token) {
    log::warning("{} holds a token and can be read by other users; chmod 600 it or use "
                 "token_file",
                 file.string());
  }
  return config;
}

int run_tool(const ToolDefinition& tool, int argc, char** argv) {
#if defined(__GLIBC__)
  // Two malloc arenas: glibc would give every thread that allocates (ws-webhook's request
  // threads, import's listing thread) an arena of its own, each keeping the memory freed there
  // for itself. One arena for all made the import's listing and applying threads wait on its
  // lock (a first import of 3 x 100,000: 9.5 s CPU with one, 8.1 s with two, +4 MiB peak).
  mallopt(M_ARENA_MAX, 2);
#endif
  const auto started = Clock::now();
  const UnixTime started_at = now();
  log::set_tool(tool.name);

  ToolContext ctx;
  ctx.started_at = started_at;
  ctx.services = production_services();
  CLI::App cli{tool.description, tool.name};
  cli.set_version_flag("--version", fmt::format("{} {}", tool.name, WS_VERSION));
  cli.fallthrough(); // common options may follow a subcommand and its arguments
  auto& common = ctx.common;
  cli.add_option("-c,--config", common.config_file,
                 "Config file (default: $WS_CONFIG, $XDG_CONFIG_HOME/watchstate/config.yaml, "
                 "/etc/watchstate/config.yaml)");
  cli.add_option("-s,--select-backend", common.select, "Only these backends (repeatable)");
  cli.add_option("-x,--exclude-backend", common.exclude, "All but these backends (repeatable)");
  cli.add_option("-u,--identity", common.identity, "Only this identity (default: all)");
  cli.add_flag("--dry-run", common.dry_run, "Decide everything, change nothing");
  cli.add_flag("--json", common.json, "Print one JSON document on stdout");
  cli.add_flag("-v,--verbose", common.verbose, "More logging on stderr (-vv: debug)");
  cli.add_flag("-q,--quiet", common.quiet, "Only errors on stderr");
  cli.add_option("--concurrency", common.concurrency, "Parallel requests per backend")
      ->check(CLI::Range(1, 64));
  cli.add_option("--timeout", common.timeout, "Per-request timeout in seconds")
      ->check(CLI::Range(1, 86400));
  if (tool.library_scope) {
    cli.add_option("--library", common.libraries,
                   "Only this library (id or name; repeatable): the others are not listed, "
                   "written or judged");
    cli.add_option("--exclude-library", common.exclude_libraries,
                   "All libraries but this one (id or name; repeatable)");
  }
  if (tool.needs_config) {
    cli.add_option("--metrics-file", common.metrics_file,
                   "Write Prometheus metrics here after the run (default: metrics.textfile)");
  }
  if (tool.add_options) {
    tool.add_options(cli);
  }

  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    const std::string message = redact(e.what());
    log::error("{} (see --help)", message);
    if (argv_has_json(argc, argv)) {
      print_json(tool, failure(Errc::usage, message), false, started_at, started);
    }
    return exit_code_for(Errc::usage);
  }

  if (common.quiet) {
    log::set_level(log::Level::error);
  } else if (common.verbose >= 2) {
    log::set_level(log::Level::debug);
  } else if (common.verbose == 1) {
    log::set_level(log::Level::info);
  }

  // Bars only for a person at a terminal: never under cron or systemd, never in JSON mode.
  const char* term = std::getenv("TERM");
  progress::enable(!common.json && !common.quiet && ::isatty(STDERR_FILENO) != 0 &&
                   std::getenv("JOURNAL_STREAM") == nullptr &&
                   (term == nullptr || std::string_view(term) != "dumb"));

  install_signal_handlers();
  http::global_init();

  ToolOutcome outcome;
  try {
    if (tool.needs_config) {
      ctx.config = load_tool_config(common);
    }
    outcome = tool.run(ctx);
  } catch (const Interrupted& e) {
    outcome = failure(Errc::tempfail, e.what());
    outcome.exit_code = e.signal_number() == SIGINT ? exit_code::sigint : exit_code::sigterm;
    log::error("{}; nothing after the last commit was written", e.what());
  } catch (const LockHeld& e) {
    // Refused at the door: another run holds the state directory. Not a run of its own, and
    // writing its record now would compete with the holder for the database.
    outcome = failure(e.code(), redact(e.what()));
    outcome.record_run = false;
    log::error("{}", outcome.errors.front().message);
  } catch (const Error& e) {
    outcome = failure(e.code(), redact(e.what()));
    log::error("{}", outcome.errors.front().message);
  } catch (const std::exception& e) {
    outcome = failure(Errc::internal, redact(e.what()));
    log::error("internal error: {}", outcome.errors.front().message);
  }
  // A signal that arrived after the last check still ends the run as interrupted.
  if (pending_signal() != 0 && outcome.exit_code != exit_code::sigint &&
      outcome.exit_code != exit_code::sigterm) {
    outcome.exit_code = pending_signal() == SIGINT ? exit_code::sigint : exit_code::sigterm;
  }

  // Every run that got as far as its config is kept in the history, failed ones above all.
  if (tool.needs_config && outcome.record_run && !ctx.config.state_dir.empty()) {
    db::Run run;
    run.tool = tool.name;
    for (const auto* sub : cli.get_subcommands()) {
      run.command += (run.command.empty() ? "" : " ") + sub->get_name();
    }
    run.started_at = started_at;
    run.finished_at = now();
    run.duration_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    run.exit_code = outcome.exit_code;
    run.status = status_for(outcome);
    run.dry_run = common.dry_run;
    run.backends = outcome.run_backends;
    for (const auto& e : outcome.errors) {
      run.errors.push_back({e.identity, e.backend, errc_name(e.kind), redact(e.message)});
    }
    record_run(ctx.config, std::move(run), common.metrics_file);
  }

  if (common.json) {
    print_json(tool, outcome, common.dry_run, started_at, started);
  } else if (!outcome.human.empty() && (outcome.print_human_always || ::isatty(STDOUT_FILENO))) {
    std::fwrite(outcome.human.data(), 1, outcome.human.size(), stdout);
  }
  return outcome.exit_code;
}

} // namespace ws::app
