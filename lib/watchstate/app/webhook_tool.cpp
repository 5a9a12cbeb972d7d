// SPDX-License-Identifier: MIT
#include <watchstate/app/json_blocks.hpp>
#include <watchstate/app/run_record.hpp>
#include <watchstate/app/runner.hpp>
#include <watchstate/app/state_dir.hpp>
#include <watchstate/app/tools.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/db/event_queue.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/webhook/apply.hpp>
#include <watchstate/webhook/server.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>

namespace ws::app {
namespace {

struct QueueArgs {
  CLI::App* queue = nullptr;
  CLI::Option* listen = nullptr; // the server's options, refused with `queue`
  CLI::Option* read_timeout = nullptr;
  std::string action; // list (default), retry, purge
  std::vector<std::int64_t> ids;
  bool failed = false;
  bool pending = false;
  bool all_failed = false;
  std::string older_than;
};

// A queued event with what the config says about it.
struct ShownEvent {
  db::QueueEntry entry;
  std::vector<std::string> backends; // the configured backends it is for (empty: unknown)
  std::vector<std::string> identities;
};

struct QueueView {
  std::vector<ShownEvent> events;
  std::int64_t pending = 0; // the whole queue, whatever was selected
  std::int64_t failed = 0;
};

void add_unique(std::vector<std::string>& list, const std::string& value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) {
    list.push_back(value);
  }
}

// Which backends each event is for, as the worker would decide it (server id and user), from
// the config and the server ids of past imports. No server is asked; without state.db only
// configured uuids are known.
std::vector<ShownEvent> describe(const sync::Services& services, const config::Config& config,
                                 std::vector<db::QueueEntry> entries) {
  std::vector<ShownEvent> out;
  out.reserve(entries.size());
  std::unique_ptr<db::StateStore> store;
  std::unique_ptr<webhook::EventApplier> applier;
  const auto state_db = config.state_dir / "state.db";
  if (!entries.empty() && std::filesystem::exists(state_db)) {
    try {
      store = std::make_unique<db::StateStore>(state_db);
      applier = std::make_unique<webhook::EventApplier>(services, config, *store);
      applier->learn_server_ids(false);
    } catch (const Error& e) {
      log::info("webhook queue: backend names unknown: {}", redact(e.what()));
      applier.reset();
    }
  }
  for (auto& entry : entries) {
    ShownEvent shown;
    if (applier) {
      for (const auto& target : applier->targets(entry.queued.event)) {
        add_unique(shown.backends, target.backend.name);
        add_unique(shown.identities, target.identity);
      }
    } else {
      for (const auto& backend : config.backends) {
        if (!backend.uuid.empty() && backend.uuid == entry.queued.event.server_id) {
          add_unique(shown.backends, backend.name);
        }
      }
    }
    shown.entry = std::move(entry);
    out.push_back(std::move(shown));
  }
  return out;
}

std::string state_name(const db::QueueEntry& e) { return e.failed ? "failed" : "pending"; }

// When the worker tries a pending event next: "now" once due.
std::string next_try(const db::QueueEntry& e, UnixTime at) {
  if (e.failed) {
    return "-";
  }
  return e.not_before > at ? format_rfc3339(e.not_before) : std::string("now");
}

std::string item_text(const model::WebhookEvent& event) {
  std::string text = event.item_type.empty() ? "item" : event.item_type;
  text += " " + event.item_id;
  if (!event.title.empty()) {
    text += fmt::format(" '{}'", event.title);
  }
  return text;
}

std::string source_text(const ShownEvent& shown) {
  std::string text(model::source_name(shown.entry.queued.event.source));
  if (!shown.backends.empty()) {
    text += fmt::format(" ({})", fmt::join(shown.backends, ","));
  }
  return text;
}

// One line per event (and its last error below it, indented).
std::string human_lines(const std::vector<ShownEvent>& events, UnixTime at) {
  std::string out =
      fmt::format("{:>6}  {:<20}  {:<7}  {:>5}  {:<20}  {:<20}  {:<18}  {}\n", "ID", "RECEIVED",
                  "STATE", "TRIES", "NEXT TRY", "SOURCE", "EVENT", "ITEM");
  for (const auto& shown : events) {
    const auto& e = shown.entry;
    out += fmt::format("{:>6}  {:<20}  {:<7}  {:>5}  {:<20}  {:<20}  {:<18}  {}\n", e.queued.id,
                       format_rfc3339(e.queued.received_at), state_name(e), e.queued.attempts,
                       next_try(e, at), source_text(shown), e.queued.event.event,
                       item_text(e.queued.event));
    if (!e.last_error.empty()) {
      out += fmt::format("{:>6}  last error: {}\n", "", redact(e.last_error));
    }
  }
  return out;
}

void write_event(json::Writer& out, const ShownEvent& shown) {
  const auto& e = shown.entry;
  const auto& event = e.queued.event;
  out.begin_object();
  out.field("id", e.queued.id);
  out.field("received_at", format_rfc3339(e.queued.received_at));
  out.field("source", std::string(model::source_name(event.source)));
  write_strings(out, "backends", shown.backends);
  write_strings(out, "identities", shown.identities);
  out.field("event", event.event);
  out.field("server_id", event.server_id);
  out.field("user_id", event.user_id);
  out.field("library_event", event.library_event);
  out.key("item").begin_object();
  out.field("id", event.item_id);
  out.field("type", event.item_type);
  out.field("title", event.title);
  out.end_object();
  out.field("state", state_name(e));
  out.field("attempts", e.queued.attempts);
  write_text_or_null(out, "last_error",
                     e.last_error.empty() ? std::string() : redact(e.last_error));
  out.key("next_try_at");
  if (e.failed) {
    out.null();
  } else {
    out.value(format_rfc3339(e.not_before > 0 ? e.not_before : e.queued.received_at));
  }
  out.end_object();
}

// Refuse what does not belong to `args.action` (exit 64), naming the flag.
void check_queue_flags(const ToolContext& ctx, const QueueArgs& args) {
  if (!ctx.common.select.empty() || !ctx.common.exclude.empty()) {
    throw Error(Errc::usage, "ws-webhook queue takes no -s or -x");
  }
  if (args.listen->count() > 0 || args.read_timeout->count() > 0) {
    throw Error(Errc::usage, "--listen and --read-timeout are for the server, not for queue");
  }
  const auto refuse = [&](bool given, const char* flag, const char* hint) {
    if (given) {
      throw Error(Errc::usage, fmt::format("queue {} takes no {}{}", args.action, flag, hint));
    }
  };
  const bool older = !args.older_than.empty();
  if (args.action == "list") {
    refuse(!args.ids.empty(), "event ids", "");
    refuse(args.all_failed, "--all-failed", " (use --failed)");
    refuse(older, "--older-than", "");
    if (args.failed && args.pending) {
      throw Error(Errc::usage, "queue list: --failed and --pending exclude each other (give "
                               "neither to see both)");
    }
  } else if (args.action == "retry") {
    refuse(args.failed, "--failed", " (use --all-failed)");
    refuse(args.pending, "--pending", "");
    refuse(older, "--older-than", "");
  } else {
    refuse(args.pending, "--pending", " (name pending events by id, or use --older-than)");
    refuse(args.all_failed, "--all-failed", " (use --failed)");
  }
}

ToolOutcome run_queue(ToolContext& ctx, QueueArgs& args) {
  if (args.action.empty()) {
    args.action = "list";
  }
  check_queue_flags(ctx, args);
  std::optional<UnixTime> received_before;
  if (!args.older_than.empty()) {
    const auto age = parse_duration(args.older_than);
    if (!age) {
      throw Error(Errc::usage, fmt::format("--older-than '{}': expected a number and a unit s, m, "
                                           "h, d or w (90m, 12h, 7d, 1d12h)",
                                           args.older_than));
    }
    received_before = now() - *age;
  }

  const auto file = ctx.config.state_dir / "webhook-queue.db";
  const bool exists = std::filesystem::exists(file);
  // Never created here: a queue file that is not there is an empty queue.
  std::unique_ptr<db::EventQueue> queue;
  if (exists) {
    queue = std::make_unique<db::EventQueue>(file);
  }
  std::vector<db::QueueEntry> selected;
  const bool dry_run = ctx.common.dry_run;
  if (args.action == "list") {
    if (queue) {
      for (auto& entry : queue->entries()) {
        if ((!args.failed || entry.failed) && (!args.pending || !entry.failed)) {
          selected.push_back(std::move(entry));
        }
      }
    }
  } else if (args.action == "retry") {
    const db::RetrySelection selection{args.ids, args.all_failed};
    db::EventQueue::validate(selection);
    if (queue) {
      selected = queue->retry(selection, dry_run);
    }
  } else {
    const db::PurgeSelection selection{args.ids, args.failed, received_before};
    db::EventQueue::validate(selection);
    if (queue) {
      selected = queue->purge(selection, dry_run);
    }
  }
  if (!queue && !args.ids.empty()) {
    throw Error(Errc::usage, fmt::format("no event #{} in the webhook queue: {} does not exist",
                                         args.ids.front(), file.string()));
  }

  auto view = std::make_shared<QueueView>();
  view->events = describe(ctx.services, ctx.config, std::move(selected));
  if (queue) {
    view->pending = queue->pending();
    view->failed = queue->failed();
  }

  ToolOutcome outcome;
  // A listing is what was asked for; what retry and purge did is not news under cron (-q).
  outcome.print_human_always = args.action == "list" || !ctx.common.quiet;
  const UnixTime at = now();
  const auto count = view->events.size();
  const std::string totals = fmt::format("{} pending, {} failed", view->pending, view->failed);
  if (args.action == "list") {
    if (!exists) {
      outcome.human = fmt::format("no events: {} does not exist yet\n", file.string());
    } else {
      outcome.human = human_lines(view->events, at) + totals + " in the queue\n";
    }
  } else {
    const bool retry = args.action == "retry";
    if (count > 0) {
      outcome.human = human_lines(view->events, at);
    }
    const char* done = retry ? "back to pending" : "deleted";
    outcome.human +=
        fmt::format("{} {} {}{}; now {}\n", count, count == 1 ? "event" : "events",
                    dry_run ? (retry ? "would go back to pending" : "would be deleted") : done,
                    dry_run ? " (dry run: nothing changed)" : "", totals);
    if (retry && count > 0 && !dry_run) {
      outcome.human += "A running ws-webhook applies them within seconds; else its next start.\n";
    }
  }
  const std::string counter = args.action == "list"    ? ""
                              : args.action == "retry" ? "retried"
                                                       : "purged";
  outcome.write_result = [view, counter](json::Writer& out) {
    out.begin_object();
    out.key("events").begin_array();
    for (const auto& shown : view->events) {
      write_event(out, shown);
    }
    out.end_array();
    if (!counter.empty()) {
      out.field(counter.c_str(), static_cast<std::uint64_t>(view->events.size()));
    }
    out.field("pending", view->pending);
    out.field("failed", view->failed);
    out.end_object();
  };
  return outcome;
}

} // namespace

int webhook_main(int argc, char** argv) {
  auto listen = std::make_shared<std::string>();
  auto read_timeout = std::make_shared<int>(10);
  auto args = std::make_shared<QueueArgs>();
  ToolDefinition tool{
      "ws-webhook",
      "Receive Plex, Jellyfin, Emby and Tautulli webhooks, apply each event at once and push it "
      "to the other backends; queue: list, retry and purge the stored events",
      true,
      [listen, read_timeout, args](CLI::App& cli) {
        args->listen = cli.add_option("--listen", *listen,
                                      "host:port to listen on (default: webhook.listen, "
                                      "127.0.0.1:8686)");
        args->read_timeout =
            cli.add_option("--read-timeout", *read_timeout,
                           "Seconds a client may take to send its request (default 10)")
                ->check(CLI::Range(1, 600));
        auto* queue = cli.add_subcommand(
            "queue", "The stored events: list (default) pending and failed ones with their last "
                     "error, retry them, purge them; works while the server runs");
        args->queue = queue;
        queue->add_option("ACTION", args->action, "list (the default), retry or purge")
            ->check(CLI::IsMember({"list", "retry", "purge"}));
        queue->add_option("ID", args->ids, "Event ids (retry, purge)");
        queue->add_flag("--failed", args->failed,
                        "list: only failed events; purge: every failed event");
        queue->add_flag("--pending", args->pending, "list: only pending events");
        queue->add_flag("--all-failed", args->all_failed,
                        "retry: every failed event, back to pending");
        queue
            ->add_option("--older-than", args->older_than,
                         "purge: events received longer ago than DURATION (90m, 12h, 7d), "
                         "pending ones too; with --failed only failed ones")
            ->type_name("DURATION");
      },
      [listen, read_timeout, args](ToolContext& ctx) {
        if (args->queue->parsed()) {
          return run_queue(ctx, *args);
        }
        if (!ctx.common.select.empty() || !ctx.common.exclude.empty() || ctx.common.dry_run) {
          throw Error(Errc::usage, "ws-webhook takes no -s, -x or --dry-run: an event is for "
                                   "the backends it names");
        }
        webhook::ServerOptions options;
        options.listen = *listen;
        options.read_timeout_seconds = *read_timeout;
        options.state_db = prepare_state_dir(ctx.config);
        options.queue_db = ctx.config.state_dir / "webhook-queue.db";
        options.lock_file = lock_file(ctx.config);
        options.metrics = [&ctx, db = options.state_db] {
          db::RunHistory history(db);
          return render_metrics(ctx.config, history);
        };
        auto stats = std::make_shared<webhook::ServerStats>(
            webhook::run_server(ctx.services, ctx.config, options));
        ToolOutcome outcome;
        outcome.human = fmt::format(
            "{}: {} requests, {} queued, {} ignored, {} refused; {} applied, {} failed, {} "
            "pushes; {} still queued\n",
            stats->listen, stats->received, stats->queued, stats->ignored, stats->refused,
            stats->applied, stats->failed, stats->writes, stats->pending);
        outcome.write_result = [stats](json::Writer& out) {
          out.begin_object();
          out.field("listen", stats->listen);
          out.field("received", stats->received);
          out.field("queued", stats->queued);
          out.field("ignored", stats->ignored);
          out.field("refused", stats->refused);
          out.field("applied", stats->applied);
          out.field("failed", stats->failed);
          out.field("retried", stats->retried);
          out.field("writes", stats->writes);
          out.field("pending", stats->pending);
          out.field("uptime_ms", stats->duration_ms);
          out.end_object();
        };
        return outcome;
      }};
  return run_tool(tool, argc, argv);
}

} // namespace ws::app
