# SPDX-License-Identifier: MIT
"""ws-sync and ws-export against Plex, Jellyfin and Emby in one world: the state converges, a
second run sends nothing, and failures of one target do not stop the others."""
import unittest

import worlds
from wstest import WsTestCase

PLAYED = {"m1", "m2", "m5", "s1e1", "s1e3", "s2e1"}
POSITIONS = {"m3": 600000, "s1e2": 900000}


class Sync(WsTestCase):
    world = worlds.household()

    def server_state(self, server):
        return {i["key"]: i for i in self.sim.items(server)}

    def assert_converged(self):
        for server in ("plex", "jellyfin", "emby"):
            for key, item in self.server_state(server).items():
                if key == "m4":
                    continue  # no ids anywhere: never matched, never written
                with self.subTest(server=server, key=key):
                    self.assertEqual(item["played"], key in PLAYED, item)
                    if key in POSITIONS:
                        self.assertEqual(item["position_ms"], POSITIONS[key], item)

    def writes(self):
        return {s: self.sim.writes(s) for s in ("plex", "jellyfin", "emby")}

    def test_first_sync_converges_and_second_sends_nothing(self):
        doc = self.ws("ws-sync")
        self.assertEqual(set(doc["result"]), {"import", "export"})
        export = doc["result"]["export"]["identities"]["main"]["backends"]
        self.assertEqual(export["jellyfin"]["marked_played"], 3)  # m1, s1e1, s1e3 (one file)
        self.assertEqual(export["plex"]["marked_played"], 3)      # m2, s1e1, s2e1
        self.assertEqual(export["plex"]["progress_updated"], 1)   # m3
        for name, b in export.items():
            self.assertEqual(b["failed"], 0, name)
            for change in b["changes"]:
                self.assertIn(change["action"], {"mark_played", "mark_unplayed", "set_progress"})
                self.assertEqual(change["status"], "ok")
                self.assertIn("title", change)
        self.assert_converged()
        # Dates: Jellyfin and Emby take the local play date (each in its own format).
        self.assertEqual(self.sim.item("jellyfin", "m1")["last_played"], 1700000000)
        self.assertEqual(self.sim.item("emby", "m1")["last_played"], 1700000000)
        self.assertEqual(self.sim.item("plex", "s2e1")["played"], True)

        self.sim.clear_requests()
        doc = self.ws("ws-sync")
        self.assertEqual(self.writes(), {"plex": 0, "jellyfin": 0, "emby": 0})
        for b in doc["result"]["export"]["identities"]["main"]["backends"].values():
            self.assertEqual(b["changes"], [])
        # And a third: still nothing, even after Plex reported its own scrobble times.
        self.ws("ws-sync")
        self.assertEqual(self.writes(), {"plex": 0, "jellyfin": 0, "emby": 0})

    def test_unmark_on_one_server_unmarks_everywhere(self):
        self.ws("ws-sync")
        self.sim.set_state("plex", key="m1", played=False, last_played=None)
        doc = self.ws("ws-sync")
        self.assertFalse(self.sim.item("jellyfin", "m1")["played"])
        self.assertFalse(self.sim.item("emby", "m1")["played"])
        export = doc["result"]["export"]["identities"]["main"]["backends"]
        self.assertEqual(export["jellyfin"]["marked_unplayed"], 1)
        self.sim.clear_requests()
        self.ws("ws-sync")
        self.assertEqual(self.writes(), {"plex": 0, "jellyfin": 0, "emby": 0})

    def test_an_unmark_clears_positions_kept_from_before_the_play(self):
        # Jellyfin holds a resume position of Alpha from before Plex's play (1700000000); an
        # import alone leaves it there (a played item has no position to sync).
        self.sim.set_state("jellyfin", key="m1", position_ms=1200000, last_played=1699000000)
        self.ws("ws-import")
        self.assertTrue(self.item_by_title("Alpha (2001)")["watched"])
        # The user unmarks Alpha on Plex: the play is undone, and with it what came before it.
        self.sim.set_state("plex", key="m1", played=False, last_played=None)
        doc = self.ws("ws-sync")
        export = doc["result"]["export"]["identities"]["main"]["backends"]
        alpha = [c for c in export["jellyfin"]["changes"] if c["title"] == "Alpha (2001)"]
        self.assertEqual([(c["action"], c["from"]["progress_ms"], c["to"]["progress_ms"])
                          for c in alpha], [("set_progress", 1200000, 0)])
        for server in ("plex", "jellyfin", "emby"):
            item = self.sim.item(server, "m1")
            self.assertFalse(item["played"], server)
            self.assertEqual(item["position_ms"], 0, server)
        self.assertEqual(self.item_by_title("Alpha (2001)")["progress_ms"], 0)
        self.sim.clear_requests()
        self.ws("ws-sync")
        self.assertEqual(self.writes(), {"plex": 0, "jellyfin": 0, "emby": 0})

    def test_position_above_minimum_syncs_below_does_not(self):
        self.ws("ws-sync")
        self.sim.set_state("jellyfin", key="m6", position_ms=1200000)
        self.sim.set_state("emby", key="s1e2", position_ms=30000)  # below the 60 s minimum
        self.ws("ws-sync")
        self.assertEqual(self.sim.item("emby", "m6")["position_ms"], 1200000)
        self.assertEqual(self.sim.item("jellyfin", "s1e2")["position_ms"], 900000)
        self.assertEqual(self.sim.item("plex", "s1e2")["position_ms"], 900000)

    def test_newer_change_wins_between_two_servers(self):
        self.ws("ws-sync")
        # At "now" = 1800000000 Alpha is unmarked on Plex; Jellyfin reports a play after that.
        self.sim.set_state("plex", key="m1", played=False, last_played=None)
        self.sim.set_state("jellyfin", key="m1", played=True, last_played=1800000500)
        self.ws("ws-sync", env={"WS_FAKE_NOW": "1800000000"})
        for server in ("plex", "jellyfin", "emby"):
            self.assertTrue(self.sim.item(server, "m1")["played"], server)
        # Now the other way round: the unmark (on Emby, at 1800001000) is the newer event.
        self.sim.set_state("emby", key="m1", played=False, last_played=None)
        self.sim.set_state("jellyfin", key="m1", played=True, last_played=1800000500)
        self.ws("ws-sync", env={"WS_FAKE_NOW": "1800001000"})
        for server in ("plex", "jellyfin", "emby"):
            self.assertFalse(self.sim.item(server, "m1")["played"], server)

    def test_dry_run_sends_nothing_and_plans_exactly_the_real_writes(self):
        doc = self.ws("ws-sync", "--dry-run")
        self.assertEqual(self.writes(), {"plex": 0, "jellyfin": 0, "emby": 0})
        self.assertEqual(self.state_items(), [])
        planned = {n: len(b["changes"]) for n, b in doc["result"]["export"]["identities"]["main"]["backends"].items()}
        self.assertGreater(sum(planned.values()), 0)
        for b in doc["result"]["export"]["identities"]["main"]["backends"].values():
            for change in b["changes"]:
                self.assertEqual(change["status"], "planned")
        self.sim.clear_requests()
        real = self.ws("ws-sync")
        sent = {n: len(b["changes"]) for n, b in real["result"]["export"]["identities"]["main"]["backends"].items()}
        self.assertEqual(planned, sent)
        self.assertEqual(self.writes(), planned)

    def test_failing_target_does_not_stop_the_others(self):
        self.sim.fault("jellyfin", path="PlayedItems", method="POST", status=500, times=-1,
                       retry_after="0")
        result = self.run_tool("ws-sync", "--json")
        self.assertEqual(result.code, 1, result)
        export = result.json["result"]["export"]["identities"]["main"]["backends"]
        self.assertEqual(export["jellyfin"]["failed"], 3)
        self.assertEqual(export["plex"]["failed"], 0)
        self.assertTrue(self.sim.item("plex", "s1e1")["played"])
        self.assertTrue(self.sim.item("emby", "m1")["played"])
        kinds = {(e["backend"], e["kind"]) for e in result.json["errors"]}
        self.assertEqual(kinds, {("jellyfin", "tempfail")})
        # The failed write is in the item's change log with its outcome.
        alpha = self.item_by_title("Alpha (2001)")
        changes = self.ws("ws-state", "show", str(alpha["id"]))["result"]["changes"]
        failed = [c for c in changes if c["backend"] == "jellyfin" and c["direction"] == "export"]
        self.assertEqual(len(failed), 1)
        self.assertIn("HTTP 500", failed[0]["outcome"])
        ok = [c for c in changes if c["backend"] == "emby" and c["direction"] == "export"]
        self.assertEqual(ok[0]["outcome"], "ok")
        # Next run, the server is back: it converges.
        self.sim.clear_faults()
        self.ws("ws-sync")
        self.assert_converged()

    def test_401_target_is_reported_and_not_written(self):
        self.write_config(emby={"token": "wrong-token-abcdef123456"})
        result = self.run_tool("ws-sync", "--json")
        self.assertEqual(result.code, 1, result)
        self.assertIn(("emby", "auth"), {(e["backend"], e["kind"]) for e in result.json["errors"]})
        self.assertTrue(self.sim.item("jellyfin", "m1")["played"])
        self.assertEqual(self.sim.writes("emby"), 0)
        self.assertNotIn("wrong-token-abcdef123456", result.stdout + result.stderr)

    def test_export_disabled_backend_is_never_written(self):
        self.write_config(emby={"export": {"enabled": False}})
        self.ws("ws-sync", "-s", "emby", "-s", "plex")
        self.assertEqual(self.sim.writes("emby"), 0)
        self.assertTrue(self.sim.item("plex", "s1e1")["played"])  # Emby's play still reached Plex

    def test_item_being_played_is_left_alone(self):
        plex_id = self.sim.item("plex", "m2")["id"]
        self.sim._call("plex", "POST", "/__sim/sessions", [{"user": "1", "id": plex_id, "position_ms": 5000}])
        doc = self.ws("ws-sync")
        self.assertEqual(doc["result"]["export"]["identities"]["main"]["backends"]["plex"]["playing"], 1)
        self.assertFalse(self.sim.item("plex", "m2")["played"])

    def test_ws_export_pushes_local_state(self):
        self.ws("ws-import", "-s", "plex")
        self.sim.clear_requests()
        doc = self.ws("ws-export", "-s", "jellyfin")
        self.assertEqual(list(doc["result"]["identities"]["main"]["backends"]), ["jellyfin"])
        self.assertTrue(self.sim.item("jellyfin", "m1")["played"])
        self.assertEqual(self.sim.writes("plex"), 0)
        # Exporting never changes the local state.
        self.assertFalse([i for i in self.state_items() if i["display_title"] == "Zeta (2006)"])


if __name__ == "__main__":
    unittest.main()
