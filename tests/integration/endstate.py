# SPDX-License-Identifier: MIT
"""The end state of a run, for "the next run converges" checks: the local state (ws-state list),
every served server's play state (/__sim/items) and the backups' records. Values a run stamps
with the wall clock (row ids, updated_at, a Plex scrobble's "now") are normalised away."""
import glob
import gzip
import json
import os
import socket


def free_port():
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Left out of the comparison: row ids and write times, and the play date and source (`via`) of
# an item that several backends report played. The date of a played item changes only together
# with its played flag (WatchState's rule), so which of two backends' dates the local state keeps
# depends on which backend was read first: a run that lost a backend to a fault and the run after
# it may keep the other one. Play counts are left out because Plex counts every scrobble.
LOCAL_VOLATILE = ("id", "updated_at", "updated", "via")
SERVER_VOLATILE = ("last_played", "play_count")


def local_items(case):
    """ws-state list: every item with its played flag and resume position."""
    result = case.run_tool("ws-state", "--json", "list")
    case.assertEqual(result.code, 0, result)
    items = []
    for item in result.json["result"]["items"]:
        items.append({k: v for k, v in item.items() if k not in LOCAL_VOLATILE})
    return sorted(items, key=lambda i: json.dumps(i, sort_keys=True))


def server_items(sim, server):
    """/__sim/items of one server: played flags and resume positions of every movie/episode."""
    return [{k: v for k, v in item.items() if k not in SERVER_VOLATILE}
            for item in sim.items(server)]


def backup_records(state_dir):
    """{file name: sorted records} of every backup under state_dir/backups."""
    out = {}
    for path in sorted(glob.glob(os.path.join(state_dir, "backups", "*"))):
        name = os.path.basename(path)
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt") as f:
            records = json.load(f)
        if isinstance(records, dict):  # a playlists file: its playlists, not when it was made
            records = records["playlists"]
        out[name] = sorted(json.dumps(r, sort_keys=True) for r in records)
    return out


def snapshot(case):
    """Everything a converged run must agree on."""
    return {
        "local": local_items(case),
        "servers": {s: server_items(case.sim, s) for s in case.sim.info},
        "backups": backup_records(case.state_dir),
    }


def leftovers(state_dir):
    """Temporary files a run must never leave behind (a partial backup, a half-written file)."""
    found = []
    for root, _dirs, files in os.walk(state_dir):
        found += [os.path.join(root, f) for f in files if ".tmp" in f]
    return found
