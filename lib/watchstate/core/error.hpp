// SPDX-License-Identifier: MIT
#pragma once

#include <stdexcept>
#include <string>

namespace ws {

// The closed set of failure classes; each maps to one exit code (core/exit_code.hpp).
enum class Errc {
  usage,       // bad command line                          -> 64
  data,        // malformed input file                      -> 65
  no_input,    // input file missing                        -> 66
  internal,    // a bug                                     -> 70
  cant_create, // cannot create an output file              -> 73
  io,          // local I/O error                           -> 74
  tempfail,    // unreachable, timeout, 5xx/429, lock held  -> 75
  protocol,    // a backend answered something unparsable   -> 76
  no_perm,     // 401/403, or no permission on state_dir    -> 77
  config,      // config missing or invalid                 -> 78
};

// A failure a user or the environment can cause. The message is one line, names the thing at
// fault and never contains a secret (callers pass text through redact() where it may).
class Error : public std::runtime_error {
public:
  Error(Errc code, const std::string& message) : std::runtime_error(message), m_code(code) {}
  [[nodiscard]] Errc code() const noexcept { return m_code; }

private:
  Errc m_code;
};

// Short machine-readable name of an error class, used as `kind` in JSON output.
const char* errc_name(Errc code) noexcept;

} // namespace ws
