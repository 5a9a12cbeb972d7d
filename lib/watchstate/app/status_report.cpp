// SPDX-License-Identifier: MIT
// ws-state status and ws-state runs: what the run history says about each backend.
#include <watchstate/app/json_blocks.hpp>
#include <watchstate/app/state_dir.hpp>
#include <watchstate/app/status_report.hpp>
#include <watchstate/backup/backup.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/exit_code.hpp>
#include <watchstate/core/time.hpp>
#include <watchstate/db/event_queue.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/sync/run_context.hpp>

#include <fmt/format.h>

#include <map>
#include <memory>

namespace ws::app {
namespace {

std::string when(std::optional<UnixTime> t) {
  return t ? format_rfc3339(*t) : std::string("never");
}

std::string age(UnixTime seconds) {
  if (seconds < 120) {
    return fmt::format("{} s", seconds);
  }
  if (seconds < 2 * 3600) {
    return fmt::format("{} min", seconds / 60);
  }
  if (seconds < 2 * 86400) {
    return fmt::format("{} h", seconds / 3600);
  }
  return fmt::format("{} days", seconds / 86400);
}

struct BackendStatus {
  std::string backend;
  std::string type;
  bool import_enabled = true;
  bool export_enabled = true;
  db::BackendHealth health;
  bool stale = false; // --max-age: a needed phase succeeded too long ago, or never
};

struct IdentityStatus {
  std::string identity;
  std::int64_t items = 0;
  std::int64_t played = 0;
  std::vector<BackendStatus> backends;
};

struct Status {
  std::vector<IdentityStatus> identities;
  std::int64_t webhook_pending = 0;
  std::int64_t webhook_failed = 0;
  std::optional<backup::BackupFileInfo> newest_backup;
  std::filesystem::path database;
  std::uintmax_t database_bytes = 0;
  std::optional<std::int64_t> max_age;
  UnixTime now = 0;
};

std::uintmax_t size_or_zero(const std::filesystem::path& file) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  return ec ? 0 : size;
}

} // namespace

std::int64_t max_age_seconds(const std::string& text) {
  if (const auto seconds = parse_duration(text); seconds && *seconds > 0) {
    return *seconds;
  }
  throw Error(Errc::usage, fmt::format("--max-age {}: a duration is numbers with s, m, h, d or w "
                                       "(90m, 36h, 3d, 1d12h)",
                                       text));
}

ToolOutcome status_report(const ToolContext& ctx, std::optional<std::int64_t> max_age) {
  auto status = std::make_shared<Status>();
  status->now = now();
  status->max_age = max_age;
  status->database = prepare_state_dir(ctx.config);
  db::RunHistory history(status->database);
  status->database_bytes =
      size_or_zero(status->database) + size_or_zero(status->database.string() + "-wal");

  std::map<std::pair<std::string, std::string>, db::BackendHealth> health;
  for (auto& h : history.health()) {
    health[{h.identity, h.backend}] = std::move(h);
  }
  std::map<std::string, db::IdentityCounts> counts;
  for (auto& c : history.identity_counts()) {
    counts[c.identity] = c;
  }
  const auto options = ctx.run_options();
  sync::validate_backend_filter(ctx.config, options);
  ToolOutcome outcome;
  outcome.record_run = false;
  outcome.print_human_always = true;
  std::vector<std::string> stale;
  for (const auto& identity : sync::identities_to_run(ctx.config, options)) {
    IdentityStatus is;
    is.identity = identity;
    is.items = counts[identity].items;
    is.played = counts[identity].played;
    for (const auto& b : config::backends_for_identity(ctx.config, identity)) {
      if (!sync::backend_selected(options, b.name)) {
        continue;
      }
      BackendStatus bs;
      bs.backend = b.name;
      bs.type = std::string(model::backend_type_name(b.type));
      bs.import_enabled = b.import_enabled;
      bs.export_enabled = b.export_enabled;
      bs.health = health[{identity, b.name}];
      if (max_age) {
        const UnixTime oldest = status->now - *max_age;
        // A backend that only receives play state is judged by its export, any other by its
        // import (the export also runs when nothing was to be sent).
        const auto last = b.import_enabled ? bs.health.last_import : bs.health.last_export;
        bs.stale = !last || *last < oldest;
        if (bs.stale) {
          stale.push_back(fmt::format("{}/{}", identity, b.name));
        }
      }
      is.backends.push_back(std::move(bs));
    }
    status->identities.push_back(std::move(is));
  }
  const auto queue_file = ctx.config.state_dir / "webhook-queue.db";
  if (std::filesystem::exists(queue_file)) {
    db::EventQueue queue(queue_file);
    status->webhook_pending = queue.pending();
    status->webhook_failed = queue.failed();
  }
  const auto backups = ctx.config.state_dir / "backups";
  if (std::filesystem::exists(backups)) {
    status->newest_backup = backup::newest_backup(backups);
  }

  std::string& text = outcome.human;
  for (const auto& is : status->identities) {
    text += fmt::format("{}: {} items, {} played\n", is.identity, is.items, is.played);
    for (const auto& bs : is.backends) {
      text += fmt::format("  {:<20} import {:<20}  export {:<20}  {} items{}\n", bs.backend,
                          bs.import_enabled ? when(bs.health.last_import) : std::string("off"),
                          bs.export_enabled ? when(bs.health.last_export) : std::string("off"),
                          bs.health.items, bs.stale ? "  STALE" : "");
      if (bs.health.last_error_at) {
        text +=
            fmt::format("    last error {} ({}): {}\n", format_rfc3339(*bs.health.last_error_at),
                        bs.health.last_error_kind, bs.health.last_error);
      }
    }
  }
  text += fmt::format("webhook queue: {} pending, {} failed\n", status->webhook_pending,
                      status->webhook_failed);
  if (status->newest_backup) {
    std::error_code ec;
    const auto written = std::filesystem::last_write_time(status->newest_backup->path, ec);
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                             std::filesystem::file_time_type::clock::now() - written)
                             .count();
    text += fmt::format("newest backup: {} ({} old)\n", status->newest_backup->path.string(),
                        age(seconds));
  } else {
    text += "newest backup: none\n";
  }
  text += fmt::format("database: {} ({} KiB)\n", status->database.string(),
                      status->database_bytes / 1024);
  if (!stale.empty()) {
    outcome.exit_code = exit_code::attention;
    outcome.status = "stale";
    text += fmt::format("no success within {}: {}\n", age(*max_age), fmt::join(stale, ", "));
  }

  outcome.write_result = [status](json::Writer& out) {
    out.begin_object();
    out.key("identities").begin_array();
    for (const auto& is : status->identities) {
      out.begin_object().field("identity", is.identity);
      out.field("items", is.items).field("played", is.played);
      out.key("backends").begin_array();
      for (const auto& bs : is.backends) {
        out.begin_object().field("backend", bs.backend).field("type", bs.type);
        out.field("import_enabled", bs.import_enabled).field("export_enabled", bs.export_enabled);
        write_time_or_null(out, "last_import", bs.health.last_import);
        write_time_or_null(out, "last_export", bs.health.last_export);
        out.key("last_error");
        if (bs.health.last_error_at) {
          out.begin_object().field("at", format_rfc3339(*bs.health.last_error_at));
          out.field("kind", bs.health.last_error_kind).field("message", bs.health.last_error);
          out.end_object();
        } else {
          out.null();
        }
        out.field("items", bs.health.items).field("stale", bs.stale);
        out.end_object();
      }
      out.end_array();
      out.end_object();
    }
    out.end_array();
    out.key("webhook").begin_object();
    out.field("pending", status->webhook_pending);
    out.field("failed", status->webhook_failed);
    out.end_object();
    out.key("backup");
    if (status->newest_backup) {
      out.begin_object().field("path", status->newest_backup->path.string());
      write_time_or_null(out, "date", status->newest_backup->date);
      out.end_object();
    } else {
      out.null();
    }
    out.key("database").begin_object();
    out.field("path", status->database.string());
    out.field("size_bytes", static_cast<std::uint64_t>(status->database_bytes));
    out.end_object();
    out.key("max_age_seconds");
    status->max_age ? out.value(*status->max_age) : out.null();
    out.end_object();
  };
  return outcome;
}

ToolOutcome runs_report(const ToolContext& ctx, std::size_t limit, const std::string& tool) {
  db::RunHistory history(prepare_state_dir(ctx.config));
  auto runs = std::make_shared<std::vector<db::Run>>(history.runs(limit, tool));
  ToolOutcome outcome;
  outcome.record_run = false;
  outcome.print_human_always = true;
  for (const auto& run : *runs) {
    outcome.human += fmt::format("{:>6}  {}  {:<10} {:<12} exit {:<3} {:>7.2f} s  {}{}\n", run.id,
                                 format_rfc3339(run.started_at), run.tool, run.command,
                                 run.exit_code, static_cast<double>(run.duration_ms) / 1000.0,
                                 run.status, run.dry_run ? " (dry run)" : "");
    for (const auto& b : run.backends) {
      outcome.human += fmt::format("          {}/{} {}: {}, {} items, {} writes{}\n", b.identity,
                                   b.backend, b.phase, b.ok ? "ok" : "FAILED", b.items, b.writes,
                                   b.failed > 0 ? fmt::format(", {} failed", b.failed) : "");
    }
    for (const auto& e : run.errors) {
      outcome.human += fmt::format("          error ({}): {}\n", e.kind, e.message);
    }
  }
  outcome.write_result = [runs](json::Writer& out) {
    out.begin_object().key("runs").begin_array();
    for (const auto& run : *runs) {
      write_run(out, run);
    }
    out.end_array().end_object();
  };
  return outcome;
}

} // namespace ws::app
