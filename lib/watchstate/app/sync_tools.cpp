// SPDX-License-Identifier: MIT
#include <watchstate/app/render.hpp>
#include <watchstate/app/run_record.hpp>
#include <watchstate/app/runner.hpp>
#include <watchstate/app/state_dir.hpp>
#include <watchstate/app/tools.hpp>
#include <watchstate/core/exit_code.hpp>
#include <watchstate/core/lock.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/sync/export.hpp>
#include <watchstate/sync/import.hpp>

#include <fmt/format.h>

#include <memory>
#include <optional>

namespace ws::app {
namespace {

struct SyncFlags {
  bool full = false;
  bool ignore_date = false;
};

std::string export_summary(const sync::ExportResult& result, bool dry_run) {
  std::string out;
  for (const auto& identity : result.identities) {
    for (const auto& b : identity.backends) {
      out += fmt::format("{}/{}: {}{} checked, {} marked played, {} marked unplayed, {} positions, "
                         "{} failed\n",
                         identity.identity, b.backend, b.ok ? "" : "FAILED, ", b.checked,
                         b.marked_played, b.marked_unplayed, b.progress_updated, b.failed);
      for (const auto& c : b.changes) {
        out += fmt::format("  {} {}{}\n", dry_run ? "would" : (c.ok ? "did" : "FAILED to"),
                           sync::write_action_name(c.write.action), " " + c.title);
      }
    }
  }
  return out;
}

// Add what refreshing each backend cost (the import run before the export) to its export figures.
void add_refresh_traffic(sync::ExportResult& exported, const sync::ImportResult& refreshed) {
  for (auto& identity : exported.identities) {
    for (auto& b : identity.backends) {
      for (const auto& r : refreshed.identities) {
        if (r.identity != identity.identity) {
          continue;
        }
        for (const auto& counts : r.backends) {
          if (counts.backend == b.backend) {
            b.requests += counts.requests;
            b.bytes_received += counts.bytes_received;
          }
        }
      }
    }
  }
}

// The shared body of ws-export and ws-sync: lock, open the database, optionally import, export.
ToolOutcome run_sync(ToolContext& ctx, const SyncFlags& flags, bool with_import) {
  auto options = ctx.run_options();
  options.full = flags.full;
  options.ignore_date = flags.ignore_date;
  sync::validate_backend_filter(ctx.config, options);
  const auto db_file = prepare_state_dir(ctx.config);
  const RunLock lock(lock_file(ctx.config));
  db::StateStore store(db_file);
  // A dry run works inside one transaction that is never committed: the export is planned as
  // if the import had been applied, and nothing is kept.
  std::optional<db::StateStore::Transaction> dry_run;
  if (options.dry_run) {
    dry_run.emplace(store);
  }

  // The export decides on each backend's current state: ws-sync imports first; ws-export
  // refreshes the backends' records without changing the local state.
  auto import_options = options;
  import_options.metadata_only = !with_import;
  import_options.only_export_targets = !with_import;
  auto imported = std::make_shared<sync::ImportResult>(
      sync::run_import(ctx.services, ctx.config, store, import_options));
  auto exported = std::make_shared<sync::ExportResult>(
      sync::run_export(ctx.services, ctx.config, store, options, imported.get()));

  ToolOutcome outcome;
  const int import_code = imported->exit_code();
  // The import's failure is the more telling one: the export worked from what it could read.
  outcome.exit_code = import_code != exit_code::ok ? import_code : exported->exit_code();
  outcome.errors = imported->errors;
  outcome.errors.insert(outcome.errors.end(), exported->errors.begin(), exported->errors.end());
  if (!ctx.common.json) { // a line per change, never printed with --json
    outcome.human = export_summary(*exported, options.dry_run);
  }
  add_run_backends(outcome.run_backends, *imported);
  add_run_backends(outcome.run_backends, *exported);
  if (!with_import) {
    // ws-export prints no import part: each backend's figures include the refresh listing its
    // writes were decided on, so that they say what the run cost that server. (The run history
    // keeps the refresh as a phase of its own.)
    add_refresh_traffic(*exported, *imported);
  }
  if (with_import) {
    outcome.write_result = [imported, exported](json::Writer& out) {
      out.begin_object().key("import");
      write_import_result(out, *imported);
      out.key("export");
      write_export_result(out, *exported);
      out.end_object();
    };
  } else {
    outcome.write_result = [exported](json::Writer& out) { write_export_result(out, *exported); };
  }
  return outcome;
}

} // namespace

int export_main(int argc, char** argv) {
  auto flags = std::make_shared<SyncFlags>();
  ToolDefinition tool{
      "ws-export",
      "Push the local play state to every export-enabled backend where the local state is newer",
      true,
      [flags](CLI::App& cli) {
        cli.add_flag("-f,--full", flags->full,
                     "Compare every item (the default already does: each backend is listed "
                     "fresh and every item is compared)");
        cli.add_flag("-i,--ignore-date", flags->ignore_date,
                     "The local state wins wherever it differs, whatever the dates");
      },
      [flags](ToolContext& ctx) { return run_sync(ctx, *flags, false); }};
  tool.library_scope = true;
  return run_tool(tool, argc, argv);
}

int sync_main(int argc, char** argv) {
  auto flags = std::make_shared<SyncFlags>();
  ToolDefinition tool{
      "ws-sync", "Import then export in one process and one lock: the usual cron line", true,
      [flags](CLI::App& cli) {
        cli.add_flag("-f,--full", flags->full,
                     "Import ignoring the cursor: the backends' played flags win where they "
                     "differ");
        cli.add_flag("-i,--ignore-date", flags->ignore_date,
                     "Export: the local state wins wherever it differs, whatever the dates");
      },
      [flags](ToolContext& ctx) { return run_sync(ctx, *flags, true); }};
  tool.library_scope = true;
  return run_tool(tool, argc, argv);
}

} // namespace ws::app
