// SPDX-License-Identifier: MIT
#include <watchstate/sync/ignore_list.hpp>

#include <algorithm>

namespace ws::sync {

IgnoreList::IgnoreList(const std::vector<config::IgnoreRule>& rules, const std::string& backend) {
  for (const auto& rule : rules) {
    if (!rule.backend.empty() && rule.backend != backend) {
      continue;
    }
    (rule.id ? m_ids : m_items).push_back(&rule);
  }
}

const config::IgnoreRule* IgnoreList::item_rule(std::string_view remote_id) const {
  for (const auto* rule : m_items) {
    if (rule->item == remote_id) {
      return rule;
    }
  }
  return nullptr;
}

std::vector<const config::IgnoreRule*> IgnoreList::strip_ids(model::Guids& guids,
                                                             std::string_view kind,
                                                             std::string_view remote_id) const {
  std::vector<const config::IgnoreRule*> hit;
  for (const auto* rule : m_ids) {
    if ((!rule->type.empty() && rule->type != kind) ||
        (!rule->item.empty() && rule->item != remote_id)) {
      continue;
    }
    const auto before = guids.size();
    std::erase_if(guids, [&](const model::Guid& g) {
      return g.key == rule->id->key && g.value == rule->id->value;
    });
    if (guids.size() != before) {
      hit.push_back(rule);
    }
  }
  return hit;
}

std::vector<const config::IgnoreRule*> IgnoreList::strip(backend::RemoteItem& item) const {
  if (m_ids.empty()) {
    return {};
  }
  return strip_ids(item.guids, item.type == model::MediaType::episode ? "episode" : "movie",
                   item.id);
}

std::vector<const config::IgnoreRule*> IgnoreList::strip(model::RemoteShow& show) const {
  if (m_ids.empty()) {
    return {};
  }
  return strip_ids(show.guids, "show", show.id);
}

} // namespace ws::sync
