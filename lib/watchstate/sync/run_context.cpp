// SPDX-License-Identifier: MIT
#include <watchstate/core/exit_code.hpp>
#include <watchstate/sync/run_context.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace ws::sync {
namespace {

std::string configured_names(const config::Config& config) {
  std::string names;
  for (const auto& b : config.backends) {
    names += names.empty() ? "" : ", ";
    names += b.name;
  }
  return names;
}

} // namespace

void validate_backend_filter(const config::Config& config, const RunOptions& options) {
  auto check = [&](const std::vector<std::string>& names, const char* flag) {
    for (const auto& name : names) {
      const bool known = std::any_of(config.backends.begin(), config.backends.end(),
                                     [&](const auto& b) { return b.name == name; });
      if (!known) {
        throw Error(Errc::usage, fmt::format("{} {}: no such backend; configured: {}", flag, name,
                                             configured_names(config)));
      }
    }
  };
  check(options.select, "--select-backend");
  check(options.exclude, "--exclude-backend");
}

bool backend_selected(const RunOptions& options, const std::string& name) {
  auto has = [&](const std::vector<std::string>& list) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  if (!options.select.empty() && !has(options.select)) {
    return false;
  }
  return !has(options.exclude);
}

std::vector<std::string> identities_to_run(const config::Config& config,
                                           const RunOptions& options) {
  std::vector<std::string> all{"main"};
  for (const auto& id : config.identities) {
    all.push_back(id.name);
  }
  if (!options.identity) {
    return all;
  }
  if (std::find(all.begin(), all.end(), *options.identity) == all.end()) {
    std::string names;
    for (const auto& n : all) {
      names += names.empty() ? n : ", " + n;
    }
    throw Error(Errc::usage, fmt::format("--identity {}: no such identity; configured: {}",
                                         *options.identity, names));
  }
  return {*options.identity};
}

int exit_code_for_backends(const std::vector<BackendError>& errors, std::size_t attempted) {
  if (errors.empty()) {
    return exit_code::ok;
  }
  std::set<std::string> failed_backends;
  for (const auto& e : errors) {
    if (e.item.empty()) {
      failed_backends.insert(e.identity + "/" + e.backend);
    }
  }
  if (failed_backends.size() < attempted) {
    return exit_code::attention;
  }
  for (Errc preferred : {Errc::config, Errc::no_perm, Errc::protocol, Errc::tempfail}) {
    if (std::any_of(errors.begin(), errors.end(),
                    [&](const auto& e) { return e.item.empty() && e.kind == preferred; })) {
      return exit_code_for(preferred);
    }
  }
  return exit_code::attention;
}

} // namespace ws::sync
