// SPDX-License-Identifier: MIT
#include <watchstate/app/render.hpp>
#include <watchstate/app/runner.hpp>
#include <watchstate/app/state_dir.hpp>
#include <watchstate/app/tools.hpp>
#include <watchstate/core/lock.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/sync/playlists.hpp>

#include <fmt/format.h>

#include <memory>

namespace ws::app {
namespace {

std::string playlist_summary(const sync::PlaylistResult& result) {
  std::string out;
  for (const auto& identity : result.identities) {
    for (const auto& b : identity.backends) {
      out += fmt::format("{}/{}: {}{} playlists, {} writes{}, {} failed\n", identity.identity,
                         b.backend, b.ok ? "" : "FAILED, ", b.playlists, b.writes,
                         result.dry_run ? " planned" : "", b.failed);
    }
    for (const auto& p : identity.plan.playlists) {
      if (p.action == "unchanged" && p.targets.empty()) {
        continue;
      }
      out += fmt::format("  {:<9} '{}' ({} items){}{}\n", p.action, p.title, p.next.items.size(),
                         p.source.empty() ? "" : fmt::format(", from {}", p.source),
                         p.conflict() ? fmt::format(" (edited on {}: the newest edit won)",
                                                    fmt::join(p.changed_on, ", "))
                                      : "");
      if (!p.deleted_on.empty() && p.action == "kept") {
        out += fmt::format("            deleted on {}: kept elsewhere (--delete deletes it "
                           "everywhere)\n",
                           fmt::join(p.deleted_on, ", "));
      }
      for (const auto& t : p.targets) {
        std::vector<std::string> ops;
        for (const auto& op : t.ops) {
          const auto status = result.dry_run || !op.sent ? "" : (op.ok ? "" : " FAILED");
          ops.push_back(fmt::format("{}{}", sync::playlist_op_name(op.kind), status));
        }
        out += fmt::format(
            "            {}: {}{}\n", t.backend,
            ops.empty() ? std::string("no write") : fmt::format("{}", fmt::join(ops, ", ")),
            t.missing.empty() ? "" : fmt::format("; {} items it does not have", t.missing.size()));
      }
      for (const auto& n : p.not_on) {
        out += fmt::format("            not on {}\n", n);
      }
    }
    for (const auto& s : identity.plan.skipped) {
      out += fmt::format("  skipped   '{}' on {}: {}\n", s.title, s.backend, s.reason);
    }
  }
  return out;
}

} // namespace

int playlist_main(int argc, char** argv) {
  auto flags = std::make_shared<sync::PlaylistRunOptions>();
  ToolDefinition tool{
      "ws-playlist",
      "Keep playlists in step across the backends: matched by title, the newest edit wins, "
      "items translated through the state database",
      true,
      [flags](CLI::App& cli) {
        cli.add_flag("--delete", flags->propagate_deletes,
                     "A playlist deleted on one backend is deleted on the others too (default: "
                     "kept there)");
      },
      [flags](ToolContext& ctx) {
        const auto options = ctx.run_options();
        sync::validate_backend_filter(ctx.config, options);
        const auto db_file = prepare_state_dir(ctx.config);
        const RunLock lock(lock_file(ctx.config));
        db::StateStore store(db_file);
        auto result = std::make_shared<sync::PlaylistResult>(
            sync::run_playlists(ctx.services, ctx.config, store, options, *flags));
        ToolOutcome outcome;
        outcome.exit_code = result->exit_code();
        outcome.errors = result->errors;
        outcome.human = playlist_summary(*result);
        for (const auto& identity : result->identities) {
          for (const auto& b : identity.backends) {
            outcome.run_backends.push_back(db::RunBackend{
                identity.identity, b.backend, "playlists", b.ok,
                static_cast<std::int64_t>(b.playlists), static_cast<std::int64_t>(b.writes),
                static_cast<std::int64_t>(b.failed), static_cast<std::int64_t>(b.requests),
                b.duration_ms});
          }
        }
        outcome.write_result = [result](json::Writer& out) { write_playlist_result(out, *result); };
        return outcome;
      }};
  return run_tool(tool, argc, argv);
}

} // namespace ws::app
