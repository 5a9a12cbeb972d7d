// SPDX-License-Identifier: MIT
// ws-state report: what a bug report needs, gathered without a secret. Every section is
// gathered on its own: one that fails (a database another version wrote, a queue file that
// cannot be read) is named under "problems" and the others are still reported.
#include <watchstate/app/diagnostics.hpp>
#include <watchstate/app/json_blocks.hpp>
#include <watchstate/app/status_report.hpp>

#include <watchstate/backup/backup.hpp>
#include <watchstate/config/redacted.hpp>
#include <watchstate/core/atomic_file.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/exit_code.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/time.hpp>
#include <watchstate/db/database_facts.hpp>
#include <watchstate/db/event_queue.hpp>
#include <watchstate/db/run_history.hpp>
#include <watchstate/http/client.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/sync/open_backend.hpp>
#include <watchstate/sync/run_context.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include <sys/stat.h>
#include <sys/utsname.h>

#ifndef WS_BUILD_TYPE
#define WS_BUILD_TYPE "unknown"
#endif
#ifndef WS_SANITIZERS
#define WS_SANITIZERS ""
#endif
#ifndef WS_YAML_CPP_VERSION
#define WS_YAML_CPP_VERSION ""
#endif

namespace ws::app {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t k_runs = 20;
constexpr std::size_t k_queue_errors = 10;
constexpr std::uintmax_t k_max_config_bytes = std::uintmax_t{16} << 20;

struct Library {
  std::string name;
  std::string version;
  std::string note; // "" (the library said so at run time) or "build" (the headers built against)
};

struct BackendView {
  std::string name;
  std::string type;
  std::string uuid; // configured, may be empty
  std::optional<model::ServerInfo> last_import;
  bool live_asked = false;
  std::optional<model::ServerInfo> live;
  std::string live_error_kind;
  std::string live_error;
  std::uint64_t live_requests = 0; // what asking cost (--live)
  std::uint64_t live_bytes_received = 0;
};

struct Problem {
  std::string section;
  std::string message;
};

struct Report {
  UnixTime generated_at = 0;
  // watchstate
  std::string version = WS_VERSION;
  std::string build_type = WS_BUILD_TYPE;
  std::string compiler;
  std::string sanitizers = WS_SANITIZERS;
  std::vector<Library> libraries;
  // system
  std::string os_name;
  std::string os_release;
  std::string os_version;
  std::string machine;
  std::string distribution;
  // config
  std::string config_path;
  std::optional<unsigned> config_mode;
  std::optional<unsigned> config_owner;
  bool readable_by_others_with_token = false;
  std::string state_dir;
  std::optional<config::RedactedNode> config_tree;
  // backends
  std::vector<BackendView> backends;
  // database
  std::string database_path;
  bool database_exists = false;
  std::uintmax_t database_bytes = 0;
  std::uintmax_t wal_bytes = 0;
  std::optional<db::DatabaseFacts> database;
  // history
  std::vector<db::Run> runs;
  // webhook queue
  bool queue_exists = false;
  std::int64_t queue_pending = 0;
  std::int64_t queue_failed = 0;
  std::vector<db::QueueEntry> queue_errors; // newest first
  // backups
  std::optional<backup::BackupFileInfo> newest_backup;
  std::vector<Problem> problems;
};

std::string compiler_name() {
#if defined(__clang__)
  return fmt::format("clang {}", __clang_version__);
#elif defined(__GNUC__)
  return fmt::format("GCC {}", __VERSION__);
#else
  return "unknown";
#endif
}

std::vector<Library> library_versions() {
  std::vector<Library> out;
  out.push_back({"libcurl", http::curl_version(), ""});
  out.push_back({"SQLite", db::sqlite_version(), ""});
  if (std::string_view(WS_YAML_CPP_VERSION).empty()) {
    out.push_back({"yaml-cpp", "unknown (the library does not say)", ""});
  } else {
    out.push_back({"yaml-cpp", WS_YAML_CPP_VERSION, "build"});
  }
  out.push_back(
      {"fmt",
       fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION % 10000 / 100, FMT_VERSION % 100),
       "build"});
  return out;
}

// PRETTY_NAME of os-release(5), "" when there is none.
std::string distribution() {
  for (const char* file : {"/etc/os-release", "/usr/lib/os-release"}) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      if (line.starts_with("PRETTY_NAME=")) {
        std::string value = line.substr(12);
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front()) {
          value = value.substr(1, value.size() - 2);
        }
        return value;
      }
    }
  }
  return {};
}

std::uintmax_t size_or_zero(const fs::path& file) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  return ec ? 0 : size;
}

std::string read_config_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw Error(Errc::io, fmt::format("cannot read {} again", file.string()));
  }
  std::string text;
  std::array<char, 8192> chunk{};
  while (in.read(chunk.data(), chunk.size()) || in.gcount() > 0) {
    text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
    if (text.size() > k_max_config_bytes) {
      throw Error(Errc::io, fmt::format("{} is larger than 16 MiB", file.string()));
    }
  }
  return text;
}

// Runs `gather`; a failure becomes a problem of `section` (redacted) and the report goes on.
template <typename F> void section(Report& report, std::string_view name, F&& gather) {
  try {
    gather();
  } catch (const std::exception& e) {
    report.problems.push_back({std::string(name), redact(e.what())});
    log::warning("report: {}: {}", name, redact(e.what()));
  }
}

void gather_config(const ToolContext& ctx, Report& report) {
  std::error_code ec;
  const auto absolute = fs::absolute(ctx.config.file, ec);
  report.config_path = (ec ? ctx.config.file : absolute).lexically_normal().string();
  report.state_dir = ctx.config.state_dir.string();
  report.readable_by_others_with_token = ctx.config.readable_by_others_with_token;
  struct stat info {};
  if (::stat(ctx.config.file.c_str(), &info) == 0) {
    report.config_mode = static_cast<unsigned>(info.st_mode & 07777);
    report.config_owner = static_cast<unsigned>(info.st_uid);
  }
  section(report, "config",
          [&] { report.config_tree = config::redact_config(read_config_text(ctx.config.file)); });
}

void gather_backends(const ToolContext& ctx, const ReportArgs& args, Report& report,
                     ToolOutcome& outcome) {
  const auto options = ctx.run_options();
  for (const auto& b : ctx.config.backends) {
    if (!sync::backend_selected(options, b.name)) {
      continue;
    }
    BackendView view;
    view.name = b.name;
    view.type = std::string(model::backend_type_name(b.type));
    view.uuid = b.uuid;
    if (report.database) {
      for (const auto& seen : report.database->servers) {
        if (seen.backend == b.name) {
          view.last_import = seen.info;
        }
      }
    }
    if (args.live) {
      view.live_asked = true;
      std::unique_ptr<backend::Backend> adapter;
      try {
        adapter = sync::open_backend(ctx.services, ctx.config, b, options);
        view.live = adapter->server_info();
      } catch (const Error& e) {
        view.live_error_kind = errc_name(e.code());
        view.live_error = redact(e.what());
        outcome.errors.push_back({"main", b.name, e.code(), view.live_error, ""});
        log::error("{}", view.live_error);
      }
      if (adapter) {
        view.live_requests = adapter->requests_sent();
        view.live_bytes_received = adapter->bytes_received();
      }
    }
    report.backends.push_back(std::move(view));
  }
}

void gather_database(const ToolContext& ctx, Report& report) {
  const fs::path file = ctx.config.state_dir / "state.db";
  report.database_path = file.string();
  std::error_code ec;
  report.database_exists = fs::exists(file, ec);
  report.database_bytes = size_or_zero(file);
  report.wal_bytes = size_or_zero(file.string() + "-wal");
  if (!report.database_exists) {
    return; // no run yet: nothing to open, and a report creates nothing
  }
  section(report, "database", [&] { report.database = db::inspect_database(file); });
  section(report, "runs", [&] {
    db::RunHistory history(file);
    report.runs = history.runs(k_runs);
  });
}

void gather_queue(const ToolContext& ctx, Report& report) {
  const fs::path file = ctx.config.state_dir / "webhook-queue.db";
  std::error_code ec;
  report.queue_exists = fs::exists(file, ec);
  if (!report.queue_exists) {
    return; // never created here: no file is an empty queue
  }
  section(report, "webhook", [&] {
    db::EventQueue queue(file);
    report.queue_pending = queue.pending();
    report.queue_failed = queue.failed();
    auto entries = queue.entries();
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
      if (!it->last_error.empty() && report.queue_errors.size() < k_queue_errors) {
        report.queue_errors.push_back(*it);
      }
    }
  });
}

void gather_backup(const ToolContext& ctx, Report& report) {
  const auto dir = ctx.config.state_dir / "backups";
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    return;
  }
  section(report, "backup", [&] { report.newest_backup = backup::newest_backup(dir); });
}

// Every free text that came from elsewhere (the database, the servers, the queue) once more
// through redact(): they were stored redacted, but a report is meant to be handed out.
void scrub(Report& report) {
  for (auto& b : report.backends) {
    for (auto* info : {b.last_import ? &*b.last_import : nullptr, b.live ? &*b.live : nullptr}) {
      if (info != nullptr) {
        info->id = redact(info->id);
        info->name = redact(info->name);
        info->version = redact(info->version);
      }
    }
  }
  if (report.database) {
    for (auto& s : report.database->servers) {
      s.info.name = redact(s.info.name);
    }
    for (auto& line : report.database->quick_check) {
      line = redact(line);
    }
  }
  for (auto& run : report.runs) {
    run.command = redact(run.command);
    for (auto& e : run.errors) {
      e.message = redact(e.message);
    }
  }
  for (auto& e : report.queue_errors) {
    e.last_error = redact(e.last_error);
    e.queued.event.title = redact(e.queued.event.title);
  }
}

// ---- text ----

std::string mode_text(unsigned mode) { return fmt::format("{:04o}", mode); }

std::string server_text(const model::ServerInfo& info) {
  return fmt::format("\"{}\" version {} id {}", info.name,
                     info.version.empty() ? "?" : info.version, info.id);
}

std::string indent(const std::string& text, std::string_view pad) {
  std::string out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    out += fmt::format("{}{}\n", pad, line);
  }
  return out;
}

std::string render_text(const Report& r) {
  std::string t;
  t += fmt::format("watchstate diagnostic report, {} (ws-state report; secrets are replaced by "
                   "{})\n",
                   format_rfc3339(r.generated_at), config::k_redacted);

  t += "\n== watchstate ==\n";
  t += fmt::format("version:      {}\n", r.version);
  t += fmt::format("build:        {}, {}, sanitizers: {}\n", r.build_type, r.compiler,
                   r.sanitizers.empty() ? "none" : r.sanitizers);
  for (const auto& lib : r.libraries) {
    t += fmt::format("{:<13} {}{}\n", lib.name + ":", lib.version,
                     lib.note == "build" ? " (built with)" : "");
  }

  t += "\n== system ==\n";
  t += fmt::format("os:           {} {} {} {}\n", r.os_name, r.os_release, r.os_version, r.machine);
  t += fmt::format("distribution: {}\n", r.distribution.empty() ? "unknown" : r.distribution);

  t += "\n== config ==\n";
  t += fmt::format("file:         {}", r.config_path);
  if (r.config_mode) {
    t += fmt::format(" (mode {}, owner uid {})", mode_text(*r.config_mode), *r.config_owner);
  }
  t += "\n";
  if (r.readable_by_others_with_token) {
    t += "warning:      the file holds a token and can be read by other users\n";
  }
  t += fmt::format("state_dir:    {}\n", r.state_dir);
  if (r.config_tree) {
    t += indent(config::to_yaml(*r.config_tree), "  ");
  }

  t += "\n== backends ==\n";
  for (const auto& b : r.backends) {
    t += fmt::format("{} ({}), configured uuid {}\n", b.name, b.type,
                     b.uuid.empty() ? "none" : b.uuid);
    t += fmt::format("  last import saw: {}\n",
                     b.last_import ? server_text(*b.last_import) : std::string("nothing yet"));
    if (b.live_asked) {
      t += fmt::format("  live:            {}\n",
                       b.live ? server_text(*b.live)
                              : fmt::format("FAILED ({}): {}", b.live_error_kind, b.live_error));
    }
  }

  t += "\n== database ==\n";
  t += fmt::format("file:         {}", r.database_path);
  if (!r.database_exists) {
    t += " (none yet: no tool has run)\n";
  } else {
    t += fmt::format(" ({} KiB, WAL {} KiB)\n", r.database_bytes / 1024, r.wal_bytes / 1024);
  }
  if (r.database) {
    const auto& d = *r.database;
    t += fmt::format("schema:       version {}, journal {}, {} pages of {} bytes, {} free\n",
                     d.schema_version, d.journal_mode, d.page_count, d.page_size, d.freelist_count);
    t += fmt::format("quick_check:  {}\n", fmt::join(d.quick_check, "; "));
    for (const auto& i : d.identities) {
      t += fmt::format("items:        {}: {} items, {} played\n", i.identity, i.items, i.played);
    }
    for (const auto& rc : d.records) {
      t += fmt::format("records:      {}/{}: {} records on {} items\n", rc.identity, rc.backend,
                       rc.records, rc.items);
    }
    t += fmt::format("rows:         {} change log entries, {} id conflicts, {} runs\n", d.changes,
                     d.conflicts, d.runs);
  }

  t += fmt::format("\n== runs (last {}, newest first) ==\n", k_runs);
  if (r.runs.empty()) {
    t += "none\n";
  }
  for (const auto& run : r.runs) {
    t += fmt::format(
        "{:>6}  {}  {} {}  exit {} ({}){}, {:.2f} s\n", run.id, format_rfc3339(run.started_at),
        run.tool, run.command.empty() ? std::string("-") : run.command, run.exit_code, run.status,
        run.dry_run ? ", dry run" : "", static_cast<double>(run.duration_ms) / 1000.0);
    for (const auto& b : run.backends) {
      t += fmt::format("        {}/{} {}: {}, {} items, {} writes, {} failed, {} requests\n",
                       b.identity, b.backend, b.phase, b.ok ? "ok" : "FAILED", b.items, b.writes,
                       b.failed, b.requests);
    }
    for (const auto& e : run.errors) {
      t += fmt::format("        error {}{}: {}\n", e.kind,
                       e.backend.empty() ? std::string() : fmt::format(" ({})", e.backend),
                       e.message);
    }
  }

  t += "\n== webhook queue ==\n";
  if (!r.queue_exists) {
    t += "no queue file (ws-webhook has not run here)\n";
  } else {
    t += fmt::format("{} pending, {} failed\n", r.queue_pending, r.queue_failed);
    for (const auto& e : r.queue_errors) {
      t += fmt::format("  #{} {} {} ({} attempts, {} {}): {}\n", e.queued.id,
                       format_rfc3339(e.queued.received_at), e.failed ? "failed" : "pending",
                       e.queued.attempts, model::source_name(e.queued.event.source),
                       e.queued.event.event, e.last_error);
    }
  }

  t += "\n== backups ==\n";
  if (r.newest_backup) {
    t += fmt::format(
        "newest: {} ({} bytes{})\n", r.newest_backup->path.string(), r.newest_backup->size_bytes,
        r.newest_backup->date ? fmt::format(", dated {}", format_rfc3339(*r.newest_backup->date))
                              : std::string());
  } else {
    t += "none\n";
  }

  if (!r.problems.empty()) {
    t += "\n== problems while gathering ==\n";
    for (const auto& p : r.problems) {
      t += fmt::format("{}: {}\n", p.section, p.message);
    }
  }
  // Once more over the whole document: nothing registered as a secret leaves this function.
  return redact(t);
}

// ---- JSON ----

void write_tree(json::Writer& out, const config::RedactedNode& node) {
  switch (node.kind) {
  case config::RedactedNode::Kind::null: out.null(); break;
  case config::RedactedNode::Kind::scalar: out.value(node.text); break;
  case config::RedactedNode::Kind::map:
    out.begin_object();
    for (const auto& entry : node.entries) {
      out.key(entry.key);
      write_tree(out, entry.value);
    }
    out.end_object();
    break;
  case config::RedactedNode::Kind::list:
    out.begin_array();
    for (const auto& item : node.items) {
      write_tree(out, item);
    }
    out.end_array();
    break;
  }
}

// The fields of what a server said about itself.
void write_server_fields(json::Writer& out, const model::ServerInfo& info) {
  out.field("server_id", info.id);
  out.field("name", info.name);
  out.field("version", info.version);
}

void write_server(json::Writer& out, const std::optional<model::ServerInfo>& info) {
  if (!info) {
    out.null();
    return;
  }
  out.begin_object();
  write_server_fields(out, *info);
  out.end_object();
}

void write_report(json::Writer& out, const Report& r) {
  out.begin_object();
  out.field("generated_at", format_rfc3339(r.generated_at));
  out.key("watchstate").begin_object();
  out.field("version", r.version);
  out.field("build_type", r.build_type);
  out.field("compiler", r.compiler);
  out.field("sanitizers", r.sanitizers);
  out.key("libraries").begin_object();
  for (const auto& lib : r.libraries) {
    out.key(lib.name).begin_object();
    out.field("version", lib.version);
    out.field("source", lib.note == "build" ? "build" : "runtime");
    out.end_object();
  }
  out.end_object();
  out.end_object();

  out.key("system").begin_object();
  out.field("os", r.os_name);
  out.field("release", r.os_release);
  out.field("version", r.os_version);
  out.field("machine", r.machine);
  out.field("distribution", r.distribution);
  out.end_object();

  out.key("config").begin_object();
  out.field("path", r.config_path);
  out.key("mode");
  r.config_mode ? out.value(mode_text(*r.config_mode)) : out.null();
  out.key("owner_uid");
  r.config_owner ? out.value(static_cast<std::int64_t>(*r.config_owner)) : out.null();
  out.field("readable_by_others_with_token", r.readable_by_others_with_token);
  out.field("state_dir", r.state_dir);
  out.key("content");
  if (r.config_tree) {
    write_tree(out, *r.config_tree);
  } else {
    out.null();
  }
  out.end_object();

  out.key("backends").begin_array();
  for (const auto& b : r.backends) {
    out.begin_object().field("backend", b.name).field("type", b.type).field("uuid", b.uuid);
    out.key("last_import");
    write_server(out, b.last_import);
    out.key("live");
    if (!b.live_asked) {
      out.null();
    } else {
      out.begin_object();
      if (b.live) {
        write_server_fields(out, *b.live);
      } else {
        out.key("error");
        write_error(out, b.live_error_kind, b.live_error);
      }
      write_traffic(out, b.live_requests, b.live_bytes_received);
      out.end_object();
    }
    out.end_object();
  }
  out.end_array();

  out.key("database").begin_object();
  out.field("path", r.database_path);
  out.field("exists", r.database_exists);
  out.field("size_bytes", static_cast<std::uint64_t>(r.database_bytes));
  out.field("wal_bytes", static_cast<std::uint64_t>(r.wal_bytes));
  if (r.database) {
    const auto& d = *r.database;
    out.field("schema_version", d.schema_version);
    out.field("journal_mode", d.journal_mode);
    out.field("page_size", d.page_size);
    out.field("page_count", d.page_count);
    out.field("freelist_count", d.freelist_count);
    out.field("integrity_ok", d.quick_check.size() == 1 && d.quick_check.front() == "ok");
    write_strings(out, "quick_check", d.quick_check);
    out.key("identities").begin_array();
    for (const auto& i : d.identities) {
      out.begin_object();
      out.field("identity", i.identity);
      out.field("items", i.items);
      out.field("played", i.played);
      out.end_object();
    }
    out.end_array();
    out.key("records").begin_array();
    for (const auto& rc : d.records) {
      out.begin_object();
      out.field("identity", rc.identity);
      out.field("backend", rc.backend);
      out.field("records", rc.records);
      out.field("items", rc.items);
      out.end_object();
    }
    out.end_array();
    out.field("change_log_entries", d.changes);
    out.field("conflicts", d.conflicts);
    out.field("runs", d.runs);
  }
  out.end_object();

  out.key("runs").begin_array();
  for (const auto& run : r.runs) {
    write_run(out, run);
  }
  out.end_array();

  out.key("webhook").begin_object();
  out.field("queue_exists", r.queue_exists);
  out.field("pending", r.queue_pending);
  out.field("failed", r.queue_failed);
  out.key("last_errors").begin_array();
  for (const auto& e : r.queue_errors) {
    out.begin_object();
    out.field("id", e.queued.id);
    out.field("received_at", format_rfc3339(e.queued.received_at));
    out.field("state", e.failed ? "failed" : "pending");
    out.field("attempts", e.queued.attempts);
    out.field("source", model::source_name(e.queued.event.source));
    out.field("event", e.queued.event.event);
    out.field("error", e.last_error);
    out.end_object();
  }
  out.end_array();
  out.end_object();

  out.key("backup");
  if (r.newest_backup) {
    out.begin_object();
    out.field("path", r.newest_backup->path.string());
    out.key("date");
    r.newest_backup->date ? out.value(format_rfc3339(*r.newest_backup->date)) : out.null();
    out.field("size_bytes", r.newest_backup->size_bytes);
    out.end_object();
  } else {
    out.null();
  }

  out.key("problems").begin_array();
  for (const auto& p : r.problems) {
    out.begin_object();
    out.field("section", p.section);
    out.field("message", p.message);
    out.end_object();
  }
  out.end_array();
  out.end_object();
}

} // namespace

CLI::App* add_report_command(CLI::App& cli, ReportArgs& args) {
  args.command = cli.add_subcommand(
      "report", "A diagnostic report to attach to a bug report: version, build, OS, the config "
                "with every secret replaced, servers, database, last runs and their errors, "
                "webhook queue, newest backup");
  args.command->add_flag("--live", args.live,
                         "Also ask each backend's server now (name, version, id)");
  args.command->add_option("--output", args.output,
                           "Write the report to this file (atomically, mode 0600) instead of "
                           "stdout");
  return args.command;
}

ToolOutcome report_command(const ToolContext& ctx, const ReportArgs& args) {
  sync::validate_backend_filter(ctx.config, ctx.run_options());
  auto report = std::make_shared<Report>();
  ToolOutcome outcome;
  outcome.record_run = false;
  outcome.print_human_always = true;

  report->generated_at = now();
  report->compiler = compiler_name();
  report->libraries = library_versions();
  struct utsname uts {};
  if (::uname(&uts) == 0) {
    report->os_name = uts.sysname;
    report->os_release = uts.release;
    report->os_version = uts.version;
    report->machine = uts.machine;
  }
  report->distribution = distribution();
  gather_config(ctx, *report);
  gather_database(ctx, *report);
  gather_backends(ctx, args, *report, outcome);
  gather_queue(ctx, *report);
  gather_backup(ctx, *report);
  scrub(*report);
  if (!outcome.errors.empty()) {
    outcome.exit_code = exit_code::attention; // the report is complete; some servers did not answer
  }

  if (args.output.empty()) {
    outcome.human = render_text(*report);
    outcome.write_result = [report](json::Writer& out) { write_report(out, *report); };
    return outcome;
  }
  std::string content;
  if (ctx.common.json) {
    json::Writer doc;
    write_report(doc, *report);
    content = doc.str() + "\n";
  } else {
    content = render_text(*report);
  }
  write_file_atomic(args.output, content, 0600);
  outcome.human = fmt::format("report written to {} ({} bytes)\n", args.output, content.size());
  const std::string file = args.output;
  const std::uint64_t bytes = content.size();
  const bool json = ctx.common.json;
  outcome.write_result = [file, bytes, json](json::Writer& out) {
    out.begin_object();
    out.field("output", file);
    out.field("format", json ? "json" : "text");
    out.field("bytes", bytes);
    out.end_object();
  };
  return outcome;
}

} // namespace ws::app
