// SPDX-License-Identifier: MIT
// The config's small sections: http, progress, backup, webhook, metrics, history.
#include <watchstate/config/reader.hpp>

#include <watchstate/core/error.hpp>

#include <fmt/format.h>

#include <charconv>
#include <string>

namespace ws::config::detail {

HttpSettings Parser::parse_http(const Field& field) const {
  HttpSettings http;
  const MapReader map(*this, field,
                      {"concurrency", "timeout", "retries", "page_size", "backoff_ms"});
  if (auto f = map.get("concurrency")) {
    http.concurrency = integer(*f, 1, 64);
  }
  if (auto f = map.get("timeout")) {
    http.timeout = integer(*f, 1, 86400);
  }
  if (auto f = map.get("retries")) {
    http.retries = integer(*f, 0, 10);
  }
  if (auto f = map.get("page_size")) {
    http.page_size = integer(*f, 1, 10000);
  }
  if (auto f = map.get("backoff_ms")) {
    http.backoff_ms = integer(*f, 0, 60000);
  }
  return http;
}

ProgressSettings Parser::parse_progress(const Field& field) const {
  ProgressSettings progress;
  const MapReader map(*this, field, {"sync", "minimum"});
  if (auto f = map.get("sync")) {
    progress.sync = boolean(*f);
  }
  if (auto f = map.get("minimum")) {
    progress.minimum = integer(*f, 0, 86400);
  }
  return progress;
}

BackupSettings Parser::parse_backup(const Field& field) const {
  BackupSettings backup;
  const MapReader map(*this, field, {"keep_days"});
  if (auto f = map.get("keep_days")) {
    backup.keep_days = integer(*f, 1, 365000);
  }
  return backup;
}

WebhookSettings Parser::parse_webhook(const Field& field) {
  WebhookSettings webhook;
  const MapReader map(*this, field, {"listen", "api_key"});
  if (auto f = map.value("listen")) {
    const std::string listen = trim(string(*f).value_or(""));
    // host:port, the host possibly a bracketed IPv6 address.
    const auto colon = listen.rfind(':');
    int port = 0;
    bool ok = colon != std::string::npos && colon > 0 && colon + 1 < listen.size();
    if (ok) {
      const std::string host = listen.substr(0, colon);
      const std::string digits = listen.substr(colon + 1);
      const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
      ok = ec == std::errc() && ptr == digits.data() + digits.size() && port >= 1 && port <= 65535;
      const bool bracketed = host.front() == '[' && host.back() == ']';
      ok = ok && (bracketed || host.find(':') == std::string::npos) &&
           host.find_first_of(k_whitespace) == std::string::npos;
    }
    if (!ok) {
      fail(line(*f), f->path,
           fmt::format("must be host:port (e.g. 127.0.0.1:8686, [::1]:8686), not '{}'", listen));
    }
    webhook.listen = listen;
  }
  if (auto f = map.value("api_key")) {
    webhook.api_key = token(*f);
  }
  return webhook;
}

MetricsSettings Parser::parse_metrics(const Field& field) const {
  // Prometheus' textfile collector: every tool rewrites this file after its run.
  MetricsSettings metrics;
  const MapReader map(*this, field, {"textfile"});
  if (auto t = map.value("textfile")) {
    const std::string file = trim(string(*t).value_or(""));
    if (file.empty() || !file.ends_with(".prom")) {
      fail(line(*t), t->path,
           "must be a file path ending in .prom (node_exporter's "
           "textfile collector reads only those)");
    }
    metrics.textfile = path(*t, file);
  }
  return metrics;
}

HistorySettings Parser::parse_history(const Field& field) const {
  HistorySettings history;
  const MapReader map(*this, field, {"keep_days", "change_log_days"});
  if (auto k = map.get("keep_days")) {
    history.keep_days = integer(*k, 1, 365000);
  }
  if (auto k = map.get("change_log_days")) {
    history.change_log_days = integer(*k, 0, 365000); // 0: kept for ever
  }
  return history;
}

} // namespace ws::config::detail
