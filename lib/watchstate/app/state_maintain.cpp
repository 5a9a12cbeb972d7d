// SPDX-License-Identifier: MIT
#include <watchstate/app/state_dir.hpp>
#include <watchstate/app/state_maintain.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/exit_code.hpp>
#include <watchstate/core/lock.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/db/maintenance.hpp>
#include <watchstate/json/writer.hpp>

#include <fmt/format.h>

#include <memory>

namespace ws::app {
namespace {

std::string kib(std::uintmax_t bytes) { return fmt::format("{} KiB", (bytes + 1023) / 1024); }

std::string cutoff_text(UnixTime cutoff) { return format_rfc3339(cutoff); }

std::string human_report(const std::filesystem::path& file, const db::MaintenanceResult& r,
                         const config::HistorySettings& history, bool dry_run) {
  std::string h;
  if (!r.intact()) {
    h += fmt::format("{}: integrity DAMAGED, nothing was changed\n", file.string());
    for (const auto& p : r.problems) {
      h += fmt::format("  {}\n", p);
    }
    return h;
  }
  h += fmt::format("{}: integrity ok\n", file.string());
  const char* forgot = dry_run ? "would forget" : "forgot";
  if (r.change_log_cutoff != 0) {
    h += fmt::format("change log: {} {} entries logged before {} (history.change_log_days {})\n",
                     forgot, r.change_log_pruned, cutoff_text(r.change_log_cutoff),
                     history.change_log_days);
  } else {
    h += "change log: kept whole (history.change_log_days 0)\n";
  }
  h += fmt::format("runs: {} {} runs started before {} (history.keep_days {})\n", forgot,
                   r.runs_pruned, cutoff_text(r.run_cutoff), history.keep_days);
  const double free_share =
      r.pages > 0 ? 100.0 * static_cast<double>(r.free_pages) / static_cast<double>(r.pages) : 0.0;
  if (dry_run) {
    h += fmt::format("vacuum: {} ({} of {} pages free now, {:.1f}%; pruning frees more)\n",
                     r.vacuum_due ? "would run" : "not needed now", r.free_pages, r.pages,
                     free_share);
    h += fmt::format("size: {}; nothing was changed (--dry-run)\n", kib(r.size_before));
    return h;
  }
  h += "statistics: refreshed (ANALYZE, PRAGMA optimize)\n";
  if (r.vacuumed) {
    h += fmt::format("vacuum: done ({} of {} pages were free, {:.1f}%)\n", r.free_pages, r.pages,
                     free_share);
  } else {
    h += fmt::format("vacuum: not needed ({} of {} pages free, {:.1f}%, at most {:.0f}%; "
                     "--vacuum forces it)\n",
                     r.free_pages, r.pages, free_share, db::k_vacuum_free_share * 100);
  }
  h += r.checkpointed ? "WAL: checkpointed and truncated\n"
                      : "WAL: checkpointed in part (another process was reading)\n";
  h += fmt::format("size: {} -> {}\n", kib(r.size_before), kib(r.size_after));
  return h;
}

} // namespace

void add_maintain_command(CLI::App& cli, MaintainArgs& args) {
  args.command = cli.add_subcommand(
      "maintain", "Check the state database (integrity_check), forget change-log entries and "
                  "runs older than history.change_log_days / history.keep_days, refresh its "
                  "statistics, checkpoint the WAL and VACUUM when worthwhile");
  args.command->add_flag("--vacuum", args.vacuum,
                         "VACUUM even when no more than 10% of the file is free");
}

ToolOutcome maintain_command(ToolContext& ctx, const MaintainArgs& args) {
  const auto file = prepare_state_dir(ctx.config);
  const RunLock lock(lock_file(ctx.config));
  db::MaintenanceOptions options;
  options.now = now();
  options.change_log_days = ctx.config.history.change_log_days;
  options.run_days = ctx.config.history.keep_days;
  options.force_vacuum = args.vacuum;
  options.dry_run = ctx.common.dry_run;
  auto result = std::make_shared<db::MaintenanceResult>(db::maintain_database(file, options));

  ToolOutcome outcome;
  outcome.print_human_always = true;
  outcome.human = human_report(file, *result, ctx.config.history, options.dry_run);
  // Recording a run prunes the history (RunHistory::record): a dry run must not.
  outcome.record_run = !options.dry_run;
  if (!result->intact()) {
    const auto& problems = result->problems;
    const std::string message = fmt::format(
        "{} is damaged ({}{}); nothing was changed (see ws-state(1), maintain, to recover)",
        file.string(), problems.front(),
        problems.size() > 1 ? fmt::format(", and {} more problems", problems.size() - 1) : "");
    log::error("{}", message);
    outcome.exit_code = exit_code_for(Errc::data);
    outcome.errors.push_back({"", "", Errc::data, message, ""});
    outcome.record_run = false; // nothing is written to a damaged database
  }
  const auto history = ctx.config.history;
  outcome.write_result = [result, file, history](json::Writer& out) {
    const auto& r = *result;
    const auto cutoff = [&out](const char* key, UnixTime t) {
      out.key(key);
      t != 0 ? out.value(format_rfc3339(t)) : out.null();
    };
    out.begin_object();
    out.field("database", file.string());
    out.field("integrity", r.intact() ? "ok" : "damaged");
    out.key("problems").begin_array();
    for (const auto& p : r.problems) {
      out.value(p);
    }
    out.end_array();
    out.field("change_log_days", history.change_log_days);
    cutoff("change_log_cutoff", r.change_log_cutoff);
    out.field("change_log_pruned", r.change_log_pruned);
    out.field("keep_days", history.keep_days);
    cutoff("runs_cutoff", r.run_cutoff);
    out.field("runs_pruned", r.runs_pruned);
    out.field("page_size", r.page_size);
    out.field("pages", r.pages);
    out.field("free_pages", r.free_pages);
    out.field("optimized", r.optimized);
    out.field("vacuum_due", r.vacuum_due);
    out.field("vacuumed", r.vacuumed);
    out.field("checkpointed", r.checkpointed);
    out.field("size_before", static_cast<std::uint64_t>(r.size_before));
    out.field("size_after", static_cast<std::uint64_t>(r.size_after));
    out.end_object();
  };
  return outcome;
}

} // namespace ws::app
