// SPDX-License-Identifier: MIT
#pragma once

// Internal to lib/watchstate/app: ws-state status and ws-state runs.

#include <watchstate/app/runner.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace ws::app {

// --max-age's value in seconds ("90m", "36h", "3d", "1d12h"). Throws Errc::usage.
std::int64_t max_age_seconds(const std::string& text);

// Per identity and backend: last successful import and export, last error, item and played
// counts; the webhook queue, the newest backup, the database size. With `max_age` (seconds)
// the run exits 1 when a backend's last success is older (a health check).
ToolOutcome status_report(const ToolContext& ctx, std::optional<std::int64_t> max_age);

// The newest `limit` runs (of `tool` when not empty), newest first.
ToolOutcome runs_report(const ToolContext& ctx, std::size_t limit, const std::string& tool);

} // namespace ws::app
