// SPDX-License-Identifier: MIT
#include <watchstate/backend/plex/plextv.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/text.hpp>
#include <watchstate/setup/config_check.hpp>
#include <watchstate/sync/open_backend.hpp>
#include <watchstate/sync/user_token.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <future>

namespace ws::setup {
namespace {

class Checker {
public:
  Checker(const sync::Services& services, const config::Config& config,
          const config::BackendConfig& backend, const sync::RunOptions& options)
      : m_services(services), m_config(config), m_backend(backend), m_options(options) {}

  std::vector<CheckResult> run() {
    try {
      if (m_backend.identity == "main") {
        check_main();
      } else {
        check_identity();
      }
    } catch (const Error& e) {
      fail(m_current, e.code(), redact(e.what()));
    } catch (const std::exception& e) {
      fail(m_current, Errc::internal, redact(e.what()));
    }
    return std::move(m_results);
  }

private:
  void add(std::string_view check, CheckStatus status, Errc kind, std::string message) {
    m_results.push_back(CheckResult{m_backend.identity, m_backend.name, std::string(check), status,
                                    kind, std::move(message)});
  }
  void ok(std::string_view check, std::string message) {
    add(check, CheckStatus::ok, Errc::config, std::move(message));
  }
  void warn(std::string_view check, std::string message) {
    add(check, CheckStatus::warning, Errc::config, std::move(message));
  }
  void fail(std::string_view check, Errc kind, std::string message) {
    add(check, CheckStatus::failed, kind, std::move(message));
  }

  void check_tls() {
    if (!m_backend.url.starts_with("https://")) {
      return;
    }
    if (m_backend.verify_tls) {
      ok("tls", "certificate verified");
    } else {
      warn("tls", "certificate not verified (options.verify_tls: false): anyone on the path "
                  "could read the token");
    }
  }

  void check_main() {
    check_tls();
    auto adapter = sync::open_backend(m_services, m_config, m_backend, m_options);
    m_current = "server";
    const auto info = adapter->server_info();
    ok("server", fmt::format("{} answers: '{}', {} {}, id {}", m_backend.url, info.name,
                             model::backend_type_name(m_backend.type), info.version, info.id));

    m_current = "uuid";
    if (m_backend.uuid.empty()) {
      warn("uuid", fmt::format("uuid is not set; set uuid: {} so that another server at this "
                               "address is refused",
                               info.id));
    } else if (m_backend.uuid != info.id) {
      fail("uuid", Errc::config,
           fmt::format("the server's id is {}, not the configured uuid {} (another server at "
                       "this address?)",
                       info.id, m_backend.uuid));
    } else {
      ok("uuid", "matches the server's id");
    }

    m_current = "user";
    std::vector<backend::RemoteUser> users;
    try {
      users = adapter->users();
    } catch (const Error& e) {
      // A Jellyfin/Emby user's own token may not list the users (an administrator's may): the
      // libraries below are listed as that user, which proves the user is there.
      if (e.code() != Errc::no_perm || m_backend.type == model::BackendType::plex) {
        throw;
      }
      m_current = "libraries";
      check_libraries(*adapter);
      ok("user", fmt::format("user {} (this token may not list users; its libraries answer)",
                             m_backend.user));
      return;
    }
    if (!check_user(users)) {
      return; // the libraries are listed as that user: nothing more to learn
    }

    m_current = "libraries";
    check_libraries(*adapter);
  }

  // Whether the configured user is there and may be used.
  bool check_user(const std::vector<backend::RemoteUser>& users) {
    const bool plex = m_backend.type == model::BackendType::plex;
    if (plex && m_backend.user.empty()) {
      ok("user", "no user set: the tools act as the token's owner");
      return true;
    }
    const auto it = std::find_if(users.begin(), users.end(), [&](const backend::RemoteUser& u) {
      return normalized_id(u.id) == normalized_id(m_backend.user);
    });
    if (it == users.end()) {
      std::vector<std::string> known;
      for (const auto& u : users) {
        known.push_back(fmt::format("{} (id {})", u.name, u.id));
      }
      fail("user", Errc::config,
           fmt::format("the server has no user with id {}; its users: {}", m_backend.user,
                       known.empty() ? std::string("none listed")
                                     : fmt::format("{}", fmt::join(known, ", "))));
      return false;
    }
    if (it->disabled) {
      fail("user", Errc::config,
           fmt::format("user {} ({}) is disabled on the server", it->name, it->id));
      return false;
    }
    ok("user",
       fmt::format("user {} ({}){}", it->name, it->id, it->admin ? ", an administrator" : ""));
    return true;
  }

  void check_libraries(backend::Backend& adapter) {
    const auto all = adapter.libraries();
    std::vector<std::string> wanted;
    std::size_t ignored = 0;
    for (const auto& library : all) {
      if (sync::library_ignored(m_backend, library)) {
        ++ignored;
      } else {
        wanted.push_back(library.title);
      }
    }
    for (const auto& entry : m_backend.ignore_libraries) {
      const bool names_one = std::any_of(all.begin(), all.end(), [&](const backend::Library& l) {
        return entry == l.id || iequals(entry, l.title);
      });
      if (!names_one) {
        warn("libraries", fmt::format("options.ignore_libraries names '{}', which is no movie "
                                      "or show library of this server",
                                      entry));
      }
    }
    if (wanted.empty()) {
      warn("libraries", fmt::format("no movie or show library to sync ({} ignored)", ignored));
      return;
    }
    ok("libraries", fmt::format("{} to sync: {}{}", wanted.size(), fmt::join(wanted, ", "),
                                ignored > 0 ? fmt::format(" ({} ignored)", ignored) : ""));
  }

  // An identity's view: its own token (given, or obtained through plex.tv) reaches the server
  // and sees its libraries as that person.
  void check_identity() {
    m_current = "identity";
    std::unique_ptr<backend::Backend> adapter;
    if (m_backend.obtain_user_token) {
      adapter = open_plex_person();
    } else {
      adapter = sync::open_backend(m_services, m_config, m_backend, m_options);
    }
    const auto info = adapter->server_info();
    if (!m_backend.uuid.empty() && m_backend.uuid != info.id) {
      fail("identity", Errc::config,
           fmt::format("the server's id is {}, not the configured uuid {}", info.id,
                       m_backend.uuid));
      return;
    }
    if (m_backend.type != model::BackendType::plex) {
      m_current = "user";
      if (!check_user(adapter->users())) {
        return;
      }
      m_current = "identity";
    }
    const auto libraries = adapter->libraries();
    ok("identity", fmt::format("{}'s {} reaches '{}' and sees {} librar{}", m_backend.identity,
                               m_backend.obtain_user_token ? "token (obtained through plex.tv)"
                               : m_backend.token.empty()   ? "view"
                                                           : "token",
                               info.name, libraries.size(), libraries.size() == 1 ? "y" : "ies"));
  }

  // A Plex person's adapter without writing the token cache: a cached token when it still
  // works, else one obtained through plex.tv for this run only.
  std::unique_ptr<backend::Backend> open_plex_person() {
    const auto client = sync::client_options(m_config, m_backend, m_options);
    config::BackendConfig owner = m_backend;
    owner.obtain_user_token = false;
    owner.user.clear();
    const auto machine =
        sync::open_backend(m_services, m_config, owner, m_options)->server_info().id;
    const backend::plex::TokenCache cache(sync::plex_token_cache_file(m_config));
    if (auto cached = cache.get(m_backend.name, m_backend.user, machine)) {
      config::BackendConfig person = owner;
      person.token = *cached;
      person.user = m_backend.user;
      auto adapter = sync::open_backend(m_services, m_config, person, m_options);
      try {
        adapter->server_info();
        return adapter;
      } catch (const Error& e) {
        if (e.code() != Errc::no_perm) {
          throw;
        }
      }
    }
    backend::plex::PlexTv tv(fmt::format("{}/{}", m_backend.identity, m_backend.name),
                             m_backend.plextv_url, m_backend.token, m_services.http_client(client));
    config::BackendConfig person = owner;
    person.token = tv.user_token(
        m_backend.user, machine,
        backend::plex::HomeUserPin{
            m_backend.plex_pin, fmt::format("identities.{}.{}", m_backend.identity, m_backend.name),
            m_backend.plex_pin_key});
    person.user = m_backend.user;
    return sync::open_backend(m_services, m_config, person, m_options);
  }

  const sync::Services& m_services;
  const config::Config& m_config;
  config::BackendConfig m_backend;
  const sync::RunOptions& m_options;
  std::string m_current = "server";
  std::vector<CheckResult> m_results;
};

} // namespace

std::string_view check_status_name(CheckStatus status) {
  switch (status) {
  case CheckStatus::ok: return "ok";
  case CheckStatus::warning: return "warning";
  case CheckStatus::failed: return "failed";
  }
  return "failed";
}

std::vector<CheckResult> check_config(const sync::Services& services, const config::Config& config,
                                      const sync::RunOptions& options) {
  sync::validate_backend_filter(config, options);
  std::vector<config::BackendConfig> targets;
  for (const auto& identity : sync::identities_to_run(config, options)) {
    for (auto& backend : config::backends_for_identity(config, identity)) {
      if (sync::backend_selected(options, backend.name)) {
        targets.push_back(std::move(backend));
      }
    }
  }
  // Every backend at once: one unreachable server costs its timeout once, not once per backend.
  std::vector<std::future<std::vector<CheckResult>>> running;
  running.reserve(targets.size());
  for (const auto& target : targets) {
    running.push_back(std::async(std::launch::async, [&services, &config, &options, &target] {
      return Checker(services, config, target, options).run();
    }));
  }
  std::vector<CheckResult> results;
  for (auto& r : running) {
    auto part = r.get();
    std::move(part.begin(), part.end(), std::back_inserter(results));
  }
  return results;
}

} // namespace ws::setup
