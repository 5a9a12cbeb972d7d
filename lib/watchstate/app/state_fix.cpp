// SPDX-License-Identifier: MIT
#include <watchstate/app/state_fix.hpp>

#include <watchstate/app/json_blocks.hpp>
#include <watchstate/app/render.hpp>
#include <watchstate/app/state_dir.hpp>
#include <watchstate/backend/guid.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/exit_code.hpp>
#include <watchstate/core/lock.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/text.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/sync/display.hpp>
#include <watchstate/sync/export.hpp>
#include <watchstate/sync/mark.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <pwd.h>
#include <unistd.h>

namespace ws::app {
namespace {

std::string identity_of(const ToolContext& ctx) {
  return ctx.common.identity.empty() ? "main" : ctx.common.identity;
}

std::string when(UnixTime t) { return t > 0 ? format_rfc3339(t) : std::string("never"); }

// "imdb://tt0111161" -> {imdb, "tt0111161"}.
model::Guid parse_external_id(const std::string& text) {
  const auto sep = text.find("://");
  const std::string provider = lowercase_ascii(std::string_view(text).substr(0, sep));
  const auto key = sep == std::string::npos ? std::nullopt : model::guid_key_from_name(provider);
  const std::string value = sep == std::string::npos ? "" : text.substr(sep + 3);
  if (!key || !model::is_valid_guid_value(*key, value)) {
    throw Error(Errc::usage,
                fmt::format("--id '{}' is not PROVIDER://VALUE with a provider of anidb, cmdb, "
                            "imdb, tmdb, tvdb, tvmaze, tvrage, youtube and a valid id (imdb "
                            "\"tt\" and digits, most others digits)",
                            text));
  }
  return {*key, value};
}

// Who changed the item, for the change log: "ws-state mark (alice)".
std::string mark_source() {
  std::string user;
  if (const char* env = std::getenv("USER"); env != nullptr && *env != '\0') {
    user = env;
  } else if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr) {
    user = pw->pw_name;
  } else {
    user = fmt::format("uid {}", ::geteuid());
  }
  std::erase_if(user, [](unsigned char c) { return std::iscntrl(c) != 0; });
  return fmt::format("ws-state mark ({})", user.substr(0, 64));
}

db::ItemRow item_or_fail(db::StateStore& store, const ToolContext& ctx, std::int64_t id) {
  auto row = store.item(id);
  if (!row) {
    throw Error(Errc::data, fmt::format("no item with id {} in the state database", id));
  }
  if (!ctx.common.identity.empty() && row->identity != ctx.common.identity) {
    throw Error(Errc::data, fmt::format("item {} belongs to identity '{}', not '{}'", id,
                                        row->identity, ctx.common.identity));
  }
  return std::move(*row);
}

std::string push_summary(const sync::ExportResult& exported,
                         const std::vector<sync::BackendError>& unread, bool dry_run) {
  std::string out;
  for (const auto& identity : exported.identities) {
    for (const auto& b : identity.backends) {
      const auto error = std::find_if(unread.begin(), unread.end(), [&](const auto& e) {
        return e.backend == b.backend && e.item.empty();
      });
      if (error != unread.end()) {
        out += fmt::format("  {}: not written: {}\n", b.backend, error->message);
        continue;
      }
      if (!b.ok) {
        out += fmt::format("  {}: FAILED\n", b.backend);
        continue;
      }
      if (b.changes.empty()) {
        out += fmt::format("  {}: {}\n", b.backend,
                           b.checked > 0               ? "nothing to write"
                           : b.unlisted > 0            ? "left alone (gone from the server)"
                           : b.playing + b.ignored > 0 ? "left alone (being played or ignored)"
                                                       : "does not have the item");
      }
      for (const auto& c : b.changes) {
        out += fmt::format("  {}: {} {} (id {}){}\n", b.backend,
                           dry_run ? "would" : (c.ok ? "did" : "FAILED to"),
                           sync::write_action_name(c.write.action), c.write.remote_id,
                           c.error.empty() ? "" : ": " + c.error);
      }
    }
  }
  return out;
}

} // namespace

void add_list_filter_options(CLI::App& list, ListFilterArgs& args) {
  list.add_option("--id", args.id,
                  "Only items with this external id, PROVIDER://VALUE (imdb://tt0111161, "
                  "tmdb://278, tvdb://81189: a series id lists its episodes)");
  list.add_option("--path", args.path,
                  "Only items a backend reported with a file path containing this text "
                  "(case-insensitive)");
  list.add_option("--year", args.year, "Only items of this year (an episode: its series')");
  auto* season = list.add_option("--season", args.season, "Only episodes of this season");
  list.add_option("--episode", args.episode, "Only episodes with this number (with --season)")
      ->needs(season);
  list.add_option("--type", args.type, "Only movies or only episodes")
      ->check(CLI::IsMember({"movie", "episode"}));
  list.add_option("--backend", args.backend, "Only items this backend has reported");
}

db::ItemQuery make_item_query(const ToolContext& ctx, const ListFilterArgs& args) {
  db::ItemQuery query;
  query.identity = identity_of(ctx);
  if (!args.id.empty()) {
    query.external_id = parse_external_id(args.id);
  }
  query.path_contains = args.path;
  query.year = args.year;
  query.season = args.season;
  query.episode = args.episode;
  if (!args.type.empty()) {
    query.type = args.type == "episode" ? model::MediaType::episode : model::MediaType::movie;
    if (*query.type == model::MediaType::movie && (args.season || args.episode)) {
      throw Error(Errc::usage, "--season and --episode select episodes: not with --type movie");
    }
  }
  if (!args.backend.empty()) {
    const auto& all = ctx.config.backends;
    if (std::none_of(all.begin(), all.end(),
                     [&](const auto& b) { return b.name == args.backend; })) {
      std::string names;
      for (const auto& b : all) {
        names += (names.empty() ? "" : ", ") + b.name;
      }
      throw Error(Errc::usage, fmt::format("--backend '{}' is not a configured backend; "
                                           "configured: {}",
                                           args.backend, names));
    }
    query.backend = args.backend;
  }
  return query;
}

CLI::App* add_mark_command(CLI::App& cli, MarkArgs& args) {
  auto* mark = cli.add_subcommand(
      "mark", "Set one item played or unplayed locally, as the newest change: the next export "
              "(or --push, at once) brings every backend into line");
  mark->add_option("ID", args.item_id, "Local item id (from ws-state list)")->required();
  mark->add_option("STATE", args.state, "played or unplayed")
      ->required()
      ->check(CLI::IsMember({"played", "unplayed"}));
  mark->add_option("--at", args.at,
                   "When it was played / unmarked: RFC 3339 (2024-05-01T20:15:00+02:00) or a "
                   "date (2024-05-01, midnight UTC); default now");
  mark->add_flag("--keep-position", args.keep_position,
                 "unplayed: keep the local resume position (it is cleared by default)");
  mark->add_flag("--push", args.push,
                 "Export this item at once to every export-enabled backend (after reading its "
                 "current state there)");
  return mark;
}

CLI::App* add_forget_command(CLI::App& cli, std::int64_t& item_id) {
  auto* forget = cli.add_subcommand(
      "forget", "Remove one item from the state database with its ids, backend records and "
                "change log; the next import re-creates it from what the servers report");
  forget->add_option("ID", item_id, "Local item id (from ws-state list)")->required();
  return forget;
}

ToolOutcome mark_command(ToolContext& ctx, const MarkArgs& args) {
  auto options = ctx.run_options();
  sync::validate_backend_filter(ctx.config, options);
  sync::MarkRequest request;
  request.played = args.state == "played";
  request.keep_position = args.keep_position;
  request.now = now();
  if (!args.at.empty()) {
    request.at = sync::parse_mark_date(args.at);
    if (!request.at) {
      throw Error(Errc::usage, fmt::format("--at '{}' is neither RFC 3339 "
                                           "(2024-05-01T20:15:00Z) nor a date (2024-05-01)",
                                           args.at));
    }
  }
  if (args.keep_position && request.played) {
    throw Error(Errc::usage, "--keep-position goes with unplayed (a played item has no position)");
  }

  const auto db_file = prepare_state_dir(ctx.config);
  const RunLock lock(lock_file(ctx.config));
  db::StateStore store(db_file);
  // A dry run decides everything inside one transaction that is never committed.
  std::optional<db::StateStore::Transaction> dry_run;
  if (options.dry_run) {
    dry_run.emplace(store);
  }
  const auto before = std::make_shared<db::ItemRow>(item_or_fail(store, ctx, args.item_id));
  options.identity = before->identity;

  // --push decides on each backend's current state of the item, read now: a change made on a
  // server since the last import (an unmark there) must not undo this one.
  auto refreshed = std::make_shared<sync::ImportResult>();
  if (args.push) {
    *refreshed = sync::refresh_item_records(ctx.services, ctx.config, store, options, *before);
  }
  const auto plan = sync::plan_mark(*before, store.records(before->id), request);
  const std::string source = mark_source();
  auto entries = std::make_shared<std::vector<db::ChangeEntry>>(
      sync::apply_mark(store, *before, plan, source, request.now));
  auto after = std::make_shared<db::ItemRow>(plan.row);

  std::shared_ptr<sync::ExportResult> exported;
  if (args.push) {
    auto push_options = options;
    push_options.only_items = {before->id};
    exported = std::make_shared<sync::ExportResult>(
        sync::run_export(ctx.services, ctx.config, store, push_options, refreshed.get()));
  }

  ToolOutcome outcome;
  outcome.print_human_always = true;
  const std::string title = sync::display_title(*after);
  const char* state = after->watched ? "played" : "unplayed";
  if (plan.changed) {
    outcome.human = fmt::format("#{} {}: {}{} {} (was {} {})\n", after->id, title,
                                options.dry_run ? "would be " : "", state, when(after->updated),
                                before->watched ? "played" : "unplayed", when(before->updated));
  } else {
    outcome.human = fmt::format("#{} {}: already {} ({}); nothing changed locally\n", after->id,
                                title, state, when(after->updated));
  }
  if (exported) {
    outcome.errors = refreshed->errors;
    outcome.errors.insert(outcome.errors.end(), exported->errors.begin(), exported->errors.end());
    outcome.exit_code = sync::exit_code_for_backends(outcome.errors, exported->backends_attempted);
    if (outcome.exit_code == exit_code::ok) {
      outcome.exit_code = exported->exit_code();
    }
    outcome.human += push_summary(*exported, refreshed->errors, options.dry_run);
  } else {
    outcome.human += "the next ws-export or ws-sync brings the backends into line (--push: now)\n";
  }
  const bool changed = plan.changed;
  outcome.write_result = [before, after, entries, exported, changed, source](json::Writer& out) {
    out.begin_object().key("item");
    write_item_row(out, *after);
    out.key("before").begin_object();
    out.field("watched", before->watched);
    out.key("updated");
    before->updated > 0 ? out.value(format_rfc3339(before->updated)) : out.null();
    out.field("progress_ms", before->progress_ms);
    out.end_object();
    out.field("changed", changed);
    out.field("by", source);
    out.key("changes").begin_array();
    for (const auto& e : *entries) {
      write_change_entry(out, e);
    }
    out.end_array();
    out.key("export");
    if (exported) {
      write_export_result(out, *exported);
    } else {
      out.null();
    }
    out.end_object();
  };
  return outcome;
}

ToolOutcome forget_command(ToolContext& ctx, std::int64_t item_id) {
  const auto db_file = prepare_state_dir(ctx.config);
  const RunLock lock(lock_file(ctx.config));
  db::StateStore store(db_file);
  item_or_fail(store, ctx, item_id);
  std::shared_ptr<db::ForgottenItem> gone;
  {
    db::StateStore::Transaction tx(store);
    auto removed = store.forget_item(item_id);
    if (!removed) {
      throw Error(Errc::data, fmt::format("no item with id {} in the state database", item_id));
    }
    gone = std::make_shared<db::ForgottenItem>(std::move(*removed));
    if (!ctx.common.dry_run) {
      tx.commit(); // a dry run rolls back: it only shows what would go
    }
  }
  const bool dry_run = ctx.common.dry_run;
  ToolOutcome outcome;
  outcome.print_human_always = true;
  std::string& h = outcome.human;
  h = fmt::format("{} #{} {} [{}]: {} ids, {} backend records, {} change log entries{}\n",
                  dry_run ? "would forget" : "forgot", gone->row.id, sync::display_title(gone->row),
                  db::media_type_name(gone->row.type), gone->keys.size(), gone->records.size(),
                  gone->changes,
                  gone->conflicts > 0 ? fmt::format(", {} conflicts", gone->conflicts) : "");
  for (const auto& k : gone->keys) {
    h += fmt::format("  id      {}\n", k);
  }
  for (const auto& r : gone->records) {
    h += fmt::format("  record  {} {}{}\n", r.backend, r.remote_id,
                     r.path.empty() ? "" : "  " + r.path);
  }
  if (!dry_run) {
    h += "the next ws-import or ws-sync re-creates it from what the servers report\n";
  }
  outcome.write_result = [gone, dry_run](json::Writer& out) {
    out.begin_object().key("item");
    write_item_row(out, gone->row);
    write_strings(out, "keys", gone->keys);
    out.key("records").begin_array();
    for (const auto& r : gone->records) {
      out.begin_object();
      write_copy_fields(out, r);
      out.end_object();
    }
    out.end_array();
    out.field("changes", gone->changes);
    out.field("conflicts", gone->conflicts);
    out.field("removed", !dry_run);
    out.end_object();
  };
  return outcome;
}

} // namespace ws::app
