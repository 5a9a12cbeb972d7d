// SPDX-License-Identifier: MIT
#include <watchstate/db/run_history.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

using namespace ws;

namespace {

struct TempDb {
  std::filesystem::path dir;
  TempDb() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ws-runs-XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
  }
  ~TempDb() { std::filesystem::remove_all(dir); }
  [[nodiscard]] std::filesystem::path file() const { return dir / "state.db"; }
};

db::Run run(const char* tool, UnixTime at, int exit_code) {
  db::Run r;
  r.tool = tool;
  r.started_at = at;
  r.finished_at = at + 5;
  r.duration_ms = 5'000;
  r.exit_code = exit_code;
  r.status = exit_code == 0 ? "ok" : "partial";
  return r;
}

} // namespace

TEST_CASE("run history: runs, health per backend, errors, pruning", "[db][runs]") {
  TempDb tmp;
  db::RunHistory history(tmp.file());

  auto first = run("ws-sync", 1'800'000'000, 0);
  first.backends = {{"main", "plex", "import", true, 100, 100, 0, 3, 900},
                    {"main", "plex", "export", true, 100, 4, 0, 5, 300},
                    {"main", "jf", "import", true, 90, 90, 0, 2, 800}};
  history.record(first, 0);

  auto failed = run("ws-sync", 1'800'003'600, 1);
  failed.backends = {{"main", "plex", "import", true, 100, 0, 0, 3, 900},
                     {"main", "jf", "import", false, 0, 0, 0, 4, 100}};
  failed.errors = {{"main", "jf", "tempfail", "jf: HTTP 503 from /Items"}};
  history.record(failed, 0);

  auto dry = run("ws-sync", 1'800'007'200, 0);
  dry.dry_run = true;
  dry.backends = {{"main", "jf", "import", true, 90, 0, 0, 2, 800}};
  history.record(dry, 0);

  const auto runs = history.runs(10);
  REQUIRE(runs.size() == 3);
  CHECK(runs[0].dry_run);
  CHECK(runs[1].exit_code == 1);
  REQUIRE(runs[1].errors.size() == 1);
  CHECK(runs[1].errors[0].kind == "tempfail");
  CHECK(runs[2].backends.size() == 3);
  CHECK(runs[2].duration_ms == 5'000);
  CHECK(history.runs(10, "ws-backup").empty());
  CHECK(history.runs(1).size() == 1);

  const auto health = history.health();
  REQUIRE(health.size() == 2);
  const auto& jf = health[0].backend == "jf" ? health[0] : health[1];
  const auto& plex = health[0].backend == "plex" ? health[0] : health[1];
  // The dry run and the failed run are no success: jf last worked in the first run.
  CHECK(jf.last_import == first.finished_at);
  CHECK_FALSE(jf.last_export.has_value());
  CHECK(jf.last_error_at == failed.finished_at);
  CHECK(jf.last_error_kind == "tempfail");
  CHECK(plex.last_import == failed.finished_at);
  CHECK(plex.last_export == first.finished_at);
  CHECK_FALSE(plex.last_error_at.has_value());

  // Kept for a number of days from the newest run: older ones go with their rows.
  CHECK(history.prune(1'800'003'000) == 1);
  CHECK(history.runs(10).size() == 2);
  history.record(run("ws-backup", 1'800'000'000 + 200 * 86400, 0), 180);
  CHECK(history.runs(10).size() == 1);
}
