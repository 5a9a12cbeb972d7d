// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/backend/backend.hpp>
#include <watchstate/config/user_mapping.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace ws::sync {

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
                                                  const config::UserMapping& mapping,
                                                  std::vector<std::string>& warnings);

// The `identities:` YAML block of `identities` (users only: tokens are obtained at run time).
std::string identities_yaml(const std::vector<SuggestedIdentity>& identities);

} // namespace ws::sync
