# SPDX-License-Identifier: MIT
"""Running it for months, the database's side: `ws-state maintain` after syncs at fake times
(WS_FAKE_NOW) forgets exactly the change-log entries and runs older than their cut-offs and
keeps the newer ones, a dry run only counts, ws-sync goes on as before (a sync without changes
writes nothing), and a damaged state.db exits 65 with one line naming it and is left as it was."""
import contextlib
import fcntl
import hashlib
import os
import sqlite3
import time

import worlds
from wstest import WsTestCase

DAY = 86400
KEEP_DAYS = 100         # history.keep_days
CHANGE_LOG_DAYS = 120   # history.change_log_days
SERVERS = ("plex", "jellyfin", "emby")


class Maintain(WsTestCase):
    world = worlds.household()

    def setUp(self):
        super().setUp()
        self.write_config(extra={"history": {"keep_days": KEEP_DAYS,
                                             "change_log_days": CHANGE_LOG_DAYS}})
        self.db_file = os.path.join(self.state_dir, "state.db")
        self.now = int(time.time())

    def at(self, days_ago):
        return {"WS_FAKE_NOW": str(self.now - days_ago * DAY)}

    def query(self, sql, *args):
        with contextlib.closing(sqlite3.connect(self.db_file)) as db:
            return db.execute(sql, args).fetchall()

    def writes(self):
        return {s: self.sim.writes(s) for s in SERVERS}

    def digest(self):
        with open(self.db_file, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    def sync_history(self):
        """Three syncs, 140, 130 and 50 days ago, each with a change to import and export."""
        self.ws("ws-sync", env=self.at(140))
        self.sim.set_state("plex", key="m4", played=True, last_played=self.now - 131 * DAY)
        self.ws("ws-sync", env=self.at(130))
        self.sim.set_state("jellyfin", key="m6", position_ms=1500000)
        self.sim.set_state("emby", key="s1e1", played=False, last_played=None)
        self.ws("ws-sync", env=self.at(50))

    def test_maintain_forgets_what_is_old_and_sync_goes_on(self):
        self.sync_history()
        change_cutoff = self.now - CHANGE_LOG_DAYS * DAY
        run_cutoff = self.now - KEEP_DAYS * DAY
        old_changes, = self.query("SELECT count(*) FROM change_log WHERE at < ?", change_cutoff)[0]
        new_changes = self.query("SELECT id FROM change_log WHERE at >= ? ORDER BY id",
                                 change_cutoff)
        self.assertGreater(old_changes, 0)
        self.assertGreater(len(new_changes), 0)
        runs = self.query("SELECT id, started_at FROM runs ORDER BY id")
        self.assertEqual([t for _, t in runs],
                         [self.now - d * DAY for d in (140, 130, 50)])
        items = self.state_items()

        # A dry run counts and changes nothing (it is not even kept as a run).
        dry = self.ws("ws-state", "maintain", "--dry-run", env=self.at(0))
        self.assertTrue(dry["dry_run"])
        result = dry["result"]
        self.assertEqual(result["integrity"], "ok")
        self.assertEqual(result["problems"], [])
        self.assertEqual(result["change_log_pruned"], old_changes)
        self.assertEqual(result["runs_pruned"], 2)
        self.assertFalse(result["vacuumed"])
        self.assertFalse(result["optimized"])
        self.assertEqual(self.query("SELECT count(*) FROM change_log WHERE at < ?",
                                    change_cutoff)[0][0], old_changes)
        self.assertEqual(self.query("SELECT id, started_at FROM runs ORDER BY id"), runs)

        doc = self.ws("ws-state", "maintain", env=self.at(0))
        result = doc["result"]
        self.assertEqual(result["database"], self.db_file)
        self.assertEqual(result["integrity"], "ok")
        self.assertEqual(result["change_log_days"], CHANGE_LOG_DAYS)
        self.assertEqual(result["keep_days"], KEEP_DAYS)
        self.assertEqual(result["change_log_pruned"], old_changes)
        self.assertEqual(result["runs_pruned"], 2)
        self.assertTrue(result["optimized"])
        self.assertTrue(result["checkpointed"])
        self.assertEqual(result["vacuumed"], result["vacuum_due"])
        self.assertEqual(result["vacuum_due"], result["free_pages"] * 10 > result["pages"])
        self.assertGreater(result["size_before"], 0)
        self.assertGreater(result["size_after"], 0)
        self.assertEqual(doc["errors"], [])

        # Older rows are gone, newer ones kept, the items untouched, the file intact.
        self.assertEqual(self.query("SELECT count(*) FROM change_log WHERE at < ?",
                                    change_cutoff)[0][0], 0)
        self.assertEqual(self.query("SELECT id FROM change_log WHERE at >= ? ORDER BY id",
                                    change_cutoff), new_changes)
        self.assertEqual(self.query("SELECT count(*) FROM runs WHERE started_at < ?",
                                    run_cutoff)[0][0], 0)
        self.assertEqual(self.query("SELECT count(*) FROM run_backends WHERE run_id NOT IN "
                                    "(SELECT id FROM runs)")[0][0], 0)
        self.assertEqual(self.query("SELECT count(*) FROM run_errors WHERE run_id NOT IN "
                                    "(SELECT id FROM runs)")[0][0], 0)
        kept = self.ws("ws-state", "runs")["result"]["runs"]
        self.assertEqual([(r["tool"], r["command"]) for r in kept],
                         [("ws-state", "maintain"), ("ws-sync", "")])
        self.assertEqual(self.state_items(), items)
        self.assertEqual(self.query("PRAGMA integrity_check"), [("ok",)])

        # The syncs go on: one with a change, then one without, which writes nothing anywhere.
        self.sim.set_state("plex", key="m3", played=True, last_played=self.now - 3600)
        self.ws("ws-sync")
        self.assertTrue(all(self.sim.item(s, "m3")["played"] for s in SERVERS))
        self.sim.clear_requests()
        changes = self.query("SELECT count(*) FROM change_log")
        rows = self.query("SELECT id, watched, updated, progress_ms, updated_at FROM items "
                          "ORDER BY id")
        doc = self.ws("ws-sync")
        self.assertEqual(self.writes(), {s: 0 for s in SERVERS})
        for name, b in doc["result"]["import"]["identities"]["main"]["backends"].items():
            self.assertEqual((b["added"], b["updated"]), (0, 0), name)
        for name, b in doc["result"]["export"]["identities"]["main"]["backends"].items():
            self.assertEqual(b["changes"], [], name)
        self.assertEqual(self.query("SELECT count(*) FROM change_log"), changes)
        self.assertEqual(self.query("SELECT id, watched, updated, progress_ms, updated_at FROM "
                                    "items ORDER BY id"), rows)

    def test_vacuum_on_request(self):
        self.ws("ws-sync")
        forced = self.ws("ws-state", "maintain", "--vacuum")["result"]
        self.assertTrue(forced["vacuumed"])
        self.assertTrue(forced["checkpointed"])
        self.assertEqual(os.path.getsize(self.db_file), forced["size_after"])  # WAL: 0 bytes
        human = self.run_tool("ws-state", "maintain")
        self.assertEqual((human.code, human.stderr), (0, ""), human)
        self.assertIn("integrity ok", human.stdout)
        self.assertIn("vacuum: not needed", human.stdout)

    def test_maintain_takes_the_lock(self):
        self.ws("ws-sync")
        with open(os.path.join(self.state_dir, "watchstate.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = self.run_tool("ws-state", "maintain")
            self.assertEqual(held.code, 75, held)
            held = self.run_tool("ws-state", "maintain", "--dry-run")
            self.assertEqual(held.code, 75, held)

    def test_a_damaged_database_exits_65_and_is_left_alone(self):
        self.ws("ws-sync")
        # Everything in the file itself, then every b-tree page's header overwritten.
        with contextlib.closing(sqlite3.connect(self.db_file)) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        with open(self.db_file, "r+b") as f:
            data = bytearray(f.read())
            page = int.from_bytes(data[16:18], "big")
            page = 65536 if page == 1 else page
            for start in range(page, len(data) - 64 + 1, page):
                data[start:start + 64] = b"\x5a" * 64
            f.seek(0)
            f.write(data)
        with self.assertRaises(sqlite3.DatabaseError):
            result = self.query("PRAGMA integrity_check")
            if result != [("ok",)]:
                raise sqlite3.DatabaseError(str(result))
        before = self.digest()

        human = self.run_tool("ws-state", "maintain")
        self.assertEqual(human.code, 65, human)
        lines = human.stderr.splitlines()
        self.assertEqual(len(lines), 1, human.stderr)
        self.assertIn(self.db_file, lines[0])
        self.assertIn("damaged", lines[0])
        self.assertIn("DAMAGED", human.stdout)

        doc = self.ws("ws-state", "maintain", "--vacuum", expect=65)
        self.assertEqual(doc["status"], "error")
        self.assertEqual(doc["result"]["integrity"], "damaged")
        self.assertTrue(doc["result"]["problems"])
        self.assertFalse(doc["result"]["vacuumed"])
        self.assertEqual([e["kind"] for e in doc["errors"]], ["data"])
        self.assertIn(self.db_file, doc["errors"][0]["message"])
        self.ws("ws-state", "maintain", "--dry-run", expect=65)
        self.assertEqual(self.digest(), before)
        wal = self.db_file + "-wal"
        self.assertEqual(os.path.getsize(wal) if os.path.exists(wal) else 0, 0)

    def test_a_file_that_is_no_database_exits_65(self):
        self.ws("ws-sync")
        with contextlib.closing(sqlite3.connect(self.db_file)) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        with open(self.db_file, "r+b") as f:
            f.write(b"this is no database, just some bytes" * 4)
        before = self.digest()
        result = self.run_tool("ws-state", "maintain")
        self.assertEqual(result.code, 65, result)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn(self.db_file, result.stderr)
        self.assertEqual(self.digest(), before)
