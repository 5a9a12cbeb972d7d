// SPDX-License-Identifier: MIT
#pragma once

// Internal to lib/watchstate/app: each run kept in the history, and the metrics file drawn
// from it.

#include <watchstate/config/config.hpp>
#include <watchstate/db/run_history.hpp>

#include <filesystem>
#include <string>

namespace ws::sync {
struct ImportResult;
struct ExportResult;
} // namespace ws::sync

namespace ws::app {

// What an import and an export did per backend, as the history keeps it.
void add_run_backends(std::vector<db::RunBackend>& out, const sync::ImportResult& result);
void add_run_backends(std::vector<db::RunBackend>& out, const sync::ExportResult& result);

// Keep `run` in state_dir's history, then rewrite the metrics file (`metrics_file`, else
// config metrics.textfile) when one is set. Never throws: a history that cannot be written is
// a warning, not a failed run.
void record_run(const config::Config& config, db::Run run,
                const std::filesystem::path& metrics_file);

// The Prometheus text exposition of the history and the webhook queue of `config`.
std::string render_metrics(const config::Config& config, db::RunHistory& history);

} // namespace ws::app
