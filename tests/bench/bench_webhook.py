#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark ws-webhook against ws-simulator on 127.0.0.1 (not a test: it prints figures).

  tests/bench/bench_webhook.py [--items 20000] [--events 5000] [--bin build/release/apps]

A ws-sync first brings three servers in line; then items are marked played on Plex and one
Plex media.scrobble webhook per event is posted by 16 concurrent clients. Prints how fast the
events were accepted (stored durably, answered), how long until every one was applied and
pushed (SIGTERM drains the queue), the pushes the servers received and ws-webhook's peak RSS.
"""
import argparse
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

KEY = "bench-webhook-key-0123456789"


def call(url, method="GET", body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=20000, help="items per server")
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--distinct", type=int, default=1000, help="distinct items the events name")
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "release", "apps"))
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="ws-bench-webhook-")
    ready = os.path.join(tmp, "ready.json")
    config = os.path.join(tmp, "config.yaml")
    sim = subprocess.Popen([os.path.join(args.bin, "ws-simulator"), "--items", str(args.items),
                            "--diverge", "0", "--played", "0", "--in-progress", "0", "--threads", "8",
                            "--ready-file", ready, "--write-config", config,
                            "--state-dir", os.path.join(tmp, "state")],
                           stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "sim.log"), "w"))
    hook = None
    try:
        for _ in range(1200):
            if os.path.exists(ready) or sim.poll() is not None:
                break
            time.sleep(0.05)
        info = json.load(open(ready))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with open(config, "a") as f:
            f.write(f"webhook:\n  api_key: \"{KEY}\"\n  listen: \"127.0.0.1:{port}\"\n")
        sync = subprocess.run([os.path.join(args.bin, "ws-sync"), "-c", config, "-q"], timeout=900)
        if sync.returncode != 0:
            sys.exit(f"ws-sync exited {sync.returncode}")
        plex = info["plex"]["url"]
        _, raw = call(plex + "/__sim/items")
        movies = [i for i in json.loads(raw) if i["type"] == "movie"][:args.distinct]
        now = int(time.time())
        for item in movies:
            call(plex + "/__sim/state", "POST", json.dumps({"key": item["key"], "played": True,
                                                           "last_played": now}).encode(),
                 {"Content-Type": "application/json"})
        writes_before = {k: json.loads(call(v["url"] + "/__sim/stats")[1])["writes"]
                         for k, v in info.items() if k in ("jellyfin", "emby")}
        bodies = []
        for n in range(args.events):
            item = movies[n % len(movies)]
            payload = json.dumps({"event": "media.scrobble", "Account": {"id": 1},
                                  "Server": {"uuid": info["plex"]["server_id"]},
                                  "Metadata": {"ratingKey": item["id"], "type": "movie"}})
            boundary = uuid.uuid4().hex
            body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n"
                    f"{payload}\r\n--{boundary}--\r\n").encode()
            bodies.append((body, f"multipart/form-data; boundary={boundary}"))
        hook = subprocess.Popen([os.path.join(args.bin, "ws-webhook"), "-c", config, "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        url = f"http://127.0.0.1:{port}/webhook?apikey={KEY}"
        for _ in range(600):
            try:
                if call(url)[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(lambda b: call(url, "POST", b[0], {"Content-Type": b[1],
                                                                        "User-Agent": "PlexMediaServer/1.41"})[0],
                                     bodies))
        accepted = time.monotonic() - started
        hook.send_signal(signal.SIGTERM)
        out, err = hook.communicate(timeout=900)
        drained = time.monotonic() - started
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        result = json.loads(out)["result"]
        writes = {k: json.loads(call(v["url"] + "/__sim/stats")[1])["writes"] - writes_before[k]
                  for k, v in info.items() if k in ("jellyfin", "emby")}
        print(f"servers: 3 x {args.items} items; {args.events} events naming {len(movies)} movies")
        print(f"accepted: {statuses.count(200)}/{args.events} in {accepted:.2f} s "
              f"({args.events / accepted:.0f} events/s stored and answered)")
        print(f"applied: {result['applied']} (failed {result['failed']}, pending {result['pending']}) "
              f"after {drained:.2f} s ({args.events / drained:.0f} events/s sustained)")
        print(f"pushes: {result['writes']} reported, servers received {writes}")
        print(f"peak RSS of the children (ws-sync or ws-webhook, whichever is larger): {rss / 1024:.0f} MiB")
        if err.strip():
            print("stderr:", err.strip()[:500])
    finally:
        if hook and hook.poll() is None:
            hook.kill()
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=30)


if __name__ == "__main__":
    main()
