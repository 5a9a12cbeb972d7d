// SPDX-License-Identifier: MIT
#include <watchstate/sync/identities.hpp>

#include <watchstate/core/error.hpp>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

namespace ws::sync {

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

namespace {

[[noreturn]] void bad(const std::filesystem::path& file, const YAML::Node& node,
                      const std::string& path, const std::string& what) {
  const auto mark = node.Mark();
  const int line = mark.line >= 0 ? mark.line + 1 : 0;
  throw Error(Errc::data, fmt::format("{}:{}: {}: {}", file.filename().string(), line, path, what));
}

std::string scalar(const std::filesystem::path& file, const YAML::Node& node,
                   const std::string& path) {
  if (!node.IsScalar()) {
    bad(file, node, path, "must be a string");
  }
  return node.Scalar();
}

} // namespace

UserMapping parse_user_mapping(const std::string& text, const std::filesystem::path& file) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(Errc::data, fmt::format("{}:{}: {}", file.filename().string(),
                                        e.mark.line >= 0 ? e.mark.line + 1 : 0, e.msg));
  }
  UserMapping mapping;
  if (root.IsNull()) {
    return mapping;
  }
  if (!root.IsMap()) {
    bad(file, root, "(top)", "must be a map with `version` and `map`");
  }
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    if (key != "version" && key != "map") {
      bad(file, kv.first, key, "unknown key (expected version, map)");
    }
  }
  if (const auto version = root["version"]; version) {
    (void)scalar(file, version, "version");
  }
  const auto map = root["map"];
  if (!map || map.IsNull()) {
    return mapping;
  }
  if (!map.IsSequence()) {
    bad(file, map, "map", "must be a list of groups");
  }
  for (std::size_t i = 0; i < map.size(); ++i) {
    const auto group = map[i];
    const std::string gpath = fmt::format("map[{}]", i);
    if (!group.IsMap() || group.size() == 0) {
      bad(file, group, gpath, "must map backend names to {name: <username>}");
    }
    std::vector<MappingMember> members;
    for (const auto& kv : group) {
      MappingMember member;
      member.backend = scalar(file, kv.first, gpath);
      const std::string mpath = gpath + "." + member.backend;
      const auto& entry = kv.second;
      if (!entry.IsMap()) {
        bad(file, entry, mpath, "must be a map with `name`");
      }
      for (const auto& field : entry) {
        const std::string name = field.first.as<std::string>();
        if (name == "name") {
          member.name = scalar(file, field.second, mpath + ".name");
        } else if (name == "replace_with") {
          member.replace_with = scalar(file, field.second, mpath + ".replace_with");
        } else if (name != "options") {
          bad(file, field.first, mpath + "." + name,
              "unknown key (expected name, replace_with, options)");
        }
      }
      if (normalise_user_name(member.name).empty()) {
        bad(file, entry, mpath + ".name", "is required");
      }
      members.push_back(std::move(member));
    }
    mapping.groups.push_back(std::move(members));
  }
  return mapping;
}

UserMapping load_user_mapping(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw Error(Errc::no_input, fmt::format("cannot read the mapping file {}", file.string()));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_user_mapping(buffer.str(), file);
}

std::vector<SuggestedIdentity> suggest_identities(const std::vector<BackendUsers>& backends,
                                                  const UserMapping& mapping,
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
      const std::string normalised = normalise_user_name(user.name);
      std::string key = "name:" + normalised;
      std::string name = normalised;
      for (std::size_t g = 0; g < mapping.groups.size(); ++g) {
        const auto& group = mapping.groups[g];
        const bool member = std::any_of(group.begin(), group.end(), [&](const MappingMember& m) {
          return m.backend == b.backend && normalise_user_name(m.name) == normalised;
        });
        if (!member) {
          continue;
        }
        key = fmt::format("map:{}", g);
        name = normalise_user_name(group.front().name);
        for (const auto& m : group) {
          if (!m.replace_with.empty()) {
            name = normalise_user_name(m.replace_with);
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
