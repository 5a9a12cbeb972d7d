// SPDX-License-Identifier: MIT
#include <watchstate/app/state_dir.hpp>
#include <watchstate/core/lock.hpp>

namespace ws::app {

std::filesystem::path prepare_state_dir(const config::Config& config) {
  ensure_directory(config.state_dir);
  return config.state_dir / "state.db";
}

std::filesystem::path lock_file(const config::Config& config) {
  ensure_directory(config.state_dir);
  return config.state_dir / "watchstate.lock";
}

} // namespace ws::app
