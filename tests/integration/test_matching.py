# SPDX-License-Identifier: MIT
"""Matching on messy libraries, case by case: shared episode ids, copies in two libraries,
conflicting movie ids, re-matches, ignore rules, path matching and custom agents. Each test
checks the servers' end state (who watched what), the JSON counts, and that the next run with
nothing changed updates nothing and writes nothing."""

import worlds
from wstest import WsTestCase

SERVERS = ("plex", "jellyfin", "emby")


def base():
    return worlds.films([])


def played(sim, server, key):
    return sim.item(server, key)["played"]


class Quiet:
    def assert_no_change_run(self):
        """A run with nothing changed: 0 added, 0 updated, no change planned, no write."""
        writes = {s: self.sim.writes(s) for s in SERVERS}
        doc = self.ws("ws-sync")
        for name, b in doc["result"]["import"]["identities"]["main"]["backends"].items():
            self.assertEqual((b["added"], b["updated"]), (0, 0), (name, b))
        for name, b in doc["result"]["export"]["identities"]["main"]["backends"].items():
            self.assertEqual(b["changes"], [], name)
        self.assertEqual({s: self.sim.writes(s) for s in SERVERS}, writes)
        return doc


def enterprise():
    world = base()
    # Star Trek: Enterprise S1E2 and S1E3 share one episode id (trakt-api issue 423); another
    # series' S1E2 carries it too. Only S1E2 of the first series was watched (on Plex).
    world["shows"] = [
        {"key": "ent", "title": "Enterprise", "year": 2001, "ids": {"tvdb": "73893", "tmdb": "314"},
         "episodes": [
             {"key": "ent1", "season": 1, "episode": 1, "ids": {"tvdb": "1001"}},
             {"key": "ent2", "season": 1, "episode": 2, "ids": {"tvdb": "1002"},
              "state": {"plex": {"played": True, "last_played": 1700000000}}},
             {"key": "ent3", "season": 1, "episode": 3, "ids": {"tvdb": "1002"}},
             {"key": "ent0", "season": 0, "episode": 1, "ids": {"tvdb": "1009"},
              "state": {"emby": {"played": True, "last_played": 1700000100}}}]},
        {"key": "oth", "title": "Other Show", "year": 2005, "ids": {"tvdb": "80000"},
         "episodes": [{"key": "oth2", "season": 1, "episode": 2, "ids": {"tvdb": "1002"}}]},
    ]
    return world


class SharedEpisodeIds(WsTestCase, Quiet):
    world = enterprise()

    def test_an_episode_id_two_episodes_share_marks_only_the_one_watched(self):
        doc = self.ws("ws-sync")
        for server in SERVERS:
            self.assertTrue(played(self.sim, server, "ent2"), server)
            self.assertFalse(played(self.sim, server, "ent3"), server)
            self.assertFalse(played(self.sim, server, "oth2"), server)
            self.assertFalse(played(self.sim, server, "ent1"), server)
            self.assertTrue(played(self.sim, server, "ent0"), server)  # season 0 special
        # One row per episode: 2 + 1 + 1 + 1 + 1 (no two episodes merged).
        titles = sorted(i["display_title"] for i in self.state_items())
        self.assertEqual(titles, ["Enterprise (2001) - 00x01", "Enterprise (2001) - 01x01",
                                  "Enterprise (2001) - 01x02", "Enterprise (2001) - 01x03",
                                  "Other Show (2005) - 01x02"])
        del doc
        self.assert_no_change_run()
        parity = self.ws("ws-parity", "--check", "conflicts", expect=1)
        shared = [f for f in parity["result"]["findings"] if f["kind"] == "shared_id"]
        self.assertEqual([f["key"] for f in shared], ["tvdb://1002/episode"])
        self.assertEqual(sorted(i["title"] for i in shared[0]["items"]),
                         ["Enterprise (2001) - 01x02", "Enterprise (2001) - 01x03",
                          "Other Show (2005) - 01x02"])


def copies():
    world = base()
    world["movies"] = [
        {"key": "hd", "title": "Alpha", "year": 2001, "ids": {"imdb": "tt0000001", "tmdb": "101"},
         "state": {"plex": {"played": True, "last_played": 1700000000}}},
        {"key": "uhd", "title": "Alpha", "year": 2001, "ids": {"imdb": "tt0000001", "tmdb": "101"},
         "library": "4k", "servers": ["plex"]},
        {"key": "b", "title": "Beta", "year": 2002, "ids": {"imdb": "tt0000002"}},
    ]
    return world


class Copies(WsTestCase, Quiet):
    world = copies()

    def test_every_copy_follows_and_an_unmark_of_any_copy_unmarks_everywhere(self):
        doc = self.ws("ws-sync")
        for server, key in (("plex", "hd"), ("plex", "uhd"), ("jellyfin", "hd"), ("emby", "hd")):
            self.assertTrue(played(self.sim, server, key), (server, key))
        alpha = self.item_by_title("Alpha (2001)")
        shown = self.ws("ws-state", "show", str(alpha["id"]))["result"]
        self.assertEqual(sorted((r["backend"], r["id"]) for r in shown["records"]),
                         sorted([("plex", self.sim.item("plex", "hd")["id"]),
                                 ("plex", self.sim.item("plex", "uhd")["id"]),
                                 ("jellyfin", self.sim.item("jellyfin", "hd")["id"]),
                                 ("emby", self.sim.item("emby", "hd")["id"])]))
        plex = doc["result"]["export"]["identities"]["main"]["backends"]["plex"]
        self.assertEqual([c["id"] for c in plex["changes"]], [self.sim.item("plex", "uhd")["id"]])
        self.assert_no_change_run()

        # The household unmarks the 4K copy: the film is unwatched everywhere.
        self.sim.set_state("plex", key="uhd", played=False)
        self.ws("ws-sync", env={"WS_FAKE_NOW": "1900000000"})
        for server, key in (("plex", "hd"), ("plex", "uhd"), ("jellyfin", "hd"), ("emby", "hd")):
            self.assertFalse(played(self.sim, server, key), (server, key))
        self.assert_no_change_run()

        # A copy removed from the server: its record goes, the other copy stays in step.
        self.sim.visibility("plex", hide=["uhd"])
        gone = self.ws("ws-sync")["result"]["import"]["identities"]["main"]["backends"]["plex"]["gone"]
        self.assertEqual(gone, 1)
        self.sim.set_state("jellyfin", key="hd", played=True, last_played=1950000000)
        self.ws("ws-sync", env={"WS_FAKE_NOW": "1950000100"})
        self.assertTrue(played(self.sim, "plex", "hd"))
        self.assertTrue(self.sim.item("plex", "uhd")["hidden"])

    def test_backend_item_shows_the_copies(self):
        self.ws("ws-sync")
        doc = self.ws("ws-backend", "plex", "item", self.sim.item("plex", "uhd")["id"])
        local = doc["result"]["items"][0]["local"]
        self.assertEqual(sorted(c["backend"] for c in local["copies"]), ["emby", "jellyfin", "plex", "plex"])


def conflicting():
    world = base()
    world["movies"] = [
        {"key": "a", "title": "Alpha", "year": 2001, "ids": {"imdb": "tt0000001", "tmdb": "101"},
         "state": {"plex": {"played": True, "last_played": 1700000000}}},
        {"key": "b", "title": "Beta", "year": 2002, "ids": {"imdb": "tt0000002", "tmdb": "102"}},
        # Jellyfin's copy of Alpha carries Beta's tmdb id: title and year say it is Alpha.
        {"key": "a2", "title": "Alpha", "year": 2001, "ids": {"imdb": "tt0000001", "tmdb": "102"},
         "servers": ["jellyfin"], "file": "/media/movies/Alpha copy/alpha.mkv"},
        # Emby has a film with Alpha's imdb id and Beta's tmdb id under another title: which
        # film it is nobody can tell. It is kept apart, and played there.
        {"key": "x", "title": "Mystery", "year": 1985, "ids": {"imdb": "tt0000001", "tmdb": "102"},
         "servers": ["emby"], "state": {"emby": {"played": True, "last_played": 1700000500}}},
    ]
    for m in world["movies"][:2]:
        m["servers"] = ["plex", "jellyfin", "emby"]
    return world


class ConflictingIds(WsTestCase, Quiet):
    world = conflicting()

    def test_conflicting_ids_mark_nothing_nobody_watched_and_are_reported(self):
        doc = self.ws("ws-sync")
        for server in SERVERS:
            self.assertTrue(played(self.sim, server, "a"), server)
            self.assertFalse(played(self.sim, server, "b"), server)  # nobody watched Beta
        self.assertTrue(played(self.sim, "jellyfin", "a2"))
        self.assertTrue(played(self.sim, "emby", "x"))
        imported = doc["result"]["import"]["identities"]["main"]["backends"]
        self.assertGreaterEqual(imported["jellyfin"]["conflicts"], 1)
        self.assertGreaterEqual(imported["emby"]["conflicts"], 1)
        self.assert_no_change_run()
        parity = self.ws("ws-parity", "--check", "conflicts", expect=1)["result"]["findings"]
        kinds = sorted({f["kind"] for f in parity})
        self.assertIn("ambiguous", kinds)
        self.assertIn("other_row", kinds)
        ambiguous = [f for f in parity if f["kind"] == "ambiguous"]
        self.assertTrue(all(f["items"][0]["servers"][0]["backend"] == "emby" for f in ambiguous))
        self.assertTrue(all("fix" in f and f["fix"] for f in parity))
        # An ignore rule for the wrong id on Emby's item: it is Alpha after all.
        item = self.sim.item("emby", "x")["id"]
        self.write_config(extra={"matching": {"ignore": [
            {"id": "tmdb://102", "backend": "emby", "item": item, "reason": "wrong tmdb id"}]}})
        doc = self.ws("ws-sync")
        self.assertEqual(doc["result"]["import"]["identities"]["main"]["backends"]["emby"]["conflicts"], 0)
        self.assertEqual(len([i for i in self.state_items() if i["title"] == "Mystery"]), 0)
        ignored = self.ws("ws-state", "ignored")["result"]["rules"]
        self.assertEqual([(r["reason"], [(i["backend"], i["id"], i["ignored"]) for i in r["items"]])
                          for r in ignored], [("wrong tmdb id", [("emby", item, "id")])])
        self.assert_no_change_run()


def rematch():
    world = base()
    world["movies"] = [
        {"key": "a", "title": "Alpha", "year": 2001, "ids": {"imdb": "tt0000001", "tmdb": "101"},
         "servers": ["plex", "jellyfin"]},
        # Emby matched its Alpha to the wrong film (an id nothing else has); the user watched it.
        {"key": "ea", "title": "Alpha", "year": 2001, "ids": {"imdb": "tt0000001", "tmdb": "101"},
         "servers": ["emby"], "emby_provider_ids": {"Imdb": "tt9999999"},
         "state": {"emby": {"played": True, "last_played": 1700000000}}},
    ]
    world["shows"] = [
        {"key": "s", "title": "Show", "year": 2010, "ids": {"tvdb": "200", "tmdb": "300"},
         "plex_guids": ["plex://show/5d9c086c46115600200aa2fe", "tvdb://999999"],
         "episodes": [{"key": "s1", "season": 1, "episode": 1, "ids": {},
                       "state": {"jellyfin": {"played": True, "last_played": 1700000100}}},
                      {"key": "s2", "season": 1, "episode": 2, "ids": {},
                       "state": {"plex": {"played": True, "last_played": 1700000200}}}]},
    ]
    return world


class Rematch(WsTestCase, Quiet):
    world = rematch()

    def test_a_fix_match_moves_the_item_with_its_history(self):
        self.ws("ws-sync")
        # Before the fix: Emby's film and Plex's series are items of their own.
        self.assertFalse(played(self.sim, "plex", "a"))
        self.assertFalse(played(self.sim, "plex", "s1"))
        self.assertFalse(played(self.sim, "jellyfin", "s2"))
        before = len(self.state_items())
        self.assert_no_change_run()
        # Fix Match on Emby and on Plex.
        self.sim._call("emby", "POST", "/__sim/ids", {"key": "ea", "ids": {"imdb": "tt0000001", "tmdb": "101"}})
        self.sim._call("plex", "POST", "/__sim/ids", {"key": "s", "ids": {"tvdb": "200", "tmdb": "300"}})
        doc = self.ws("ws-sync", env={"WS_FAKE_NOW": "1800000000"})
        imported = doc["result"]["import"]["identities"]["main"]["backends"]
        self.assertEqual(imported["emby"]["rematched"], 1)
        self.assertEqual(imported["plex"]["rematched"], 2)
        for server in ("plex", "jellyfin", "emby"):
            self.assertTrue(played(self.sim, server, "a" if server != "emby" else "ea"), server)
        for server in ("plex", "jellyfin", "emby"):
            self.assertTrue(played(self.sim, server, "s1"), server)
            self.assertTrue(played(self.sim, server, "s2"), server)
        # No orphan or duplicate rows: one Alpha, one row per episode; the history moved along.
        items = self.state_items()
        self.assertEqual(len(items), before - 3)
        alpha = [i for i in items if i["title"] == "Alpha"]
        self.assertEqual(len(alpha), 1)
        changes = self.ws("ws-state", "show", str(alpha[0]["id"]))["result"]["changes"]
        self.assertIn("emby", {c["backend"] for c in changes if c["direction"] == "import"})
        self.assertIn("merged", {c["field"] for c in changes})
        self.assert_no_change_run()

    def test_a_fix_match_and_an_unmark_keep_the_resume_position(self):
        # (Model test, world seed 805.) Alpha is 21 minutes in on Jellyfin (and Plex); Emby's
        # wrongly matched copy was watched. The user fixes the match on Emby and unmarks it there:
        # the item is unwatched, and Emby takes the position the other servers hold.
        self.ws("ws-sync")
        self.sim.set_state("jellyfin", key="a", position_ms=1_260_000)
        self.ws("ws-sync")
        self.assertEqual(self.sim.item("plex", "a")["position_ms"], 1_260_000)
        self.sim._call("emby", "POST", "/__sim/ids", {"key": "ea", "ids": {"imdb": "tt0000001", "tmdb": "101"}})
        self.sim.set_state("emby", key="ea", played=False, position_ms=0)
        doc = self.ws("ws-sync")
        imported = doc["result"]["import"]["identities"]["main"]["backends"]
        self.assertEqual((imported["emby"]["rematched"], imported["emby"]["merged"],
                          imported["emby"]["marked_unplayed"]), (1, 1, 1))
        for server, key in (("plex", "a"), ("jellyfin", "a"), ("emby", "ea")):
            item = self.sim.item(server, key)
            self.assertFalse(item["played"], server)
            self.assertEqual(item["position_ms"], 1_260_000, server)
        alpha = [i for i in self.state_items() if i["title"] == "Alpha"]
        self.assertEqual([(i["watched"], i["progress_ms"]) for i in alpha], [(False, 1_260_000)])
        self.assert_no_change_run()


def pathless():
    world = base()
    world["movies"] = [
        {"key": "a", "title": "Alpha", "year": 2001, "ids": {"imdb": "tt0000001"},
         "jellyfin_provider_ids": {}, "state": {"jellyfin": {"played": True, "last_played": 1700000000}}},
        {"key": "m", "title": "Mine", "year": 2003, "ids": {"tmdb": "103"},
         "plex_guids": ["com.plexapp.agents.mydb://103?lang=en"],
         "state": {"plex": {"played": True, "last_played": 1700000100}}},
    ]
    return world


class PathsAndCustomAgents(WsTestCase, Quiet):
    world = pathless()

    def test_off_by_default(self):
        doc = self.ws("ws-sync")
        self.assertFalse(played(self.sim, "plex", "a"))  # Jellyfin's copy has no usable id
        self.assertTrue(played(self.sim, "jellyfin", "a"))  # and is left as it is
        self.assertFalse(played(self.sim, "jellyfin", "m"))  # Plex's agent is unknown
        self.assertEqual(doc["result"]["import"]["identities"]["main"]["backends"]["jellyfin"]["skipped"], 1)
        self.assert_no_change_run()

    def test_path_matching_and_a_custom_agent(self):
        self.write_config(extra={"matching": {
            "paths": {"enabled": True},
            "guids": [{"plex_prefix": "com.plexapp.agents.mydb://", "provider": "tmdb"}]}})
        self.ws("ws-sync")
        for server in SERVERS:
            self.assertTrue(played(self.sim, server, "a"), server)
            self.assertTrue(played(self.sim, server, "m"), server)
        self.assertEqual(len(self.state_items()), 2)
        self.assert_no_change_run()


def ignored_item():
    world = base()
    world["movies"] = [
        {"key": "a", "title": "Alpha", "year": 2001, "ids": {"imdb": "tt0000001"},
         "state": {"plex": {"played": True, "last_played": 1700000000}}},
        {"key": "t", "title": "Trailer", "year": 2001, "ids": {"imdb": "tt0000001"}, "library": "4k",
         "servers": ["plex"]},
    ]
    return world


class IgnoreItem(WsTestCase, Quiet):
    world = ignored_item()

    def test_an_ignored_server_item_is_never_written(self):
        trailer = self.sim.item("plex", "t")["id"]
        self.write_config(extra={"matching": {"ignore": [
            {"backend": "plex", "item": trailer, "reason": "a trailer"}]}})
        doc = self.ws("ws-sync")
        self.assertEqual(doc["result"]["import"]["identities"]["main"]["backends"]["plex"]["ignored"], 1)
        self.assertFalse(played(self.sim, "plex", "t"))
        for server in SERVERS:
            self.assertTrue(played(self.sim, server, "a"), server)
        rules = self.ws("ws-state", "ignored")["result"]["rules"]
        self.assertEqual(rules[0]["items"], [{"backend": "plex", "id": trailer, "title": "Trailer (2001)",
                                              "ignored": "item"}])
        self.assert_no_change_run()


class ShiftingPages(WsTestCase, Quiet):
    world = copies()

    def test_pages_that_shift_while_read_forget_nothing_and_write_nothing_unknown(self):
        self.ws("ws-sync")
        # The second listing page of Plex comes after "hd" was removed: the rest shifts back by
        # one item and one is never listed. Nothing is gone, nothing unknown is written.
        # Section 1 (Movies) only: its count comes first and passes (skip=1), its first page fires
        # the rule. Any section's requests would make the outcome hang on the order in which the
        # concurrent counts of the four sections reach the server.
        self.sim.fault("plex", path="/library/sections/1/all", skip=1, times=1, hide=["hd"])
        doc = self.ws("ws-sync")
        plex = doc["result"]["import"]["identities"]["main"]["backends"]["plex"]
        self.assertFalse(plex["listing_complete"])
        self.assertEqual(plex["gone"], 0)
        self.assertEqual(plex["updated"], 0)
        self.sim.clear_faults()
        self.sim.visibility("plex", show=["hd"])
        self.assert_no_change_run()
