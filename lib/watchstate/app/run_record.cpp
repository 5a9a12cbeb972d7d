// SPDX-License-Identifier: MIT
#include <watchstate/app/run_record.hpp>
#include <watchstate/app/state_dir.hpp>
#include <watchstate/core/atomic_file.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/db/event_queue.hpp>
#include <watchstate/sync/export.hpp>
#include <watchstate/sync/import.hpp>

#include <fmt/format.h>

#include <map>
#include <set>

namespace ws::app {
namespace {

// A label value as the exposition format wants it: \, " and newline escaped.
std::string label(std::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

class Exposition {
public:
  // Start metric family `name` (HELP and TYPE once, before its samples).
  void family(std::string_view name, std::string_view type, std::string_view help) {
    m_text += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    m_name = name;
  }
  void sample(const std::vector<std::pair<std::string_view, std::string_view>>& labels,
              double value) {
    std::string set;
    for (const auto& [key, val] : labels) {
      set += fmt::format("{}{}=\"{}\"", set.empty() ? "" : ",", key, label(val));
    }
    m_text += fmt::format("{}{}{}{}{} {}\n", m_name, set.empty() ? "" : "{", set,
                          set.empty() ? "" : "}", "", value);
  }
  [[nodiscard]] const std::string& text() const { return m_text; }

private:
  std::string m_text;
  std::string m_name;
};

} // namespace

void add_run_backends(std::vector<db::RunBackend>& out, const sync::ImportResult& result) {
  for (const auto& identity : result.identities) {
    for (const auto& b : identity.backends) {
      out.push_back(db::RunBackend{
          identity.identity, b.backend, b.metadata_only ? "refresh" : "import", b.ok,
          static_cast<std::int64_t>(b.fetched), static_cast<std::int64_t>(b.added + b.updated),
          static_cast<std::int64_t>(b.failed), static_cast<std::int64_t>(b.requests),
          b.duration_ms});
    }
  }
}

void add_run_backends(std::vector<db::RunBackend>& out, const sync::ExportResult& result) {
  for (const auto& identity : result.identities) {
    for (const auto& b : identity.backends) {
      out.push_back(db::RunBackend{
          identity.identity, b.backend, "export", b.ok, static_cast<std::int64_t>(b.checked),
          static_cast<std::int64_t>(b.marked_played + b.marked_unplayed + b.progress_updated),
          static_cast<std::int64_t>(b.failed), static_cast<std::int64_t>(b.requests),
          b.duration_ms});
    }
  }
}

std::string render_metrics(const config::Config& config, db::RunHistory& history) {
  Exposition out;
  const auto health = history.health();
  out.family("watchstate_last_success_timestamp_seconds", "gauge",
             "When a backend was last imported or exported without an error (unix time).");
  for (const auto& h : health) {
    if (h.last_import) {
      out.sample({{"identity", h.identity}, {"backend", h.backend}, {"phase", "import"}},
                 static_cast<double>(*h.last_import));
    }
    if (h.last_export) {
      out.sample({{"identity", h.identity}, {"backend", h.backend}, {"phase", "export"}},
                 static_cast<double>(*h.last_export));
    }
  }
  out.family("watchstate_last_error_timestamp_seconds", "gauge",
             "When a backend last failed (unix time), by the kind of the failure.");
  for (const auto& h : health) {
    if (h.last_error_at) {
      out.sample({{"identity", h.identity}, {"backend", h.backend}, {"kind", h.last_error_kind}},
                 static_cast<double>(*h.last_error_at));
    }
  }
  out.family("watchstate_backend_items", "gauge",
             "Local items a backend has (a record in the state database).");
  for (const auto& h : health) {
    out.sample({{"identity", h.identity}, {"backend", h.backend}}, static_cast<double>(h.items));
  }
  const auto counts = history.identity_counts();
  out.family("watchstate_items", "gauge", "Local items of an identity.");
  for (const auto& c : counts) {
    out.sample({{"identity", c.identity}}, static_cast<double>(c.items));
  }
  out.family("watchstate_items_played", "gauge", "Local items of an identity marked played.");
  for (const auto& c : counts) {
    out.sample({{"identity", c.identity}}, static_cast<double>(c.played));
  }

  // The newest run of each tool.
  std::map<std::string, db::Run> last;
  for (auto& run : history.runs(500)) {
    last.try_emplace(run.tool, std::move(run));
  }
  out.family("watchstate_run_timestamp_seconds", "gauge",
             "When a tool's last run finished (unix time).");
  for (const auto& [tool, run] : last) {
    out.sample({{"tool", tool}}, static_cast<double>(run.finished_at));
  }
  out.family("watchstate_run_exit_code", "gauge", "The exit code of a tool's last run.");
  for (const auto& [tool, run] : last) {
    out.sample({{"tool", tool}}, run.exit_code);
  }
  out.family("watchstate_run_duration_seconds", "gauge", "How long a tool's last run took.");
  for (const auto& [tool, run] : last) {
    out.sample({{"tool", tool}}, static_cast<double>(run.duration_ms) / 1000.0);
  }
  out.family("watchstate_run_backend_items", "gauge",
             "Items a backend reported (import) or that were compared (export) in a tool's last "
             "run.");
  for (const auto& [tool, run] : last) {
    for (const auto& b : run.backends) {
      out.sample(
          {{"tool", tool}, {"identity", b.identity}, {"backend", b.backend}, {"phase", b.phase}},
          static_cast<double>(b.items));
    }
  }
  out.family("watchstate_run_backend_writes", "gauge",
             "Changes applied locally (import) or sent to the backend (export) in a tool's last "
             "run.");
  for (const auto& [tool, run] : last) {
    for (const auto& b : run.backends) {
      out.sample(
          {{"tool", tool}, {"identity", b.identity}, {"backend", b.backend}, {"phase", b.phase}},
          static_cast<double>(b.writes));
    }
  }
  out.family("watchstate_run_backend_duration_seconds", "gauge",
             "How long a backend took in a tool's last run.");
  for (const auto& [tool, run] : last) {
    for (const auto& b : run.backends) {
      out.sample(
          {{"tool", tool}, {"identity", b.identity}, {"backend", b.backend}, {"phase", b.phase}},
          static_cast<double>(b.duration_ms) / 1000.0);
    }
  }
  out.family("watchstate_run_errors", "gauge",
             "Errors of a tool's last run, by identity, backend and kind.");
  for (const auto& [tool, run] : last) {
    std::map<std::tuple<std::string, std::string, std::string>, int> errors;
    for (const auto& e : run.errors) {
      ++errors[{e.identity, e.backend, e.kind}];
    }
    for (const auto& [key, n] : errors) {
      out.sample({{"tool", tool},
                  {"identity", std::get<0>(key)},
                  {"backend", std::get<1>(key)},
                  {"kind", std::get<2>(key)}},
                 n);
    }
  }

  const auto queue_file = config.state_dir / "webhook-queue.db";
  out.family("watchstate_webhook_queue_events", "gauge",
             "Webhook events waiting to be applied (pending) or given up (failed).");
  if (std::filesystem::exists(queue_file)) {
    db::EventQueue queue(queue_file);
    out.sample({{"state", "pending"}}, static_cast<double>(queue.pending()));
    out.sample({{"state", "failed"}}, static_cast<double>(queue.failed()));
  } else {
    out.sample({{"state", "pending"}}, 0);
    out.sample({{"state", "failed"}}, 0);
  }
  return out.text();
}

void record_run(const config::Config& config, db::Run run,
                const std::filesystem::path& metrics_file) {
  try {
    db::RunHistory history(prepare_state_dir(config));
    history.record(run, config.history.keep_days);
    const auto file = metrics_file.empty() ? config.metrics.textfile : metrics_file;
    if (!file.empty()) {
      // Written whole and renamed over the old one: the collector never reads half a file.
      write_file_atomic(file, render_metrics(config, history), 0644);
    }
  } catch (const std::exception& e) {
    log::warning("the run was not recorded in the history: {}", redact(e.what()));
  }
}

} // namespace ws::app
