# SPDX-License-Identifier: MIT
"""Model-based randomized test of ws-sync on messy libraries.

Seeded random worlds full of bad metadata (episode ids two episodes share, within a series and
across series; a movie with the imdb id of one film and the tmdb id of another; copies of a film
in a second library; items without ids; series without ids on one server; multi-episode files;
season 0 specials; items re-matched between syncs; custom agents; ignore rules; path matching),
and random user actions between syncs (play, unplay, progress, rewatch, add or remove a copy,
re-match an item, change its ids). After every sync the servers are judged against the truth the
generated world holds (who watched what), never against the tool's own database:

  - every copy of an item agrees with the truth on every server (played flag; resume position
    of unplayed items);
  - nothing is played that no one played (false marks are counted and must be 0);
  - items the tool cannot or may not link (no usable id, ambiguous ids, ignored) keep exactly
    the state the user gave them;
  - the next sync without changes reports 0 added / 0 updated on every backend, plans no change
    and sends no write;
  - in a quarter of the rounds a sync of the main libraries alone (--exclude-library of both 4K
    libraries) comes first: it writes to no item of a 4K library;
  - in a quarter of the worlds the servers also send webhooks: most plays, unplays and resume
    positions reach ws-webhook before the sync (as Plex, Jellyfin and Emby post them), which
    applies them and pushes them to the other servers at once; once its queue is empty nothing
    may be played that no one played, nothing the household played unmarked, and nothing it may
    not touch changed;
  - in about one round in seven a server fails during a first sync (down: 503 for every request;
    its listing failing after a few pages; or its writes failing), which must end with exit 0 or 1
    and the same three promises; the round's normal sync then brings every server to the truth;
  - in a quarter of the worlds a second person (the `kid` identity, a user of their own on every
    server) plays items too: after every sync each copy of what the kid played is played for the
    kid and nothing else is, and the first person's truth is judged as before (no play crosses
    from one person to the other);
  - in a quarter of the worlds some servers were set up after the others (ws-simulator
    --rescanned): they list the items in the order of their scan, the others by random dates
    added, so each server's items are matched in an order of their own.

Bounded for CI by WS_MODEL_WORLDS (default 120) and WS_MODEL_ROUNDS (default 8); the seed of a
failing world is printed; WS_MODEL_WEBHOOK_SHARE, WS_MODEL_KID_SHARE and WS_MODEL_RESCANNED_SHARE
(default 0.25 each) set the shares of webhook worlds, of worlds with a second person and of
worlds with servers set up after the others. A longer run by hand:
  WS_MODEL_WORLDS=2000 WS_MODEL_SEED=7 python3 -m unittest -v test_model
"""
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import worlds
from test_identities import KID_IDENTITY, two_people
from test_webhook import (API_KEY, emby_event, free_port, jellyfin_event, multipart, plex_event, post,
                          wait_until_answering)
from wstest import Result, Simulator, binary, to_yaml

SERVERS = ("plex", "jellyfin", "emby")
KID = {s: KID_IDENTITY["kid"][s]["user"] for s in SERVERS}  # the second person's user ids
MINUTE = 60_000
# Worlds of wider runs by hand that once failed, run with every range besides its own seeds:
#   93234: a Plex copy with a stale resume position joins a row played on Emby (Fix Match),
#          and the user unmarks it on Emby in the same round; Plex kept its position.
#   95083: Jellyfin's copy of a film drops its imdb id; its tmdb id is also held by a larger row
#          (another film's, through a stray copy), which took it and its play: false marks.
#          (It depends on the order of the round's actions: about 1 run in 5 failed.)
#   95374: a special played on Plex again after Jellyfin's copy (then on a row of its own) was
#          unmarked; Jellyfin re-matches, and the merge took the unmark as the newer event
#          (the played row kept the date of its first play): unmarked on Emby, missed plays.
#   105208: Emby's copy of a film (a row of its own) loses its imdb id in a refresh; its tmdb id
#          is also held by another film's larger row through a stray Plex copy, which took it
#          and its play: an unplay of that film then unmarked it.
REGRESSION_SEEDS = (93234, 95083, 95374, 105208)


class Copy:
    """One server item: a world entry as one server presents it."""

    def __init__(self, key, server, group, kind):
        self.key = key            # world key of the entry (movie or episode)
        self.server = server
        self.group = group        # the truth this copy follows (a Group)
        self.kind = kind          # "movie" or "episode"
        self.hidden = False
        self.linked = True        # the tool can and may link it to the other copies of its group
        self.touchable = True     # the tool may write to it (False: no record, or ignored)
        self.coupled = None       # a multi-episode file: the groups of the episodes it covers
        self.rematch_ids = None   # ids a "Fix Match" gives it (it starts with wrong ones)
        self.rematch_key = None   # the world key /__sim/ids takes (the show for episodes)
        self.alt_ids = None       # equivalent ids a metadata refresh may switch to
        self.played = False       # the state the user gave it (isolated copies keep it)
        self.kid_played = False   # the second person played this copy themselves
        self.position = 0


class Group:
    """What the household watched: one movie or episode."""

    def __init__(self, name):
        self.name = name
        self.watched = False
        self.time = 0             # the newest event: a play's date, an unplay's sync time
        self.position = None      # a resume position the user set (unplayed), None: any agreed one
        self.copies = []
        self.kid_watched = False  # the second person played it (they never unplay)

    def merge(self, other):
        """`other` turned out to be this item: the newest event wins."""
        self.kid_watched = self.kid_watched or other.kid_watched
        if other.time > self.time:
            self.watched, self.time, self.position = other.watched, other.time, other.position
        for c in other.copies:
            c.group = self
            self.copies.append(c)
        other.copies = []
        # Which resume position survives a merge depends on when each was observed, which the
        # model does not track: not judged until the user sets one again.
        self.position = None
        self.position_unknown = True


class Model:
    """A generated world: the simulator's world file, the config's matching block and the truth."""

    def __init__(self, seed, base_time):
        self.rng = random.Random(seed)
        self.seed = seed
        self.base = base_time
        self.copies = []
        self.groups = []
        self.movies = []
        self.shows = []
        self.hidden_at_start = {s: [] for s in SERVERS}
        self.paths = self.rng.random() < 0.3
        self.custom_agent = self.rng.random() < 0.5
        self.ignore_rules = []    # filled once the server item ids are known
        self.pending_ignores = []  # (copy, kind, provider id or None)
        self.extra_shows = []      # 4K copies of series holding multi-episode files
        self.stats = {"conflicting": 0, "ambiguous": 0, "copies_4k": 0, "no_ids": 0, "shared_ids": 0,
                      "multi": 0, "rematch": 0, "specials": 0, "custom": 0, "ignored": 0}
        self.next_id = 1000 + seed % 1000 * 1000

    def uid(self):
        self.next_id += 1
        return self.next_id

    def group(self, name):
        g = Group(name)
        self.groups.append(g)
        return g

    def copy(self, key, server, group, kind):
        c = Copy(key, server, group, kind)
        group.copies.append(c)
        self.copies.append(c)
        return c

    def servers_subset(self):
        chosen = [s for s in SERVERS if self.rng.random() < 0.75]
        return chosen or [self.rng.choice(SERVERS)]

    def initial_state(self, copies, allow_position=True, uniform=False):
        """Random states for the copies of one group; the group's truth follows from them.
        Positions stay below 80 % of the runtime (Plex takes a position past 90 % as played).
        `uniform`: every copy gets the same state (the episodes of a multi-episode file)."""
        r = self.rng.random()
        same_played = self.rng.random() < 0.5
        last_played = self.base - self.rng.randint(10_000, 50_000_000)
        for c in copies:
            if uniform:
                c.played = r < 0.35 or (r < 0.5 and same_played)
                c.last_played = last_played
                continue
            if r < 0.35 or (r < 0.5 and self.rng.random() < 0.5):
                c.played = True
                c.last_played = self.base - self.rng.randint(10_000, 50_000_000)
            elif allow_position and r < 0.65 and self.rng.random() < 0.6:
                c.position = self.rng.randint(5, 30) * MINUTE
                c.last_played = self.base - self.rng.randint(10_000, 50_000_000)

    def state_json(self, copies):
        out = {}
        for c in copies:
            if c.played:
                out[c.server] = {"played": True, "last_played": c.last_played}
            elif c.position:
                out[c.server] = {"position_ms": c.position, "last_played": c.last_played}
        return out

    # --- movies -------------------------------------------------------------------------------
    def generate_movies(self):
        n = self.rng.randint(6, 12)
        plain = []
        for i in range(n):
            mid = self.uid()
            title = f"Film {mid}"
            movie = {"key": f"m{mid}", "title": title, "year": 1990 + mid % 30,
                     "ids": {"imdb": f"tt{mid:07d}", "tmdb": str(mid)}, "servers": self.servers_subset(),
                     "duration_ms": 100 * MINUTE}
            g = self.group(title)
            copies = [self.copy(movie["key"], s, g, "movie") for s in movie["servers"]]
            variant = self.rng.random()
            if variant < 0.12 and len(copies) > 1:
                # No usable id on one server: linked only by path (when path matching is on).
                c = self.rng.choice(copies)
                self.present(movie, c.server, {})
                c.linked = self.paths
                c.touchable = self.paths
                self.stats["no_ids"] += 1
            elif variant < 0.22:
                # Only the imdb id on one server (a legacy agent, a refresh that lost one).
                c = self.rng.choice(copies)
                self.present(movie, c.server, {"imdb": movie["ids"]["imdb"]})
            elif variant < 0.30 and "plex" in movie["servers"]:
                # A custom agent on Plex: linked only when the config maps it.
                plex_copy = next(c for c in copies if c.server == "plex")
                movie["plex_guids"] = [f"com.plexapp.agents.mydb://{mid}?lang=en"]
                plex_copy.linked = self.custom_agent or self.paths
                plex_copy.touchable = plex_copy.linked
                self.stats["custom"] += 1
            elif variant < 0.38:
                # A re-match candidate: one server starts with a wrong, unknown imdb id.
                c = self.rng.choice(copies)
                self.present(movie, c.server, {"imdb": f"tt9{mid:06d}"})
                c.rematch_ids = dict(movie["ids"])
                c.rematch_key = movie["key"]
                self.isolate(c)
                self.stats["rematch"] += 1
            else:
                plain.append((movie, g))
                if self.rng.random() < 0.3:
                    c = self.rng.choice(copies)
                    c.alt_ids = {"tmdb": movie["ids"]["tmdb"]}
            self.initial_state(g.copies)
            self.movies.append(movie)
            if self.rng.random() < 0.2:
                self.add_4k_copy(movie, g)
        # Conflicting and ambiguous presentations need two films that carry both ids everywhere.
        full = [(m, g) for m, g in plain if "plex_guids" not in m and not any(
            k.startswith(("plex_", "jellyfin_", "emby_")) for k in m)]
        if len(full) >= 2 and self.rng.random() < 0.7:
            (a, ga), (b, gb) = self.rng.sample(full, 2)
            # On one server (its own entry there: titles are per entry) the film has A's imdb id
            # and B's tmdb id but A's title and year: it is A (the even split goes to the title).
            server = self.rng.choice(SERVERS)
            key = f"{a['key']}k"
            self.movies.append({"key": key, "title": a["title"], "year": a["year"],
                                "ids": {"imdb": a["ids"]["imdb"], "tmdb": b["ids"]["tmdb"]},
                                "servers": [server], "file": f"/media/movies/Conflict {key}/c.mkv"})
            c = self.copy(key, server, ga, "movie")
            self.initial_state([c])
            self.stats["conflicting"] += 1
            if self.rng.random() < 0.6:
                # B's imdb id and A's tmdb id under another title: nothing says which film it
                # is. It is kept apart (unless an ignore rule drops the wrong id).
                server = self.rng.choice(SERVERS)
                key = f"{b['key']}x"
                title = f"Mystery {self.uid()}"
                self.movies.append({"key": key, "title": title, "year": 1985,
                                    "ids": {"imdb": b["ids"]["imdb"], "tmdb": a["ids"]["tmdb"]},
                                    "servers": [server]})
                g = self.group(title)
                c = self.copy(key, server, g, "movie")
                self.initial_state([c])
                self.stats["ambiguous"] += 1
                if self.rng.random() < 0.5:
                    # The user ignores A's tmdb id on that item: it is B, by its imdb id.
                    self.pending_ignores.append((c, "id", f"tmdb://{a['ids']['tmdb']}"))
                    c.ignored_into = gb

    def add_4k_copy(self, movie, group):
        server = self.rng.choice(movie["servers"])
        key = f"{movie['key']}c"
        entry = {"key": key, "title": movie["title"], "year": movie["year"], "ids": dict(movie["ids"]),
                 "servers": [server], "library": "4k", "duration_ms": movie["duration_ms"]}
        if "plex_guids" in movie and server == "plex":
            entry["plex_guids"] = list(movie["plex_guids"])
        for k in ("jellyfin_provider_ids", "emby_provider_ids"):
            if k in movie:
                entry[k] = dict(movie[k])
        self.movies.append(entry)
        original = next(c for c in self.copies if c.key == movie["key"] and c.server == server)
        c = self.copy(key, server, group, "movie")
        c.linked, c.touchable = original.linked, original.touchable
        c.rematch_ids, c.rematch_key = (dict(original.rematch_ids), key) if original.rematch_ids else (None, None)
        if original.rematch_ids:
            self.present(entry, server, {"imdb": f"tt8{self.uid():06d}"})
            self.isolate(c)
        elif self.rng.random() < 0.4:
            c.hidden = True  # added later by a user action
            self.hidden_at_start[server].append(key)
        self.stats["copies_4k"] += 1
        if not c.hidden:
            self.initial_state([c])

    def present(self, entry, server, ids):
        """How `server` presents the entry's ids (the others keep the entry's)."""
        if server == "plex":
            modern = [f"{p}://{v}" for p, v in ids.items() if p in ("imdb", "tmdb", "tvdb")]
            entry["plex_guids"] = [f"plex://movie/{self.uid():024x}"] + modern if modern else [
                f"local://{self.uid()}"]
        else:
            entry[f"{server}_provider_ids"] = {p.capitalize(): v for p, v in ids.items()}

    def isolate(self, copy):
        """The copy starts as an item of its own (its ids match nothing else)."""
        g = copy.group
        g.copies.remove(copy)
        own = self.group(f"{g.name} ({copy.server} until re-matched)")
        own.copies.append(copy)
        copy.group = own
        copy.home = g

    # --- shows --------------------------------------------------------------------------------
    def generate_shows(self):
        shared_pool = []
        for s in range(self.rng.randint(2, 3)):
            sid = self.uid()
            title = f"Series {sid}"
            show = {"key": f"s{sid}", "title": title, "year": 2000 + sid % 20,
                    "ids": {"tvdb": str(sid), "tmdb": str(sid + 500000)},
                    "servers": self.servers_subset(), "episodes": []}
            numbers = []
            if self.rng.random() < 0.5:
                numbers += [(0, e) for e in range(1, self.rng.randint(2, 3))]
                self.stats["specials"] += 1
            numbers += [(1, e) for e in range(1, self.rng.randint(4, 6))]
            if self.rng.random() < 0.4:
                numbers += [(2, e) for e in range(1, self.rng.randint(2, 4))]
            no_ids_server = self.rng.choice(show["servers"]) if (
                len(show["servers"]) > 1 and self.rng.random() < 0.2) else None
            if no_ids_server:
                self.present_show(show, no_ids_server, {})
            rematch_server = None
            if no_ids_server is None and len(show["servers"]) > 1 and self.rng.random() < 0.2:
                rematch_server = self.rng.choice(show["servers"])
                self.present_show(show, rematch_server, {"tvdb": str(9_000_000 + sid)})
                self.stats["rematch"] += 1
            episodes = []
            for season, number in numbers:
                eid = self.uid()
                ep = {"key": f"e{eid}", "season": season, "episode": number,
                      "ids": {"tvdb": str(eid)} if self.rng.random() < 0.85 else {},
                      "servers": [x for x in show["servers"] if self.rng.random() < 0.85] or [show["servers"][0]],
                      "duration_ms": 45 * MINUTE}
                g = self.group(f"{title} {season}x{number:02d}")
                for server in ep["servers"]:
                    c = self.copy(ep["key"], server, g, "episode")
                    if server == no_ids_server:
                        c.entry = ep  # decided in settle(), once the episode ids are final
                    if server == rematch_server:
                        c.rematch_ids = dict(show["ids"])
                        c.rematch_key = show["key"]
                        self.isolate(c)
                episodes.append((ep, g))
                show["episodes"].append(ep)
            # One episode id two episodes of the series share (TMDB/TVDB errors).
            with_ids = [e for e, _ in episodes if e["ids"]]
            if len(with_ids) >= 2 and self.rng.random() < 0.4:
                first, second = self.rng.sample(with_ids, 2)
                second["ids"] = dict(first["ids"])
                self.stats["shared_ids"] += 1
            shared_pool += with_ids
            # A multi-episode file on one server covering two episodes of season 1 (those two
            # are then on other servers only, as separate items).
            season1 = [(e, g) for e, g in episodes if e["season"] == 1]
            # (Not in a series re-matched on another server: a Fix Match there could leave the
            # two episodes of the file in different states, and the file is then left alone.)
            hosts = [x for x in show["servers"] if x != no_ids_server]
            if len(season1) >= 3 and hosts and rematch_server is None and self.rng.random() < 0.3:
                (e1, g1), (e2, g2) = season1[0], season1[1]
                server = self.rng.choice(hosts)
                if all(set(e["servers"]) - {server} for e in (e1, e2)):
                    for e in (e1, e2):
                        if server in e["servers"]:
                            e["servers"].remove(server)
                            gone = [c for c in self.copies if c.key == e["key"] and c.server == server]
                            for c in gone:
                                c.group.copies.remove(c)
                                self.copies.remove(c)
                    multi = {"key": f"e{self.uid()}", "season": 1, "episode": e1["episode"],
                             "episode_end": e2["episode"], "ids": {}, "servers": [server],
                             "duration_ms": 90 * MINUTE}
                    # The file sits in the 4K copy of the series on that server (a world file
                    # numbers each episode of a series once).
                    self.extra_shows.append({
                        "key": f"{show['key']}m", "title": show["title"], "year": show["year"],
                        "ids": dict(show["ids"]), "library": "4k", "servers": [server],
                        "episodes": [multi]})
                    c = Copy(multi["key"], server, g1, "episode")
                    c.coupled = (g1, g2)
                    self.copies.append(c)
                    g1.copies.append(c)
                    g2.copies.append(c)
                    g1.coupled = g2.coupled = (g1, g2)
                    self.stats["multi"] += 1
            self.shows.append(show)
        # An episode id of one series given to an episode of another.
        if len(shared_pool) >= 2 and self.rng.random() < 0.5:
            a, b = self.rng.sample(shared_pool, 2)
            b["ids"] = dict(a["ids"])
            self.stats["shared_ids"] += 1

    def present_show(self, show, server, ids):
        if server == "plex":
            modern = [f"{p}://{v}" for p, v in ids.items()]
            show["plex_guids"] = [f"plex://show/{self.uid():024x}"] + modern if modern else [
                f"com.plexapp.agents.none://{self.uid()}?lang=xn"]
        else:
            show[f"{server}_provider_ids"] = {p.capitalize(): v for p, v in ids.items()}

    # --- states and truth -----------------------------------------------------------------------
    def settle(self):
        """Which copies of series without ids can be linked, initial states of episodes (coupled
        ones together), then every group's truth."""
        for c in list(self.copies):
            if not hasattr(c, "entry"):
                continue
            # No series ids here: the episode is found by an id of its own that the same episode
            # carries on another server, or (path matching) by the same file path there.
            elsewhere = [x for x in c.group.copies if x.server != c.server and x.coupled is None]
            if elsewhere and (c.entry["ids"] or self.paths):
                continue
            if c.entry["ids"]:
                self.isolate(c)  # an item of its own: tracked, never joined
            else:
                c.linked = c.touchable = False  # no usable id: skipped, never touched
        for g in self.groups:
            if g.copies and g.copies[0].kind == "episode" and not hasattr(g, "seeded"):
                coupled = getattr(g, "coupled", None)
                groups = coupled or (g,)
                copies = []
                for x in groups:
                    x.seeded = True
                    copies += [c for c in x.copies if c not in copies]
                self.initial_state(copies, allow_position=coupled is None, uniform=coupled is not None)
        for g in self.groups:
            # Any copy the tool links that is played makes the item played (a never-played row
            # has no date, so every real play outranks it).
            linked = [c for c in g.copies if c.linked and not c.hidden]
            plays = [c.last_played for c in linked if c.played]
            if plays:
                g.watched, g.time = True, max(plays)

    def world_file(self, kid=False):
        base = two_people() if kid else worlds.household()  # only its servers (and users) are used
        for entry in self.movies:
            entry.setdefault("added_at", 1600000000)
        movies = self.movies
        shows = self.shows + self.extra_shows
        for show in shows:
            show.setdefault("added_at", 1600000000)
        world = {"servers": base["servers"], "movies": [], "shows": []}
        by_key = {}
        for c in self.copies:
            if not c.hidden:
                by_key.setdefault(c.key, []).append(c)
        for m in movies:
            m = dict(m)
            m["state"] = self.state_json(by_key.get(m["key"], []))
            world["movies"].append(m)
        for s in shows:
            s = dict(s)
            eps = []
            for e in s["episodes"]:
                e = dict(e)
                e["state"] = self.state_json(by_key.get(e["key"], []))
                eps.append(e)
            s["episodes"] = eps
            world["shows"].append(s)
        return world


class ModelTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ws-it-model-")

    def tearDown(self):
        if os.environ.get("WS_KEEP_TMP"):
            print(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def test_random_worlds_against_their_truth(self):
        worlds_n = int(os.environ.get("WS_MODEL_WORLDS", "120"))
        rounds = int(os.environ.get("WS_MODEL_ROUNDS", "8"))
        first_seed = int(os.environ.get("WS_MODEL_SEED", "1"))
        jobs = int(os.environ.get("WS_MODEL_JOBS", "2"))
        totals = {"worlds": 0, "rounds": 0, "syncs": 0, "scoped_syncs": 0, "actions": 0,
                  "webhook_worlds": 0, "webhook_events": 0, "webhook_writes": 0, "outage_syncs": 0, "outages_felt": 0,
                  "kid_worlds": 0, "kid_plays": 0, "rescan_worlds": 0, "false_marks": 0, "missed": 0}
        cases = {}
        failures = []
        started = time.monotonic()

        def one(seed):
            run = WorldRun(self.tmp, seed, rounds)
            try:
                run.run()
                return run, None
            except WorldFailure as e:
                return run, str(e)
            except Exception as e:  # a crash of the harness names its seed too
                return run, f"world seed {seed}: {type(e).__name__}: {e}"

        seeds = list(range(first_seed, first_seed + worlds_n))
        seeds += [s for s in REGRESSION_SEEDS if s not in seeds]
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for run, failure in pool.map(one, seeds):
                if failure:
                    failures.append(failure)
                totals["worlds"] += 1
                totals["rounds"] += run.rounds_done
                totals["syncs"] += run.syncs
                totals["scoped_syncs"] += run.scoped_syncs
                totals["webhook_worlds"] += 1 if run.webhooks else 0
                totals["webhook_events"] += run.events_posted
                totals["webhook_writes"] += run.webhook_writes
                totals["outage_syncs"] += run.outage_syncs
                totals["outages_felt"] += run.outages_felt
                totals["kid_worlds"] += 1 if run.kid else 0
                totals["kid_plays"] += run.kid_plays
                totals["rescan_worlds"] += 1 if run.rescanned else 0
                totals["actions"] += run.actions
                totals["false_marks"] += run.false_marks
                totals["missed"] += run.missed
                for k, v in run.model.stats.items():
                    cases[k] = cases.get(k, 0) + v
        print(f"\nmodel: {json.dumps(totals)}\ncases held: {json.dumps(cases)}\n"
              f"in {time.monotonic() - started:.0f} s (seeds {first_seed}..{first_seed + worlds_n - 1} "
              f"and {list(REGRESSION_SEEDS)}, {jobs} at a time)")
        self.assertEqual(failures, [], "\n\n".join(failures[:5]))
        self.assertEqual(totals["false_marks"], 0)


class WorldFailure(Exception):
    pass


class WorldRun:
    """One world: its own simulator, config and state directory (worlds run side by side)."""

    def __init__(self, tmp, seed, rounds):
        self.tmp = tmp
        self.sim = None
        self.seed = seed
        self.rounds = rounds
        self.rounds_done = 0
        self.syncs = 0
        self.actions = 0
        self.false_marks = 0
        self.missed = 0
        self.log = []
        self.clock = int(time.time()) + 86_400  # ahead of the servers' clock (Plex dates its
        # scrobbles by the wall clock; the tool's unmark events must be newer)
        self.model = Model(seed, self.clock)
        # Which rounds first sync only the main libraries: an rng of its own, so that the
        # worlds and their actions stay what they were for every seed.
        self.scope_rng = random.Random(seed * 7919 + 1)
        self.scoped_syncs = 0
        # Webhook worlds, and which actions the servers post: an rng of their own too.
        self.hook_rng = random.Random(seed * 7919 + 2)
        self.webhooks = self.hook_rng.random() < float(os.environ.get("WS_MODEL_WEBHOOK_SHARE", "0.25"))
        self.hook_port = None
        self.pending_events = []  # (copy, what the user did) posted before the round's sync
        self.events_posted = 0
        # Rounds whose first sync meets a failing server: an rng of their own as well.
        self.outage_rng = random.Random(seed * 7919 + 3)
        self.outage_syncs = 0
        self.outages_felt = 0  # of them, how many ended with exit 1 (some fault never fires)
        # A second person in some worlds, and what they play: an rng of their own.
        self.kid_rng = random.Random(seed * 7919 + 4)
        self.kid = self.kid_rng.random() < float(os.environ.get("WS_MODEL_KID_SHARE", "0.25"))
        self.kid_plays = 0
        self.webhook_writes = 0   # what ws-webhook pushed to the other servers
        self.model.generate_movies()
        self.model.generate_shows()
        self.model.settle()
        # Servers set up after the others (ws-simulator --rescanned): dated by their scan, they
        # list in file order, while the others list by the world's dates added, random here, so
        # each server's items are matched in an order of its own. An rng of its own as well;
        # a regression world stays the world that found its bug.
        self.rescan_rng = random.Random(seed * 7919 + 5)
        self.rescanned = []
        share = float(os.environ.get("WS_MODEL_RESCANNED_SHARE", "0.25"))
        if seed not in REGRESSION_SEEDS and self.rescan_rng.random() < share:
            for entry in self.model.movies + self.model.shows + self.model.extra_shows:
                entry["added_at"] = 1_500_000_000 + self.rescan_rng.randrange(200_000_000)
            # One or two of them: all three would list alike again.
            self.rescanned = sorted(self.rescan_rng.sample(SERVERS,
                                                           self.rescan_rng.randint(1, len(SERVERS) - 1)))

    def fail(self, message):
        recent = "\n    ".join(self.log[-12:])
        # What the shares drew for this world: reproducing it needs the same draws.
        drawn = ", ".join(["webhooks"] * self.webhooks + ["kid"] * self.kid
                          + [f"rescanned {'+'.join(self.rescanned)}"] * bool(self.rescanned))
        raise WorldFailure(f"world seed {self.seed}{f' ({drawn})' if drawn else ''}: {message}\n"
                           f"  last actions:\n    {recent}")

    # --- running -----------------------------------------------------------------------------
    def run(self):
        workdir = tempfile.mkdtemp(prefix=f"ws-model-{self.seed}-", dir=self.tmp)
        self.sim = Simulator(workdir, self.model.world_file(kid=self.kid),
                             args=["--rescanned", ",".join(self.rescanned)] if self.rescanned else [])
        try:
            for server, keys in self.model.hidden_at_start.items():
                if keys:
                    self.sim.visibility(server, hide=keys)
            self.ids = {s: {i["key"]: i["id"] for i in self.sim.items(s)} for s in SERVERS}
            self.config_file = os.path.join(workdir, "config.yaml")
            config = {"state_dir": os.path.join(workdir, "state"),
                      "http": {"timeout": 10, "retries": 2, "backoff_ms": 50, "page_size": 7},
                      "backends": self.sim.config_backends(), "matching": self.matching()}
            if self.kid:
                config["identities"] = KID_IDENTITY
            if self.webhooks:
                self.hook_port = free_port()
                config["webhook"] = {"api_key": API_KEY, "listen": f"127.0.0.1:{self.hook_port}"}
            with open(self.config_file, "w") as f:
                f.write(to_yaml(config) + "\n")
            os.chmod(self.config_file, 0o600)
            self.sync_and_check(0)
            for r in range(1, self.rounds + 1):
                self.act(r)
                if self.kid:
                    self.kid_act(r)
                if self.pending_events:
                    self.deliver_webhooks(r)
                self.sync_and_check(r)
                self.rounds_done += 1
        finally:
            self.sim.stop()
        if not os.environ.get("WS_KEEP_TMP"):
            shutil.rmtree(workdir, ignore_errors=True)

    def matching(self):
        m = {}
        ignore = []
        for copy, kind, value in self.model.pending_ignores:
            item = self.ids[copy.server][copy.key]
            ignore.append({"id": value, "backend": copy.server, "item": item, "reason": "wrong tmdb id"})
            # The dropped id leaves the imdb id: the copy is the film whose imdb id it carries.
            copy.group.copies.remove(copy)
            copy.group = copy.ignored_into
            copy.group.copies.append(copy)
            self.resettle(copy.group)
            self.model.stats["ignored"] += 1
        # A whole item kept out: never written, whatever happens to its group.
        candidates = [c for c in self.model.copies if c.linked and not c.hidden and c.coupled is None
                      and c.rematch_ids is None and c.kind == "movie"]
        if candidates and self.model.rng.random() < 0.3:
            c = self.model.rng.choice(candidates)
            ignore.append({"backend": c.server, "item": self.ids[c.server][c.key], "reason": "sample"})
            g = c.group
            g.copies.remove(c)
            own = Group(f"{g.name} (ignored on {c.server})")
            own.copies.append(c)
            c.group = own
            c.linked = c.touchable = False
            self.model.groups.append(own)
            self.model.stats["ignored"] += 1
            # The group's truth may have come from this copy: settle it again from the others.
            self.resettle(g)
        if ignore:
            m["ignore"] = ignore
        if self.model.paths:
            m["paths"] = {"enabled": True}
        if self.model.custom_agent:
            m["guids"] = [{"plex_prefix": "com.plexapp.agents.mydb://", "provider": "tmdb"}]
        return m

    @staticmethod
    def resettle(g):
        plays = [c.last_played for c in g.copies if c.linked and not c.hidden and c.played]
        g.watched, g.time = (True, max(plays)) if plays else (False, 0)

    def outage_sync(self, r):
        """A sync while one server fails: it may give up on that server (exit 1), never on the
        truth: no false mark, no unmarked play, no untouchable item changed."""
        server = self.outage_rng.choice(SERVERS)
        kind = self.outage_rng.choice(("down", "listing", "writes"))
        # The simulator's fault rule (/__sim/faults) that makes `server` fail that way.
        if kind == "down":
            rule = {"path": ".*", "status": 503}
        elif kind == "listing":  # after a few pages
            rule = {"path": r"^/library/sections/\d+/all$" if server == "plex" else r"^/Users/[^/]+/Items$",
                    "status": 500, "skip": self.outage_rng.randint(0, 3)}
        else:
            rule = {"path": r"^/:/(scrobble|unscrobble|timeline)" if server == "plex" else r"/PlayedItems/|/UserData$",
                    "status": 500}
        before = self.server_states()
        self.sim.fault(server, times=-1, **rule)
        try:
            self.sync(r, f"{server} {kind}", expect=(0, 1))
        finally:
            self.sim.clear_faults()
        self.outage_syncs += 1
        self.outages_felt += 1 if self.last_code == 1 else 0
        self.log.append(f"round {r}: a sync while {server} failed ({kind})")
        self.check_partial_writes(r, before, f"a sync while {server} failed ({kind})")

    def sync(self, r, label, scope=(), expect=(0,)):
        env = {"WS_FAKE_NOW": str(self.clock + r * 1000 + (10 if label == "again" else 0))}
        # The no-change run logs at debug level: a failure then says which item changed.
        args = ["--json"] + (["-vv"] if label == "again" else []) + list(scope)
        full_env = dict(os.environ)
        full_env.update(env)
        proc = subprocess.run([binary("ws-sync"), "-c", self.config_file, *args], capture_output=True,
                              text=True, timeout=300, env=full_env)
        result = Result(proc)
        self.syncs += 1
        if result.code not in expect or result.json is None:
            self.fail(f"round {r} ({label}): {result}")
        self.last_stderr = result.stderr
        self.last_code = result.code
        return result.json

    def scoped_sync(self, r):
        """A sync of the main libraries only: what the 4K libraries hold is not listed, so not
        one of their items may be written, whatever the run learns of the rows they are on."""
        before = self.sim_4k_states()
        self.sync(r, "scoped", ("--exclude-library", "Movies 4K", "--exclude-library", "TV Shows 4K"))
        self.scoped_syncs += 1
        after = self.sim_4k_states()
        changed = [f"{s} {k}: {before[(s, k)]} -> {v}" for (s, k), v in after.items()
                   if before.get((s, k)) != v]
        if changed:
            self.fail(f"round {r}: a sync of the main libraries wrote to 4K copies: " + "; ".join(changed[:5]))

    def sim_4k_states(self):
        return {(s, i["key"]): (i["played"], i["position_ms"]) for s in SERVERS for i in self.sim.items(s)
                if i.get("library") == "4k" and not i.get("hidden") and "played" in i}

    def sync_and_check(self, r):
        if r > 0 and self.outage_rng.random() < 0.15:
            self.outage_sync(r)
        if r > 0 and self.scope_rng.random() < 0.25:
            self.scoped_sync(r)
        self.sync(r, "sync")
        states = self.check_truth(r)
        writes = {s: self.sim.writes(s) for s in SERVERS}
        doc = self.sync(r, "again")
        for identity, i in doc["result"]["import"]["identities"].items():
            for backend, b in i["backends"].items():
                if b["added"] or b["updated"]:
                    changed = [line for line in self.last_stderr.splitlines()
                               if " updated item " in line or " added " in line or "merged" in line]
                    self.fail(f"round {r}: the no-change sync added {b['added']} and updated "
                              f"{b['updated']} on {backend} ({identity}): " + "; ".join(changed[:5]))
        for identity, i in doc["result"]["export"]["identities"].items():
            for backend, b in i["backends"].items():
                if b["changes"]:
                    self.fail(f"round {r}: the no-change sync planned {b['changes']} on {backend} ({identity})")
        for s in SERVERS:
            if self.sim.writes(s) != writes[s]:
                self.fail(f"round {r}: the no-change sync wrote to {s}")
        if self.server_states() != states:
            self.fail(f"round {r}: the no-change sync changed the servers")

    def server_states(self):
        return {s: {i["key"]: (i["played"], i["position_ms"]) for i in self.sim.items(s)
                    if not i.get("hidden")} for s in SERVERS}

    def check_truth(self, r):
        states = self.server_states()
        problems = []
        for c in self.model.copies:
            if c.hidden:
                continue
            played, position = states[c.server][c.key]
            if not c.linked or not c.touchable:
                # The tool may not touch it: it keeps what the user gave it.
                if played != c.played or (not played and position != c.position):
                    problems.append(f"{c.server} {c.key} ({c.group.name}) was changed: "
                                    f"played {played} position {position}, user gave "
                                    f"{c.played}/{c.position}")
                continue
            self.judge(c, played, any(g.watched for g in c.coupled or (c.group,)), problems)
        for g in self.model.groups:
            if g.watched or getattr(g, "coupled", None) or getattr(g, "position_unknown", False):
                continue
            live = [c for c in g.copies if not c.hidden and c.linked and c.touchable]
            positions = {c: states[c.server][c.key][1] for c in live}
            if g.position is not None:
                for c, p in positions.items():
                    if abs(p - g.position) > 1000:
                        problems.append(f"{c.server} {c.key} ({g.name}) at {p} ms, the user left it at {g.position}")
            elif positions and max(positions.values()) >= MINUTE and max(positions.values()) - min(positions.values()) > 1000:
                problems.append(f"{g.name}: positions differ: {[(c.server, p) for c, p in positions.items()]}")
        if self.kid:
            problems += self.kid_problems()
        if problems:
            self.fail(f"round {r}:\n  " + "\n  ".join(problems[:20]))
        # What the servers hold now is what the user starts from in the next round.
        for c in self.model.copies:
            if not c.hidden:
                c.played, c.position = states[c.server][c.key]
                c.synced_played = c.played
        return states

    # --- user actions --------------------------------------------------------------------------
    def act(self, r):
        m = self.model
        rng = m.rng
        now = self.clock + r * 1000 - 500
        used = set()
        self.last_action = ""
        for i in range(rng.randint(1, 5)):
            c = rng.choice(m.copies)
            if c.coupled is None and getattr(c.group, "coupled", None):
                continue  # episodes of a multi-episode file change together, through the file
            groups = c.coupled or (c.group,)
            if any(id(g) in used for g in groups):
                continue
            choice = rng.random()
            t = now + i
            done = False
            if c.hidden:
                if choice < 0.7:
                    self.sim.visibility(c.server, show=[c.key])
                    self.last_action = "add copy"
                    c.hidden = False
                    c.synced_played = False  # the tool has not seen it (again) yet
                    done = True
            elif choice < 0.3:
                # Watched to the end: a player leaves no resume position.
                self.set_state(c, played=True, last_played=t, position_ms=0)
                self.last_action = f"play at {t}"
                done = True
            elif choice < 0.5 and c.played and self.played_at_last_sync(c):
                self.set_state(c, played=False, position_ms=0)
                self.last_action = "unplay"
                if c.linked and c.touchable:
                    for g in groups:
                        g.watched, g.time, g.position = False, self.clock + r * 1000, None
                done = True
            elif choice < 0.65 and not c.played and c.coupled is None and not c.group.watched:
                p = rng.randint(5, 30) * MINUTE
                self.set_state(c, position_ms=p, last_played=t)
                self.last_action = f"position {p}"
                done = True
            elif choice < 0.75 and c.rematch_ids is not None:
                self.sim._call(c.server, "POST", "/__sim/ids", {"key": c.rematch_key, "ids": c.rematch_ids})
                self.last_action = f"re-match {c.rematch_key}"
                self.rematch(c)
                done = True
            elif choice < 0.82 and c.alt_ids is not None:
                self.sim._call(c.server, "POST", "/__sim/ids", {"key": c.key, "ids": c.alt_ids})
                self.last_action = f"ids {c.alt_ids}"
                c.alt_ids = None
                done = True
            elif choice < 0.9 and c.kind == "movie" and c.coupled is None and c.rematch_ids is None:
                others = [x for x in c.group.copies if x is not c and not x.hidden]
                if others:
                    self.sim.visibility(c.server, hide=[c.key])
                    self.last_action = "remove copy"
                    c.hidden = True
                    done = True
            if done:
                used.update(id(g) for g in groups)
                self.actions += 1
                self.log.append(f"round {r}: {self.last_action} {c.server} {c.key} ({c.group.name})")
                what = self.last_action.split(" ")[0]
                if self.webhooks and what in ("play", "unplay", "position") and self.hook_rng.random() < 0.7:
                    self.pending_events.append((c, what))

    # --- webhooks ------------------------------------------------------------------------------
    def event_request(self, c, what):
        """What `c`'s server posts when the user does `what` to it: (body, content type, agent)."""
        item = self.ids[c.server][c.key]
        if c.server == "plex":
            event = {"play": "media.scrobble"}.get(what, "media.stop")
            body, content_type = multipart({"payload": plex_event(event, item, c.kind)})
            return body, content_type, "PlexMediaServer/1.41.3.9314"
        kind = c.kind.capitalize()
        if c.server == "jellyfin":
            if what == "position":
                body = jellyfin_event("PlaybackStop", item, kind)
            else:
                body = jellyfin_event("UserDataSaved", item, kind, SaveReason="TogglePlayed")
            return body.encode(), "text/plain", "Jellyfin-Server/10.10.7"
        event = {"play": "item.markplayed", "unplay": "item.markunplayed"}.get(what, "playback.stop")
        return emby_event(event, item, kind).encode(), "application/json", None

    def deliver_webhooks(self, r):
        """The round's events reach ws-webhook, which applies and pushes them; its queue must
        empty, and what it pushed is judged by check_partial_writes."""
        events, self.pending_events = self.pending_events, []
        before = self.server_states()
        writes_before = sum(self.sim.writes(s) for s in SERVERS)
        env = dict(os.environ)
        env["WS_FAKE_NOW"] = str(self.clock + r * 1000 - 100)  # after the round's actions
        log_file = os.path.join(os.path.dirname(self.config_file), f"webhook-{r}.log")
        with open(log_file, "w") as log:
            hook = subprocess.Popen([binary("ws-webhook"), "-c", self.config_file], stdout=subprocess.DEVNULL,
                                    stderr=log, env=env)
        url = f"http://127.0.0.1:{self.hook_port}/webhook"
        try:
            if problem := wait_until_answering(hook, url):
                with open(log_file) as log:
                    self.fail(f"round {r}: {problem}: {log.read()[-2000:]}")
            for c, what in events:
                body, content_type, agent = self.event_request(c, what)
                status, text = post(url, body, content_type, user_agent=agent)
                if status != 200:
                    self.fail(f"round {r}: ws-webhook answered {status} to {what} of {c.server} {c.key}: {text}")
                self.events_posted += 1
                self.log.append(f"round {r}: webhook: {what} of {c.server} {c.key}")
            deadline = time.monotonic() + 60
            while queued := self.queued_events():
                if time.monotonic() > deadline or all(state == "failed" for _, state, _ in queued):
                    self.fail(f"round {r}: ws-webhook left events in its queue: {queued}")
                time.sleep(0.05)
        finally:
            hook.terminate()
            try:
                hook.wait(timeout=60)
            except subprocess.TimeoutExpired:
                hook.kill()
                hook.wait()
        if hook.returncode != 0:
            self.fail(f"round {r}: ws-webhook exited {hook.returncode} after SIGTERM")
        self.webhook_writes += sum(self.sim.writes(s) for s in SERVERS) - writes_before
        self.check_partial_writes(r, before, "after the webhooks")

    def queued_events(self):
        proc = subprocess.run([binary("ws-webhook"), "queue", "-c", self.config_file, "--json"],
                              capture_output=True, text=True, timeout=60)
        result = Result(proc)
        if result.code != 0 or result.json is None:
            self.fail(f"ws-webhook queue: {result}")
        return [(e["id"], e.get("state"), e.get("error")) for e in result.json["result"]["events"]]

    def check_partial_writes(self, r, before, when):
        """What a partial step did (the webhooks, a sync while a server failed), judged before a
        complete sync finishes what it left undone (an unplay not read yet is still to come): no
        copy the tool may not touch changed, no copy became played that no one played, and none
        the household played became unplayed."""
        states = self.server_states()
        problems = []
        for c in self.model.copies:
            if c.hidden:
                continue
            (played, position), (was_played, was_position) = states[c.server][c.key], before[c.server][c.key]
            if not c.linked or not c.touchable:
                if (played, position) != (was_played, was_position):
                    problems.append(f"{c.server} {c.key} ({c.group.name}) was changed: played {played} "
                                    f"position {position}, user gave {was_played}/{was_position}")
                continue
            want = any(g.watched for g in (c.coupled or (c.group,)))
            if played and not was_played and not want:
                self.false_marks += 1
                problems.append(f"FALSE MARK: {c.server} {c.key} ({c.group.name}) played, nobody played it")
            elif was_played and not played and want:
                self.missed += 1
                problems.append(f"{c.server} {c.key} ({c.group.name}) unmarked, the household played it")
        if problems:
            self.fail(f"round {r} ({when}):\n  " + "\n  ".join(problems[:20]))

    # --- the second person ---------------------------------------------------------------------
    def kid_act(self, r):
        """The kid plays a copy or two (only plays: their truth is what they played)."""
        rng = self.kid_rng
        t = self.clock + r * 1000 - 400
        for i in range(rng.randint(0, 2)):
            c = rng.choice(self.model.copies)
            if c.hidden or c.kid_played or (c.coupled is None and getattr(c.group, "coupled", None)):
                continue
            self.sim.set_state(c.server, key=c.key, user=KID[c.server], played=True, last_played=t + i)
            c.kid_played = True
            if c.linked and c.touchable:
                for g in c.coupled or (c.group,):
                    g.kid_watched = True
            self.kid_plays += 1
            self.log.append(f"round {r}: the kid played {c.server} {c.key} ({c.group.name})")

    def kid_problems(self):
        """Every copy of what the kid played is played for the kid, and nothing else is."""
        played = {s: {i["key"]: i["played"] for i in self.sim.items(s, user=KID[s])} for s in SERVERS}
        problems = []
        for c in self.model.copies:
            if c.hidden:
                continue
            now = played[c.server][c.key]
            if not c.linked or not c.touchable:
                if now != c.kid_played:
                    problems.append(f"kid: {c.server} {c.key} ({c.group.name}) was changed: played {now}")
                continue
            self.judge(c, now, any(g.kid_watched for g in c.coupled or (c.group,)), problems, "the kid")
        return problems

    def judge(self, c, played, want, problems, who="the household"):
        """A copy the tool links against the truth of `who`: played when nobody played it (a
        false mark) or unplayed when it was played (missed), each counted."""
        if played and not want:
            self.false_marks += 1
            problems.append(f"FALSE MARK: {c.server} {c.key} ({c.group.name}) played, not by {who}")
        elif want and not played:
            self.missed += 1
            problems.append(f"{c.server} {c.key} ({c.group.name}) unplayed, {who} played it")

    @staticmethod
    def played_at_last_sync(c):
        return getattr(c, "synced_played", False)

    def set_state(self, c, **state):
        self.sim.set_state(c.server, key=c.key, **state)
        if "played" in state:
            c.played = state["played"]
            if c.played:
                c.position = 0
                c.last_played = state["last_played"]
        if "position_ms" in state:
            c.position = state["position_ms"]
        groups = c.coupled or (c.group,)
        if not (c.linked and c.touchable):
            return
        for g in groups:
            g.position_unknown = False
        if state.get("played"):
            for g in groups:
                g.watched, g.time, g.position = True, state["last_played"], None
        elif "position_ms" in state:
            c.group.position = state["position_ms"]

    def rematch(self, c):
        """A Fix Match on one server: every copy it re-identifies joins its real item."""
        targets = [x for x in self.model.copies
                   if x.rematch_key == c.rematch_key and x.server == c.server and x.rematch_ids is not None]
        for x in targets:
            x.rematch_ids = None
            own = x.group
            home = x.home
            home.merge(own)
