// SPDX-License-Identifier: MIT
#include <watchstate/app/json_blocks.hpp>
#include <watchstate/app/render.hpp>
#include <watchstate/app/runner.hpp>
#include <watchstate/app/state_dir.hpp>
#include <watchstate/app/tools.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/sync/display.hpp>
#include <watchstate/sync/inspect.hpp>

#include <fmt/format.h>

#include <array>
#include <memory>

namespace ws::app {
namespace {

struct BackendArgs {
  std::string name;
  std::string query;
  std::string item_id;
  int limit = 25;
  double threshold = 50;
  std::vector<CLI::App*> parsed; // the subcommands, in the order of k_commands
};

const config::BackendConfig& find_backend(const std::vector<config::BackendConfig>& backends,
                                          const std::string& name, const std::string& identity) {
  std::vector<std::string> names;
  for (const auto& b : backends) {
    if (b.name == name) {
      return b;
    }
    names.push_back(b.name);
  }
  throw Error(Errc::usage, fmt::format("no backend '{}' for identity '{}' (configured: {})", name,
                                       identity, fmt::join(names, ", ")));
}

std::string item_line(const backend::RemoteItem& item) {
  std::string where = item.type == model::MediaType::episode
                          ? fmt::format("{} {:02}x{:02}", item.title, item.season, item.episode)
                          : fmt::format("{} ({})", item.title, item.year);
  return fmt::format("{:<10} {:<7} {:<8} {}", item.id,
                     item.type == model::MediaType::movie ? "movie" : "episode",
                     item.played ? "played" : (item.progress_ms > 0 ? "partial" : "-"), where);
}

std::string guid_list(const model::Guids& guids) {
  std::string out;
  for (const auto& g : guids) {
    out += fmt::format("{}{}://{}", out.empty() ? "" : " ", model::guid_key_name(g.key), g.value);
  }
  return out.empty() ? "-" : out;
}

// What every subcommand works on: one backend of one identity, opened for inspection.
struct BackendSession {
  const config::BackendConfig& backend;
  db::StateStore& store;
  sync::BackendInspector& inspector;
};

// A report of findings: exit 1 and status "differences" when there are any.
void set_findings(ToolOutcome& outcome, bool none) {
  outcome.exit_code = none ? 0 : 1;
  outcome.status = none ? "ok" : "differences";
}

// search and item: the hits with their local rows, as lines and as JSON.
void report_items(ToolOutcome& outcome, std::vector<sync::InspectedItem> items) {
  auto shared = std::make_shared<std::vector<sync::InspectedItem>>(std::move(items));
  for (const auto& entry : *shared) {
    if (entry.found.kind == backend::FoundItem::Kind::show) {
      const auto& show = entry.found.show;
      outcome.human += fmt::format("{:<10} {:<7} {:<8} {} ({})  ids: {}\n", show.id, "show", "",
                                   show.title, show.year, guid_list(show.guids));
      continue;
    }
    outcome.human += fmt::format(
        "{}  ids: {}  local: {}\n", item_line(entry.found.item), guid_list(entry.found.item.guids),
        entry.local
            ? fmt::format("#{} {}{}", entry.local->id, sync::display_title(*entry.local),
                          entry.local->watched ? " (watched)" : "")
            : (entry.keys.empty() ? std::string("none (no usable id)") : std::string("none")));
    if (entry.records.size() > 1) {
      for (const auto& r : entry.records) {
        outcome.human += fmt::format("    copy: {} {} {}{}\n", r.backend, r.remote_id, r.path,
                                     r.watched ? " (played)" : "");
      }
    }
  }
  outcome.write_result = [shared](json::Writer& out) { write_inspected_json(out, *shared); };
}

// ws-backend NAME [info]: server id, name and version.
ToolOutcome run_info(BackendSession& s, const BackendArgs& /*args*/) {
  ToolOutcome outcome;
  const auto& backend = s.backend;
  const auto info = s.inspector.info();
  const auto library_count = s.inspector.libraries().size();
  const auto known = s.store.server(backend.name);
  const std::string type(model::backend_type_name(backend.type));
  outcome.human =
      fmt::format("backend:   {} ({})\nurl:       {}\nserver:    {} \"{}\"\n"
                  "version:   {}\nlibraries: {}\n",
                  backend.name, type, backend.url, info.id, info.name, info.version, library_count);
  if (known && known->id != info.id) {
    outcome.human += fmt::format("warning:   the last import saw server id {}\n", known->id);
  }
  const std::string known_id = known ? known->id : std::string();
  outcome.write_result = [backend, type, info, library_count, known_id](json::Writer& out) {
    out.field("backend", backend.name).field("type", type);
    out.field("url", backend.url).field("user", backend.user);
    out.field("server_id", info.id).field("server_name", info.name);
    out.field("version", info.version);
    out.field("libraries", static_cast<std::uint64_t>(library_count));
    write_text_or_null(out, "last_import_server_id", known_id);
  };
  return outcome;
}

// ws-backend NAME users: the server's accounts, and which one the config names.
ToolOutcome run_users(BackendSession& s, const BackendArgs& /*args*/) {
  ToolOutcome outcome;
  auto users = std::make_shared<std::vector<sync::UserEntry>>(s.inspector.users());
  const std::string configured_user = s.backend.user;
  const bool plex = s.backend.type == model::BackendType::plex;
  // Without `user` a Plex backend acts as the token's owner.
  auto configured = [configured_user, plex](const sync::UserEntry& e) {
    return e.user.id == configured_user ||
           (configured_user.empty() && plex && (e.user.admin || e.kind == "owner"));
  };
  outcome.human = fmt::format("{:<34} {:<20} {:<8} {}\n", "ID", "NAME", "KIND", "");
  for (const auto& e : *users) {
    outcome.human += fmt::format("{:<34} {:<20} {:<8} {}{}{}{}\n", e.user.id, e.user.name, e.kind,
                                 e.user.admin ? "admin " : "", e.user.disabled ? "disabled " : "",
                                 e.token_available ? "token-obtainable " : "",
                                 configured(e) ? "(configured user)" : "");
  }
  outcome.write_result = [users, configured](json::Writer& out) {
    out.key("users").begin_array();
    for (const auto& e : *users) {
      out.begin_object().field("id", e.user.id).field("name", e.user.name);
      out.field("kind", e.kind).field("admin", e.user.admin).field("disabled", e.user.disabled);
      out.field("token_available", e.token_available).field("configured", configured(e));
      out.end_object();
    }
    out.end_array();
  };
  return outcome;
}

// ws-backend NAME libraries: movie and show libraries, and whether the config ignores them.
ToolOutcome run_libraries(BackendSession& s, const BackendArgs& /*args*/) {
  ToolOutcome outcome;
  auto libraries = std::make_shared<std::vector<sync::LibraryEntry>>(s.inspector.libraries());
  outcome.human = fmt::format("{:<34} {:<8} {:<8} {}\n", "ID", "TYPE", "", "TITLE");
  for (const auto& l : *libraries) {
    outcome.human += fmt::format("{:<34} {:<8} {:<8} {}\n", l.library.id,
                                 sync::library_kind_name(l.library.kind),
                                 l.ignored ? "ignored" : "", l.library.title);
  }
  outcome.write_result = [libraries](json::Writer& out) {
    out.key("libraries").begin_array();
    for (const auto& l : *libraries) {
      out.begin_object().field("id", l.library.id).field("title", l.library.title);
      out.field("type", sync::library_kind_name(l.library.kind)).field("ignored", l.ignored);
      out.end_object();
    }
    out.end_array();
  };
  return outcome;
}

// ws-backend NAME search QUERY [-l N]
ToolOutcome run_search(BackendSession& s, const BackendArgs& args) {
  ToolOutcome outcome;
  report_items(outcome, s.inspector.search(args.query, args.limit));
  return outcome;
}

// ws-backend NAME item ID: exit 1 ("not_found") when the server has no such item.
ToolOutcome run_item(BackendSession& s, const BackendArgs& args) {
  ToolOutcome outcome;
  auto items = s.inspector.item(args.item_id);
  if (items.empty()) {
    outcome.exit_code = 1;
    outcome.status = "not_found";
    outcome.human = fmt::format("{}: no item with id {}\n", s.backend.name, args.item_id);
  }
  report_items(outcome, std::move(items));
  return outcome;
}

// ws-backend NAME unmatched
ToolOutcome run_unmatched(BackendSession& s, const BackendArgs& /*args*/) {
  ToolOutcome outcome;
  auto report = std::make_shared<sync::UnmatchedReport>(s.inspector.unmatched());
  outcome.human = fmt::format("{} of {} items have no usable external id (never synced)\n",
                              report->items.size(), report->checked);
  for (const auto& item : report->items) {
    outcome.human += fmt::format("  {}  {}\n", item_line(item),
                                 item.path.empty() ? std::string("-") : item.path);
  }
  set_findings(outcome, report->items.empty());
  outcome.write_result = [report](json::Writer& out) { write_unmatched_json(out, *report); };
  return outcome;
}

// ws-backend NAME mismatched [--threshold N]
ToolOutcome run_mismatched(BackendSession& s, const BackendArgs& args) {
  ToolOutcome outcome;
  auto report = std::make_shared<sync::MismatchReport>(s.inspector.mismatched(args.threshold));
  outcome.human = fmt::format("{} of {} titles resemble none of their file names (score < {})\n",
                              report->items.size(), report->checked, args.threshold);
  for (const auto& m : report->items) {
    outcome.human += fmt::format(
        "  {:<10} {:<6} {:>3}%  '{}' vs '{}'  {}\n", m.id, sync::found_kind_name(m.kind),
        static_cast<int>(m.score.score + 0.5), m.score.title, m.score.path_name, m.path);
  }
  set_findings(outcome, report->items.empty());
  outcome.write_result = [report](json::Writer& out) { write_mismatch_json(out, *report); };
  return outcome;
}

// ws-backend NAME stale
ToolOutcome run_stale(BackendSession& s, const BackendArgs& /*args*/) {
  ToolOutcome outcome;
  auto report = std::make_shared<sync::StaleReport>(s.inspector.stale());
  outcome.human = fmt::format("{} items on {}, {} local rows point to it, {} stale\n",
                              report->remote, s.backend.name, report->local, report->stale.size());
  for (const auto& e : report->stale) {
    outcome.human +=
        fmt::format("  #{:<7} {}  (was {} {})\n", e.row.id, sync::display_title(e.row),
                    e.record.remote_id, e.record.path.empty() ? std::string("-") : e.record.path);
  }
  set_findings(outcome, report->stale.empty());
  outcome.write_result = [report](json::Writer& out) { write_stale_json(out, *report); };
  return outcome;
}

void search_options(CLI::App& cmd, BackendArgs& args) {
  cmd.add_option("QUERY", args.query, "Title to search for")->required();
  cmd.add_option("-l,--limit", args.limit, "Hits at most (default 25)")->check(CLI::Range(1, 1000));
}

void item_options(CLI::App& cmd, BackendArgs& args) {
  cmd.add_option("ID", args.item_id, "The backend's item id")->required();
}

void mismatched_options(CLI::App& cmd, BackendArgs& args) {
  cmd.add_option("--threshold", args.threshold,
                 "Report titles scoring below this percentage (default 50)")
      ->check(CLI::Range(0.0, 100.0));
}

// One subcommand of ws-backend: its name and help line, its own flags, and its run, which
// renders its report (the human lines and the members of the JSON result, which run_backend
// opens, and closes after what the backend cost).
struct BackendCommand {
  const char* name;
  const char* description;
  void (*add_options)(CLI::App&, BackendArgs&); // nullptr: none
  ToolOutcome (*run)(BackendSession&, const BackendArgs&);
};

// In the order --help lists them; the first is the default.
const std::array<BackendCommand, 8> k_commands{{
    {"info", "Server id, name and version (the default)", nullptr, run_info},
    {"users", "The server's accounts and their ids", nullptr, run_users},
    {"libraries", "Movie and show libraries, ids and whether ignored", nullptr, run_libraries},
    {"search", "Title search with the matching local rows", search_options, run_search},
    {"item", "One item in full, with its local row", item_options, run_item},
    {"unmatched", "Movies and episodes with no usable external id", nullptr, run_unmatched},
    {"mismatched", "Movies and series whose title resembles none of their file names",
     mismatched_options, run_mismatched},
    {"stale", "Local rows pointing to items the backend no longer has", nullptr, run_stale},
}};

ToolOutcome run_backend(ToolContext& ctx, const BackendArgs& args) {
  auto options = ctx.run_options();
  if (!options.select.empty() || !options.exclude.empty()) {
    throw Error(Errc::usage, "ws-backend takes the backend as NAME, not -s/-x");
  }
  const std::string identity = options.identity.value_or("main");
  const auto backends = config::backends_for_identity(ctx.config, identity);
  const auto& backend = find_backend(backends, args.name, identity);
  db::StateStore store(prepare_state_dir(ctx.config));
  sync::BackendInspector inspector(ctx.services, ctx.config, backend, store, identity, options);
  BackendSession session{backend, store, inspector};

  std::size_t chosen = 0; // info, the default
  for (std::size_t i = 0; i < k_commands.size(); ++i) {
    if (args.parsed[i]->parsed()) {
      chosen = i;
    }
  }
  ToolOutcome outcome = k_commands[chosen].run(session, args);
  outcome.print_human_always = true;
  const auto requests = inspector.requests_sent();
  const auto bytes_received = inspector.bytes_received();
  log::debug("{}: {} requests, {} bytes received", backend.name, requests, bytes_received);
  if (outcome.write_result) {
    outcome.write_result = [members = std::move(outcome.write_result), requests,
                            bytes_received](json::Writer& out) {
      out.begin_object();
      members(out);
      write_traffic(out, requests, bytes_received);
      out.end_object();
    };
  }
  return outcome;
}

} // namespace

int backend_main(int argc, char** argv) {
  auto args = std::make_shared<BackendArgs>();
  ToolDefinition tool{
      "ws-backend",
      "Look into one backend: server info, users, libraries, title search, one item, items "
      "with no usable id, mismatched titles, stale local rows",
      true,
      [args](CLI::App& cli) {
        cli.add_option("NAME", args->name, "Backend name from the config")->required();
        cli.require_subcommand(0, 1);
        for (const auto& command : k_commands) {
          auto* sub = cli.add_subcommand(command.name, command.description);
          if (command.add_options != nullptr) {
            command.add_options(*sub, *args);
          }
          args->parsed.push_back(sub);
        }
      },
      [args](ToolContext& ctx) { return run_backend(ctx, *args); }};
  return run_tool(tool, argc, argv);
}

} // namespace ws::app
