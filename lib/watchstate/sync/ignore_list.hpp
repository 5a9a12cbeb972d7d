// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/backend/backend.hpp>
#include <watchstate/config/config.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace ws::sync {

// The config's matching.ignore rules as they apply to one backend's items: server items kept
// out of the sync entirely, and external ids dropped before matching (so an item matches by its
// other ids, or not at all).
class IgnoreList {
public:
  IgnoreList(const std::vector<config::IgnoreRule>& rules, const std::string& backend);

  [[nodiscard]] bool empty() const { return m_items.empty() && m_ids.empty(); }

  // The rule that keeps server item `remote_id` out of the sync, or nullptr.
  [[nodiscard]] const config::IgnoreRule* item_rule(std::string_view remote_id) const;

  // Drop the ignored ids of a movie or an episode (its own ids); returns the rules that did.
  std::vector<const config::IgnoreRule*> strip(backend::RemoteItem& item) const;

  // Drop the ignored ids of a series (rules of type "show" or of any type).
  std::vector<const config::IgnoreRule*> strip(model::RemoteShow& show) const;

private:
  std::vector<const config::IgnoreRule*> strip_ids(model::Guids& guids, std::string_view kind,
                                                   std::string_view remote_id) const;

  std::vector<const config::IgnoreRule*> m_items; // whole server items
  std::vector<const config::IgnoreRule*> m_ids;   // ids, on this backend or everywhere
};

} // namespace ws::sync
