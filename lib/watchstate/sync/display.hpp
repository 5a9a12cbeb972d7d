// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/db/state_store.hpp>

#include <string>

namespace ws::sync {

// How an item is named to users: movies "Title (Year)", episodes "Show (Year) - 01x02".
// A missing year reads "0000", a missing title "??".
std::string display_title(const db::ItemRow& row);

} // namespace ws::sync
