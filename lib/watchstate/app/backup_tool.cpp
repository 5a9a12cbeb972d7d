// SPDX-License-Identifier: MIT
#include <watchstate/app/render.hpp>
#include <watchstate/app/runner.hpp>
#include <watchstate/app/state_dir.hpp>
#include <watchstate/app/tools.hpp>
#include <watchstate/backup/backup.hpp>
#include <watchstate/core/lock.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/json/writer.hpp>

#include <fmt/format.h>

#include <memory>

namespace ws::app {
namespace {

struct BackupArgs {
  std::string file_template;
  bool no_compress = false;
  std::string restore_file;
  bool execute = false;
  bool progress = false;
  bool force = false;
  CLI::App* list = nullptr;
  CLI::App* prune = nullptr;
  CLI::App* restore = nullptr;
};

ToolOutcome run_create(ToolContext& ctx, const BackupArgs& args) {
  const auto options = ctx.run_options();
  sync::validate_backend_filter(ctx.config, options);
  db::StateStore store(prepare_state_dir(ctx.config));
  const RunLock lock(lock_file(ctx.config));
  backup::CreateOptions create;
  create.file_template = args.file_template;
  create.compress = !args.no_compress;
  auto result = std::make_shared<backup::CreateResult>(
      backup::create_backups(ctx.services, ctx.config, store, options, create));
  ToolOutcome outcome;
  outcome.exit_code = result->exit_code();
  outcome.errors = result->errors;
  for (const auto& f : result->files) {
    outcome.human += fmt::format("{}/{}: {} {} records{}\n", f.identity, f.backend,
                                 f.ok ? f.path.string() : std::string("FAILED"), f.records,
                                 ctx.common.dry_run ? " (dry run, not written)" : "");
    if (f.playlists_status == backup::PlaylistsStatus::ok) {
      outcome.human += fmt::format(
          "{}/{}: {} {} playlists, {} items{}{}\n", f.identity, f.backend,
          f.playlists_path.string(), f.playlists, f.playlist_items,
          f.playlist_skipped > 0 ? fmt::format(" ({} unknown items left out)", f.playlist_skipped)
                                 : std::string(),
          ctx.common.dry_run ? " (dry run, not written)" : "");
    } else if (f.ok && f.playlists_status == backup::PlaylistsStatus::failed) {
      outcome.human += fmt::format("{}/{}: playlists not backed up: {}\n", f.identity, f.backend,
                                   f.playlists_error);
    }
  }
  outcome.write_result = [result](json::Writer& out) { write_create_result(out, *result); };
  return outcome;
}

ToolOutcome run_list(ToolContext& ctx) {
  auto files = std::make_shared<std::vector<backup::BackupFileInfo>>(
      backup::list_backups(backup::backup_dir(ctx.config), true));
  ToolOutcome outcome;
  outcome.print_human_always = true;
  // RECORDS: items in a backup of items, playlists in a playlists backup.
  outcome.human = fmt::format("{:<10} {:<14} {:<10} {:<9} {:>12} {:>9}  {}\n", "IDENTITY",
                              "BACKEND", "DATE", "KIND", "SIZE", "RECORDS", "FILE");
  for (const auto& f : *files) {
    outcome.human += fmt::format(
        "{:<10} {:<14} {:<10} {:<9} {:>12} {:>9}  {}\n", f.identity.empty() ? "-" : f.identity,
        f.backend.empty() ? "-" : f.backend,
        f.date ? format_rfc3339(*f.date).substr(0, 10) : std::string("-"),
        f.playlists ? "playlists" : "items", f.size_bytes,
        f.records ? std::to_string(*f.records) : std::string("?"), f.path.filename().string());
  }
  outcome.write_result = [files](json::Writer& out) { write_list_result(out, *files); };
  return outcome;
}

ToolOutcome run_prune(ToolContext& ctx) {
  const RunLock lock(lock_file(ctx.config));
  auto result = std::make_shared<backup::PruneResult>(backup::prune_backups(
      backup::backup_dir(ctx.config), ctx.config.backup.keep_days, now(), ctx.common.dry_run));
  ToolOutcome outcome;
  for (const auto& p : result->removed) {
    outcome.human +=
        fmt::format("{} {}\n", ctx.common.dry_run ? "would remove" : "removed", p.string());
  }
  const int keep_days = ctx.config.backup.keep_days;
  outcome.write_result = [result, keep_days](json::Writer& out) {
    write_prune_result(out, *result, keep_days);
  };
  return outcome;
}

// The human summary of a playlists restore: one line per playlist, then its writes.
std::string playlists_restore_text(const backup::RestoreResult& result, bool planned) {
  std::size_t created = 0;
  std::size_t updated = 0;
  std::size_t unchanged = 0;
  std::size_t skipped = 0;
  for (const auto& p : result.playlists) {
    created += p.action == "create" ? 1 : 0;
    updated += p.action == "update" ? 1 : 0;
    unchanged += p.action == "unchanged" ? 1 : 0;
    skipped += p.action == "skipped" ? 1 : 0;
  }
  std::string text =
      fmt::format("{}: {} playlists; {} {}, {} {}, {} unchanged, {} skipped{}\n", result.backend,
                  result.playlists.size(), planned ? "would create" : "created", created,
                  planned ? "would update" : "updated", updated, unchanged, skipped,
                  planned ? " (plan only: add --execute to write)" : "");
  for (const auto& p : result.playlists) {
    text += fmt::format("  {} {}: {} of {} items on {}", p.action, p.title, p.matched, p.items,
                        result.backend);
    if (!p.missing.empty()) {
      std::string titles;
      for (const auto& t : p.missing) {
        titles += titles.empty() ? t : ", " + t;
      }
      text += fmt::format("; missing: {}", titles);
    }
    text += p.reason.empty() ? "\n" : fmt::format(" ({})\n", p.reason);
    for (const auto& op : p.changes) {
      text += fmt::format("    {} {}{}\n", !op.sent ? "plan" : (op.ok ? "done" : "FAILED"),
                          sync::playlist_op_name(op.kind), op.error.empty() ? "" : ": " + op.error);
    }
  }
  return text;
}

ToolOutcome run_restore(ToolContext& ctx, const BackupArgs& args) {
  const auto options = ctx.run_options();
  if (options.select.size() != 1) {
    throw Error(Errc::usage, "restore needs exactly one backend: -s NAME");
  }
  sync::validate_backend_filter(ctx.config, options);
  backup::RestoreOptions restore;
  restore.file = args.restore_file;
  if (!std::filesystem::exists(restore.file) && restore.file.is_relative() &&
      std::filesystem::exists(backup::backup_dir(ctx.config) / restore.file)) {
    restore.file = backup::backup_dir(ctx.config) / restore.file;
  }
  restore.backend = options.select.front();
  restore.identity = options.identity.value_or("main");
  restore.execute = args.execute;
  restore.progress = args.progress;
  restore.force = args.force;
  db::StateStore store(prepare_state_dir(ctx.config));
  const RunLock lock(lock_file(ctx.config));
  auto result = std::make_shared<backup::RestoreResult>(
      backup::restore_backup(ctx.services, ctx.config, store, options, restore));
  ToolOutcome outcome;
  outcome.exit_code = result->exit_code();
  outcome.errors = result->errors;
  const bool planned = !result->execute || ctx.common.dry_run;
  outcome.write_result = [result](json::Writer& out) { write_restore_result(out, *result); };
  if (result->playlists_file) {
    outcome.human = playlists_restore_text(*result, planned);
    return outcome;
  }
  if (ctx.common.json) {
    return outcome; // a line per change, never printed with --json
  }
  outcome.human = fmt::format(
      "{}: {} records, {} items matched, {} unmatched; {} {} played, {} unplayed, {} positions{}\n",
      result->backend, result->records, result->checked, result->unmatched,
      planned ? "would mark" : "marked", result->marked_played, result->marked_unplayed,
      result->progress_updated, planned ? " (plan only: add --execute to write)" : "");
  for (const auto& c : result->changes) {
    outcome.human += fmt::format("  {} {} {}{}\n", !c.sent ? "plan" : (c.ok ? "done" : "FAILED"),
                                 sync::write_action_name(c.write.action), c.title,
                                 c.error.empty() ? "" : ": " + c.error);
  }
  return outcome;
}

} // namespace

int backup_main(int argc, char** argv) {
  auto args = std::make_shared<BackupArgs>();
  ToolDefinition tool{
      "ws-backup",
      "Back up each backend's play state and playlists to portable files, list and prune them, "
      "and restore one into a backend",
      true,
      [args](CLI::App& cli) {
        cli.require_subcommand(0, 1);
        auto* create = cli.add_subcommand("create", "Write a backup of every selected backend "
                                                    "(the default)");
        for (auto* app : {&cli, create}) {
          app->add_option("--file", args->file_template,
                          "File name template with {identity}, {backend}, {date}; relative "
                          "names go to state_dir/backups; the playlists file is named with "
                          "'.playlists' before '.json'");
          app->add_flag("--no-compress", args->no_compress, "Plain JSON instead of .json.gz");
        }
        args->list = cli.add_subcommand("list", "List backup files");
        args->prune = cli.add_subcommand("prune", "Remove dated backups older than "
                                                  "backup.keep_days");
        args->restore = cli.add_subcommand("restore", "Replay a backup (play state, or playlists) "
                                                      "into one backend (-s)");
        args->restore
            ->add_option("FILE", args->restore_file,
                         "Backup file (ours or WatchState's), or a playlists backup")
            ->required();
        args->restore->add_flag("--execute", args->execute, "Send the writes (default: plan only)");
        args->restore->add_flag("-P,--progress", args->progress, "Also restore resume positions");
        args->restore->add_flag("--force", args->force,
                                "Restore into a backend with export.enabled: false");
      },
      [args](ToolContext& ctx) {
        if (args->list->parsed()) {
          return run_list(ctx);
        }
        if (args->prune->parsed()) {
          return run_prune(ctx);
        }
        if (args->restore->parsed()) {
          return run_restore(ctx, *args);
        }
        return run_create(ctx, *args);
      }};
  tool.library_scope = true;
  return run_tool(tool, argc, argv);
}

} // namespace ws::app
