#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark ws-import or ws-sync against ws-simulator on 127.0.0.1 (not a test: it prints
figures).

  tests/bench/bench.py [--tool ws-import|ws-sync] [--items 100000] [--bin build/release/apps]

Runs a first run into an empty state directory, then two more with nothing changed (with
--rematch: then the servers re-match items and two more runs follow), and
prints wall time, peak RSS (from wait4's rusage), HTTP requests, the import counts and, for
ws-sync, the changes the export reported next to the write requests the servers received.
"""
import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request


def run_measured(cmd):
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=900)
    wall = time.monotonic() - start
    rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return proc.returncode, out, err, wall, rss_kib


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", default="ws-import", choices=["ws-import", "ws-sync"])
    ap.add_argument("--items", type=int, default=100000, help="items per server")
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "release", "apps"))
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--messy", type=float, default=None,
                    help="the simulator's --messy (default: its own, the realistic rates)")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--rematch", action="store_true",
                    help="then let the servers re-match the world's candidates and run twice more")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="ws-bench-")
    ready = os.path.join(tmp, "ready.json")
    config = os.path.join(tmp, "config.yaml")
    sim_start = time.monotonic()
    sim = subprocess.Popen([os.path.join(args.bin, "ws-simulator"), "--items", str(args.items),
                            "--seed", str(args.seed), "--threads", "8", "--ready-file", ready,
                            *(["--messy", str(args.messy)] if args.messy is not None else []),
                            "--write-config", config, "--state-dir", os.path.join(tmp, "state")],
                           stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "sim.log"), "w"))
    try:
        deadline = time.monotonic() + 120
        while not os.path.exists(ready):
            if sim.poll() is not None or time.monotonic() > deadline:
                sys.exit("ws-simulator did not start; see " + tmp)
            time.sleep(0.05)
        print(f"simulator: 3 servers x {args.items} items ready in {time.monotonic() - sim_start:.1f} s")
        # Each run is a separate child; ru_maxrss of RUSAGE_CHILDREN is the max over children, so
        # measure each run in a fresh helper process to get its own peak.
        with open(ready) as f:
            servers = json.load(f)

        def writes():
            total = 0
            for info in servers.values():
                with urllib.request.urlopen(info["url"] + "/__sim/stats", timeout=30) as r:
                    total += json.load(r)["writes"]
            return total

        def rematch():
            # The generated world's items re-matched between runs (a Fix Match on the servers).
            total = 0
            for info in servers.values():
                req = urllib.request.Request(info["url"] + "/__sim/rematch", data=b"", method="POST")
                with urllib.request.urlopen(req, timeout=30) as r:
                    total += json.load(r)["rematched"]
            print(f"(the servers re-matched {total} items)")

        passes = [f"first {args.tool}", f"second {args.tool} (no change)",
                  f"third {args.tool} (no change)"]
        if args.rematch:
            passes += [f"{args.tool} after re-matches", f"{args.tool} after that (no change)"]
        for label in passes:
            if label.endswith("after re-matches"):
                rematch()
            writes_before = writes()
            helper = [sys.executable, "-c",
                      "import resource,subprocess,sys,time,json;"
                      "t=time.monotonic();p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
                      "w=time.monotonic()-t;u=resource.getrusage(resource.RUSAGE_CHILDREN);"
                      "print(json.dumps({'rc':p.returncode,'wall':w,'rss':u.ru_maxrss,'cpu':u.ru_utime+u.ru_stime,'user':u.ru_utime,'sys':u.ru_stime,'out':p.stdout,'err':p.stderr[-2000:]}))",
                      os.path.join(args.bin, args.tool), "-c", config, "--json",
                      "--concurrency", str(args.concurrency)]
            res = json.loads(subprocess.run(helper, capture_output=True, text=True, timeout=900).stdout)
            doc = json.loads(res["out"]) if res["out"].strip() else {}
            result = doc.get("result", {})
            imported = result.get("import", result)
            backends = imported.get("identities", {}).get("main", {}).get("backends", {})
            requests = sum(b["requests"] for b in backends.values())
            fetched = sum(b["fetched"] for b in backends.values())
            print(f"{label}: exit {res['rc']}, wall {res['wall']:.2f} s, CPU {res['cpu']:.2f} s ({res['user']:.2f} user + {res['sys']:.2f} sys), peak RSS {res['rss'] / 1024:.0f} MiB, "
                  f"{requests} requests, {fetched} items fetched")
            for name, b in backends.items():
                print(f"  {name:9} fetched {b['fetched']:7} added {b['added']:7} updated {b['updated']:7} "
                      f"unchanged {b['unchanged']:7} skipped {b['skipped']:5} requests {b['requests']:5} "
                      f"({b['duration_ms']} ms) rematched {b.get('rematched', 0)} merged "
                      f"{b.get('merged', 0)} conflicts {b.get('conflicts', 0)}")
            if "export" in result:
                exported = result["export"]["identities"]["main"]["backends"]
                changes = sum(len(b["changes"]) for b in exported.values())
                print(f"  export: {changes} changes needed, {writes() - writes_before} write requests received "
                      f"by the servers; " + ", ".join(
                          f"{n}: +{b['marked_played']} played -{b['marked_unplayed']} unplayed "
                          f"{b['progress_updated']} positions ({b['requests']} requests)"
                          for n, b in exported.items()))
            if res["rc"] != 0:
                print(res["err"])
        db = os.path.join(tmp, "state", "state.db")
        print(f"state.db: {os.path.getsize(db) / 1048576:.1f} MiB")
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=30)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept", tmp)


if __name__ == "__main__":
    main()
