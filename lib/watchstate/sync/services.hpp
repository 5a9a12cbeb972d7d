// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/core/time.hpp>
#include <watchstate/http/client.hpp>

#include <functional>
#include <memory>

namespace ws::sync {

// What the use cases take from the world outside them: a new HTTP client (one per backend and
// run, plex.tv included) and the wall clock. The composition root (app/services.cpp) gives the
// real ones (libcurl; ws::now, which honours the WS_FAKE_NOW test hook); the in-process tests
// give a client that answers from the simulator without a socket, and a clock they set.
struct Services {
  std::function<std::unique_ptr<http::Client>(const http::ClientOptions&)> http_client;
  std::function<UnixTime()> now;
};

} // namespace ws::sync
