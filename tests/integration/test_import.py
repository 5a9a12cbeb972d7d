# SPDX-License-Identifier: MIT
"""ws-import and ws-state against Plex, Jellyfin and Emby together."""
import json
import sqlite3
import unittest

import worlds
from wstest import WsTestCase


def by_title(items):
    return {i["display_title"]: i for i in items}


class ImportHousehold(WsTestCase):
    world = worlds.household()

    def test_first_import_matches_across_servers(self):
        doc = self.ws("ws-import")
        self.assertEqual(doc["tool"], "ws-import")
        self.assertEqual(doc["status"], "ok")
        backends = doc["result"]["identities"]["main"]["backends"]
        self.assertEqual(set(backends), {"plex", "jellyfin", "emby"})
        # Plex: m1 m2 m3 m4 m5, s1e1 s1e2, s1e3 as two episodes, s2e1 = 10 items.
        self.assertEqual(backends["plex"]["fetched"], 10)
        self.assertEqual(backends["plex"]["skipped"], 1)        # Delta has no ids
        self.assertEqual(backends["plex"]["server_id"], worlds.PLEX_ID)
        for name in backends:
            self.assertGreater(backends[name]["requests"], 0)
            self.assertEqual(backends[name]["failed"], 0)

        items = by_title(self.state_items())
        self.assertEqual(sorted(items), sorted([
            "Alpha (2001)", "Beta (2002)", "Gamma (2003)", "Epsilon (2005)", "Zeta (2006)",
            "Show One (2010) - 01x01", "Show One (2010) - 01x02", "Show One (2010) - 01x03",
            "Show One (2010) - 01x04", "Anime (2012) - 01x01"]))
        self.assertTrue(items["Alpha (2001)"]["watched"])
        self.assertEqual(items["Alpha (2001)"]["updated"], "2023-11-14T22:13:20Z")
        self.assertTrue(items["Beta (2002)"]["watched"])
        self.assertFalse(items["Gamma (2003)"]["watched"])
        self.assertEqual(items["Gamma (2003)"]["progress_ms"], 600000)
        self.assertTrue(items["Show One (2010) - 01x01"]["watched"])
        self.assertEqual(items["Show One (2010) - 01x02"]["progress_ms"], 900000)
        self.assertTrue(items["Show One (2010) - 01x03"]["watched"])
        self.assertTrue(items["Show One (2010) - 01x04"]["watched"])
        self.assertTrue(items["Anime (2012) - 01x01"]["watched"])
        self.assertFalse(items["Zeta (2006)"]["watched"])

        # Every server's item is attached to the one row: each backend's view in ws-state show.
        zeta = self.ws("ws-state", "show", str(items["Zeta (2006)"]["id"]))["result"]
        self.assertEqual(set(zeta["backends"]), {"jellyfin", "emby"})
        alpha = self.ws("ws-state", "show", str(items["Alpha (2001)"]["id"]))["result"]
        self.assertEqual(set(alpha["backends"]), {"plex", "jellyfin", "emby"})
        self.assertEqual(alpha["backends"]["plex"]["id"], self.sim.item("plex", "m1")["id"])
        self.assertTrue(alpha["backends"]["plex"]["watched"])
        self.assertFalse(alpha["backends"]["emby"]["watched"])
        self.assertIn("imdb://tt0000001/movie", alpha["keys"])
        self.assertEqual(alpha["changes"][0]["to"], "played@1700000000")
        anime = self.ws("ws-state", "show", str(items["Anime (2012) - 01x01"]["id"]))["result"]
        self.assertEqual(set(anime["backends"]), {"plex", "jellyfin", "emby"})
        self.assertIn("ranidb://5000/1/1", anime["keys"])
        multi = self.ws("ws-state", "show", str(items["Show One (2010) - 01x04"]["id"]))["result"]
        self.assertTrue(multi["backends"]["plex"]["multi"])

    def test_second_import_changes_nothing(self):
        self.ws("ws-import")
        before = self.state_items()
        doc = self.ws("ws-import")
        for name, b in doc["result"]["identities"]["main"]["backends"].items():
            self.assertEqual(b["added"], 0, name)
            self.assertEqual(b["updated"], 0, name)
            self.assertGreater(b["unchanged"], 0, name)
        self.assertEqual(before, self.state_items())

    def test_newer_play_elsewhere_and_deliberate_unmark(self):
        self.ws("ws-import")
        # Watched on Emby after the last import: strictly newer, so the row becomes played.
        self.sim.set_state("emby", key="m3", played=True, last_played=1800000000)
        doc = self.ws("ws-import")
        self.assertEqual(doc["result"]["identities"]["main"]["backends"]["emby"]["marked_played"], 1)
        self.assertTrue(self.item_by_title("Gamma (2003)")["watched"])
        self.assertEqual(self.item_by_title("Gamma (2003)")["progress_ms"], 0)
        # Alice unmarks Alpha on Plex, which had reported it played: a deliberate unmark.
        self.sim.set_state("plex", key="m1", played=False, last_played=None)
        doc = self.ws("ws-import")
        self.assertEqual(doc["result"]["identities"]["main"]["backends"]["plex"]["marked_unplayed"], 1)
        alpha = self.item_by_title("Alpha (2001)")
        self.assertFalse(alpha["watched"])
        self.assertEqual(alpha["via"], "plex")
        changes = self.ws("ws-state", "show", str(alpha["id"]))["result"]["changes"]
        self.assertEqual([c["to"].split("@")[0] for c in changes if c["field"] == "watched"],
                         ["played", "unplayed"])

    def test_an_unplayed_report_never_unmarks_without_history(self):
        self.ws("ws-import", "-s", "plex")
        # Jellyfin never reported Alpha before: its "unplayed" is no unmark.
        self.ws("ws-import", "-s", "jellyfin")
        self.assertTrue(self.item_by_title("Alpha (2001)")["watched"])

    def test_full_lets_the_backend_win(self):
        self.ws("ws-import")
        self.ws("ws-import", "--full", "-s", "emby")
        self.assertFalse(self.item_by_title("Alpha (2001)")["watched"])  # Emby has it unplayed

    def test_dry_run_writes_nothing(self):
        doc = self.ws("ws-import", "--dry-run")
        self.assertTrue(doc["dry_run"])
        self.assertEqual(doc["result"]["identities"]["main"]["backends"]["plex"]["added"], 9)
        self.assertEqual(self.state_items(), [])
        # A real run afterwards does exactly what the dry run planned.
        real = self.ws("ws-import")
        self.assertEqual(doc["result"]["identities"]["main"]["backends"]["jellyfin"]["added"],
                         real["result"]["identities"]["main"]["backends"]["jellyfin"]["added"])

    def test_metadata_only_backend_attaches_ids_only(self):
        self.write_config(emby={"import": {"enabled": False}})
        doc = self.ws("ws-import")
        emby = doc["result"]["identities"]["main"]["backends"]["emby"]
        self.assertTrue(emby["metadata_only"])
        self.assertEqual(emby["added"], 0)
        self.assertEqual(emby["marked_played"], 0)
        items = by_title(self.state_items())
        # Only Emby had s1e1 played: a metadata-only backend does not change play state.
        self.assertFalse(items["Show One (2010) - 01x01"]["watched"])
        s1e1 = self.ws("ws-state", "show", str(items["Show One (2010) - 01x01"]["id"]))["result"]
        self.assertIn("emby", s1e1["backends"])

    def test_select_and_exclude_are_exact(self):
        doc = self.ws("ws-import", "-s", "plex")
        self.assertEqual(list(doc["result"]["identities"]["main"]["backends"]), ["plex"])
        doc = self.ws("ws-import", "-x", "plex")
        self.assertEqual(set(doc["result"]["identities"]["main"]["backends"]), {"jellyfin", "emby"})
        self.sim.clear_requests()
        bad = self.run_tool("ws-import", "--json", "-s", "ple")
        self.assertEqual(bad.code, 64, bad)
        self.assertIn("plex, jellyfin, emby", bad.json["errors"][0]["message"])
        self.assertEqual(self.sim.requests("plex"), [])

    def test_ignored_library_and_paging(self):
        self.write_config(jellyfin={"options": {"ignore_libraries": ["TV Shows"]}})
        doc = self.ws("ws-import", "-s", "jellyfin", "--concurrency", "1")
        self.assertEqual(doc["result"]["identities"]["main"]["backends"]["jellyfin"]["fetched"], 5)
        paths = [r["path"].lower() for r in self.sim.requests("jellyfin")]
        self.assertTrue(any("/items" in p for p in paths))
        # page_size 2 in the test config: 5 movies need 3 pages after the count request.
        pages = [r for r in self.sim.requests("jellyfin") if "startindex=" in r["query"].lower()
                 and "limit=2" in r["query"].lower()]
        self.assertGreaterEqual(len(pages), 3)

    def test_plex_listing_asks_for_guids_once(self):
        self.ws("ws-import", "-s", "plex")
        reqs = self.sim.requests("plex")
        listings = [r for r in reqs if r["path"].endswith("/all")]
        self.assertTrue(listings)
        for r in listings:
            self.assertIn("includeGuids=1", r["query"])
        # No per-item metadata request: the listing carries the GUIDs.
        self.assertFalse([r for r in reqs if r["path"].startswith("/library/metadata/")])

    def test_state_list_filters_and_table(self):
        self.ws("ws-import")
        played = self.ws("ws-state", "list", "--played")["result"]["items"]
        self.assertTrue(all(i["watched"] for i in played))
        self.assertEqual(len(self.ws("ws-state", "list", "--title", "show one")["result"]["items"]), 4)
        table = self.run_tool("ws-state", "list")
        self.assertEqual(table.code, 0, table)
        self.assertIn("Alpha (2001)", table.stdout)
        self.assertEqual(table.stderr, "")
        missing = self.run_tool("ws-state", "--json", "show", "99999")
        self.assertNotEqual(missing.code, 0)

    def test_quiet_success_prints_nothing_on_stderr(self):
        result = self.run_tool("ws-import")
        self.assertEqual(result.code, 0, result)
        self.assertEqual(result.stderr, "")

    def test_database_is_sqlite_with_wal(self):
        self.ws("ws-import")
        db = sqlite3.connect(f"{self.state_dir}/state.db")
        self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "wal")
        self.assertEqual(db.execute("SELECT count(*) FROM items").fetchone()[0], 10)
        cursors = db.execute("SELECT backend FROM cursors WHERE kind='import'").fetchall()
        self.assertEqual(sorted(c[0] for c in cursors), ["emby", "jellyfin", "plex"])



def two_copies_known_apart():
    """Alpha twice on Jellyfin, one copy known by its TMDb id, the other by its IMDb id (which
    Plex's copy gives too), and Gamma: three rows."""
    return worlds.films([
        {"key": "a1", "title": "Alpha", "year": 2001, "added_at": 1600000000,
         "ids": {"tmdb": "101"}, "servers": ["jellyfin"]},
        {"key": "a2", "title": "Alpha", "year": 2001, "added_at": 1600000000,
         "ids": {"imdb": "tt0000001"}, "servers": ["plex", "jellyfin"]},
        {"key": "g", "title": "Gamma", "year": 2003, "added_at": 1600000000,
         "ids": {"imdb": "tt0000003"}, "servers": ["jellyfin"]},
    ])


class MergeWhileAnItemIsGone(WsTestCase):
    world = two_copies_known_apart()

    def test_a_listing_that_merges_and_drops_an_item_keeps_every_copy(self):
        self.ws("ws-import")
        self.assertEqual(len(self.state_items()), 3)
        # Jellyfin learns the second copy's TMDb id (its row takes in the first copy's) and Gamma
        # leaves the server, in one listing.
        self.sim._call("jellyfin", "POST", "/__sim/ids",
                       {"key": "a2", "ids": {"imdb": "tt0000001", "tmdb": "101"}})
        self.sim.visibility("jellyfin", hide=["g"])
        doc = self.ws("ws-import")
        jellyfin = doc["result"]["identities"]["main"]["backends"]["jellyfin"]
        self.assertEqual(jellyfin["merged"], 1)
        self.assertEqual(jellyfin["gone"], 1)
        alpha = [i for i in self.state_items() if i["title"] == "Alpha"]
        self.assertEqual(len(alpha), 1)
        # Both of Jellyfin's copies are still on Alpha's row; only Gamma's record is gone.
        show = self.ws("ws-state", "show", str(alpha[0]["id"]))["result"]
        self.assertEqual(sorted(r["id"] for r in show["records"] if r["backend"] == "jellyfin"),
                         sorted(self.sim.item("jellyfin", key)["id"] for key in ("a1", "a2")))
        # The next listing finds both where they are: nothing added, updated or gone.
        again = self.ws("ws-import")["result"]["identities"]["main"]["backends"]["jellyfin"]
        self.assertEqual((again["added"], again["updated"], again["gone"]), (0, 0, 0), again)

if __name__ == "__main__":
    unittest.main()
