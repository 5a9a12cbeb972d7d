# SPDX-License-Identifier: MIT
"""ws-config against the simulator and its plex.tv stand-in: check, add (--append), plex-login,
plex-servers, jellyfin-login / emby-login, webhook registration; errors that say what to do;
no token, password or key in any output; the whole path from no config to a working ws-sync."""
import copy
import json
import os
import stat
import subprocess
import time
import unittest
import urllib.request

import worlds
from wstest import Result, WsTestCase, binary, to_yaml

JF_PASSWORD = "jf-Secret-pw-71"
EMBY_PASSWORD = "emby-Secret-pw-93"
API_KEY = "hook-key-5bd1c0ffee"
BOB_JF = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"


def household_with_logins():
    world = copy.deepcopy(worlds.household())
    servers = world["servers"]
    servers["jellyfin"]["users"][0]["password"] = JF_PASSWORD
    servers["jellyfin"]["users"].append({"id": BOB_JF, "name": "bob", "password": "bob-pw-1"})
    servers["emby"]["users"][0]["password"] = EMBY_PASSWORD
    return world


class ConfigToolCase(WsTestCase):
    world = household_with_logins()
    sim_args = ("--plextv",)

    def setUp(self):
        super().setUp()
        self.write_config(extra={"webhook": {"listen": "127.0.0.1:8686", "api_key": API_KEY}})

    def secrets(self):
        values = [info["token"] for info in self.sim.info.values()]
        return values + [JF_PASSWORD, EMBY_PASSWORD, API_KEY]

    def assert_clean(self, result):
        for secret in self.secrets():
            self.assertNotIn(secret, result.stdout, result)
            self.assertNotIn(secret, result.stderr, result)

    def cfg(self, *args, expect=0, stdin=None, config=False, env=None):
        cmd = [binary("ws-config"), "--json"] + list(args)
        if config:
            cmd += ["-c", self.config_file]
        full = dict(os.environ)
        full.update(env or {})
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, input=stdin,
                              env=full)
        result = Result(proc)
        self.assertEqual(result.code, expect, result)
        self.assertIsNotNone(result.json, result)
        self.assertEqual(result.json["tool"], "ws-config")
        self.assertEqual(result.json["exit_code"], expect, result)
        self.assert_clean(result)
        return result

    def token_file(self, name, token):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(token + "\n")
        os.chmod(path, 0o600)
        return path

    def get_json(self, url, headers):
        req = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())


class Check(ConfigToolCase):
    def test_a_good_config_passes_every_check_and_writes_nothing(self):
        result = self.cfg("check", config=True)
        checks = result.json["result"]["checks"]
        self.assertEqual(result.json["result"]["failed"], 0, checks)
        for backend in ("plex", "jellyfin", "emby"):
            kinds = {c["check"]: c["status"] for c in checks if c["backend"] == backend}
            self.assertEqual(kinds, {"server": "ok", "uuid": "ok", "user": "ok", "libraries": "ok"},
                             (backend, checks))
        server = next(c for c in checks if c["backend"] == "jellyfin" and c["check"] == "server")
        self.assertIn(worlds.JF_ID, server["message"])
        self.assertFalse(os.path.exists(self.state_dir), "check must not create the state dir")
        self.assertEqual(self.sim.writes("jellyfin"), 0)

    def test_each_fault_is_named_and_the_worst_exit_code_wins(self):
        backends = self.sim.config_backends()
        backends["jellyfin"]["token"] = "wrong-jf-token-000"
        backends["emby"]["user"] = "00000000000000000000000000000bad"
        backends["plex"]["uuid"] = "not-the-plex-server"
        self.write_config(backends=backends)
        result = self.cfg("check", config=True, expect=78)
        by = {(c["backend"], c["check"]): c for c in result.json["result"]["checks"]}
        refused = by[("jellyfin", "server")]
        self.assertEqual((refused["status"], refused["kind"]), ("failed", "auth"))
        self.assertIn("API key", refused["message"])      # where such a token comes from
        unknown = by[("emby", "user")]
        self.assertEqual(unknown["status"], "failed")
        self.assertIn("alice (id " + worlds.EMBY_USER, unknown["message"])  # the users listed
        self.assertEqual(by[("plex", "uuid")]["status"], "failed")
        self.assertIn(worlds.PLEX_ID, by[("plex", "uuid")]["message"])
        self.assertEqual(result.json["result"]["failed"], 3)
        self.assertNotIn("wrong-jf-token-000", result.stdout + result.stderr)

    def test_unreachable_is_75_and_a_missing_uuid_is_a_warning(self):
        backends = self.sim.config_backends()
        backends["jellyfin"]["url"] = "http://127.0.0.1:9"   # nothing listens there
        del backends["emby"]["uuid"]
        self.write_config(backends=backends, extra={"http": {"timeout": 5, "retries": 0}})
        result = self.cfg("check", "-x", "plex", config=True, expect=75)
        by = {(c["backend"], c["check"]): c for c in result.json["result"]["checks"]}
        self.assertEqual(by[("jellyfin", "server")]["kind"], "tempfail")
        self.assertEqual(by[("emby", "uuid")]["status"], "warning")
        self.assertIn(worlds.EMBY_ID, by[("emby", "uuid")]["message"])   # the value to set
        self.assertNotIn(("plex", "server"), by)                       # -x plex
        strict = self.cfg("check", "-s", "emby", "--strict", config=True, expect=1)
        self.assertEqual(strict.json["result"]["warnings"], 1)


class Add(ConfigToolCase):
    def test_add_every_kind_then_sync_with_the_result(self):
        config = os.path.join(self.tmp, "fresh.yaml")
        with open(config, "w") as f:
            f.write(to_yaml({"state_dir": self.state_dir}) + "\n")
        for kind in ("plex", "jellyfin", "emby"):
            info = self.sim.info[kind]
            token = self.token_file(kind + ".token", info["token"])
            args = ["add", kind, "--type", kind, "--url", info["url"], "--token-file", token,
                    "--append", config]
            if kind != "plex":
                args += ["--user", "alice"]   # by name; several users on Jellyfin
            result = self.cfg(*args)
            doc = result.json["result"]
            self.assertEqual(doc["server"]["id"], info["server_id"])
            self.assertEqual(doc["appended_to"], config)
            self.assertIn(f'uuid: "{info["server_id"]}"', doc["entry"])
            if kind != "plex":
                self.assertEqual(doc["user"].replace("-", ""), info["user"].replace("-", ""))
            self.assertTrue(doc["libraries"])
        with open(config) as f:
            text = f.read()
        self.assertTrue(text.startswith(to_yaml({"state_dir": self.state_dir})))
        for info in self.sim.info.values():
            self.assertNotIn(info["token"], text)
        sync = subprocess.run([binary("ws-sync"), "--json", "-c", config], capture_output=True,
                              text=True, timeout=120)
        self.assertEqual(sync.returncode, 0, sync.stderr)
        beta = self.sim.item("plex", "m2")
        self.assertTrue(beta["played"], beta)  # played on Jellyfin, now on Plex too
        again = self.cfg("add", "jellyfin", "--type", "jellyfin", "--url",
                         self.sim.info["jellyfin"]["url"], "--token-file",
                         os.path.join(self.tmp, "jellyfin.token"), "--user", "alice",
                         "--append", config, expect=64)
        self.assertIn("already configured", again.json["errors"][0]["message"])

    def test_a_server_with_several_users_needs_user_and_lists_them(self):
        info = self.sim.info["jellyfin"]
        token = self.token_file("jf.token", info["token"])
        result = self.cfg("add", "jf", "--type", "jellyfin", "--url", info["url"],
                          "--token-file", token, expect=78)
        message = result.json["errors"][0]["message"]
        self.assertIn("alice", message)
        self.assertIn("bob (id " + BOB_JF, message)
        nobody = self.cfg("add", "jf", "--type", "jellyfin", "--url", info["url"],
                          "--token-file", token, "--user", "carol", expect=78)
        self.assertIn("no user 'carol'", nobody.json["errors"][0]["message"])

    def test_token_from_the_environment_and_a_refused_token(self):
        info = self.sim.info["emby"]
        result = self.cfg("add", "den", "--type", "emby", "--url", info["url"], "--token-env",
                          "DEN_TOKEN", env={"DEN_TOKEN": info["token"]})
        self.assertIn('token: "${DEN_TOKEN}"', result.json["result"]["entry"])
        refused = self.cfg("add", "den", "--type", "emby", "--url", info["url"], "--token-env",
                           "DEN_TOKEN", env={"DEN_TOKEN": "wrong-token-1"}, expect=77)
        self.assertIn("API key", refused.json["errors"][0]["message"])
        self.cfg("add", "den", "--type", "emby", "--url", info["url"], expect=64)  # no token


class Logins(ConfigToolCase):
    def test_jellyfin_and_emby_login_store_a_working_token(self):
        for kind, password, user_id in (("jellyfin", JF_PASSWORD, worlds.JF_USER),
                                        ("emby", EMBY_PASSWORD, worlds.EMBY_USER)):
            out = os.path.join(self.tmp, kind + "-login.token")
            url = self.sim.info[kind]["url"]
            result = self.cfg(f"{kind}-login", "--url", url, "--user", "Alice",
                              "--token-file", out, stdin=password + "\n")
            doc = result.json["result"]
            self.assertEqual(doc["user_id"].replace("-", ""), user_id)
            self.assertEqual(doc["server_id"].replace("-", ""), self.sim.info[kind]["server_id"].replace("-", ""))
            self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
            with open(out) as f:
                token = f.read().strip()
            self.assertRegex(token, "^[0-9a-f]{32}$")
            # The token acts as that user: ws-config add with it reads the user's libraries.
            added = self.cfg("add", kind, "--type", kind, "--url", url, "--token-file", out,
                             "--user", user_id)
            self.assertTrue(added.json["result"]["libraries"])
            self.assertNotIn(token, added.stdout + added.stderr)

    def test_a_wrong_password_is_77_and_writes_no_file(self):
        out = os.path.join(self.tmp, "never.token")
        result = self.cfg("jellyfin-login", "--url", self.sim.info["jellyfin"]["url"], "--user",
                          "alice", "--token-file", out, stdin="not-the-password\n", expect=77)
        self.assertFalse(os.path.exists(out))
        self.assertNotIn("not-the-password", result.stdout + result.stderr)
        self.cfg("emby-login", "--url", self.sim.info["emby"]["url"], "--user", "alice",
                 expect=64, stdin="x\n")  # neither --token-file nor --print-token

    def test_print_token_prints_only_the_token(self):
        proc = subprocess.run([binary("ws-config"), "emby-login", "--url",
                               self.sim.info["emby"]["url"], "--user", "alice", "--print-token"],
                              input=EMBY_PASSWORD + "\n", capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stdout, "^[0-9a-f]{32}\n$")
        self.assertNotIn(proc.stdout.strip(), proc.stderr)


class PlexSignIn(ConfigToolCase):
    def plextv(self, method, path):
        req = urllib.request.Request(self.sim.plextv["url"] + path, method=method, data=b"")
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status

    def start_login(self, *extra):
        cmd = [binary("ws-config"), "--json", "plex-login", "--plextv-url", self.sim.plextv["url"],
               "--poll-ms", "100"] + list(extra)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = proc.stderr.readline()   # "Open https://plex.tv/link and enter the code XXXX ..."
        self.assertIn("plex.tv/link", line)
        code = line.split("enter the code ")[1].split()[0]
        return proc, code

    def test_pin_sign_in_stores_the_account_token_and_lists_servers(self):
        out = os.path.join(self.tmp, "plex.token")
        proc, code = self.start_login("--token-file", out)
        time.sleep(0.3)   # a few polls without the code entered
        self.assertIsNone(proc.poll())
        self.assertEqual(self.plextv("POST", "/__sim/plextv/link?code=" + code), 204)
        stdout, stderr = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, stderr)
        doc = json.loads(stdout)
        with open(out) as f:
            token = f.read().strip()
        self.assertEqual(token, self.sim.info["plex"]["token"])   # the owner's account token
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        self.assertNotIn(token, stdout + stderr)
        servers = doc["result"]["servers"]
        self.assertEqual([s["uuid"] for s in servers], [worlds.PLEX_ID])
        self.assertEqual(servers[0]["connections"][0]["uri"], self.sim.info["plex"]["url"])
        self.assertTrue(servers[0]["connections"][0]["local"])

    def test_an_expired_pin_is_77_and_a_pin_not_entered_in_time_75(self):
        proc, code = self.start_login("--token-file", os.path.join(self.tmp, "x.token"))
        self.plextv("POST", "/__sim/plextv/expire?code=" + code)
        stdout, stderr = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 77, stderr)
        self.assertIn("expired", json.loads(stdout)["errors"][0]["message"])
        proc, _ = self.start_login("--token-file", os.path.join(self.tmp, "y.token"), "--wait", "1")
        stdout, stderr = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 75, stderr)

    def test_plex_servers_lists_addresses(self):
        token = self.token_file("plex.token", self.sim.info["plex"]["token"])
        result = self.cfg("plex-servers", "--plextv-url", self.sim.plextv["url"], "--token-file",
                          token)
        servers = result.json["result"]["servers"]
        self.assertEqual(servers[0]["uuid"], worlds.PLEX_ID)
        self.assertTrue(servers[0]["owned"])
        uris = [c["uri"] for c in servers[0]["connections"]]
        self.assertEqual(uris[0], self.sim.info["plex"]["url"])
        self.assertGreaterEqual(len(uris), 2)
        refused = self.token_file("bad.token", "not-a-plex-token")
        self.cfg("plex-servers", "--plextv-url", self.sim.plextv["url"], "--token-file",
                 refused, expect=77)


class Webhooks(ConfigToolCase):
    def jellyfin_destinations(self):
        info = self.sim.info["jellyfin"]
        auth = {"Authorization": f'MediaBrowser Token="{info["token"]}"'}
        plugins = self.get_json(info["url"] + "/Plugins", auth)
        plugin = next(p for p in plugins if p["Name"] == "Webhook")
        return self.get_json(f'{info["url"]}/Plugins/{plugin["Id"]}/Configuration',
                             auth)["GenericOptions"]

    def emby_notifiers(self):
        info = self.sim.info["emby"]
        return self.get_json(info["url"] + "/Notifications/Services/Configured",
                             {"X-Emby-Token": info["token"]})

    def plex_hooks(self):
        return self.get_json(self.sim.plextv["url"] + "/api/v2/user/webhooks",
                             {"X-Plex-Token": self.sim.info["plex"]["token"],
                              "Accept": "application/json"})

    def test_registered_on_every_server_once(self):
        address = "http://nas.lan:8686/webhook"
        planned = self.cfg("webhook", "--url", address, "--dry-run", config=True)
        self.assertEqual({b["result"] for b in planned.json["result"]["backends"]}, {"planned"})
        self.assertEqual(self.jellyfin_destinations(), [])
        self.assertEqual(self.plex_hooks(), [])

        result = self.cfg("webhook", "--url", address, config=True)
        by = {b["backend"]: b["result"] for b in result.json["result"]["backends"]}
        self.assertEqual(by, {"plex": "added", "jellyfin": "added", "emby": "added"})
        wanted = f"{address}?apikey={API_KEY}"
        [destination] = self.jellyfin_destinations()
        self.assertEqual(destination["WebhookUri"], wanted)
        self.assertTrue(destination["SendAllProperties"])
        self.assertEqual(destination["UserFilter"], [worlds.JF_USER])
        [notifier] = self.emby_notifiers()
        self.assertEqual(notifier["Options"]["Url"], wanted)
        self.assertFalse(notifier["Options"]["EnableMultipartFormData"])
        self.assertEqual([h["url"] for h in self.plex_hooks()], [wanted])

        again = self.cfg("webhook", "--url", address, config=True)
        self.assertEqual({b["result"] for b in again.json["result"]["backends"]}, {"unchanged"})
        self.assertEqual(len(self.jellyfin_destinations()), 1)
        self.assertEqual(len(self.emby_notifiers()), 1)
        self.assertEqual(len(self.plex_hooks()), 1)


class WebhooksWithoutSupport(ConfigToolCase):
    @classmethod
    def setUpClass(cls):
        world = household_with_logins()
        world["servers"]["plex"]["plex_pass"] = False
        world["servers"]["jellyfin"]["webhook_plugin"] = False
        world["servers"]["emby"]["premiere"] = False
        cls.world = world

    def test_steps_by_hand_where_the_api_cannot_and_exit_1(self):
        result = self.cfg("webhook", config=True, expect=1)
        backends = result.json["result"]["backends"]
        self.assertEqual({b["result"] for b in backends}, {"manual"})
        for b in backends:
            text = " ".join(b["steps"])
            self.assertIn("http://127.0.0.1:8686/webhook?apikey=<webhook.api_key>", text)
        plex = next(b for b in backends if b["backend"] == "plex")
        self.assertIn("Plex Pass", " ".join(plex["steps"]))

    def test_no_api_key_is_a_config_error(self):
        self.write_config()
        result = self.cfg("webhook", "jellyfin", config=True, expect=78)
        self.assertIn("webhook.api_key", result.json["errors"][0]["message"])


class Guidance(ConfigToolCase):
    def test_a_missing_config_says_how_to_write_one(self):
        result = self.run_tool("ws-sync", "-c", os.path.join(self.tmp, "none.yaml"), config=False)
        self.assertEqual(result.code, 78)
        self.assertIn("ws-config add", result.stderr)
        self.assertIn("config.example.yaml", result.stderr)
        self.assertIn("watchstate.yaml(5)", result.stderr)

    def test_a_refused_token_says_where_tokens_come_from(self):
        self.write_config(plex={"token": "wrong-plex-token-1"})
        result = self.run_tool("ws-import", "--json", "-s", "plex")
        self.assertEqual(result.code, 77, result)
        self.assertIn("ws-config plex-login", result.json["errors"][0]["message"])

    def test_an_unknown_user_lists_the_servers_users(self):
        self.write_config(jellyfin={"user": "00000000000000000000000000000bad"})
        result = self.run_tool("ws-import", "--json", "-s", "jellyfin")
        self.assertEqual(result.code, 78, result)
        message = result.json["errors"][0]["message"]
        self.assertIn("bob (id " + BOB_JF, message)


class FromNothing(ConfigToolCase):
    """The README's path: sign in, log in, add, check, register the webhook, sync."""

    def test_empty_machine_to_a_working_sync(self):
        config = os.path.join(self.tmp, "home", "config.yaml")
        os.makedirs(os.path.dirname(config))
        plex_token = os.path.join(self.tmp, "home", "plex.token")
        proc = subprocess.Popen([binary("ws-config"), "plex-login", "--plextv-url",
                                 self.sim.plextv["url"], "--poll-ms", "100", "--token-file",
                                 plex_token], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        code = proc.stderr.readline().split("enter the code ")[1].split()[0]
        urllib.request.urlopen(urllib.request.Request(
            self.sim.plextv["url"] + "/__sim/plextv/link?code=" + code, method="POST", data=b""),
            timeout=30)
        self.assertEqual(proc.wait(timeout=30), 0)
        jf_token = os.path.join(self.tmp, "home", "jf.token")
        login = self.cfg("jellyfin-login", "--url", self.sim.info["jellyfin"]["url"], "--user",
                         "alice", "--token-file", jf_token, stdin=JF_PASSWORD + "\n")
        user_id = login.json["result"]["user_id"]
        self.cfg("add", "home_plex", "--type", "plex", "--url", self.sim.info["plex"]["url"],
                 "--token-file", plex_token, "--append", config)
        self.cfg("add", "living_room", "--type", "jellyfin", "--url",
                 self.sim.info["jellyfin"]["url"], "--token-file", jf_token, "--user", user_id,
                 "--append", config)
        with open(config, "a") as f:
            f.write(to_yaml({"state_dir": self.state_dir,
                             "webhook": {"api_key": API_KEY}}) + "\n")
        self.assertEqual(stat.S_IMODE(os.stat(config).st_mode), 0o600)
        check = self.cfg("check", "-c", config)
        self.assertEqual(check.json["result"]["failed"], 0)
        sync = subprocess.run([binary("ws-sync"), "--json", "-c", config], capture_output=True,
                              text=True, timeout=120)
        self.assertEqual(sync.returncode, 0, sync.stderr)
        self.assertTrue(self.sim.item("plex", "m2")["played"])
        writes = {s: self.sim.writes(s) for s in ("plex", "jellyfin")}
        again = subprocess.run([binary("ws-sync"), "--json", "-c", config], capture_output=True,
                               text=True, timeout=120)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual({s: self.sim.writes(s) for s in ("plex", "jellyfin")}, writes)


if __name__ == "__main__":
    unittest.main()
