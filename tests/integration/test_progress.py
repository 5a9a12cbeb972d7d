# SPDX-License-Identifier: MIT
"""Progress bars: on a terminal's stderr only; never with --json or -q, never on a pipe (cron)."""
import os
import pty
import select
import subprocess

import worlds
from wstest import WsTestCase, binary


class Progress(WsTestCase):
    world = worlds.household()

    def run_on_terminal(self, tool, *args, env=None):
        """Run `tool` with stderr on a pseudo-terminal and stdout on a pipe."""
        master, slave = pty.openpty()
        full_env = dict(os.environ)
        full_env.pop("JOURNAL_STREAM", None)
        full_env["TERM"] = "xterm"
        full_env.update(env or {})
        proc = subprocess.Popen([binary(tool), "-c", self.config_file, *args],
                                stdout=subprocess.PIPE, stderr=slave, env=full_env)
        os.close(slave)
        stderr = b""
        for _ in range(600):  # at most 120 s
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the terminal closed with the process
                    break
                if not chunk:
                    break
                stderr += chunk
            elif proc.poll() is not None:
                break
        os.close(master)
        stdout = proc.stdout.read()
        proc.stdout.close()
        code = proc.wait(timeout=30)
        return code, stdout.decode(), stderr.decode(errors="replace")

    def test_bars_for_listing_and_writing_on_a_terminal(self):
        code, stdout, stderr = self.run_on_terminal("ws-sync")
        self.assertEqual(code, 0, stderr)
        for name in ("plex", "jellyfin", "emby"):
            self.assertIn(f"{name}  listing  [", stderr)
        self.assertIn("writing  [", stderr)
        self.assertIn("\r\x1b[K", stderr)  # drawn in place, erased when done
        self.assertNotIn("listing", stdout)
        self.assert_no_secret(stderr)

    def test_no_bar_with_json_quiet_or_a_dumb_terminal(self):
        for args, env in ((["--json"], None), (["-q"], None), ([], {"TERM": "dumb"}),
                          ([], {"JOURNAL_STREAM": "8:1234"})):
            with self.subTest(args=args, env=env):
                code, stdout, stderr = self.run_on_terminal("ws-import", "--full", *args, env=env)
                self.assertEqual(code, 0, stderr)
                self.assertNotIn("listing", stderr)
                self.assertNotIn("\r", stderr)

    def test_no_bar_on_a_pipe(self):
        proc = subprocess.run([binary("ws-sync"), "-c", self.config_file], capture_output=True,
                              text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr, "")
        self.assertNotIn("listing", proc.stdout)
