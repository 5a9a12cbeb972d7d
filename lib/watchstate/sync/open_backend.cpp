// SPDX-License-Identifier: MIT
#include <watchstate/http/client.hpp>
#include <watchstate/sync/open_backend.hpp>

#include <string>

namespace ws::sync {

std::unique_ptr<backend::Backend> open_backend(const config::Config& config,
                                               const config::BackendConfig& backend,
                                               const RunOptions& options) {
  http::ClientOptions o;
  o.concurrency =
      options.concurrency.value_or(backend.concurrency.value_or(config.http.concurrency));
  o.timeout = std::chrono::seconds(
      options.timeout.value_or(backend.timeout.value_or(config.http.timeout)));
  o.retries = config.http.retries;
  o.backoff = std::chrono::milliseconds(config.http.backoff_ms);
  o.verify_tls = backend.verify_tls;
  o.user_agent = std::string("watchstate/") + WS_VERSION;

  backend::Connection connection;
  connection.name = backend.name;
  connection.type = backend.type;
  connection.url = backend.url;
  connection.token = backend.token;
  connection.user = backend.user;
  connection.page_size = backend.page_size.value_or(config.http.page_size);
  return backend::make_backend(connection, http::make_curl_client(o));
}

} // namespace ws::sync
