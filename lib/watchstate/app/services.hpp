// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/sync/services.hpp>

namespace ws::app {

// The composition root: the real outside world of every tool. HTTP clients are libcurl clients
// (http::make_curl_client); the clock is ws::now (WS_FAKE_NOW, a test hook, pins it).
sync::Services production_services();

} // namespace ws::app
