// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>

namespace ws {

// Register a secret (token, API key) so that redact() hides it wherever it appears.
// Thread-safe; secrets shorter than 4 characters are ignored (they would mangle ordinary text).
void register_secret(std::string_view secret);

// Forget every registered secret. For fuzzing and tests, which load many configs in one process.
void forget_secrets() noexcept;

// Return `text` with every registered secret, and the value of every token-bearing URL query
// parameter (X-Plex-Token, api_key, ApiKey, apikey, token, pin) and Authorization Token="…" field,
// replaced by "<redacted>".
std::string redact(std::string_view text);

} // namespace ws
