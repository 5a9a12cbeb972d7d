// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>

namespace ws::model {

// A user name as identities compare it: lower-case, every character outside
// [a-z0-9_] dropped, and a name of digits only prefixed "user_". Empty when nothing is left.
std::string normalise_user_name(std::string_view name);

} // namespace ws::model
