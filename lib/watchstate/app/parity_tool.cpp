// SPDX-License-Identifier: MIT
#include <watchstate/app/render.hpp>
#include <watchstate/app/runner.hpp>
#include <watchstate/app/state_dir.hpp>
#include <watchstate/app/tools.hpp>
#include <watchstate/core/lock.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/sync/display.hpp>
#include <watchstate/sync/import.hpp>
#include <watchstate/sync/parity.hpp>

#include <fmt/format.h>

#include <memory>
#include <optional>

namespace ws::app {

int parity_main(int argc, char** argv) {
  auto parity = std::make_shared<sync::ParityOptions>();
  ToolDefinition tool{
      "ws-parity",
      "Compare what the backends report: missing items, played/position disagreements and the "
      "health checks; --prune removes rows no backend reports any more",
      true,
      [parity](CLI::App& cli) {
        cli.add_option("--min", parity->min_backends,
                       "An item on fewer backends than this is missing (default: all)");
        cli.add_option("--check", parity->checks,
                       "Only this check (repeatable): missing, played, progress, id_conflict, "
                       "duplicate_id, duplicate_file, metadata, weak, conflicts");
        cli.add_flag("--live", parity->live,
                     "Compare what the backends report now (a full listing of each, nothing "
                     "kept) instead of the last import");
        cli.add_flag("--prune", parity->prune,
                     "Remove rows no backend reports any more (with --dry-run: list them)");
      },
      [parity](ToolContext& ctx) {
        const auto options = ctx.run_options();
        if (parity->live && parity->prune) {
          throw Error(Errc::usage, "--prune works on the last import: run ws-import, then "
                                   "ws-parity --prune");
        }
        db::StateStore store(prepare_state_dir(ctx.config));
        std::optional<RunLock> lock;
        std::optional<db::StateStore::Transaction> tx;
        if (parity->prune || parity->live) {
          lock.emplace(lock_file(ctx.config));
          tx.emplace(store);
        }
        // Live: import every backend inside the transaction, compare, and never commit, like a
        // dry-run import; the state database is left as it was.
        std::shared_ptr<sync::ImportResult> imported;
        if (parity->live) {
          auto live_options = options;
          live_options.identity = options.identity.value_or("main");
          sync::validate_backend_filter(ctx.config, live_options);
          imported = std::make_shared<sync::ImportResult>(
              sync::run_import(ctx.services, ctx.config, store, live_options));
        }
        auto result = std::make_shared<sync::ParityResult>(
            sync::run_parity(ctx.config, store, options, *parity));
        if (tx && parity->prune && !options.dry_run) {
          tx->commit();
        }
        ToolOutcome outcome;
        outcome.exit_code = result->exit_code();
        outcome.status = result->findings.empty() ? "ok" : "differences";
        if (imported && imported->exit_code() != 0) {
          // A backend that could not be listed is compared from its last import; say so.
          outcome.exit_code = imported->exit_code();
          outcome.status.clear();
          outcome.errors = imported->errors;
        }
        outcome.print_human_always = true;
        outcome.write_result = [result, imported](json::Writer& out) {
          write_parity_result(out, *result, imported.get());
        };
        if (ctx.common.json) {
          return outcome; // the text would never be printed: no copy of every finding as text
        }
        outcome.human = fmt::format("{} items, backends: {}; {} findings\n", result->items,
                                    fmt::join(result->backends, ", "), result->findings.size());
        for (const auto& f : result->findings) {
          outcome.human +=
              fmt::format("  {:<15} #{:<7} {}: {}\n", f.check, f.item, f.title, f.detail);
          if (!f.fix.empty()) {
            outcome.human += fmt::format("  {:<15} {:<8} fix: {}\n", "", "", f.fix);
          }
        }
        for (const auto& row : result->pruned) {
          outcome.human += fmt::format("  {} #{} {}\n", options.dry_run ? "would prune" : "pruned",
                                       row.id, sync::display_title(row));
        }
        return outcome;
      }};
  return run_tool(tool, argc, argv);
}

} // namespace ws::app
