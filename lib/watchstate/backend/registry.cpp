// SPDX-License-Identifier: MIT
#include <watchstate/backend/backend.hpp>

#include <watchstate/backend/mediabrowser/mediabrowser_backend.hpp>
#include <watchstate/backend/plex/plex_backend.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/http/client.hpp>

namespace ws::backend {

std::unique_ptr<Backend> make_backend(const Connection& connection,
                                      std::unique_ptr<http::Client> client) {
  if (!client) {
    throw Error(Errc::internal, connection.name + ": no HTTP client given to make_backend");
  }
  switch (connection.type) {
  case BackendType::plex: return plex::make_plex_backend(connection, std::move(client));
  case BackendType::jellyfin:
    return mediabrowser::make_mediabrowser_backend(connection, std::move(client),
                                                   mediabrowser::k_jellyfin_traits);
  case BackendType::emby:
    return mediabrowser::make_mediabrowser_backend(connection, std::move(client),
                                                   mediabrowser::k_emby_traits);
  }
  throw Error(Errc::internal, connection.name + ": unknown backend type");
}

} // namespace ws::backend
