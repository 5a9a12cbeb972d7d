// SPDX-License-Identifier: MIT
#include <watchstate/db/event_queue.hpp>

#include <watchstate/core/error.hpp>
#include <watchstate/db/sqlite.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <mutex>
#include <optional>

namespace ws::db {

using model::source_name;
using model::WebhookEvent;
using model::WebhookSource;

namespace {

constexpr const char* k_schema = R"sql(
CREATE TABLE IF NOT EXISTS events (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at   INTEGER NOT NULL,
  source        TEXT    NOT NULL,
  event         TEXT    NOT NULL,
  server_id     TEXT    NOT NULL,
  user_id       TEXT    NOT NULL,
  item_id       TEXT    NOT NULL,
  item_type     TEXT    NOT NULL,
  title         TEXT    NOT NULL,
  library_event INTEGER NOT NULL,
  status        TEXT    NOT NULL DEFAULT 'pending', -- pending | failed
  attempts      INTEGER NOT NULL DEFAULT 0,
  not_before    INTEGER NOT NULL DEFAULT 0,
  last_error    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_due ON events (status, not_before, id);
)sql";

WebhookSource source_from(std::string_view name) {
  if (name == "tautulli") {
    return WebhookSource::tautulli;
  }
  if (name == "jellyfin") {
    return WebhookSource::jellyfin;
  }
  if (name == "emby") {
    return WebhookSource::emby;
  }
  return WebhookSource::plex;
}

// The columns read_event() reads, in its order.
constexpr const char* k_event_columns = "id, received_at, attempts, source, event, server_id, "
                                        "user_id, item_id, item_type, title, library_event";

QueuedEvent read_event(SQLite::Statement& q) {
  QueuedEvent e;
  e.id = q.getColumn(0).getInt64();
  e.received_at = q.getColumn(1).getInt64();
  e.attempts = q.getColumn(2).getInt();
  e.event.source = source_from(q.getColumn(3).getText());
  e.event.event = q.getColumn(4).getString();
  e.event.server_id = q.getColumn(5).getString();
  e.event.user_id = q.getColumn(6).getString();
  e.event.item_id = q.getColumn(7).getString();
  e.event.item_type = q.getColumn(8).getString();
  e.event.title = q.getColumn(9).getString();
  e.event.library_event = q.getColumn(10).getInt() != 0;
  return e;
}

std::vector<QueueEntry> read_entries(SQLite::Database& db) {
  std::vector<QueueEntry> out;
  SQLite::Statement q(db, fmt::format("SELECT {}, status, not_before, last_error FROM events "
                                      "ORDER BY id",
                                      k_event_columns));
  while (q.executeStep()) {
    QueueEntry entry;
    entry.queued = read_event(q);
    entry.failed = q.getColumn(11).getString() == "failed";
    entry.not_before = q.getColumn(12).getInt64();
    entry.last_error = q.getColumn(13).getString();
    out.push_back(std::move(entry));
  }
  return out;
}

// Throws Error(Errc::usage) naming every id of `ids` that `entries` does not hold.
void check_known(const std::vector<QueueEntry>& entries, const std::vector<std::int64_t>& ids) {
  std::vector<std::string> unknown;
  for (const auto id : ids) {
    if (std::none_of(entries.begin(), entries.end(),
                     [id](const QueueEntry& e) { return e.queued.id == id; })) {
      unknown.push_back(fmt::format("#{}", id));
    }
  }
  if (!unknown.empty()) {
    throw Error(Errc::usage,
                fmt::format("no event {} in the webhook queue", fmt::join(unknown, ", ")));
  }
}

bool named(const std::vector<std::int64_t>& ids, std::int64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

[[noreturn]] void rethrow(const SQLite::Exception& e, std::string_view what) {
  detail::rethrow(e, fmt::format("cannot {}", what), "webhook queue");
}

} // namespace

struct EventQueue::Impl {
  std::mutex mutex;
  SQLite::Database db;
  // push() runs for every batch of a burst: its statement is prepared once.
  std::optional<SQLite::Statement> insert;

  explicit Impl(const std::filesystem::path& file)
      // Used by the HTTP front end and the worker (under `mutex`); an event is acknowledged only
      // once it is on disk.
      : db(detail::open_database(file, detail::Durability::full, /*single_thread=*/false)) {
    db.exec(k_schema);
    insert.emplace(db, "INSERT INTO events (received_at, source, event, server_id, user_id, "
                       "item_id, item_type, title, library_event) VALUES "
                       "(?, ?, ?, ?, ?, ?, ?, ?, ?)");
  }
};

EventQueue::EventQueue(const std::filesystem::path& file) {
  try {
    m_impl = std::make_unique<Impl>(file);
  } catch (const SQLite::Exception& e) {
    throw Error(Errc::io, fmt::format("webhook queue {}: {}", file.string(), e.what()));
  }
}

EventQueue::~EventQueue() = default;

std::int64_t EventQueue::push(const WebhookEvent& event, UnixTime received_at) {
  return push(std::vector<Arrival>{{event, received_at}}).front();
}

std::vector<std::int64_t> EventQueue::push(const std::vector<Arrival>& arrivals) {
  std::vector<std::int64_t> ids;
  ids.reserve(arrivals.size());
  const std::lock_guard lock(m_impl->mutex);
  try {
    SQLite::Transaction tx(m_impl->db);
    SQLite::Statement& q = *m_impl->insert;
    for (const auto& arrival : arrivals) {
      const auto& event = arrival.event;
      detail::exec(q, arrival.received_at, std::string(source_name(event.source)), event.event,
                   event.server_id, event.user_id, event.item_id, event.item_type, event.title,
                   event.library_event ? 1 : 0);
      ids.push_back(m_impl->db.getLastInsertRowid());
    }
    tx.commit();
  } catch (const SQLite::Exception& e) {
    rethrow(e, arrivals.size() == 1 ? "store an event" : "store events");
  }
  return ids;
}

std::vector<QueuedEvent> EventQueue::due(UnixTime now, std::size_t limit) {
  const std::lock_guard lock(m_impl->mutex);
  std::vector<QueuedEvent> out;
  try {
    SQLite::Statement q(m_impl->db,
                        fmt::format("SELECT {} FROM events WHERE status = 'pending' AND "
                                    "not_before <= ? ORDER BY id LIMIT ?",
                                    k_event_columns));
    SQLite::bind(q, now, static_cast<std::int64_t>(limit));
    while (q.executeStep()) {
      out.push_back(read_event(q));
    }
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read events");
  }
  return out;
}

void EventQueue::remove(const std::vector<std::int64_t>& ids) {
  if (ids.empty()) {
    return;
  }
  const std::lock_guard lock(m_impl->mutex);
  try {
    SQLite::Transaction tx(m_impl->db);
    SQLite::Statement q(m_impl->db, "DELETE FROM events WHERE id = ?");
    for (const auto id : ids) {
      detail::exec(q, id);
    }
    tx.commit();
  } catch (const SQLite::Exception& e) {
    rethrow(e, "remove applied events");
  }
}

void EventQueue::postpone(std::int64_t id, UnixTime not_before, const std::string& error) {
  const std::lock_guard lock(m_impl->mutex);
  try {
    SQLite::Statement q(m_impl->db, "UPDATE events SET attempts = attempts + 1, not_before = ?, "
                                    "last_error = ? WHERE id = ?");
    SQLite::bind(q, not_before, error, id);
    q.exec();
  } catch (const SQLite::Exception& e) {
    rethrow(e, "postpone an event");
  }
}

void EventQueue::fail(std::int64_t id, const std::string& error) {
  const std::lock_guard lock(m_impl->mutex);
  try {
    SQLite::Statement q(m_impl->db, "UPDATE events SET status = 'failed', attempts = attempts + "
                                    "1, last_error = ? WHERE id = ?");
    SQLite::bind(q, error, id);
    q.exec();
  } catch (const SQLite::Exception& e) {
    rethrow(e, "mark an event failed");
  }
}

std::int64_t EventQueue::pending() { return count("pending"); }

std::int64_t EventQueue::failed() { return count("failed"); }

std::int64_t EventQueue::last_id() {
  const std::lock_guard lock(m_impl->mutex);
  try {
    // AUTOINCREMENT keeps the highest id in sqlite_sequence, also once that event is deleted.
    return detail::query_int64(
        m_impl->db, "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)");
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read the last event id");
  }
}

std::int64_t EventQueue::count(const char* status) {
  const std::lock_guard lock(m_impl->mutex);
  try {
    return detail::query_int64(m_impl->db, "SELECT COUNT(*) FROM events WHERE status = ?",
                               std::string(status));
  } catch (const SQLite::Exception& e) {
    rethrow(e, "count events");
  }
}

std::vector<QueueEntry> EventQueue::entries() {
  const std::lock_guard lock(m_impl->mutex);
  try {
    return read_entries(m_impl->db);
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read events");
  }
}

void EventQueue::validate(const RetrySelection& selection) {
  if (selection.ids.empty() && !selection.all_failed) {
    throw Error(Errc::usage, "retry: name the events (ids) or give --all-failed");
  }
}

void EventQueue::validate(const PurgeSelection& selection) {
  if (!selection.ids.empty() && (selection.failed || selection.received_before)) {
    throw Error(Errc::usage, "purge: either event ids, or --failed and/or --older-than");
  }
  if (selection.ids.empty() && !selection.failed && !selection.received_before) {
    throw Error(Errc::usage, "purge: name the events (ids), or give --failed or --older-than");
  }
}

std::vector<QueueEntry> EventQueue::retry(const RetrySelection& selection, bool dry_run) {
  validate(selection);
  const std::lock_guard lock(m_impl->mutex);
  try {
    // IMMEDIATE: the worker cannot change an event between this read and the update.
    SQLite::Transaction tx(m_impl->db, SQLite::TransactionBehavior::IMMEDIATE);
    auto all = read_entries(m_impl->db);
    check_known(all, selection.ids);
    std::vector<QueueEntry> chosen;
    for (auto& entry : all) {
      if (named(selection.ids, entry.queued.id) || (selection.all_failed && entry.failed)) {
        chosen.push_back(std::move(entry));
      }
    }
    if (!dry_run) {
      SQLite::Statement q(m_impl->db, "UPDATE events SET status = 'pending', attempts = 0, "
                                      "not_before = 0, last_error = '' WHERE id = ?");
      for (const auto& entry : chosen) {
        detail::exec(q, entry.queued.id);
      }
      tx.commit();
    }
    return chosen;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "retry events");
  }
}

std::vector<QueueEntry> EventQueue::purge(const PurgeSelection& selection, bool dry_run) {
  validate(selection);
  const std::lock_guard lock(m_impl->mutex);
  try {
    SQLite::Transaction tx(m_impl->db, SQLite::TransactionBehavior::IMMEDIATE);
    auto all = read_entries(m_impl->db);
    check_known(all, selection.ids);
    std::vector<QueueEntry> chosen;
    for (auto& entry : all) {
      bool take = named(selection.ids, entry.queued.id);
      if (selection.ids.empty()) {
        take =
            (!selection.failed || entry.failed) &&
            (!selection.received_before || entry.queued.received_at < *selection.received_before);
      }
      if (take) {
        chosen.push_back(std::move(entry));
      }
    }
    if (!dry_run) {
      SQLite::Statement q(m_impl->db, "DELETE FROM events WHERE id = ?");
      for (const auto& entry : chosen) {
        detail::exec(q, entry.queued.id);
      }
      tx.commit();
    }
    return chosen;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "purge events");
  }
}

} // namespace ws::db
