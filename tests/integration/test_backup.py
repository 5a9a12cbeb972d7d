# SPDX-License-Identifier: MIT
"""ws-backup: back up each server, wipe it, restore it, and get the same state back."""
import gzip
import json
import os
import zipfile

import worlds
from wstest import WsTestCase


class Backup(WsTestCase):
    world = worlds.household()

    def wipe(self, server):
        items = self.sim.items(server)
        self.sim._call(server, "POST", "/__sim/state",
                       [{"key": i["key"], "played": False, "last_played": None, "position_ms": 0}
                        for i in items])

    def state(self, server):
        return {i["key"]: i for i in self.sim.items(server)}

    def test_backup_wipe_restore_for_each_server(self):
        self.ws("ws-sync")  # every server gets the household's full state first
        for server in ("plex", "jellyfin", "emby"):
            with self.subTest(server=server):
                original = self.state(server)
                doc = self.ws("ws-backup", "-s", server)
                files = doc["result"]["files"]
                self.assertEqual(len(files), 1)
                path = files[0]["path"]
                self.assertTrue(path.endswith(".json.gz"), path)
                # s1e3 is one file holding S01E03-E04: two records.
                self.assertEqual(files[0]["records"], len(original) + 1)
                self.wipe(server)
                self.sim.clear_requests()
                plan = self.ws("ws-backup", "restore", path, "-s", server, "--progress")
                self.assertEqual(self.sim.writes(server), 0)  # plan only
                self.assertGreater(len(plan["result"]["changes"]), 0)
                done = self.ws("ws-backup", "restore", path, "-s", server, "--progress", "--execute")
                self.assertEqual(done["result"]["failed"], 0)
                restored = self.state(server)
                for key, before in original.items():
                    if key == "m4":
                        continue  # no ids: cannot be matched, and was unplayed anyway
                    after = restored[key]
                    self.assertEqual(after["played"], before["played"], key)
                    self.assertEqual(after["position_ms"], before["position_ms"], key)
                    if server != "plex" and before["played"]:
                        self.assertEqual(after["last_played"], before["last_played"], key)
                self.sim.clear_requests()
                again = self.ws("ws-backup", "restore", path, "-s", server, "--progress", "--execute")
                self.assertEqual(again["result"]["changes"], [])
                self.assertEqual(self.sim.writes(server), 0)

    def test_restore_into_another_server_type(self):
        self.ws("ws-import")
        doc = self.ws("ws-backup", "-s", "plex", "--no-compress")
        path = doc["result"]["files"][0]["path"]
        self.assertTrue(path.endswith(".json"))
        with open(path) as f:
            records = json.load(f)
        alpha = [r for r in records if r["title"] == "Alpha"][0]
        self.assertEqual(alpha["guids"]["guid_imdb"], "tt0000001")
        self.ws("ws-backup", "restore", path, "-s", "emby", "--execute")
        self.assertTrue(self.sim.item("emby", "m1")["played"])
        self.assertEqual(self.sim.item("emby", "m1")["last_played"], 1700000000)
        self.assertTrue(self.sim.item("emby", "s1e3")["played"])  # via show ids + S01E03

    def test_watchstate_zip_backup_restores(self):
        records = [
            {"type": "movie", "watched": 1, "updated": 1690000000, "title": "Zeta", "year": 2006,
             "guids": {"guid_imdb": "tt0000006"}},
            {"type": "episode", "watched": 1, "updated": 1690000100, "show": "Show One",
             "title": "Pilot", "season": 1, "episode": 2, "year": 2010, "guids": {},
             "parent": {"guid_tvdb": "200"}},
        ]
        path = os.path.join(self.tmp, "main.jellyfin.20240101.json.zip")
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("main.jellyfin.20240101.json",
                       "[\n" + ",\n".join(json.dumps(r) for r in records) + "\n]")
        doc = self.ws("ws-backup", "restore", path, "-s", "jellyfin", "--execute")
        self.assertEqual(doc["result"]["records"], 2)
        self.assertEqual(doc["result"]["marked_played"], 2)
        self.assertEqual(self.sim.item("jellyfin", "m6")["last_played"], 1690000000)
        self.assertTrue(self.sim.item("jellyfin", "s1e2")["played"])

    def test_bad_files_fail_cleanly_and_write_nothing(self):
        self.ws("ws-sync")
        good = self.ws("ws-backup", "-s", "jellyfin")["result"]["files"][0]["path"]
        with open(good, "rb") as f:
            data = f.read()
        truncated = os.path.join(self.tmp, "truncated.json.gz")
        with open(truncated, "wb") as f:
            f.write(data[: len(data) // 2])
        empty = os.path.join(self.tmp, "empty.json")
        open(empty, "w").close()
        corrupt = os.path.join(self.tmp, "corrupt.json")
        with open(corrupt, "w") as f:
            f.write('[\n{"type":"movie","watched":1,"updated":1,"title":"A","guids":{}},\n{"type":"movie","watched":"yes"\n]')
        cut_json = os.path.join(self.tmp, "cut.json.gz")
        with gzip.open(cut_json, "wt") as f:
            f.write('[\n{"type":"movie","watched":1,"updated":1,"title":"A","guids":{}},\n{"type":"mo')
        self.wipe("jellyfin")
        self.sim.clear_requests()
        for path in (truncated, empty, corrupt, cut_json):
            with self.subTest(path=os.path.basename(path)):
                result = self.run_tool("ws-backup", "--json", "restore", path, "-s", "jellyfin", "--execute")
                self.assertEqual(result.code, 65, result)
                self.assertIn(os.path.basename(path), result.json["errors"][0]["message"])
        self.assertEqual(self.sim.requests("jellyfin"), [])  # checked before the first request
        missing = self.run_tool("ws-backup", "--json", "restore", "nope.json.gz", "-s", "jellyfin")
        self.assertEqual(missing.code, 66, missing)

    def test_list_and_prune(self):
        self.ws("ws-backup")
        backups = os.path.join(self.state_dir, "backups")
        old = os.path.join(backups, "main.plex.20200101.json")
        with open(old, "w") as f:
            f.write("[\n]")
        undated = os.path.join(backups, "keep.json")
        with open(undated, "w") as f:
            f.write("[\n]")
        listed = self.ws("ws-backup", "list")["result"]["files"]
        # Three backups of items, three playlists files (none holds a playlist), old, undated.
        self.assertEqual(len(listed), 8)
        by_name = {os.path.basename(f["path"]): f for f in listed}
        self.assertEqual(by_name["main.plex.20200101.json"]["records"], 0)
        self.assertEqual(by_name["main.plex.20200101.json"]["date"], "2020-01-01")
        self.assertEqual(by_name["main.plex.20200101.json"]["kind"], "items")
        self.assertEqual(sorted(f["kind"] for f in listed), ["items"] * 5 + ["playlists"] * 3)
        pruned = self.ws("ws-backup", "prune")["result"]
        self.assertEqual([os.path.basename(p) for p in pruned["removed"]], ["main.plex.20200101.json"])
        self.assertTrue(os.path.exists(undated))
        self.assertEqual(len(self.ws("ws-backup", "list")["result"]["files"]), 7)

    def test_failed_backend_leaves_no_file(self):
        self.sim.fault("emby", path="/[Ii]tems$", status=500, times=-1, skip=2, retry_after="0")
        result = self.run_tool("ws-backup", "--json")
        self.assertEqual(result.code, 1, result)
        names = os.listdir(os.path.join(self.state_dir, "backups"))
        # Each backend that was backed up has its items and its playlists file; Emby has none.
        self.assertEqual(sorted(n.split(".")[1] for n in names),
                         ["jellyfin", "jellyfin", "plex", "plex"])

    def test_restore_into_export_disabled_backend_needs_force(self):
        doc = self.ws("ws-backup", "-s", "plex")
        path = doc["result"]["files"][0]["path"]
        self.write_config(emby={"export": {"enabled": False}})
        result = self.run_tool("ws-backup", "--json", "restore", path, "-s", "emby")
        self.assertEqual(result.code, 64, result)
        self.ws("ws-backup", "restore", path, "-s", "emby", "--force")


def with_copies():
    world = worlds.household()
    # Alpha is on Jellyfin twice: its Movies library and its 4K library.
    alpha = dict(world["movies"][0])
    alpha.update({"key": "m1c", "library": "4k", "servers": ["jellyfin"], "state": {}})
    world["movies"].append(alpha)
    return world


class BackupCopies(WsTestCase):
    world = with_copies()

    def test_restore_reaches_every_copy(self):
        self.ws("ws-sync")
        self.assertTrue(self.sim.item("jellyfin", "m1c")["played"])
        path = self.ws("ws-backup", "-s", "plex")["result"]["files"][0]["path"]
        for key in ("m1", "m1c"):
            self.sim.set_state("jellyfin", key=key, played=False, last_played=None)
        done = self.ws("ws-backup", "restore", path, "-s", "jellyfin", "--execute")
        self.assertEqual(done["result"]["failed"], 0)
        self.assertTrue(self.sim.item("jellyfin", "m1")["played"])
        self.assertTrue(self.sim.item("jellyfin", "m1c")["played"])
