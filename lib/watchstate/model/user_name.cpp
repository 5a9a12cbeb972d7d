// SPDX-License-Identifier: MIT
#include <watchstate/model/user_name.hpp>

#include <algorithm>

namespace ws::model {

std::string normalise_user_name(std::string_view name) {
  std::string out;
  for (const char c : name) {
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if ((lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9') || lower == '_') {
      out += lower;
    }
  }
  if (!out.empty() &&
      std::all_of(out.begin(), out.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    out = "user_" + out;
  }
  return out;
}

} // namespace ws::model
