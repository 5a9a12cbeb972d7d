// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/backend/backend.hpp>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ws::sync {

// A user name as identities compare it: lower-case, every character outside
// [a-z0-9_] dropped, and a name of digits only prefixed "user_". Empty when nothing is left.
std::string normalise_user_name(std::string_view name);

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

// The users one backend lists, and which of them is the main identity's.
struct BackendUsers {
  std::string backend;
  std::vector<backend::RemoteUser> users; // `admin` marks the main user when main_user is empty
  std::string main_user;                  // the main backend entry's `user`, when set
};

struct SuggestedMember {
  std::string backend;
  std::string user_id;
  std::string user_name;
};

struct SuggestedIdentity {
  std::string name;
  std::vector<SuggestedMember> members; // in the order of the backends given
};

// Group the users of every backend into people: a mapping group first, else equal normalised
// names. Groups holding a main user are the main identity and left out; so are disabled users.
// Sorted by name. `warnings` receives one line per user that could not be placed.
std::vector<SuggestedIdentity> suggest_identities(const std::vector<BackendUsers>& backends,
                                                  const UserMapping& mapping,
                                                  std::vector<std::string>& warnings);

// The `identities:` YAML block of `identities` (users only: tokens are obtained at run time).
std::string identities_yaml(const std::vector<SuggestedIdentity>& identities);

} // namespace ws::sync
