#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Two builds of the suite, run by turns against one simulator (not a test: it prints figures).

  tests/bench/compare.py --a OLD/apps --b NEW/apps [--case first-import] [--rounds 16]
                         [--items 100000] [--json]

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
"""
import argparse
import json
import math
import os
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


def sign_test(wins, losses):
    """Two-sided p-value of a sign test: `wins` pairs one way, `losses` the other (ties left
    out), under the hypothesis that either way is as likely."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def summarize(runs):
    """Medians of each build, and the paired differences B - A of each figure."""
    out = {"builds": {}, "paired": {}}
    for build in ("a", "b"):
        mine = [r for r in runs if r["build"] == build]
        out["builds"][build] = {f: statistics.median(r[f] for r in mine) for f in FIGURES}
    rounds = sorted({r["round"] for r in runs})
    for figure in FIGURES:
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
    return f"{value:{sign}.1f} MiB" if figure == "rss" else f"{value:{sign}.3f} s"


def run_tool(bin_dir, tool, config, label):
    result = measure([os.path.join(bin_dir, tool), "-c", config, "--json"])
    if result["rc"] != 0:
        err = result["err"].strip().splitlines()
        sys.exit(f"compare: {label}'s {tool} ({bin_dir}) exited {result['rc']}"
                 + (f": {err[-1]}" if err else ""))
    return result


def main():
    ap = argparse.ArgumentParser(description="Compare two builds by turns (see the top of this file).")
    ap.add_argument("--a", required=True, help="the tools of the build to compare against (bin dir)")
    ap.add_argument("--b", required=True, help="the tools of the build compared (bin dir); its ws-simulator serves")
    ap.add_argument("--case", choices=sorted(CASES), default="first-import")
    ap.add_argument("--rounds", type=int, default=16, help="pairs of runs (of 16, a split of 13 to 3 gives p = 0.02)")
    ap.add_argument("--items", type=int, default=100000, help="items per simulated server")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = ap.parse_args()
    if args.rounds < 1:
        sys.exit("compare: --rounds must be at least 1")
    for build, path in (("a", args.a), ("b", args.b)):
        if not os.path.isfile(os.path.join(path, "ws-import")):
            sys.exit(f"compare: --{build} {path}: no ws-import there (a build's apps directory)")

    tool, prepare, wipe = CASES[args.case]
    tmp = tempfile.mkdtemp(prefix="ws-compare-")
    runs = []
    try:
        sim = Simulator(args.b, args.items, tmp)
        try:
            state = os.path.join(tmp, "state")
            if prepare:
                run_tool(args.b, tool, sim.config, "b")
            for n in range(args.rounds):
                for build in (("a", "b") if n % 2 == 0 else ("b", "a")):
                    if wipe:
                        shutil.rmtree(state, ignore_errors=True)
                    bin_dir = args.a if build == "a" else args.b
                    r = run_tool(bin_dir, tool, sim.config, build)
                    runs.append({"round": n, "build": build, "changed": changes(r["doc"]),
                                 **{f: r[f] for f in FIGURES}})
                    print(f"compare: round {n + 1}/{args.rounds} {build}: {r['wall']:.2f} s wall, "
                          f"{r['cpu']:.2f} s CPU, {r['rss']:.0f} MiB", file=sys.stderr, flush=True)
        finally:
            sim.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    summary = summarize(runs)
    # Each case's premise, checked on every run: otherwise the figures are of another case.
    off = [r for r in runs if (r["changed"] == 0) == wipe]
    if off:
        print(f"compare: warning: {len(off)} of {len(runs)} runs "
              + ("changed nothing: not first imports" if wipe else "changed something: not "
                 "no-change runs"), file=sys.stderr)
    if args.json:
        print(json.dumps({"case": args.case, "tool": tool, "items": args.items, "a": args.a,
                          "b": args.b, "runs": runs, **summary}, indent=2))
        return
    print(f"{args.case} ({tool}), 3 x {args.items} items, {args.rounds} pairs by turns")
    print(f"  a: {args.a}\n  b: {args.b}\n")
    print(f"  {'':6} {'median a':>12} {'median b':>12} {'b - a, paired':>14} "
          f"{'b less/more':>12} {'p (sign test)':>14}")
    for figure in FIGURES:
        p = summary["paired"][figure]
        a, b = summary["builds"]["a"][figure], summary["builds"]["b"][figure]
        print(f"  {figure:6} {with_unit(a, figure):>12} {with_unit(b, figure):>12} "
              f"{with_unit(p['median'], figure, '+'):>14} {p['b_less']:>6}/{p['b_more']:<5} "
              f"{p['p_value']:>14.3f}")


if __name__ == "__main__":
    main()
