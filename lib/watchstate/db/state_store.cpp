// SPDX-License-Identifier: MIT
#include <watchstate/db/sqlite.hpp>
#include <watchstate/db/state_store.hpp>

#include <watchstate/core/digest.hpp>
#include <watchstate/core/error.hpp>
#include <watchstate/core/log.hpp>
#include <watchstate/model/guids.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <memory>
#include <string_view>
#include <tuple>

namespace ws::db {

namespace {

// Each entry brings the schema from version i to i+1. Never edit a shipped entry: add one.
constexpr std::array<std::string_view, 10> k_migrations = {
    R"sql(
CREATE TABLE items (
  id          INTEGER PRIMARY KEY,
  identity    TEXT    NOT NULL,
  type        TEXT    NOT NULL CHECK (type IN ('movie', 'episode')),
  title       TEXT    NOT NULL,
  year        INTEGER NOT NULL DEFAULT 0,
  season      INTEGER NOT NULL DEFAULT -1,
  episode     INTEGER NOT NULL DEFAULT -1,
  watched     INTEGER NOT NULL DEFAULT 0,
  updated     INTEGER NOT NULL,
  progress_ms INTEGER NOT NULL DEFAULT 0,
  progress_at INTEGER NOT NULL DEFAULT 0,
  via         TEXT    NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX items_identity_updated_at ON items (identity, updated_at);

-- Matching keys: "<provider>://<id>/<type>" for an item's own external ids and
-- "r<provider>://<show id>/<season>/<episode>" for episodes through their show.
CREATE TABLE item_keys (
  identity TEXT    NOT NULL,
  key      TEXT    NOT NULL,
  item_id  INTEGER NOT NULL REFERENCES items (id), -- kept by the code (foreign_keys is off): delete children first
  PRIMARY KEY (identity, key)
) WITHOUT ROWID;

CREATE TABLE backend_items (
  item_id     INTEGER NOT NULL REFERENCES items (id), -- kept by the code (foreign_keys is off): delete children first
  backend     TEXT    NOT NULL,
  remote_id   TEXT    NOT NULL,
  library_id  TEXT    NOT NULL DEFAULT '',
  show_id     TEXT    NOT NULL DEFAULT '',
  watched     INTEGER NOT NULL DEFAULT 0,
  played_at   INTEGER NOT NULL DEFAULT 0,
  added_at    INTEGER NOT NULL DEFAULT 0,
  progress_ms INTEGER NOT NULL DEFAULT 0,
  path        TEXT    NOT NULL DEFAULT '',
  multi       INTEGER NOT NULL DEFAULT 0,
  guids       TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (item_id, backend)
) WITHOUT ROWID;
CREATE INDEX backend_items_remote ON backend_items (backend, remote_id);

CREATE TABLE shows (
  backend TEXT    NOT NULL,
  show_id TEXT    NOT NULL,
  title   TEXT    NOT NULL DEFAULT '',
  year    INTEGER NOT NULL DEFAULT 0,
  guids   TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (backend, show_id)
) WITHOUT ROWID;

CREATE TABLE cursors (
  identity TEXT    NOT NULL,
  backend  TEXT    NOT NULL,
  kind     TEXT    NOT NULL,
  value    INTEGER NOT NULL,
  PRIMARY KEY (identity, backend, kind)
) WITHOUT ROWID;

CREATE TABLE servers (
  backend   TEXT PRIMARY KEY,
  server_id TEXT NOT NULL,
  name      TEXT NOT NULL DEFAULT '',
  version   TEXT NOT NULL DEFAULT ''
);

CREATE TABLE change_log (
  id        INTEGER PRIMARY KEY,
  item_id   INTEGER NOT NULL REFERENCES items (id), -- kept by the code (foreign_keys is off): delete children first
  backend   TEXT    NOT NULL,
  direction TEXT    NOT NULL,
  field     TEXT    NOT NULL,
  old_value TEXT    NOT NULL,
  new_value TEXT    NOT NULL,
  at        INTEGER NOT NULL
);
CREATE INDEX change_log_item ON change_log (item_id);
)sql",
    // 2: runtimes, which Plex needs to take a resume position.
    R"sql(
ALTER TABLE backend_items ADD COLUMN duration_ms INTEGER NOT NULL DEFAULT 0;
)sql",
    // 3: the outcome of an export write ("ok", or why it failed).
    R"sql(
ALTER TABLE change_log ADD COLUMN outcome TEXT NOT NULL DEFAULT 'ok';
)sql",
    // 4: what each backend says the item is, for ws-parity's metadata check.
    R"sql(
ALTER TABLE backend_items ADD COLUMN year INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backend_items ADD COLUMN season INTEGER NOT NULL DEFAULT -1;
ALTER TABLE backend_items ADD COLUMN episode INTEGER NOT NULL DEFAULT -1;
)sql",
    // 5: copies and shared ids. A backend may report one item several times (copies in two
    // libraries): records are keyed by the remote item too, and carry their identity so that a
    // remote id is found without a join. A matching key may point to several rows. Conflicts
    // the matching recorded get their own table.
    R"sql(
CREATE TABLE backend_items_v5 (
  identity    TEXT    NOT NULL,
  backend     TEXT    NOT NULL,
  remote_id   TEXT    NOT NULL,
  item_id     INTEGER NOT NULL REFERENCES items (id), -- kept by the code (foreign_keys is off): delete children first
  library_id  TEXT    NOT NULL DEFAULT '',
  show_id     TEXT    NOT NULL DEFAULT '',
  watched     INTEGER NOT NULL DEFAULT 0,
  played_at   INTEGER NOT NULL DEFAULT 0,
  added_at    INTEGER NOT NULL DEFAULT 0,
  progress_ms INTEGER NOT NULL DEFAULT 0,
  path        TEXT    NOT NULL DEFAULT '',
  multi       INTEGER NOT NULL DEFAULT 0,
  guids       TEXT    NOT NULL DEFAULT '',
  duration_ms INTEGER NOT NULL DEFAULT 0,
  year        INTEGER NOT NULL DEFAULT 0,
  season      INTEGER NOT NULL DEFAULT -1,
  episode     INTEGER NOT NULL DEFAULT -1,
  path_key    TEXT    NOT NULL DEFAULT '', -- the path relative to its library root (path matching)
  title       TEXT    NOT NULL DEFAULT '', -- the title (an episode's: its series') as reported
  PRIMARY KEY (item_id, backend, remote_id) -- stored by row: an item's records are read together
) WITHOUT ROWID;
INSERT INTO backend_items_v5 (identity, backend, remote_id, item_id, library_id, show_id, watched,
                              played_at, added_at, progress_ms, path, multi, guids, duration_ms, year,
                              season, episode)
  SELECT i.identity, b.backend, b.remote_id, b.item_id, b.library_id, b.show_id, b.watched,
         b.played_at, b.added_at, b.progress_ms, b.path, b.multi, b.guids, b.duration_ms, b.year,
         b.season, b.episode
  FROM backend_items b JOIN items i ON i.id = b.item_id;
DROP TABLE backend_items;
ALTER TABLE backend_items_v5 RENAME TO backend_items;
CREATE INDEX backend_items_remote ON backend_items (identity, backend, remote_id);

CREATE TABLE item_keys_v5 (
  identity TEXT    NOT NULL,
  key      TEXT    NOT NULL,
  item_id  INTEGER NOT NULL REFERENCES items (id), -- kept by the code (foreign_keys is off): delete children first
  PRIMARY KEY (identity, key, item_id)
) WITHOUT ROWID;
INSERT INTO item_keys_v5 SELECT identity, key, item_id FROM item_keys;
DROP TABLE item_keys;
ALTER TABLE item_keys_v5 RENAME TO item_keys;

CREATE TABLE conflicts (
  identity   TEXT    NOT NULL,
  backend    TEXT    NOT NULL,
  remote_id  TEXT    NOT NULL,
  item_id    INTEGER NOT NULL,
  key        TEXT    NOT NULL,
  other_item INTEGER NOT NULL,
  kind       TEXT    NOT NULL CHECK (kind IN ('disagree', 'other_row', 'ambiguous')),
  PRIMARY KEY (identity, backend, remote_id, item_id, key, other_item)
) WITHOUT ROWID;

-- What the config's ignore rules kept out at each backend's last complete listing.
CREATE TABLE ignored_items (
  identity  TEXT NOT NULL,
  backend   TEXT NOT NULL,
  remote_id TEXT NOT NULL,
  rule      TEXT NOT NULL,
  title     TEXT NOT NULL,
  kind      TEXT NOT NULL CHECK (kind IN ('item', 'id')),
  PRIMARY KEY (identity, backend, remote_id, rule)
) WITHOUT ROWID;
)sql",
    // 6: the history of runs (db/run_history.cpp): what each tool did, per backend, and its
    // errors, for ws-state status, ws-state runs and the metrics file.
    R"sql(
CREATE TABLE runs (
  id          INTEGER PRIMARY KEY,
  tool        TEXT    NOT NULL,
  started_at  INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  exit_code   INTEGER NOT NULL,
  status      TEXT    NOT NULL,
  duration_ms INTEGER NOT NULL DEFAULT 0,
  dry_run     INTEGER NOT NULL DEFAULT 0,
  command     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX runs_tool_started ON runs (tool, started_at);
CREATE TABLE run_backends (
  run_id      INTEGER NOT NULL REFERENCES runs (id),
  identity    TEXT    NOT NULL,
  backend     TEXT    NOT NULL,
  phase       TEXT    NOT NULL,
  ok          INTEGER NOT NULL,
  items       INTEGER NOT NULL DEFAULT 0,
  writes      INTEGER NOT NULL DEFAULT 0,
  failed      INTEGER NOT NULL DEFAULT 0,
  requests    INTEGER NOT NULL DEFAULT 0,
  duration_ms INTEGER NOT NULL DEFAULT 0,
  finished_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, identity, backend, phase)
) WITHOUT ROWID;
CREATE INDEX run_backends_health ON run_backends (identity, backend, phase, ok, finished_at);
CREATE TABLE run_errors (
  run_id   INTEGER NOT NULL REFERENCES runs (id),
  seq      INTEGER NOT NULL,
  identity TEXT    NOT NULL DEFAULT '',
  backend  TEXT    NOT NULL DEFAULT '',
  kind     TEXT    NOT NULL,
  message  TEXT    NOT NULL,
  at       INTEGER NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE INDEX run_errors_backend ON run_errors (identity, backend, at);
)sql",
    // 7: playlists (ws-playlist). One row per playlist of an identity as last synced (its item
    // list in local item ids, in order), one copy row per backend holding it.
    R"sql(
CREATE TABLE playlists (
  id         INTEGER PRIMARY KEY,
  identity   TEXT    NOT NULL,
  title      TEXT    NOT NULL,
  name_key   TEXT    NOT NULL,
  items      TEXT    NOT NULL DEFAULT '',
  updated    INTEGER NOT NULL DEFAULT 0,
  source     TEXT    NOT NULL DEFAULT '',
  synced_at  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX playlists_identity ON playlists (identity, name_key);
CREATE TABLE playlist_copies (
  playlist_id INTEGER NOT NULL REFERENCES playlists (id),
  backend     TEXT    NOT NULL,
  remote_id   TEXT    NOT NULL DEFAULT '',
  signature   TEXT    NOT NULL DEFAULT '',
  deleted     INTEGER NOT NULL DEFAULT 0,
  seen_at     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (playlist_id, backend)
) WITHOUT ROWID;
)sql",
    // 8: each record keeps its lookup key and digest (record_lookup_key, record_digest), written
    // with it, so that a no-change import reads them from a narrow index instead of every
    // column of every record. The index is ordered by row, not by lookup key: new records come
    // in row order and are appended to it, where an order by hash would put each insert at a
    // random page (+12 % CPU for a first import). The values of existing records are computed
    // once after this step (backfill_record_digests): SQL cannot compute them.
    R"sql(
ALTER TABLE backend_items ADD COLUMN lookup INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backend_items ADD COLUMN digest INTEGER NOT NULL DEFAULT 0;
CREATE INDEX backend_items_digest ON backend_items (identity, backend, item_id, lookup, digest);
)sql",
    // 9: one index instead of two. The look-up by remote id and the no-change import's pass over
    // lookup keys and digests read the same index, which carries both after the remote id: each
    // record written costs two B-tree inserts instead of three (first ws-import of 3 x 100,000:
    // a third of its record index writes).
    R"sql(
DROP INDEX backend_items_digest;
DROP INDEX backend_items_remote;
CREATE INDEX backend_items_remote ON backend_items (identity, backend, remote_id, lookup, digest);
)sql",
    // 10: the series cache by identity. A re-matched series (a Fix Match) is found by comparing
    // its ids with those its episodes were last matched with, which is what each identity's own
    // last import saw: with one cache per backend, the first identity to import after the change
    // updated it, and the others' imports found their episodes up to date and left them on the
    // series they were before. Every identity starts from the cache as it was.
    R"sql(
CREATE TABLE shows_v10 (
  identity TEXT    NOT NULL,
  backend  TEXT    NOT NULL,
  show_id  TEXT    NOT NULL,
  title    TEXT    NOT NULL DEFAULT '',
  year     INTEGER NOT NULL DEFAULT 0,
  guids    TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (identity, backend, show_id)
) WITHOUT ROWID;
INSERT INTO shows_v10 (identity, backend, show_id, title, year, guids)
  SELECT i.identity, s.backend, s.show_id, s.title, s.year, s.guids
  FROM shows s, (SELECT DISTINCT identity FROM items) i;
DROP TABLE shows;
ALTER TABLE shows_v10 RENAME TO shows;
)sql",
};

// How many keys one statement of add_keys inserts: each statement's own work (binding the
// identity, starting and ending the program) is shared by this many keys.
constexpr std::size_t k_keys_per_insert = 32;

// INSERT OR IGNORE of k_keys_per_insert (identity, key, item_id) rows: the identity is ?1, the
// keys and items ?2, ?3, ?4, ....
std::string insert_keys_sql() {
  std::string sql = "INSERT OR IGNORE INTO item_keys (identity, key, item_id) VALUES ";
  for (std::size_t i = 0; i < k_keys_per_insert; ++i) {
    sql += fmt::format("{}(?1, ?{}, ?{})", i == 0 ? "" : ", ", 2 + 2 * i, 3 + 2 * i);
  }
  return sql;
}

// The page size of a state database this code creates (StateStore::Impl::open).
constexpr int k_page_size = 16384;

// The schema version whose records first carry their lookup key and digest.
constexpr std::size_t k_digest_schema = 8;

using detail::rethrow;

// Guids as stored in shows.guids: "imdb=tt1;tvdb=2".
std::string encode_guids(const model::Guids& guids) {
  std::string out;
  for (const auto& g : guids) {
    if (!out.empty()) {
      out.push_back(';');
    }
    out.append(model::guid_key_name(g.key));
    out.push_back('=');
    out.append(g.value);
  }
  return out;
}

model::Guids decode_guids(std::string_view text) {
  model::Guids guids;
  while (!text.empty()) {
    const auto end = text.find(';');
    const auto part = text.substr(0, end);
    const auto eq = part.find('=');
    if (eq != std::string_view::npos) {
      if (auto key = model::guid_key_from_name(part.substr(0, eq))) {
        guids.push_back({*key, std::string(part.substr(eq + 1))});
      }
    }
    if (end == std::string_view::npos) {
      break;
    }
    text.remove_prefix(end + 1);
  }
  return guids;
}

std::string_view text_column(sqlite3_stmt* q, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(q, column));
  return text == nullptr
             ? std::string_view()
             : std::string_view(text, static_cast<std::size_t>(sqlite3_column_bytes(q, column)));
}

// Statements read through SQLite's own API where hundreds of thousands of rows are read: the
// columns of SQLiteCpp's copy their text or hold a reference count each.
using RawStatement = std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)>;

void check_raw(sqlite3* db, int rc) {
  if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) {
    throw SQLite::Exception(db, rc);
  }
}

RawStatement prepare_raw(SQLite::Database& db, const char* sql) {
  sqlite3_stmt* prepared = nullptr;
  check_raw(db.getHandle(), sqlite3_prepare_v2(db.getHandle(), sql, -1, &prepared, nullptr));
  return {prepared, &sqlite3_finalize};
}

// Binds a text where it lies (SQLITE_STATIC): for statements run to their end at once.
void bind_text(sqlite3* db, sqlite3_stmt* q, int index, std::string_view text) {
  check_raw(db,
            sqlite3_bind_text(q, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC));
}

// Runs `q` to its end and resets it; the rows it changed.
int run_raw(sqlite3* db, sqlite3_stmt* q) {
  const int rc = sqlite3_step(q);
  sqlite3_reset(q); // its error is rc's
  check_raw(db, rc);
  return sqlite3_changes(db);
}

// INSERT OR IGNORE of one (identity, key, item) row through `q` (StateStore::Impl::insert_key):
// whether it was new.
bool insert_key_row(sqlite3* db, sqlite3_stmt* q, std::string_view identity, std::string_view key,
                    ItemId item) {
  bind_text(db, q, 1, identity);
  bind_text(db, q, 2, key);
  check_raw(db, sqlite3_bind_int64(q, 3, item));
  return run_raw(db, q) == 1;
}

// A row's columns as read_item reads them: through SQLiteCpp's statement, or through SQLite's
// own API where an import reads rows tens of thousands of times (getColumn holds a reference
// count per column and getString copies through strlen).
struct StatementColumns {
  SQLite::Statement& q;
  [[nodiscard]] std::string text(int i) const { return q.getColumn(i).getString(); }
  [[nodiscard]] std::int64_t number(int i) const { return q.getColumn(i).getInt64(); }
};
struct RawColumns {
  sqlite3_stmt* q;
  [[nodiscard]] std::string_view text(int i) const { return text_column(q, i); }
  [[nodiscard]] std::int64_t number(int i) const { return sqlite3_column_int64(q, i); }
};

template <typename Columns> ItemRow read_item(const Columns& c) {
  const auto small = [&](int i) { return static_cast<int>(c.number(i)); };
  ItemRow row;
  row.id = c.number(0);
  row.identity = c.text(1);
  row.type = c.text(2) == "episode" ? model::MediaType::episode : model::MediaType::movie;
  row.title = c.text(3);
  row.year = small(4);
  row.season = small(5);
  row.episode = small(6);
  row.watched = c.number(7) != 0;
  row.updated = c.number(8);
  row.progress_ms = c.number(9);
  row.progress_at = c.number(10);
  row.via = c.text(11);
  row.created_at = c.number(12);
  row.updated_at = c.number(13);
  return row;
}
ItemRow read_item(SQLite::Statement& q) { return read_item(StatementColumns{q}); }

// The columns read_item reads, in its order.
constexpr std::string_view k_item_columns =
    "id, identity, type, title, year, season, episode, watched, updated, progress_ms, "
    "progress_at, via, created_at, updated_at";
constexpr int k_item_column_count =
    static_cast<int>(std::count(k_item_columns.begin(), k_item_columns.end(), ',')) + 1;

// `columns` ("id, title") each qualified by `table` ("i.id, i.title"), for a join where the
// other table has columns of the same names.
std::string qualified(std::string_view columns, std::string_view table) {
  std::string out;
  while (!columns.empty()) {
    const auto end = columns.find(", ");
    out += fmt::format("{}{}.{}", out.empty() ? "" : ", ", table, columns.substr(0, end));
    if (end == std::string_view::npos) {
      break;
    }
    columns.remove_prefix(end + 2);
  }
  return out;
}

// The record columns (k_record_columns) starting at column `first`.
BackendRecord read_record(SQLite::Statement& q, int first = 0) {
  const auto col = [&](int i) { return q.getColumn(first + i); };
  BackendRecord r;
  r.backend = col(0).getString();
  r.remote_id = col(1).getString();
  r.library_id = col(2).getString();
  r.show_id = col(3).getString();
  r.watched = col(4).getInt() != 0;
  r.played_at = col(5).getInt64();
  r.added_at = col(6).getInt64();
  r.progress_ms = col(7).getInt64();
  r.path = col(8).getString();
  r.multi = col(9).getInt() != 0;
  r.guids = decode_guids(col(10).getString());
  r.duration_ms = col(11).getInt64();
  r.year = col(12).getInt();
  r.season = col(13).getInt();
  r.episode = col(14).getInt();
  r.path_key = col(15).getString();
  r.title = col(16).getString();
  return r;
}

constexpr const char* k_record_columns =
    "backend, remote_id, library_id, show_id, watched, played_at, added_at, progress_ms, path, "
    "multi, guids, duration_ms, year, season, episode, path_key, title";

// A conflict row: backend, remote_id, item_id, key, other_item, kind.
ConflictRecord read_conflict(SQLite::Statement& q) {
  return {q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getInt64(),
          q.getColumn(3).getString(), q.getColumn(4).getInt64(),  q.getColumn(5).getString()};
}

// `select` (its WHERE clause ends in "identity = ?") for `identity`, narrowed to `backend` unless
// that is empty, ordered by `order`.
SQLite::Statement of_identity(SQLite::Database& db, std::string_view select,
                              const std::string& identity, const std::string& backend,
                              std::string_view order) {
  SQLite::Statement q(db, fmt::format("{}{} ORDER BY {}", select,
                                      backend.empty() ? "" : " AND backend = ?", order));
  q.bind(1, identity);
  if (!backend.empty()) {
    q.bind(2, backend);
  }
  return q;
}

// A record's fields as record_digest takes them: text as views, the ids as stored (encode_guids).
struct RecordFields {
  std::string_view remote_id, library_id, show_id, path, guids, path_key, title;
  bool watched = false, multi = false;
  std::int64_t played_at = 0, added_at = 0, progress_ms = 0, duration_ms = 0;
  int year = 0, season = -1, episode = -1;
};

std::uint64_t digest_of(const RecordFields& f) {
  Digest d;
  for (const std::string_view text :
       {f.remote_id, f.library_id, f.show_id, f.path, f.guids, f.path_key, f.title}) {
    d.add(text);
  }
  for (const std::int64_t number :
       {std::int64_t{f.watched}, std::int64_t{f.multi}, f.played_at, f.added_at, f.progress_ms,
        f.duration_ms, std::int64_t{f.year}, std::int64_t{f.season}, std::int64_t{f.episode}}) {
    d.add(number);
  }
  // 0 is what a record's digest column holds until it is written (a record of a database made
  // before the column, not yet backfilled): never equal to a digest.
  const std::uint64_t value = d.value();
  return value == 0 ? 1 : value;
}

// record_digest, with the record's ids already encoded as stored (encode_guids).
std::uint64_t digest_of(const BackendRecord& r, std::string_view encoded_guids) {
  return digest_of({r.remote_id, r.library_id, r.show_id, r.path, encoded_guids, r.path_key,
                    r.title, r.watched, r.multi, r.played_at, r.added_at, r.progress_ms,
                    r.duration_ms, r.year, r.season, r.episode});
}

// A 64-bit hash as SQLite stores an INTEGER (the same bits, signed).
std::int64_t as_column(std::uint64_t hash) { return static_cast<std::int64_t>(hash); }

// Every record's lookup key and digest, computed from its columns: once, for the records a
// database had before it kept them (schema version k_digest_schema).
void backfill_record_digests(SQLite::Database& db) {
  const RawStatement read =
      prepare_raw(db, "SELECT item_id, backend, remote_id, library_id, show_id, path, guids, "
                      "path_key, title, watched, multi, played_at, added_at, progress_ms, "
                      "duration_ms, year, season, episode FROM backend_items");
  SQLite::Statement write(db, "UPDATE backend_items SET lookup = ?, digest = ? WHERE item_id = ? "
                              "AND backend = ? AND remote_id = ?");
  std::vector<std::tuple<std::int64_t, std::int64_t, ItemId, std::string, std::string>> updates;
  sqlite3_stmt* raw = read.get();
  int rc = SQLITE_OK;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    RecordFields f;
    f.remote_id = text_column(raw, 2);
    f.library_id = text_column(raw, 3);
    f.show_id = text_column(raw, 4);
    f.path = text_column(raw, 5);
    f.guids = text_column(raw, 6);
    f.path_key = text_column(raw, 7);
    f.title = text_column(raw, 8);
    f.watched = sqlite3_column_int64(raw, 9) != 0;
    f.multi = sqlite3_column_int64(raw, 10) != 0;
    f.played_at = sqlite3_column_int64(raw, 11);
    f.added_at = sqlite3_column_int64(raw, 12);
    f.progress_ms = sqlite3_column_int64(raw, 13);
    f.duration_ms = sqlite3_column_int64(raw, 14);
    f.year = sqlite3_column_int(raw, 15);
    f.season = sqlite3_column_int(raw, 16);
    f.episode = sqlite3_column_int(raw, 17);
    updates.emplace_back(as_column(record_lookup_key(f.remote_id, f.season, f.episode)),
                         as_column(digest_of(f)), sqlite3_column_int64(raw, 0),
                         std::string(text_column(raw, 1)), std::string(f.remote_id));
  }
  check_raw(db.getHandle(), rc);
  // Written after the read: SQLite leaves undefined which rows a scan visits when the table is
  // changed under it.
  for (const auto& [lookup, digest, item, backend, remote_id] : updates) {
    detail::exec(write, lookup, digest, item, backend, remote_id);
  }
}

} // namespace

std::string_view media_type_name(model::MediaType type) {
  return type == model::MediaType::episode ? "episode" : "movie";
}

struct StateStore::Impl {
  SQLite::Database db;
  // Prepared once: import runs these hundreds of thousands of times.
  SQLite::Statement find_key;
  RawStatement insert_key;  // binds string_views (add_keys)
  RawStatement insert_keys; // k_keys_per_insert at once (add_keys): binds string_views
  SQLite::Statement delete_key;
  SQLite::Statement select_by_remote;
  SQLite::Statement select_records_of_backend;
  SQLite::Statement delete_record;
  SQLite::Statement select_conflicts;
  SQLite::Statement select_item;
  SQLite::Statement insert_item;
  SQLite::Statement update_state;
  SQLite::Statement select_records;
  RawStatement select_item_with_identity; // read through SQLite's API: see RawColumns
  SQLite::Statement upsert_record;
  SQLite::Statement insert_change;
  SQLite::Statement save_show; // a first import saves every series it lists
  // Set while a DeferredCheckpoint lives: commits leave the write-ahead log as it is.
  bool deferring_checkpoint = false;

  explicit Impl(const std::filesystem::path& file)
      : db(open(file)),
        find_key(db,
                 "SELECT item_id FROM item_keys WHERE identity = ? AND key = ? ORDER BY item_id"),
        insert_key(prepare_raw(
            db, "INSERT OR IGNORE INTO item_keys (identity, key, item_id) VALUES (?, ?, ?)")),
        insert_keys(prepare_raw(db, insert_keys_sql().c_str())),
        delete_key(db, "DELETE FROM item_keys WHERE identity = ? AND key = ? AND item_id = ?"),
        select_by_remote(db, fmt::format("SELECT item_id, {} FROM backend_items WHERE identity = ? "
                                         "AND backend = ? AND remote_id = ? ORDER BY item_id",
                                         k_record_columns)),
        select_records_of_backend(db, fmt::format("SELECT {} FROM backend_items WHERE item_id = ? "
                                                  "AND backend = ? ORDER BY remote_id",
                                                  k_record_columns)),
        delete_record(db, "DELETE FROM backend_items WHERE identity = ? AND backend = ? AND "
                          "remote_id = ? AND item_id = ?"),
        select_conflicts(db, "SELECT backend, remote_id, item_id, key, other_item, kind FROM "
                             "conflicts WHERE identity = ? AND backend = ? AND remote_id = ? AND "
                             "item_id = ? ORDER BY key, other_item"),
        select_item(db, fmt::format("SELECT {} FROM items WHERE id = ?", k_item_columns)),
        insert_item(db, "INSERT INTO items (identity, type, title, year, season, episode, watched, "
                        "updated, progress_ms, progress_at, via, created_at, updated_at) VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        update_state(db, "UPDATE items SET watched = ?, updated = ?, progress_ms = ?, "
                         "progress_at = ?, via = ?, updated_at = ? WHERE id = ?"),
        select_records(db, fmt::format("SELECT {} FROM backend_items WHERE item_id = ? ORDER BY "
                                       "backend, remote_id",
                                       k_record_columns)),
        // The row's columns, then each record's (NULL: the row has no record).
        select_item_with_identity(prepare_raw(
            db, fmt::format("SELECT {}, b.backend, b.remote_id, b.show_id, b.guids, b.year, "
                            "b.season, b.episode, b.path_key, b.title FROM items i LEFT JOIN "
                            "backend_items b ON b.item_id = i.id WHERE i.id = ? ORDER BY "
                            "b.backend, b.remote_id",
                            qualified(k_item_columns, "i"))
                    .c_str())),
        upsert_record(
            db,
            "INSERT INTO backend_items (item_id, backend, remote_id, library_id, "
            "show_id, watched, played_at, added_at, progress_ms, path, multi, guids, "
            "duration_ms, year, season, episode, identity, path_key, title, lookup, digest) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (item_id, backend, remote_id) DO UPDATE SET "
            "library_id = "
            "excluded.library_id, show_id = excluded.show_id, watched = "
            "excluded.watched, played_at = excluded.played_at, added_at = "
            "excluded.added_at, progress_ms = excluded.progress_ms, path = "
            "excluded.path, multi = excluded.multi, guids = excluded.guids, "
            "duration_ms = excluded.duration_ms, year = excluded.year, season = "
            "excluded.season, episode = excluded.episode, path_key = excluded.path_key, title = "
            "excluded.title, lookup = excluded.lookup, digest = excluded.digest"),
        insert_change(db, "INSERT INTO change_log (item_id, backend, direction, field, "
                          "old_value, new_value, at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
        save_show(db,
                  "INSERT OR REPLACE INTO shows (identity, backend, show_id, title, year, guids) "
                  "VALUES (?, ?, ?, ?, ?, ?)") {}

  static SQLite::Database open(const std::filesystem::path& file) {
    // One connection used from one thread: SQLite's own mutexes are pure overhead.
    // 16 KiB pages: a first import of 3 x 100,000 items writes a 140 MB database at random
    // places of its tables (records come in another order than rows); four times fewer, larger
    // pages cost 13 % less CPU there than SQLite's 4 KiB (median of 6) and keep every other run
    // as fast.
    auto db = detail::open_database(file, detail::Durability::normal, true, k_page_size);
    // References are kept by this code alone; letting SQLite re-check them on every insert
    // would cost an index seek per key row, hundreds of thousands per import.
    db.exec("PRAGMA foreign_keys = OFF");
    // 24 MiB of page cache: a first import of 3 x 100,000 items took the same CPU with 32 MiB
    // (10 pairs by turns: paired median +0.007 s) and 7.9 MiB more peak memory, which is
    // what keeps it under 100 MB. 64 MiB cost 33 MiB more for no gain; at 128 MiB the log is
    // never read back, but that is twice the memory a tool may take.
    db.exec("PRAGMA cache_size = -24576");
    // Debian builds SQLite with SECURE_DELETE on: every cell a B-tree moves or drops is zeroed
    // where it was, and every import moves hundreds of thousands (page splits, the records'
    // upserts): 1.2 % of a first import's instructions. The file holds no secret (no token;
    // the play state it would scrub is still in its live rows and in the WAL), so deleted
    // content is left as upstream SQLite leaves it by default.
    db.exec("PRAGMA secure_delete = OFF");
    migrate(db);
    return db;
  }

  static std::size_t schema_version(SQLite::Database& db) {
    const int version = db.execAndGet("PRAGMA user_version").getInt();
    if (version < 0 || version > static_cast<int>(k_migrations.size())) {
      throw Error(Errc::io, fmt::format("state database schema version {} is newer than this "
                                        "watchstate ({}); upgrade watchstate",
                                        version, k_migrations.size()));
    }
    return static_cast<std::size_t>(version);
  }

  static void migrate(SQLite::Database& db) {
    // An up-to-date database (the usual case) needs no write lock.
    if (schema_version(db) == k_migrations.size()) {
      return;
    }
    // Several runs may meet a new database at once (cron and a user, or readers, which take no
    // run lock): the version is read again under the write lock, so one of them migrates and
    // the others wait (busy timeout) and find the schema done instead of creating it twice.
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    for (auto v = schema_version(db); v < k_migrations.size(); ++v) {
      db.exec(std::string(k_migrations[v]));
      if (v + 1 == k_digest_schema) {
        backfill_record_digests(db);
      }
      db.exec(fmt::format("PRAGMA user_version = {}", v + 1));
    }
    tx.commit();
  }
};

StateStore::StateStore(const std::filesystem::path& file) {
  try {
    m_impl = std::make_unique<Impl>(file);
  } catch (const SQLite::Exception& e) {
    rethrow(e, fmt::format("cannot open {}", file.string()));
  }
}

StateStore::~StateStore() = default;

StateStore::Transaction::Transaction(StateStore& store) : m_store(store) {
  try {
    // Inside an open transaction (a dry run holds one for the whole run) this one is a
    // savepoint, so it can still be rolled back on its own.
    m_nested = sqlite3_get_autocommit(m_store.m_impl->db.getHandle()) == 0;
    m_store.m_impl->db.exec(m_nested ? "SAVEPOINT ws_nested" : "BEGIN IMMEDIATE");
  } catch (const SQLite::Exception& e) {
    rethrow(e, "begin transaction");
  }
}

StateStore::Transaction::~Transaction() {
  if (!m_done) {
    try {
      m_store.m_impl->db.exec(m_nested ? "ROLLBACK TO ws_nested; RELEASE ws_nested" : "ROLLBACK");
    } catch (...) { // NOLINT(bugprone-empty-catch): nothing useful to do in a destructor
    }
  }
}

void StateStore::Transaction::commit() {
  try {
    m_store.m_impl->db.exec(m_nested ? "RELEASE ws_nested" : "COMMIT");
    m_done = true;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "commit");
  }
}

// SQLite's default: a commit that leaves the log at 1,000 pages or more checkpoints it.
constexpr int k_wal_autocheckpoint_pages = 1000;

StateStore::DeferredCheckpoint::DeferredCheckpoint(StateStore& store) : m_store(store) {
  auto& impl = *m_store.m_impl;
  if (impl.deferring_checkpoint) {
    return; // the outer one checkpoints
  }
  try {
    impl.db.exec("PRAGMA wal_autocheckpoint = 0");
    impl.deferring_checkpoint = true;
    m_active = true;
  } catch (const std::exception& e) {
    // Commits keep checkpointing themselves: more copying, never wrong.
    log::debug("state database: checkpoint not deferred: {}", e.what());
  }
}

StateStore::DeferredCheckpoint::~DeferredCheckpoint() {
  if (!m_active) {
    return;
  }
  auto& impl = *m_store.m_impl;
  impl.deferring_checkpoint = false;
  try {
    impl.db.exec(fmt::format("PRAGMA wal_autocheckpoint = {}", k_wal_autocheckpoint_pages));
    // What the commits left in the log, copied once. (Inside a transaction, as a dry run's,
    // SQLite refuses: the log then waits for the next commit.)
    (void)sqlite3_wal_checkpoint_v2(impl.db.getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                    nullptr, nullptr);
  } catch (const std::exception& e) {
    log::debug("state database: checkpoint: {}", e.what());
  }
}

int StateStore::schema_version() const {
  return m_impl->db.execAndGet("PRAGMA user_version").getInt();
}

std::int64_t StateStore::data_version() const {
  try {
    return m_impl->db.execAndGet("PRAGMA data_version").getInt64();
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read data version");
  }
}

std::vector<ItemId> StateStore::items_by_key(const std::string& identity, const std::string& key) {
  try {
    auto& q = m_impl->find_key;
    detail::rewind(q);
    SQLite::bind(q, identity, key);
    std::vector<ItemId> ids;
    while (q.executeStep()) {
      ids.push_back(q.getColumn(0).getInt64());
    }
    return ids;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "find item by key");
  }
}

bool StateStore::add_key(const std::string& identity, const std::string& key, ItemId item) {
  try {
    return insert_key_row(m_impl->db.getHandle(), m_impl->insert_key.get(), identity, key, item);
  } catch (const SQLite::Exception& e) {
    rethrow(e, "add item key");
  }
}

void StateStore::add_keys(const std::string& identity, const std::vector<KeyRow>& keys) {
  sqlite3* db = m_impl->db.getHandle();
  sqlite3_stmt* many = m_impl->insert_keys.get();
  try {
    std::size_t next = 0;
    for (; keys.size() - next >= k_keys_per_insert; next += k_keys_per_insert) {
      bind_text(db, many, 1, identity);
      for (std::size_t i = 0; i < k_keys_per_insert; ++i) {
        const auto& [key, item] = keys[next + i];
        bind_text(db, many, static_cast<int>(2 + 2 * i), key);
        check_raw(db, sqlite3_bind_int64(many, static_cast<int>(3 + 2 * i), item));
      }
      run_raw(db, many);
    }
    for (; next < keys.size(); ++next) {
      insert_key_row(db, m_impl->insert_key.get(), identity, keys[next].key, keys[next].item);
    }
  } catch (const SQLite::Exception& e) {
    rethrow(e, "add item keys");
  }
}

void StateStore::remove_key(const std::string& identity, const std::string& key, ItemId item) {
  try {
    auto& q = m_impl->delete_key;
    detail::exec(q, identity, key, item);
  } catch (const SQLite::Exception& e) {
    rethrow(e, "remove item key");
  }
}

bool StateStore::has_keys(const std::string& identity) {
  try {
    return detail::query_int64(m_impl->db,
                               "SELECT EXISTS (SELECT 1 FROM item_keys WHERE identity = ?)",
                               identity) != 0;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "look for item keys");
  }
}

std::vector<std::string> StateStore::keys_of(ItemId item) {
  try {
    // No index on item_id (it would cost a write per key on every import): a scan is fine
    // for this one-item query.
    SQLite::Statement q(m_impl->db, "SELECT key FROM item_keys WHERE item_id = ? ORDER BY key");
    q.bind(1, item);
    std::vector<std::string> keys;
    while (q.executeStep()) {
      keys.push_back(q.getColumn(0).getString());
    }
    return keys;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read item keys");
  }
}

std::vector<std::pair<ItemId, BackendRecord>>
StateStore::records_by_remote_id(const std::string& identity, const std::string& backend,
                                 const std::string& remote_id) {
  try {
    auto& q = m_impl->select_by_remote;
    detail::rewind(q);
    SQLite::bind(q, identity, backend, remote_id);
    std::vector<std::pair<ItemId, BackendRecord>> out;
    while (q.executeStep()) {
      const ItemId id = q.getColumn(0).getInt64();
      out.emplace_back(id, read_record(q, 1));
    }
    return out;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "find records by backend id");
  }
}

std::optional<ItemRow> StateStore::item(ItemId id) {
  try {
    auto& q = m_impl->select_item;
    detail::rewind(q);
    q.bind(1, id);
    std::optional<ItemRow> row;
    if (q.executeStep()) {
      row = read_item(q);
    }
    // A prepared statement left on its row keeps a read transaction open in autocommit mode:
    // the next BEGIN IMMEDIATE then fails at once (SQLITE_BUSY_SNAPSHOT, no busy wait) as soon
    // as another process has written, as ws-parity or ws-backend recording their runs do.
    detail::rewind(q);
    return row;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read item");
  }
}

ItemId StateStore::insert_item(const ItemRow& row) {
  try {
    auto& q = m_impl->insert_item;
    detail::exec(q, row.identity, std::string(media_type_name(row.type)), row.title, row.year,
                 row.season, row.episode, row.watched ? 1 : 0, row.updated, row.progress_ms,
                 row.progress_at, row.via, row.created_at, row.updated_at);
    return m_impl->db.getLastInsertRowid();
  } catch (const SQLite::Exception& e) {
    rethrow(e, "insert item");
  }
}

void StateStore::update_item_state(const ItemRow& row) {
  try {
    auto& q = m_impl->update_state;
    detail::exec(q, row.watched ? 1 : 0, row.updated, row.progress_ms, row.progress_at, row.via,
                 row.updated_at, row.id);
  } catch (const SQLite::Exception& e) {
    rethrow(e, "update item");
  }
}

void StateStore::list_items(const ListFilter& filter,
                            const std::function<void(const ItemRow&)>& on_row) {
  try {
    std::string sql = fmt::format("SELECT {} FROM items WHERE identity = ?", k_item_columns);
    if (!filter.title_contains.empty()) {
      sql += " AND instr(lower(title), lower(?)) > 0";
    }
    if (filter.watched) {
      sql += *filter.watched ? " AND watched = 1" : " AND watched = 0";
    }
    sql += " ORDER BY title COLLATE NOCASE, year, season, episode, id";
    if (filter.limit > 0) {
      sql += fmt::format(" LIMIT {}", filter.limit);
    }
    SQLite::Statement q(m_impl->db, sql);
    int index = 1;
    q.bind(index++, filter.identity);
    if (!filter.title_contains.empty()) {
      q.bind(index++, filter.title_contains);
    }
    while (q.executeStep()) {
      on_row(read_item(q));
    }
  } catch (const SQLite::Exception& e) {
    rethrow(e, "list items");
  }
}

std::int64_t StateStore::count_items(const std::string& identity) {
  try {
    return detail::query_int64(m_impl->db, "SELECT count(*) FROM items WHERE identity = ?",
                               identity);
  } catch (const SQLite::Exception& e) {
    rethrow(e, "count items");
  }
}

void StateStore::for_each_with_record(
    const std::string& identity, const std::string& backend,
    const std::function<void(const ItemRow&, const BackendRecord&)>& on_pair) {
  try {
    // Only what the export decision reads: no path, no ids, no titles (a no-change sync runs
    // this over every item of every backend).
    SQLite::Statement q(
        m_impl->db,
        "SELECT i.id, i.type, i.title, i.year, i.season, i.episode, i.watched, "
        "i.updated, i.progress_ms, i.progress_at, b.remote_id, b.watched, b.played_at, "
        "b.added_at, b.progress_ms, b.multi, b.duration_ms FROM items i CROSS JOIN "
        "backend_items b ON b.item_id = i.id AND b.backend = ?2 WHERE +i.identity = "
        "?1"); // items in rowid order, their records next to each other: no seeks
    SQLite::bind(q, identity, backend);
    ItemRow row;
    row.identity = identity;
    BackendRecord r;
    r.backend = backend;
    while (q.executeStep()) {
      row.id = q.getColumn(0).getInt64();
      row.type = std::string_view(q.getColumn(1).getText()) == "episode" ? model::MediaType::episode
                                                                         : model::MediaType::movie;
      row.title = q.getColumn(2).getText();
      row.year = q.getColumn(3).getInt();
      row.season = q.getColumn(4).getInt();
      row.episode = q.getColumn(5).getInt();
      row.watched = q.getColumn(6).getInt() != 0;
      row.updated = q.getColumn(7).getInt64();
      row.progress_ms = q.getColumn(8).getInt64();
      row.progress_at = q.getColumn(9).getInt64();
      r.remote_id = q.getColumn(10).getText();
      r.watched = q.getColumn(11).getInt() != 0;
      r.played_at = q.getColumn(12).getInt64();
      r.added_at = q.getColumn(13).getInt64();
      r.progress_ms = q.getColumn(14).getInt64();
      r.multi = q.getColumn(15).getInt() != 0;
      r.duration_ms = q.getColumn(16).getInt64();
      on_pair(row, r);
    }
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read items and backend records");
  }
}

std::uint64_t record_digest(const BackendRecord& r) { return digest_of(r, encode_guids(r.guids)); }

std::uint64_t record_lookup_key(std::string_view remote_id, int season, int episode) {
  Digest d;
  d.add(remote_id);
  d.add(std::int64_t{season});
  d.add(std::int64_t{episode});
  return d.value();
}

std::unordered_map<std::string, std::vector<RecordDigest>>
StateStore::record_digests(const std::string& identity) {
  try {
    // The index that holds what is read (backend_items_remote, schema 9): one sequential pass
    // over ~60-90 bytes a record instead of every column of the table.
    sqlite3* db = m_impl->db.getHandle();
    const RawStatement q =
        prepare_raw(m_impl->db, "SELECT backend, lookup, item_id, digest FROM backend_items "
                                "INDEXED BY backend_items_remote WHERE identity = ?");
    bind_text(db, q.get(), 1, identity);
    sqlite3_stmt* raw = q.get();
    std::unordered_map<std::string, std::vector<RecordDigest>> out;
    std::vector<RecordDigest>* current = nullptr; // the index groups the records by backend
    std::string current_backend;
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
      if (const auto backend = text_column(raw, 0);
          current == nullptr || backend != current_backend) {
        current_backend = backend;
        current = &out[current_backend];
      }
      current->push_back({static_cast<std::uint64_t>(sqlite3_column_int64(raw, 1)),
                          sqlite3_column_int64(raw, 2),
                          static_cast<std::uint64_t>(sqlite3_column_int64(raw, 3))});
    }
    check_raw(db, rc);
    return out;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read backend records");
  }
}

std::vector<ItemId> StateStore::item_ids_in_list_order(const std::string& identity) {
  try {
    // Only the sort columns go through SQLite's sorter, not whole rows.
    SQLite::Statement q(m_impl->db, "SELECT id FROM items WHERE identity = ? ORDER BY title "
                                    "COLLATE NOCASE, year, season, episode, id");
    q.bind(1, identity);
    return detail::rows(q, [](SQLite::Statement& row) { return row.getColumn(0).getInt64(); });
  } catch (const SQLite::Exception& e) {
    rethrow(e, "list item ids");
  }
}

void StateStore::for_each_record_path(
    const std::string& identity,
    const std::function<void(std::string_view, std::string_view, bool, ItemId)>& on_path) {
  try {
    SQLite::Statement q(m_impl->db, "SELECT backend, path, multi, item_id FROM backend_items "
                                    "WHERE identity = ? AND path <> ''");
    q.bind(1, identity);
    while (q.executeStep()) {
      const auto backend = q.getColumn(0);
      const auto path = q.getColumn(1);
      on_path(std::string_view(backend.getText(), static_cast<std::size_t>(backend.getBytes())),
              std::string_view(path.getText(), static_cast<std::size_t>(path.getBytes())),
              q.getColumn(2).getInt() != 0, q.getColumn(3).getInt64());
    }
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read record paths");
  }
}

std::int64_t StateStore::count_records(const std::string& identity, const std::string& backend) {
  try {
    return detail::query_int64(
        m_impl->db, "SELECT count(*) FROM backend_items WHERE identity = ? AND backend = ?",
        identity, backend);
  } catch (const SQLite::Exception& e) {
    rethrow(e, "count backend records");
  }
}

bool StateStore::has_records(const std::string& identity, const std::string& backend) {
  try {
    return detail::query_int64(m_impl->db,
                               "SELECT EXISTS (SELECT 1 FROM backend_items WHERE identity = ? AND "
                               "backend = ?)",
                               identity, backend) != 0;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "look for backend records");
  }
}

namespace {

// Fill temp.ws_kept with `kept` (distinct); returns how many distinct records that is.
std::size_t fill_kept(SQLite::Database& db, const std::vector<RecordRef>& kept) {
  std::vector<const RecordRef*> distinct;
  distinct.reserve(kept.size());
  for (const auto& r : kept) {
    distinct.push_back(&r);
  }
  std::sort(distinct.begin(), distinct.end(), [](const RecordRef* a, const RecordRef* b) {
    return std::tie(a->item, a->remote_id) < std::tie(b->item, b->remote_id);
  });
  distinct.erase(std::unique(distinct.begin(), distinct.end(),
                             [](const RecordRef* a, const RecordRef* b) {
                               return a->item == b->item && a->remote_id == b->remote_id;
                             }),
                 distinct.end());
  db.exec("CREATE TEMP TABLE IF NOT EXISTS ws_kept (remote_id TEXT NOT NULL, item_id INTEGER NOT "
          "NULL, PRIMARY KEY (remote_id, item_id)) WITHOUT ROWID");
  db.exec("DELETE FROM temp.ws_kept");
  SQLite::Statement insert(db, "INSERT OR IGNORE INTO temp.ws_kept VALUES (?, ?)");
  for (const RecordRef* r : distinct) {
    detail::exec(insert, r->remote_id, r->item);
  }
  return distinct.size();
}

} // namespace

std::vector<RecordRef> StateStore::records_except(const std::string& identity,
                                                  const std::string& backend,
                                                  const std::vector<RecordRef>& kept) {
  try {
    fill_kept(m_impl->db, kept);
    SQLite::Statement q(m_impl->db,
                        "SELECT item_id, remote_id FROM backend_items WHERE identity = ? AND "
                        "backend = ? AND NOT EXISTS (SELECT 1 FROM temp.ws_kept k WHERE "
                        "k.remote_id = backend_items.remote_id AND k.item_id = "
                        "backend_items.item_id)");
    SQLite::bind(q, identity, backend);
    std::vector<RecordRef> out;
    while (q.executeStep()) {
      out.push_back({q.getColumn(0).getInt64(), q.getColumn(1).getString()});
    }
    return out;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "find records a listing did not confirm");
  }
}

std::int64_t StateStore::remove_records_except(const std::string& identity,
                                               const std::string& backend,
                                               const std::vector<RecordRef>& kept) {
  try {
    // The usual case: the backend still has everything. One count shows it, without building
    // the set of kept records inside SQLite.
    std::size_t distinct = 0;
    {
      std::vector<std::pair<ItemId, std::string_view>> refs;
      refs.reserve(kept.size());
      for (const auto& r : kept) {
        refs.emplace_back(r.item, r.remote_id);
      }
      std::sort(refs.begin(), refs.end());
      distinct = static_cast<std::size_t>(std::unique(refs.begin(), refs.end()) - refs.begin());
    }
    if (count_records(identity, backend) == static_cast<std::int64_t>(distinct)) {
      return 0;
    }
    fill_kept(m_impl->db, kept);
    // Conflicts first: they belong to the records about to go.
    SQLite::Statement conflicts(m_impl->db,
                                "DELETE FROM conflicts WHERE identity = ? AND backend = ? AND NOT "
                                "EXISTS (SELECT 1 FROM temp.ws_kept k WHERE k.remote_id = "
                                "conflicts.remote_id AND k.item_id = conflicts.item_id)");
    SQLite::bind(conflicts, identity, backend);
    conflicts.exec();
    SQLite::Statement remove(m_impl->db,
                             "DELETE FROM backend_items WHERE identity = ? AND backend = ? AND NOT "
                             "EXISTS (SELECT 1 FROM temp.ws_kept k WHERE k.remote_id = "
                             "backend_items.remote_id AND k.item_id = backend_items.item_id)");
    SQLite::bind(remove, identity, backend);
    return remove.exec();
  } catch (const SQLite::Exception& e) {
    rethrow(e, "remove records of items gone from a backend");
  }
}

std::vector<ItemRow> StateStore::prune_unreported(const std::string& identity, bool dry_run) {
  try {
    std::vector<ItemRow> rows;
    SQLite::Statement q(m_impl->db,
                        fmt::format("SELECT {} FROM items WHERE identity = ? AND id NOT IN "
                                    "(SELECT item_id FROM backend_items) ORDER BY id",
                                    k_item_columns));
    q.bind(1, identity);
    while (q.executeStep()) {
      rows.push_back(read_item(q));
    }
    if (!dry_run) {
      // foreign_keys is off: children go first, explicitly.
      for (const char* sql :
           {"DELETE FROM item_keys WHERE item_id = ?", "DELETE FROM change_log WHERE item_id = ?",
            "DELETE FROM conflicts WHERE item_id = ?1 OR other_item = ?1",
            "DELETE FROM items WHERE id = ?"}) {
        SQLite::Statement del(m_impl->db, sql);
        for (const auto& row : rows) {
          detail::exec(del, row.id);
        }
      }
    }
    return rows;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "prune items no backend reports");
  }
}

std::vector<BackendRecord> StateStore::records(ItemId item) {
  try {
    auto& q = m_impl->select_records; // prepared once: backups call this per item
    detail::rewind(q);
    q.bind(1, item);
    return detail::rows(q, [](SQLite::Statement& row) { return read_record(row); });
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read backend records");
  }
}

std::optional<StateStore::RowWithIdentity> StateStore::item_with_identity_records(ItemId item) {
  sqlite3* db = m_impl->db.getHandle();
  sqlite3_stmt* q = m_impl->select_item_with_identity.get();
  // Reset (not finalized) on every way out: not left on a row (see item()), after its error was
  // read.
  const RawStatement reset_on_exit(q, &sqlite3_reset);
  try {
    check_raw(db, sqlite3_bind_int64(q, 1, item));
    std::optional<RowWithIdentity> out;
    constexpr int first = k_item_column_count; // the record's columns, after the row's
    const RawColumns columns{q};
    int rc = SQLITE_OK;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
      if (!out) {
        out.emplace();
        out->row = read_item(columns);
      }
      if (sqlite3_column_type(q, first) == SQLITE_NULL) {
        break; // the row has no record
      }
      BackendRecord r;
      r.backend = columns.text(first);
      r.remote_id = columns.text(first + 1);
      r.show_id = columns.text(first + 2);
      r.guids = decode_guids(columns.text(first + 3));
      r.year = static_cast<int>(columns.number(first + 4));
      r.season = static_cast<int>(columns.number(first + 5));
      r.episode = static_cast<int>(columns.number(first + 6));
      r.path_key = columns.text(first + 7);
      r.title = columns.text(first + 8);
      out->records.push_back(std::move(r));
    }
    check_raw(db, rc);
    return out;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read item and its records");
  }
}

std::vector<BackendRecord> StateStore::records(ItemId item, const std::string& backend) {
  try {
    auto& q = m_impl->select_records_of_backend;
    detail::rewind(q);
    SQLite::bind(q, item, backend);
    return detail::rows(q, [](SQLite::Statement& row) { return read_record(row); });
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read backend records");
  }
}

void StateStore::upsert_record(const std::string& identity, ItemId item, const BackendRecord& r) {
  try {
    auto& q = m_impl->upsert_record;
    const std::string guids = encode_guids(r.guids);
    detail::exec(q, item, r.backend, r.remote_id, r.library_id, r.show_id, r.watched ? 1 : 0,
                 r.played_at, r.added_at, r.progress_ms, r.path, r.multi ? 1 : 0, guids,
                 r.duration_ms, r.year, r.season, r.episode, identity, r.path_key, r.title,
                 as_column(record_lookup_key(r.remote_id, r.season, r.episode)),
                 as_column(digest_of(r, guids))); // of exactly the fields written beside it
  } catch (const SQLite::Exception& e) {
    rethrow(e, "write backend record");
  }
}

void StateStore::remove_record(const std::string& identity, const std::string& backend,
                               const std::string& remote_id, ItemId item) {
  try {
    auto& q = m_impl->delete_record;
    detail::exec(q, identity, backend, remote_id, item);
    replace_conflicts(identity, backend, remote_id, item, {});
  } catch (const SQLite::Exception& e) {
    rethrow(e, "remove backend record");
  }
}

// A playlist's items as stored: local item ids, space-separated, in order.
namespace {

std::string join_item_ids(const std::vector<ItemId>& items) {
  std::string text;
  for (const auto id : items) {
    text += text.empty() ? "" : " ";
    text += std::to_string(id);
  }
  return text;
}

std::vector<ItemId> split_item_ids(const std::string& text) {
  std::vector<ItemId> items;
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find(' ', at);
    if (end == std::string::npos) {
      end = text.size();
    }
    if (end > at) {
      items.push_back(std::stoll(text.substr(at, end - at)));
    }
    at = end + 1;
  }
  return items;
}

} // namespace

void StateStore::merge_item(ItemId into, ItemId from) {
  try {
    // foreign_keys is off: every child table is moved explicitly, then the row goes.
    SQLite::Statement records(
        m_impl->db, "INSERT OR IGNORE INTO backend_items SELECT identity, backend, "
                    "remote_id, ?, library_id, show_id, watched, played_at, added_at, "
                    "progress_ms, path, multi, guids, duration_ms, year, season, episode, "
                    "path_key, title, lookup, digest FROM backend_items WHERE item_id = ?");
    SQLite::bind(records, into, from);
    records.exec();
    for (const char* sql : {"DELETE FROM backend_items WHERE item_id = ?2",
                            "UPDATE change_log SET item_id = ?1 WHERE item_id = ?2",
                            "UPDATE OR IGNORE conflicts SET item_id = ?1 WHERE item_id = ?2",
                            "DELETE FROM conflicts WHERE item_id = ?2",
                            "UPDATE OR IGNORE conflicts SET other_item = ?1 WHERE other_item = ?2",
                            "DELETE FROM conflicts WHERE other_item = ?2 OR other_item = item_id",
                            "DELETE FROM items WHERE id = ?2"}) {
      SQLite::Statement q(m_impl->db, sql);
      if (q.getBindParameterCount() >= 2) {
        q.bind(1, into);
      }
      q.bind(2, from);
      q.exec();
    }
    // Playlists name their items by row: the list keeps the item as the row it joined. (Left
    // naming a row that is gone, the list would miss it on every backend whenever the copy it
    // came from cannot be read again, and the other copies would lose the entry.)
    // A library holds a handful of playlists: each is read whole.
    SQLite::Statement lists(m_impl->db, "SELECT id, items FROM playlists");
    std::vector<std::pair<std::int64_t, std::vector<ItemId>>> changed;
    while (lists.executeStep()) {
      auto items = split_item_ids(lists.getColumn(1).getString());
      if (std::find(items.begin(), items.end(), from) != items.end()) {
        std::replace(items.begin(), items.end(), from, into);
        changed.emplace_back(lists.getColumn(0).getInt64(), std::move(items));
      }
    }
    if (!changed.empty()) {
      SQLite::Statement update(m_impl->db, "UPDATE playlists SET items = ? WHERE id = ?");
      for (const auto& [id, items] : changed) {
        detail::exec(update, join_item_ids(items), id);
      }
    }
  } catch (const SQLite::Exception& e) {
    rethrow(e, "merge items");
  }
}

std::vector<ConflictRecord> StateStore::conflicts_of(const std::string& identity,
                                                     const std::string& backend,
                                                     const std::string& remote_id, ItemId item) {
  try {
    auto& q = m_impl->select_conflicts;
    detail::rewind(q);
    SQLite::bind(q, identity, backend, remote_id, item);
    return detail::rows(q, read_conflict);
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read conflicts");
  }
}

void StateStore::replace_conflicts(const std::string& identity, const std::string& backend,
                                   const std::string& remote_id, ItemId item,
                                   const std::vector<ConflictRecord>& conflicts) {
  try {
    auto wanted = conflicts;
    std::sort(wanted.begin(), wanted.end(), [](const auto& a, const auto& b) {
      return std::tie(a.key, a.other) < std::tie(b.key, b.other);
    });
    if (conflicts_of(identity, backend, remote_id, item) == wanted) {
      return; // a no-change run writes nothing
    }
    SQLite::Statement del(m_impl->db, "DELETE FROM conflicts WHERE identity = ? AND backend = ? "
                                      "AND remote_id = ? AND item_id = ?");
    SQLite::bind(del, identity, backend, remote_id, item);
    del.exec();
    SQLite::Statement ins(m_impl->db,
                          "INSERT OR IGNORE INTO conflicts (identity, backend, remote_id, item_id, "
                          "key, other_item, kind) VALUES (?, ?, ?, ?, ?, ?, ?)");
    for (const auto& c : wanted) {
      detail::exec(ins, identity, backend, remote_id, item, c.key, c.other, c.kind);
    }
  } catch (const SQLite::Exception& e) {
    rethrow(e, "write conflicts");
  }
}

std::vector<ConflictRecord> StateStore::conflicts(const std::string& identity,
                                                  const std::string& backend) {
  try {
    auto q = of_identity(m_impl->db,
                         "SELECT backend, remote_id, item_id, key, other_item, kind FROM "
                         "conflicts WHERE identity = ?",
                         identity, backend, "item_id, backend, remote_id, key, other_item");
    return detail::rows(q, read_conflict);
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read conflicts");
  }
}

void StateStore::log_change(const ChangeEntry& entry) {
  try {
    auto& q = m_impl->insert_change;
    detail::exec(q, entry.item_id, entry.backend, entry.direction, entry.field, entry.old_value,
                 entry.new_value, entry.at, entry.outcome);
  } catch (const SQLite::Exception& e) {
    rethrow(e, "write change log");
  }
}

std::vector<ChangeEntry> StateStore::changes(ItemId item) {
  try {
    SQLite::Statement q(m_impl->db,
                        "SELECT id, item_id, backend, direction, field, old_value, new_value, at, "
                        "outcome FROM change_log WHERE item_id = ? ORDER BY id");
    q.bind(1, item);
    std::vector<ChangeEntry> out;
    while (q.executeStep()) {
      ChangeEntry c;
      c.id = q.getColumn(0).getInt64();
      c.item_id = q.getColumn(1).getInt64();
      c.backend = q.getColumn(2).getString();
      c.direction = q.getColumn(3).getString();
      c.field = q.getColumn(4).getString();
      c.old_value = q.getColumn(5).getString();
      c.new_value = q.getColumn(6).getString();
      c.at = q.getColumn(7).getInt64();
      c.outcome = q.getColumn(8).getString();
      out.push_back(std::move(c));
    }
    return out;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read change log");
  }
}

std::int64_t StateStore::prune_changes(UnixTime cutoff, bool dry_run) {
  try {
    SQLite::Statement q(m_impl->db, dry_run ? "SELECT count(*) FROM change_log WHERE at < ?"
                                            : "DELETE FROM change_log WHERE at < ?");
    q.bind(1, static_cast<std::int64_t>(cutoff));
    if (dry_run) {
      q.executeStep();
      return q.getColumn(0).getInt64();
    }
    return q.exec();
  } catch (const SQLite::Exception& e) {
    rethrow(e, "prune change log");
  }
}

std::optional<UnixTime> StateStore::cursor(const std::string& identity, const std::string& backend,
                                           const std::string& kind) {
  try {
    SQLite::Statement q(m_impl->db, "SELECT value FROM cursors WHERE identity = ? AND backend = ? "
                                    "AND kind = ?");
    SQLite::bind(q, identity, backend, kind);
    if (q.executeStep()) {
      return q.getColumn(0).getInt64();
    }
    return std::nullopt;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read sync cursor");
  }
}

void StateStore::set_cursor(const std::string& identity, const std::string& backend,
                            const std::string& kind, UnixTime value) {
  try {
    SQLite::Statement q(m_impl->db, "INSERT OR REPLACE INTO cursors (identity, backend, kind, "
                                    "value) VALUES (?, ?, ?, ?)");
    SQLite::bind(q, identity, backend, kind, value);
    q.exec();
  } catch (const SQLite::Exception& e) {
    rethrow(e, "write sync cursor");
  }
}

model::ShowCache StateStore::load_shows(const std::string& identity, const std::string& backend) {
  try {
    SQLite::Statement q(m_impl->db, "SELECT show_id, title, year, guids FROM shows WHERE "
                                    "identity = ? AND backend = ?");
    SQLite::bind(q, identity, backend);
    model::ShowCache shows;
    while (q.executeStep()) {
      model::RemoteShow s;
      s.id = q.getColumn(0).getString();
      s.title = q.getColumn(1).getString();
      s.year = q.getColumn(2).getInt();
      s.guids = decode_guids(q.getColumn(3).getString());
      auto id = s.id;
      shows.emplace(std::move(id), std::move(s));
    }
    return shows;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read show cache");
  }
}

std::vector<std::pair<std::string, std::vector<ItemId>>>
StateStore::shared_keys(const std::string& identity) {
  try {
    SQLite::Statement q(m_impl->db,
                        "SELECT key, item_id FROM item_keys WHERE identity = ?1 AND key IN (SELECT "
                        "key FROM item_keys WHERE identity = ?1 GROUP BY key HAVING count(*) > 1) "
                        "ORDER BY key, item_id");
    q.bind(1, identity);
    std::vector<std::pair<std::string, std::vector<ItemId>>> out;
    while (q.executeStep()) {
      std::string key = q.getColumn(0).getString();
      if (out.empty() || out.back().first != key) {
        out.emplace_back(std::move(key), std::vector<ItemId>{});
      }
      out.back().second.push_back(q.getColumn(1).getInt64());
    }
    return out;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read shared keys");
  }
}

std::vector<std::tuple<std::string, ItemId, ItemId>>
StateStore::imdb_on_movie_and_episode(const std::string& identity) {
  try {
    // "imdb://tt1/movie" and "imdb://tt1/episode": the same id on both kinds of rows.
    SQLite::Statement q(m_impl->db,
                        "SELECT substr(m.key, 8, length(m.key) - 13), m.item_id, e.item_id FROM "
                        "item_keys m JOIN item_keys e ON e.identity = m.identity AND e.key = "
                        "substr(m.key, 1, length(m.key) - 5) || 'episode' WHERE m.identity = ? AND "
                        "m.key LIKE 'imdb://%/movie' ORDER BY m.item_id, e.item_id");
    q.bind(1, identity);
    std::vector<std::tuple<std::string, ItemId, ItemId>> out;
    while (q.executeStep()) {
      out.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getInt64(),
                       q.getColumn(2).getInt64());
    }
    return out;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read imdb ids of movies and episodes");
  }
}

std::vector<IgnoredItem> StateStore::ignored_items(const std::string& identity,
                                                   const std::string& backend) {
  try {
    auto q = of_identity(m_impl->db,
                         "SELECT backend, remote_id, rule, title, kind FROM ignored_items WHERE "
                         "identity = ?",
                         identity, backend, "rule, backend, remote_id");
    return detail::rows(q, [](SQLite::Statement& row) {
      return IgnoredItem{row.getColumn(0).getString(), row.getColumn(1).getString(),
                         row.getColumn(2).getString(), row.getColumn(3).getString(),
                         row.getColumn(4).getString()};
    });
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read ignored items");
  }
}

void StateStore::replace_ignored_items(const std::string& identity, const std::string& backend,
                                       std::vector<IgnoredItem> items) {
  try {
    std::sort(items.begin(), items.end(), [](const IgnoredItem& a, const IgnoredItem& b) {
      return std::tie(a.rule, a.backend, a.remote_id) < std::tie(b.rule, b.backend, b.remote_id);
    });
    items.erase(std::unique(items.begin(), items.end(),
                            [](const IgnoredItem& a, const IgnoredItem& b) {
                              return a.rule == b.rule && a.remote_id == b.remote_id;
                            }),
                items.end());
    if (ignored_items(identity, backend) == items) {
      return; // a no-change run writes nothing
    }
    SQLite::Statement del(m_impl->db,
                          "DELETE FROM ignored_items WHERE identity = ? AND backend = ?");
    SQLite::bind(del, identity, backend);
    del.exec();
    SQLite::Statement ins(m_impl->db, "INSERT OR IGNORE INTO ignored_items (identity, backend, "
                                      "remote_id, rule, title, kind) VALUES (?, ?, ?, ?, ?, ?)");
    for (const auto& i : items) {
      detail::exec(ins, identity, backend, i.remote_id, i.rule, i.title, i.kind);
    }
  } catch (const SQLite::Exception& e) {
    rethrow(e, "write ignored items");
  }
}

void StateStore::save_show(const std::string& identity, const std::string& backend,
                           const model::RemoteShow& show) {
  try {
    detail::exec(m_impl->save_show, identity, backend, show.id, show.title, show.year,
                 encode_guids(show.guids));
  } catch (const SQLite::Exception& e) {
    rethrow(e, "write show cache");
  }
}

void StateStore::save_server(const std::string& backend, const model::ServerInfo& info) {
  try {
    SQLite::Statement q(m_impl->db, "INSERT OR REPLACE INTO servers (backend, server_id, name, "
                                    "version) VALUES (?, ?, ?, ?)");
    SQLite::bind(q, backend, info.id, info.name, info.version);
    q.exec();
  } catch (const SQLite::Exception& e) {
    rethrow(e, "write server id");
  }
}

std::optional<model::ServerInfo> StateStore::server(const std::string& backend) {
  try {
    SQLite::Statement q(m_impl->db,
                        "SELECT server_id, name, version FROM servers WHERE backend = ?");
    q.bind(1, backend);
    if (q.executeStep()) {
      return model::ServerInfo{q.getColumn(0).getString(), q.getColumn(1).getString(),
                               q.getColumn(2).getString()};
    }
    return std::nullopt;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read server id");
  }
}

void StateStore::query_items(const ItemQuery& query,
                             const std::function<void(const ItemRow&)>& on_row) {
  try {
    // With an external id the rows its keys name are looked up by rowid ("+": not the identity
    // index, which would scan the identity's rows); otherwise they are scanned, the cheap
    // filters first, the records' ones (one seek per row) last.
    std::string sql = fmt::format("SELECT {} FROM items WHERE {} = :identity", k_item_columns,
                                  query.external_id ? "+identity" : "identity");
    if (!query.title_contains.empty()) {
      sql += " AND instr(lower(title), lower(:title)) > 0";
    }
    if (query.watched) {
      sql += *query.watched ? " AND watched = 1" : " AND watched = 0";
    }
    if (query.type) {
      sql += " AND type = :type";
    }
    if (query.year) {
      sql += " AND year = :year";
    }
    if (query.season) {
      sql += " AND type = 'episode' AND season = :season";
    }
    if (query.episode) {
      sql += " AND type = 'episode' AND episode = :episode";
    }
    std::string own_movie, own_episode, series_from, series_to;
    if (query.external_id) {
      // Keys (sync/matching.cpp): "imdb://tt1/movie", "tvdb://5/episode" for an item's own
      // ids, "rtvdb://200/1/2" for an episode through its series. Seeks on the key index: the
      // two own keys, and the range of series keys "rtvdb://200/" ... "rtvdb://2000".
      const std::string id = fmt::format("{}://{}", model::guid_key_name(query.external_id->key),
                                         query.external_id->value);
      own_movie = id + "/movie";
      own_episode = id + "/episode";
      series_from = "r" + id + "/";
      series_to = "r" + id + "0"; // '0' follows '/'
      sql += " AND id IN (SELECT item_id FROM item_keys WHERE identity = :identity AND key IN "
             "(:own_movie, :own_episode) UNION SELECT item_id FROM item_keys WHERE identity = "
             ":identity AND key >= :series_from AND key < :series_to)";
    }
    if (!query.backend.empty()) {
      sql += " AND EXISTS (SELECT 1 FROM backend_items b WHERE b.item_id = items.id AND "
             "b.backend = :backend)"; // a seek on the records' primary key (item_id, backend)
    }
    if (!query.path_contains.empty()) {
      sql += " AND EXISTS (SELECT 1 FROM backend_items b WHERE b.item_id = items.id AND "
             "instr(lower(b.path), lower(:path)) > 0)";
    }
    sql += " ORDER BY title COLLATE NOCASE, year, season, episode, id";
    if (query.limit > 0) {
      sql += fmt::format(" LIMIT {}", query.limit);
    }
    SQLite::Statement q(m_impl->db, sql);
    q.bind(":identity", query.identity);
    if (!query.title_contains.empty()) {
      q.bind(":title", query.title_contains);
    }
    if (query.type) {
      q.bind(":type", std::string(media_type_name(*query.type)));
    }
    if (query.year) {
      q.bind(":year", *query.year);
    }
    if (query.season) {
      q.bind(":season", *query.season);
    }
    if (query.episode) {
      q.bind(":episode", *query.episode);
    }
    if (query.external_id) {
      q.bind(":own_movie", own_movie);
      q.bind(":own_episode", own_episode);
      q.bind(":series_from", series_from);
      q.bind(":series_to", series_to);
    }
    if (!query.backend.empty()) {
      q.bind(":backend", query.backend);
    }
    if (!query.path_contains.empty()) {
      q.bind(":path", query.path_contains);
    }
    while (q.executeStep()) {
      on_row(read_item(q));
    }
  } catch (const SQLite::Exception& e) {
    rethrow(e, "list items");
  }
}

std::optional<ForgottenItem> StateStore::forget_item(ItemId id) {
  try {
    auto row = item(id);
    if (!row) {
      return std::nullopt;
    }
    ForgottenItem gone;
    gone.row = std::move(*row);
    gone.keys = keys_of(id);
    gone.records = records(id);
    const auto count = [&](const char* sql) { return detail::query_int64(m_impl->db, sql, id); };
    gone.changes = count("SELECT count(*) FROM change_log WHERE item_id = ?1");
    gone.conflicts = count("SELECT count(*) FROM conflicts WHERE item_id = ?1 OR other_item = ?1");
    Transaction tx(*this);
    // foreign_keys is off: children go first, explicitly. Keys are deleted by their primary key
    // (item_keys has no index on item_id).
    SQLite::Statement key(m_impl->db,
                          "DELETE FROM item_keys WHERE identity = ? AND key = ? AND item_id = ?");
    for (const auto& k : gone.keys) {
      detail::exec(key, gone.row.identity, k, id);
    }
    for (const char* sql : {"DELETE FROM backend_items WHERE item_id = ?1",
                            "DELETE FROM change_log WHERE item_id = ?1",
                            "DELETE FROM conflicts WHERE item_id = ?1 OR other_item = ?1",
                            "DELETE FROM items WHERE id = ?1"}) {
      SQLite::Statement del(m_impl->db, sql);
      del.bind(1, id);
      del.exec();
    }
    tx.commit();
    return gone;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "forget item");
  }
}

std::vector<PlaylistRow> StateStore::playlists(const std::string& identity) {
  try {
    std::vector<PlaylistRow> rows;
    SQLite::Statement q(m_impl->db, "SELECT id, title, name_key, items, updated, source, "
                                    "synced_at FROM playlists WHERE identity = ? ORDER BY id");
    q.bind(1, identity);
    while (q.executeStep()) {
      PlaylistRow row;
      row.id = q.getColumn(0).getInt64();
      row.identity = identity;
      row.title = q.getColumn(1).getString();
      row.name_key = q.getColumn(2).getString();
      row.items = split_item_ids(q.getColumn(3).getString());
      row.updated = q.getColumn(4).getInt64();
      row.source = q.getColumn(5).getString();
      row.synced_at = q.getColumn(6).getInt64();
      rows.push_back(std::move(row));
    }
    SQLite::Statement copies(m_impl->db,
                             "SELECT backend, remote_id, signature, deleted, seen_at FROM "
                             "playlist_copies WHERE playlist_id = ? ORDER BY backend");
    for (auto& row : rows) {
      copies.reset();
      copies.bind(1, row.id);
      while (copies.executeStep()) {
        row.copies.push_back({copies.getColumn(0).getString(), copies.getColumn(1).getString(),
                              copies.getColumn(2).getString(), copies.getColumn(3).getInt() != 0,
                              copies.getColumn(4).getInt64()});
      }
    }
    return rows;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read playlists");
  }
}

std::int64_t StateStore::save_playlist(const PlaylistRow& row) {
  try {
    std::int64_t id = row.id;
    if (id == 0) {
      SQLite::Statement insert(m_impl->db,
                               "INSERT INTO playlists (identity, title, name_key, items, updated, "
                               "source, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
      SQLite::bind(insert, row.identity, row.title, row.name_key, join_item_ids(row.items),
                   static_cast<std::int64_t>(row.updated), row.source,
                   static_cast<std::int64_t>(row.synced_at));
      insert.exec();
      id = m_impl->db.getLastInsertRowid();
    } else {
      SQLite::Statement update(m_impl->db,
                               "UPDATE playlists SET title = ?, name_key = ?, items = ?, updated = "
                               "?, source = ?, synced_at = ? WHERE id = ?");
      SQLite::bind(update, row.title, row.name_key, join_item_ids(row.items),
                   static_cast<std::int64_t>(row.updated), row.source,
                   static_cast<std::int64_t>(row.synced_at), id);
      update.exec();
      SQLite::Statement clear(m_impl->db, "DELETE FROM playlist_copies WHERE playlist_id = ?");
      clear.bind(1, id);
      clear.exec();
    }
    SQLite::Statement copy(m_impl->db,
                           "INSERT INTO playlist_copies (playlist_id, backend, remote_id, "
                           "signature, deleted, seen_at) VALUES (?, ?, ?, ?, ?, ?)");
    for (const auto& c : row.copies) {
      detail::exec(copy, id, c.backend, c.remote_id, c.signature, c.deleted ? 1 : 0,
                   static_cast<std::int64_t>(c.seen_at));
    }
    return id;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "save playlist");
  }
}

void StateStore::delete_playlist(std::int64_t id) {
  try {
    for (const char* sql : {"DELETE FROM playlist_copies WHERE playlist_id = ?1",
                            "DELETE FROM playlists WHERE id = ?1"}) {
      SQLite::Statement del(m_impl->db, sql);
      del.bind(1, id);
      del.exec();
    }
  } catch (const SQLite::Exception& e) {
    rethrow(e, "delete playlist");
  }
}

} // namespace ws::db
