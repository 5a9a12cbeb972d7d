// SPDX-License-Identifier: MIT
#include <watchstate/core/error.hpp>
#include <watchstate/core/exit_code.hpp>

namespace ws {

const char* errc_name(Errc code) noexcept {
  switch (code) {
  case Errc::usage: return "usage";
  case Errc::data: return "data";
  case Errc::no_input: return "no_input";
  case Errc::internal: return "internal";
  case Errc::cant_create: return "cant_create";
  case Errc::io: return "io";
  case Errc::tempfail: return "tempfail";
  case Errc::protocol: return "protocol";
  case Errc::no_perm: return "auth";
  case Errc::config: return "config";
  }
  return "internal";
}

int exit_code_for(Errc code) noexcept {
  switch (code) {
  case Errc::usage: return 64;
  case Errc::data: return 65;
  case Errc::no_input: return 66;
  case Errc::internal: return 70;
  case Errc::cant_create: return 73;
  case Errc::io: return 74;
  case Errc::tempfail: return 75;
  case Errc::protocol: return 76;
  case Errc::no_perm: return 77;
  case Errc::config: return 78;
  }
  return 70;
}

} // namespace ws
