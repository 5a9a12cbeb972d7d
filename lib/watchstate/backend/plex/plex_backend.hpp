// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/backend/backend.hpp>

#include <memory>
#include <string_view>

namespace ws::backend::plex {

// The X-Plex-Client-Identifier every request carries (stable across runs).
inline constexpr std::string_view k_client_identifier = "watchstate-5b1e0c7a9d3f4e62";

// Build the Plex Media Server adapter sending through `client`.
std::unique_ptr<Backend> make_plex_backend(const Connection& connection,
                                           std::unique_ptr<http::Client> client);

} // namespace ws::backend::plex
