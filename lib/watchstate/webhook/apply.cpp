// SPDX-License-Identifier: MIT
#include <watchstate/webhook/apply.hpp>

#include <watchstate/core/error.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/text.hpp>
#include <watchstate/sync/export.hpp>
#include <watchstate/sync/import.hpp>
#include <watchstate/sync/open_backend.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>

namespace ws::webhook {
namespace {

bool same_user(const config::BackendConfig& backend, const std::string& user_id) {
  if (backend.user.empty()) {
    // Without `user` a Plex backend acts as the token's owner, whose local account id is 1.
    return backend.type == model::BackendType::plex && user_id == "1";
  }
  return normalized_id(backend.user) == normalized_id(user_id);
}

// Items remembered as read after their events (EventApplier::m_read_after): enough for the
// items of a long burst, small next to the state database's cache.
constexpr std::size_t k_max_read_after = 100000;

std::string read_key(const EventTarget& target, const std::string& item_id) {
  std::string key = target.identity;
  key += '\x1f';
  key += target.backend.name;
  key += '\x1f';
  key += item_id;
  return key;
}

// The events of one (identity, backend) pair.
struct Group {
  EventTarget target;
  std::vector<const db::QueuedEvent*> events;
};

} // namespace

EventApplier::EventApplier(sync::Services services, const config::Config& config,
                           db::StateStore& store)
    : m_services(std::move(services)), m_config(config), m_store(store) {}

std::size_t EventApplier::learn_server_ids(bool ask_servers) {
  std::vector<std::string> identities{"main"};
  for (const auto& identity : m_config.identities) {
    identities.push_back(identity.name);
  }
  // Built aside and swapped in, so that a slow server never holds up targets().
  std::unordered_map<std::string, std::vector<EventTarget>> by_server;
  std::map<std::string, std::string> known; // backend name -> server id
  std::size_t unknown = 0;
  for (const auto& identity : identities) {
    for (auto& backend : config::backends_for_identity(m_config, identity)) {
      auto found = known.find(backend.name);
      if (found == known.end()) {
        std::string id = backend.uuid;
        if (id.empty()) {
          if (const auto server = m_store.server(backend.name)) {
            id = server->id;
          }
        }
        if (id.empty() && ask_servers) {
          try {
            sync::RunOptions quick;
            quick.timeout = 10; // a server that is down must not delay the others for long
            id = sync::open_backend(m_services, m_config, backend, quick)->server_info().id;
          } catch (const Error& e) {
            log::warning("{}: server id unknown until it answers or is imported: {}", backend.name,
                         redact(e.what()));
          }
        }
        unknown += id.empty() ? 1 : 0;
        found = known.emplace(backend.name, id).first;
      }
      if (!found->second.empty()) {
        by_server[found->second].push_back(EventTarget{identity, std::move(backend)});
      }
    }
  }
  const std::unique_lock lock(m_by_server_mutex);
  m_by_server = std::move(by_server);
  return unknown;
}

std::vector<EventTarget> EventApplier::targets(const model::WebhookEvent& event) const {
  std::vector<EventTarget> result;
  const std::shared_lock lock(m_by_server_mutex);
  const auto found = m_by_server.find(event.server_id);
  if (found == m_by_server.end()) {
    return result;
  }
  for (const auto& target : found->second) {
    if (event.library_event || same_user(target.backend, event.user_id)) {
      result.push_back(target);
    }
  }
  return result;
}

ApplyOutcome EventApplier::apply(const std::vector<db::QueuedEvent>& events,
                                 std::int64_t stored_through) {
  ApplyOutcome outcome;
  std::map<std::int64_t, int> found_on; // event id -> pairs that had its item
  // One group per (identity, backend): each item is re-read once with that identity's
  // credentials, however many events name it; not at all for an event an earlier call's read
  // of the item already stands for (it came after the event was stored).
  std::map<std::pair<std::string, std::string>, Group> groups;
  for (const auto& queued : events) {
    const auto targets = this->targets(queued.event);
    if (targets.empty()) {
      outcome.failed.emplace_back(queued.id,
                                  fmt::format("no configured backend has server id {} "
                                              "and user {}",
                                              queued.event.server_id, queued.event.user_id));
      continue;
    }
    for (const auto& target : targets) {
      const auto read = m_read_after.find(read_key(target, queued.event.item_id));
      if (read != m_read_after.end() && queued.id <= read->second) {
        ++found_on[queued.id];
        continue;
      }
      auto& group = groups[{target.identity, target.backend.name}];
      group.target = target;
      group.events.push_back(&queued);
    }
  }

  // Read the items. An event is retried when any of its reads could not be made now, and
  // fails when no server it names has its item.
  struct Read {
    std::vector<backend::RemoteItem> items;
    std::vector<model::RemoteShow> shows;
  };
  std::map<std::pair<std::string, std::string>, Read> reads;
  std::map<std::int64_t, std::string> retry;
  std::vector<std::string> read_now; // read_key()s of the items found by this call's reads
  for (auto& [key, group] : groups) {
    const auto& backend = group.target.backend;
    auto& read = reads[key];
    try {
      auto adapter = sync::open_backend(m_services, m_config, backend, sync::RunOptions{});
      auto shows = m_store.load_shows(group.target.identity, backend.name);
      std::map<std::string, bool> looked_up; // item id -> the server had it
      for (const auto* queued : group.events) {
        const auto& item_id = queued->event.item_id;
        if (const auto seen = looked_up.find(item_id); seen != looked_up.end()) {
          found_on[queued->id] += seen->second ? 1 : 0;
          continue;
        }
        auto hits = adapter->find_item(item_id, shows);
        int items = 0;
        for (auto& hit : hits) {
          if (hit.kind == backend::FoundItem::Kind::show) {
            continue;
          }
          if (!hit.item.library_id.empty() &&
              std::find(backend.ignore_libraries.begin(), backend.ignore_libraries.end(),
                        hit.item.library_id) != backend.ignore_libraries.end()) {
            log::info("{}: item {} is in an ignored library", backend.name, item_id);
            continue;
          }
          if (hit.item.type == model::MediaType::episode) {
            if (const auto show = shows.find(hit.item.show_id); show != shows.end()) {
              read.shows.push_back(show->second);
            }
          }
          read.items.push_back(std::move(hit.item));
          ++items;
        }
        looked_up[item_id] = items > 0;
        if (items > 0) {
          ++found_on[queued->id];
        }
      }
      for (const auto& [item_id, found] : looked_up) {
        if (found) {
          read_now.push_back(read_key(group.target, item_id));
        }
      }
    } catch (const Error& e) {
      const std::string message = redact(e.what());
      log::warning("webhook: {}", message);
      read = Read{};
      for (const auto* queued : group.events) {
        retry[queued->id] = message;
      }
    }
  }

  // Apply every read in one transaction, then push the changed rows.
  std::map<std::string, std::vector<std::int64_t>> rows_by_identity;
  {
    db::StateStore::Transaction tx(m_store);
    for (auto& [key, group] : groups) {
      auto& read = reads[key];
      if (read.items.empty()) {
        continue;
      }
      auto result =
          sync::import_items(m_services, m_config, m_store, group.target.identity,
                             group.target.backend, std::move(read.items), std::move(read.shows));
      outcome.rows_changed += result.counts.marked_played + result.counts.marked_unplayed +
                              result.counts.progress_updated;
      auto& rows = rows_by_identity[group.target.identity];
      rows.insert(rows.end(), result.rows.begin(), result.rows.end());
    }
    tx.commit();
  }
  // The reads are in the state database: they stand for every event stored before them.
  if (stored_through > 0) {
    if (m_read_after.size() + read_now.size() > k_max_read_after) {
      m_read_after.clear();
    }
    for (auto& key : read_now) {
      auto& through = m_read_after[std::move(key)];
      through = std::max(through, stored_through);
    }
  }
  for (auto& [identity, rows] : rows_by_identity) {
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    sync::RunOptions options;
    options.identity = identity;
    options.only_items = rows;
    const auto exported = sync::run_export(m_services, m_config, m_store, options, nullptr);
    for (const auto& id : exported.identities) {
      for (const auto& b : id.backends) {
        outcome.writes += b.marked_played + b.marked_unplayed + b.progress_updated;
      }
    }
    // A failed push is not lost: the rows are in the state database and the next ws-sync
    // exports them.
  }

  for (const auto& queued : events) {
    if (std::any_of(outcome.failed.begin(), outcome.failed.end(),
                    [&](const auto& f) { return f.first == queued.id; })) {
      continue;
    }
    if (const auto r = retry.find(queued.id); r != retry.end()) {
      outcome.retry.emplace_back(queued.id, r->second);
    } else if (found_on[queued.id] == 0) {
      outcome.failed.emplace_back(
          queued.id,
          fmt::format("{} has no item {}", source_name(queued.event.source), queued.event.item_id));
    } else {
      outcome.applied.push_back(queued.id);
    }
  }
  return outcome;
}

} // namespace ws::webhook
