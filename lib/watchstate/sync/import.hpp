// SPDX-License-Identifier: MIT
#pragma once

#include <watchstate/backend/backend.hpp>
#include <watchstate/config/config.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/sync/run_context.hpp>
#include <watchstate/sync/services.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ws::sync {

struct BackendImportCounts {
  std::string backend;
  std::string server_id;
  bool metadata_only = false;
  bool ok = false;           // fetched completely and committed (or planned, in a dry run)
  std::uint64_t fetched = 0; // movies and episodes the backend reported
  std::uint64_t added = 0;
  std::uint64_t updated = 0;
  std::uint64_t unchanged = 0;
  std::uint64_t skipped = 0; // no usable external id, or unknown to a metadata-only backend
  std::uint64_t failed = 0;
  std::uint64_t requests = 0;
  std::uint64_t bytes_received = 0;  // headers and bodies as received (before decoding)
  std::uint64_t marked_played = 0;   // rows that became played
  std::uint64_t marked_unplayed = 0; // rows that became unplayed
  std::uint64_t progress_updated = 0;
  std::uint64_t gone = 0; // items it had reported before and no longer has
  // Whether the listing held every item the server counted (false: nothing was taken as gone).
  bool listing_complete = true;
  std::uint64_t merged = 0;    // rows a new id showed to be one with another row
  std::uint64_t rematched = 0; // items whose ids changed on the server so that they left their row
  std::uint64_t conflicts =
      0; // its items with ids the matching did not use (ws-parity --check conflicts)
  std::uint64_t ignored = 0; // its items an ignore rule keeps out (config matching.ignore)
  std::int64_t duration_ms = 0;
};

struct IdentityImportResult {
  std::string identity;
  std::vector<BackendImportCounts> backends;
};

// Records a backend's listing did not confirm although they were kept: the listing missed
// items (pages shifted while it was read), so their current state is unknown.
struct UnconfirmedRecords {
  std::string identity;
  std::string backend;
  std::vector<db::RecordRef> records;
};

struct ImportResult {
  std::vector<IdentityImportResult> identities;
  std::vector<BackendError> errors;
  std::vector<UnconfirmedRecords> unconfirmed;
  std::size_t backends_attempted = 0;
  [[nodiscard]] int exit_code() const;
};

// Pull every selected, configured backend of every selected identity into `store`.
// Backends are fetched with bounded parallel requests (the next backend is fetched while the
// previous one is applied); each backend's changes are applied in one transaction, so a backend
// that fails (auth, network, a failed page) changes nothing and keeps its cursor. Import-enabled
// backends are applied before metadata-only ones. Throws Interrupted on SIGINT/SIGTERM (the
// open transaction rolls back) and ws::Error for failures of the whole run. A dry run is the
// caller's business: it holds a transaction around the call and never commits it.
ImportResult run_import(const Services& services, const config::Config& config,
                        db::StateStore& store, const RunOptions& options);

// What applying single items changed.
struct ItemsImport {
  BackendImportCounts counts;
  std::vector<std::int64_t> rows; // the local rows the items matched or created
};

// Apply `items`, re-read one by one from `backend` (a webhook event), with the matching, rules
// and change log of a listing, inside the caller's transaction. Unlike a listing it neither
// moves the cursor nor forgets the items it did not report. `shows` are the series of episodes.
ItemsImport import_items(const Services& services, const config::Config& config,
                         db::StateStore& store, const std::string& identity,
                         const config::BackendConfig& backend,
                         std::vector<backend::RemoteItem> items,
                         std::vector<model::RemoteShow> shows);

} // namespace ws::sync
