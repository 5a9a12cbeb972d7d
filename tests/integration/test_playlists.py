# SPDX-License-Identifier: MIT
"""ws-playlist against the simulated Plex, Jellyfin and Emby servers.

Playlists are made and edited the way a user's app does it, through each server's own playlist
API, and every test judges the servers' end state (GET /__sim/playlists: each entry with the
world key of its item), never the tool's database: created where missing, edits carried (items,
order, title), the newest edit winning a conflict, items a server lacks reported and never
guessed, deletions, dry runs planning exactly the real writes, a failing server not stopping
the others, and a second run without changes sending nothing."""
import json
import time
import unittest
import urllib.parse
import urllib.request

import worlds
from wstest import WsTestCase

SERVERS = ("plex", "jellyfin", "emby")


def playlist_world():
    """The household world plus two more films on every server and an episode on all three."""
    world = worlds.household()
    world["movies"] += [
        {"key": "m7", "title": "Eta", "year": 2007, "added_at": 1600000000,
         "ids": {"imdb": "tt0000007"}},
        {"key": "m8", "title": "Theta", "year": 2008, "added_at": 1600000000,
         "ids": {"imdb": "tt0000008", "tmdb": "108"}},
    ]
    return world


class PlaylistApi:
    """A user's app: the servers' real playlist endpoints, as the first user of each."""

    def __init__(self, sim):
        self.sim = sim

    def _send(self, server, method, path, query=None, body=None):
        info = self.sim.info[server]
        url = info["url"] + path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {"Accept": "application/json"}
        if server == "plex":
            headers["X-Plex-Token"] = info["token"]
        else:
            headers["X-Emby-Token"] = info["token"]
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read()
            return json.loads(text) if text else None

    def item_id(self, server, key):
        return self.sim.item(server, key)["id"]

    def playlists(self, server):
        """[{id, title, smart, keys: [world keys in order], entries: [entry ids]}]"""
        out = []
        for p in self.sim._call(server, "GET", "/__sim/playlists"):
            out.append({"id": str(p["id"]), "title": p["title"], "smart": p.get("smart", False),
                        "keys": [e["key"] for e in p["entries"]],
                        "entries": [str(e["entry_id"]) for e in p["entries"]]})
        return out

    def find(self, server, title):
        found = [p for p in self.playlists(server) if p["title"] == title]
        return found[0] if len(found) == 1 else None

    def create(self, server, title, keys):
        ids = [self.item_id(server, k) for k in keys]
        if server == "plex":
            machine = self.sim.info["plex"]["server_id"]
            uri = f"server://{machine}/com.plexapp.plugins.library/library/metadata/{','.join(ids)}"
            doc = self._send("plex", "POST", "/playlists",
                             {"type": "video", "title": title, "smart": "0", "uri": uri})
            return str(doc["MediaContainer"]["Metadata"][0]["ratingKey"])
        user = self.sim.info[server]["user"]
        if server == "jellyfin":
            doc = self._send(server, "POST", "/Playlists", body={
                "Name": title, "Ids": ids, "UserId": user, "MediaType": "Video"})
        else:
            doc = self._send(server, "POST", "/Playlists", {
                "Name": title, "Ids": ",".join(ids), "MediaType": "Video", "UserId": user})
        return str(doc["Id"])

    def add(self, server, playlist_id, keys):
        ids = [self.item_id(server, k) for k in keys]
        if server == "plex":
            machine = self.sim.info["plex"]["server_id"]
            uri = f"server://{machine}/com.plexapp.plugins.library/library/metadata/{','.join(ids)}"
            self._send("plex", "PUT", f"/playlists/{playlist_id}/items", {"uri": uri})
        else:
            user = self.sim.info[server]["user"]
            names = ("ids", "userId") if server == "jellyfin" else ("Ids", "UserId")
            self._send(server, "POST", f"/Playlists/{playlist_id}/Items",
                       {names[0]: ",".join(ids), names[1]: user})

    def remove(self, server, playlist_id, entry_id):
        if server == "plex":
            self._send("plex", "DELETE", f"/playlists/{playlist_id}/items/{entry_id}")
        else:
            name = "entryIds" if server == "jellyfin" else "EntryIds"
            self._send(server, "DELETE", f"/Playlists/{playlist_id}/Items", {name: entry_id})

    def move_to_front(self, server, playlist_id, entry_id):
        if server == "plex":
            self._send("plex", "PUT", f"/playlists/{playlist_id}/items/{entry_id}/move")
        else:
            self._send(server, "POST", f"/Playlists/{playlist_id}/Items/{entry_id}/Move/0")

    def rename(self, server, playlist_id, title):
        if server == "plex":
            self._send("plex", "PUT", f"/playlists/{playlist_id}", {"title": title})
        elif server == "jellyfin":
            self._send(server, "POST", f"/Playlists/{playlist_id}", body={"Name": title})
        else:
            user = self.sim.info[server]["user"]
            item = self._send(server, "GET", f"/Users/{user}/Items/{playlist_id}")
            item["Name"] = title
            self._send(server, "POST", f"/Items/{playlist_id}", body=item)

    def delete(self, server, playlist_id):
        if server == "plex":
            self._send("plex", "DELETE", f"/playlists/{playlist_id}")
        else:
            self._send(server, "DELETE", f"/Items/{playlist_id}")


class PlaylistCase(WsTestCase):
    world = playlist_world()

    def setUp(self):
        super().setUp()
        self.api = PlaylistApi(self.sim)
        self.ws("ws-import")

    def playlist_run(self, *args, expect=0):
        return self.ws("ws-playlist", *args, expect=expect)["result"]["identities"]["main"]

    def keys_everywhere(self, title):
        return {s: (self.api.find(s, title) or {}).get("keys") for s in SERVERS}

    def writes(self, doc):
        return {name: b["writes"] for name, b in doc["backends"].items()}

    def assert_second_run_is_quiet(self):
        before = {s: self.api.playlists(s) for s in SERVERS}
        doc = self.playlist_run()
        self.assertEqual(self.writes(doc), {s: 0 for s in SERVERS}, doc)
        for p in doc["playlists"]:
            self.assertEqual(p["action"], "unchanged", p)
        self.assertEqual({s: self.api.playlists(s) for s in SERVERS}, before)


class Playlists(PlaylistCase):

    def test_a_new_playlist_reaches_every_server_in_order_and_a_second_run_sends_nothing(self):
        # m5 is only on Plex: reported missing elsewhere, never replaced by a guess.
        self.api.create("plex", "Friday films", ["m3", "m1", "m5", "s1e1", "m2"])
        doc = self.playlist_run()
        self.assertEqual(self.keys_everywhere("Friday films"), {
            "plex": ["m3", "m1", "m5", "s1e1", "m2"],
            "jellyfin": ["m3", "m1", "s1e1", "m2"],
            "emby": ["m3", "m1", "s1e1", "m2"]})
        (p,) = doc["playlists"]
        self.assertEqual((p["action"], p["source"], p["items"], p["unresolved"]),
                         ("created", "plex", 5, 0))
        m5 = self.item_by_title("Epsilon (2005)")["id"]
        for t in p["targets"]:
            self.assertEqual(t["missing"], [m5], t)
            self.assertEqual([c["op"] for c in t["changes"]], ["create"], t)
            self.assertEqual(t["changes"][0]["status"], "ok")
        self.assertEqual(self.writes(doc), {"plex": 0, "jellyfin": 1, "emby": 1})
        self.assert_second_run_is_quiet()

    def test_an_edit_on_jellyfin_reaches_plex_and_emby(self):
        self.api.create("plex", "Weekend", ["m1", "m2", "m3", "m7"])
        self.playlist_run()
        jf = self.api.find("jellyfin", "Weekend")
        # Remove Beta, add Zeta (not on Plex) and Theta, then bring Theta to the front.
        self.api.remove("jellyfin", jf["id"], jf["entries"][1])
        self.api.add("jellyfin", jf["id"], ["m6", "m8"])
        theta = self.api.find("jellyfin", "Weekend")["entries"][-1]
        self.api.move_to_front("jellyfin", jf["id"], theta)
        self.assertEqual(self.api.find("jellyfin", "Weekend")["keys"],
                         ["m8", "m1", "m3", "m7", "m6"])
        doc = self.playlist_run()
        self.assertEqual(self.keys_everywhere("Weekend"), {
            "plex": ["m8", "m1", "m3", "m7"],
            "jellyfin": ["m8", "m1", "m3", "m7", "m6"],
            "emby": ["m8", "m1", "m3", "m7", "m6"]})
        (p,) = doc["playlists"]
        self.assertEqual((p["action"], p["source"], p["conflict"]), ("updated", "jellyfin", False))
        plex = next(t for t in p["targets"] if t["backend"] == "plex")
        self.assertEqual(plex["missing"], [self.item_by_title("Zeta (2006)")["id"]])
        self.assertEqual(self.writes(doc)["jellyfin"], 0)  # the edited copy is never written
        self.assert_second_run_is_quiet()

    def test_edits_on_two_servers_resolve_to_the_newer_edit(self):
        self.api.create("emby", "Mix", ["m1", "m2", "m3"])
        self.playlist_run()
        # Plex's edit has its own time (updatedAt); Jellyfin reports none, so its edit is dated
        # by the run that sees it, which is later: Jellyfin's list wins everywhere.
        plex = self.api.find("plex", "Mix")
        self.api.remove("plex", plex["id"], plex["entries"][0])
        jf = self.api.find("jellyfin", "Mix")
        self.api.add("jellyfin", jf["id"], ["m7"])
        time.sleep(1.1)  # the run comes after the edits (times are whole seconds)
        doc = self.playlist_run()
        (p,) = doc["playlists"]
        self.assertTrue(p["conflict"], p)
        self.assertEqual(sorted(p["changed_on"]), ["jellyfin", "plex"])
        self.assertEqual(p["source"], "jellyfin")
        self.assertEqual(set(map(tuple, self.keys_everywhere("Mix").values())),
                         {("m1", "m2", "m3", "m7")})
        self.assert_second_run_is_quiet()

    def test_a_rename_is_followed_by_id_and_carried(self):
        self.api.create("jellyfin", "Old name", ["m1", "m2"])
        self.playlist_run()
        emby = self.api.find("emby", "Old name")
        self.api.rename("emby", emby["id"], "New name")
        doc = self.playlist_run()
        for s in SERVERS:
            titles = [p["title"] for p in self.api.playlists(s)]
            self.assertEqual(titles, ["New name"], s)  # renamed, not a second playlist
        (p,) = doc["playlists"]
        for t in p["targets"]:
            self.assertEqual([c["op"] for c in t["changes"]], ["rename"], t)
        self.assert_second_run_is_quiet()

    def test_a_deleted_playlist_stays_deleted_there_and_kept_elsewhere_unless_delete(self):
        self.api.create("plex", "Keep", ["m1"])
        self.api.create("plex", "Drop", ["m2"])
        self.playlist_run()
        self.api.delete("jellyfin", self.api.find("jellyfin", "Keep")["id"])
        doc = self.playlist_run()
        keep = next(p for p in doc["playlists"] if p["title"] == "Keep")
        self.assertEqual((keep["action"], keep["deleted_on"]), ("kept", ["jellyfin"]))
        self.assertIsNone(self.api.find("jellyfin", "Keep"))  # not re-created
        self.assertIsNotNone(self.api.find("plex", "Keep"))
        self.assert_second_run_is_quiet()

        self.api.delete("emby", self.api.find("emby", "Drop")["id"])
        doc = self.playlist_run("--delete")
        drop = next(p for p in doc["playlists"] if p["title"] == "Drop")
        self.assertEqual(drop["action"], "deleted")
        for s in SERVERS:
            self.assertIsNone(self.api.find(s, "Drop"), s)
        self.assertIsNotNone(self.api.find("plex", "Keep"))  # --delete only follows deletions
        self.assert_second_run_is_quiet()

    def test_a_dry_run_plans_exactly_the_writes_of_the_real_run(self):
        self.api.create("plex", "Plan", ["m1", "m2", "m3"])
        self.playlist_run()
        emby = self.api.find("emby", "Plan")
        self.api.remove("emby", emby["id"], emby["entries"][0])
        self.api.add("emby", emby["id"], ["m7", "m8"])
        self.api.move_to_front("emby", emby["id"], self.api.find("emby", "Plan")["entries"][-1])
        before = {s: self.api.playlists(s) for s in SERVERS}

        def changes(doc):
            return {t["backend"]: [{k: v for k, v in c.items() if k != "status"}
                                   for c in t["changes"]]
                    for p in doc["playlists"] for t in p["targets"]}

        planned = self.playlist_run("--dry-run")
        self.assertEqual({s: self.api.playlists(s) for s in SERVERS}, before)
        for t in planned["playlists"][0]["targets"]:
            self.assertTrue(all(c["status"] == "planned" for c in t["changes"]), t)
        done = self.playlist_run()
        self.assertEqual(changes(planned), changes(done))
        self.assertEqual(self.writes(planned), self.writes(done))
        self.assertEqual(set(map(tuple, self.keys_everywhere("Plan").values())),
                         {("m8", "m2", "m3", "m7")})
        self.assert_second_run_is_quiet()

    def test_a_failing_server_does_not_stop_the_others(self):
        self.api.create("plex", "Sturdy", ["m1", "m2"])
        self.sim.fault("jellyfin", method="POST", path="^/Playlists$", status=500, times=-1)
        doc = self.playlist_run(expect=1)
        self.assertEqual(self.keys_everywhere("Sturdy")["emby"], ["m1", "m2"])
        self.assertIsNone(self.api.find("jellyfin", "Sturdy"))
        self.assertEqual(doc["backends"]["jellyfin"]["status"], "failed")
        self.sim.clear_faults()
        self.playlist_run()
        self.assertEqual(self.keys_everywhere("Sturdy")["jellyfin"], ["m1", "m2"])
        self.assert_second_run_is_quiet()

    def test_an_unreadable_server_concludes_nothing(self):
        self.api.create("plex", "Steady", ["m1", "m2"])
        self.playlist_run()
        self.sim.fault("emby", path="Playlist", status=503, times=-1)
        doc = self.playlist_run(expect=1)
        (p,) = doc["playlists"]
        self.assertEqual(p["deleted_on"], [])
        self.sim.clear_faults()
        self.assert_second_run_is_quiet()

    def test_refused_tokens_and_bad_replies_give_the_documented_exit_codes(self):
        self.api.create("plex", "Codes", ["m1"])
        self.sim.fault("emby", path=".*", status=401, times=-1)
        doc = self.ws("ws-playlist", expect=1)
        (error,) = doc["errors"]
        self.assertEqual((error["backend"], error["kind"]), ("emby", "auth"))
        self.assertEqual(self.keys_everywhere("Codes")["jellyfin"], ["m1"])
        self.sim.clear_faults()
        for server in SERVERS:
            self.sim.fault(server, path=".*", status=401, times=-1)
        self.ws("ws-playlist", expect=77)
        self.sim.clear_faults()
        for server in SERVERS:
            self.sim.fault(server, path="[Pp]laylists|[Ii]tems", body="malformed", times=-1)
        self.ws("ws-playlist", expect=76)
        self.sim.clear_faults()
        self.playlist_run()
        self.assertEqual(set(map(tuple, self.keys_everywhere("Codes").values())), {("m1",)})
        self.assert_second_run_is_quiet()

    def test_disabled_and_read_only_backends(self):
        self.write_config(emby={"playlists": {"enabled": False}},
                          jellyfin={"export": {"enabled": False}})
        self.api.create("plex", "Only plex", ["m1"])
        self.api.create("jellyfin", "From jellyfin", ["m2"])
        doc = self.playlist_run()
        self.assertNotIn("emby", doc["backends"])
        self.assertEqual(self.api.playlists("emby"), [])
        self.assertIsNone(self.api.find("jellyfin", "Only plex"))  # read-only: never written
        self.assertEqual(self.keys_everywhere("From jellyfin")["plex"], ["m2"])
        self.assertEqual(self.writes(doc)["jellyfin"], 0)


def world_with_special_playlists():
    world = playlist_world()
    world["playlists"] = {
        "plex": [{"title": "Queue", "smart": True, "items": ["m1", "m2"]},
                 {"title": "Twice", "items": ["m1", "m2", "m1"], "updated_at": 1700000000}],
        "jellyfin": [{"title": "Songs", "media_type": "audio", "items": ["m3"]},
                     {"title": "Queue", "items": ["m3", "m1"]}],
    }
    return world


class SpecialPlaylists(PlaylistCase):
    world = world_with_special_playlists()

    def test_smart_and_audio_playlists_are_left_alone_and_repeats_are_kept(self):
        before_plex = self.api.find("plex", "Queue")
        doc = self.playlist_run()
        reasons = {(s["backend"], s["title"]): s["reason"] for s in doc["skipped"]}
        self.assertEqual(reasons, {("plex", "Queue"): "smart playlist",
                                   ("jellyfin", "Songs"): "not a video playlist"})
        # No second "Queue" beside Plex's smart one; Emby gets Jellyfin's.
        self.assertEqual([p["title"] for p in self.api.playlists("plex")].count("Queue"), 1)
        self.assertEqual(self.api.find("plex", "Queue"), before_plex)
        self.assertEqual(self.keys_everywhere("Queue")["emby"], ["m3", "m1"])
        self.assertIsNone(self.api.find("emby", "Songs"))
        # An item listed twice stays listed twice.
        self.assertEqual(self.keys_everywhere("Twice"), {s: ["m1", "m2", "m1"] for s in SERVERS})
        self.assert_second_run_is_quiet()


class GeneratedPlaylists(PlaylistCase):
    """A generated messy world (shared episode ids, conflicting ids, 4K copies, items without
    ids) with playlists on every server, some the same, some edited differently per server."""
    world = None
    sim_args = ("--items", "1500", "--seed", "5", "--playlists", "40")

    def test_a_messy_world_converges_without_a_guess_and_a_second_run_sends_nothing(self):
        truth = {e["key"]: e for e in self.sim._call("plex", "GET", "/__sim/truth")}

        def canon(key):  # a 4K copy stands for the film it copies
            return truth[key].get("copy_of", key)

        doc = self.playlist_run()
        for p in doc["playlists"]:
            if not p["source"]:
                continue
            source = [canon(k) for k in self.api.find(p["source"], p["title"])["keys"]]
            for t in p["targets"]:
                held = self.api.find(t["backend"], p["title"])
                if held is None:
                    self.assertTrue(any(n.startswith(t["backend"]) for n in p["not_on"]), p)
                    continue
                got = [canon(k) for k in held["keys"]]
                # What a target holds is the source's list, in order, less what it lacks.
                it = iter(source)
                self.assertTrue(all(k in it for k in got), (p["title"], t["backend"], got, source))
                self.assertEqual(len(got) + len(t["missing"]), p["items"], (p, got))
        titles = {p["title"] for p in doc["playlists"]}
        self.assertGreaterEqual(len(titles), 40)
        # The world holds a list with an entry the state database cannot resolve (an item
        # without usable ids): the next run must not remove it from the copy it came from.
        self.assertTrue(any(p["unresolved"] for p in doc["playlists"]), doc["playlists"])
        self.assertEqual({(s["backend"], s["reason"]) for s in doc["skipped"]},
                         {("plex", "smart playlist"), ("jellyfin", "not a video playlist")})
        self.assert_second_run_is_quiet()



def merge_world():
    """Alpha on Plex and Jellyfin by its IMDb id; on Emby, and in Jellyfin's 4K library, by its
    TMDb id only: two rows, until Emby learns the IMDb id. Beta everywhere."""
    return worlds.films([
        {"key": "a", "title": "Alpha", "year": 2001, "added_at": 1600000000,
         "ids": {"imdb": "tt0000001"}, "servers": ["plex", "jellyfin"]},
        {"key": "ae", "title": "Alpha", "year": 2001, "added_at": 1600000000,
         "ids": {"tmdb": "101"}, "servers": ["emby"]},
        {"key": "a4k", "title": "Alpha", "year": 2001, "added_at": 1600000000,
         "ids": {"tmdb": "101"}, "library": "4k", "servers": ["jellyfin"]},
        {"key": "b", "title": "Beta", "year": 2002, "added_at": 1600000000,
         "ids": {"imdb": "tt0000002"}},
    ])


class PlaylistAfterMerge(PlaylistCase):
    world = merge_world()

    def test_a_list_keeps_an_item_whose_row_merged_while_its_source_is_unreadable(self):
        self.api.create("plex", "Marathon", ["a", "b"])
        self.playlist_run()
        self.assertEqual(self.keys_everywhere("Marathon"),
                         {"plex": ["a", "b"], "jellyfin": ["a", "b"], "emby": ["b"]})
        # Emby learns Alpha's IMDb id: the row Plex's Alpha was on joins Emby's (which Jellyfin's
        # 4K copy reports too), so the list's Alpha is another row now.
        self.sim._call("emby", "POST", "/__sim/ids", {"key": "ae", "ids": {"imdb": "tt0000001", "tmdb": "101"}})
        doc = self.ws("ws-import")
        self.assertEqual(doc["result"]["identities"]["main"]["backends"]["emby"]["merged"], 1)
        # Plex, where the list came from, cannot be read: nothing was edited, the list stands.
        # Jellyfin keeps its Alpha, and Emby, which has Alpha on that row now, gets it.
        self.sim.fault("plex", path="[Pp]laylist", status=503, times=-1)
        self.playlist_run(expect=1)
        self.assertEqual(self.keys_everywhere("Marathon")["jellyfin"], ["a", "b"])
        self.assertEqual(self.keys_everywhere("Marathon")["emby"], ["ae", "b"])
        self.sim.clear_faults()
        self.playlist_run()
        self.assertEqual(self.keys_everywhere("Marathon"),
                         {"plex": ["a", "b"], "jellyfin": ["a", "b"], "emby": ["ae", "b"]})
        self.assert_second_run_is_quiet()

if __name__ == "__main__":
    unittest.main()
