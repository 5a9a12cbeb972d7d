// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/core/time.hpp>
#include <watchstate/webhook/payload.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace ws::webhook {

struct QueuedEvent {
  std::int64_t id = 0;
  UnixTime received_at = 0;
  int attempts = 0;
  WebhookEvent event;
};

// The durable queue between the HTTP answer and the worker: an SQLite file of its own
// (state_dir/webhook-queue.db, synchronous=FULL), so an acknowledged event survives a crash or
// a power cut, and a long ws-sync transaction on state.db never delays an answer. Thread-safe.
// Failures throw ws::Error (Errc::io, Errc::tempfail when busy).
class EventQueue {
public:
  explicit EventQueue(const std::filesystem::path& file);
  ~EventQueue();
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  // Store `event`; it is on disk when this returns. Returns its id.
  std::int64_t push(const WebhookEvent& event, UnixTime received_at);
  // Pending events whose retry time has come, oldest first.
  std::vector<QueuedEvent> due(UnixTime now, std::size_t limit);
  // Applied: gone from the queue.
  void remove(const std::vector<std::int64_t>& ids);
  // Not applied yet (a server unreachable, the state database locked): try again at `not_before`.
  void postpone(std::int64_t id, UnixTime not_before, const std::string& error);
  // Cannot ever be applied (no such item any more): kept, marked failed, out of the way.
  void fail(std::int64_t id, const std::string& error);
  [[nodiscard]] std::int64_t pending();
  [[nodiscard]] std::int64_t failed();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace ws::webhook
