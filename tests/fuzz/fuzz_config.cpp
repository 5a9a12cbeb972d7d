// SPDX-License-Identifier: MIT
// libFuzzer harness: the config loader (YAML syntax, every key's validation, WatchState's
// servers.yaml keys, ${ENV} expansion, identities) on hostile text. A bad config must end in
// ws::Error(Errc::config); anything else escaping is a crash.
#include "fuzz_support.hpp"

#include <watchstate/config/config.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/redact.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ws::log::set_level(ws::log::Level::error);
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto config = ws::config::parse_config(text, "/nonexistent/fuzz/config.yaml");
    for (const auto& identity : config.identities) {
      (void)ws::config::backends_for_identity(config, identity.name);
    }
  } catch (const ws::Error& e) {
    if (e.code() != ws::Errc::config) {
      throw std::logic_error("a bad config must fail with Errc::config");
    }
  }
  // Every token read is registered for redaction; one process parses many configs here.
  ws::forget_secrets();
  return 0;
}
