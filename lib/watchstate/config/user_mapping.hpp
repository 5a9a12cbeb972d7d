// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ws::config {

// One member of a mapping group: backend `backend`'s user named `name`.
struct MappingMember {
  std::string backend;
  std::string name;
  std::string replace_with; // the identity's name, when set
};

// WatchState's mapper.yaml: `version: "1.5"`, `map:` a list of groups, each a map
// {<backend>: {name: <username>, replace_with?: <name>, options?: …}}.
struct UserMapping {
  std::vector<std::vector<MappingMember>> groups;
};

// Parse mapping text; `file` names it in messages. Throws ws::Error(Errc::data) naming the file
// and the place at fault.
UserMapping parse_user_mapping(const std::string& text, const std::filesystem::path& file);
// Read and parse a mapping file (Errc::no_input when it does not exist).
UserMapping load_user_mapping(const std::filesystem::path& file);

} // namespace ws::config
