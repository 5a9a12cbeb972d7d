# SPDX-License-Identifier: MIT
"""The installed bash completion, one file per tool: sourced in a plain bash (no
bash-completion package needed) it registers the tool and offers exactly what --help lists:
every option of the tool and of each subcommand, the subcommands, and the backend and identity
names of the config in use."""
import os
import shlex
import shutil
import unittest

import pkgtest
from pkgtest import TOOLS

EXAMPLE_BACKENDS = ["home_plex", "living_room_jf", "den_emby"]
EXAMPLE_IDENTITIES = ["main", "alice", "kid"]


class Completion(pkgtest.InstalledTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bash = shutil.which("bash")

    def setUp(self):
        super().setUp()
        if not self.bash:
            self.skipTest("bash is not installed")

    def script(self, tool):
        return self.path(pkgtest.ENV["WS_BASH_COMPLETIONDIR"], tool)

    def complete(self, tool, *words, env=None):
        """COMPREPLY for the command line `tool words...` with the cursor on the last word."""
        line = [self.path(pkgtest.ENV["WS_INSTALL_BINDIR"], tool)] + list(words)
        program = "\n".join([
            f"source {shlex.quote(self.script(tool))} || exit 3",
            f"COMP_WORDS=({' '.join(shlex.quote(w) for w in line)})",
            f"COMP_CWORD={len(line) - 1}",
            "_ws_complete || exit 4",
            'printf "%s\\n" "${COMPREPLY[@]}"',
        ])
        full_env = dict(os.environ)
        for name in ("WS_CONFIG", "XDG_CONFIG_HOME"):
            full_env.pop(name, None)
        full_env["HOME"] = self.tmp
        full_env.update(env or {})
        proc = pkgtest.run([self.bash, "--norc", "--noprofile", "-c", program], env=full_env,
                           timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr, "")
        return [w for w in proc.stdout.splitlines() if w]

    def positional_prefix(self, tool):
        # ws-backend takes the backend name before its report (subcommand).
        return ["home_plex"] if tool == "ws-backend" else []

    def test_every_tool_is_registered(self):
        for tool in TOOLS:
            with self.subTest(tool=tool):
                proc = pkgtest.run([self.bash, "--norc", "--noprofile", "-c",
                                    f"source {shlex.quote(self.script(tool))}; complete -p {tool}"],
                                   timeout=30)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertIn("_ws_complete", proc.stdout)

    def test_options_are_those_of_help(self):
        for tool in TOOLS:
            for sub, help_ in pkgtest.all_help(tool):
                words = (self.positional_prefix(tool) + [sub]) if sub else []
                with self.subTest(tool=tool, subcommand=sub):
                    offered = set(self.complete(tool, *words, "-"))
                    expected = set(help_.options) | set(pkgtest.tool_help(tool).options)
                    self.assertEqual(sorted(offered), sorted(expected))
                    long_only = set(self.complete(tool, *words, "--"))
                    self.assertEqual(sorted(long_only), sorted(o for o in expected if o.startswith("--")))

    def test_subcommands_are_those_of_help(self):
        for tool in TOOLS:
            subs = pkgtest.tool_help(tool).subcommands
            with self.subTest(tool=tool):
                offered = self.complete(tool, *self.positional_prefix(tool), "")
                self.assertEqual(sorted(offered), sorted(subs))

    def example_config(self):
        config = os.path.join(self.tmp, "config.yaml")
        shutil.copyfile(pkgtest.EXAMPLE_CONFIG, config)
        return config

    def test_backend_and_identity_names_come_from_the_config(self):
        config = self.example_config()
        self.assertEqual(self.complete("ws-sync", "-c", config, "-s", ""), EXAMPLE_BACKENDS)
        self.assertEqual(self.complete("ws-import", "--config", config, "-x", "l"),
                         ["living_room_jf"])
        self.assertEqual(self.complete("ws-export", "-u", "", env={"WS_CONFIG": config}),
                         EXAMPLE_IDENTITIES)
        # The per-user config file when neither -c nor WS_CONFIG is given.
        os.makedirs(os.path.join(self.tmp, "xdg", "watchstate"))
        shutil.copyfile(config, os.path.join(self.tmp, "xdg", "watchstate", "config.yaml"))
        self.assertEqual(
            self.complete("ws-state", "--select-backend", "",
                          env={"XDG_CONFIG_HOME": os.path.join(self.tmp, "xdg")}),
            EXAMPLE_BACKENDS)
        if "ws-backend" in TOOLS:
            self.assertEqual(self.complete("ws-backend", "-c", config, "den"), ["den_emby"])

    def test_values_of_options(self):
        self.assertEqual(sorted(self.complete("ws-parity", "--check", "")),
                         sorted(pkgtest.parity_checks()))
        # A value nothing is known about completes to nothing rather than to options.
        self.assertEqual(self.complete("ws-sync", "--timeout", ""), [])
        restore = self.complete("ws-backup", "-c", self.example_config(), "restore",
                                os.path.join(self.tmp, "conf"))
        self.assertEqual(restore, [os.path.join(self.tmp, "config.yaml")])


if __name__ == "__main__":
    unittest.main()
