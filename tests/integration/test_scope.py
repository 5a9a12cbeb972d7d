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


def copy_in_another_library():
    """Eta: Plex's copy in its 4K library, known by its IMDb id; Jellyfin's and Emby's in their
    main ones, known by its TMDb id and played on Jellyfin. Two rows, until Jellyfin learns the
    IMDb id too."""
    return worlds.films([
        {"key": "e4k", "title": "Eta", "year": 2007, "added_at": 1600000000,
         "ids": {"imdb": "tt0000007"}, "library": "4k", "servers": ["plex"]},
        {"key": "e", "title": "Eta", "year": 2007, "added_at": 1600000000,
         "ids": {"tmdb": "107"}, "servers": ["jellyfin", "emby"],
         "state": {"jellyfin": {"played": True, "last_played": 1700000000}}},
    ])


class ScopeAndMerge(WsTestCase):
    world = copy_in_another_library()

    def test_a_copy_in_an_unlisted_library_is_left_alone_when_its_row_merges(self):
        self.ws("ws-sync")
        self.assertEqual(len(self.state_items()), 2)
        self.assertFalse(self.sim.item("plex", "e4k")["played"])
        # Jellyfin learns Eta's IMDb id: its copy's row (the one Emby reports too) takes in the
        # row of Plex's 4K copy, in a run that lists only the libraries called Movies.
        self.sim._call("jellyfin", "POST", "/__sim/ids",
                       {"key": "e", "ids": {"imdb": "tt0000007", "tmdb": "107"}})
        writes = self.sim.writes("plex")
        doc = self.ws("ws-sync", "--library", "Movies")
        self.assertEqual(doc["result"]["import"]["identities"]["main"]["backends"]["jellyfin"]
                         ["merged"], 1)
        self.assertEqual(len(self.state_items()), 1)
        # Plex's 4K library was not listed: its copy's state is unknown in this run, so it is
        # not written, although its record moved to the played row.
        self.assertEqual(self.sim.writes("plex"), writes)
        self.assertFalse(self.sim.item("plex", "e4k")["played"])
        # A run that lists it finds it unplayed, and the row's play reaches it.
        self.ws("ws-sync")
        self.assertTrue(self.sim.item("plex", "e4k")["played"])


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
