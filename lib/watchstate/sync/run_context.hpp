// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/config/config.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/exit_code.hpp>
#include <watchstate/core/time.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ws::sync {

// Options every sync use case shares (the common options), already validated.
struct RunOptions {
  std::vector<std::string> select;     // -s: exact backend names; empty = all
  std::vector<std::string> exclude;    // -x
  std::optional<std::string> identity; // -u; nullopt = every identity
  bool dry_run = false;
  bool full = false;
  bool ignore_date = false; // export: the local state wins wherever it differs
  // Import: refresh only the records of export-enabled backends, never changing the local
  // state (what ws-export does before it pushes).
  bool metadata_only = false;
  // Import: only the backends that are export targets (ws-export's refresh before it pushes).
  bool only_export_targets = false;
  // --library / --exclude-library: only these libraries (ids, or names compared
  // case-insensitively), on every selected backend. Items of the others are neither listed
  // nor written, and nothing is concluded about them (their records are kept as they are).
  std::vector<std::string> libraries;
  std::vector<std::string> exclude_libraries;
  [[nodiscard]] bool library_scope() const {
    return !libraries.empty() || !exclude_libraries.empty();
  }
  // Export: only these local rows (a webhook's changes); empty = every row.
  std::vector<std::int64_t> only_items;
  std::optional<int> concurrency; // --concurrency
  std::optional<int> timeout;     // --timeout (seconds)
};

// A failure that belongs to one backend (or one item of it); the run goes on.
struct BackendError {
  std::string identity;
  std::string backend;
  Errc kind = Errc::internal;
  std::string message; // redacted one-liner
  std::string item;    // set when one item failed (the backend went on)
};

// Check -s/-x names against the configured backends. Throws Errc::usage listing the configured
// names when one is unknown.
void validate_backend_filter(const config::Config& config, const RunOptions& options);

// Whether backend `name` takes part under -s/-x.
bool backend_selected(const RunOptions& options, const std::string& name);

// The identities to run: `main` then every configured one, or just -u's (Errc::usage if unknown).
std::vector<std::string> identities_to_run(const config::Config& config, const RunOptions& options);

// The exit code of a run whose backends ended with `errors` out of `attempted` backends (item
// errors count as attention only):
// 0 when none failed; 1 when some failed and some succeeded; when every one failed, the code of
// the most telling failure class (config 78 > auth 77 > protocol 76 > tempfail 75 > other).
int exit_code_for_backends(const std::vector<BackendError>& errors, std::size_t attempted);

// As above, then 1 (attention) when a backend of `identities` (each with `.backends`, each with
// `.failed`) had items or writes that failed: the rule of import, export and playlists.
template <typename Identities>
int exit_code_for_run(const std::vector<BackendError>& errors, std::size_t attempted,
                      const Identities& identities) {
  const int code = exit_code_for_backends(errors, attempted);
  if (code != exit_code::ok) {
    return code;
  }
  for (const auto& identity : identities) {
    for (const auto& b : identity.backends) {
      if (b.failed > 0) {
        return exit_code::attention;
      }
    }
  }
  return exit_code::ok;
}

} // namespace ws::sync
