// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/config/config.hpp>

#include <filesystem>

namespace ws::app {

// state_dir/state.db, after making sure state_dir exists and is writable.
std::filesystem::path prepare_state_dir(const config::Config& config);

// state_dir/watchstate.lock
std::filesystem::path lock_file(const config::Config& config);

} // namespace ws::app
