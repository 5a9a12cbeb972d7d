# SPDX-License-Identifier: MIT
"""ws-parity names exactly the crafted differences; an all-agreeing world gives exit 0."""
import copy

import worlds
from wstest import WsTestCase


def crafted():
    world = copy.deepcopy(worlds.household())
    # Jellyfin says Alpha's tmdb id is 555, Plex and Emby say 101.
    world["movies"][0]["jellyfin_provider_ids"] = {"Imdb": "tt0000001", "Tmdb": "555"}
    # Plex has a second movie on Alpha's file.
    world["movies"].append({"key": "m7", "title": "Eta", "year": 2007, "ids": {"imdb": "tt0000007"},
                            "servers": ["plex"], "file": "/media/movies/Alpha (2001)/Alpha (2001).mkv"})
    return world


def agreeing():
    return {"servers": copy.deepcopy(worlds.household()["servers"]),
            "movies": [{"key": "a", "title": "One", "year": 2001, "ids": {"imdb": "tt0000101"}},
                       {"key": "b", "title": "Two", "year": 2002, "ids": {"tmdb": "202"},
                        "state": {"plex": {"played": True, "last_played": 1700000000}}}]}


class Parity(WsTestCase):
    world = crafted()

    def findings(self, doc, check):
        return sorted(f["title"] for f in doc["result"]["findings"] if f["check"] == check)

    def test_each_report_names_exactly_the_crafted_items(self):
        self.ws("ws-import")
        doc = self.ws("ws-parity", "--check", "missing", "--check", "id_conflict",
                      "--check", "duplicate_file", "--check", "weak", expect=1)
        self.assertEqual(doc["status"], "differences")
        self.assertEqual(self.findings(doc, "missing"), ["Epsilon (2005)", "Eta (2007)", "Zeta (2006)"])
        self.assertEqual(self.findings(doc, "id_conflict"), ["Alpha (2001)"])
        conflict = [f for f in doc["result"]["findings"] if f["check"] == "id_conflict"][0]
        self.assertIn("555 (jellyfin)", conflict["detail"])
        self.assertEqual(self.findings(doc, "duplicate_file"), ["Eta (2007)"])
        self.assertEqual(self.findings(doc, "weak"), [
            "Anime (2012) - 01x01", "Show One (2010) - 01x02", "Show One (2010) - 01x03",
            "Show One (2010) - 01x04"])
        # --min 1: an item one backend has is not missing.
        doc = self.ws("ws-parity", "--check", "missing", "--min", "1")
        self.assertEqual(doc["result"]["findings"], [])

    def test_played_and_position_disagreements(self):
        self.ws("ws-sync")
        self.assertEqual(self.ws("ws-parity", "--check", "played", "--check", "progress")["result"]["findings"], [])
        self.sim.set_state("emby", key="m2", played=False, last_played=None)
        self.sim.set_state("jellyfin", key="m6", position_ms=1500000)
        self.ws("ws-import", "-s", "emby", "-s", "jellyfin")
        doc = self.ws("ws-parity", "--check", "played", "--check", "progress", expect=1)
        self.assertEqual(self.findings(doc, "played"), ["Beta (2002)"])
        self.assertEqual(self.findings(doc, "progress"), ["Zeta (2006)"])
        played = [f for f in doc["result"]["findings"] if f["check"] == "played"][0]
        self.assertEqual(played["backends"], ["emby"])

    def test_prune_removes_items_gone_from_every_server(self):
        self.ws("ws-import")
        # Epsilon disappears from Plex, the only server that had it.
        self.sim.visibility("plex", hide=["m5"])
        doc = self.ws("ws-import")
        self.assertEqual(doc["result"]["identities"]["main"]["backends"]["plex"]["gone"], 1)
        dry = self.ws("ws-parity", "--prune", "--dry-run", "--check", "duplicate_id")
        self.assertEqual([p["title"] for p in dry["result"]["pruned"]], ["Epsilon (2005)"])
        self.assertEqual(len([i for i in self.state_items() if i["title"] == "Epsilon"]), 1)
        self.ws("ws-parity", "--prune", "--check", "duplicate_id")
        self.assertEqual([i for i in self.state_items() if i["title"] == "Epsilon"], [])

    def test_unknown_check_is_a_usage_error(self):
        result = self.run_tool("ws-parity", "--json", "--check", "nonsense")
        self.assertEqual(result.code, 64, result)


def disagreeing_metadata():
    world = copy.deepcopy(worlds.household())
    # Jellyfin's "Theta Remake" (2019) carries the imdb id of "Theta" (1999), which only Plex and
    # Emby have: one row, two years.
    world["movies"].append({"key": "m9", "title": "Theta", "year": 1999, "ids": {"imdb": "tt0000009"},
                            "servers": ["plex", "emby"]})
    world["movies"].append({"key": "m10", "title": "Theta Remake", "year": 2019, "ids": {"imdb": "tt0000010"},
                            "servers": ["jellyfin"], "jellyfin_provider_ids": {"Imdb": "tt0000009"}})
    # Jellyfin numbers Show One's episode with tvdb id 2001 as 1x05; Plex and Emby as 1x01. An
    # episode is its series, season and episode: two rows that share an episode id.
    show = world["shows"][0]
    show["episodes"][0]["servers"] = ["plex", "emby"]
    show["episodes"].append({"key": "s1e5", "season": 1, "episode": 5, "ids": {"tvdb": "2001"},
                             "servers": ["jellyfin"]})
    return world


class Metadata(WsTestCase):
    world = disagreeing_metadata()

    def test_year_and_episode_number_disagreements(self):
        self.ws("ws-import")
        doc = self.ws("ws-parity", "--check", "metadata", expect=1)
        found = {f["title"]: f for f in doc["result"]["findings"]}
        self.assertEqual(sorted(found), ["Theta (1999)"])
        self.assertEqual(found["Theta (1999)"]["detail"],
                         "backends disagree: year 1999 (emby, plex), year 2019 (jellyfin)")
        self.assertEqual(doc["result"]["counts"]["metadata"], 1)
        # The episode numbered differently is another episode; the id it shares is a conflict.
        doc = self.ws("ws-parity", "--check", "conflicts", expect=1)
        shared = [f for f in doc["result"]["findings"] if f["kind"] == "shared_id"]
        self.assertEqual(len(shared), 1, doc["result"]["findings"])
        self.assertEqual(shared[0]["key"], "tvdb://2001/episode")
        sides = sorted((i["title"], sorted((s["backend"], s["season"], s["episode"]) for s in i["servers"]))
                       for i in shared[0]["items"])
        self.assertEqual(sides, [("Show One (2010) - 01x01", [("emby", 1, 1), ("plex", 1, 1)]),
                                 ("Show One (2010) - 01x05", [("jellyfin", 1, 5)])])
        self.assertIn("correct the episode's tvdb id", shared[0]["fix"])
        # Each of the two episodes finds the other by the own-id key they share (the key text
        # ws-parity builds must be the one the import stored).
        doc = self.ws("ws-parity", "--check", "duplicate_id", expect=1)
        found = sorted((f["title"], f["detail"].split(" #")[0]) for f in doc["result"]["findings"])
        self.assertEqual(found, [("Show One (2010) - 01x01", "tvdb://2001/episode also identifies item"),
                                 ("Show One (2010) - 01x05", "tvdb://2001/episode also identifies item")])


class Live(WsTestCase):
    world = worlds.household()

    def test_live_compares_the_servers_now_and_keeps_nothing(self):
        self.ws("ws-sync")
        before = self.state_items()
        writes = {server: self.sim.writes(server) for server in ("plex", "jellyfin", "emby")}
        self.assertEqual(self.ws("ws-parity", "--check", "played")["result"]["findings"], [])
        # Emby's Beta is unmarked after the last import.
        self.sim.set_state("emby", key="m2", played=False, last_played=None)
        self.assertEqual(self.ws("ws-parity", "--check", "played")["result"]["findings"], [])
        doc = self.ws("ws-parity", "--live", "--check", "played", expect=1)
        self.assertTrue(doc["result"]["live"])
        self.assertEqual([(f["title"], f["backends"]) for f in doc["result"]["findings"]],
                         [("Beta (2002)", ["emby"])])
        # Nothing of the live listing was kept, and nothing was written to any server.
        self.assertEqual(self.state_items(), before)
        self.assertEqual(self.ws("ws-parity", "--check", "played")["result"]["findings"], [])
        for server in ("plex", "jellyfin", "emby"):
            self.assertEqual(self.sim.writes(server), writes[server], server)

    def test_live_with_a_failing_backend_reports_it(self):
        self.ws("ws-import")
        self.write_config(jellyfin={"token": "wrong-token-abcdef123456"})
        result = self.run_tool("ws-parity", "--json", "--live")
        self.assertEqual(result.code, 1, result)
        self.assertEqual([e["backend"] for e in result.json["errors"]], ["jellyfin"])
        self.assertNotIn("wrong-token-abcdef123456", result.stdout + result.stderr)

    def test_live_and_prune_is_a_usage_error(self):
        result = self.run_tool("ws-parity", "--json", "--live", "--prune")
        self.assertEqual(result.code, 64, result)


class AllAgree(WsTestCase):
    world = agreeing()

    def test_agreeing_world_exits_0_with_an_empty_report(self):
        self.ws("ws-sync")
        doc = self.ws("ws-parity")
        self.assertEqual(doc["status"], "ok")
        self.assertEqual(doc["result"]["findings"], [])
        self.assertEqual(doc["result"]["items"], 2)
