# SPDX-License-Identifier: MIT
"""share/watchstate/config.example.yaml: it loads as it is, and it names every key the config
loader accepts. The accepted keys are asked from the loader itself: an unknown key at each
level of the file is an error that lists the keys of that level."""
import json
import os
import re
import shutil
import stat
import tempfile
import unittest

import pkgtest
from pkgtest import EXAMPLE_CONFIG

# Environment variables the example's ${NAME} references need, and the files its relative
# token_file entries name (next to the config).
EXAMPLE_ENV = {"PLEX_TOKEN": "plex-token-1", "EMBY_TOKEN": "emby-token-1",
               "WS_API_KEY": "webhook-key-1", "ALICE_PLEX_TOKEN": "alice-token-1"}
EXAMPLE_FILES = {"jellyfin_api_key": "jf-key-1\n"}

# A minimal valid config; each probe adds one unknown key at one level of it.
BASE = """backends:
  b:
    type: plex
    url: http://127.0.0.1:9
    token: probe-token
{backend_extra}
{top_extra}"""
PROBES = {
    "top level": ("", "zz_probe: 1"),
    "http": ("", "http:\n  zz_probe: 1"),
    "progress": ("", "progress:\n  zz_probe: 1"),
    "backup": ("", "backup:\n  zz_probe: 1"),
    "history": ("", "history:\n  zz_probe: 1"),
    "webhook": ("", "webhook:\n  zz_probe: 1"),
    "matching": ("", "matching:\n  zz_probe: 1"),
    "matching.ignore[]": ("", "matching:\n  ignore:\n    - { id: tmdb://1, zz_probe: 1 }"),
    "matching.paths": ("", "matching:\n  paths:\n    zz_probe: 1"),
    "matching.guids[]": ("", "matching:\n  guids:\n    - { provider: tmdb, zz_probe: 1 }"),
    "backends.NAME": ("    zz_probe: 1", ""),
    "backends.NAME.import": ("    import:\n      zz_probe: 1", ""),
    "backends.NAME.export": ("    export:\n      zz_probe: 1", ""),
    "backends.NAME.options": ("    options:\n      zz_probe: 1", ""),
    "backends.NAME.options.client": ("    options:\n      client:\n        zz_probe: 1", ""),
    "identities.NAME.BACKEND": ("", "identities:\n  p:\n    b:\n      user: '1'\n      zz_probe: 1"),
}


class ConfigExample(unittest.TestCase):
    def setUp(self):
        pkgtest.require_environment(self)
        self.tmp = tempfile.mkdtemp(prefix="ws-pkg-config-")
        self.env = dict(os.environ)
        for name in ("WS_CONFIG", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
            self.env.pop(name, None)
        self.env["HOME"] = self.tmp

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def backup_list(self, config):
        # ws-backup list reads the config and the backups directory only: no server is asked.
        return pkgtest.run([pkgtest.binary("ws-backup"), "list", "--json", "-c", config],
                           env=self.env, timeout=60)

    def test_example_loads_unchanged(self):
        config = os.path.join(self.tmp, "config.yaml")
        shutil.copyfile(EXAMPLE_CONFIG, config)
        os.chmod(config, stat.S_IRUSR | stat.S_IWUSR)
        for name, content in EXAMPLE_FILES.items():
            with open(os.path.join(self.tmp, name), "w") as f:
                f.write(content)
        self.env.update(EXAMPLE_ENV)
        proc = self.backup_list(config)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(proc.stderr, "")
        doc = json.loads(proc.stdout)
        self.assertEqual(doc["status"], "ok")
        self.assertEqual(doc["errors"], [])
        # Nothing of the example's secrets reaches the output.
        for value in list(EXAMPLE_ENV.values()) + [c.strip() for c in EXAMPLE_FILES.values()]:
            self.assertNotIn(value, proc.stdout)

    def test_example_fails_without_its_environment(self):
        # The check above is not vacuous: the same run without the token variables is refused.
        config = os.path.join(self.tmp, "config.yaml")
        shutil.copyfile(EXAMPLE_CONFIG, config)
        for name in EXAMPLE_ENV:
            self.env.pop(name, None)
        proc = self.backup_list(config)
        self.assertEqual(proc.returncode, 78, proc.stdout + proc.stderr)

    def accepted_keys(self, level, backend_extra, top_extra):
        config = os.path.join(self.tmp, "probe.yaml")
        with open(config, "w") as f:
            f.write(BASE.format(backend_extra=backend_extra, top_extra=top_extra) + "\n")
        proc = self.backup_list(config)
        self.assertEqual(proc.returncode, 78, f"{level}: {proc.stdout}{proc.stderr}")
        message = json.loads(proc.stdout)["errors"][0]["message"]
        found = re.search(r"zz_probe: unknown key; expected one of (.+)$", message)
        self.assertIsNotNone(found, f"{level}: {message}")
        return [k.strip() for k in found.group(1).split(",")]

    def test_example_names_every_accepted_key(self):
        with open(EXAMPLE_CONFIG) as f:
            example = f.read()
        total = 0
        for level, (backend_extra, top_extra) in PROBES.items():
            keys = self.accepted_keys(level, backend_extra, top_extra)
            total += len(keys)
            for key in keys:
                with self.subTest(level=level, key=key):
                    # As a key, in block or flow style, set or in a comment.
                    shown = re.search(rf"(?m)(^|[\s{{,#]){re.escape(key)}\s*:", example)
                    self.assertTrue(shown, f"config.example.yaml does not show {level}.{key}")
        self.assertGreaterEqual(total, 30)  # the probes reached the loader's key lists


if __name__ == "__main__":
    unittest.main()
