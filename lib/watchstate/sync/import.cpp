// SPDX-License-Identifier: MIT
#include <watchstate/sync/import.hpp>

#include <watchstate/backend/backend.hpp>
#include <watchstate/core/exit_code.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/signals.hpp>
#include <watchstate/http/client.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/sync/import_rules.hpp>
#include <watchstate/sync/matching.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>

namespace ws::sync {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

// Everything one backend reported, gathered before any of it touches the database.
struct Fetched {
  const config::BackendConfig* config = nullptr;
  backend::ServerInfo server;
  std::vector<backend::RemoteItem> items;
  backend::ShowCache shows;       // known before the fetch, plus what it resolved
  backend::ShowCache shows_before; // to store only new or changed shows
  std::optional<BackendError> error;
  std::uint64_t requests = 0;
  UnixTime started = 0;
  Clock::time_point started_clock;
};

http::ClientOptions client_options(const config::Config& config,
                                   const config::BackendConfig& backend,
                                   const RunOptions& options) {
  http::ClientOptions o;
  o.concurrency = options.concurrency.value_or(backend.concurrency.value_or(config.http.concurrency));
  o.timeout = std::chrono::seconds(options.timeout.value_or(backend.timeout.value_or(config.http.timeout)));
  o.retries = config.http.retries;
  o.backoff = std::chrono::milliseconds(config.http.backoff_ms);
  o.verify_tls = backend.verify_tls;
  o.user_agent = std::string("watchstate/") + WS_VERSION;
  return o;
}

bool library_ignored(const config::BackendConfig& backend, const backend::Library& library) {
  return std::any_of(backend.ignore_libraries.begin(), backend.ignore_libraries.end(),
                     [&](const std::string& entry) {
                       if (entry == library.id) {
                         return true;
                       }
                       return entry.size() == library.title.size() &&
                              std::equal(entry.begin(), entry.end(), library.title.begin(),
                                         [](char a, char b) {
                                           return std::tolower(static_cast<unsigned char>(a)) ==
                                                  std::tolower(static_cast<unsigned char>(b));
                                         });
                     });
}

// Runs on a worker thread: it touches no database and no shared state.
Fetched fetch_backend(const config::Config& config, const config::BackendConfig& backend,
                      const std::string& identity, const RunOptions& options,
                      backend::ShowCache known_shows) {
  Fetched out;
  out.config = &backend;
  out.started = now();
  out.started_clock = Clock::now();
  out.shows_before = known_shows;
  out.shows = std::move(known_shows);

  backend::Connection connection;
  connection.name = backend.name;
  connection.type = backend.type;
  connection.url = backend.url;
  connection.token = backend.token;
  connection.user = backend.user;
  connection.page_size = backend.page_size.value_or(config.http.page_size);

  auto adapter = backend::make_backend(
      connection, http::make_curl_client(client_options(config, backend, options)));
  try {
    out.server = adapter->server_info();
    if (!backend.uuid.empty() && out.server.id != backend.uuid) {
      throw Error(Errc::config,
                  fmt::format("{}: the server at {} has id '{}', not the configured uuid '{}'",
                              backend.name, backend.url, out.server.id, backend.uuid));
    }
    auto libraries = adapter->libraries();
    std::erase_if(libraries, [&](const auto& library) {
      const bool ignored = library_ignored(backend, library);
      if (ignored) {
        log::info("{}: ignoring library '{}' ({})", backend.name, library.title, library.id);
      }
      return ignored;
    });
    adapter->list_items(libraries, out.shows,
                        [&](backend::RemoteItem&& item) { out.items.push_back(std::move(item)); });
  } catch (const Error& e) {
    out.error = BackendError{identity, backend.name, e.code(), redact(e.what())};
    out.items.clear();
    out.items.shrink_to_fit();
  } catch (const std::exception& e) {
    out.error = BackendError{identity, backend.name, Errc::internal,
                             redact(fmt::format("{}: {}", backend.name, e.what()))};
    out.items.clear();
  }
  out.requests = adapter->requests_sent();
  return out;
}

std::string state_text(bool watched, UnixTime when) {
  return fmt::format("{}@{}", watched ? "played" : "unplayed", when);
}

// Applies one backend's report to the database (inside the caller's transaction).
class BackendApplier {
public:
  BackendApplier(db::StateStore& store, const std::string& identity, Fetched& fetched,
                 const ImportPolicy& policy, BackendImportCounts& counts)
      : m_store(store), m_identity(identity), m_fetched(fetched), m_name(fetched.config->name),
        m_policy(policy), m_counts(counts) {}

  void run() {
    m_store.save_server(m_name, m_fetched.server);
    for (const auto& [id, show] : m_fetched.shows) {
      const auto before = m_fetched.shows_before.find(id);
      if (before == m_fetched.shows_before.end() || before->second.guids != show.guids ||
          before->second.title != show.title || before->second.year != show.year) {
        m_store.save_show(m_name, show);
      }
    }
    std::size_t n = 0;
    for (const auto& item : m_fetched.items) {
      if ((++n & 1023U) == 0) {
        throw_if_interrupted();
      }
      apply(item);
    }
  }

private:
  const backend::RemoteShow* show_of(const backend::RemoteItem& item) const {
    if (item.type != backend::MediaType::episode || item.show_id.empty()) {
      return nullptr;
    }
    const auto it = m_fetched.shows.find(item.show_id);
    return it == m_fetched.shows.end() ? nullptr : &it->second;
  }

  void apply(const backend::RemoteItem& item) {
    const backend::RemoteShow* show = show_of(item);
    static const backend::Guids k_none;
    const auto keys = matching_keys(item, show != nullptr ? show->guids : k_none);
    if (keys.empty()) {
      ++m_counts.skipped;
      log::debug("{}: skipped '{}' (id {}): no usable external id", m_name, item.title, item.id);
      return;
    }
    std::optional<db::ItemId> id;
    for (const auto& key : keys) {
      if ((id = m_store.find_by_key(m_identity, key))) {
        break;
      }
    }
    if (!id) {
      insert(item, show, keys);
      return;
    }
    update(*id, item, keys);
  }

  void insert(const backend::RemoteItem& item, const backend::RemoteShow* show,
              const std::vector<std::string>& keys) {
    if (m_policy.metadata_only) {
      // A metadata-only backend attaches ids to rows others created; it never creates rows.
      ++m_counts.skipped;
      return;
    }
    std::string title = item.title;
    int year = item.year;
    if (show != nullptr) {
      if (!show->title.empty()) {
        title = show->title;
      }
      if (show->year > 0) {
        year = show->year;
      }
    }
    const db::ItemRow row = new_row_from(item, m_identity, m_name, title, year, m_policy);
    const db::ItemId id = m_store.insert_item(row);
    for (const auto& key : keys) {
      m_store.add_key(m_identity, key, id);
    }
    m_store.upsert_record(id, make_record(m_name, item));
    if (row.watched) {
      log_change(id, "watched", "", state_text(true, row.updated));
    }
    if (row.progress_ms > 0) {
      log_change(id, "progress", "", std::to_string(row.progress_ms));
    }
    ++m_counts.added;
  }

  void update(db::ItemId id, const backend::RemoteItem& item, const std::vector<std::string>& keys) {
    auto local = m_store.item(id);
    if (!local) {
      ++m_counts.failed;
      return;
    }
    const auto previous = m_store.record(id, m_name);
    const ImportDecision d = decide_import(*local, previous, item, m_policy);
    bool row_changed = false;
    if (d.state != StateChange::none) {
      const bool played = d.state == StateChange::played;
      log_change(id, "watched", state_text(local->watched, local->updated),
                 state_text(played, d.new_updated));
      local->watched = played;
      local->updated = d.new_updated;
      if (played) {
        local->progress_ms = 0;
        local->progress_at = 0;
        ++m_counts.marked_played;
      } else {
        ++m_counts.marked_unplayed;
      }
      local->via = m_name;
      row_changed = true;
    }
    if (d.progress_changed) {
      log_change(id, "progress", std::to_string(local->progress_ms),
                 std::to_string(d.new_progress_ms));
      local->progress_ms = d.new_progress_ms;
      local->progress_at = d.new_progress_at;
      local->via = m_name;
      ++m_counts.progress_updated;
      row_changed = true;
    }
    if (row_changed) {
      local->updated_at = m_policy.now;
      m_store.update_item_state(*local);
    }
    if (d.record_changed) {
      m_store.upsert_record(id, make_record(m_name, item));
      for (const auto& key : keys) {
        if (!m_store.add_key(m_identity, key, id)) {
          log::debug("{}: key {} of '{}' already belongs to another item", m_name, key,
                     item.title);
        }
      }
    }
    if (row_changed || d.record_changed) {
      ++m_counts.updated;
    } else {
      ++m_counts.unchanged;
    }
  }

  void log_change(db::ItemId id, const char* field, std::string old_value, std::string new_value) {
    m_store.log_change(db::ChangeEntry{0, id, m_name, "import", field, std::move(old_value),
                                       std::move(new_value), m_policy.now});
  }

  db::StateStore& m_store;
  const std::string& m_identity;
  Fetched& m_fetched;
  const std::string& m_name;
  const ImportPolicy& m_policy;
  BackendImportCounts& m_counts;
};

void import_identity(const config::Config& config, db::StateStore& store,
                     const RunOptions& options, const std::string& identity,
                     ImportResult& result) {
  auto backends = config::backends_for_identity(config, identity);
  std::erase_if(backends, [&](const auto& b) { return !backend_selected(options, b.name); });
  // Full-import backends first: metadata-only ones only attach ids to rows that exist.
  std::stable_partition(backends.begin(), backends.end(),
                        [](const auto& b) { return b.import_enabled; });

  IdentityImportResult identity_result;
  identity_result.identity = identity;
  if (backends.empty()) {
    result.identities.push_back(std::move(identity_result));
    return;
  }

  auto start_fetch = [&](std::size_t i) {
    const auto& backend = backends[i];
    return std::async(std::launch::async, fetch_backend, std::cref(config), std::cref(backend),
                      std::cref(identity), std::cref(options), store.load_shows(backend.name));
  };

  // Fetch one backend ahead: the network work of the next overlaps the database work of this
  // one, and at most two backends' items are in memory at once.
  std::future<Fetched> next = start_fetch(0);
  for (std::size_t i = 0; i < backends.size(); ++i) {
    Fetched fetched = next.get();
    if (i + 1 < backends.size() && pending_signal() == 0) {
      next = start_fetch(i + 1);
    }
    throw_if_interrupted();
    const auto& backend = backends[i];
    ++result.backends_attempted;

    BackendImportCounts counts;
    counts.backend = backend.name;
    counts.metadata_only = !backend.import_enabled;
    counts.server_id = fetched.server.id;
    counts.requests = fetched.requests;
    counts.fetched = fetched.items.size();

    if (fetched.error) {
      log::error("{}", fetched.error->message);
      result.errors.push_back(*fetched.error);
    } else {
      ImportPolicy policy;
      policy.cursor = store.cursor(identity, backend.name, "import");
      policy.metadata_only = !backend.import_enabled;
      policy.force_full = options.full;
      policy.disable_mark_unplayed = backend.disable_mark_unplayed;
      policy.progress_sync = config.progress.sync;
      policy.progress_minimum_ms = static_cast<std::int64_t>(config.progress.minimum) * 1000;
      policy.now = now();

      // A dry run works inside the caller's run-wide transaction, rolled back at the end, so
      // later backends see what earlier ones would have changed.
      std::optional<db::StateStore::Transaction> tx;
      if (!options.dry_run) {
        tx.emplace(store);
      }
      BackendApplier(store, identity, fetched, policy, counts).run();
      if (tx) {
        store.set_cursor(identity, backend.name, "import", fetched.started);
        tx->commit();
      }
      counts.ok = true;
      log::info("{}: {} fetched, {} added, {} updated, {} unchanged, {} skipped ({} requests)",
                backend.name, counts.fetched, counts.added, counts.updated, counts.unchanged,
                counts.skipped, counts.requests);
    }
    counts.duration_ms = elapsed_ms(fetched.started_clock);
    identity_result.backends.push_back(std::move(counts));
  }
  result.identities.push_back(std::move(identity_result));
}

} // namespace

int ImportResult::exit_code() const {
  int code = exit_code_for_backends(errors, backends_attempted);
  if (code == exit_code::ok) {
    for (const auto& identity : identities) {
      for (const auto& b : identity.backends) {
        if (b.failed > 0) {
          return exit_code::attention;
        }
      }
    }
  }
  return code;
}

ImportResult run_import(const config::Config& config, db::StateStore& store,
                        const RunOptions& options) {
  validate_backend_filter(config, options);
  ImportResult result;
  std::optional<db::StateStore::Transaction> dry_run_tx;
  if (options.dry_run) {
    dry_run_tx.emplace(store);
  }
  for (const auto& identity : identities_to_run(config, options)) {
    import_identity(config, store, options, identity, result);
  }
  return result; // a dry run's transaction rolls back here
}

void write_import_result(json::Writer& out, const ImportResult& result) {
  out.begin_object().key("identities").begin_object();
  for (const auto& identity : result.identities) {
    out.key(identity.identity).begin_object().key("backends").begin_object();
    for (const auto& b : identity.backends) {
      out.key(b.backend).begin_object();
      out.field("status", b.ok ? "ok" : "failed");
      out.field("fetched", b.fetched);
      out.field("added", b.added);
      out.field("updated", b.updated);
      out.field("unchanged", b.unchanged);
      out.field("skipped", b.skipped);
      out.field("failed", b.failed);
      out.field("requests", b.requests);
      out.field("marked_played", b.marked_played);
      out.field("marked_unplayed", b.marked_unplayed);
      out.field("progress_updated", b.progress_updated);
      out.field("metadata_only", b.metadata_only);
      out.field("server_id", b.server_id);
      out.field("duration_ms", b.duration_ms);
      out.end_object();
    }
    out.end_object().end_object();
  }
  out.end_object().end_object();
}

} // namespace ws::sync
