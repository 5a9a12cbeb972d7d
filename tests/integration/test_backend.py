# SPDX-License-Identifier: MIT
"""ws-backend against the simulator: each report names exactly the crafted items."""
import copy

import worlds
from wstest import Simulator, WsTestCase

SERVERS = ("plex", "jellyfin", "emby")


def crafted():
    world = copy.deepcopy(worlds.household())
    # Matched to the wrong title: the file says something else entirely.
    world["movies"].append({"key": "m8", "title": "Thunderball", "year": 1965, "added_at": 1600000000,
                            "ids": {"imdb": "tt0000008"},
                            "file": "/media/movies/Pride and Prejudice (2005)/Pride and Prejudice (2005).mkv"})
    # A series in a folder named after another one, with no ids at all: its episode is unmatched.
    world["shows"].append({"key": "s3", "title": "Orphan Black", "year": 2013, "added_at": 1600000000,
                           "ids": {}, "file": "/media/tv/Gardeners World",
                           "episodes": [{"key": "s3e1", "season": 1, "episode": 1, "ids": {}}]})
    return world


def agreeing():
    return {"servers": copy.deepcopy(worlds.household()["servers"]),
            "movies": [{"key": "a", "title": "One", "year": 2001, "ids": {"imdb": "tt0000101"}},
                       {"key": "b", "title": "Two", "year": 2002, "ids": {"tmdb": "202"},
                        "state": {"plex": {"played": True, "last_played": 1700000000}}}],
            "shows": [{"key": "s", "title": "Three", "year": 2003, "ids": {"tvdb": "303"},
                       "episodes": [{"key": "se", "season": 1, "episode": 1, "ids": {}}]}]}


class Backend(WsTestCase):
    world = crafted()

    def test_info_names_the_server(self):
        for name, server_id in (("plex", worlds.PLEX_ID), ("jellyfin", worlds.JF_ID), ("emby", worlds.EMBY_ID)):
            doc = self.ws("ws-backend", name, "info")
            self.assertEqual(doc["result"]["server_id"], server_id)
            self.assertEqual(doc["result"]["type"], name)
            self.assertTrue(doc["result"]["version"])
            self.assertEqual(doc["result"]["libraries"], 2)
        # info is the default report
        self.assertEqual(self.ws("ws-backend", "plex")["result"]["server_id"], worlds.PLEX_ID)

    def test_users_mark_the_configured_one(self):
        # Without plex.tv (here: an address that answers 404) the server's own accounts, with a
        # warning.
        result = self.run_tool("ws-backend", "--json", "plex", "users")
        self.assertEqual(result.code, 0, result)
        plex = result.json["result"]["users"]
        self.assertEqual([(u["id"], u["name"], u["kind"], u["configured"]) for u in plex],
                         [("1", "owner", "account", True)])
        self.assertIn("plex.tv", result.stderr)
        for name, user in (("jellyfin", worlds.JF_USER), ("emby", worlds.EMBY_USER)):
            users = self.ws("ws-backend", name, "users")["result"]["users"]
            self.assertEqual([(u["id"], u["name"], u["configured"]) for u in users], [(user, "alice", True)])

    def test_libraries_show_which_are_ignored(self):
        self.write_config(jellyfin={"options": {"ignore": "TV Shows"}})
        libraries = self.ws("ws-backend", "jellyfin", "libraries")["result"]["libraries"]
        self.assertEqual(sorted((l["title"], l["type"], l["ignored"]) for l in libraries),
                         [("Movies", "movies", False), ("TV Shows", "shows", True)])

    def test_search_returns_ids_play_state_and_local_row(self):
        self.ws("ws-import")
        alpha = self.item_by_title("Alpha (2001)")
        for name in SERVERS:
            hits = self.ws("ws-backend", name, "search", "alph")["result"]["items"]
            movies = [h for h in hits if h["kind"] == "movie"]
            self.assertEqual([h["title"] for h in movies], ["Alpha"], name)
            self.assertEqual(movies[0]["id"], self.sim.item(name, "m1")["id"])
            self.assertEqual(movies[0]["local"]["id"], alpha["id"])
            self.assertEqual(movies[0]["guids"]["imdb"], "tt0000001")
        plex = self.ws("ws-backend", "plex", "search", "alpha")["result"]["items"][0]
        self.assertTrue(plex["played"])
        self.assertTrue(plex["local"]["watched"])
        shows = [h for h in self.ws("ws-backend", "emby", "search", "show one")["result"]["items"]
                 if h["kind"] == "show"]
        self.assertEqual([(s["title"], s["guids"]) for s in shows], [("Show One", {"tvdb": "200"})])
        self.assertEqual(self.ws("ws-backend", "jellyfin", "search", "no such title")["result"]["items"], [])

    def test_item_in_full_and_unknown_id(self):
        self.ws("ws-import")
        for name in SERVERS:
            remote = self.sim.item(name, "s1e2")
            items = self.ws("ws-backend", name, "item", remote["id"])["result"]["items"]
            self.assertEqual(len(items), 1, name)
            episode = items[0]
            self.assertEqual((episode["kind"], episode["title"], episode["season"], episode["episode"]),
                             ("episode", "Show One", 1, 2))
            # No ids of its own: matched through its show's tvdb id.
            self.assertEqual(episode["keys"], ["rtvdb://200/1/2"])
            self.assertEqual(episode["local"]["id"], self.item_by_title("Show One (2010) - 01x02")["id"])
        # A multi-episode file is one item per episode, like the import sees it.
        items = self.ws("ws-backend", "plex", "item", self.sim.item("plex", "s1e3")["id"])["result"]["items"]
        self.assertEqual([(i["episode"], i["multi_episode"]) for i in items], [(3, True), (4, True)])
        for name, missing in (("plex", "999999"), ("jellyfin", "0123456789abcdef0123456789abcdef"),
                              ("emby", "999999")):
            doc = self.ws("ws-backend", name, "item", missing, expect=1)
            self.assertEqual(doc["status"], "not_found")
            self.assertEqual(doc["result"]["items"], [])

    def test_unmatched_names_items_without_usable_ids(self):
        for name in SERVERS:
            doc = self.ws("ws-backend", name, "unmatched", expect=1)
            self.assertEqual(doc["status"], "differences")
            found = sorted((i["kind"], i["title"]) for i in doc["result"]["items"])
            self.assertEqual(found, [("episode", "Orphan Black"), ("movie", "Delta")], name)

    def test_mismatched_names_titles_unlike_their_files(self):
        for name in SERVERS:
            doc = self.ws("ws-backend", name, "mismatched", expect=1)
            found = sorted((i["kind"], i["title"]) for i in doc["result"]["items"])
            self.assertEqual(found, [("movie", "Thunderball"), ("show", "Orphan Black")], name)
            self.assertTrue(all(i["score"] < 50 for i in doc["result"]["items"]))
            self.assertGreaterEqual(doc["result"]["checked"], 9)
        # A lower threshold lets them pass.
        self.assertEqual(self.ws("ws-backend", "plex", "mismatched", "--threshold", "5")["result"]["items"], [])

    def test_stale_names_rows_whose_item_is_gone(self):
        self.ws("ws-import")
        for name in SERVERS:
            doc = self.ws("ws-backend", name, "stale")
            self.assertEqual(doc["result"]["items"], [], name)
        # Beta is deleted from Jellyfin.
        world = crafted()
        for movie in world["movies"]:
            if movie["key"] == "m2":
                movie["servers"] = ["plex", "emby"]
                del movie["state"]["jellyfin"]
        self.sim.stop()
        self.sim = Simulator(self.tmp, world)
        self.write_config()
        doc = self.ws("ws-backend", "jellyfin", "stale", expect=1)
        self.assertEqual([i["title"] for i in doc["result"]["items"]], ["Beta (2002)"])
        self.assertEqual(doc["result"]["remote"], len(self.sim.items("jellyfin")))
        self.assertEqual(self.ws("ws-backend", "emby", "stale")["result"]["items"], [])
        # The next import drops the record; nothing is stale any more.
        self.ws("ws-import")
        self.assertEqual(self.ws("ws-backend", "jellyfin", "stale")["result"]["items"], [])

    def test_errors(self):
        result = self.run_tool("ws-backend", "--json", "nosuch", "info")
        self.assertEqual(result.code, 64, result)
        self.assertIn("plex, jellyfin, emby", result.stderr)
        result = self.run_tool("ws-backend", "--json", "plex", "info", "-s", "plex")
        self.assertEqual(result.code, 64, result)
        self.write_config(jellyfin={"token": "wrong-token-abcdef123456"})
        for report in ("info", "users", "search", "stale"):
            args = [report, "x"] if report == "search" else [report]
            result = self.run_tool("ws-backend", "--json", "jellyfin", *args)
            self.assertEqual(result.code, 77, result)
            self.assertEqual(result.json["status"], "error")
            self.assertIn("jellyfin", result.stderr)
            self.assertNotIn("wrong-token-abcdef123456", result.stdout + result.stderr)
        self.sim.fault("plex", path="^/hubs/search$", body="malformed")
        result = self.run_tool("ws-backend", "--json", "plex", "search", "alpha")
        self.assertEqual(result.code, 76, result)
        self.assertIn("plex", result.stderr)


class PlexTvUsers(WsTestCase):
    world = copy.deepcopy(worlds.household())
    world["servers"]["plex"]["users"] += [
        {"id": "1001", "name": "kid", "token": "plex-kid-token-5678", "managed": True},
        {"id": "2002", "name": "friend", "token": "plex-friend-token-9012", "friend": True}]
    sim_args = ("--plextv",)

    def test_plex_users_include_plextv_people(self):
        users = self.ws("ws-backend", "plex", "users")["result"]["users"]
        found = {u["id"]: (u["name"], u["kind"], u["token_available"], u["configured"]) for u in users}
        self.assertEqual(found["1"][1:], ("owner", True, True))
        self.assertEqual(found["1001"], ("kid", "managed", True, False))
        self.assertEqual(found["2002"], ("friend", "friend", True, False))


class AllAgree(WsTestCase):
    world = agreeing()

    def test_clean_world_gives_empty_reports_and_exit_0(self):
        self.ws("ws-import")
        for name in SERVERS:
            for report in ("unmatched", "mismatched", "stale"):
                doc = self.ws("ws-backend", name, report)
                self.assertEqual(doc["status"], "ok")
                self.assertEqual(doc["result"]["items"], [], f"{name} {report}")
