# SPDX-License-Identifier: MIT
"""Fixing one item by hand: ws-state mark (played / unplayed, --at, --push), ws-state forget,
and the filters of ws-state list, against Plex, Jellyfin and Emby."""
import unittest

import worlds
from wstest import WsTestCase

SERVERS = ("plex", "jellyfin", "emby")
PERSON = {"USER": "tester"}


class StateFix(WsTestCase):
    world = worlds.household()

    def writes(self):
        return {s: self.sim.writes(s) for s in SERVERS}

    def played_on(self, key, servers=SERVERS):
        return {s: self.sim.item(s, key)["played"] for s in servers}

    def mark(self, item_id, state, *args, expect=0):
        return self.ws("ws-state", "mark", str(item_id), state, *args, expect=expect, env=PERSON)

    def titles(self, *args):
        return [i["display_title"] for i in self.ws("ws-state", "list", *args)["result"]["items"]]

    # --- mark ----------------------------------------------------------------------------------

    def test_mark_played_then_sync_marks_every_server_and_a_second_sync_writes_nothing(self):
        self.ws("ws-sync")
        gamma = self.item_by_title("Gamma (2003)")
        self.assertFalse(gamma["watched"])
        self.assertEqual(self.played_on("m3"), {"plex": False, "jellyfin": False, "emby": False})
        self.sim.clear_requests()

        doc = self.mark(gamma["id"], "played")["result"]
        self.assertTrue(doc["changed"])
        self.assertTrue(doc["item"]["watched"])
        self.assertEqual(doc["item"]["progress_ms"], 0)  # its 10 min position goes
        self.assertEqual(doc["item"]["via"], "ws-state")
        self.assertFalse(doc["before"]["watched"])
        self.assertEqual(doc["before"]["progress_ms"], 600000)
        self.assertEqual(doc["by"], "ws-state mark (tester)")
        self.assertIsNone(doc["export"])
        fields = {c["field"]: c for c in doc["changes"]}
        self.assertEqual(set(fields), {"watched", "progress"})
        self.assertEqual(fields["watched"]["direction"], "manual")
        # Nothing was sent: the next export does it.
        self.assertEqual(self.writes(), {"plex": 0, "jellyfin": 0, "emby": 0})

        sync = self.ws("ws-sync")["result"]
        for name, b in sync["import"]["identities"]["main"]["backends"].items():
            self.assertEqual(b["marked_unplayed"], 0, name)  # no server undid the mark
        export = sync["export"]["identities"]["main"]["backends"]
        for server in SERVERS:
            self.assertEqual(export[server]["marked_played"], 1, server)
        self.assertEqual(self.played_on("m3"), {"plex": True, "jellyfin": True, "emby": True})
        self.assertTrue(self.item_by_title("Gamma (2003)")["watched"])

        self.sim.clear_requests()
        self.ws("ws-sync")
        self.assertEqual(self.writes(), {"plex": 0, "jellyfin": 0, "emby": 0})
        self.ws("ws-sync")  # also once Plex's own scrobble time was imported
        self.assertEqual(self.writes(), {"plex": 0, "jellyfin": 0, "emby": 0})
        self.assertTrue(self.item_by_title("Gamma (2003)")["watched"])

        # The change log says who did it.
        changes = self.ws("ws-state", "show", str(gamma["id"]))["result"]["changes"]
        manual = [c for c in changes if c["direction"] == "manual"]
        self.assertEqual({c["backend"] for c in manual}, {"ws-state mark (tester)"})
        human = self.run_tool("ws-state", "show", str(gamma["id"]))
        self.assertIn("ws-state mark (tester)", human.stdout)

    def test_mark_unplayed_of_an_item_played_everywhere_unplays_it_everywhere(self):
        self.ws("ws-sync")
        alpha = self.item_by_title("Alpha (2001)")
        self.assertEqual(self.played_on("m1"), {"plex": True, "jellyfin": True, "emby": True})

        doc = self.mark(alpha["id"], "unplayed")["result"]
        self.assertTrue(doc["changed"])
        self.assertFalse(doc["item"]["watched"])
        self.assertTrue(doc["before"]["watched"])

        export = self.ws("ws-sync")["result"]["export"]["identities"]["main"]["backends"]
        for server in SERVERS:
            self.assertEqual(export[server]["marked_unplayed"], 1, server)
        self.assertEqual(self.played_on("m1"), {"plex": False, "jellyfin": False, "emby": False})
        self.assertFalse(self.item_by_title("Alpha (2001)")["watched"])
        self.sim.clear_requests()
        self.ws("ws-sync")
        self.assertEqual(self.writes(), {"plex": 0, "jellyfin": 0, "emby": 0})
        self.assertFalse(self.item_by_title("Alpha (2001)")["watched"])

    def test_mark_at_a_date(self):
        self.ws("ws-sync")
        gamma = self.item_by_title("Gamma (2003)")
        doc = self.mark(gamma["id"], "played", "--at", "2024-05-01")["result"]
        self.assertEqual(doc["item"]["updated"], "2024-05-01T00:00:00Z")
        self.ws("ws-sync")
        # Jellyfin and Emby take the date; Plex stamps its own.
        self.assertEqual(self.sim.item("jellyfin", "m3")["last_played"], 1714521600)
        self.assertEqual(self.sim.item("emby", "m3")["last_played"], 1714521600)
        self.assertTrue(self.sim.item("plex", "m3")["played"])
        # An unmark dated before a play the servers reported would lose to it: refused.
        alpha = self.item_by_title("Alpha (2001)")
        result = self.run_tool("ws-state", "--json", "mark", str(alpha["id"]), "unplayed",
                               "--at", "2023-01-01T00:00:00Z")
        self.assertEqual(result.code, 64, result)
        self.assertIn("--at", result.json["errors"][0]["message"])
        self.assertTrue(self.item_by_title("Alpha (2001)")["watched"])
        # One after it is taken.
        doc = self.mark(alpha["id"], "unplayed", "--at", "2025-01-02T03:04:05+01:00")["result"]
        self.assertEqual(doc["item"]["updated"], "2025-01-02T02:04:05Z")
        self.ws("ws-sync")
        self.assertEqual(self.played_on("m1"), {"plex": False, "jellyfin": False, "emby": False})

    def test_mark_unplayed_keeps_the_position_only_when_asked(self):
        self.ws("ws-sync")
        episode = self.item_by_title("Show One (2010) - 01x02")  # unplayed, 15 min in
        self.assertEqual(episode["progress_ms"], 900000)
        doc = self.mark(episode["id"], "unplayed", "--keep-position")["result"]
        self.assertFalse(doc["changed"])  # nothing to change: unplayed, no newer play anywhere
        self.assertEqual(doc["item"]["progress_ms"], 900000)
        doc = self.mark(episode["id"], "unplayed")["result"]
        self.assertTrue(doc["changed"])
        self.assertEqual(doc["item"]["progress_ms"], 0)
        self.assertEqual(self.item_by_title("Show One (2010) - 01x02")["progress_ms"], 0)
        # The next sync clears it on the servers too (Plex by unscrobbling), and keeps it so.
        self.ws("ws-sync")
        for server in SERVERS:
            item = self.sim.item(server, "s1e2")
            self.assertEqual((item["played"], item["position_ms"]), (False, 0), server)
        self.sim.clear_requests()
        self.ws("ws-sync")
        self.assertEqual({s: self.sim.writes(s) for s in SERVERS}, {s: 0 for s in SERVERS})

    # --- --push --------------------------------------------------------------------------------

    def test_push_brings_every_server_into_line_without_a_sync(self):
        self.ws("ws-sync")
        beta = self.item_by_title("Beta (2002)")
        self.sim.clear_requests()
        doc = self.mark(beta["id"], "unplayed", "--push")["result"]
        backends = doc["export"]["identities"]["main"]["backends"]
        self.assertEqual(set(backends), set(SERVERS))
        for server in SERVERS:
            self.assertEqual(backends[server]["status"], "ok", server)
            self.assertEqual(backends[server]["marked_unplayed"], 1, server)
            self.assertEqual([c["action"] for c in backends[server]["changes"]], ["mark_unplayed"])
        self.assertEqual(self.played_on("m2"), {"plex": False, "jellyfin": False, "emby": False})
        # Only this item was written.
        self.assertEqual(self.writes(), {"plex": 1, "jellyfin": 1, "emby": 1})
        self.assertTrue(self.item_by_title("Alpha (2001)")["watched"])

        gamma = self.item_by_title("Gamma (2003)")
        human = self.run_tool("ws-state", "mark", str(gamma["id"]), "played", "--push", env=PERSON)
        self.assertEqual(human.code, 0, human)
        self.assertIn("did mark_played", human.stdout)
        self.assertEqual(self.played_on("m3"), {"plex": True, "jellyfin": True, "emby": True})

        # The next sync agrees and writes nothing.
        self.sim.clear_requests()
        self.ws("ws-sync")
        self.assertEqual(self.writes(), {"plex": 0, "jellyfin": 0, "emby": 0})
        self.assertFalse(self.item_by_title("Beta (2002)")["watched"])
        self.assertTrue(self.item_by_title("Gamma (2003)")["watched"])

    def test_push_reads_the_servers_first_so_an_unmark_there_does_not_undo_the_mark(self):
        self.ws("ws-sync")
        alpha = self.item_by_title("Alpha (2001)")
        # Unmarked on Plex after the last import; then the person marks it played here.
        self.sim.set_state("plex", key="m1", played=False, last_played=None)
        doc = self.mark(alpha["id"], "played", "--push")["result"]
        self.assertFalse(doc["changed"])  # played locally already
        plex = doc["export"]["identities"]["main"]["backends"]["plex"]
        self.assertEqual(plex["marked_played"], 1)
        self.assertEqual(self.played_on("m1"), {"plex": True, "jellyfin": True, "emby": True})
        self.ws("ws-sync")
        self.assertTrue(self.item_by_title("Alpha (2001)")["watched"])
        self.assertEqual(self.played_on("m1"), {"plex": True, "jellyfin": True, "emby": True})

    def test_push_dry_run_plans_and_changes_nothing(self):
        self.ws("ws-sync")
        beta = self.item_by_title("Beta (2002)")
        self.sim.clear_requests()
        doc = self.ws("ws-state", "--dry-run", "mark", str(beta["id"]), "unplayed", "--push",
                      env=PERSON)
        self.assertTrue(doc["dry_run"])
        for server in SERVERS:
            changes = doc["result"]["export"]["identities"]["main"]["backends"][server]["changes"]
            self.assertEqual([c["status"] for c in changes], ["planned"], server)
        self.assertEqual(self.writes(), {"plex": 0, "jellyfin": 0, "emby": 0})
        self.assertTrue(self.item_by_title("Beta (2002)")["watched"])

    def test_push_to_a_failing_server_is_reported_and_the_others_are_written(self):
        self.ws("ws-sync")
        beta = self.item_by_title("Beta (2002)")
        self.sim.fault("jellyfin", path="PlayedItems", method="DELETE", status=500, times=-1,
                       retry_after="0")
        result = self.run_tool("ws-state", "--json", "mark", str(beta["id"]), "unplayed", "--push",
                               env=PERSON)
        self.assertEqual(result.code, 1, result)
        backends = result.json["result"]["export"]["identities"]["main"]["backends"]
        self.assertEqual(backends["jellyfin"]["failed"], 1)
        self.assertEqual({(e["backend"], e["kind"]) for e in result.json["errors"]},
                         {("jellyfin", "tempfail")})
        self.assertEqual(self.played_on("m2"), {"plex": False, "jellyfin": True, "emby": False})
        self.assert_no_secret(result.stdout + result.stderr)
        # The local change stays; the next sync finishes the job.
        self.assertFalse(self.item_by_title("Beta (2002)")["watched"])
        self.sim.clear_faults()
        self.ws("ws-sync")
        self.assertEqual(self.played_on("m2"), {"plex": False, "jellyfin": False, "emby": False})

    def test_push_skips_a_server_that_cannot_be_read(self):
        self.ws("ws-sync")
        beta = self.item_by_title("Beta (2002)")
        self.write_config(emby={"token": "wrong-token-abcdef123456"})
        self.sim.clear_requests()
        result = self.run_tool("ws-state", "--json", "mark", str(beta["id"]), "unplayed", "--push",
                               env=PERSON)
        self.assertEqual(result.code, 1, result)
        self.assertIn(("emby", "auth"), {(e["backend"], e["kind"]) for e in result.json["errors"]})
        self.assertEqual(self.sim.writes("emby"), 0)
        self.assertEqual(self.played_on("m2"), {"plex": False, "jellyfin": False, "emby": True})
        self.assertNotIn("wrong-token-abcdef123456", result.stdout + result.stderr)

    # --- forget --------------------------------------------------------------------------------

    def test_forget_removes_the_row_and_the_next_import_brings_it_back(self):
        self.ws("ws-import")
        alpha = self.item_by_title("Alpha (2001)")
        count = len(self.state_items())

        doc = self.ws("ws-state", "--dry-run", "forget", str(alpha["id"]))["result"]
        self.assertFalse(doc["removed"])
        self.assertEqual(doc["keys"], ["imdb://tt0000001/movie", "tmdb://101/movie"])
        self.assertEqual(sorted(r["backend"] for r in doc["records"]), sorted(SERVERS))
        self.assertEqual(len(self.state_items()), count)
        human = self.run_tool("ws-state", "--dry-run", "forget", str(alpha["id"]))
        self.assertIn("would forget", human.stdout)

        doc = self.ws("ws-state", "forget", str(alpha["id"]))["result"]
        self.assertTrue(doc["removed"])
        self.assertEqual(doc["item"]["display_title"], "Alpha (2001)")
        self.assertNotIn("Alpha (2001)", [i["display_title"] for i in self.state_items()])
        self.ws("ws-state", "show", str(alpha["id"]), expect=65)
        self.assertEqual(self.titles("--id", "imdb://tt0000001"), [])

        doc = self.ws("ws-import")
        back = self.item_by_title("Alpha (2001)")
        self.assertNotEqual(back["id"], alpha["id"])
        self.assertTrue(back["watched"])
        self.assertEqual(len(self.state_items()), count)
        show = self.ws("ws-state", "show", str(back["id"]))["result"]
        self.assertEqual(sorted(show["backends"]), sorted(SERVERS))
        self.assertEqual(show["keys"], ["imdb://tt0000001/movie", "tmdb://101/movie"])
        # And the servers were never touched.
        self.assertEqual(self.writes(), {"plex": 0, "jellyfin": 0, "emby": 0})

    # --- list filters --------------------------------------------------------------------------

    def test_each_filter_returns_exactly_its_rows(self):
        self.ws("ws-import")
        show_one = ["Show One (2010) - 01x01", "Show One (2010) - 01x02",
                    "Show One (2010) - 01x03", "Show One (2010) - 01x04"]
        movies = ["Alpha (2001)", "Beta (2002)", "Epsilon (2005)", "Gamma (2003)", "Zeta (2006)"]
        cases = [
            (("--id", "imdb://tt0000001"), ["Alpha (2001)"]),
            (("--id", "IMDB://tt0000001"), ["Alpha (2001)"]),
            (("--id", "tmdb://103"), ["Gamma (2003)"]),
            (("--id", "tmdb://10"), []),
            (("--id", "tvdb://2001"), ["Show One (2010) - 01x01"]),
            (("--id", "tvdb://200"), show_one),
            (("--id", "anidb://5000"), ["Anime (2012) - 01x01"]),
            (("--path", "S01E03-E04"), ["Show One (2010) - 01x03", "Show One (2010) - 01x04"]),
            (("--path", "/MEDIA/movies/alpha"), ["Alpha (2001)"]),
            (("--path", "/media/movies/"), movies),
            (("--year", "2010"), show_one),
            (("--year", "1999"), []),
            (("--season", "1", "--episode", "1"),
             ["Anime (2012) - 01x01", "Show One (2010) - 01x01"]),
            (("--season", "1"), ["Anime (2012) - 01x01"] + show_one),
            (("--type", "movie"), movies),
            (("--type", "episode"), ["Anime (2012) - 01x01"] + show_one),
            (("--backend", "plex"),
             ["Alpha (2001)", "Anime (2012) - 01x01", "Beta (2002)", "Epsilon (2005)",
              "Gamma (2003)"] + show_one),
            (("--backend", "emby", "--type", "movie"),
             ["Alpha (2001)", "Beta (2002)", "Gamma (2003)", "Zeta (2006)"]),
            (("--backend", "emby", "--type", "movie", "--played"),
             ["Alpha (2001)", "Beta (2002)"]),
            (("--backend", "jellyfin", "--unplayed", "--title", "show"),
             ["Show One (2010) - 01x02"]),
            (("--id", "tvdb://200", "--season", "1", "--episode", "3", "--path", "E03-E04",
              "--year", "2010", "--type", "episode", "--backend", "jellyfin"),
             ["Show One (2010) - 01x03"]),
            (("--type", "movie", "--limit", "2"), ["Alpha (2001)", "Beta (2002)"]),
        ]
        for args, expected in cases:
            with self.subTest(args=args):
                self.assertEqual(self.titles(*args), expected)
        # The table shows the same rows.
        human = self.run_tool("ws-state", "list", "--id", "tvdb://200", "--season", "1",
                              "--episode", "2")
        self.assertEqual(human.code, 0, human)
        lines = human.stdout.strip().splitlines()
        self.assertEqual(len(lines), 2, human)  # header and one row
        self.assertIn("Show One (2010) - 01x02", lines[1])

    def test_bad_filters_and_unknown_ids_exit_with_the_documented_codes(self):
        self.ws("ws-import")
        for args in (("list", "--id", "tt0000001"), ("list", "--id", "imdb://123"),
                     ("list", "--id", "foo://1"), ("list", "--backend", "nosuch"),
                     ("list", "--episode", "2"), ("list", "--type", "series"),
                     ("list", "--type", "movie", "--season", "1"),
                     ("mark", "1", "seen"), ("mark", "1", "played", "--at", "yesterday"),
                     ("mark", "1", "played", "--at", "2999-01-01"),
                     ("mark", "1", "played", "--keep-position"),
                     ("mark", "1", "played", "-s", "nosuch")):
            with self.subTest(args=args):
                result = self.run_tool("ws-state", "--json", *args)
                self.assertEqual(result.code, 64, result)
                self.assertEqual(result.json["exit_code"], 64)
        for args in (("mark", "99999", "played"), ("mark", "99999", "unplayed", "--push"),
                     ("forget", "99999"), ("--dry-run", "forget", "99999")):
            with self.subTest(args=args):
                result = self.run_tool("ws-state", "--json", *args)
                self.assertEqual(result.code, 65, result)
                self.assertIn("no item with id 99999", result.json["errors"][0]["message"])
        # -u of another identity does not reach main's rows.
        self.write_config(extra={"identities": {
            "bob": {"plex": {"user": "1", "token": "bob-plex-token-0000"}}}})
        alpha = self.item_by_title("Alpha (2001)")
        result = self.run_tool("ws-state", "--json", "-u", "bob", "mark", str(alpha["id"]),
                               "unplayed")
        self.assertEqual(result.code, 65, result)
        self.assertTrue(self.item_by_title("Alpha (2001)")["watched"])

    def test_no_token_in_any_output(self):
        self.ws("ws-sync")
        alpha = self.item_by_title("Alpha (2001)")
        outputs = []
        for json_flag in ((), ("--json",)):
            for args in (("mark", str(alpha["id"]), "unplayed", "--push", "-vv"),
                         ("mark", str(alpha["id"]), "played", "--push", "-vv"),
                         ("list", "--backend", "plex", "--id", "imdb://tt0000001"),
                         ("--dry-run", "forget", str(alpha["id"]), "-vv"),
                         ("show", str(alpha["id"]))):
                result = self.run_tool("ws-state", *json_flag, *args, env=PERSON)
                self.assertEqual(result.code, 0, result)
                outputs.append(result.stdout + result.stderr)
        self.assert_no_secret("\n".join(outputs))


if __name__ == "__main__":
    unittest.main()
