// SPDX-License-Identifier: MIT
#include <watchstate/sync/identities.hpp>

#include <watchstate/core/error.hpp>
#include <watchstate/model/user_name.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

namespace ws::sync {

std::vector<SuggestedIdentity> suggest_identities(const std::vector<BackendUsers>& backends,
                                                  const config::UserMapping& mapping,
                                                  std::vector<std::string>& warnings) {
  struct Group {
    std::string name;
    bool main = false;
    std::vector<SuggestedMember> members;
  };
  std::map<std::string, Group> groups; // by grouping key

  for (const auto& b : backends) {
    for (const auto& user : b.users) {
      if (user.disabled) {
        continue;
      }
      const std::string normalised = model::normalise_user_name(user.name);
      std::string key = "name:" + normalised;
      std::string name = normalised;
      for (std::size_t g = 0; g < mapping.groups.size(); ++g) {
        const auto& group = mapping.groups[g];
        const bool member =
            std::any_of(group.begin(), group.end(), [&](const config::MappingMember& m) {
              return m.backend == b.backend && model::normalise_user_name(m.name) == normalised;
            });
        if (!member) {
          continue;
        }
        key = fmt::format("map:{}", g);
        name = model::normalise_user_name(group.front().name);
        for (const auto& m : group) {
          if (!m.replace_with.empty()) {
            name = model::normalise_user_name(m.replace_with);
          }
        }
        break;
      }
      if (name.empty()) {
        warnings.push_back(fmt::format("{}: user {} has no usable name; map it in a mapping file",
                                       b.backend, user.id));
        continue;
      }
      Group& group = groups[key];
      group.name = name;
      const bool is_main = b.main_user.empty() ? user.admin : user.id == b.main_user;
      group.main = group.main || is_main;
      const bool taken =
          std::any_of(group.members.begin(), group.members.end(),
                      [&b](const SuggestedMember& m) { return m.backend == b.backend; });
      if (taken) {
        warnings.push_back(fmt::format("{}: users named like '{}' more than once; user {} left out",
                                       b.backend, name, user.id));
        continue;
      }
      group.members.push_back(SuggestedMember{b.backend, user.id, user.name});
    }
  }

  std::vector<SuggestedIdentity> out;
  for (auto& [key, group] : groups) {
    if (group.main) {
      continue;
    }
    if (group.name == "main") {
      group.name = "main_user"; // 'main' is reserved for the backends' own users
    }
    auto same_name = std::find_if(out.begin(), out.end(), [&group](const SuggestedIdentity& i) {
      return i.name == group.name;
    });
    if (same_name != out.end()) {
      warnings.push_back(fmt::format("two groups of users are both named '{}'; the second is "
                                     "left out (map it with replace_with)",
                                     group.name));
      continue;
    }
    out.push_back(SuggestedIdentity{group.name, std::move(group.members)});
  }
  std::sort(out.begin(), out.end(),
            [](const SuggestedIdentity& a, const SuggestedIdentity& b) { return a.name < b.name; });
  return out;
}

std::string identities_yaml(const std::vector<SuggestedIdentity>& identities) {
  if (identities.empty()) {
    return "identities: {}\n";
  }
  std::string out = "identities:\n";
  for (const auto& identity : identities) {
    out += fmt::format("  {}:\n", identity.name);
    for (const auto& m : identity.members) {
      std::string quoted;
      for (const char c : m.user_id) {
        if (c == '"' || c == '\\') {
          quoted += '\\';
        }
        quoted += c;
      }
      std::string comment;
      for (const char c : m.user_name) {
        comment += (c == '\n' || c == '\r') ? ' ' : c;
      }
      out += fmt::format("    {}: {{ user: \"{}\" }}  # {}\n", m.backend, quoted, comment);
    }
  }
  return out;
}

} // namespace ws::sync
