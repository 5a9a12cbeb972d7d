#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark ws-webhook against ws-simulator on 127.0.0.1 (not a test: it prints figures).

  tests/bench/bench_webhook.py [--items 20000] [--events 5000] [--bin build/release/apps]
                               [--post build/release/tests/ws-bench-post]

A ws-sync first brings three servers in line; then items are marked played on Plex and one
Plex media.scrobble webhook per event is posted by 16 concurrent senders (ws-bench-post, one
connection per request, as a media server sends them; a Python sender costs about as much CPU
per request as ws-webhook spends storing it, and the 2 cores are shared). Prints how fast the
events were accepted (stored durably, answered) and how long a sender waited for each answer
(from opening its connection: p50, p99, max), the push latency while the events are being
posted (from the first acceptance of an event naming a movie to the push of that movie reaching
Jellyfin or Emby, seen in the simulators' request logs: p50, p99, max; and from the last
acceptance to the last push), how long until every event was applied (SIGTERM drains the queue),
the pushes the servers received and ws-webhook's peak RSS, and whether the goals are met:
5,000 events/s accepted, every push within 2 s.
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
import threading
import time
import urllib.error
import urllib.request
import uuid

KEY = "bench-webhook-key-0123456789"
GOAL_RATE = 5000  # events/s accepted from 16 senders
GOAL_LATENCY = 2.0  # s from acceptance to the push reaching the other servers


def call(url, method="GET", body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def cpu_seconds(pid):
    """utime + stime of a process so far (/proc/PID/stat), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


class PushWatcher(threading.Thread):
    """Polls the request logs of Jellyfin and Emby and notes when each movie's first write came."""

    def __init__(self, info):
        super().__init__(daemon=True)
        self.servers = {k: v["url"] for k, v in info.items() if k in ("jellyfin", "emby")}
        self.key_of = {}  # server -> item id -> world key
        for server, url in self.servers.items():
            call(url + "/__sim/requests", "DELETE")  # also resets /__sim/stats
            self.key_of[server] = {i["id"]: i["key"] for i in json.loads(call(url + "/__sim/items")[1])}
        self.seen = {server: {} for server in self.servers}  # server -> key -> monotonic time
        self.last_seq = {server: 0 for server in self.servers}
        self.stopped = threading.Event()

    def poll(self):
        for server, url in self.servers.items():
            entries = json.loads(call(f"{url}/__sim/requests?since={self.last_seq[server]}")[1])
            now = time.monotonic()
            for entry in entries:
                self.last_seq[server] = max(self.last_seq[server], entry["seq"])
                if entry["method"] == "GET":
                    continue
                for segment in entry["path"].split("/"):
                    key = self.key_of[server].get(segment)
                    if key is not None:
                        self.seen[server].setdefault(key, now)

    def run(self):
        while not self.stopped.wait(0.02):
            self.poll()

    def pushes(self):
        return sum(len(v) for v in self.seen.values())

    def last(self):
        return max((t for v in self.seen.values() for t in v.values()), default=None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=20000, help="items per server")
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--distinct", type=int, default=1000, help="distinct items the events name")
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "..", "build", "release", "apps"))
    ap.add_argument("--post", default=None,
                    help="the senders (default: ws-bench-post in the tests directory beside --bin)")
    args = ap.parse_args()
    sender = args.post or os.path.join(args.bin, "..", "tests", "ws-bench-post")
    if not os.access(sender, os.X_OK):
        sys.exit(f"bench_webhook: no sender at {sender} (build the tests, or give --post)")

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
        watcher = PushWatcher(info)  # from here on, /__sim/stats counts the pushes only
        requests = os.path.join(tmp, "requests.jsonl")
        with open(requests, "w") as out:
            for n in range(args.events):
                item = movies[n % len(movies)]
                payload = json.dumps({"event": "media.scrobble", "Account": {"id": 1},
                                      "Server": {"uuid": info["plex"]["server_id"]},
                                      "Metadata": {"ratingKey": item["id"], "type": "movie"}})
                boundary = uuid.uuid4().hex
                body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n"
                        f"{payload}\r\n--{boundary}--\r\n")
                out.write(json.dumps({"content_type": f"multipart/form-data; boundary={boundary}",
                                      "headers": {"User-Agent": "PlexMediaServer/1.41"},
                                      "body": body}) + "\n")
        hook = subprocess.Popen([os.path.join(args.bin, "ws-webhook"), "-c", config, "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        url = f"http://127.0.0.1:{port}/webhook?apikey={KEY}"
        for _ in range(600):
            try:
                if call(url)[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)

        watcher.start()
        # Who spends the 2 cores while the events are posted: the receiver, the senders and the
        # simulated servers.
        cpu_before = (cpu_seconds(hook.pid), cpu_seconds(sim.pid))
        posted = json.loads(subprocess.run(
            [sender, "--port", str(port), "--target", f"/webhook?apikey={KEY}", "--threads", "16",
             requests], stdout=subprocess.PIPE, check=True, timeout=900).stdout)
        cpu_hook, cpu_sim = (after - before for after, before in zip(
            (cpu_seconds(hook.pid), cpu_seconds(sim.pid)), cpu_before))
        cpu_senders = posted["cpu_seconds"]
        started = posted["started"]
        accepted = posted["finished"] - started
        answers = [(status, at) for status, at, _ in posted["requests"]]
        waits = [seconds for status, _, seconds in posted["requests"] if status == 200]
        statuses = [status for status, _ in answers]
        last_accepted = max(at for _, at in answers)
        # The pushes keep coming while the queue is worked off: wait until none came for 3 s.
        count, quiet_since = -1, time.monotonic()
        while time.monotonic() - quiet_since < 3 and time.monotonic() - started < 900:
            if watcher.pushes() != count:
                count, quiet_since = watcher.pushes(), time.monotonic()
            time.sleep(0.1)
        hook_rss = peak_rss_kib(hook.pid)
        hook.send_signal(signal.SIGTERM)
        out, err = hook.communicate(timeout=900)
        drained = time.monotonic() - started
        watcher.stopped.set()
        watcher.join()
        watcher.poll()
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        result = json.loads(out)["result"]
        writes = {k: json.loads(call(v["url"] + "/__sim/stats")[1])["writes"]
                  for k, v in info.items() if k in ("jellyfin", "emby")}
        # An event's latency: from the first acceptance of an event naming its movie to that
        # movie's push reaching a server (each movie is pushed once per server).
        first_accepted = {}
        for n, (status, at) in enumerate(answers):
            key = movies[n % len(movies)]["key"]
            if status == 200 and at < first_accepted.get(key, float("inf")):
                first_accepted[key] = at
        latencies = [at - first_accepted[key] for seen in watcher.seen.values()
                     for key, at in seen.items() if key in first_accepted]
        last_push = watcher.last()
        print(f"servers: 3 x {args.items} items; {args.events} events naming {len(movies)} movies")
        print(f"accepted: {statuses.count(200)}/{args.events} in {accepted:.2f} s "
              f"({args.events / accepted:.0f} events/s stored and answered)")
        if waits:
            print(f"answer time (connect -> answer, 16 senders): p50 {percentile(waits, 0.5) * 1000:.1f} ms, "
                  f"p99 {percentile(waits, 0.99) * 1000:.1f} ms, max {max(waits) * 1000:.1f} ms")
        print(f"CPU while posting ({accepted:.2f} s wall, 2 cores): ws-webhook {cpu_hook:.2f} s, "
              f"the senders {cpu_senders:.2f} s, the simulated servers {cpu_sim:.2f} s")
        print(f"applied: {result['applied']} (failed {result['failed']}, pending {result['pending']}); "
              f"ws-webhook exited {drained:.2f} s after the first post (after 3 s without pushes)")
        print(f"pushes: {result['writes']} reported, servers received {writes}, "
              f"{watcher.pushes()} seen in their request logs")
        rate = args.events / accepted
        worst = max(latencies, default=float("nan"))
        if latencies:
            print(f"push latency (acceptance -> push on the server, {len(latencies)} pushes): "
                  f"p50 {percentile(latencies, 0.5):.2f} s, p99 {percentile(latencies, 0.99):.2f} s, "
                  f"max {worst:.2f} s; the last push came {last_push - started:.2f} s after the first "
                  f"post, the last acceptance {last_accepted - started:.2f} s after it")
        print(f"peak RSS: ws-webhook {hook_rss / 1024:.0f} MiB; the children (ws-sync or ws-webhook, "
              f"whichever is larger) {rss / 1024:.0f} MiB")
        print(f"goal {GOAL_RATE} events/s: {'met' if rate >= GOAL_RATE else 'NOT met'} ({rate:.0f}/s); "
              f"goal push latency < {GOAL_LATENCY:.0f} s: "
              f"{'met' if latencies and worst < GOAL_LATENCY else 'NOT met'} (max {worst:.2f} s)")
        if err.strip():
            print("stderr:", err.strip()[:500])
    finally:
        if hook and hook.poll() is None:
            hook.kill()
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=30)


if __name__ == "__main__":
    main()
