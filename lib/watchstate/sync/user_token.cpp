// SPDX-License-Identifier: MIT
#include <watchstate/sync/user_token.hpp>

#include <watchstate/core/error.hpp>
#include <watchstate/core/log.hpp>

#include <fmt/format.h>

#include <utility>

namespace ws::sync {
namespace {

backend::Connection connection_of(const config::BackendConfig& backend, std::string token,
                                  int page_size) {
  backend::Connection c;
  c.name = backend.name;
  c.type = backend.type;
  c.url = backend.url;
  c.token = std::move(token);
  c.user = backend.user;
  c.page_size = page_size;
  return c;
}

// What a helper's own HTTP clients cost, added to the backend's figures.
struct Traffic {
  std::uint64_t requests = 0;
  std::uint64_t bytes_received = 0;

  template <typename Source> void add(const Source& source) {
    requests += source.requests_sent();
    bytes_received += source.bytes_received();
  }
};

// The server's machineIdentifier: the configured uuid, else what the server says (owner token).
std::string machine_id(const Services& services, const config::BackendConfig& backend,
                       const http::ClientOptions& options, Traffic& traffic) {
  if (!backend.uuid.empty()) {
    return backend.uuid;
  }
  auto admin = backend::make_backend(connection_of(backend, backend.token, 1),
                                     services.http_client(options));
  auto id = admin->server_info().id;
  traffic.add(*admin);
  return id;
}

class PlexUserBackend final : public backend::Backend {
public:
  PlexUserBackend(Services services, const config::Config& config, config::BackendConfig backend,
                  http::ClientOptions options, int page_size)
      : m_services(std::move(services)), m_cache(plex_token_cache_file(config)),
        m_guid_rules(config.matching.guids), m_backend(std::move(backend)),
        m_options(std::move(options)), m_page_size(page_size),
        m_label(fmt::format("{}/{}", m_backend.identity, m_backend.name)) {}

  model::ServerInfo server_info() override {
    if (m_checked_info) {
      // The cached token was just proven with this very request.
      auto info = std::move(*m_checked_info);
      m_checked_info.reset();
      return info;
    }
    return inner().server_info();
  }
  std::vector<backend::Library> libraries() override { return inner().libraries(); }
  void list_items(const std::vector<backend::Library>& libraries, model::ShowCache& shows,
                  const std::function<void(backend::RemoteItem&&)>& on_item) override {
    inner().list_items(libraries, shows, on_item);
  }
  std::vector<backend::RemoteUser> users() override { return inner().users(); }
  std::vector<backend::FoundItem> search(std::string_view query, int limit,
                                         model::ShowCache& shows) override {
    return inner().search(query, limit, shows);
  }
  std::vector<backend::FoundItem> find_item(std::string_view id, model::ShowCache& shows) override {
    return inner().find_item(id, shows);
  }
  std::vector<std::string> active_items() override { return inner().active_items(); }
  std::vector<backend::WriteOutcome>
  write(const std::vector<backend::WriteRequest>& requests) override {
    return inner().write(requests);
  }
  std::vector<backend::RemotePlaylist> playlists() override { return inner().playlists(); }
  backend::RemotePlaylist playlist(const std::string& playlist_id) override {
    return inner().playlist(playlist_id);
  }
  std::string create_playlist(const std::string& title,
                              const std::vector<std::string>& item_ids) override {
    return inner().create_playlist(title, item_ids);
  }
  void rename_playlist(const std::string& playlist_id, const std::string& title) override {
    inner().rename_playlist(playlist_id, title);
  }
  void add_to_playlist(const std::string& playlist_id,
                       const std::vector<std::string>& item_ids) override {
    inner().add_to_playlist(playlist_id, item_ids);
  }
  void remove_from_playlist(const std::string& playlist_id,
                            const std::vector<std::string>& entry_ids) override {
    inner().remove_from_playlist(playlist_id, entry_ids);
  }
  void move_in_playlist(const std::string& playlist_id, const std::string& entry_id,
                        std::size_t index, const std::string& after_entry_id) override {
    inner().move_in_playlist(playlist_id, entry_id, index, after_entry_id);
  }
  void delete_playlist(const std::string& playlist_id) override {
    inner().delete_playlist(playlist_id);
  }
  [[nodiscard]] std::uint64_t requests_sent() const override {
    return m_traffic.requests + (m_inner ? m_inner->requests_sent() : 0);
  }
  [[nodiscard]] std::uint64_t bytes_received() const override {
    return m_traffic.bytes_received + (m_inner ? m_inner->bytes_received() : 0);
  }

  [[nodiscard]] std::uint64_t dropped() const override { return m_inner ? m_inner->dropped() : 0; }

private:
  backend::Backend& inner() {
    if (!m_inner) {
      resolve();
    }
    return *m_inner;
  }

  void build(std::string token) {
    if (m_inner) {
      m_traffic.add(*m_inner);
    }
    auto connection = connection_of(m_backend, std::move(token), m_page_size);
    connection.guid_rules = m_guid_rules; // the same custom ids as every other backend
    m_inner = backend::make_backend(connection, m_services.http_client(m_options));
    m_inner->set_total_listener([this](std::uint64_t total) { report_total(total); });
  }

  void resolve() {
    const std::string machine = machine_id(m_services, m_backend, m_options, m_traffic);
    if (auto cached = m_cache.get(m_backend.name, m_backend.user, machine)) {
      build(std::move(*cached));
      try {
        m_checked_info = m_inner->server_info();
        return;
      } catch (const Error& e) {
        if (e.code() != Errc::no_perm) {
          throw;
        }
        log::info("{}: the server refused the cached token of user {}; obtaining a new one "
                  "through plex.tv",
                  m_label, m_backend.user);
        m_cache.erase(m_backend.name, m_backend.user, machine);
      }
    }
    backend::plex::PlexTv tv(m_label, m_backend.plextv_url, m_backend.token,
                             m_services.http_client(m_options));
    std::string token;
    try {
      backend::plex::HomeUserPin pin;
      pin.pin = m_backend.plex_pin;
      pin.entry = fmt::format("identities.{}.{}", m_backend.identity, m_backend.name);
      pin.key = m_backend.plex_pin_key.empty() ? "pin" : m_backend.plex_pin_key;
      token = tv.user_token(m_backend.user, machine, pin);
    } catch (...) {
      m_traffic.add(tv);
      throw;
    }
    m_traffic.add(tv);
    log::info("{}: obtained the server token of user {} through plex.tv", m_label, m_backend.user);
    m_cache.put(m_backend.name, m_backend.user, machine, token);
    build(std::move(token));
  }

  Services m_services;
  backend::plex::TokenCache m_cache;
  model::CustomGuidRules m_guid_rules;
  config::BackendConfig m_backend;
  http::ClientOptions m_options;
  int m_page_size;
  std::string m_label;
  std::unique_ptr<backend::Backend> m_inner;
  std::optional<model::ServerInfo> m_checked_info;
  Traffic m_traffic; // of the clients before m_inner (plex.tv, the owner's, replaced ones)
};

} // namespace

std::filesystem::path plex_token_cache_file(const config::Config& config) {
  return config.state_dir / "plex-tokens.json";
}

std::unique_ptr<backend::Backend> make_plex_user_backend(const Services& services,
                                                         const config::Config& config,
                                                         const config::BackendConfig& backend,
                                                         const http::ClientOptions& options,
                                                         int page_size) {
  return std::make_unique<PlexUserBackend>(services, config, backend, options, page_size);
}

std::vector<backend::plex::PlexTvUser> plex_tv_users(const Services& services,
                                                     const config::Config& /*config*/,
                                                     const config::BackendConfig& backend,
                                                     const http::ClientOptions& options) {
  Traffic traffic;
  const std::string machine = machine_id(services, backend, options, traffic);
  backend::plex::PlexTv tv(backend.name, backend.plextv_url, backend.token,
                           services.http_client(options));
  return tv.users(machine);
}

} // namespace ws::sync
