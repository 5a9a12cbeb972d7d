// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/config/config.hpp>

#include <filesystem>

namespace ws::app {

// state_dir/state.db, after making sure state_dir exists and is writable.
std::filesystem::path prepare_state_dir(const config::Config& config);

// state_dir/watchstate.lock, after making sure state_dir exists: a run that takes the lock
// before it opens the database (ws-backup prune) may be the first run on a new state_dir.
std::filesystem::path lock_file(const config::Config& config);

} // namespace ws::app
