// SPDX-License-Identifier: MIT
// Internal to lib/watchstate/db: how a SQLite failure on the state database becomes a ws::Error.
#pragma once

#include <SQLiteCpp/Exception.h>

#include <string_view>

namespace ws::db::detail {

// Throw the ws::Error for `e` met while doing `what`: tempfail when the database is busy or
// locked, no_perm when it cannot be opened or written for permissions, io otherwise.
[[noreturn]] void rethrow(const SQLite::Exception& e, std::string_view what);

} // namespace ws::db::detail
