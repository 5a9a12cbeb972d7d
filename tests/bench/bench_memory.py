#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Peak memory of every tool against ws-simulator on 127.0.0.1 (not a test: it prints a table).

  tests/bench/bench_memory.py [--small 3000] [--big 100000] [--worlds small,big]
                              [--tools ws-parity,ws-sync,...] [--bin build/release/apps]

For each world (3 servers x N items) it starts a simulator, then runs one tool after the other,
each as its own child, and reads that child's peak RSS from wait4's rusage:

  ws-sync (first, into an empty state directory), ws-sync (no change), ws-import (first, into a
  second empty state directory), ws-import (no change), ws-export, ws-parity, ws-backup create,
  ws-backup restore (the plan, of the Jellyfin backup), ws-state list, ws-state report,
  ws-backend jellyfin unmatched, ws-playlist.

It prints one line per run: tool, items per server, peak RSS in MiB, wall seconds, and the
goal (30 MB on the small world, 100 MB on the big one) with "ok" or "OVER".
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

GOAL_MB = {"small": 30, "big": 100}


def measure(cmd, out_path):
    """Run cmd with stdout to out_path; return (exit code, wall s, peak RSS bytes, stderr tail)."""
    start = time.monotonic()
    with open(out_path, "w") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - start
        err.seek(0)
        tail = err.read()[-1500:]
    return proc.returncode, wall, usage.ru_maxrss * 1024, tail


def start_simulator(binary, items, tmp, seed, playlists):
    ready = os.path.join(tmp, "ready.json")
    config = os.path.join(tmp, "config-a.yaml")
    sim = subprocess.Popen([binary, "--items", str(items), "--seed", str(seed), "--threads", "8",
                            "--playlists", str(playlists), "--ready-file", ready,
                            "--write-config", config, "--state-dir", os.path.join(tmp, "state-a")],
                           stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "sim.log"), "w"))
    deadline = time.monotonic() + 300
    while not os.path.exists(ready):
        if sim.poll() is not None or time.monotonic() > deadline:
            sim.kill()
            sys.exit("ws-simulator did not start; see " + tmp)
        time.sleep(0.05)
    # A second config, the same servers and another state directory (a first import).
    with open(config) as f:
        text = f.read()
    with open(os.path.join(tmp, "config-b.yaml"), "w") as f:
        f.write(re.sub(r"^state_dir: .*$", "state_dir: " + json.dumps(os.path.join(tmp, "state-b")),
                       text, count=1, flags=re.M))
    os.chmod(os.path.join(tmp, "config-b.yaml"), 0o600)
    return sim


def plan(tmp):
    """The runs, in order: (label, tool, config letter, arguments)."""
    def newest_backup():
        files = sorted(glob.glob(os.path.join(tmp, "state-a", "backups", "*jellyfin*.json.gz")))
        files = [f for f in files if ".playlists." not in f]
        return files[-1] if files else os.path.join(tmp, "no-backup")

    return [
        ("ws-sync (first)", "ws-sync", "a", lambda: []),
        ("ws-sync (no change)", "ws-sync", "a", lambda: []),
        ("ws-import (first)", "ws-import", "b", lambda: []),
        ("ws-import (no change)", "ws-import", "b", lambda: []),
        ("ws-export", "ws-export", "b", lambda: []),
        ("ws-parity", "ws-parity", "a", lambda: []),
        ("ws-backup create", "ws-backup", "a", lambda: ["create"]),
        ("ws-backup restore (plan)", "ws-backup", "a",
         lambda: ["restore", newest_backup(), "-s", "jellyfin"]),
        ("ws-state list", "ws-state", "a", lambda: ["list"]),
        ("ws-state report", "ws-state", "a", lambda: ["report"]),
        ("ws-backend unmatched", "ws-backend", "a", lambda: ["jellyfin", "unmatched"]),
        ("ws-playlist", "ws-playlist", "a", lambda: []),
    ]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(here, "..", "..", "build", "release", "apps"))
    ap.add_argument("--small", type=int, default=3000, help="items per server of the small world")
    ap.add_argument("--big", type=int, default=100000, help="items per server of the big world")
    ap.add_argument("--worlds", default="small,big", help="which worlds: small, big or both")
    ap.add_argument("--tools", default="", help="only these tools (comma list, e.g. ws-parity)")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--playlists", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directories")
    args = ap.parse_args()
    only = {t for t in args.tools.split(",") if t}

    rows = []
    print(f"{'tool':28} {'world':>15} {'peak MiB':>9} {'wall s':>8}  {'goal':>7}  exit")
    for world in [w for w in args.worlds.split(",") if w]:
        items = args.small if world == "small" else args.big
        tmp = tempfile.mkdtemp(prefix=f"ws-bench-mem-{world}-")
        sim = start_simulator(os.path.join(args.bin, "ws-simulator"), items, tmp, args.seed,
                              args.playlists)
        try:
            for label, tool, cfg, extra in plan(tmp):
                if only and tool not in only:
                    continue
                cmd = [os.path.join(args.bin, tool), "-c", os.path.join(tmp, f"config-{cfg}.yaml"),
                       "--json", "--concurrency", str(args.concurrency), *extra()]
                rc, wall, rss, err = measure(cmd, os.path.join(tmp, "out.json"))
                goal = GOAL_MB[world]
                verdict = "ok" if rss <= goal * 1000 * 1000 else "OVER"
                print(f"{label:28} {f'{world} 3x{items}':>15} {rss / 1048576:9.1f} {wall:8.2f}  "
                      f"{goal:>4} MB {verdict:4}  {rc}", flush=True)
                if rc not in (0, 1):
                    print("   " + err.strip().replace("\n", "\n   "))
                rows.append((label, world, items, rss, wall, rc))
        finally:
            sim.send_signal(signal.SIGTERM)
            sim.wait(timeout=60)
            if args.keep:
                print("kept", tmp)
            else:
                shutil.rmtree(tmp, ignore_errors=True)
    over = [r for r in rows if r[3] > GOAL_MB[r[1]] * 1000 * 1000]
    print(f"{len(rows) - len(over)} of {len(rows)} runs within the goal")


if __name__ == "__main__":
    main()
