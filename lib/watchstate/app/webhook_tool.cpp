// SPDX-License-Identifier: MIT
#include <watchstate/app/runner.hpp>
#include <watchstate/app/state_dir.hpp>
#include <watchstate/app/tools.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/webhook/server.hpp>

#include <fmt/format.h>

#include <memory>

namespace ws::app {

int webhook_main(int argc, char** argv) {
  auto listen = std::make_shared<std::string>();
  auto read_timeout = std::make_shared<int>(10);
  ToolDefinition tool{
      "ws-webhook",
      "Receive Plex, Jellyfin, Emby and Tautulli webhooks, apply each event at once and push it "
      "to the other backends",
      true,
      [listen, read_timeout](CLI::App& cli) {
        cli.add_option("--listen", *listen,
                       "host:port to listen on (default: webhook.listen, 127.0.0.1:8686)");
        cli.add_option("--read-timeout", *read_timeout,
                       "Seconds a client may take to send its request (default 10)")
            ->check(CLI::Range(1, 600));
      },
      [listen, read_timeout](ToolContext& ctx) {
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
        auto stats = std::make_shared<webhook::ServerStats>(webhook::run_server(ctx.config, options));
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
