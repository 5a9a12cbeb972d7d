// SPDX-License-Identifier: MIT
#include <watchstate/app/render.hpp>
#include <watchstate/app/run_record.hpp>
#include <watchstate/app/runner.hpp>
#include <watchstate/app/state_dir.hpp>
#include <watchstate/app/tools.hpp>
#include <watchstate/core/lock.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/sync/import.hpp>

#include <fmt/format.h>

#include <memory>
#include <optional>

namespace ws::app {
namespace {

std::string human_summary(const sync::ImportResult& result) {
  std::string out;
  for (const auto& identity : result.identities) {
    for (const auto& b : identity.backends) {
      if (!b.ok) {
        out += fmt::format("{}/{}: failed\n", identity.identity, b.backend);
        continue;
      }
      out += fmt::format("{}/{}: {} fetched, {} added, {} updated, {} unchanged, {} skipped, "
                         "{} requests{}\n",
                         identity.identity, b.backend, b.fetched, b.added, b.updated, b.unchanged,
                         b.skipped, b.requests, b.metadata_only ? " (metadata only)" : "");
    }
  }
  return out;
}

} // namespace

int import_main(int argc, char** argv) {
  auto full = std::make_shared<bool>(false);
  auto metadata_only = std::make_shared<bool>(false);
  ToolDefinition tool{
      "ws-import",
      "Pull play state and item identity from every import-enabled backend into the local "
      "state database",
      true,
      [full, metadata_only](CLI::App& cli) {
        cli.add_flag("-f,--full", *full,
                     "Ignore the last-sync cursor; the backend's played flag wins where it "
                     "differs");
        cli.add_flag("--metadata-only", *metadata_only,
                     "Attach the backends' item ids and copies to the local rows without "
                     "changing any played flag or position");
      },
      [full, metadata_only](ToolContext& ctx) {
        auto options = ctx.run_options();
        options.full = *full;
        options.metadata_only = *metadata_only;
        sync::validate_backend_filter(ctx.config, options);
        const auto db_file = prepare_state_dir(ctx.config);
        const RunLock lock(lock_file(ctx.config));
        db::StateStore store(db_file);
        // A dry run works inside one transaction that is never committed.
        std::optional<db::StateStore::Transaction> dry_run;
        if (options.dry_run) {
          dry_run.emplace(store);
        }
        auto result = std::make_shared<sync::ImportResult>(
            sync::run_import(ctx.services, ctx.config, store, options));
        ToolOutcome outcome;
        outcome.exit_code = result->exit_code();
        outcome.errors = result->errors;
        outcome.human = human_summary(*result);
        add_run_backends(outcome.run_backends, *result);
        outcome.write_result = [result](json::Writer& out) { write_import_result(out, *result); };
        return outcome;
      }};
  tool.library_scope = true;
  return run_tool(tool, argc, argv);
}

} // namespace ws::app
