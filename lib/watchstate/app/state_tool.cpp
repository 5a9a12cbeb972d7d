// SPDX-License-Identifier: MIT
#include <watchstate/app/diagnostics.hpp>
#include <watchstate/app/json_blocks.hpp>
#include <watchstate/app/runner.hpp>
#include <watchstate/app/state_dir.hpp>
#include <watchstate/app/state_fix.hpp>
#include <watchstate/app/state_maintain.hpp>
#include <watchstate/app/status_report.hpp>
#include <watchstate/app/tools.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/exit_code.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/sync/display.hpp>
#include <watchstate/sync/identities.hpp>
#include <watchstate/sync/open_backend.hpp>
#include <watchstate/sync/user_token.hpp>

#include <fmt/format.h>

#include <memory>

namespace ws::app {
namespace {

struct StateArgs {
  std::string title;
  bool played = false;
  bool unplayed = false;
  std::size_t limit = 0;
  std::int64_t item_id = 0;
  bool suggest = false;
  std::string mapping;
  ListFilterArgs filters; // list: --id, --path, --year, --season, --episode, --type, --backend
  MarkArgs mark;
  std::int64_t forget_id = 0;
  MaintainArgs maintain; // ws-state maintain
};

std::string when(UnixTime t) { return t > 0 ? format_rfc3339(t) : std::string("-"); }

std::string position(std::int64_t ms) {
  if (ms <= 0) {
    return "-";
  }
  const std::int64_t s = ms / 1000;
  return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
}

ToolOutcome list_items(const ToolContext& ctx, db::StateStore& store, const StateArgs& args) {
  db::ItemQuery query = make_item_query(ctx, args.filters);
  query.title_contains = args.title;
  if (args.played) {
    query.watched = true;
  } else if (args.unplayed) {
    query.watched = false;
  }
  query.limit = args.limit;
  auto rows = std::make_shared<std::vector<db::ItemRow>>();
  store.query_items(query, [&](const db::ItemRow& row) { rows->push_back(row); });

  ToolOutcome outcome;
  outcome.print_human_always = true;
  // With --json the table is never printed: no second copy of every row as text.
  const std::vector<db::ItemRow> none;
  outcome.human = ctx.common.json
                      ? std::string()
                      : fmt::format("{:>7}  {:<7}  {:<8}  {:<20}  {:>8}  {:<12}  {}\n", "ID",
                                    "TYPE", "STATE", "UPDATED", "RESUME", "VIA", "TITLE");
  for (const auto& row : ctx.common.json ? none : *rows) {
    outcome.human += fmt::format("{:>7}  {:<7}  {:<8}  {:<20}  {:>8}  {:<12}  {}\n", row.id,
                                 db::media_type_name(row.type), row.watched ? "played" : "unplayed",
                                 when(row.updated), position(row.progress_ms), row.via,
                                 sync::display_title(row));
  }
  outcome.write_result = [rows](json::Writer& out) {
    out.begin_object().field("count", static_cast<std::uint64_t>(rows->size()));
    out.key("items").begin_array();
    for (const auto& row : *rows) {
      write_item_row(out, row);
    }
    out.end_array().end_object();
  };
  return outcome;
}

ToolOutcome show_item(db::StateStore& store, std::int64_t id) {
  const auto row = store.item(id);
  if (!row) {
    throw Error(Errc::data, fmt::format("no item with id {} in the state database", id));
  }
  auto records = std::make_shared<std::vector<db::BackendRecord>>(store.records(id));
  auto keys = std::make_shared<std::vector<std::string>>(store.keys_of(id));
  auto changes = std::make_shared<std::vector<db::ChangeEntry>>(store.changes(id));
  auto item = std::make_shared<db::ItemRow>(*row);

  ToolOutcome outcome;
  outcome.print_human_always = true;
  std::string& h = outcome.human;
  h += fmt::format("#{} {} [{}]\n", item->id, sync::display_title(*item),
                   db::media_type_name(item->type));
  h += fmt::format("  state:    {} since {} (via {})\n", item->watched ? "played" : "unplayed",
                   when(item->updated), item->via);
  h += fmt::format("  resume:   {}\n", position(item->progress_ms));
  h += "  ids:     ";
  for (const auto& k : *keys) {
    h += " " + k;
  }
  h += "\n  backends:\n";
  for (const auto& r : *records) {
    h += fmt::format("    {:<14} id {:<10} {:<8} played {:<20} added {:<20} resume {:>8} "
                     "library {}{}\n",
                     r.backend, r.remote_id, r.watched ? "played" : "unplayed", when(r.played_at),
                     when(r.added_at), position(r.progress_ms), r.library_id,
                     r.path.empty() ? "" : "  " + r.path);
  }
  h += "  changes:\n";
  for (const auto& c : *changes) {
    h += fmt::format("    {}  {:<6} {:<14} {:<8} {} -> {}{}\n", format_rfc3339(c.at), c.direction,
                     c.backend, c.field, c.old_value.empty() ? "-" : c.old_value, c.new_value,
                     c.outcome == "ok" ? "" : "  (" + c.outcome + ")");
  }

  outcome.write_result = [item, records, keys, changes](json::Writer& out) {
    out.begin_object().key("item");
    write_item_row(out, *item);
    write_strings(out, "keys", *keys);
    // "backends": one entry per backend (its first copy); "records": every copy (an item can be
    // on a backend twice: two libraries, two files).
    const auto write_record = [&out](const db::BackendRecord& r) {
      out.field("id", r.remote_id).field("watched", r.watched);
      write_time_or_null(out, "played_at", r.played_at);
      write_time_or_null(out, "added_at", r.added_at);
      out.field("progress_ms", r.progress_ms).field("library_id", r.library_id);
      out.field("show_id", r.show_id).field("path", r.path).field("multi", r.multi);
      out.key("guids");
      write_guids(out, r.guids);
    };
    out.key("backends").begin_object();
    for (std::size_t i = 0; i < records->size(); ++i) {
      const auto& r = (*records)[i];
      if (i > 0 && (*records)[i - 1].backend == r.backend) {
        continue;
      }
      out.key(r.backend).begin_object();
      write_record(r);
      out.end_object();
    }
    out.end_object();
    out.key("records").begin_array();
    for (const auto& r : *records) {
      out.begin_object();
      out.field("backend", r.backend);
      write_record(r);
      out.end_object();
    }
    out.end_array();
    out.key("changes").begin_array();
    for (const auto& c : *changes) {
      write_change_entry(out, c);
    }
    out.end_array();
    out.end_object();
  };
  return outcome;
}

// The users of every configured backend (Plex: plex.tv's home users and friends, else the
// server's accounts), grouped into suggested identities.
ToolOutcome suggest_identities(const ToolContext& ctx, const StateArgs& args) {
  config::UserMapping mapping;
  if (!args.mapping.empty()) {
    mapping = config::load_user_mapping(args.mapping);
  }
  ToolOutcome outcome;
  std::vector<sync::BackendUsers> lists;
  const auto options = ctx.run_options();
  for (const auto& backend : ctx.config.backends) {
    sync::BackendUsers list;
    list.backend = backend.name;
    try {
      if (backend.type == model::BackendType::plex) {
        try {
          for (const auto& user :
               sync::plex_tv_users(ctx.services, ctx.config, backend,
                                   sync::client_options(ctx.config, backend, options))) {
            list.users.push_back(backend::RemoteUser{user.id, user.name, user.admin, false});
          }
        } catch (const Error& e) {
          // The server's own accounts carry the same plex.tv ids (the owner is "1" there).
          log::warning("{}; using the accounts the server lists", e.what());
          list.users = sync::open_backend(ctx.services, ctx.config, backend, options)->users();
        }
        if (backend.user != "1") {
          list.main_user = backend.user; // "1" is the owner's local id, plex.tv has another
        }
      } else {
        list.users = sync::open_backend(ctx.services, ctx.config, backend, options)->users();
        list.main_user = backend.user;
      }
    } catch (const Error& e) {
      outcome.errors.push_back({"main", backend.name, e.code(), e.what(), ""});
      log::error("{}", e.what());
      continue;
    }
    lists.push_back(std::move(list));
  }
  std::vector<std::string> warnings;
  auto identities = std::make_shared<std::vector<sync::SuggestedIdentity>>(
      sync::suggest_identities(lists, mapping, warnings));
  for (const auto& w : warnings) {
    log::warning("{}", w);
  }
  if (!outcome.errors.empty()) {
    outcome.exit_code = lists.empty() ? exit_code_for(outcome.errors.front().kind) : 1;
  }
  outcome.print_human_always = true;
  outcome.human = "# Paste into the config file (watchstate.yaml(5)); review the names first.\n" +
                  sync::identities_yaml(*identities);
  auto kept_warnings = std::make_shared<std::vector<std::string>>(std::move(warnings));
  outcome.write_result = [identities, kept_warnings](json::Writer& out) {
    out.begin_object().key("identities").begin_object();
    for (const auto& identity : *identities) {
      out.key(identity.name).begin_object();
      for (const auto& m : identity.members) {
        out.key(m.backend).begin_object();
        out.field("user", m.user_id);
        out.field("name", m.user_name);
        out.end_object();
      }
      out.end_object();
    }
    out.end_object();
    out.key("warnings").begin_array();
    for (const auto& w : *kept_warnings) {
      out.value(w);
    }
    out.end_array().end_object();
  };
  return outcome;
}

// ws-state ignored: each ignore rule of the config, why, and what it touched at each backend's
// last complete listing.
ToolOutcome show_ignored(const ToolContext& ctx, db::StateStore& store) {
  const std::string identity = ctx.common.identity.empty() ? "main" : ctx.common.identity;
  struct Entry {
    const config::IgnoreRule* rule;
    std::vector<db::IgnoredItem> items;
  };
  auto entries = std::make_shared<std::vector<Entry>>();
  const auto touched = store.ignored_items(identity, "");
  for (const auto& rule : ctx.config.matching.ignore) {
    Entry e{&rule, {}};
    for (const auto& item : touched) {
      if (item.rule == rule.text) {
        e.items.push_back(item);
      }
    }
    entries->push_back(std::move(e));
  }
  ToolOutcome outcome;
  outcome.print_human_always = true;
  if (entries->empty()) {
    outcome.human = "no ignore rules (config matching.ignore)\n";
  }
  for (const auto& e : *entries) {
    outcome.human +=
        fmt::format("{}:{}: {}{}\n", ctx.config.file.filename().string(), e.rule->line,
                    e.rule->text, e.rule->reason.empty() ? "" : " - " + e.rule->reason);
    if (e.items.empty()) {
      outcome.human += "    nothing at the last import\n";
    }
    for (const auto& item : e.items) {
      outcome.human += fmt::format("    {} {} {} ({})\n", item.backend, item.remote_id, item.title,
                                   item.kind == "item" ? "kept out" : "id dropped");
    }
  }
  outcome.write_result = [entries](json::Writer& out) {
    out.begin_object().key("rules").begin_array();
    for (const auto& e : *entries) {
      out.begin_object();
      out.field("rule", e.rule->text);
      out.field("line", e.rule->line);
      out.field("reason", e.rule->reason);
      out.key("items").begin_array();
      for (const auto& item : e.items) {
        out.begin_object();
        out.field("backend", item.backend);
        out.field("id", item.remote_id);
        out.field("title", item.title);
        out.field("ignored", item.kind == "item" ? "item" : "id");
        out.end_object();
      }
      out.end_array();
      out.end_object();
    }
    out.end_array().end_object();
  };
  return outcome;
}

} // namespace

// Whether none of these subcommands was given (`ws-state` alone).
bool no_subcommand(const CLI::App* list, const CLI::App* show, const CLI::App* ignored,
                   const CLI::App* mark, const CLI::App* forget, bool suggest) {
  return !(list->parsed() || show->parsed() || ignored->parsed() || mark->parsed() ||
           forget->parsed() || suggest);
}

// A query changes nothing: it is not kept in the run history.
ToolOutcome read_only(ToolOutcome outcome) {
  outcome.record_run = false;
  return outcome;
}

// ws-state status (also ws-state alone) and ws-state runs.
struct HealthArgs {
  CLI::App* status = nullptr;
  CLI::App* runs = nullptr;
  std::string max_age;
  std::size_t limit = 20;
  std::string tool;
  ReportArgs report; // ws-state report
};

void add_health_commands(CLI::App& cli, HealthArgs& health) {
  health.status = cli.add_subcommand(
      "status", "Per identity and backend: last successful import and export, last error, "
                "counts; webhook queue, newest backup, database size (the default)");
  health.status->add_option("--max-age", health.max_age,
                            "Exit 1 when a backend's last success is older than this (90m, "
                            "36h, 3d): a health check");
  health.runs = cli.add_subcommand("runs", "The history of runs, newest first");
  health.runs->add_option("-n,--last", health.limit, "At most this many runs (default 20)")
      ->check(CLI::Range(1, 100000));
  health.runs->add_option("--tool", health.tool, "Only runs of this tool (ws-sync, ...)");
  add_report_command(cli, health.report);
}

int state_main(int argc, char** argv) {
  auto args = std::make_shared<StateArgs>();
  auto list_cmd = std::make_shared<CLI::App*>(nullptr);
  auto show_cmd = std::make_shared<CLI::App*>(nullptr);
  auto ignored_cmd = std::make_shared<CLI::App*>(nullptr);
  auto mark_cmd = std::make_shared<CLI::App*>(nullptr);
  auto forget_cmd = std::make_shared<CLI::App*>(nullptr);
  auto health = std::make_shared<HealthArgs>();
  ToolDefinition tool{
      "ws-state",
      "Query the local state: list and search items, show one item with every backend's view "
      "and its change log; fix one item (mark played/unplayed, forget); suggest identities "
      "from the backends' users",
      true,
      [args, list_cmd, show_cmd, ignored_cmd, mark_cmd, forget_cmd, health](CLI::App& cli) {
        cli.require_subcommand(0, 1); // none: status
        add_health_commands(cli, *health);
        auto* list = cli.add_subcommand("list", "List items (table, or --json)");
        list->add_option("--title", args->title, "Only titles containing this text");
        auto* played = list->add_flag("--played", args->played, "Only played items");
        list->add_flag("--unplayed", args->unplayed, "Only unplayed items")->excludes(played);
        list->add_option("--limit", args->limit, "At most this many items");
        add_list_filter_options(*list, args->filters);
        auto* show = cli.add_subcommand("show", "Show one item: each backend's view, change log");
        show->add_option("ID", args->item_id, "Local item id (from ws-state list)")->required();
        auto* identities = cli.add_subcommand(
            "identities", "Propose an identities block from the users of every backend");
        identities
            ->add_flag("--suggest", args->suggest,
                       "Group the backends' users by name and print an identities: block (YAML, "
                       "or --json) to paste; the config is never changed")
            ->required();
        identities->add_option(
            "--mapping", args->mapping,
            "WatchState mapper.yaml-style file pairing users whose names differ");
        auto* ignored = cli.add_subcommand(
            "ignored", "Show the ignore rules (config matching.ignore), why, and the items each "
                       "one kept out or stripped of an id at the last import");
        *list_cmd = list;
        *show_cmd = show;
        *ignored_cmd = ignored;
        *mark_cmd = add_mark_command(cli, args->mark);
        *forget_cmd = add_forget_command(cli, args->forget_id);
        add_maintain_command(cli, args->maintain);
      },
      [args, list_cmd, show_cmd, ignored_cmd, mark_cmd, forget_cmd, health](ToolContext& ctx) {
        if (args->maintain.command->parsed()) {
          return maintain_command(ctx, args->maintain); // takes the lock
        }
        if (health->runs->parsed()) {
          return runs_report(ctx, health->limit, health->tool);
        }
        if (health->report.command->parsed()) {
          return report_command(ctx, health->report); // not a run (record_run false)
        }
        // `ws-state` alone is `ws-state status`.
        const bool status =
            health->status->parsed() || no_subcommand(*list_cmd, *show_cmd, *ignored_cmd, *mark_cmd,
                                                      *forget_cmd, args->suggest);
        if (status) {
          return status_report(ctx,
                               health->max_age.empty()
                                   ? std::nullopt
                                   : std::optional<std::int64_t>(max_age_seconds(health->max_age)));
        }
        if (args->suggest) {
          return read_only(suggest_identities(ctx, *args));
        }
        if ((*mark_cmd)->parsed()) {
          return mark_command(ctx, args->mark); // takes the lock
        }
        if ((*forget_cmd)->parsed()) {
          return forget_command(ctx, args->forget_id); // takes the lock
        }
        db::StateStore store(prepare_state_dir(ctx.config));
        if ((*show_cmd)->parsed()) {
          return read_only(show_item(store, args->item_id));
        }
        if ((*ignored_cmd)->parsed()) {
          return read_only(show_ignored(ctx, store));
        }
        return read_only(list_items(ctx, store, *args));
      }};
  return run_tool(tool, argc, argv);
}

} // namespace ws::app
