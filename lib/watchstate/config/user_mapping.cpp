// SPDX-License-Identifier: MIT
#include <watchstate/config/user_mapping.hpp>

#include <watchstate/core/error.hpp>
#include <watchstate/model/user_name.hpp>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

namespace ws::config {

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
      if (model::normalise_user_name(member.name).empty()) {
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

} // namespace ws::config
