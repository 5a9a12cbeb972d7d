#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Two layouts of the state database's records, timed the way a first import uses them (not a
test: it prints figures; SQLite alone, no tool).

  tests/bench/record_layouts.py [--items 100000]

The first import of 3 servers: Plex's items make the rows (in its order), then each of the
other servers' items reads its candidate row and writes its own record there. What is timed is
that second part, per server, with the two statements an item costs (the candidate read, the
record's upsert), in two listing orders:
  - same: the other servers list in the rows' order (every simulated server by default);
  - own:  they list in an order of their own (a server set up after the others: ws-simulator
          --rescanned), so every item reads and writes at a random place.
Layouts:
  - byrow:   today's (schema 9): records WITHOUT ROWID, keyed (item_id, backend, remote_id), so
             an item's records are read together; the candidate read joins the row's records.
  - compact: what the matching needs of a row kept compact in the row itself (one text here),
             records in a rowid table (appended in listing order) with a narrow unique index by
             row; the candidate read touches the items table only.
Both keep the remote-id index (identity, backend, remote_id, lookup, digest). The figures
include Python's own cost per statement, the same in every case: compare them with each other,
not with the tools'. The compact text stands for what the matching reads; the real matching
needs each record's identity (series ids through each backend's series, which backends report
the row), so a real design needs more than one text per row.
"""
import argparse
import os
import random
import shutil
import sqlite3
import tempfile
import time

RECORD_COLUMNS = """identity TEXT NOT NULL, backend TEXT NOT NULL, remote_id TEXT NOT NULL,
 item_id INTEGER NOT NULL, library_id TEXT, show_id TEXT, watched INTEGER, played_at INTEGER,
 added_at INTEGER, progress_ms INTEGER, path TEXT, multi INTEGER, guids TEXT, duration_ms INTEGER,
 year INTEGER, season INTEGER, episode INTEGER, path_key TEXT, title TEXT, lookup INTEGER,
 digest INTEGER"""


def record(rng, backend, i, remote_id):
    show = f"Show {i // 50}"
    file = f"{show}/Season 1/{show} - S01E{i % 50:02d} - Episode Title Here.mkv"
    return ("main", backend, remote_id, i, "lib1", "%032x" % rng.getrandbits(128), 1, 1700000000,
            1600000000, 0, "/media/tv/" + file, 0, f"imdb:tt{i:07d},tmdb:{i},tvdb:{i * 3}", 2700000,
            2010, 1, i % 50, file, show, rng.getrandbits(62), rng.getrandbits(62))


def run(folder, layout, order, items):
    path = os.path.join(folder, f"{layout}-{order}.db")
    db = sqlite3.connect(path, isolation_level=None)
    # As the state database is opened (db/sqlite.cpp, StateStore), with the deferred checkpoint.
    for pragma in ("page_size=16384", "journal_mode=WAL", "synchronous=NORMAL",
                   "cache_size=-24576", "wal_autocheckpoint=0"):
        db.execute("PRAGMA " + pragma)
    compact = layout == "compact"
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, identity TEXT, type TEXT, title TEXT, "
               "year INTEGER, season INTEGER, episode INTEGER, watched INTEGER, updated INTEGER, "
               "progress_ms INTEGER, progress_at INTEGER, via TEXT, created_at INTEGER, "
               "updated_at INTEGER" + (", ident TEXT)" if compact else ")"))
    if compact:
        db.execute(f"CREATE TABLE records ({RECORD_COLUMNS})")
        db.execute("CREATE UNIQUE INDEX records_row ON records (item_id, backend, remote_id)")
    else:
        db.execute(f"CREATE TABLE records ({RECORD_COLUMNS}, "
                   "PRIMARY KEY (item_id, backend, remote_id)) WITHOUT ROWID")
    db.execute("CREATE INDEX records_remote ON records (identity, backend, remote_id, lookup, digest)")
    upsert = ("INSERT INTO records VALUES (" + ",".join("?" * 21) + ") "
              "ON CONFLICT DO UPDATE SET watched = excluded.watched")
    insert_item = "INSERT INTO items VALUES (" + ",".join("?" * (15 if compact else 14)) + ")"
    rng = random.Random(1)
    db.execute("BEGIN")
    for i in range(1, items + 1):
        row = [i, "main", "episode", f"Show {i // 50}", 2010, 1, i % 50, 0, 0, 0, 0, "plex",
               1700000000, 1700000000]
        if compact:
            row.append(f"imdb:tt{i:07d},tmdb:{i},tvdb:{i * 3}|rtvdb:{i // 50}|"
                       f"Show {i // 50}/Season 1/Show {i // 50} - S01E{i % 50:02d}")
        db.execute(insert_item, row)
        db.execute(upsert, record(rng, "plex", i, str(i + 1000)))
    db.execute("COMMIT")
    read = ("SELECT * FROM items WHERE id = ?" if compact else
            "SELECT i.*, b.backend, b.remote_id, b.show_id, b.guids, b.year, b.season, b.episode, "
            "b.path_key, b.title FROM items i LEFT JOIN records b ON b.item_id = i.id "
            "WHERE i.id = ? ORDER BY b.backend, b.remote_id")
    seconds = []
    for backend in ("jellyfin", "emby"):
        rows = list(range(1, items + 1))
        if order == "own":
            rng.shuffle(rows)
        records = [record(rng, backend, i, "%032x" % rng.getrandbits(128)) for i in rows]
        started = time.process_time()
        db.execute("BEGIN")
        for r in records:
            db.execute(read, (r[3],)).fetchall()
            db.execute(upsert, r)
        db.execute("COMMIT")
        seconds.append(time.process_time() - started)
    db.close()
    return seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=100000)
    args = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="ws-record-layouts-")
    try:
        print(f"{args.items} rows; CPU seconds of each server's part (read + upsert per item)")
        print(f"  {'layout':8} {'order':5} {'jellyfin':>9} {'emby':>9}")
        for layout in ("byrow", "compact"):
            for order in ("same", "own"):
                jellyfin, emby = run(folder, layout, order, args.items)
                print(f"  {layout:8} {order:5} {jellyfin:8.2f}s {emby:8.2f}s", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
