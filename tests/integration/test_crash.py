# SPDX-License-Identifier: MIT
"""Crash consistency: ws-import, ws-export and ws-backup are killed with SIGKILL at random points,
many times in a bounded loop, over a generated world of 3000 items per server. After every kill
the state database passes `PRAGMA integrity_check` and holds no dangling rows, and no backup file
is partial; the runs after the loop end in the same state as runs that were never interrupted.

WS_CRASH_SEED picks another sequence of kill times (the seed is printed)."""
import gzip
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import unittest

import endstate
from wstest import Simulator, WsTestCase, binary

SEED = int(os.environ.get("WS_CRASH_SEED", "20261126"))
KILLS = 15           # per tool
MAX_RUNS = 3 * KILLS # runs that finish before their kill time do not count as kills; bounded
WRITES = r"^/:/(scrobble|unscrobble|timeline|progress)|/(PlayedItems|UserData|PlayingItems)"


class CrashConsistency(WsTestCase):
    sim_args = ("--items", "3000", "--seed", "7")

    def write_config(self, backends=None, extra=None, **overrides):
        super().write_config(backends, {"http": {"timeout": 30, "retries": 2, "backoff_ms": 50,
                                                 "page_size": 100}}, **overrides)

    def fresh(self):
        self.sim.stop()
        shutil.rmtree(self.state_dir, ignore_errors=True)
        self.sim = Simulator(self.tmp, self.world, self.sim_args)
        self.write_config()

    def clean(self, *argv):
        result = self.run_tool(*argv, timeout=300)
        self.assertEqual(result.code, 0, result)
        return result

    # --- what must hold after every kill -----------------------------------------------------
    def assert_consistent(self, what):
        db_file = os.path.join(self.state_dir, "state.db")
        if os.path.exists(db_file):
            db = sqlite3.connect(db_file, timeout=30)
            try:
                self.assertEqual(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)], what)
                tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                if {"items", "backend_items"} <= tables:
                    orphans = db.execute("SELECT count(*) FROM backend_items WHERE item_id NOT IN "
                                         "(SELECT id FROM items)").fetchone()[0]
                    self.assertEqual(orphans, 0, what)
            finally:
                db.close()
        backups = os.path.join(self.state_dir, "backups")
        if os.path.isdir(backups):
            for name in os.listdir(backups):
                if name.endswith(".tmp"):
                    continue  # a killed run's temporary file: never taken for a backup
                with gzip.open(os.path.join(backups, name), "rt") as f:
                    json.load(f)  # a partial file would not parse
            listed = self.run_tool("ws-backup", "--json", "list")
            self.assertEqual(listed.code, 0, listed)
            self.assertNotIn(".tmp", listed.stdout)

    # --- the loop ----------------------------------------------------------------------------
    def total_writes(self):
        return sum(self.sim.writes(s) for s in self.sim.info)

    def crash_loop(self, name, prereq, target, final, during_writes=False):
        """Kill `target` at random points until KILLS kills, then run `final` cleanly and compare
        with prereq + final on a simulator that never saw a kill."""
        self.fresh()
        for argv in prereq:
            self.clean(*argv)
        started = time.monotonic()
        self.clean(*target)
        duration = time.monotonic() - started
        for argv in final:
            self.clean(*argv)
        reference = endstate.snapshot(self)

        self.fresh()
        for argv in prereq:
            self.clean(*argv)
        rng = random.Random(f"{SEED}/{name}")
        if during_writes:
            # A few ms per write stretch the write phase, so that kills land between writes.
            for server in self.sim.info:
                self.sim.fault(server, path=WRITES, delay_ms=4, times=-1)
        kills = completed = mid_write = 0
        for run in range(MAX_RUNS):
            if kills >= KILLS:
                break
            writes_before = self.total_writes()
            proc = subprocess.Popen([binary(target[0]), *target[1:], "-c", self.config_file],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if during_writes:
                # Kill at a random moment after the first write of this run.
                deadline = time.monotonic() + 120
                while proc.poll() is None and self.total_writes() == writes_before:
                    self.assertLess(time.monotonic(), deadline)
                    time.sleep(0.01)
                delay = rng.uniform(0.0, 0.6)
            else:
                delay = rng.uniform(0.0, duration)
            try:
                _out, err = proc.communicate(timeout=delay)
                self.assertEqual(proc.returncode, 0, err)
                completed += 1
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                _out, err = proc.communicate(timeout=60)
                if proc.returncode == 0:  # it finished just before the signal
                    completed += 1
                else:
                    self.assertEqual(proc.returncode, -signal.SIGKILL, err)
                    kills += 1
                    # Killed after its first write request: the servers hold part of its writes.
                    mid_write += self.total_writes() > writes_before
            self.assert_consistent(f"{name}: run {run} ({kills} kills, {completed} completed)")
            if during_writes and self.total_writes() == writes_before:
                break  # a run with nothing left to write: nothing more to interrupt
        self.sim.clear_faults()
        print(f"\ncrash {name}: seed {SEED}, {kills} kills survived ({mid_write} after the first "
              f"write), {completed} runs completed (uninterrupted run {duration:.2f} s)",
              file=sys.stderr)
        self.assertGreaterEqual(kills, KILLS // 3)

        for argv in final:
            self.clean(*argv)
        self.assertEqual(endstate.leftovers(self.state_dir), [])
        self.assertEqual(endstate.snapshot(self), reference)
        return mid_write

    def test_kill_import(self):
        self.crash_loop("import", [], ["ws-import"], [["ws-import"]])

    def test_kill_export(self):
        # One write at a time, each killed run interrupted somewhere in its writes.
        mid_write = self.crash_loop("export", [["ws-import"]], ["ws-export", "--concurrency", "1"],
                                    [["ws-export"], ["ws-import"]], during_writes=True)
        self.assertGreaterEqual(mid_write, KILLS // 2)

    def test_kill_backup(self):
        self.crash_loop("backup", [["ws-import"]], ["ws-backup", "create"],
                        [["ws-backup", "create"]])


if __name__ == "__main__":
    unittest.main()
