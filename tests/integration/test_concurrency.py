# SPDX-License-Identifier: MIT
"""Overlapping runs of any tools on one state_dir never corrupt it: one run holds the lock, the
others exit 75 with a message saying why; readers go on; a database held by another writer makes
a run wait (busy timeout) and then exit 75. Every loop is bounded; servers are on 127.0.0.1."""
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
import unittest

import endstate
import worlds
from wstest import Result, Simulator, WsTestCase, binary

SEED = int(os.environ.get("WS_CONCURRENCY_SEED", "75"))
ROUNDS = 8

# Every tool, as a run that takes the lock (L) or only reads the database (R).
TOOLS = [
    ("L", ["ws-import"]),
    ("L", ["ws-export"]),
    ("L", ["ws-sync"]),
    ("L", ["ws-backup", "create"]),
    ("L", ["ws-backup", "prune"]),
    ("L", ["ws-parity", "--live"]),
    ("L", ["ws-parity", "--prune"]),
    ("L", ["ws-state", "maintain", "--vacuum"]),
    ("R", ["ws-parity"]),
    ("R", ["ws-state", "list"]),
    ("R", ["ws-state", "show", "1"]),
    ("R", ["ws-backend", "plex", "info"]),
    ("R", ["ws-backend", "jellyfin", "unmatched"]),
    ("R", ["ws-backup", "list"]),
]
LOCK_MESSAGE = "another watchstate run holds the lock"
BUSY_MESSAGE = "state database is busy"


class Concurrency(WsTestCase):
    world = worlds.household()

    def start(self, argv):
        return subprocess.Popen([binary(argv[0]), *argv[1:], "--json", "-c", self.config_file],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish(self, procs):
        results = []
        for kind, argv, proc in procs:
            out, err = proc.communicate(timeout=120)
            results.append((kind, argv, Result(subprocess.CompletedProcess(argv, proc.returncode,
                                                                           out, err))))
        return results

    def assert_integrity(self):
        db = sqlite3.connect(os.path.join(self.state_dir, "state.db"), timeout=30)
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            version = db.execute("PRAGMA user_version").fetchone()[0]
            self.assertGreater(version, 0)
        finally:
            db.close()

    def check_results(self, results, counts):
        for kind, argv, r in results:
            what = f"{' '.join(argv)}: {r}"
            self.assertIsNotNone(r.json, what)
            self.assertEqual(r.json["exit_code"], r.code, what)
            if r.code == 75:
                message = r.json["errors"][0]["message"]
                if kind == "L" and LOCK_MESSAGE in message:
                    counts["lock"] += 1
                else:
                    self.assertIn(BUSY_MESSAGE, message, what)
                    counts["busy"] += 1
                self.assertEqual(len([line for line in r.stderr.splitlines()
                                      if ": error: " in line]), 1, what)
            elif argv[:2] == ["ws-state", "show"] and r.code == 65:
                # Before the first import has committed there is no item 1 yet.
                self.assertIn("no item with id 1", r.json["errors"][0]["message"], what)
            else:
                # 1: a partial run, parity differences, unmatched items; never 70/74/76/77/78.
                self.assertIn(r.code, (0, 1), what)
                self.assertEqual(r.json["errors"], [], what)
                counts["ran"] += 1

    def test_simultaneous_first_runs_on_an_empty_state_dir(self):
        """Every tool at once on a state_dir that does not exist yet: the database is created
        and migrated once, whoever comes first."""
        counts = {"lock": 0, "busy": 0, "ran": 0}
        for _round in range(4):
            shutil.rmtree(self.state_dir, ignore_errors=True)
            procs = [(kind, argv, self.start(argv)) for kind, argv in TOOLS]
            self.check_results(self.finish(procs), counts)
            self.assert_integrity()
        self.assertGreater(counts["lock"], 0, counts)
        self.assertGreater(counts["ran"], 0, counts)

    def test_overlapping_runs_never_corrupt_the_state(self):
        self.ws("ws-import")
        # Slow listings make the runs overlap for real.
        for server in self.sim.info:
            self.sim.fault(server, path=r"(/all|/[Ii]tems)$", delay_ms=60, times=-1)
        rng = random.Random(SEED)
        counts = {"lock": 0, "busy": 0, "ran": 0}
        for _round in range(ROUNDS):
            chosen = rng.sample(TOOLS, 6)
            procs = []
            for kind, argv in chosen:
                procs.append((kind, argv, self.start(argv)))
                time.sleep(rng.uniform(0.0, 0.05))
            self.check_results(self.finish(procs), counts)
            self.assert_integrity()
        print(f"\nconcurrency: seed {SEED}, {ROUNDS} rounds: {counts['ran']} runs went through, "
              f"{counts['lock']} refused by the lock, {counts['busy']} by a busy database",
              file=sys.stderr)
        self.assertGreater(counts["lock"], 0, counts)

        # After the storm, one clean sync ends where a sync that never overlapped ends.
        self.sim.clear_faults()
        self.ws("ws-sync")
        self.assertEqual(endstate.leftovers(self.state_dir), [])
        state = endstate.snapshot(self)
        self.sim.stop()
        shutil.rmtree(self.state_dir)
        self.sim = Simulator(self.tmp, self.world, self.sim_args)
        self.write_config()
        self.ws("ws-import")
        self.ws("ws-sync")
        self.assertEqual(state["local"], endstate.local_items(self))
        self.assertEqual(state["servers"],
                         {s: endstate.server_items(self.sim, s) for s in self.sim.info})

    def test_busy_database_waits_then_exits_75(self):
        self.ws("ws-import")
        db = sqlite3.connect(os.path.join(self.state_dir, "state.db"), timeout=30,
                             isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")  # another writer holds the database
            started = time.monotonic()
            result = self.run_tool("ws-import", "--json", "--full")
            waited = time.monotonic() - started
            self.assertEqual(result.code, 75, result)
            self.assertIn(BUSY_MESSAGE, result.json["errors"][0]["message"])
            self.assertGreaterEqual(waited, 4.5)  # the busy timeout (5 s) was honoured
            # Readers are not blocked by a writer (WAL).
            self.assertEqual(self.run_tool("ws-state", "--json", "list").code, 0)
        finally:
            db.execute("ROLLBACK")
            db.close()
        self.assert_integrity()
        self.ws("ws-import", "--full")

    def test_second_run_reports_the_lock_holder(self):
        self.sim.fault("plex", path=r"/all$", delay_ms=1500, times=1)
        first = self.start(["ws-sync"])
        lock_file = os.path.join(self.state_dir, "watchstate.lock")
        deadline = time.monotonic() + 20
        while not (os.path.exists(lock_file) and os.path.getsize(lock_file) > 0):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.02)
        second = self.run_tool("ws-import", "--json")
        self.assertEqual(second.code, 75, second)
        message = second.json["errors"][0]["message"]
        self.assertIn(LOCK_MESSAGE, message)
        self.assertIn("try again later", message)
        self.assertIn(lock_file, message)
        [(_, _, done)] = self.finish([("L", ["ws-sync"], first)])
        self.assertEqual(done.code, 0, done)
        self.assert_integrity()


if __name__ == "__main__":
    unittest.main()
