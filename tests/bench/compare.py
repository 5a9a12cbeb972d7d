#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Two builds of the suite, run by turns against one simulator (not a test: it prints figures).

  tests/bench/compare.py --a OLD/apps --b NEW/apps [--case first-import] [--rounds 16]
                         [--items 100000] [--rescanned jellyfin,emby] [--json]
                         [--instructions]

Why by turns: this machine's speed moves by 20-40 % from one hour to the next (other work on
its host), more than most changes are worth, so two builds timed an hour apart say little. Here
they take turns (A B, B A, A B, ...: each build runs first as often as second), each pair of
runs shares the machine's speed of its moment, and what is read are the paired differences
B - A: their median, how many pairs B took less, and the sign test's two-sided p-value (the
chance of a split at least that lopsided if the two builds were the same; below 0.05 the
difference is unlikely to be the machine's).

Cases (--case):
  first-import      ws-import into an empty state directory each run
  no-change-import  ws-import after one import (by B) that the runs then repeat
  no-change-sync    ws-sync after one sync (by B) that the runs then repeat
The no-change cases share one state database between the builds: compare builds whose schema
is the same (a build that migrates the database would leave it to the other).

Each run is measured from a fresh small child (bench_all.measure): wall time, CPU (user +
system) and peak RSS of the tool alone. A run that fails stops the comparison (exit 1): figures
of a failed run mean nothing. Only 127.0.0.1; every run is bounded (30 minutes).

--instructions counts instead the instructions each run executes (every thread's, in user
space: the kernel's work is not counted) under valgrind's cachegrind (apt-get install valgrind;
release builds: valgrind cannot run a build with AddressSanitizer). The count does not depend
on what else the machine runs: the same build on the same world repeats it within 0.25 %
(2,170.3 to 2,175.5 million in nine no-change ws-imports of 3 x 20,000, some while other tests
ran beside), where its CPU time moves by 20-40 %. So a change of 1-3 %, which timing by turns
cannot tell from noise, shows in a few rounds. It is a count, not a time: a change that saves
instructions but misses the cache more (or uses wider instructions) can still be slower: a
larger change must show by turns in time too. Each run takes 30-50 times as long: --items 20000
and --rounds 3 are enough.
"""
import argparse
import json
import math
import os
import re
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_all import Simulator, backend_reports, measure  # noqa: E402

CASES = {
    # case: (tool, a run before the rounds leaves the state the runs repeat, wipe before each)
    "first-import": ("ws-import", False, True),
    "no-change-import": ("ws-import", True, False),
    "no-change-sync": ("ws-sync", True, False),
}
FIGURES = ("wall", "cpu", "user", "sys", "rss")
# Cachegrind's summary line of the instructions a run executed: "==123== I   refs:  2,171,957,703".
INSTRUCTIONS = re.compile(r"^==\d+== I\s+refs:\s+([\d,]+)\s*$", re.MULTILINE)


def sign_test(wins, losses):
    """Two-sided p-value of a sign test: `wins` pairs one way, `losses` the other (ties left
    out), under the hypothesis that either way is as likely."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def summarize(runs, figures=FIGURES):
    """Medians of each build, and the paired differences B - A of each figure."""
    out = {"builds": {}, "paired": {}}
    for build in ("a", "b"):
        mine = [r for r in runs if r["build"] == build]
        out["builds"][build] = {f: statistics.median(r[f] for r in mine) for f in figures}
    rounds = sorted({r["round"] for r in runs})
    for figure in figures:
        diffs = []
        for n in rounds:
            pair = {r["build"]: r[figure] for r in runs if r["round"] == n}
            diffs.append(pair["b"] - pair["a"])
        less = sum(1 for d in diffs if d < 0)
        more = sum(1 for d in diffs if d > 0)
        out["paired"][figure] = {"median": statistics.median(diffs), "b_less": less,
                                 "b_more": more, "pairs": len(diffs),
                                 "p_value": sign_test(less, more)}
    return out


def changes(doc):
    """What a run changed, from its JSON: items the import added or updated, and the play-state
    writes the export sent (a no-change run changes nothing; a first import adds every item)."""
    total = 0
    for report in backend_reports(doc):
        if "added" in report:  # an import backend
            total += report["added"] + report["updated"]
        elif "checked" in report:  # an export backend
            total += sum(report.get(k, 0) for k in ("marked_played", "marked_unplayed",
                                                     "progress_updated"))
    return total


def with_unit(value, figure, sign=""):
    if figure == "instructions":
        return f"{value / 1e6:{sign},.2f} M"
    return f"{value:{sign}.1f} MiB" if figure == "rss" else f"{value:{sign}.3f} s"


def run_tool(bin_dir, tool, config, label, valgrind=None):
    """One run of `tool`; with `valgrind`, under cachegrind, its instruction count added."""
    cmd = [os.path.join(bin_dir, tool), "-c", config, "--json"]
    if valgrind:
        cmd = [valgrind, "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
               *cmd]
    result = measure(cmd)
    if result["rc"] != 0:
        err = result["err"].strip().splitlines()
        sys.exit(f"compare: {label}'s {tool} ({bin_dir}) exited {result['rc']}"
                 + (f": {err[-1]}" if err else ""))
    if valgrind:
        counts = INSTRUCTIONS.findall(result["err"])
        if not counts:
            sys.exit(f"compare: {label}'s {tool} ({bin_dir}) ran under {valgrind}, which reported "
                     "no instruction count")
        result["instructions"] = int(counts[-1].replace(",", ""))
    return result


def main():
    ap = argparse.ArgumentParser(description="Compare two builds by turns (see the top of this file).")
    ap.add_argument("--a", required=True, help="the tools of the build to compare against (bin dir)")
    ap.add_argument("--b", required=True, help="the tools of the build compared (bin dir); its ws-simulator serves")
    ap.add_argument("--case", choices=sorted(CASES), default="first-import")
    ap.add_argument("--rounds", type=int, default=16, help="pairs of runs (of 16, a split of 13 to 3 gives p = 0.02)")
    ap.add_argument("--items", type=int, default=100000, help="items per simulated server")
    ap.add_argument("--rescanned", default="",
                    help="servers that list in an order of their own (ws-simulator --rescanned), "
                         "e.g. jellyfin,emby")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    ap.add_argument("--instructions", action="store_true",
                    help="count each run's instructions under valgrind's cachegrind instead of "
                         "timing it (repeatable within 0.25 %%; try --items 20000 --rounds 3)")
    ap.add_argument("--valgrind", default="valgrind", help="the valgrind to run (--instructions)")
    args = ap.parse_args()
    if args.rounds < 1:
        sys.exit("compare: --rounds must be at least 1")
    valgrind = None
    if args.instructions:
        valgrind = shutil.which(args.valgrind)
        if valgrind is None:
            sys.exit(f"compare: --instructions needs {args.valgrind} (apt-get install valgrind)")
    figures = ("instructions",) if valgrind else FIGURES
    for build, path in (("a", args.a), ("b", args.b)):
        if not os.path.isfile(os.path.join(path, "ws-import")):
            sys.exit(f"compare: --{build} {path}: no ws-import there (a build's apps directory)")

    tool, prepare, wipe = CASES[args.case]
    tmp = tempfile.mkdtemp(prefix="ws-compare-")
    runs = []
    try:
        sim = Simulator(args.b, args.items, tmp, rescanned=args.rescanned)
        try:
            state = os.path.join(tmp, "state")
            if prepare:
                run_tool(args.b, tool, sim.config, "b")  # natively: it only sets the state up
            for n in range(args.rounds):
                for build in (("a", "b") if n % 2 == 0 else ("b", "a")):
                    if wipe:
                        shutil.rmtree(state, ignore_errors=True)
                    bin_dir = args.a if build == "a" else args.b
                    r = run_tool(bin_dir, tool, sim.config, build, valgrind)
                    runs.append({"round": n, "build": build, "changed": changes(r["doc"]),
                                 **{f: r[f] for f in figures}})
                    done = (f"{r['instructions']:,} instructions" if valgrind else
                            f"{r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU, {r['rss']:.0f} MiB")
                    print(f"compare: round {n + 1}/{args.rounds} {build}: {done}", file=sys.stderr,
                          flush=True)
        finally:
            sim.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    summary = summarize(runs, figures)
    # Each case's premise, checked on every run: otherwise the figures are of another case.
    off = [r for r in runs if (r["changed"] == 0) == wipe]
    if off:
        print(f"compare: warning: {len(off)} of {len(runs)} runs "
              + ("changed nothing: not first imports" if wipe else "changed something: not "
                 "no-change runs"), file=sys.stderr)
    if args.json:
        print(json.dumps({"case": args.case, "tool": tool, "items": args.items,
                          "rescanned": args.rescanned, "a": args.a,
                          "b": args.b, "measured": "instructions" if valgrind else "time",
                          "runs": runs, **summary}, indent=2))
        return
    print(f"{args.case} ({tool}), 3 x {args.items} items, {args.rounds} pairs by turns"
          + (f", {args.rescanned} rescanned" if args.rescanned else "")
          + (", instructions counted by cachegrind" if valgrind else ""))
    print(f"  a: {args.a}\n  b: {args.b}\n")
    width = max(len(f) for f in figures)
    print(f"  {'':{width}} {'median a':>12} {'median b':>12} {'b - a, paired':>14} "
          f"{'b less/more':>12} {'p (sign test)':>14}")
    for figure in figures:
        p = summary["paired"][figure]
        a, b = summary["builds"]["a"][figure], summary["builds"]["b"][figure]
        print(f"  {figure:{width}} {with_unit(a, figure):>12} {with_unit(b, figure):>12} "
              f"{with_unit(p['median'], figure, '+'):>14} {p['b_less']:>6}/{p['b_more']:<5} "
              f"{p['p_value']:>14.3f}")
    if valgrind:
        share = summary["paired"]["instructions"]["median"] / summary["builds"]["a"]["instructions"]
        print(f"\n  b - a, paired median: {100 * share:+.2f} % of a's instructions")


if __name__ == "__main__":
    main()
