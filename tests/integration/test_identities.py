# SPDX-License-Identifier: MIT
"""Several people, one household: each identity has its own rows, same backends."""
import copy
import unittest

import worlds
from wstest import WsTestCase

KID_JF = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
KID_EMBY = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"


def two_people():
    world = copy.deepcopy(worlds.household())
    servers = world["servers"]
    servers["plex"]["users"].append({"id": "1001", "name": "kid", "token": "plex-kid-token-5678"})
    servers["jellyfin"]["users"].append({"id": KID_JF, "name": "kid"})
    servers["emby"]["users"].append({"id": KID_EMBY, "name": "kid"})
    movie = world["movies"][1]  # Beta: played by alice on Jellyfin and Emby
    movie["state"]["plex"] = [{"user": "1001", "played": True, "last_played": 1710000000}]
    return world


class Identities(WsTestCase):
    world = two_people()

    def setUp(self):
        super().setUp()
        self.write_config(extra={"identities": {"kid": {
            "plex": {"user": "1001", "token": "plex-kid-token-5678"},
            "jellyfin": {"user": KID_JF},
            "emby": {"user": KID_EMBY}}}})

    def test_each_identity_has_its_own_state(self):
        doc = self.ws("ws-import")
        self.assertEqual(set(doc["result"]["identities"]), {"main", "kid"})
        kid = {i["display_title"]: i for i in self.ws("ws-state", "list", "-u", "kid")["result"]["items"]}
        main = {i["display_title"]: i for i in self.ws("ws-state", "list")["result"]["items"]}
        self.assertTrue(kid["Beta (2002)"]["watched"])
        self.assertEqual(kid["Beta (2002)"]["via"], "plex")
        self.assertFalse(kid["Alpha (2001)"]["watched"])   # the owner watched Alpha, not the kid
        self.assertTrue(main["Alpha (2001)"]["watched"])
        self.assertEqual(len(kid), len(main))

    def test_one_identity_only(self):
        doc = self.ws("ws-import", "-u", "kid")
        self.assertEqual(list(doc["result"]["identities"]), ["kid"])
        self.assertEqual(self.ws("ws-state", "list")["result"]["items"], [])
        bad = self.run_tool("ws-import", "--json", "-u", "nobody")
        self.assertEqual(bad.code, 64, bad)


if __name__ == "__main__":
    unittest.main()
