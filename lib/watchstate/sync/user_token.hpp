// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/backend/backend.hpp>
#include <watchstate/backend/plex/plextv.hpp>
#include <watchstate/config/config.hpp>
#include <watchstate/http/client.hpp>
#include <watchstate/sync/services.hpp>

#include <filesystem>
#include <memory>
#include <vector>

namespace ws::sync {

// Where obtained Plex user tokens are cached: state_dir/plex-tokens.json (mode 0600).
std::filesystem::path plex_token_cache_file(const config::Config& config);

// The adapter of a Plex identity entry without a token (`backend.obtain_user_token`): on first
// use it takes the person's server token from the cache, else obtains it through plex.tv with the
// main (admin) token and caches it; a cached token the server refuses is obtained again once.
// Failures are thrown (as ws::Error naming "<identity>/<backend>") by the first call made on it,
// so they fail only that identity's backend.
std::unique_ptr<backend::Backend> make_plex_user_backend(const Services& services,
                                                         const config::Config& config,
                                                         const config::BackendConfig& backend,
                                                         const http::ClientOptions& options,
                                                         int page_size);

// The people plex.tv lists for Plex backend `backend` (its token must be the owner's): home and
// managed users and friends of that server, with whether a token can be obtained. Throws
// ws::Error like the adapters (no_perm when plex.tv refuses the token).
std::vector<backend::plex::PlexTvUser> plex_tv_users(const Services& services,
                                                     const config::Config& config,
                                                     const config::BackendConfig& backend,
                                                     const http::ClientOptions& options);

} // namespace ws::sync
