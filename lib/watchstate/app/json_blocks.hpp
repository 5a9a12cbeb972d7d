// SPDX-License-Identifier: MIT
#pragma once

// Internal to lib/watchstate/app: the JSON blocks several --json documents repeat, written
// one way (docs/json.md). Each writes a value (after the caller's key) unless it takes a key.

#include <watchstate/core/time.hpp>
#include <watchstate/db/run_history.hpp>
#include <watchstate/db/state_store.hpp>
#include <watchstate/json/writer.hpp>
#include <watchstate/model/guids.hpp>
#include <watchstate/sync/run_context.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ws::app {

// "ok" or "failed".
inline const char* ok_name(bool ok) { return ok ? "ok" : "failed"; }

// The external ids as an object: {"imdb": "tt0111161", "tmdb": "278"}.
void write_guids(json::Writer& out, const model::Guids& guids);

// `key`: the time in RFC 3339, or null when it is not set (0 or less, or nullopt).
void write_time_or_null(json::Writer& out, std::string_view key, UnixTime t);
void write_time_or_null(json::Writer& out, std::string_view key, std::optional<UnixTime> t);

// `key`: the text, or null when it is empty.
void write_text_or_null(json::Writer& out, std::string_view key, const std::string& text);

// `key`: an array of strings.
void write_strings(json::Writer& out, std::string_view key, const std::vector<std::string>& v);

// What became of one write: "status" ("planned" when it was not sent, else "ok" or "failed")
// and, when there is one, "error".
void write_write_status(json::Writer& out, bool sent, bool ok, const std::string& error);

// "requests" and "bytes_received": what a backend cost in this run (HTTP requests sent,
// retries included; bytes received, headers and bodies as they came off the wire).
void write_traffic(json::Writer& out, std::uint64_t requests, std::uint64_t bytes_received);

// {"kind", "message"}: an error as a report shows it.
void write_error(json::Writer& out, std::string_view kind, const std::string& message);

// The errors of a run (the envelope's "errors"): identity, backend and item when set, the
// kind, the redacted message.
void write_backend_errors(json::Writer& out, const std::vector<sync::BackendError>& errors);

// One change-log entry: {"at", "direction", "backend", "field", "from", "to", "outcome"}.
void write_change_entry(json::Writer& out, const db::ChangeEntry& c);

// A row of the state database as ws-state writes it (list, show, mark, forget).
void write_item_row(json::Writer& out, const db::ItemRow& row);

// "backend", "id", "library_id", "path": where a backend holds a copy of an item.
void write_copy_fields(json::Writer& out, const db::BackendRecord& r);

// {"item": id, "title": display title}: a row named in a list (pruned rows).
void write_row_ref(json::Writer& out, const db::ItemRow& row);

// One run of the history (ws-state runs, ws-state report).
void write_run(json::Writer& out, const db::Run& run);

// {"identities": {ID: {"backends": {NAME: {"status", …}}, …}}}: the per-identity, per-backend
// result of import, export and ws-playlist. `write_backend(b)` writes a backend's fields after
// "status"; `write_identity(i)` what follows "backends" in an identity's object.
template <typename Identities, typename WriteBackend, typename WriteIdentity>
void write_identities(json::Writer& out, const Identities& identities, WriteBackend write_backend,
                      WriteIdentity write_identity) {
  out.begin_object().key("identities").begin_object();
  for (const auto& identity : identities) {
    out.key(identity.identity).begin_object().key("backends").begin_object();
    for (const auto& b : identity.backends) {
      out.key(b.backend).begin_object().field("status", ok_name(b.ok));
      write_backend(b);
      out.end_object();
    }
    out.end_object();
    write_identity(identity);
    out.end_object();
  }
  out.end_object().end_object();
}

template <typename Identities, typename WriteBackend>
void write_identities(json::Writer& out, const Identities& identities, WriteBackend write_backend) {
  write_identities(out, identities, write_backend, [](const auto&) {});
}

} // namespace ws::app
