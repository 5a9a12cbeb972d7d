# SPDX-License-Identifier: MIT
"""What each tool's JSON says a backend cost: `requests` and `bytes_received`.

Judged against the simulator, never against the tool: `requests` is the number of requests the
server logged, and `bytes_received` lies between what the server sends for the same GETs when
asked to compress (the least the tool can have received) and what it sends uncompressed plus
room for every answer's status and header lines (the most). A backend whose connection is
refused received nothing (0 bytes for its attempts); a backend the export never contacts (its
import failed) reports 0 requests and 0 bytes. Plex listings leave out what the suite does not
read (excludeFields / excludeElements), which the simulator honours."""
import socket
import unittest
import urllib.request

import worlds
from wstest import WsTestCase

SERVERS = ("plex", "jellyfin", "emby")
# Room per logged request for what replaying its GET body does not cover: the status line and
# headers of a GET's answer; the whole answer of a write (a created playlist, UserItemDataDto).
GET_SLACK = 2048
WRITE_SLACK = 8192


def traffic_world():
    """The household world with a playlist on Plex, so that ws-playlist and backups read one."""
    world = worlds.household()
    world["playlists"] = {"plex": [{"title": "Weekend", "items": ["m1", "s1e1", "m3"],
                                    "updated_at": 1700000000}]}
    return world


class Traffic(WsTestCase):
    world = traffic_world()

    # --- the simulator's side ----------------------------------------------------------------
    def log(self):
        """Every server's request log (read before anything is replayed: replays are logged)."""
        return {s: self.sim.requests(s) for s in SERVERS}

    def replay(self, server, entries, compressed):
        """Bytes of the bodies `server` answers the logged GETs with, asked as the tool asks
        (JSON, its token), gzip-compressed or not. Replays are logged by the server too."""
        info = self.sim.info[server]
        total = 0
        for entry in entries:
            if entry["method"] != "GET":
                continue
            query = entry["query"].replace("REDACTED", info["token"])
            url = info["url"] + entry["path"] + ("?" + query if query else "")
            headers = {"Accept": "application/json"}
            headers["X-Plex-Token" if server == "plex" else "X-Emby-Token"] = info["token"]
            if compressed:
                headers["Accept-Encoding"] = "gzip, deflate"
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                        timeout=30) as resp:
                total += len(resp.read())  # as sent: urllib does not decode
        return total

    def bounds(self, server, entries):
        """(least, most) bytes a client can have received for the logged requests."""
        least = self.replay(server, entries, compressed=True)
        most = self.replay(server, entries, compressed=False)
        most += sum(GET_SLACK if e["method"] == "GET" else WRITE_SLACK for e in entries)
        return least, most

    def assert_bytes_follow_requests(self, figures):
        """A backend's figures name bytes_received right after requests."""
        keys = list(figures)
        self.assertEqual(keys[keys.index("requests") + 1], "bytes_received")

    def assert_traffic(self, server, entries, requests, received, writes_since=False):
        """`requests` and `received` (one run's figures for `server`) match its log `entries`.
        `writes_since`: the run wrote, so the replayed answers may differ slightly (a played
        flag, a date): the lower bound gets 10 % of room."""
        self.assertEqual(requests, len(entries), f"{server}: {entries}")
        least, most = self.bounds(server, entries)
        if writes_since:
            least = least * 9 // 10
        self.assertGreater(received, 0, server)
        self.assertGreaterEqual(received, least, server)
        self.assertLessEqual(received, most, server)

    # --- the tools -----------------------------------------------------------------------------
    def test_import_reports_the_bytes_of_every_listing(self):
        self.sim.clear_requests()
        doc = self.ws("ws-import")
        log = self.log()
        backends = doc["result"]["identities"]["main"]["backends"]
        for server in SERVERS:
            with self.subTest(server=server):
                b = backends[server]
                self.assert_bytes_follow_requests(b)
                self.assertIsInstance(b["bytes_received"], int)
                self.assertGreater(b["requests"], 3)  # page_size 2: several pages
                self.assertTrue(any("/all" in e["path"] or "Items" in e["path"]
                                    for e in log[server]))
                self.assertEqual(b["requests"], len(log[server]))
                # At least every listing as the server sends it compressed.
                self.assert_traffic(server, log[server], b["requests"], b["bytes_received"])

    def test_plex_listings_leave_out_what_is_not_read(self):
        self.sim.clear_requests()
        self.ws("ws-import", "-s", "plex")
        listings = [e for e in self.sim.requests("plex") if e["path"].endswith("/all")]
        self.assertTrue(listings)
        for entry in listings:
            self.assertIn("excludeFields=summary,tagline", entry["query"])
            self.assertIn("excludeElements=Genre", entry["query"])
        # The simulator honours both: the same listing without them is larger.
        entry = [e for e in listings if "type=1" in e["query"]
                 and "X-Plex-Container-Start=0&X-Plex-Container-Size=2" in e["query"]][0]
        info = self.sim.info["plex"]
        query = entry["query"].replace("REDACTED", info["token"])
        full_query = "&".join(p for p in query.split("&") if not p.startswith("exclude"))

        def body(q):
            req = urllib.request.Request(info["url"] + entry["path"] + "?" + q,
                                         headers={"Accept": "application/json",
                                                  "X-Plex-Token": info["token"]})
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.read().decode()
        trimmed, full = body(query), body(full_query)
        self.assertNotIn('"summary"', trimmed)
        self.assertIn('"summary"', full)
        self.assertLess(len(trimmed), len(full))

    def test_export_reports_the_bytes_of_reads_and_writes(self):
        self.ws("ws-import")
        self.sim.clear_requests()
        doc = self.ws("ws-export")
        log = self.log()
        backends = doc["result"]["identities"]["main"]["backends"]
        self.assertGreater(sum(b["marked_played"] for b in backends.values()), 0)
        for server in SERVERS:
            with self.subTest(server=server):
                b = backends[server]
                self.assert_bytes_follow_requests(b)
                self.assert_traffic(server, log[server], b["requests"], b["bytes_received"],
                                    writes_since=True)

    def test_sync_reports_both_phases(self):
        self.sim.clear_requests()
        doc = self.ws("ws-sync")
        log = self.log()
        imported = doc["result"]["import"]["identities"]["main"]["backends"]
        exported = doc["result"]["export"]["identities"]["main"]["backends"]
        for server in SERVERS:
            with self.subTest(server=server):
                i, e = imported[server], exported[server]
                self.assertGreater(i["bytes_received"], 0)
                self.assertGreater(e["bytes_received"], 0)
                self.assert_traffic(server, log[server], i["requests"] + e["requests"],
                                    i["bytes_received"] + e["bytes_received"], writes_since=True)

    def test_a_backend_that_answers_nothing_costs_no_bytes(self):
        # A port that refuses connections: jellyfin's attempts are counted, nothing came back,
        # and the export, which does not touch a backend whose state could not be read, reports
        # neither requests nor bytes for it.
        refusing = socket.socket()
        refusing.bind(("127.0.0.1", 0))
        self.addCleanup(refusing.close)
        self.write_config(jellyfin={"url": f"http://127.0.0.1:{refusing.getsockname()[1]}"})
        doc = self.ws("ws-sync", expect=1)
        imported = doc["result"]["import"]["identities"]["main"]["backends"]
        exported = doc["result"]["export"]["identities"]["main"]["backends"]
        self.assertEqual(imported["jellyfin"]["status"], "failed")
        self.assertGreater(imported["jellyfin"]["requests"], 0)
        self.assertEqual(imported["jellyfin"]["bytes_received"], 0)
        self.assertEqual(exported["jellyfin"]["requests"], 0)
        self.assertEqual(exported["jellyfin"]["bytes_received"], 0)
        for server in ("plex", "emby"):
            self.assertGreater(imported[server]["bytes_received"], 0)
            self.assertGreater(exported[server]["bytes_received"], 0)

    def test_playlist_reports_the_bytes_per_backend(self):
        self.ws("ws-import")
        self.sim.clear_requests()
        doc = self.ws("ws-playlist")
        log = self.log()
        identity = doc["result"]["identities"]["main"]
        self.assertTrue(any(p["title"] == "Weekend" for p in identity["playlists"]))
        for server in SERVERS:
            with self.subTest(server=server):
                b = identity["backends"][server]
                self.assert_bytes_follow_requests(b)
                self.assert_traffic(server, log[server], b["requests"], b["bytes_received"],
                                    writes_since=True)

    def test_backup_create_reports_the_bytes_per_backend(self):
        self.sim.clear_requests()
        doc = self.ws("ws-backup")
        log = self.log()
        files = {f["backend"]: f for f in doc["result"]["files"]}
        self.assertEqual(files["plex"]["playlists"]["count"], 1)
        for server in SERVERS:
            with self.subTest(server=server):
                f = files[server]
                self.assert_bytes_follow_requests(f)
                self.assert_traffic(server, log[server], f["requests"], f["bytes_received"])

    def test_parity_live_reports_what_the_listings_cost(self):
        self.ws("ws-import")
        stored = self.run_tool("ws-parity", "--json")
        self.assertEqual(stored.json["result"]["traffic"], {}, stored)  # no server asked
        self.sim.clear_requests()
        live = self.run_tool("ws-parity", "--json", "--live")
        self.assertIn(live.code, (0, 1), live)
        log = self.log()
        traffic = live.json["result"]["traffic"]
        self.assertEqual(set(traffic), set(SERVERS))
        for server in SERVERS:
            with self.subTest(server=server):
                self.assert_traffic(server, log[server], traffic[server]["requests"],
                                    traffic[server]["bytes_received"])

    def test_backend_reports_what_asking_cost(self):
        self.sim.clear_requests()
        doc = self.ws("ws-backend", "emby", "libraries")
        log = self.sim.requests("emby")
        result = doc["result"]
        self.assertEqual(list(result)[-2:], ["requests", "bytes_received"])
        self.assert_traffic("emby", log, result["requests"], result["bytes_received"])


if __name__ == "__main__":
    unittest.main()
