# SPDX-License-Identifier: MIT
"""The benchmark harness of tests/bench still runs: bench_all.py (every figure beside the
machine's limits) and compare.py (two builds by turns), on a few hundred items.

No figure is judged here (a timed test says nothing on a shared machine): what is checked is
that each command runs every tool against the simulator and reports it, that compare.py takes
turns and computes its paired differences and sign test, and that a failed run stops it
instead of becoming a figure."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

from wstest import BIN_DIR, binary

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench")
sys.path.insert(0, BENCH)

import compare  # noqa: E402


def run(script, *args, timeout=600):
    return subprocess.run([sys.executable, os.path.join(BENCH, script), *args],
                          capture_output=True, text=True, timeout=timeout)


class Compare(unittest.TestCase):
    def setUp(self):
        binary("ws-simulator")  # skipped where the tools are not built

    def compare(self, *args):
        res = run("compare.py", "--a", BIN_DIR, "--b", BIN_DIR, "--items", "150", "--json", *args)
        self.assertEqual(res.returncode, 0, res.stderr)
        return json.loads(res.stdout)

    def test_first_import_runs_the_builds_by_turns(self):
        doc = self.compare("--rounds", "3")
        self.assertEqual(doc["case"], "first-import")
        order = [(r["round"], r["build"]) for r in doc["runs"]]
        self.assertEqual(order, [(0, "a"), (0, "b"), (1, "b"), (1, "a"), (2, "a"), (2, "b")])
        for r in doc["runs"]:
            self.assertGreater(r["changed"], 150)  # each run a first import: a wiped state
            self.assertGreater(r["wall"], 0)
            self.assertGreater(r["rss"], 1)
            self.assertAlmostEqual(r["cpu"], r["user"] + r["sys"], places=6)
        for figure, paired in doc["paired"].items():
            self.assertEqual(paired["pairs"], 3, figure)
            self.assertLessEqual(paired["b_less"] + paired["b_more"], 3)
            self.assertTrue(0 < paired["p_value"] <= 1)
            diffs = sorted(next(r[figure] for r in doc["runs"] if r["round"] == n and r["build"] == "b")
                           - next(r[figure] for r in doc["runs"] if r["round"] == n and r["build"] == "a")
                           for n in range(3))
            self.assertAlmostEqual(paired["median"], diffs[1], places=9)

    def test_no_change_cases_repeat_one_run(self):
        for case in ("no-change-import", "no-change-sync"):
            with self.subTest(case=case):
                doc = self.compare("--case", case, "--rounds", "1")
                self.assertEqual(doc["tool"], "ws-sync" if case.endswith("sync") else "ws-import")
                self.assertEqual([r["build"] for r in doc["runs"]], ["a", "b"])
                self.assertEqual([r["changed"] for r in doc["runs"]], [0, 0])

    def test_a_failed_run_stops_the_comparison(self):
        with tempfile.TemporaryDirectory() as fake:
            tool = os.path.join(fake, "ws-import")
            with open(tool, "w") as f:
                f.write("#!/bin/sh\necho 'ws-import: error: the state database is locked' >&2\nexit 75\n")
            os.chmod(tool, 0o755)
            res = run("compare.py", "--a", fake, "--b", BIN_DIR, "--items", "150", "--rounds", "2")
        self.assertEqual(res.returncode, 1)
        self.assertEqual(res.stdout, "")  # no table of figures
        self.assertIn("a's ws-import", res.stderr)
        self.assertIn("exited 75: ws-import: error: the state database is locked", res.stderr)

    def test_a_directory_without_the_tools_is_named(self):
        with tempfile.TemporaryDirectory() as empty:
            res = run("compare.py", "--a", BIN_DIR, "--b", empty)
        self.assertEqual(res.returncode, 1)
        self.assertIn(f"--b {empty}: no ws-import there", res.stderr)

    def test_sign_test(self):
        self.assertEqual(compare.sign_test(0, 0), 1.0)
        self.assertEqual(compare.sign_test(5, 5), 1.0)
        self.assertAlmostEqual(compare.sign_test(10, 0), 2 / 1024)
        self.assertAlmostEqual(compare.sign_test(0, 10), 2 / 1024)
        self.assertAlmostEqual(compare.sign_test(13, 3), 2 * (1 + 16 + 120 + 560) / 65536)


class BenchAll(unittest.TestCase):
    def test_every_tool_is_measured(self):
        binary("ws-simulator")
        limits = os.path.join(BIN_DIR, "..", "tests", "ws-bench-limits")
        if not os.path.exists(limits):
            raise unittest.SkipTest(f"{limits} not built")
        res = run("bench_all.py", "--items", "200", "--small", "100", "--no-webhook",
                  "--bin", BIN_DIR, "--limits", limits)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("Machine limits (measured now): parsing 200 Jellyfin items", res.stdout)
        self.assertNotIn("EXIT", res.stdout)  # a tool that failed is flagged on its row
        rows = [line.split("  ")[1].strip() for line in res.stdout.splitlines()
                if line.startswith("  ") and "s/" in line]
        for label in ("first ws-import", "no-change ws-import", "first ws-sync (sends the differences)",
                      "no-change ws-sync", "ws-export (nothing to write)", "ws-parity", "ws-state list",
                      "first ws-sync"):
            self.assertIn(label, rows)
        self.assertEqual(len(rows), 13)  # 9 runs on 3 x 200 items, 4 on 3 x 100


if __name__ == "__main__":
    unittest.main()
