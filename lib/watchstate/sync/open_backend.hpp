// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/backend/backend.hpp>
#include <watchstate/config/config.hpp>
#include <watchstate/http/client.hpp>
#include <watchstate/sync/run_context.hpp>
#include <watchstate/sync/services.hpp>

#include <memory>
#include <vector>

namespace ws::sync {

// The adapter for `backend` with its own HTTP client: concurrency, timeout and page size from
// the command line, else the backend's options, else the `http` section.
std::unique_ptr<backend::Backend> open_backend(const Services& services,
                                               const config::Config& config,
                                               const config::BackendConfig& backend,
                                               const RunOptions& options);

// The HTTP client options open_backend uses for `backend`.
http::ClientOptions client_options(const config::Config& config,
                                   const config::BackendConfig& backend, const RunOptions& options);

// Whether `backend`'s options.ignore lists `library` (by id, or by name compared
// case-insensitively).
bool library_ignored(const config::BackendConfig& backend, const backend::Library& library);

// The libraries of `adapter` that `backend` does not ignore (options.ignore_libraries holds
// library ids, or names compared case-insensitively).
std::vector<backend::Library> wanted_libraries(backend::Backend& adapter,
                                               const config::BackendConfig& backend);

// As above, limited further by --library / --exclude-library (options.libraries).
std::vector<backend::Library> wanted_libraries(backend::Backend& adapter,
                                               const config::BackendConfig& backend,
                                               const RunOptions& options);

} // namespace ws::sync
