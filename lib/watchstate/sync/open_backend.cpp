// SPDX-License-Identifier: MIT
#include <watchstate/http/client.hpp>
#include <watchstate/sync/open_backend.hpp>

#include <watchstate/core/log.hpp>
#include <watchstate/core/text.hpp>
#include <watchstate/sync/user_token.hpp>

#include <algorithm>
#include <string>

namespace ws::sync {

http::ClientOptions client_options(const config::Config& config,
                                   const config::BackendConfig& backend,
                                   const RunOptions& options) {
  http::ClientOptions o;
  o.concurrency =
      options.concurrency.value_or(backend.concurrency.value_or(config.http.concurrency));
  o.timeout =
      std::chrono::seconds(options.timeout.value_or(backend.timeout.value_or(config.http.timeout)));
  o.retries = config.http.retries;
  o.backoff = std::chrono::milliseconds(config.http.backoff_ms);
  o.verify_tls = backend.verify_tls;
  o.user_agent = std::string("watchstate/") + WS_VERSION;
  return o;
}

std::unique_ptr<backend::Backend> open_backend(const Services& services,
                                               const config::Config& config,
                                               const config::BackendConfig& backend,
                                               const RunOptions& options) {
  const http::ClientOptions o = client_options(config, backend, options);

  if (backend.obtain_user_token) {
    return make_plex_user_backend(services, config, backend, o,
                                  backend.page_size.value_or(config.http.page_size));
  }

  backend::Connection connection;
  connection.name = backend.name;
  connection.type = backend.type;
  connection.url = backend.url;
  connection.token = backend.token;
  connection.user = backend.user;
  connection.page_size = backend.page_size.value_or(config.http.page_size);
  connection.guid_rules = config.matching.guids;
  return backend::make_backend(connection, services.http_client(o));
}

bool library_ignored(const config::BackendConfig& backend, const backend::Library& library) {
  return std::any_of(backend.ignore_libraries.begin(), backend.ignore_libraries.end(),
                     [&](const std::string& entry) {
                       return entry == library.id || iequals(entry, library.title);
                     });
}

std::vector<backend::Library> wanted_libraries(backend::Backend& adapter,
                                               const config::BackendConfig& backend) {
  auto libraries = adapter.libraries();
  std::erase_if(libraries, [&](const backend::Library& library) {
    const bool ignored = library_ignored(backend, library);
    if (ignored) {
      log::info("{}: ignoring library '{}' ({})", backend.name, library.title, library.id);
    }
    return ignored;
  });
  return libraries;
}

std::vector<backend::Library> wanted_libraries(backend::Backend& adapter,
                                               const config::BackendConfig& backend,
                                               const RunOptions& options) {
  auto libraries = wanted_libraries(adapter, backend);
  if (!options.library_scope()) {
    return libraries;
  }
  auto named = [](const std::vector<std::string>& names, const backend::Library& library) {
    return std::any_of(names.begin(), names.end(), [&](const std::string& name) {
      return name == library.id || iequals(name, library.title);
    });
  };
  std::erase_if(libraries, [&](const backend::Library& library) {
    const bool out = (!options.libraries.empty() && !named(options.libraries, library)) ||
                     named(options.exclude_libraries, library);
    if (out) {
      log::debug("{}: library '{}' ({}) is outside --library/--exclude-library", backend.name,
                 library.title, library.id);
    }
    return out;
  });
  if (libraries.empty()) {
    log::warning("{}: no library of this backend is selected by --library/--exclude-library",
                 backend.name);
  }
  return libraries;
}

} // namespace ws::sync
