// SPDX-License-Identifier: MIT
#include <watchstate/sync/import.hpp>

#include <watchstate/backend/backend.hpp>
#include <watchstate/core/abort.hpp>
#include <watchstate/core/exit_code.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/core/progress.hpp>
#include <watchstate/core/redact.hpp>
#include <watchstate/core/signals.hpp>
#include <watchstate/http/client.hpp>
#include <watchstate/sync/import_apply.hpp>
#include <watchstate/sync/import_rules.hpp>
#include <watchstate/sync/open_backend.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

namespace ws::sync {
namespace {

using Clock = std::chrono::steady_clock;

// One page-sized slice of a backend's report, or (end == true) the end of that backend's
// report with how it went.
struct Batch {
  std::size_t backend_index = 0;
  std::vector<backend::RemoteItem> items;
  bool end = false;
  UnixTime started = 0; // with end: when the fetch of this backend began (its next cursor)
  model::ServerInfo server;
  std::optional<BackendError> error;
  std::uint64_t requests = 0;
  std::uint64_t bytes_received = 0;
  // with end: whether the listing held every item the server counted. Pages that shift while
  // they are read (an item removed from an earlier page moves the next one back onto it) can
  // hide an item from a listing: then what it did not report is not taken as gone.
  bool complete = true;
  // Shows the items of this batch refer to that no earlier batch carried: the fetching thread
  // owns its show cache, the writing thread keeps its own copy.
  std::vector<model::RemoteShow> shows;
  // The first batch of a backend: its libraries (with root folders when path matching is on).
  std::vector<backend::Library> libraries;
};

// A bounded hand-over from the fetching thread to the thread that writes the database, so that
// network and database work overlap while at most `capacity` batches wait in memory.
class BatchQueue {
public:
  explicit BatchQueue(std::size_t capacity) : m_capacity(capacity) {}

  // False once the queue was closed: the producer must stop.
  bool push(Batch&& batch) {
    std::unique_lock lock(m_mutex);
    m_not_full.wait(lock, [&] { return m_closed || m_batches.size() < m_capacity; });
    if (m_closed) {
      return false;
    }
    m_batches.push_back(std::move(batch));
    m_not_empty.notify_one();
    return true;
  }

  // The next batch; throws Interrupted when a signal arrives while waiting.
  Batch pop() {
    std::unique_lock lock(m_mutex);
    while (m_batches.empty()) {
      m_not_empty.wait_for(lock, std::chrono::milliseconds(100));
      if (m_batches.empty()) {
        lock.unlock();
        throw_if_interrupted();
        lock.lock();
      }
    }
    Batch batch = std::move(m_batches.front());
    m_batches.pop_front();
    m_not_full.notify_one();
    return batch;
  }

  void close() {
    std::lock_guard lock(m_mutex);
    m_closed = true;
    m_not_full.notify_all();
  }

  // The items of a batch the writing thread applied, handed back so that the fetching thread,
  // which allocated them, frees them: freed by the writing thread, every string went back
  // into the other thread's arena under its lock (a no-change import of 3 x 100,000 items
  // took 7-11 % more CPU).
  void give_back(std::vector<backend::RemoteItem>&& items) {
    std::lock_guard lock(m_mutex);
    m_spent.push_back(std::move(items));
  }

  // An emptied vector of spent items to fill again (the items freed here), or an empty one.
  std::vector<backend::RemoteItem> take_spent() {
    std::vector<std::vector<backend::RemoteItem>> spent;
    {
      std::lock_guard lock(m_mutex);
      spent.swap(m_spent);
    }
    std::vector<backend::RemoteItem> reused;
    for (auto& items : spent) {
      items.clear();
      if (reused.capacity() < items.capacity()) {
        reused.swap(items);
      }
    }
    return reused;
  }

private:
  std::size_t m_capacity;
  std::mutex m_mutex;
  std::condition_variable m_not_full;
  std::condition_variable m_not_empty;
  std::deque<Batch> m_batches;
  std::vector<std::vector<backend::RemoteItem>> m_spent;
  bool m_closed = false;
};

// Thrown inside an adapter's item callback when the consumer went away.
struct ConsumerGone {};

constexpr std::size_t k_batch_items = 1000;

// Runs on the fetching thread: lists one backend and hands its items over in batches. It
// touches no database. Returns false when the consumer went away.
bool fetch_backend(const Services& services, const config::Config& config,
                   const config::BackendConfig& backend, const std::string& identity,
                   const RunOptions& options, std::size_t index, model::ShowCache shows,
                   BatchQueue& queue) {
  Batch end;
  end.backend_index = index;
  end.end = true;
  end.started = services.now();

  auto adapter = open_backend(services, config, backend, options);
  Batch batch;
  batch.backend_index = index;
  try {
    end.server = adapter->server_info();
    if (!backend.uuid.empty() && end.server.id != backend.uuid) {
      throw Error(Errc::config,
                  fmt::format("{}: the server at {} has id '{}', not the configured uuid '{}'",
                              backend.name, backend.url, end.server.id, backend.uuid));
    }
    auto libraries = wanted_libraries(*adapter, backend, options);
    if (config.matching.paths.enabled) {
      try {
        adapter->fill_library_roots(libraries);
      } catch (const Error& e) {
        // Path matching is a fallback: without the folders it is off for this backend.
        log::warning("{}; path matching is off for {} in this run", redact(e.what()), backend.name);
      }
    }
    batch.libraries = libraries;
    batch.items.reserve(k_batch_items);
    std::unordered_set<std::string> shows_sent;
    // Hashes of the item ids listed (a multi-episode file is one item): cheaper than a set of
    // strings; a collision could only make a listing look incomplete, which is harmless.
    std::vector<std::size_t> listed;
    std::uint64_t counted = 0;
    progress::Bar bar(backend.name, "listing");
    adapter->set_total_listener([&bar, &counted](std::uint64_t total) {
      bar.set_total(total);
      counted = total;
    });
    adapter->list_items(libraries, shows, [&](backend::RemoteItem&& item) {
      bar.advance();
      listed.push_back(std::hash<std::string>{}(item.id));
      if (item.type == model::MediaType::episode && !item.show_id.empty() &&
          shows_sent.insert(item.show_id).second) {
        if (const auto it = shows.find(item.show_id); it != shows.end()) {
          batch.shows.push_back(it->second);
        }
      }
      batch.items.push_back(std::move(item));
      if (batch.items.size() >= k_batch_items) {
        if (!queue.push(std::move(batch))) {
          throw ConsumerGone{};
        }
        batch = Batch{};
        batch.backend_index = index;
        batch.items = queue.take_spent();
        batch.items.reserve(k_batch_items);
      }
    });
    if (!batch.items.empty() && !queue.push(std::move(batch))) {
      return false;
    }
    std::sort(listed.begin(), listed.end());
    const auto distinct =
        static_cast<std::uint64_t>(std::unique(listed.begin(), listed.end()) - listed.begin());
    end.complete = distinct + adapter->dropped() >= counted;
  } catch (const ConsumerGone&) {
    return false;
  } catch (const Error& e) {
    end.error = BackendError{identity, backend.name, e.code(), redact(e.what()), ""};
  } catch (const std::exception& e) {
    end.error = BackendError{identity, backend.name, Errc::internal,
                             redact(fmt::format("{}: {}", backend.name, e.what())), ""};
  }
  end.requests = adapter->requests_sent();
  end.bytes_received = adapter->bytes_received();
  return queue.push(std::move(end));
}

ImportPolicy import_policy(const config::Config& config, db::StateStore& store,
                           const std::string& identity, const config::BackendConfig& backend,
                           const RunOptions& options, UnixTime now) {
  ImportPolicy policy;
  policy.cursor = store.cursor(identity, backend.name, "import");
  policy.metadata_only = !backend.import_enabled || options.metadata_only;
  policy.keep_record_state = options.metadata_only && !options.only_export_targets;
  policy.force_full = options.full;
  policy.disable_mark_unplayed = backend.disable_mark_unplayed;
  policy.progress_sync = config.progress.sync;
  policy.progress_minimum_ms = static_cast<std::int64_t>(config.progress.minimum) * 1000;
  policy.now = now;
  return policy;
}

// Stops the fetching thread however the writing side leaves.
class FetchThread {
public:
  FetchThread(BatchQueue& queue, std::function<void()> body)
      : m_queue(queue), m_thread(std::move(body)) {}
  ~FetchThread() {
    if (std::uncaught_exceptions() > 0) {
      request_abort(); // the run is over: don't wait for transfers to finish
    }
    m_queue.close();
    m_thread.join();
  }
  FetchThread(const FetchThread&) = delete;
  FetchThread& operator=(const FetchThread&) = delete;

private:
  BatchQueue& m_queue;
  std::thread m_thread;
};

void import_identity(const Services& services, const config::Config& config, db::StateStore& store,
                     const RunOptions& options, const std::string& identity, ImportResult& result) {
  auto backends = config::backends_for_identity(config, identity);
  std::erase_if(backends, [&](const auto& b) {
    return !backend_selected(options, b.name) || (options.only_export_targets && !b.export_enabled);
  });
  // Full-import backends first: metadata-only ones only attach ids to rows that exist.
  std::stable_partition(backends.begin(), backends.end(),
                        [](const auto& b) { return b.import_enabled; });

  IdentityImportResult identity_result;
  identity_result.identity = identity;
  if (backends.empty()) {
    result.identities.push_back(std::move(identity_result));
    return;
  }

  // Show caches are read here, on the database's thread, before the fetching thread starts;
  // each side then works on its own copy. Rows' identities need every backend's series, also
  // of backends not in this run.
  ShowCaches all_shows;
  for (const auto& backend : config::backends_for_identity(config, identity)) {
    all_shows.emplace(backend.name, store.load_shows(identity, backend.name));
  }
  std::vector<model::ShowCache> known_shows;
  for (const auto& backend : backends) {
    known_shows.push_back(all_shows[backend.name]);
  }

  // One thread lists the backends one after the other and hands their items over in batches;
  // this thread writes them. Network and database work overlap, memory stays bounded: two
  // batches waiting are enough to keep both sides busy (eight held 8,000 items, most of a
  // small library, whenever the database side was the slower one).
  BatchQueue queue(2);
  const FetchThread fetcher(queue, [&services, &config, &backends, &identity, &options, &queue,
                                    shows = known_shows]() mutable {
    for (std::size_t i = 0; i < backends.size(); ++i) {
      if (!fetch_backend(services, config, backends[i], identity, options, i, std::move(shows[i]),
                         queue)) {
        return;
      }
    }
  });

  // What every backend's records hold now, read in one pass: most items of a run report what
  // they did last time, and are then settled without a look-up each (BackendApplier).
  // They hold while only this run writes: not after a merge, nor once another process has
  // committed (the run lock keeps other runs out; this also holds without it).
  // The version is read first: a commit landing between the two reads then still sets the
  // digests aside, where read after them it would pass for the state they were taken from.
  const auto known_version = store.data_version();
  auto known_records =
      options.full ? decltype(store.record_digests(identity)){} : store.record_digests(identity);
  bool records_moved = false;
  // An identity without keys yet (its first import) keeps the keys this run writes in memory
  // too, and the matching reads them there (sync/run_keys.hpp). Dropped when the database may
  // hold what the index does not: another process committed, or a backend rolled back.
  std::optional<RunKeyIndex> run_keys;
  if (!store.has_keys(identity)) {
    run_keys.emplace();
  }
  for (std::size_t i = 0; i < backends.size(); ++i) {
    const auto& backend = backends[i];
    const auto started_clock = Clock::now();
    ++result.backends_attempted;

    BackendImportCounts counts;
    counts.backend = backend.name;
    counts.metadata_only = !backend.import_enabled || options.metadata_only;

    const ImportPolicy policy =
        import_policy(config, store, identity, backend, options, services.now());

    // One transaction per backend: whatever it changed is rolled back if any page fails. In a
    // dry run it is a savepoint inside the run's transaction, which is never committed.
    db::StateStore::Transaction tx(store);
    BackendApplier applier(store, identity, backend.name, std::move(known_shows[i]), all_shows,
                           config.matching, policy, counts);
    const bool others_wrote = store.data_version() != known_version;
    if (!records_moved && !others_wrote) {
      applier.set_known_records(std::move(known_records[backend.name]));
    }
    if (others_wrote) {
      run_keys.reset();
    }
    applier.set_run_keys(run_keys ? &*run_keys : nullptr);
    Batch batch = queue.pop();
    for (; !batch.end; batch = queue.pop()) {
      counts.fetched += batch.items.size();
      throw_if_interrupted();
      if (!batch.libraries.empty()) {
        applier.set_libraries(batch.libraries);
      }
      applier.apply_shows(batch.shows);
      for (auto& item : batch.items) {
        applier.apply(item);
      }
      queue.give_back(std::move(batch.items));
    }
    // A merge moves other backends' records too: what was read for them is out of date.
    records_moved = records_moved || applier.records_moved();
    counts.server_id = batch.server.id;
    counts.requests = batch.requests;
    counts.bytes_received = batch.bytes_received;
    if (batch.error) {
      log::error("{}", batch.error->message);
      result.errors.push_back(*batch.error);
      counts.added = counts.updated = counts.unchanged = counts.skipped = counts.failed = 0;
      counts.marked_played = counts.marked_unplayed = counts.progress_updated = 0;
      counts.merged = counts.rematched = counts.ignored = 0;
      // tx rolls back: the backend changed nothing and keeps its cursor. The keys it wrote
      // are gone from the database, not from the index.
      run_keys.reset();
    } else {
      store.save_server(backend.name, batch.server);
      counts.listing_complete = batch.complete;
      if (batch.complete && !options.library_scope()) {
        counts.gone = static_cast<std::uint64_t>(applier.forget_unreported());
        store.replace_ignored_items(identity, backend.name, applier.ignored());
      } else if (batch.complete) {
        // Only some libraries were listed: what the others hold is unknown in this run, so
        // their records stay as they are and export leaves them alone.
        result.unconfirmed.push_back({identity, backend.name, applier.unreported()});
      } else {
        auto kept = applier.unreported();
        log::info("{}: the library changed while it was listed; {} items it did not report are "
                  "kept (and not written to) until a complete listing",
                  backend.name, kept.size());
        result.unconfirmed.push_back({identity, backend.name, std::move(kept)});
      }
      counts.conflicts = store.conflicts(identity, backend.name).size();
      // The cursor says "everything up to here was seen": not after a run that listed only
      // some libraries.
      if (!options.library_scope() && !(options.metadata_only && !options.only_export_targets)) {
        store.set_cursor(identity, backend.name, "import", batch.started);
      }
      tx.commit();
      counts.ok = true;
      // What earlier backends could not confirm stays unconfirmed where this one's merges
      // moved it: export leaves those records alone, on whichever row they are now.
      for (auto& earlier : result.unconfirmed) {
        if (earlier.identity == identity && earlier.backend != backend.name) {
          follow_merges(earlier.records, applier.merged_rows());
        }
      }
      // The next backends' rows meet this one's series ids.
      all_shows[backend.name] = applier.shows();
      log::info("{}: {} fetched, {} added, {} updated, {} unchanged, {} skipped ({} requests)",
                backend.name, counts.fetched, counts.added, counts.updated, counts.unchanged,
                counts.skipped, counts.requests);
    }
    counts.duration_ms = elapsed_ms(started_clock);
    identity_result.backends.push_back(std::move(counts));
  }
  result.identities.push_back(std::move(identity_result));
}

} // namespace

int ImportResult::exit_code() const {
  return exit_code_for_run(errors, backends_attempted, identities);
}

ItemsImport import_items(const Services& services, const config::Config& config,
                         db::StateStore& store, const std::string& identity,
                         const config::BackendConfig& backend,
                         std::vector<backend::RemoteItem> items,
                         std::vector<model::RemoteShow> shows) {
  ItemsImport result;
  result.counts.backend = backend.name;
  result.counts.metadata_only = !backend.import_enabled;
  result.counts.fetched = items.size();
  const ImportPolicy policy =
      import_policy(config, store, identity, backend, RunOptions{}, services.now());
  ShowCaches all_shows;
  for (const auto& b : config::backends_for_identity(config, identity)) {
    all_shows.emplace(b.name, store.load_shows(identity, b.name));
  }
  BackendApplier applier(store, identity, backend.name, all_shows[backend.name], all_shows,
                         config.matching, policy, result.counts);
  applier.apply_shows(shows);
  for (auto& item : items) {
    applier.apply(item);
  }
  for (const auto& seen : applier.seen()) {
    if (std::find(result.rows.begin(), result.rows.end(), seen.item) == result.rows.end()) {
      result.rows.push_back(seen.item);
    }
  }
  result.counts.ok = true;
  return result;
}

ImportResult run_import(const Services& services, const config::Config& config,
                        db::StateStore& store, const RunOptions& options) {
  validate_backend_filter(config, options);
  ImportResult result;
  for (const auto& identity : identities_to_run(config, options)) {
    // The backends' commits leave the write-ahead log to the identity's end, which copies it
    // once. Copied before the next identity writes, the log starts again from its beginning:
    // it holds one identity's writes at most, not the whole household's.
    const db::StateStore::DeferredCheckpoint checkpoint(store);
    import_identity(services, config, store, options, identity, result);
  }
  return result;
}

} // namespace ws::sync
