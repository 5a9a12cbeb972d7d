# SPDX-License-Identifier: MIT
"""Scope per run: --library / --exclude-library on import, export, sync and backup (the other
libraries are not listed, not written and nothing is concluded about them), and ws-import
--metadata-only (ids and copies attached, no played flag or position changed)."""
import json
import unittest

import worlds
from wstest import WsTestCase


class LibraryScope(WsTestCase):
    world = worlds.household()

    def local(self, kind):
        return [i for i in self.state_items() if i["type"] == kind]

    def test_sync_of_one_library_leaves_the_others_alone(self):
        doc = self.ws("ws-sync", "--library", "Movies")
        self.assertEqual(self.local("episode"), [])              # TV Shows not listed
        self.assertTrue(self.local("movie"))
        self.assertFalse(self.sim.item("plex", "s2e1")["played"])  # not written either
        self.assertTrue(self.sim.item("plex", "m2")["played"])     # Beta: played on Jellyfin
        for backend in doc["result"]["import"]["identities"]["main"]["backends"].values():
            self.assertEqual(backend["gone"], 0)

        self.ws("ws-sync")                                         # everything
        episodes = len(self.local("episode"))
        self.assertGreater(episodes, 0)
        self.assertTrue(self.sim.item("plex", "s2e1")["played"])

        # An episode unplayed on Plex: a run that excludes the shows neither imports it, nor
        # forgets the episodes' records, nor writes to them.
        self.sim.set_state("plex", key="s2e1", played=False)
        writes = {s: self.sim.writes(s) for s in ("plex", "jellyfin", "emby")}
        doc = self.ws("ws-sync", "--exclude-library", "TV Shows")
        self.assertEqual({s: self.sim.writes(s) for s in writes}, writes)
        self.assertEqual(len(self.local("episode")), episodes)
        plex_rows = self.ws("ws-state", "list", "--backend", "plex", "--type", "episode")
        self.assertEqual(plex_rows["result"]["count"], episodes)
        self.assertTrue(self.sim.item("jellyfin", "s2e1")["played"])
        for backend in doc["result"]["import"]["identities"]["main"]["backends"].values():
            self.assertEqual(backend["gone"], 0)

        # The next full run takes the unmark and carries it.
        self.ws("ws-sync")
        self.assertFalse(self.sim.item("jellyfin", "s2e1")["played"])
        self.assertFalse(self.sim.item("emby", "s2e1")["played"])

    def test_import_of_one_library_forgets_nothing_else(self):
        self.ws("ws-import")
        before = self.ws("ws-state", "list", "--backend", "jellyfin")["result"]["count"]
        doc = self.ws("ws-import", "--library", "Movies")
        for backend in doc["result"]["identities"]["main"]["backends"].values():
            self.assertEqual(backend["gone"], 0, backend)
        self.assertEqual(self.ws("ws-state", "list", "--backend", "jellyfin")["result"]["count"],
                         before)

    def test_backup_of_one_library(self):
        self.ws("ws-import")
        everything = self.ws("ws-backup", "-s", "plex", "--no-compress")["result"]["files"][0]
        movies = self.ws("ws-backup", "-s", "plex", "--no-compress", "--library",
                         "Movies")["result"]["files"][0]
        with open(movies["path"]) as f:
            records = json.load(f)
        self.assertTrue(records)
        self.assertEqual({r["type"] for r in records}, {"movie"})
        self.assertLess(movies["records"], everything["records"])

    def test_a_library_no_backend_has_selects_nothing(self):
        result = self.run_tool("ws-sync", "--json", "--library", "No Such Library")
        self.assertEqual(result.code, 0, result)
        self.assertIn("no library of this backend is selected", result.stderr)
        self.assertEqual(self.state_items(), [])


class MetadataOnly(WsTestCase):
    world = worlds.household()

    def test_ids_are_attached_but_no_play_state_changes(self):
        self.ws("ws-import")
        alpha = next(i for i in self.state_items() if i["title"] == "Alpha")
        self.assertTrue(alpha["watched"])
        self.sim.set_state("plex", key="m1", played=False)
        self.sim.set_state("jellyfin", key="m3", played=True, last_played=1750000000)
        doc = self.ws("ws-import", "--metadata-only")
        for backend in doc["result"]["identities"]["main"]["backends"].values():
            self.assertTrue(backend["metadata_only"], backend)
            self.assertEqual(backend["marked_played"] + backend["marked_unplayed"], 0, backend)
        items = {i["title"]: i for i in self.state_items()}
        self.assertTrue(items["Alpha"]["watched"])      # the unmark on Plex not taken
        self.assertFalse(items["Gamma"]["watched"])     # the play on Jellyfin not taken
        show = self.ws("ws-state", "show", str(items["Gamma"]["id"]))["result"]
        self.assertFalse(show["backends"]["jellyfin"]["watched"])  # the state the import saw
        # The next import still sees both changes: the records kept the state it last stored.
        self.ws("ws-import")
        items = {i["title"]: i for i in self.state_items()}
        self.assertTrue(items["Gamma"]["watched"])
        self.assertFalse(items["Alpha"]["watched"])


if __name__ == "__main__":
    unittest.main()
