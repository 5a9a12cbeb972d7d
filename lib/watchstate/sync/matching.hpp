// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/backend/backend.hpp>

#include <string>
#include <vector>

namespace ws::sync {

// The keys an item is matched by across backends, most specific first:
// for episodes "r<provider>://<show id>/<season>/<episode>" for each id of its show, then
// "<provider>://<id>/<type>" for each of the item's own ids (movie or episode).
// Empty when the item has no usable id: it is skipped, never matched by title.
std::vector<std::string> matching_keys(const backend::RemoteItem& item,
                                       const backend::Guids& show_guids);

} // namespace ws::sync
