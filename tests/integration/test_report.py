# SPDX-License-Identifier: MIT
"""ws-state report: the diagnostic bundle a user attaches to a bug report. After a sync and a
failing run it names the servers as the last import saw them, the runs with their errors and
the database's counts, in text, JSON and a file of mode 0600, and holds none of the secrets of
the config (inline tokens, token_file, ${ENV}, the webhook key, another identity's token, a
Plex home user's PIN, WatchState's ADMIN_TOKEN)."""
import json
import os
import stat
import unittest

import test_webhook
import worlds
from test_security import (EMBY_KEY, JF_KEY, PLEX_ALICE, PLEX_OWNER, SECRETS, WEBHOOK_KEY,
                           secret_world)
from wstest import WsTestCase, to_yaml

ADMIN_TOKEN = "watchstateAdminS3cretTok9"
KID_PIN = "8642"
ALL_SECRETS = SECRETS + (ADMIN_TOKEN, KID_PIN)

SECTIONS = ("== watchstate ==", "== system ==", "== config ==", "== backends ==",
            "== database ==", "== runs (last 20, newest first) ==", "== webhook queue ==",
            "== backups ==")
SERVERS = {"plex": ("SimPlex", "1.41.3.9314-a0bfb8370", worlds.PLEX_ID),
           "jellyfin": ("SimJellyfin", "10.10.7", worlds.JF_ID),
           "emby": ("SimEmby", "4.8.11.0", worlds.EMBY_ID)}


class Report(WsTestCase):
    world = secret_world()

    def setUp(self):
        super().setUp()
        self.env = {"WS_TEST_EMBY_KEY": EMBY_KEY}
        self.token_file = os.path.join(self.tmp, "jf.token")
        with open(self.token_file, "w") as f:
            f.write(JF_KEY + "\n")
        os.chmod(self.token_file, 0o600)
        self.write_secret_config()

    def write_secret_config(self, kid=False):
        backends = self.sim.config_backends()
        backends["plex"]["token"] = PLEX_OWNER
        backends["plex"]["options"]["ADMIN_TOKEN"] = ADMIN_TOKEN
        del backends["jellyfin"]["token"]
        backends["jellyfin"]["token_file"] = self.token_file
        backends["emby"]["token"] = "${WS_TEST_EMBY_KEY}"
        identities = {"alice": {"plex": {"user": "1001", "token": PLEX_ALICE}}}
        if kid:
            # A PIN-protected Plex home user: only in the config the report reads (a sync would
            # ask the plex.tv stand-in, which this test does not serve).
            identities["kid"] = {"plex": {"user": "1002", "pin": KID_PIN}}
        config = {"state_dir": self.state_dir,
                  "http": {"timeout": 5, "retries": 1, "backoff_ms": 20, "page_size": 3},
                  "webhook": {"listen": "127.0.0.1:8686", "api_key": WEBHOOK_KEY},
                  "backends": backends,
                  "identities": identities}
        with open(self.config_file, "w") as f:
            f.write(to_yaml(config) + "\n")
        os.chmod(self.config_file, 0o600)

    def tool(self, *args, expect=0):
        result = self.run_tool(*args, env=self.env)
        self.assertEqual(result.code, expect, result)
        self.assert_no_secrets(result.stdout + result.stderr, " ".join(args))
        return result

    def assert_no_secrets(self, text, what):
        for secret in ALL_SECRETS:
            self.assertNotIn(secret, text, f"{secret} leaked by {what}:\n{text[:4000]}")

    def history(self):
        return self.ws("ws-state", "runs", env=self.env)["result"]["runs"]

    def sync_then_fail(self):
        self.tool("ws-sync", "--json")
        self.tool("ws-backup", "--json", "create", "-s", "plex")
        self.sim.fault("jellyfin", path=".*", status=503, times=-1, retry_after="0")
        self.tool("ws-sync", "--json", expect=1)
        self.sim.clear_faults()
        self.write_secret_config(kid=True)

    def test_text_report_after_a_sync_and_a_failing_run(self):
        self.sync_then_fail()
        runs_before = len(self.history())
        text = self.tool("ws-state", "report").stdout
        for title in SECTIONS:
            self.assertIn(title, text)
        self.assertIn("version:      0.1.0", text)
        self.assertRegex(text, r"libcurl: +\d+\.\d+")
        self.assertRegex(text, r"SQLite: +3\.")
        self.assertIn("yaml-cpp:", text)
        self.assertIn(f"file:         {self.config_file} (mode 0600", text)
        # The config: structure and plain values kept, secrets replaced.
        self.assertIn("<redacted>", text)
        self.assertIn(f"token_file: {self.token_file}", text)
        self.assertIn("ADMIN_TOKEN: <redacted>", text)
        self.assertIn("pin: <redacted>", text)
        self.assertIn("api_key: <redacted>", text)
        self.assertIn("listen: 127.0.0.1:8686", text)
        self.assertIn(self.sim.info["jellyfin"]["url"], text)
        # Each server as the last import saw it.
        for name, (server, version, server_id) in SERVERS.items():
            self.assertIn(f'{name} ({name})', text)
            self.assertIn(f'last import saw: "{server}" version {version} id {server_id}', text)
        self.assertNotIn("live:", text)   # no network without --live
        # The database and its counts, the runs with the failing one's error.
        self.assertIn("quick_check:  ok", text)
        self.assertRegex(text, r"schema: +version \d+, journal wal")
        self.assertRegex(text, r"items: +main: \d+ items, \d+ played")
        self.assertRegex(text, r"records: +main/jellyfin: \d+ records on \d+ items")
        self.assertIn("ws-sync", text)
        self.assertRegex(text, r"exit 1 \(partial\)")
        self.assertRegex(text, r"error tempfail \(jellyfin\): .*503")
        self.assertIn("no queue file (ws-webhook has not run here)", text)
        self.assertRegex(text, r"newest: \S+/backups/\w+\.plex\.\d+\.json\.gz \(\d+ bytes, dated ")
        # Not a run itself.
        self.assertEqual(len(self.history()), runs_before)

    def test_json_report(self):
        self.sync_then_fail()
        doc = self.tool("ws-state", "--json", "report").json
        self.assertEqual(doc["exit_code"], 0)
        self.assertEqual(doc["errors"], [])
        r = doc["result"]
        self.assertEqual(r["watchstate"]["version"], doc["version"])
        self.assertIn("libcurl", r["watchstate"]["libraries"])
        self.assertIn("SQLite", r["watchstate"]["libraries"])
        self.assertEqual(r["system"]["os"], os.uname().sysname)
        self.assertEqual(r["system"]["release"], os.uname().release)
        config = r["config"]
        self.assertEqual((config["path"], config["mode"]), (self.config_file, "0600"))
        content = config["content"]
        self.assertEqual(content["backends"]["plex"]["token"], "<redacted>")
        self.assertEqual(content["backends"]["plex"]["options"]["ADMIN_TOKEN"], "<redacted>")
        self.assertEqual(content["backends"]["plex"]["type"], "plex")
        self.assertEqual(content["backends"]["plex"]["uuid"], worlds.PLEX_ID)
        self.assertEqual(content["backends"]["jellyfin"]["token_file"], self.token_file)
        self.assertEqual(content["backends"]["jellyfin"]["user"], worlds.JF_USER)
        self.assertEqual(content["backends"]["emby"]["token"], "<redacted>")
        self.assertEqual(content["webhook"], {"listen": "127.0.0.1:8686", "api_key": "<redacted>"})
        self.assertEqual(content["identities"]["alice"]["plex"],
                         {"user": "1001", "token": "<redacted>"})
        self.assertEqual(content["identities"]["kid"]["plex"], {"user": "1002", "pin": "<redacted>"})
        self.assertEqual(content["http"]["timeout"], "5")

        by = {b["backend"]: b for b in r["backends"]}
        for name, (server, version, server_id) in SERVERS.items():
            self.assertEqual(by[name]["last_import"],
                             {"server_id": server_id, "name": server, "version": version})
            self.assertIsNone(by[name]["live"])

        database = r["database"]
        self.assertTrue(database["exists"])
        self.assertTrue(database["integrity_ok"], database)
        self.assertEqual(database["quick_check"], ["ok"])
        self.assertGreaterEqual(database["schema_version"], 6)
        self.assertGreater(database["size_bytes"], 0)
        [main] = [i for i in database["identities"] if i["identity"] == "main"]
        listed = self.ws("ws-state", "list", env=self.env)["result"]["count"]
        self.assertEqual(main["items"], listed)
        records = {(c["identity"], c["backend"]): c for c in database["records"]}
        for name in SERVERS:
            self.assertGreater(records[("main", name)]["records"], 0)
        self.assertGreater(records[("alice", "plex")]["records"], 0)

        history = self.history()
        self.assertEqual([run["id"] for run in r["runs"]], [run["id"] for run in history])
        failed = r["runs"][0]
        self.assertEqual((failed["tool"], failed["exit_code"], failed["status"]),
                         ("ws-sync", 1, "partial"))
        self.assertTrue(any(e["backend"] == "jellyfin" and e["kind"] == "tempfail"
                            and "503" in e["message"] for e in failed["errors"]), failed)
        self.assertEqual(r["webhook"]["pending"], 0)
        self.assertEqual(r["webhook"]["failed"], 0)
        self.assertEqual(r["webhook"]["last_errors"], [])
        self.assertRegex(os.path.basename(r["backup"]["path"]), r"^\w+\.plex\.\d+\.json\.gz$")
        self.assertEqual(r["problems"], [])

    def test_output_file_is_private_and_complete(self):
        self.sync_then_fail()
        out = os.path.join(self.tmp, "bug", "report.txt")
        os.makedirs(os.path.dirname(out))
        result = self.tool("ws-state", "report", "--output", out)
        self.assertIn(f"report written to {out}", result.stdout)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        with open(out) as f:
            text = f.read()
        self.assert_no_secrets(text, "report --output")
        for title in SECTIONS:
            self.assertIn(title, text)
        self.assertIn('"SimJellyfin" version 10.10.7', text)
        self.assertRegex(text, r"error tempfail \(jellyfin\): .*503")
        self.assertEqual(os.listdir(os.path.dirname(out)), ["report.txt"])   # no temporary left

        # An existing file is replaced whole, with --json as the report's JSON document.
        os.chmod(out, 0o644)
        doc = self.tool("ws-state", "--json", "report", "--output", out).json
        self.assertEqual(doc["result"]["output"], out)
        self.assertEqual(doc["result"]["format"], "json")
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        with open(out) as f:
            text = f.read()
        self.assertEqual(doc["result"]["bytes"], len(text.encode()))
        self.assert_no_secrets(text, "report --json --output")
        report = json.loads(text)
        self.assertEqual(report["backends"][0]["last_import"]["name"], "SimPlex")
        self.assertEqual(report["runs"][0]["exit_code"], 1)
        self.assertEqual(report["config"]["content"]["backends"]["plex"]["token"], "<redacted>")

        bad = self.run_tool("ws-state", "report", "--output",
                            os.path.join(self.tmp, "missing", "dir", "r.txt"), env=self.env)
        self.assertEqual(bad.code, 73, bad)

    def test_live_asks_each_server(self):
        self.sync_then_fail()
        self.write_secret_config()
        doc = self.tool("ws-state", "--json", "report", "--live").json
        by = {b["backend"]: b for b in doc["result"]["backends"]}
        for name, (server, version, server_id) in SERVERS.items():
            live = dict(by[name]["live"])
            self.assertGreater(live.pop("requests"), 0)
            self.assertGreater(live.pop("bytes_received"), 0)
            self.assertEqual(live, {"server_id": server_id, "name": server, "version": version})
        # A server that does not answer: the report is still complete, the run exits 1.
        self.sim.fault("emby", path=".*", status=401, times=-1)
        result = self.tool("ws-state", "--json", "report", "--live", expect=1)
        by = {b["backend"]: b for b in result.json["result"]["backends"]}
        self.assertEqual(by["emby"]["live"]["error"]["kind"], "auth", by["emby"])
        self.assertGreater(by["emby"]["live"]["bytes_received"], 0)  # the 401 answer
        self.assertEqual(by["emby"]["last_import"]["name"], "SimEmby")
        self.assertEqual(by["plex"]["live"]["name"], "SimPlex")
        self.assertEqual([(e["backend"], e["kind"]) for e in result.json["errors"]],
                         [("emby", "auth")])
        text = self.tool("ws-state", "report", "--live", "-s", "emby", expect=1).stdout
        self.assertIn("live:            FAILED (auth)", text)
        self.assertNotIn("plex (plex)", text)

    def test_before_any_run_nothing_is_created(self):
        text = self.tool("ws-state", "report").stdout
        self.assertIn("(none yet: no tool has run)", text)
        self.assertIn("last import saw: nothing yet", text)
        self.assertFalse(os.path.exists(self.state_dir), os.listdir(self.tmp))


class ReportWebhookQueue(test_webhook.WebhookCase):
    """The queue section: pending and failed counts, and the last errors."""

    def test_failed_event_with_its_error(self):
        self.ws("ws-sync")
        self.start()
        plex_key = self.sim.item("plex", "m3")["id"]
        self.sim.fault("plex", path=f"/library/metadata/{plex_key}$", status=404, times=-1)
        body, content_type = test_webhook.multipart(
            {"payload": test_webhook.plex_event("media.scrobble", plex_key)})
        status, text = test_webhook.post(self.url, body, content_type,
                                         user_agent="PlexMediaServer/1.41.3.9314")
        self.assertEqual(status, 200, text)
        event_id = int(text.split("#")[1])
        self.wait_for(lambda: self.ws("ws-state", "report")["result"]["webhook"]["failed"] == 1,
                      15, "the event failed")
        self.stop()
        doc = self.ws("ws-state", "report")
        queue = doc["result"]["webhook"]
        self.assertEqual((queue["queue_exists"], queue["pending"], queue["failed"]), (True, 0, 1))
        [error] = queue["last_errors"]
        self.assertEqual((error["id"], error["state"], error["source"], error["event"]),
                         (event_id, "failed", "plex", "media.scrobble"))
        self.assertEqual(error["error"], f"plex has no item {plex_key}")
        text = self.run_tool("ws-state", "report").stdout
        self.assertIn("0 pending, 1 failed", text)
        self.assertIn(f"plex has no item {plex_key}", text)
        self.assertNotIn(test_webhook.API_KEY, text + json.dumps(doc))
        self.assert_no_secret(text + json.dumps(doc))


if __name__ == "__main__":
    unittest.main()
