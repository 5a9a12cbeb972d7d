# SPDX-License-Identifier: MIT
"""Secrets never leak; TLS is verified unless a backend opts out; a token-holding config that
others can read gets a warning. Every server listens on 127.0.0.1."""
import glob
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import endstate
import worlds
from wstest import Simulator, WsTestCase, binary, to_yaml

# Distinctive secrets: long enough that an accidental match is impossible.
PLEX_OWNER = "plexOwnerSecretTok3n5f1a"
PLEX_ALICE = "plexAliceSecretTok3n77c2"
JF_KEY = "jellyfinApiSecretK3y0e4d9b"
EMBY_KEY = "embyApiSecretK3y8a2c61f3"
WEBHOOK_KEY = "webhookApiSecretK3y4b7e0"
BAD_TOKEN = "refusedTokenSecret9d3f11"
SECRETS = (PLEX_OWNER, PLEX_ALICE, JF_KEY, EMBY_KEY, WEBHOOK_KEY, BAD_TOKEN)


def secret_world():
    world = worlds.household()
    servers = world["servers"]
    servers["plex"]["users"] = [{"id": "1", "name": "owner", "token": PLEX_OWNER},
                                {"id": "1001", "name": "alice", "token": PLEX_ALICE}]
    servers["jellyfin"]["token"] = JF_KEY
    servers["emby"]["token"] = EMBY_KEY
    return world


class Secrets(WsTestCase):
    world = secret_world()

    def setUp(self):
        super().setUp()
        self.outputs = []  # (what, text) of every run
        self.env = {"WS_TEST_EMBY_KEY": EMBY_KEY, "WS_TEST_BAD": BAD_TOKEN}
        self.token_file = os.path.join(self.tmp, "jf.token")
        with open(self.token_file, "w") as f:
            f.write(JF_KEY + "\n")
        os.chmod(self.token_file, 0o600)
        self.write_secret_config()

    def write_secret_config(self, **overrides):
        backends = self.sim.config_backends()
        backends["plex"]["token"] = PLEX_OWNER
        del backends["jellyfin"]["token"]
        backends["jellyfin"]["token_file"] = self.token_file
        backends["emby"]["token"] = "${WS_TEST_EMBY_KEY}"
        for name, values in overrides.items():
            backends[name].update(values)
        config = {"state_dir": self.state_dir,
                  "http": {"timeout": 5, "retries": 1, "backoff_ms": 20, "page_size": 3},
                  "webhook": {"listen": "127.0.0.1:8686", "api_key": WEBHOOK_KEY},
                  "backends": backends,
                  "identities": {"alice": {"plex": {"user": "1001", "token": PLEX_ALICE}}}}
        with open(self.config_file, "w") as f:
            f.write(to_yaml(config) + "\n")
        os.chmod(self.config_file, 0o600)

    def tool(self, *args, expect=None):
        result = self.run_tool(*args, env=self.env)
        self.outputs.append((" ".join(args), result.stdout + "\n" + result.stderr))
        if expect is not None:
            self.assertIn(result.code, expect, result)
        return result

    def every_tool(self, verbosity):
        v = [verbosity] if verbosity else []
        self.tool("ws-import", "--json", *v, expect=(0,))
        self.tool("ws-import", *v, "--full", expect=(0,))
        self.tool("ws-export", "--json", *v, "--dry-run", expect=(0,))
        self.tool("ws-export", "--json", *v, expect=(0,))
        self.tool("ws-sync", "--json", *v, expect=(0,))
        self.tool("ws-sync", *v, expect=(0,))
        self.tool("ws-state", "--json", *v, "list", expect=(0,))
        self.tool("ws-state", *v, "list", expect=(0,))
        self.tool("ws-state", "--json", *v, "show", "1", expect=(0,))
        self.tool("ws-state", *v, "report", expect=(0,))
        self.tool("ws-state", "--json", *v, "report", "--live", expect=(0,))
        for fmt in ([], ["--json"]):   # the file ws-state report writes is searched too
            report_file = os.path.join(self.tmp, "report.out")
            self.tool("ws-state", *fmt, *v, "report", "--output", report_file, expect=(0,))
            with open(report_file) as f:
                self.outputs.append((f"ws-state {' '.join(fmt)} report --output", f.read()))
        self.tool("ws-backup", "--json", *v, "create", expect=(0,))
        self.tool("ws-backup", "--json", *v, "list", expect=(0,))
        self.tool("ws-backup", "--json", *v, "prune", "--dry-run", expect=(0,))
        backup = sorted(glob.glob(os.path.join(self.state_dir, "backups", "main.plex.????????.json*")))[0]
        self.tool("ws-backup", "--json", *v, "restore", backup, "-s", "jellyfin", expect=(0,))
        self.tool("ws-backup", *v, "restore", backup, "-s", "emby", "--execute", expect=(0,))
        self.tool("ws-parity", "--json", *v, expect=(0, 1))
        self.tool("ws-parity", "--json", *v, "--live", expect=(0, 1))
        self.tool("ws-playlist", "--json", *v, "--dry-run", expect=(0,))
        self.tool("ws-playlist", "--json", *v, expect=(0,))
        self.tool("ws-playlist", *v, "-u", "alice", expect=(0, 1))
        self.tool("ws-config", "--json", *v, "check", expect=(0,))
        self.tool("ws-config", *v, "check", expect=(0,))
        self.tool("ws-config", "--json", *v, "webhook", "-s", "jellyfin", "-s", "emby", expect=(0, 1))
        self.tool("ws-config", *v, "webhook", "--dry-run", expect=(0, 1, 76, 77))
        self.tool("ws-config", "--json", *v, "add", "jf2", "--type", "jellyfin", "--url",
                  self.sim.info["jellyfin"]["url"], "--token-file", self.token_file, "--user",
                  "alice", expect=(0,))
        self.tool("ws-config", *v, "add", "emby2", "--type", "emby", "--url",
                  self.sim.info["emby"]["url"], "--token-env", "WS_TEST_EMBY_KEY", "--user",
                  "alice", expect=(0,))
        for name in ("plex", "jellyfin", "emby"):
            for sub in (["info"], ["users"], ["libraries"], ["search", "a"], ["item", "1"],
                        ["unmatched"], ["mismatched"], ["stale"]):
                self.tool("ws-backend", "--json", *v, name, *sub, expect=(0, 1))
                self.tool("ws-backend", *v, name, *sub, expect=(0, 1))

    def failing_runs(self):
        """Runs that fail while every secret is configured, at the highest verbosity."""
        self.sim.fault("plex", path=".*", status=500, times=-1, retry_after="0")
        self.tool("ws-import", "--json", "-vv", expect=(1,))
        self.tool("ws-backup", "-vv", "create", "-s", "plex", expect=(75,))
        self.sim.clear_faults()
        self.sim.fault("jellyfin", path=r"/[Ii]tems$", body="malformed", times=-1)
        self.tool("ws-sync", "--json", "-vv", expect=(1,))
        self.tool("ws-backend", "-vv", "jellyfin", "unmatched", expect=(76,))
        self.tool("ws-playlist", "--json", "-vv", expect=(1,))
        self.sim.clear_faults()
        self.sim.fault("emby", path=r"/[Ii]tems$", delay_ms=1500, times=-1)
        self.tool("ws-import", "-vv", "-s", "emby", "--timeout", "1", expect=(75,))
        self.sim.clear_faults()
        # Refused tokens: the configured (wrong) token must not be echoed either.
        self.write_secret_config(plex={"token": BAD_TOKEN}, emby={"token": BAD_TOKEN})
        self.tool("ws-import", "--json", "-vv", expect=(1,))
        self.tool("ws-export", "-vv", "-s", "plex", "-u", "main", expect=(77,))
        self.tool("ws-backend", "--json", "-vv", "emby", "info", expect=(77,))
        self.tool("ws-state", "--json", "-vv", "report", "--live", expect=(1,))
        self.tool("ws-config", "--json", "-vv", "check", expect=(77,))
        self.tool("ws-config", "-vv", "add", "bad", "--type", "emby", "--url",
                  self.sim.info["emby"]["url"], "--token-env", "WS_TEST_BAD", expect=(64, 77))
        # Unreachable, and a server that is not the configured one.
        self.write_secret_config(plex={"url": f"http://127.0.0.1:{endstate.free_port()}"},
                                 emby={"uuid": "0" * 32})
        self.tool("ws-sync", "--json", "-vv", expect=(1,))
        self.tool("ws-backup", "--json", "-vv", "create", expect=(1,))
        self.write_secret_config()
        # Bad configs that hold secrets: the message names file, line and key, not the values.
        with open(self.config_file) as f:
            good = f.read()
        for bad in (good.replace("type: \"emby\"", "type: \"embyy\""),
                    good + "unknown_key: 1\n",
                    good.replace(f"\"{PLEX_OWNER}\"", f"[\"{PLEX_OWNER}\"]"),
                    good.replace(f"api_key: \"{WEBHOOK_KEY}\"", f"api_key: {{{WEBHOOK_KEY}: 1}}"),
                    good.replace(f"token: \"{PLEX_ALICE}\"", f"token: \"{PLEX_ALICE}\n")):
            with open(self.config_file, "w") as f:
                f.write(bad)
            self.tool("ws-import", "--json", "-vv", expect=(78,))
            self.tool("ws-state", "-vv", "list", expect=(78,))
            self.tool("ws-state", "-vv", "report", expect=(78,))
        with open(self.config_file, "w") as f:
            f.write(good)

    def assert_nowhere(self):
        self.assertGreater(len(self.outputs), 50)
        for what, text in self.outputs:
            for secret in SECRETS:
                self.assertNotIn(secret, text, f"{secret} leaked by: {what}\n{text[:3000]}")
        files = 0
        for root, _dirs, names in os.walk(self.state_dir):
            for name in names:
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    data = f.read()
                if name.endswith(".gz"):
                    data = gzip.decompress(data)
                files += 1
                for secret in SECRETS:
                    self.assertNotIn(secret.encode(), data, f"{secret} stored in {path}")
        self.assertGreaterEqual(files, 4)  # state.db (+ WAL), lock, backups
        print(f"\nsecurity: {len(self.outputs)} runs and {files} files searched for "
              f"{len(SECRETS)} secrets", file=sys.stderr)

    def test_no_secret_in_any_output_or_file(self):
        self.every_tool(None)
        self.every_tool("-vv")
        self.failing_runs()
        # Another identity (alice's own Plex token) goes the same ways.
        self.tool("ws-import", "--json", "-vv", "-u", "alice", expect=(0,))
        self.tool("ws-sync", "-vv", "-u", "alice", expect=(0,))
        self.tool("ws-backup", "--json", "-vv", "create", "-u", "alice", expect=(0,))
        self.assert_nowhere()


class ConfigPermissions(WsTestCase):
    world = worlds.household()

    def test_token_config_readable_by_others_warns(self):
        for mode, warns in ((0o600, False), (0o640, True), (0o604, True), (0o400, False)):
            with self.subTest(mode=oct(mode)):
                os.chmod(self.config_file, mode)
                result = self.run_tool("ws-import", "-s", "plex")
                self.assertEqual(result.code, 0, result)
                self.assertEqual("can be read by other users" in result.stderr, warns, result)
                self.assert_no_secret(result.stderr)

    def test_config_without_inline_token_does_not_warn(self):
        token_file = os.path.join(self.tmp, "plex.token")
        with open(token_file, "w") as f:
            f.write(self.sim.info["plex"]["token"])
        os.chmod(token_file, 0o600)
        backends = self.sim.config_backends()
        backends = {"plex": backends["plex"]}
        del backends["plex"]["token"]
        backends["plex"]["token_file"] = token_file
        self.write_config(backends=backends)
        os.chmod(self.config_file, 0o644)
        result = self.run_tool("ws-import")
        self.assertEqual(result.code, 0, result)
        self.assertNotIn("can be read by other users", result.stderr)


class Tls(unittest.TestCase):
    """A simulator behind a self-signed certificate: refused by default, accepted only with
    options.verify_tls: false, and the refusal is not "try again later"."""

    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("openssl not installed")
        cls.tmp = tempfile.mkdtemp(prefix="ws-tls-")
        cls.cert = os.path.join(cls.tmp, "cert.pem")
        cls.key = os.path.join(cls.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", cls.key, "-out", cls.cert],
                       check=True, capture_output=True, timeout=120)
        cls.sim = Simulator(cls.tmp, worlds.household(),
                            ["--tls-cert", cls.cert, "--tls-key", cls.key])

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.state_dir = tempfile.mkdtemp(prefix="state-", dir=self.tmp)
        self.config_file = os.path.join(self.state_dir, "config.yaml")

    def write_config(self, **options):
        backends = self.sim.config_backends()
        for entry in backends.values():
            self.assertTrue(entry["url"].startswith("https://127.0.0.1:"), entry)
            if options:
                entry["options"] = dict(options)
        config = {"state_dir": self.state_dir,
                  "http": {"timeout": 10, "retries": 2, "backoff_ms": 50, "page_size": 3},
                  "backends": backends}
        with open(self.config_file, "w") as f:
            f.write(to_yaml(config) + "\n")
        os.chmod(self.config_file, 0o600)

    def run_tool(self, *args):
        proc = subprocess.run([binary(args[0]), *args[1:], "-c", self.config_file],
                              capture_output=True, text=True, timeout=120)
        from wstest import Result
        return Result(proc)

    def test_self_signed_certificate_is_refused_by_default(self):
        self.write_config()
        for server in ("plex", "jellyfin", "emby"):
            with self.subTest(server=server):
                result = self.run_tool("ws-import", "--json", "-s", server)
                self.assertEqual(result.code, 76, result)
                [error] = result.json["errors"]
                self.assertEqual((error["backend"], error["kind"]), (server, "protocol"))
                self.assertTrue(error["message"].startswith(f"{server}: TLS failure"), error)
                self.assertIn("certificate", error["message"])
                self.assertIn("verify_tls", error["message"])
                # Not retried (http.retries is 2): asking again gets the same certificate.
                counts = result.json["result"]["identities"]["main"]["backends"][server]
                self.assertEqual(counts["requests"], 1, result)
        result = self.run_tool("ws-backend", "--json", "emby", "info")
        self.assertEqual(result.code, 76, result)
        result = self.run_tool("ws-sync", "--json")
        self.assertEqual(result.code, 76, result)
        self.assertEqual(len(result.json["errors"]), 3, result)

    def test_verify_tls_false_accepts_it(self):
        self.write_config(verify_tls=False)
        result = self.run_tool("ws-sync", "--json")
        self.assertEqual(result.code, 0, result)
        result = self.run_tool("ws-state", "--json", "list")
        self.assertEqual(len(result.json["result"]["items"]), 10, result)
        result = self.run_tool("ws-backup", "--json", "create")
        self.assertEqual(result.code, 0, result)


if __name__ == "__main__":
    unittest.main()
