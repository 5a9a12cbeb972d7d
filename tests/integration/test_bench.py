# SPDX-License-Identifier: MIT
"""The benchmark harness of tests/bench still runs: bench_all.py (every figure beside the
machine's limits), compare.py (two builds by turns) and record_layouts.py (two layouts of the
records, SQLite alone), on a few hundred items.

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

    def test_rescanned_servers_list_in_an_order_of_their_own(self):
        doc = self.compare("--rounds", "1", "--rescanned", "jellyfin,emby")
        self.assertEqual(doc["rescanned"], "jellyfin,emby")
        self.assertEqual([r["build"] for r in doc["runs"]], ["a", "b"])
        for r in doc["runs"]:
            self.assertGreater(r["changed"], 150)  # first imports of the rescanned world

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

    def test_instructions_are_read_from_cachegrind(self):
        # A stand-in for valgrind (the sanitized builds the suite runs cannot run under the
        # real one): it runs the tool and reports a count as cachegrind does, 5,000 more for
        # build b. What is checked is compare.py's part: the command, the count read, the sums.
        with tempfile.TemporaryDirectory() as tmp:
            builds = {}
            for build in ("a", "b"):
                builds[build] = os.path.join(tmp, f"{build}-build")
                os.mkdir(builds[build])
                for tool in ("ws-import", "ws-simulator"):
                    os.symlink(os.path.join(BIN_DIR, tool), os.path.join(builds[build], tool))
            stub = os.path.join(tmp, "valgrind")
            log = os.path.join(tmp, "valgrind.log")
            with open(stub, "w") as f:
                f.write(f"""#!{sys.executable}
import subprocess, sys
with open({log!r}, "a") as log:
    log.write(" ".join(sys.argv[1:4]) + "\\n")
tool = sys.argv[4:]
done = subprocess.run(tool)
count = 1_000_000 + (5_000 if "/b-build/" in tool[0] else 0)
print("==4242== I   refs:      {{:,}}".format(count), file=sys.stderr)
sys.exit(done.returncode)
""")
            os.chmod(stub, 0o755)
            res = run("compare.py", "--a", builds["a"], "--b", builds["b"], "--items", "150",
                      "--rounds", "3", "--instructions", "--valgrind", stub, "--json")
            self.assertEqual(res.returncode, 0, res.stderr)
            with open(log) as f:
                calls = f.read().splitlines()
        doc = json.loads(res.stdout)
        self.assertEqual(doc["measured"], "instructions")
        options = "--tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null"
        self.assertEqual(calls, [options] * 6)
        self.assertEqual([(r["build"], r["instructions"]) for r in doc["runs"]],
                         [("a", 1_000_000), ("b", 1_005_000), ("b", 1_005_000), ("a", 1_000_000),
                          ("a", 1_000_000), ("b", 1_005_000)])
        # Under valgrind, times and memory are valgrind's, not the tool's: not reported.
        self.assertEqual(list(doc["paired"]), ["instructions"])
        self.assertEqual(doc["paired"]["instructions"]["median"], 5_000)
        self.assertEqual(doc["paired"]["instructions"]["b_more"], 3)
        for r in doc["runs"]:
            self.assertGreater(r["changed"], 150)  # each a first import, run through the stand-in

    def test_instructions_need_valgrind_and_its_count(self):
        res = run("compare.py", "--a", BIN_DIR, "--b", BIN_DIR, "--instructions",
                  "--valgrind", "no-such-valgrind")
        self.assertEqual(res.returncode, 1)
        self.assertIn("--instructions needs no-such-valgrind (apt-get install valgrind)",
                      res.stderr)
        with tempfile.TemporaryDirectory() as tmp:
            silent = os.path.join(tmp, "valgrind")
            with open(silent, "w") as f:
                f.write('#!/bin/sh\nshift 3\nexec "$@"\n')  # runs the tool, reports no count
            os.chmod(silent, 0o755)
            res = run("compare.py", "--a", BIN_DIR, "--b", BIN_DIR, "--items", "150",
                      "--rounds", "1", "--instructions", "--valgrind", silent)
        self.assertEqual(res.returncode, 1)
        self.assertEqual(res.stdout, "")
        self.assertIn(f"ran under {silent}, which reported no instruction count", res.stderr)

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
        for label in ("first ws-import", "first ws-import, Jellyfin/Emby rescanned",
                      "no-change ws-import", "first ws-sync (sends the differences)",
                      "no-change ws-sync", "ws-export (nothing to write)", "ws-parity", "ws-state list",
                      "first ws-sync"):
            self.assertIn(label, rows)
        self.assertEqual(len(rows), 14)  # 10 runs on 3 x 200 items, 4 on 3 x 100


class RecordLayouts(unittest.TestCase):
    def test_both_layouts_in_both_orders(self):
        res = run("record_layouts.py", "--items", "300")
        self.assertEqual(res.returncode, 0, res.stderr)
        rows = [line.split() for line in res.stdout.splitlines() if line.endswith("s")
                and line.startswith("  ") and not line.strip().startswith("layout")]
        self.assertEqual([r[:2] for r in rows], [["byrow", "same"], ["byrow", "own"],
                                                 ["compact", "same"], ["compact", "own"]])
        for r in rows:
            self.assertTrue(all(float(v.rstrip("s")) >= 0 for v in r[2:]), r)


if __name__ == "__main__":
    unittest.main()
