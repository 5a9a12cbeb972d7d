# SPDX-License-Identifier: MIT
"""ws-backup and playlists: create writes each backend's video playlists beside its backup,
restore brings them back (plan first, then the writes) into the same or another kind of server,
a damaged playlists file is refused before any request, and prune and list know the files.

Playlists are made by the world file and changed through each server's own playlist API, the way
a user's app does it; every check of a server reads its end state (GET /__sim/playlists: each
entry with the world key of its item)."""
import gzip
import json
import os
import urllib.parse
import urllib.request

import worlds
from wstest import WsTestCase

FRIDAY = ["m3", "m1", "m5", "s1e1", "m2"]  # m5 (Epsilon) is on Plex only
SHOWS = ["s1e2", "s1e3", "s1e1", "s1e2"]   # s1e2 twice; s1e3 is one file holding S01E03-E04


def playlists_world():
    world = worlds.household()
    world["playlists"] = {
        "plex": [{"title": "Friday films", "items": FRIDAY},
                 {"title": "Shows", "items": SHOWS},
                 {"title": "Smart Mix", "smart": True, "items": ["m2"]}],
        "jellyfin": [{"title": "Weekend", "items": ["m2", "m6"]},
                     {"title": "Tunes", "media_type": "audio", "items": ["m1"]}],
        # Emby holds none: its playlists file says so.
    }
    return world


class ServerPlaylists:
    """What a user's app does, through the servers' real playlist endpoints (first user)."""

    def __init__(self, sim):
        self.sim = sim

    def _send(self, server, method, path, query=None):
        info = self.sim.info[server]
        url = info["url"] + path + ("?" + urllib.parse.urlencode(query) if query else "")
        header = "X-Plex-Token" if server == "plex" else "X-Emby-Token"
        req = urllib.request.Request(url, method=method,
                                     headers={"Accept": "application/json", header: info["token"]})
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()

    def all(self, server):
        return self.sim._call(server, "GET", "/__sim/playlists")

    def find(self, server, title):
        found = [p for p in self.all(server) if p["title"] == title]
        return found[0] if len(found) == 1 else None

    def keys(self, server, title):
        found = self.find(server, title)
        return None if found is None else [e["key"] for e in found["entries"]]

    def delete(self, server, title):
        playlist_id = self.find(server, title)["id"]
        self._send(server, "DELETE", f"/playlists/{playlist_id}" if server == "plex"
                   else f"/Items/{playlist_id}")

    def remove_entry(self, server, title, key):
        p = self.find(server, title)
        entry = next(e["entry_id"] for e in p["entries"] if e["key"] == key)
        if server == "plex":
            self._send(server, "DELETE", f"/playlists/{p['id']}/items/{entry}")
        else:
            self._send(server, "DELETE", f"/Playlists/{p['id']}/Items", {"entryIds": entry})

    def append(self, server, title, keys):
        assert server != "plex"
        p = self.find(server, title)
        ids = ",".join(self.sim.item(server, k)["id"] for k in keys)
        self._send(server, "POST", f"/Playlists/{p['id']}/Items",
                   {"ids": ids, "userId": self.sim.info[server]["user"]})


class BackupPlaylists(WsTestCase):
    world = playlists_world()

    def setUp(self):
        super().setUp()
        self.api = ServerPlaylists(self.sim)
        self.ws("ws-import")

    def backup(self, server, *args):
        (f,) = self.ws("ws-backup", "-s", server, *args)["result"]["files"]
        return f

    def restore(self, path, server, *args, expect=0):
        return self.ws("ws-backup", "restore", path, "-s", server, *args, expect=expect)["result"]

    def read_json(self, path):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt") as f:
            return json.load(f)

    def test_create_writes_each_backends_video_playlists_beside_its_backup(self):
        files = {f["backend"]: f for f in self.ws("ws-backup")["result"]["files"]}
        backups = os.path.join(self.state_dir, "backups")
        for server, f in files.items():
            with self.subTest(server=server):
                p = f["playlists"]
                self.assertEqual(p["status"], "ok", f)
                self.assertEqual(p["path"], f["path"].replace(".json.gz", ".playlists.json.gz"))
                self.assertEqual(os.path.dirname(p["path"]), backups)
                doc = self.read_json(p["path"])
                self.assertEqual((doc["watchstate_playlists"], doc["identity"], doc["backend"]),
                                 (1, "main", server))
                self.assertRegex(doc["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
                self.assertEqual(p["count"], len(doc["playlists"]))
                self.assertEqual(p["skipped"], 0)
        self.assertEqual(sorted(n for n in os.listdir(backups) if ".playlists." in n),
                         sorted(os.path.basename(f["playlists"]["path"]) for f in files.values()))

        # Plex: the smart playlist left out; the items in order, an item twice kept twice.
        plex = self.read_json(files["plex"]["playlists"]["path"])
        self.assertEqual([p["title"] for p in plex["playlists"]], ["Friday films", "Shows"])
        self.assertEqual(files["plex"]["playlists"]["items"], len(FRIDAY) + len(SHOWS))
        friday, shows = plex["playlists"][0]["items"], plex["playlists"][1]["items"]
        self.assertEqual([r["title"] for r in friday],
                         ["Gamma", "Alpha", "Epsilon", "1x1", "Beta"])
        self.assertEqual(friday[1]["type"], "movie")
        self.assertEqual(friday[1]["guids"]["guid_imdb"], "tt0000001")
        self.assertEqual(friday[1]["guids"]["guid_tmdb"], "101")
        self.assertEqual(friday[0]["guids"], {"guid_tmdb": "103"})
        self.assertEqual((friday[3]["type"], friday[3]["show"], friday[3]["season"],
                          friday[3]["episode"], friday[3]["parent"]),
                         ("episode", "Show One", 1, 1, {"guid_tvdb": "200"}))
        self.assertEqual([(r["season"], r["episode"]) for r in shows],
                         [(1, 2), (1, 3), (1, 1), (1, 2)])
        # Each record is exactly the layout of the backup of items.
        with gzip.open(files["plex"]["path"], "rt") as f:
            items = {json.dumps(r, sort_keys=True) for r in json.load(f)}
        for record in friday + shows:
            self.assertIn(json.dumps(record, sort_keys=True), items)

        # Jellyfin: the audio playlist left out. Emby: none, and a file saying so.
        jellyfin = self.read_json(files["jellyfin"]["playlists"]["path"])
        self.assertEqual([(p["title"], [r["title"] for r in p["items"]])
                          for p in jellyfin["playlists"]], [("Weekend", ["Beta", "Zeta"])])
        self.assertEqual(self.read_json(files["emby"]["playlists"]["path"])["playlists"], [])

    def test_custom_file_template_and_no_compress(self):
        f = self.backup("plex", "--file", "mine-{backend}.json", "--no-compress")
        self.assertTrue(f["path"].endswith("/mine-plex.json"), f)
        self.assertTrue(f["playlists"]["path"].endswith("/mine-plex.playlists.json"), f)
        self.assertEqual(len(self.read_json(f["playlists"]["path"])["playlists"]), 2)

    def test_dry_run_writes_no_playlists_file(self):
        f = self.backup("plex", "--dry-run")
        self.assertEqual((f["playlists"]["status"], f["playlists"]["count"]), ("ok", 2))
        backups = os.path.join(self.state_dir, "backups")
        self.assertEqual(os.listdir(backups) if os.path.isdir(backups) else [], [])

    def test_a_server_whose_playlists_cannot_be_read_is_still_backed_up(self):
        self.sim.fault("plex", path="^/playlists$", status=404, times=-1)
        f = self.backup("plex")  # exit 0: a warning, not a failure
        self.assertEqual(f["status"], "ok")
        self.assertTrue(os.path.exists(f["path"]))
        p = f["playlists"]
        self.assertEqual((p["status"], p["path"]), ("failed", None), p)
        self.assertIn("404", p["error"])
        names = os.listdir(os.path.join(self.state_dir, "backups"))
        self.assertEqual([n for n in names if "playlists" in n], [])

    def test_restore_brings_back_a_deleted_playlist_plan_first(self):
        path = self.backup("plex")["playlists"]["path"]
        self.api.delete("plex", "Friday films")
        self.assertIsNone(self.api.find("plex", "Friday films"))
        ids = {k: self.sim.item("plex", k)["id"] for k in FRIDAY}

        self.sim.clear_requests()
        plan = self.restore(path, "plex")
        self.assertEqual(self.sim.writes("plex"), 0)  # plan only
        self.assertIsNone(self.api.find("plex", "Friday films"))
        self.assertEqual((plan["kind"], plan["execute"], plan["failed"]), ("playlists", False, 0))
        self.assertNotIn("marked_played", plan)  # no play-state fields
        friday, shows = plan["playlists"]
        self.assertEqual((friday["title"], friday["action"], friday["id"], friday["items"],
                          friday["matched"], friday["missing"]),
                         ("Friday films", "create", "", 5, 5, []))
        self.assertEqual(friday["changes"], [{"op": "create", "title": "Friday films",
                                              "items": [ids[k] for k in FRIDAY],
                                              "status": "planned"}])
        self.assertEqual((shows["action"], shows["changes"]), ("unchanged", []))
        self.assertEqual(shows["id"], self.api.find("plex", "Shows")["id"])

        done = self.restore(path, "plex", "--execute")
        self.assertEqual(done["playlists"][0]["changes"][0]["status"], "ok")
        self.assertEqual(done["playlists"][0]["id"], self.api.find("plex", "Friday films")["id"])
        self.assertEqual(self.api.keys("plex", "Friday films"), FRIDAY)
        self.assertEqual(self.api.keys("plex", "Shows"), SHOWS)
        self.assertTrue(self.api.find("plex", "Smart Mix")["smart"])  # left alone

        self.sim.clear_requests()
        again = self.restore(path, "plex", "--execute")
        self.assertEqual([p["action"] for p in again["playlists"]], ["unchanged", "unchanged"])
        self.assertEqual(self.sim.writes("plex"), 0)

    def test_restore_undoes_edits_with_the_fewest_writes(self):
        path = self.backup("jellyfin")["playlists"]["path"]
        # Beta removed, Alpha added: [m6, m1] instead of [m2, m6].
        self.api.remove_entry("jellyfin", "Weekend", "m2")
        self.api.append("jellyfin", "Weekend", ["m1"])
        self.assertEqual(self.api.keys("jellyfin", "Weekend"), ["m6", "m1"])
        held = self.api.find("jellyfin", "Weekend")
        alpha_entry = held["entries"][1]["entry_id"]

        self.sim.clear_requests()
        plan = self.restore(path, "jellyfin")
        self.assertEqual(self.sim.writes("jellyfin"), 0)
        (weekend,) = plan["playlists"]
        self.assertEqual((weekend["action"], weekend["id"]), ("update", held["id"]))
        ops = weekend["changes"]
        self.assertEqual([c["op"] for c in ops], ["remove", "add", "move"], ops)
        self.assertEqual(ops[0]["entries"], [alpha_entry])
        self.assertEqual(ops[1]["items"], [self.sim.item("jellyfin", "m2")["id"]])
        self.assertEqual({c["status"] for c in ops}, {"planned"})

        done = self.restore(path, "jellyfin", "--execute")
        self.assertEqual([c["status"] for c in done["playlists"][0]["changes"]], ["ok"] * 3)
        self.assertEqual(self.sim.writes("jellyfin"), 3)
        self.assertEqual(self.api.keys("jellyfin", "Weekend"), ["m2", "m6"])
        self.assertEqual(self.api.find("jellyfin", "Weekend")["id"], held["id"])

    def test_a_plex_backup_restores_into_jellyfin_by_ids(self):
        path = self.backup("plex")["playlists"]["path"]
        done = self.restore(path, "jellyfin", "--execute")
        friday, shows = done["playlists"]
        # Epsilon is not on Jellyfin: reported, never replaced by a guess.
        self.assertEqual((friday["action"], friday["matched"], friday["missing"]),
                         ("create", 4, ["Epsilon (2005)"]))
        self.assertEqual(self.api.keys("jellyfin", "Friday films"), ["m3", "m1", "s1e1", "m2"])
        # Episodes through their series' ids + season + episode (s1e2 has no ids of its own).
        self.assertEqual((shows["action"], shows["missing"]), ("create", []))
        self.assertEqual(self.api.keys("jellyfin", "Shows"), SHOWS)
        self.assertEqual([p["title"] for p in self.api.all("jellyfin")],
                         ["Weekend", "Tunes", "Friday films", "Shows"])
        # The state database is left alone: ws-playlist then takes them for new playlists on
        # Jellyfin and carries them on (here: to Emby, without Epsilon).
        self.ws("ws-playlist")
        self.assertEqual(self.api.keys("emby", "Friday films"), ["m3", "m1", "s1e1", "m2"])

    def test_a_playlist_none_of_whose_items_is_there_is_skipped(self):
        path = self.backup("plex")["playlists"]["path"]
        doc = self.read_json(path)
        doc["playlists"] = [{"title": "Plex only", "items": doc["playlists"][0]["items"][2:3]},
                            {"title": "weekend ", "items": doc["playlists"][0]["items"][4:5]}]
        edited = os.path.join(self.tmp, "edited.json")
        with open(edited, "w") as f:
            json.dump(doc, f)
        self.sim.clear_requests()
        done = self.restore(edited, "jellyfin", "--execute")
        only, weekend = done["playlists"]
        self.assertEqual((only["action"], only["missing"], only["changes"]),
                         ("skipped", ["Epsilon (2005)"], []))
        self.assertIn("none of its 1 items", only["reason"])
        # The same name (blanks and case aside) is the same playlist, its title kept.
        self.assertEqual(weekend["action"], "update")
        self.assertEqual(self.api.keys("jellyfin", "Weekend"), ["m2"])
        self.assertIsNone(self.api.find("jellyfin", "weekend "))
        self.assertIsNone(self.api.find("jellyfin", "Plex only"))

    def test_a_damaged_playlists_file_exits_65_and_sends_nothing(self):
        good = self.backup("plex")["playlists"]["path"]
        with open(good, "rb") as f:
            data = f.read()
        truncated = os.path.join(self.tmp, "main.plex.20240101.playlists.json.gz")
        with open(truncated, "wb") as f:
            f.write(data[: len(data) // 2])
        doc = self.read_json(good)
        del doc["playlists"][1]["items"][2]["type"]
        bad_item = os.path.join(self.tmp, "bad-item.json")
        with open(bad_item, "w") as f:
            json.dump(doc, f)
        self.api.delete("plex", "Friday films")
        self.sim.clear_requests()
        for path, where in ((truncated, "corrupt compressed data"),
                            (bad_item, "playlist 2 item 3: 'type' is missing")):
            with self.subTest(path=os.path.basename(path)):
                result = self.run_tool("ws-backup", "--json", "restore", path, "-s", "plex",
                                       "--execute")
                self.assertEqual(result.code, 65, result)
                self.assertEqual(result.json["errors"][0]["message"], f"{path}: {where}")
        self.assertEqual(self.sim.requests("plex"), [])  # checked before the first request
        self.assertIsNone(self.api.find("plex", "Friday films"))

    def test_list_and_prune_know_playlists_files(self):
        self.ws("ws-backup")
        backups = os.path.join(self.state_dir, "backups")
        old = os.path.join(backups, "main.plex.20200101.playlists.json")
        with open(old, "w") as f:
            json.dump({"watchstate_playlists": 1, "identity": "main", "backend": "plex",
                       "created_at": "2020-01-01T06:00:00Z",
                       "playlists": [{"title": "Old", "items": []}]}, f)
        listed = {os.path.basename(f["path"]): f for f in self.ws("ws-backup", "list")["result"]["files"]}
        self.assertEqual(len(listed), 7)
        entry = listed["main.plex.20200101.playlists.json"]
        self.assertEqual((entry["kind"], entry["identity"], entry["backend"], entry["date"],
                          entry["records"]), ("playlists", "main", "plex", "2020-01-01", 1))
        kinds = sorted(f["kind"] for f in listed.values())
        self.assertEqual(kinds, ["items"] * 3 + ["playlists"] * 4)
        text = self.run_tool("ws-backup", "list").stdout
        self.assertRegex(text, r"main +plex +2020-01-01 playlists +\d+ +1  main.plex.20200101.playlists.json")

        pruned = self.ws("ws-backup", "prune")["result"]
        self.assertEqual(pruned["removed"], [old])
        self.assertEqual(pruned["kept"], 6)
        self.assertFalse(os.path.exists(old))
