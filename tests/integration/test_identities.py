# SPDX-License-Identifier: MIT
"""Several people, one household: each identity has its own rows, same backends; Plex user
tokens obtained through the simulator's plex.tv stand-in; suggested identities."""
import copy
import gzip
import json
import os
import re
import stat
import unittest
import urllib.request

import worlds
from wstest import WsTestCase

KID_JF = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
KID_EMBY = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
BOB_JF = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"
BOB_EMBY = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
KID_PLEX_TOKEN = "plex-kid-token-5678"
BOB_PLEX_TOKEN = "plex-bob-token-4321"


def two_people():
    world = copy.deepcopy(worlds.household())
    servers = world["servers"]
    servers["plex"]["users"].append({"id": "1001", "name": "kid", "token": KID_PLEX_TOKEN})
    servers["jellyfin"]["users"].append({"id": KID_JF, "name": "kid"})
    servers["emby"]["users"].append({"id": KID_EMBY, "name": "kid"})
    movie = world["movies"][1]  # Beta: played by alice on Jellyfin and Emby
    movie["state"]["plex"] = [{"user": "1001", "played": True, "last_played": 1710000000}]
    return world


def household_with_plextv():
    """The kid is a managed Plex Home user; Bob is a friend on Plex (named 'Robert' on Emby)."""
    world = two_people()
    servers = world["servers"]
    plex_users = servers["plex"]["users"]
    plex_users[1]["managed"] = True
    plex_users.append({"id": "2002", "name": "Bob", "token": BOB_PLEX_TOKEN, "friend": True})
    servers["jellyfin"]["users"].append({"id": BOB_JF, "name": "bob"})
    servers["emby"]["users"].append({"id": BOB_EMBY, "name": "Robert"})
    gamma = world["movies"][2]  # Gamma: the kid finished it on Emby
    gamma["state"]["emby"] = [{"user": KID_EMBY, "played": True, "last_played": 1711000000}]
    return world


# The kid as an identity of the config, on the three servers of two_people().
KID_IDENTITY = {"kid": {"plex": {"user": "1001", "token": KID_PLEX_TOKEN},
                        "jellyfin": {"user": KID_JF},
                        "emby": {"user": KID_EMBY}}}


class KidCase(WsTestCase):
    """A world of two_people() (or one built on it), the kid configured as an identity."""

    def setUp(self):
        super().setUp()
        self.write_config(extra={"identities": KID_IDENTITY})


class Identities(KidCase):
    world = two_people()

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

    def test_suggest_falls_back_to_the_plex_servers_accounts(self):
        # Where plex.tv cannot answer (here: the PMS itself, which has no plex.tv endpoints),
        # the server's /accounts give the same ids.
        self.write_config(plex={"options": {"plextv_url": self.sim.info["plex"]["url"]}})
        result = self.run_tool("ws-state", "--json", "identities", "--suggest")
        self.assertEqual(result.code, 0, result)
        self.assertIn("using the accounts the server lists", result.stderr)
        self.assertEqual(result.json["result"]["identities"],
                         {"kid": {"plex": {"user": "1001", "name": "kid"},
                                  "jellyfin": {"user": KID_JF, "name": "kid"},
                                  "emby": {"user": KID_EMBY, "name": "kid"}}})


def two_people_and_a_misidentified_series():
    """Emby takes Show One for another series (tvdb 999) until a Fix Match: its episode 2,
    which has no ids of its own, matches the others only through the series."""
    world = two_people()
    world["shows"][0]["emby_provider_ids"] = {"Tvdb": "999"}
    return world


class SeriesFixedForEveryIdentity(KidCase):
    world = two_people_and_a_misidentified_series()

    def test_a_fix_match_of_a_series_moves_every_identitys_episodes(self):
        # The kid finished episode 2 on Plex; Emby's copy is another series' episode for now.
        self.sim.set_state("plex", key="s1e2", user="1001", played=True, last_played=1712000000)
        self.ws("ws-sync")
        kid_on_emby = {i["key"]: i["played"] for i in self.sim.items("emby", user=KID_EMBY)}
        self.assertFalse(kid_on_emby["s1e2"])
        # The Fix Match on Emby. Every identity's import must see it, not only the first one's:
        # the series cache is shared, so the kid's import found it already up to date and kept
        # the kid's Emby episodes on their rows of the wrong series.
        self.sim._call("emby", "POST", "/__sim/ids", {"key": "s1", "ids": {"tvdb": "200"}})
        doc = self.ws("ws-sync")
        for identity in ("main", "kid"):
            emby = doc["result"]["import"]["identities"][identity]["backends"]["emby"]
            self.assertGreaterEqual(emby["rematched"], 1, (identity, emby))
        kid_on_emby = {i["key"]: i["played"] for i in self.sim.items("emby", user=KID_EMBY)}
        self.assertTrue(kid_on_emby["s1e2"])
        main_on_emby = {i["key"]: i for i in self.sim.items("emby")}
        self.assertFalse(main_on_emby["s1e2"]["played"])  # the kid's play stays the kid's
        self.assertEqual(main_on_emby["s1e2"]["position_ms"], 900000)  # main's Plex position
        doc = self.ws("ws-sync")
        for identity, result in doc["result"]["import"]["identities"].items():
            for name, b in result["backends"].items():
                self.assertEqual((b["added"], b["updated"], b["rematched"]), (0, 0, 0), (identity, name))


class PlexTvIdentities(WsTestCase):
    """The kid's Plex entry has no token: watchstate obtains it through plex.tv."""
    world = household_with_plextv()
    sim_args = ("--plextv",)

    def setUp(self):
        super().setUp()
        self.kid = {"plex": {"user": "1001"}, "jellyfin": {"user": KID_JF}, "emby": {"user": KID_EMBY}}
        self.configure(self.kid)

    def configure(self, kid, **more):
        identities = {"kid": kid}
        identities.update(more)
        self.write_config(extra={"identities": identities},
                          plex={"options": {"plextv_url": self.sim.plextv["url"]}})

    def plextv_requests(self):
        with urllib.request.urlopen(self.sim.plextv["url"] + "/__sim/requests", timeout=30) as r:
            return json.load(r)

    def played(self, server, user):
        return {i["key"] for i in self.sim.items(server, user=user) if i["played"]}

    def test_two_people_synced_independently_on_three_servers(self):
        before = {s: self.played(s, u) for s, u in
                  (("plex", "1"), ("jellyfin", worlds.JF_USER), ("emby", worlds.EMBY_USER))}
        result = self.run_tool("ws-sync", "--json")
        self.assertEqual(result.code, 0, result)
        self.assertEqual(set(result.json["result"]["import"]["identities"]), {"main", "kid"})
        self.assertEqual(set(result.json["result"]["export"]["identities"]), {"main", "kid"})
        # The kid: Beta (watched on Plex) and Gamma (watched on Emby) everywhere, nothing else.
        for server, user in (("plex", "1001"), ("jellyfin", KID_JF), ("emby", KID_EMBY)):
            played = self.played(server, user)
            self.assertIn("m2", played, server)
            self.assertIn("m3", played, server)
            self.assertNotIn("m1", played, server)   # Alpha is the owner's
            self.assertNotIn("m5", played, server)
        # The main user: Alpha everywhere it is, never Gamma (the kid's).
        for server, user in (("plex", "1"), ("jellyfin", worlds.JF_USER), ("emby", worlds.EMBY_USER)):
            played = self.played(server, user)
            self.assertIn("m1", played, server)
            self.assertNotIn("m3", played, server)
            self.assertTrue(before[server] <= played, server)
        # The kid's Plex writes went out with the kid's own server token (the simulator keys play
        # state by token), obtained by the switch and resources calls.
        paths = [(r["method"], r["path"]) for r in self.plextv_requests()]
        self.assertIn(("GET", "/api/v2/home/users"), paths)
        self.assertTrue(any(m == "POST" and p.endswith("/switch") for m, p in paths), paths)
        self.assertIn(("GET", "/api/v2/resources"), paths)
        self.assertNotIn(KID_PLEX_TOKEN, result.stdout + result.stderr)
        self.assert_no_secret(result.stdout + result.stderr)
        # The token is cached beside state.db, private, and not in it.
        cache = os.path.join(self.state_dir, "plex-tokens.json")
        self.assertEqual(stat.S_IMODE(os.stat(cache).st_mode), 0o600)
        with open(cache) as f:
            entries = json.load(f)["tokens"]
        self.assertEqual([(e["backend"], e["user"], e["token"]) for e in entries],
                         [("plex", "1001", KID_PLEX_TOKEN)])
        with open(os.path.join(self.state_dir, "state.db"), "rb") as f:
            self.assertNotIn(KID_PLEX_TOKEN.encode(), f.read())
        # Per identity state: the kid's rows are not the owner's.
        kid = {i["display_title"]: i["watched"] for i in self.ws("ws-state", "list", "-u", "kid")["result"]["items"]}
        main = {i["display_title"]: i["watched"] for i in self.ws("ws-state", "list")["result"]["items"]}
        self.assertTrue(kid["Gamma (2003)"])
        self.assertFalse(main["Gamma (2003)"])
        self.assertFalse(kid["Alpha (2001)"])
        self.assertTrue(main["Alpha (2001)"])

    def test_backups_are_per_identity(self):
        doc = self.ws("ws-backup", "-s", "plex")
        files = {os.path.basename(f["path"]).split(".")[0]: f["path"] for f in doc["result"]["files"]}
        self.assertEqual(set(files), {"main", "kid"})
        played = {}
        for identity, path in files.items():
            self.assertTrue(os.path.basename(path).startswith(identity + ".plex."), path)
            with gzip.open(path, "rt") as f:
                played[identity] = {r["title"] for r in json.load(f) if r.get("watched")}
        self.assertIn("Beta", played["kid"])        # read with the kid's obtained token
        self.assertNotIn("Alpha", played["kid"])
        self.assertIn("Alpha", played["main"])
        self.assertNotIn("Beta", played["main"])

    def test_cached_token_reused_then_renewed_once_refused(self):
        self.ws("ws-import", "-u", "kid")
        with urllib.request.urlopen(urllib.request.Request(
                self.sim.plextv["url"] + "/__sim/requests", method="DELETE"), timeout=30):
            pass
        self.ws("ws-import", "-u", "kid")
        self.assertEqual(self.plextv_requests(), [])   # the cached token was used
        cache = os.path.join(self.state_dir, "plex-tokens.json")
        with open(cache) as f:
            doc = json.load(f)
        doc["tokens"][0]["token"] = "expired-kid-token-0000"
        with open(cache, "w") as f:
            json.dump(doc, f)
        result = self.run_tool("ws-import", "--json", "-u", "kid", "-v")
        self.assertEqual(result.code, 0, result)
        self.assertTrue(any(r["path"].endswith("/switch") for r in self.plextv_requests()))
        with open(cache) as f:
            self.assertEqual(json.load(f)["tokens"][0]["token"], KID_PLEX_TOKEN)
        self.assertNotIn("expired-kid-token-0000", result.stdout + result.stderr)

    def test_friend_token_from_shared_servers(self):
        self.configure(self.kid, bob={"plex": {"user": "2002"}, "jellyfin": {"user": BOB_JF}})
        self.sim.set_state("plex", key="m1", user="2002", played=True,
                           last_played=1712000000)
        result = self.run_tool("ws-sync", "--json", "-u", "bob")
        self.assertEqual(result.code, 0, result)
        self.assertIn("m1", self.played("jellyfin", BOB_JF))
        self.assertTrue(any(r["path"].endswith("/shared_servers") for r in self.plextv_requests()))
        self.assertNotIn(BOB_PLEX_TOKEN, result.stdout + result.stderr)

    def test_unknown_plex_user_fails_only_that_identity(self):
        self.configure(self.kid, ghost={"plex": {"user": "4242"}})
        result = self.run_tool("ws-import", "--json")
        self.assertEqual(result.code, 1, result)
        errors = result.json["errors"]
        self.assertEqual(len(errors), 1, errors)
        self.assertEqual((errors[0]["identity"], errors[0]["backend"]), ("ghost", "plex"), errors)
        self.assertIn("ghost/plex", errors[0]["message"])
        self.assertIn("4242", errors[0]["message"])
        self.assertIn("ghost/plex", result.stderr)
        kid = self.ws("ws-state", "list", "-u", "kid")["result"]["items"]
        self.assertTrue(any(i["watched"] for i in kid))
        self.assertNotIn(KID_PLEX_TOKEN, result.stdout + result.stderr)
        self.assert_no_secret(result.stdout + result.stderr)

    def test_wrong_jellyfin_user_fails_only_that_identity(self):
        self.configure(self.kid, ghost={"jellyfin": {"user": "deadbeefdeadbeefdeadbeefdeadbeef"}})
        result = self.run_tool("ws-sync", "--json")
        self.assertEqual(result.code, 1, result)
        failed = {(e["identity"], e["backend"]) for e in result.json["errors"]}
        self.assertEqual(failed, {("ghost", "jellyfin")}, result)
        self.assertIn("m3", self.played("plex", "1001"))

    def test_plextv_refusing_the_admin_token_fails_only_the_kids_plex(self):
        self.write_config(extra={"identities": {"kid": self.kid}},
                          plex={"options": {"plextv_url": self.sim.plextv["url"] + "/nowhere"}})
        result = self.run_tool("ws-import", "--json", "-u", "kid", "-s", "plex")
        self.assertNotEqual(result.code, 0, result)
        self.assertIn("kid/plex", result.stderr)
        self.write_config(extra={"identities": {"kid": self.kid}},
                          plex={"token": "not-the-owner-token-1234",
                                "options": {"plextv_url": self.sim.plextv["url"]}})
        result = self.run_tool("ws-import", "--json", "-u", "kid")
        self.assertEqual(result.code, 1, result)
        failed = [e for e in result.json["errors"]]
        self.assertEqual([(e["identity"], e["backend"]) for e in failed], [("kid", "plex")], result)
        self.assertIn("plex.tv refused", failed[0]["message"])
        only_plex = self.run_tool("ws-import", "--json", "-u", "kid", "-s", "plex")
        self.assertEqual(only_plex.code, 77, only_plex)

    def test_suggested_identities_match_the_simulators_users(self):
        result = self.run_tool("ws-state", "identities", "--suggest")
        self.assertEqual(result.code, 0, result)
        self.assertIn("identities:", result.stdout)
        self.assertIn('plex: { user: "1001" }', result.stdout)
        doc = self.ws("ws-state", "identities", "--suggest")
        suggested = doc["result"]["identities"]
        self.assertEqual(suggested["kid"], {"plex": {"user": "1001", "name": "kid"},
                                            "jellyfin": {"user": KID_JF, "name": "kid"},
                                            "emby": {"user": KID_EMBY, "name": "kid"}})
        # Bob is 'Robert' on Emby: without a mapping he is two people.
        self.assertEqual({b: v["user"] for b, v in suggested["bob"].items()},
                         {"plex": "2002", "jellyfin": BOB_JF})
        self.assertEqual(suggested["robert"], {"emby": {"user": BOB_EMBY, "name": "Robert"}})
        self.assertNotIn("owner", suggested)   # the main user is not an identity
        self.assertNotIn("alice", suggested)
        mapping = os.path.join(self.tmp, "mapper.yaml")
        with open(mapping, "w") as f:
            f.write('version: "1.5"\nmap:\n  - emby: { name: Robert }\n    jellyfin: { name: bob }\n'
                    '    plex: { name: Bob, replace_with: bobby }\n')
        doc = self.ws("ws-state", "identities", "--suggest", "--mapping", mapping)
        suggested = doc["result"]["identities"]
        self.assertEqual({b: v["user"] for b, v in suggested["bobby"].items()},
                         {"plex": "2002", "jellyfin": BOB_JF, "emby": BOB_EMBY})
        self.assertNotIn("robert", suggested)
        self.assert_no_secret(json.dumps(doc))
        self.assertNotIn(KID_PLEX_TOKEN, json.dumps(doc))
        # The suggestion pastes into a working config.
        self.write_config(extra={"identities": {name: {b: {"user": v["user"]} for b, v in people.items()}
                                                for name, people in suggested.items()}},
                          plex={"options": {"plextv_url": self.sim.plextv["url"]}})
        result = self.run_tool("ws-import", "--json")
        self.assertEqual(result.code, 0, result)
        self.assertEqual(set(result.json["result"]["identities"]), {"main", "kid", "bobby"})


KID_PIN = "8264"


def household_with_protected_kid():
    """As household_with_plextv, but the kid's Plex Home profile is PIN-protected."""
    world = household_with_plextv()
    world["servers"]["plex"]["users"][1]["pin"] = KID_PIN
    return world


class PinProtectedIdentities(WsTestCase):
    """The kid is a PIN-protected Plex Home user: the switch on plex.tv takes the PIN."""
    world = household_with_protected_kid()
    sim_args = ("--plextv",)

    def configure(self, kid_plex, **more):
        kid = {"plex": dict(kid_plex, user="1001"), "jellyfin": {"user": KID_JF}, "emby": {"user": KID_EMBY}}
        identities = {"kid": kid}
        identities.update(more)
        self.write_config(extra={"identities": identities})

    def plextv_requests(self):
        with urllib.request.urlopen(self.sim.plextv["url"] + "/__sim/requests", timeout=30) as r:
            return json.load(r)

    def played(self, server, user):
        return {i["key"] for i in self.sim.items(server, user=user) if i["played"]}

    def assert_pin_hidden(self, result, *pins):
        text = result.stdout + result.stderr
        for pin in pins:
            # As a value of its own (digits inside a longer number, a timestamp, are not it).
            self.assertIsNone(re.search(rf"(?<![0-9]){pin}(?![0-9])", text), text)
        self.assertNotIn(KID_PLEX_TOKEN, text)
        self.assert_no_secret(text)

    def cached_users(self):
        cache = os.path.join(self.state_dir, "plex-tokens.json")
        if not os.path.exists(cache):
            return []
        with open(cache) as f:
            return [e["user"] for e in json.load(f)["tokens"]]

    def test_right_pin_syncs_the_protected_user(self):
        self.configure({"pin": KID_PIN})
        result = self.run_tool("ws-sync", "--json", "-vv")
        self.assertEqual(result.code, 0, result)
        self.assertEqual(result.json["errors"], [])
        # Gamma, finished by the kid on Emby, reaches the kid's Plex profile; Alpha (the owner's)
        # does not.
        self.assertIn("m3", self.played("plex", "1001"))
        self.assertNotIn("m1", self.played("plex", "1001"))
        switches = [r for r in self.plextv_requests() if r["path"].endswith("/switch")]
        self.assertEqual([(r["status"], r["query"]) for r in switches], [(201, "pin=REDACTED")])
        self.assertEqual(self.cached_users(), ["1001"])
        self.assert_pin_hidden(result, KID_PIN)
        self.assertIn("<redacted>", result.stderr)   # the switch URL in the -vv log

    def test_config_check_uses_the_pin_and_writes_no_token(self):
        self.configure({"pin": KID_PIN})
        good = self.run_tool("ws-config", "--json", "check", "-u", "kid")
        self.assertEqual(good.code, 0, good)
        [plex] = [c for c in good.json["result"]["checks"] if c["backend"] == "plex"]
        self.assertEqual((plex["check"], plex["status"]), ("identity", "ok"), plex)
        self.assertEqual(self.cached_users(), [])   # check writes nothing, not even the cache
        self.assert_pin_hidden(good, KID_PIN)
        self.configure({"pin": "5173"})
        wrong = self.run_tool("ws-config", "--json", "check", "-u", "kid", "-s", "plex")
        self.assertEqual(wrong.code, 77, wrong)
        [failed] = wrong.json["result"]["checks"]
        self.assertIn("refused the PIN", failed["message"])
        self.assert_pin_hidden(wrong, "5173", KID_PIN)

    def test_pin_file(self):
        pin_file = os.path.join(self.tmp, "kid.pin")
        with open(pin_file, "w") as f:
            f.write(KID_PIN + "\n")
        self.configure({"pin_file": pin_file})
        result = self.run_tool("ws-import", "--json", "-u", "kid", "-s", "plex", "-vv")
        self.assertEqual(result.code, 0, result)
        self.assert_pin_hidden(result, KID_PIN)

    def test_wrong_pin_fails_only_that_identity(self):
        wrong = "5173"
        self.configure({"pin": wrong}, bob={"plex": {"user": "2002"}, "jellyfin": {"user": BOB_JF}})
        self.sim.set_state("plex", key="m1", user="2002", played=True, last_played=1712000000)
        result = self.run_tool("ws-sync", "--json", "-vv")
        self.assertEqual(result.code, 1, result)
        message = "kid/plex: plex.tv refused the PIN of Plex user 'kid' (check identities.kid.plex.pin)"
        failed = {(e["identity"], e["backend"], e["message"]) for e in result.json["errors"]}
        self.assertEqual({(i, b) for i, b, _ in failed}, {("kid", "plex")}, result)
        self.assertTrue(all(m == message for _, _, m in failed), failed)
        self.assertIn(message, result.stderr)
        # Everyone else synced: Bob's Plex play reached his Jellyfin, the kid's Emby play his Jellyfin.
        self.assertIn("m1", self.played("jellyfin", BOB_JF))
        self.assertIn("m3", self.played("jellyfin", KID_JF))
        self.assertNotIn("m3", self.played("plex", "1001"))
        # No token was obtained, none is cached.
        self.assertNotIn("1001", self.cached_users())
        switches = [r for r in self.plextv_requests() if r["path"].endswith("/switch")]
        self.assertTrue(switches and all(r["status"] == 403 for r in switches), switches)
        self.assert_pin_hidden(result, wrong, KID_PIN)
        # Only the kid's Plex: the exit status of refused credentials.
        alone = self.run_tool("ws-import", "--json", "-u", "kid", "-s", "plex")
        self.assertEqual(alone.code, 77, alone)
        self.assertEqual(alone.json["exit_code"], 77, alone)
        self.assertIn(message, alone.stderr)
        self.assert_pin_hidden(alone, wrong, KID_PIN)

    def test_missing_pin_names_the_keys(self):
        self.configure({})
        result = self.run_tool("ws-import", "--json", "-u", "kid", "-s", "plex")
        self.assertEqual(result.code, 77, result)
        self.assertEqual(result.json["errors"][0]["message"],
                         "kid/plex: Plex user 'kid' is PIN-protected: set pin or pin_file in "
                         "identities.kid.plex")
        self.assertEqual(self.cached_users(), [])

    def test_bad_pin_in_config_is_a_config_error(self):
        self.configure({"pin": "12345"})
        result = self.run_tool("ws-import", "--json")
        self.assertEqual(result.code, 78, result)
        self.assertIn("identities.kid.plex.pin: must be the 4 digits", result.stdout + result.stderr)
        self.assertNotIn("12345", result.stdout + result.stderr)


if __name__ == "__main__":
    unittest.main()
