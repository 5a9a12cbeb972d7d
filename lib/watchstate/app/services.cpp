// SPDX-License-Identifier: MIT
#include <watchstate/app/services.hpp>

#include <watchstate/core/time.hpp>
#include <watchstate/http/client.hpp>

namespace ws::app {

sync::Services production_services() {
  sync::Services services;
  services.http_client = [](const http::ClientOptions& options) {
    return http::make_curl_client(options);
  };
  services.now = [] { return ws::now(); };
  return services;
}

} // namespace ws::app
