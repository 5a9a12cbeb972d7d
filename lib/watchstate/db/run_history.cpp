// SPDX-License-Identifier: MIT
#include <watchstate/core/error.hpp>
#include <watchstate/db/run_history.hpp>
#include <watchstate/db/sqlite.hpp>
#include <watchstate/db/state_store.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <sqlite3.h>

#include <map>
#include <utility>

namespace ws::db {
namespace {

using detail::rethrow;

} // namespace

struct RunHistory::Impl {
  SQLite::Database db;

  explicit Impl(const std::filesystem::path& file)
      : db(detail::open_database(file, detail::Durability::normal)) {}
};

RunHistory::RunHistory(const std::filesystem::path& file) {
  {
    // The schema (and its migrations) belong to the state store: let it bring the file up to
    // date before this connection reads it.
    const StateStore store(file);
  }
  try {
    m_impl = std::make_unique<Impl>(file);
  } catch (const SQLite::Exception& e) {
    rethrow(e, fmt::format("cannot open {}", file.string()));
  }
}

RunHistory::~RunHistory() = default;

std::int64_t RunHistory::record(const Run& run, int keep_days) {
  try {
    SQLite::Transaction tx(m_impl->db, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement insert(m_impl->db,
                             "INSERT INTO runs (tool, started_at, finished_at, exit_code, status, "
                             "dry_run, command, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    SQLite::bind(insert, run.tool, static_cast<std::int64_t>(run.started_at),
                 static_cast<std::int64_t>(run.finished_at), run.exit_code, run.status,
                 run.dry_run ? 1 : 0, run.command, run.duration_ms);
    insert.exec();
    const std::int64_t id = m_impl->db.getLastInsertRowid();

    SQLite::Statement backend(m_impl->db,
                              "INSERT OR REPLACE INTO run_backends (run_id, identity, backend, "
                              "phase, ok, items, writes, failed, requests, duration_ms, "
                              "finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const auto& b : run.backends) {
      detail::exec(backend, id, b.identity, b.backend, b.phase, b.ok ? 1 : 0, b.items, b.writes,
                   b.failed, b.requests, b.duration_ms, static_cast<std::int64_t>(run.finished_at));
    }
    SQLite::Statement error(m_impl->db, "INSERT INTO run_errors (run_id, seq, identity, backend, "
                                        "kind, message, at) VALUES (?, ?, ?, ?, ?, ?, ?)");
    int seq = 0;
    for (const auto& e : run.errors) {
      detail::exec(error, id, seq++, e.identity, e.backend, e.kind, e.message,
                   static_cast<std::int64_t>(run.finished_at));
    }
    tx.commit();
    if (keep_days > 0) {
      prune(run.started_at - static_cast<UnixTime>(keep_days) * 86400);
    }
    return id;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "record the run");
  }
}

std::int64_t RunHistory::prune(UnixTime cutoff, bool dry_run) {
  try {
    SQLite::Transaction tx(m_impl->db, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement old(m_impl->db, "SELECT COUNT(*) FROM runs WHERE started_at < ?");
    old.bind(1, static_cast<std::int64_t>(cutoff));
    old.executeStep();
    const std::int64_t count = old.getColumn(0).getInt64();
    if (count > 0 && !dry_run) {
      for (const char* sql :
           {"DELETE FROM run_backends WHERE run_id IN (SELECT id FROM runs WHERE started_at < ?)",
            "DELETE FROM run_errors WHERE run_id IN (SELECT id FROM runs WHERE started_at < ?)",
            "DELETE FROM runs WHERE started_at < ?"}) {
        SQLite::Statement del(m_impl->db, sql);
        del.bind(1, static_cast<std::int64_t>(cutoff));
        del.exec();
      }
    }
    tx.commit();
    return count;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "prune the run history");
  }
}

std::vector<Run> RunHistory::runs(std::size_t limit, const std::string& tool) {
  try {
    std::vector<Run> result;
    SQLite::Statement q(
        m_impl->db,
        tool.empty()
            ? "SELECT id, tool, started_at, finished_at, exit_code, status, "
              "dry_run, command, duration_ms FROM runs ORDER BY id DESC LIMIT ?"
            : "SELECT id, tool, started_at, finished_at, exit_code, status, "
              "dry_run, command, duration_ms FROM runs WHERE tool = ? ORDER BY id DESC LIMIT ?");
    int arg = 1;
    if (!tool.empty()) {
      q.bind(arg++, tool);
    }
    q.bind(arg, static_cast<std::int64_t>(limit));
    while (q.executeStep()) {
      Run run;
      run.id = q.getColumn(0).getInt64();
      run.tool = q.getColumn(1).getString();
      run.started_at = q.getColumn(2).getInt64();
      run.finished_at = q.getColumn(3).getInt64();
      run.exit_code = q.getColumn(4).getInt();
      run.status = q.getColumn(5).getString();
      run.dry_run = q.getColumn(6).getInt() != 0;
      run.command = q.getColumn(7).getString();
      run.duration_ms = q.getColumn(8).getInt64();
      result.push_back(std::move(run));
    }
    SQLite::Statement backends(m_impl->db,
                               "SELECT identity, backend, phase, ok, items, writes, failed, "
                               "requests, duration_ms FROM run_backends WHERE run_id = ? "
                               "ORDER BY identity, backend, phase");
    SQLite::Statement errors(m_impl->db, "SELECT identity, backend, kind, message FROM run_errors "
                                         "WHERE run_id = ? ORDER BY seq");
    for (auto& run : result) {
      backends.reset();
      backends.bind(1, run.id);
      while (backends.executeStep()) {
        run.backends.push_back(
            RunBackend{backends.getColumn(0).getString(), backends.getColumn(1).getString(),
                       backends.getColumn(2).getString(), backends.getColumn(3).getInt() != 0,
                       backends.getColumn(4).getInt64(), backends.getColumn(5).getInt64(),
                       backends.getColumn(6).getInt64(), backends.getColumn(7).getInt64(),
                       backends.getColumn(8).getInt64()});
      }
      errors.reset();
      errors.bind(1, run.id);
      while (errors.executeStep()) {
        run.errors.push_back(
            RunError{errors.getColumn(0).getString(), errors.getColumn(1).getString(),
                     errors.getColumn(2).getString(), errors.getColumn(3).getString()});
      }
    }
    return result;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read the run history");
  }
}

std::vector<BackendHealth> RunHistory::health() {
  try {
    std::map<std::pair<std::string, std::string>, BackendHealth> by;
    auto entry = [&by](const std::string& identity, const std::string& backend) -> BackendHealth& {
      auto& h = by[{identity, backend}];
      h.identity = identity;
      h.backend = backend;
      return h;
    };
    SQLite::Statement ok(m_impl->db,
                         "SELECT b.identity, b.backend, b.phase, MAX(b.finished_at) FROM "
                         "run_backends b JOIN runs r ON r.id = b.run_id WHERE b.ok = 1 AND "
                         "r.dry_run = 0 GROUP BY b.identity, b.backend, b.phase");
    while (ok.executeStep()) {
      auto& h = entry(ok.getColumn(0).getString(), ok.getColumn(1).getString());
      const std::string phase = ok.getColumn(2).getString();
      if (phase == "import") {
        h.last_import = ok.getColumn(3).getInt64();
      } else if (phase == "export") {
        h.last_export = ok.getColumn(3).getInt64();
      }
    }
    // The newest error per backend (errors of a whole run, without a backend, are the run's).
    SQLite::Statement err(
        m_impl->db, "SELECT identity, backend, kind, message, at FROM run_errors e WHERE "
                    "backend != '' AND at = (SELECT MAX(at) FROM run_errors x WHERE "
                    "x.identity = e.identity AND x.backend = e.backend) ORDER BY run_id, seq");
    while (err.executeStep()) {
      auto& h = entry(err.getColumn(0).getString(), err.getColumn(1).getString());
      h.last_error_kind = err.getColumn(2).getString();
      h.last_error = err.getColumn(3).getString();
      h.last_error_at = err.getColumn(4).getInt64();
    }
    SQLite::Statement items(m_impl->db, "SELECT identity, backend, COUNT(DISTINCT item_id) FROM "
                                        "backend_items GROUP BY identity, backend");
    while (items.executeStep()) {
      entry(items.getColumn(0).getString(), items.getColumn(1).getString()).items =
          items.getColumn(2).getInt64();
    }
    std::vector<BackendHealth> result;
    for (auto& [key, h] : by) {
      result.push_back(std::move(h));
    }
    return result;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "read the run history");
  }
}

std::vector<IdentityCounts> RunHistory::identity_counts() {
  try {
    std::vector<IdentityCounts> result;
    SQLite::Statement q(m_impl->db, "SELECT identity, COUNT(*), SUM(watched) FROM items GROUP BY "
                                    "identity ORDER BY identity");
    while (q.executeStep()) {
      result.push_back(IdentityCounts{q.getColumn(0).getString(), q.getColumn(1).getInt64(),
                                      q.getColumn(2).getInt64()});
    }
    return result;
  } catch (const SQLite::Exception& e) {
    rethrow(e, "count the items");
  }
}

} // namespace ws::db
