#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The performance figures of the suite, side by side with this machine's limits (not a test).

  tests/bench/bench_all.py [--items 100000] [--bin build/release/apps] [--no-webhook]

One command, on 127.0.0.1 only: ws-simulator serves 3 servers x --items items; then
  - the limits, measured in the same run by ws-bench-limits: parsing the Jellyfin listing of
    the simulated library in place (RapidJSON, as the adapters do), 3 x --items indexed SQLite
    upserts in one transaction, and the rows the first ws-import wrote (items, matching keys,
    records, change log), written into the state schema in key order with no matching: the
    least CPU an import can take here;
  - the tools: first ws-import, no-change ws-import, first ws-sync (it sends what differs),
    no-change ws-sync, ws-export, ws-parity, ws-state list, with wall time, CPU time (user +
    system), peak RSS, requests and bytes received;
  - the first ws-import again, of the same world with Jellyfin and Emby rescanned
    (ws-simulator --rescanned): every server of the world above lists the items in one order
    (their dates added are the world's), the friendliest case for the state database, which
    stores records by row; a server set up after the others lists them in the order of its scan,
    so the matching reads and writes rows at random places;
  - the same tools on a small library (3 x 3,000 items): peak RSS;
  - ws-webhook's throughput (tests/bench/bench_webhook.py), unless --no-webhook.
Each figure is printed with its goal and, where there is one, its ratio to the limit: the ratio
is what to compare between machines, not the seconds.
"""
import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

# Runs a command from a fresh, small Python child so that its rusage (CPU, peak RSS) is its own:
# a child forked straight from this process starts as a copy of it, and its peak RSS would then
# count the listing pages this script has read (bench_memory.measure forks from a small parent).
MEASURE = ("import resource,subprocess,sys,time,json;"
           "t=time.monotonic();p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
           "w=time.monotonic()-t;u=resource.getrusage(resource.RUSAGE_CHILDREN);"
           "print(json.dumps({'rc':p.returncode,'wall':w,'rss':u.ru_maxrss/1024,"
           "'cpu':u.ru_utime+u.ru_stime,'user':u.ru_utime,'sys':u.ru_stime,"
           "'out':p.stdout,'err':p.stderr[-2000:]}))")


def measure(cmd):
    res = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True,
                         timeout=1800)
    out = json.loads(res.stdout)
    try:
        out["doc"] = json.loads(out["out"]) if out["out"].strip() else {}
    except ValueError:
        out["doc"] = {}
    return out


def backend_reports(doc):
    """Each backend's report in a tool's JSON document (the objects that carry `requests`)."""
    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("requests"), int):
                yield node
                return
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    yield from walk(doc.get("result", {}))


def server_cost(doc):
    """Requests and bytes received over every backend a tool's JSON document reports."""
    requests = received = 0
    for report in backend_reports(doc):
        requests += report["requests"]
        received += report.get("bytes_received", 0) or 0
    return requests, received


class Simulator:
    """rescanned: servers (a comma list) whose library was scanned in one go, as a server set up
    after the others is: they list the items in an order of their own (ws-simulator --rescanned).
    Without it every server lists them in the world's order, the friendliest case for writing
    records, which the state database stores by row."""

    def __init__(self, bin_dir, items, tmp, seed=1, rescanned=""):
        self.dir = tmp
        ready = os.path.join(tmp, "ready.json")
        self.config = os.path.join(tmp, "config.yaml")
        self.proc = subprocess.Popen(
            [os.path.join(bin_dir, "ws-simulator"), "--items", str(items), "--seed", str(seed),
             "--threads", "8", "--ready-file", ready, "--write-config", self.config,
             "--state-dir", os.path.join(tmp, "state")]
            + (["--rescanned", rescanned] if rescanned else []),
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "sim.log"), "w"))
        deadline = time.monotonic() + 300
        while not os.path.exists(ready):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                sys.exit("ws-simulator did not start; see " + tmp)
            time.sleep(0.05)
        time.sleep(0.2)  # the ready file is written whole before it is renamed; be safe anyway
        with open(ready) as f:
            self.servers = json.load(f)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def jellyfin_pages(sim, folder, page_size=10000):
    """The simulated Jellyfin library as the adapter lists it (movies and episodes, with the
    fields it asks for), saved page by page for the parse-only limit."""
    info = sim.servers["jellyfin"]
    config = open(sim.config).read()
    # The token and user id are in the config the simulator wrote.
    block = config.split("jellyfin:", 1)[1]
    token = block.split('token: "', 1)[1].split('"', 1)[0]
    user = block.split('user: "', 1)[1].split('"', 1)[0]
    fields = ("ProviderIds,DateCreated,Path,UserDataLastPlayedDate,UserDataPlayCount,PremiereDate,"
              "ProductionYear")
    files = []
    start = 0
    while True:
        url = (f"{info['url']}/Users/{user}/Items?Recursive=true&IncludeItemTypes=Movie,Episode"
               f"&EnableUserData=true&EnableImages=false&Fields={fields}"
               f"&StartIndex={start}&Limit={page_size}")
        req = urllib.request.Request(url, headers={"X-Emby-Token": token})
        with urllib.request.urlopen(req, timeout=120) as r:
            body = r.read()
        doc = json.loads(body)
        if not doc.get("Items"):
            break
        path = os.path.join(folder, f"jellyfin-{start}.json")
        with open(path, "wb") as f:
            f.write(body)
        files.append(path)
        start += len(doc["Items"])
        if start >= doc.get("TotalRecordCount", 0):
            break
    return files


def count_state_rows(path):
    """(items, keys, records, change log entries) of a state database: what a run wrote."""
    db = sqlite3.connect(path)
    try:
        return tuple(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                     for table in ("items", "item_keys", "backend_items", "change_log"))
    finally:
        db.close()


def row(label, value, goal="", limit="", note=""):
    print(f"  {label:44} {value:>22} {goal:>16} {limit:>22} {note}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=100000, help="items per server (big world)")
    ap.add_argument("--small", type=int, default=3000, help="items per server (small world)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "apps"))
    ap.add_argument("--limits", default=os.path.join(ROOT, "build", "release", "tests",
                                                     "ws-bench-limits"))
    ap.add_argument("--no-webhook", action="store_true")
    args = ap.parse_args()
    for path in (os.path.join(args.bin, "ws-import"), args.limits):
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: cmake --preset release && cmake --build build/release")

    tmp = tempfile.mkdtemp(prefix="ws-bench-all-")
    figures = {}
    try:
        big_dir = os.path.join(tmp, "big")
        os.makedirs(big_dir)
        sim = Simulator(args.bin, args.items, big_dir)
        try:
            def tool(name, *extra):
                return measure([os.path.join(args.bin, name), "-c", sim.config, "--json", *extra])

            first_import = tool("ws-import")
            state_rows = count_state_rows(os.path.join(big_dir, "state", "state.db"))
            pages = jellyfin_pages(sim, tmp)
            limits = json.loads(subprocess.run(
                [args.limits, "--rows", str(3 * args.items), "--dir", tmp,
                 "--state-rows", ",".join(str(n) for n in state_rows), *pages],
                capture_output=True, text=True, check=True, timeout=900).stdout)
            for p in pages:
                os.remove(p)
            parse_per_item = limits["parse"]["seconds"] / max(limits["parse"]["items"], 1)
            parse_all = parse_per_item * 3 * args.items
            upsert_all = limits["upsert"]["seconds"]
            state_cpu = limits["state"]["cpu"]
            figures["limits"] = limits

            runs = [("first ws-import", first_import),
                    ("no-change ws-import", tool("ws-import")),
                    ("no-change ws-import (again)", tool("ws-import")),
                    ("first ws-sync (sends the differences)", tool("ws-sync")),
                    ("no-change ws-sync", tool("ws-sync")),
                    ("no-change ws-sync (again)", tool("ws-sync")),
                    ("ws-export (nothing to write)", tool("ws-export")),
                    ("ws-parity", tool("ws-parity")),
                    ("ws-state list", tool("ws-state", "list"))]
        finally:
            sim.stop()
        rescanned_dir = os.path.join(tmp, "rescanned")
        os.makedirs(rescanned_dir)
        rescanned = Simulator(args.bin, args.items, rescanned_dir, rescanned="jellyfin,emby")
        try:
            runs.insert(1, ("first ws-import, Jellyfin/Emby rescanned",
                            measure([os.path.join(args.bin, "ws-import"), "-c", rescanned.config,
                                     "--json"])))
        finally:
            rescanned.stop()
        small_dir = os.path.join(tmp, "small")
        os.makedirs(small_dir)
        small = Simulator(args.bin, args.small, small_dir)
        try:
            def small_tool(name, *extra):
                return measure([os.path.join(args.bin, name), "-c", small.config, "--json", *extra])

            small_runs = [("first ws-sync", small_tool("ws-sync")),
                          ("no-change ws-sync", small_tool("ws-sync")),
                          ("ws-parity", small_tool("ws-parity")),
                          ("ws-state list", small_tool("ws-state", "list"))]
        finally:
            small.stop()

        print(f"\nMachine limits (measured now): parsing {limits['parse']['items']} Jellyfin items "
              f"({limits['parse']['bytes'] / 1048576:.0f} MiB) takes {limits['parse']['seconds']:.2f} s; "
              f"{limits['upsert']['rows']} indexed upserts in one transaction {upsert_all:.2f} s.")
        st = limits["state"]
        print(f"The state the first ws-import wrote ({st['items']} items, {st['keys']} matching "
              f"keys, {st['records']} records, {st['changes']} change log entries; "
              f"{st['bytes'] / 1048576:.0f} MiB), written in key order with no matching: "
              f"{st['seconds']:.2f} s, {state_cpu:.2f} s CPU.")
        print(f"An import of 3 x {args.items} needs at least {parse_all:.2f} s to parse and "
              f"{upsert_all:.2f} s to write its records: {parse_all + upsert_all:.2f} s of CPU; "
              f"{parse_all + state_cpu:.2f} s with everything the state holds.\n")
        print(f"  {'3 x %d items' % args.items:44} {'wall / CPU / RSS':>22} {'goal':>16} "
              f"{'CPU / limit':>22} requests, bytes received")
        for label, r in runs:
            requests, received = server_cost(r["doc"])
            value = f"{r['wall']:.2f}s/{r['cpu']:.2f}s/{r['rss']:.0f}M"
            goal = limit = ""
            if label.startswith("first ws-import"):
                goal = "3s CPU, 5s wall"
                limit = (f"{r['cpu'] / (parse_all + upsert_all):.1f}x parse+upsert, "
                         f"{r['cpu'] / (parse_all + state_cpu):.1f}x parse+state")
            elif label.startswith("no-change ws-import"):
                goal = "1.5s CPU"
                limit = f"{r['cpu'] / parse_all:.1f}x parse"
            elif label.startswith("no-change ws-sync"):
                goal = "3s wall"
                limit = f"{r['cpu'] / parse_all:.1f}x parse"
            else:
                goal = "100M RSS"
            note = f"{requests}, {received / 1048576:.1f} MiB" if requests else ""
            # ws-parity exits 1 when the servers differ, as the generated world makes them.
            if r["rc"] != 0 and not (label == "ws-parity" and r["rc"] == 1):
                note += f" EXIT {r['rc']}: {r['err'].strip().splitlines()[-1] if r['err'].strip() else ''}"
            row(label, value, goal, limit, note)
        print(f"\n  {'3 x %d items' % args.small:44} {'wall / CPU / RSS':>22} {'goal':>16}")
        for label, r in small_runs:
            row(label, f"{r['wall']:.2f}s/{r['cpu']:.2f}s/{r['rss']:.0f}M", "30M RSS", "",
                "" if r["rc"] == 0 or (label == "ws-parity" and r["rc"] == 1) else f"EXIT {r['rc']}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if not args.no_webhook:
        print("\nws-webhook (tests/bench/bench_webhook.py, goal: 5,000 events/s, push < 2 s):")
        sys.stdout.flush()
        subprocess.run([sys.executable, os.path.join(HERE, "bench_webhook.py"), "--bin", args.bin],
                       timeout=1800)


if __name__ == "__main__":
    main()
