# SPDX-License-Identifier: MIT
"""Every failure class gets its exit code, leaves no half-written state, and the next run
converges. Faults are injected into ws-simulator (127.0.0.1 only)."""
import fcntl
import os
import signal
import sqlite3
import subprocess
import time
import unittest

import worlds
from wstest import WsTestCase, binary


class ImportFailures(WsTestCase):
    world = worlds.household()

    def cursor(self, backend):
        db = sqlite3.connect(f"{self.state_dir}/state.db")
        row = db.execute("SELECT value FROM cursors WHERE backend=? AND kind='import'",
                         (backend,)).fetchone()
        return row[0] if row else None

    def test_401_on_one_backend_is_partial_and_never_leaks_the_token(self):
        self.write_config(jellyfin={"token": "wrong-token-abcdef123456"})
        result = self.run_tool("ws-import", "--json", "-vv")
        self.assertEqual(result.code, 1, result)
        self.assertEqual(result.json["status"], "partial")
        errors = result.json["errors"]
        self.assertEqual([(e["backend"], e["kind"]) for e in errors], [("jellyfin", "auth")])
        backends = result.json["result"]["identities"]["main"]["backends"]
        self.assertEqual(backends["jellyfin"]["status"], "failed")
        self.assertEqual(backends["plex"]["status"], "ok")
        for text in (result.stdout, result.stderr):
            self.assertNotIn("wrong-token-abcdef123456", text)
            self.assert_no_secret(text)
        self.assertEqual(len(self.state_items()), 10)  # the others were imported

    def test_401_everywhere_selected_exits_77(self):
        self.write_config(emby={"token": "wrong-token-abcdef123456"})
        result = self.run_tool("ws-import", "--json", "-s", "emby")
        self.assertEqual(result.code, 77, result)
        self.assertEqual(result.json["status"], "error")
        self.assertIn("emby", result.stderr)
        self.assertNotIn("wrong-token-abcdef123456", result.stderr + result.stdout)

    def test_5xx_then_recovery_is_retried(self):
        self.sim.fault("plex", path="^/library/sections/1/all$", status=503, times=2,
                       retry_after="0")
        doc = self.ws("ws-import", "-s", "plex")
        self.assertEqual(doc["result"]["identities"]["main"]["backends"]["plex"]["added"], 9)
        statuses = [r["status"] for r in self.sim.requests("plex")]
        self.assertEqual(statuses.count(503), 2)

    def test_429_with_retry_after_is_honoured(self):
        self.sim.fault("jellyfin", path="/[Ii]tems$", status=429, times=1, retry_after="1")
        start = time.monotonic()
        self.ws("ws-import", "-s", "jellyfin")
        self.assertGreaterEqual(time.monotonic() - start, 0.9)

    def test_persistent_5xx_exits_75_and_keeps_the_cursor(self):
        self.ws("ws-import")
        before = self.cursor("jellyfin")
        self.assertIsNotNone(before)
        self.sim.fault("jellyfin", path="/[Ii]tems$", status=503, times=-1, retry_after="0")
        result = self.run_tool("ws-import", "--json", "-s", "jellyfin", env={"WS_FAKE_NOW": str(before + 100)})
        self.assertEqual(result.code, 75, result)
        self.assertEqual(result.json["errors"][0]["kind"], "tempfail")
        self.assertEqual(self.cursor("jellyfin"), before)

    def test_failed_page_fails_the_backend_and_changes_nothing(self):
        self.ws("ws-import")
        self.sim.set_state("emby", key="m3", played=True, last_played=1800000000)
        # The count request and the first page pass, every later page fails.
        self.sim.fault("emby", path="/[Ii]tems$", status=500, times=-1, skip=2, retry_after="0")
        result = self.run_tool("ws-import", "--json")
        self.assertEqual(result.code, 1, result)
        self.assertFalse(self.item_by_title("Gamma (2003)")["watched"])
        self.sim.clear_faults()
        self.ws("ws-import")
        self.assertTrue(self.item_by_title("Gamma (2003)")["watched"])

    def test_timeout_exits_75(self):
        self.sim.fault("emby", path="/[Uu]sers/[^/]+/[Ii]tems$", delay_ms=2500, times=-1)
        start = time.monotonic()
        result = self.run_tool("ws-import", "--json", "-s", "emby", "--timeout", "1")
        self.assertEqual(result.code, 75, result)
        self.assertLess(time.monotonic() - start, 30)
        self.assertIn("emby", result.json["errors"][0]["message"])

    def test_malformed_and_truncated_bodies_exit_76(self):
        for body in ("malformed", "truncated"):
            with self.subTest(body=body):
                self.sim.clear_faults()
                self.sim.fault("plex", path="^/library/sections/2/all$", body=body, times=-1)
                result = self.run_tool("ws-import", "--json", "-s", "plex")
                self.assertEqual(result.code, 76, result)
                self.assertEqual(result.json["errors"][0]["kind"], "protocol")
                self.assertEqual(self.state_items(), [])

    def test_unreachable_server_exits_75(self):
        self.write_config(plex={"url": "http://127.0.0.1:9"})
        result = self.run_tool("ws-import", "--json", "-s", "plex")
        self.assertEqual(result.code, 75, result)

    def test_wrong_server_uuid_is_refused(self):
        self.write_config(plex={"uuid": "f" * 40})
        result = self.run_tool("ws-import", "--json", "-s", "plex")
        self.assertNotEqual(result.code, 0, result)
        self.assertIn("uuid", result.json["errors"][0]["message"])
        self.assertEqual(self.state_items(), [])

    def test_held_lock_exits_75(self):
        os.makedirs(self.state_dir, exist_ok=True)
        with open(os.path.join(self.state_dir, "watchstate.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            result = self.run_tool("ws-import", "--json")
        self.assertEqual(result.code, 75, result)
        self.assertIn("lock", result.json["errors"][0]["message"])

    def test_sigterm_mid_run_rolls_back_and_next_run_converges(self):
        self.sim.fault("emby", path="/[Ii]tems$", delay_ms=1500, times=-1)
        proc = subprocess.Popen([binary("ws-import"), "--json", "-c", self.config_file],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 143, err)
        self.assertIn('"exit_code":143', out)
        self.sim.clear_faults()
        doc = self.ws("ws-import")
        self.assertEqual(len(self.state_items()), 10)
        self.assertEqual(doc["status"], "ok")


class ConfigFailures(WsTestCase):
    world = worlds.household()

    def test_bad_config_exits_78_naming_file_line_and_key(self):
        with open(self.config_file, "w") as f:
            f.write("backends:\n  plex:\n    type: plax\n    url: http://127.0.0.1:1\n    token: x\n")
        result = self.run_tool("ws-import", "--json")
        self.assertEqual(result.code, 78, result)
        message = result.json["errors"][0]["message"]
        self.assertIn("config.yaml:3", message)
        self.assertIn("type", message)
        self.assertEqual(self.sim.requests("plex"), [])
        self.assertFalse(os.path.exists(os.path.join(self.state_dir, "state.db")))

    def test_yaml_syntax_error_exits_78(self):
        with open(self.config_file, "w") as f:
            f.write("backends: [unclosed\n")
        result = self.run_tool("ws-import", "--json")
        self.assertEqual(result.code, 78, result)

    def test_missing_config_exits_78(self):
        result = self.run_tool("ws-import", "--json", "-c", os.path.join(self.tmp, "nope.yaml"),
                               config=False)
        self.assertEqual(result.code, 78, result)
        self.assertIn("nope.yaml", result.json["errors"][0]["message"])

    def test_readable_config_with_token_warns(self):
        os.chmod(self.config_file, 0o644)
        result = self.run_tool("ws-import", "-s", "plex")
        self.assertEqual(result.code, 0, result)
        self.assertIn("can be read by other users", result.stderr)
        self.assert_no_secret(result.stderr)

    def test_bad_flag_exits_64(self):
        result = self.run_tool("ws-import", "--json", "--no-such-flag")
        self.assertEqual(result.code, 64, result)
        self.assertEqual(result.json["status"], "error")


class Cli(unittest.TestCase):
    def test_help_and_version(self):
        for tool in ("ws-import", "ws-export", "ws-sync", "ws-state", "ws-backup", "ws-parity", "ws-backend"):
            with self.subTest(tool=tool):
                out = subprocess.run([binary(tool), "--help"], capture_output=True, text=True, timeout=30)
                self.assertEqual(out.returncode, 0)
                self.assertIn("--config", out.stdout)
                out = subprocess.run([binary(tool), "--version"], capture_output=True, text=True, timeout=30)
                self.assertEqual(out.returncode, 0)
                self.assertRegex(out.stdout, rf"^{tool} \d+\.\d+\.\d+")


if __name__ == "__main__":
    unittest.main()
