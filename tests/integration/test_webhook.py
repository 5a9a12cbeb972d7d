# SPDX-License-Identifier: MIT
"""ws-webhook: events from Plex, Jellyfin, Emby and Tautulli are stored, applied and pushed."""
import fcntl
import json
import os
import select
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import worlds
from wstest import WsTestCase, binary

API_KEY = "webhook-key-0123456789abcdef"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body, content_type="application/json", user_agent=None, key=API_KEY, header_key=False,
         timeout=30):
    headers = {"Content-Type": content_type}
    if user_agent:
        headers["User-Agent"] = user_agent
    if key and header_key:
        headers["X-Apikey"] = key
    elif key:
        url += f"?apikey={key}"
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_until_answering(hook, url, limit=30):
    """Wait until ws-webhook (the process `hook`) answers GET `url` with 200: None once it
    does, else why not (it exited, or it did not answer within `limit` seconds)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if hook.poll() is not None:
            return f"ws-webhook exited {hook.returncode}"
        try:
            with urllib.request.urlopen(f"{url}?apikey={API_KEY}", timeout=2) as resp:
                if resp.status == 200:
                    return None
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    return f"ws-webhook did not answer within {limit} s"


def multipart(fields):
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n"
                     f"Content-Type: application/json\r\n\r\n{value}\r\n")
    body = "".join(parts) + f"--{boundary}--\r\n"
    return body.encode(), f"multipart/form-data; boundary={boundary}"


def plex_event(event, rating_key, item_type="movie", account=1, server=worlds.PLEX_ID):
    return json.dumps({"event": event, "user": True, "owner": True,
                       "Account": {"id": account, "title": "owner"},
                       "Server": {"title": "FakePlex", "uuid": server},
                       "Player": {"local": True, "title": "Living Room", "uuid": "p1"},
                       "Metadata": {"ratingKey": rating_key, "type": item_type, "title": "x",
                                    "librarySectionID": 1}})


def jellyfin_event(event, item_id, item_type="Movie", user=worlds.JF_USER, **extra):
    body = {"ServerId": worlds.JF_ID, "ServerName": "FakeJelly", "ServerVersion": "10.10.7",
            "NotificationType": event, "ItemId": item_id, "ItemType": item_type, "Name": "x",
            "UserId": user, "NotificationUsername": "alice"}
    body.update(extra)
    return json.dumps(body)


def emby_event(event, item_id, item_type="Movie", user=worlds.EMBY_USER):
    return json.dumps({"Title": "t", "Event": event, "User": {"Name": "alice", "Id": user},
                       "Item": {"Name": "x", "Id": item_id, "Type": item_type},
                       "Server": {"Name": "FakeEmby", "Id": worlds.EMBY_ID, "Version": "4.8.11.0"}})


class WebhookCase(WsTestCase):
    world = worlds.household()

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.write_config(extra={"webhook": {"api_key": API_KEY, "listen": f"127.0.0.1:{self.port}"}})
        self.url = f"http://127.0.0.1:{self.port}/webhook"
        self.hook = None

    def tearDown(self):
        if self.hook and self.hook.poll() is None:
            self.hook.kill()
        if self.hook:
            self.hook.communicate(timeout=10)
        super().tearDown()

    def start(self, *args):
        self.hook = subprocess.Popen([binary("ws-webhook"), "-c", self.config_file, "--json", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        problem = wait_until_answering(self.hook, self.url)
        if problem:
            exited = self.hook.poll() is not None
            self.fail(f"{problem}: {self.hook.stderr.read()}" if exited else problem)

    def stop(self, sig=signal.SIGTERM):
        self.hook.send_signal(sig)
        out, err = self.hook.communicate(timeout=120)
        return self.hook.returncode, json.loads(out) if out.strip() else None, err

    def wait_for(self, predicate, limit, what):
        started = time.monotonic()
        while time.monotonic() - started < limit:
            if predicate():
                return time.monotonic() - started
            time.sleep(0.02)
        self.fail(f"not within {limit} s: {what}")

    def played(self, server, key):
        return self.sim.item(server, key)["played"]


class Webhook(WebhookCase):
    def test_plex_scrobble_reaches_jellyfin_and_emby_within_2s(self):
        self.ws("ws-sync")
        self.assertFalse(self.played("jellyfin", "m3"))
        self.start()
        self.sim.set_state("plex", key="m3", played=True, last_played=int(time.time()))
        body, content_type = multipart({"payload": plex_event("media.scrobble", self.sim.item("plex", "m3")["id"])})
        sent = time.monotonic()
        status, text = post(self.url, body, content_type, user_agent="PlexMediaServer/1.41.3.9314")
        self.assertEqual(status, 200, text)
        self.assertIn("queued", text)
        self.wait_for(lambda: self.played("jellyfin", "m3") and self.played("emby", "m3"), 2.0,
                      "Gamma played on Jellyfin and Emby")
        print(f"\nplex scrobble -> jellyfin+emby: {time.monotonic() - sent:.3f} s", flush=True)
        code, doc, err = self.stop()
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["result"]["applied"], 1)
        self.assertEqual(doc["result"]["pending"], 0)
        self.assertGreaterEqual(doc["result"]["writes"], 2)
        self.assertEqual(err, "")
        # The local row says so, with the change log naming the webhook's backend.
        self.assertTrue(self.item_by_title("Gamma (2003)")["watched"])

    def test_jellyfin_stop_with_a_position_moves_plex(self):
        self.ws("ws-sync")
        self.start()
        self.sim.set_state("jellyfin", key="m4", position_ms=1234000)  # Delta has no ids: never synced
        self.sim.set_state("jellyfin", key="m6", position_ms=1500000)
        self.sim.set_state("jellyfin", key="m1", position_ms=0)
        item = self.sim.item("jellyfin", "s1e2")
        self.sim.set_state("jellyfin", key="s1e2", position_ms=1500000)
        status, text = post(self.url, jellyfin_event("PlaybackStop", item["id"], "Episode",
                                                     PlaybackPositionTicks=1500000 * 10000).encode(),
                            "text/plain", user_agent="Jellyfin-Server/10.10.7")
        self.assertEqual(status, 200, text)
        # The backends are written one after the other: wait for both.
        self.wait_for(lambda: self.sim.item("plex", "s1e2")["position_ms"] == 1500000
                      and self.sim.item("emby", "s1e2")["position_ms"] == 1500000, 5.0,
                      "Plex and Emby position of Show One 1x02")
        code, doc, err = self.stop()
        self.assertEqual(code, 0, err)

    def test_emby_mark_unplayed_propagates(self):
        self.ws("ws-sync")
        self.assertTrue(self.played("plex", "m2") and self.played("jellyfin", "m2"))
        self.start()
        self.sim.set_state("emby", key="m2", played=False, last_played=None)
        status, text = post(self.url, emby_event("item.markunplayed", self.sim.item("emby", "m2")["id"]).encode())
        self.assertEqual(status, 200, text)
        self.wait_for(lambda: not self.played("plex", "m2") and not self.played("jellyfin", "m2"), 5.0,
                      "Beta unplayed on Plex and Jellyfin")
        self.assertEqual(self.stop()[0], 0)

    def test_tautulli_watched(self):
        self.ws("ws-sync")
        self.start()
        self.sim.set_state("plex", key="m3", played=True, last_played=int(time.time()))
        body = json.loads(plex_event("tautulli.watched", self.sim.item("plex", "m3")["id"], "movie"))
        status, text = post(self.url, json.dumps(body).encode(), user_agent="Tautulli/2.14.2", header_key=True)
        self.assertEqual(status, 200, text)
        self.wait_for(lambda: self.played("emby", "m3") and self.played("jellyfin", "m3"), 5.0,
                      "Gamma played on Emby and Jellyfin")
        self.assertEqual(self.stop()[0], 0)

    def test_bad_requests_are_refused_and_the_server_keeps_serving(self):
        self.ws("ws-import")
        self.start()
        movie = self.sim.item("emby", "m1")["id"]
        cases = [
            ("no key", dict(body=emby_event("item.markplayed", movie).encode(), key=None), 401),
            ("wrong key", dict(body=emby_event("item.markplayed", movie).encode(), key="nope"), 401),
            ("malformed", dict(body=b"{\"Event\": ", content_type="application/json"), 400),
            ("not json", dict(body=b"hello", content_type="text/plain"), 400),
            ("unknown shape", dict(body=b"{\"hello\": 1}"), 400),
            ("oversized", dict(body=b"{\"x\":\"" + b"a" * (5 << 20) + b"\"}"), 413),
            ("unknown server", dict(body=emby_event("item.markplayed", movie).replace(worlds.EMBY_ID, "f" * 32).encode()), 422),
            ("unknown user", dict(body=emby_event("item.markplayed", movie, user="e" * 32).encode()), 422),
            ("no item id", dict(body=jellyfin_event("UserDataSaved", "").encode()), 400),
        ]
        for name, kwargs, expected in cases:
            with self.subTest(case=name):
                body = kwargs.pop("body")
                status, text = post(self.url, body, **kwargs)
                self.assertEqual(status, expected, f"{name}: {text}")
                self.assertTrue(text.strip(), name)
        # Events we do not act on are acknowledged, not stored.
        status, text = post(self.url, emby_event("system.notificationtest", movie).encode())
        self.assertEqual((status, text.startswith("ignored")), (200, True), text)
        body, content_type = multipart({"payload": plex_event("media.play", "1")})
        self.assertEqual(post(self.url, body, content_type, user_agent="PlexMediaServer/1.4")[0], 200)
        # A good event still goes through.
        self.sim.set_state("emby", key="m6", played=True, last_played=int(time.time()))
        status, text = post(self.url, emby_event("item.markplayed", self.sim.item("emby", "m6")["id"]).encode())
        self.assertEqual(status, 200, text)
        self.wait_for(lambda: self.played("jellyfin", "m6"), 5.0, "Zeta played on Jellyfin")
        code, doc, err = self.stop()
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["result"]["refused"], len(cases))
        self.assertEqual(doc["result"]["ignored"], 2)
        self.assertEqual(doc["result"]["applied"], 1)
        self.assertNotIn(API_KEY, err + json.dumps(doc))
        self.assert_no_secret(err)

    def test_slow_clients_time_out(self):
        self.start("--read-timeout", "1")
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as slow:
            slow.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\n")  # and then nothing
            # Others are served meanwhile.
            status, _ = post(self.url, b"{}")
            self.assertEqual(status, 400)
            started = time.monotonic()
            data = slow.recv(4096)  # the server gives up on it
            self.assertLess(time.monotonic() - started, 8)
            self.assertFalse(data.startswith(b"HTTP/1.1 200"), data)
        self.assertEqual(self.stop()[0], 0)

    def test_queued_events_survive_a_crash(self):
        self.ws("ws-sync")
        self.start()
        lock = open(os.path.join(self.state_dir, "watchstate.lock"), "a+")
        fcntl.flock(lock, fcntl.LOCK_EX)  # a ws-sync is running: events must wait
        try:
            self.sim.set_state("plex", key="m3", played=True, last_played=int(time.time()))
            body, content_type = multipart({"payload": plex_event("media.scrobble", self.sim.item("plex", "m3")["id"])})
            self.assertEqual(post(self.url, body, content_type, user_agent="PlexMediaServer/1.4")[0], 200)
            time.sleep(0.5)
            self.assertFalse(self.played("jellyfin", "m3"))
            self.hook.kill()  # kill -9: no chance to apply
            self.hook.communicate(timeout=10)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()
        self.start()
        self.wait_for(lambda: self.played("jellyfin", "m3") and self.played("emby", "m3"), 10.0,
                      "the queued event applied after the restart")
        code, doc, err = self.stop()
        self.assertEqual(code, 0, err)
        self.assertEqual((doc["result"]["applied"], doc["result"]["pending"]), (1, 0))

    def test_connections_of_a_burst_queue_while_the_receiver_is_busy(self):
        # 64 senders connect while the accept loop takes none (the process is stopped): the
        # kernel completes every handshake only when ws-webhook listens with a wide backlog.
        # cpp-httplib's own backlog of 5 completes 6 and drops the other SYNs, which costs each
        # of those senders a one-second retry.
        self.start()
        senders = []
        self.hook.send_signal(signal.SIGSTOP)
        try:
            for _ in range(64):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", self.port))
                senders.append(s)
            poller = select.poll()
            for s in senders:
                poller.register(s, select.POLLOUT)
            connected = set()
            deadline = time.monotonic() + 0.5
            while len(connected) < len(senders) and time.monotonic() < deadline:
                for fd, _ in poller.poll(50):
                    connected.add(fd)
                    poller.unregister(fd)
            refused = [s for s in senders if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0]
        finally:
            self.hook.send_signal(signal.SIGCONT)
            for s in senders:
                s.close()
        self.assertEqual((len(connected), refused), (64, []))
        # The connections closed unanswered did not disturb the receiver.
        with urllib.request.urlopen(f"{self.url}?apikey={API_KEY}", timeout=10) as resp:
            self.assertEqual(resp.status, 200)
        code, _, err = self.stop()
        self.assertEqual(code, 0, err)

    def test_refuses_to_start_without_an_api_key(self):
        self.write_config(extra={"webhook": {"listen": f"127.0.0.1:{self.port}"}})
        result = self.run_tool("ws-webhook", "--json")
        self.assertEqual(result.code, 78, result)
        self.assertIn("api_key", result.stderr)


class Burst(WebhookCase):
    world = None
    sim_args = ("--items", "400", "--diverge", "0", "--played", "0", "--in-progress", "0")

    def test_a_burst_of_1000_events_is_applied_without_loss(self):
        self.ws("ws-sync")
        plex_items = [i for i in self.sim.items("plex") if i["type"] == "movie"][:250]
        now = int(time.time())
        for item in plex_items:
            self.sim.set_state("plex", key=item["key"], played=True, last_played=now)
        bodies = []
        for n in range(1000):
            item = plex_items[n % len(plex_items)]
            bodies.append(multipart({"payload": plex_event("media.scrobble", item["id"], server=self.sim.info["plex"]["server_id"])}))
        self.start()
        statuses = []
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            for status, _ in pool.map(lambda b: post(self.url, b[0], b[1], user_agent="PlexMediaServer/1.4"), bodies):
                statuses.append(status)
        accepted = time.monotonic() - started
        code, doc, err = self.stop()
        drained = time.monotonic() - started
        self.assertEqual(statuses, [200] * 1000)
        self.assertEqual(code, 0, err)
        result = doc["result"]
        self.assertEqual((result["queued"], result["applied"], result["pending"], result["failed"]),
                         (1000, 1000, 0, 0))
        print(f"\nburst: 1000 events accepted in {accepted:.2f} s ({1000 / accepted:.0f}/s), "
              f"all applied after {drained:.2f} s ({1000 / drained:.0f} events/s sustained), "
              f"{result['writes']} pushes", flush=True)
        # Every scrobbled movie is now played wherever it is matched.
        doc = self.ws("ws-parity", "--check", "played")
        self.assertEqual(doc["result"]["findings"], [])
        played = {i["key"] for i in plex_items}
        never_synced = self.unmatched_titles("plex")
        for server in ("jellyfin", "emby"):
            skipped = never_synced | self.unmatched_titles(server)
            missing = [i["key"] for i in self.sim.items(server)
                       if i["key"] in played and not i["played"] and i["title"] not in skipped]
            self.assertEqual(missing, [], server)

    def unmatched_titles(self, server):
        result = self.run_tool("ws-backend", "--json", server, "unmatched")
        self.assertIn(result.code, (0, 1), result)
        return {i["title"] for i in result.json["result"]["items"]}


def with_copies():
    world = worlds.household()
    # Gamma also sits in Plex's 4K library.
    gamma = dict(next(m for m in world["movies"] if m["key"] == "m3"))
    gamma.update({"key": "m3c", "library": "4k", "servers": ["plex"], "state": {}})
    world["movies"].append(gamma)
    return world


class WebhookCopies(WebhookCase):
    world = with_copies()

    def test_a_scrobble_of_one_copy_marks_every_copy(self):
        self.ws("ws-sync")
        self.assertFalse(self.played("plex", "m3c"))
        self.start()
        self.sim.set_state("jellyfin", key="m3", played=True, last_played=int(time.time()))
        status, text = post(self.url, jellyfin_event("UserDataSaved", self.sim.item("jellyfin", "m3")["id"],
                                                     SaveReason="TogglePlayed").encode(),
                            "text/plain", user_agent="Jellyfin-Server/10.10.7")
        self.assertEqual(status, 200, text)
        self.wait_for(lambda: self.played("plex", "m3") and self.played("plex", "m3c")
                      and self.played("emby", "m3"), 5.0, "every copy of Gamma played")
        code, doc, err = self.stop()
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["result"]["failed"], 0)


class WebhookQueue(WebhookCase):
    """ws-webhook queue: list, retry and purge the stored events, beside the running server."""

    def setUp(self):
        super().setUp()
        self.outputs = []  # every stdout and stderr of the queue commands, searched for secrets

    def queue(self, *args, expect=0, env=None):
        result = self.run_tool("ws-webhook", "queue", *args, "--json", env=env)
        self.outputs += [result.stdout, result.stderr]
        self.assertEqual(result.code, expect, result)
        self.assertIsNotNone(result.json, result)
        self.assertEqual(result.json["exit_code"], expect, result)
        return result.json

    def human(self, *args, expect=0):
        result = self.run_tool("ws-webhook", "queue", *args)
        self.outputs += [result.stdout, result.stderr]
        self.assertEqual(result.code, expect, result)
        return result.stdout

    def events(self, *args):
        return {e["id"]: e for e in self.queue(*args)["result"]["events"]}

    def assert_no_secrets_anywhere(self):
        text = "\n".join(self.outputs)
        self.assertNotIn(API_KEY, text)
        self.assert_no_secret(text)
        for token in ("plex-owner-token-1234", "jf-api-key-abcdef0123456789",
                      "emby-api-key-9876543210fedcba"):
            self.assertNotIn(token, text)

    def post_plex_scrobble(self, key):
        body, content_type = multipart({"payload": plex_event("media.scrobble", self.sim.item("plex", key)["id"])})
        status, text = post(self.url, body, content_type, user_agent="PlexMediaServer/1.41.3.9314")
        self.assertEqual(status, 200, text)
        return int(text.split("#")[1])

    def post_jellyfin_played(self, key):
        status, text = post(self.url, jellyfin_event("UserDataSaved", self.sim.item("jellyfin", key)["id"],
                                                     SaveReason="TogglePlayed").encode(),
                            "text/plain", user_agent="Jellyfin-Server/10.10.7")
        self.assertEqual(status, 200, text)
        return int(text.split("#")[1])

    def missing_on_plex(self, key):
        """Plex answers 404 for the item, as while a library is rescanned: the event fails."""
        self.sim.fault("plex", path=f"/library/metadata/{self.sim.item('plex', key)['id']}$",
                       status=404, times=-1)

    def wait_for_state(self, event_id, state, limit=10.0):
        self.wait_for(lambda: self.events().get(event_id, {}).get("state") == state
                      and self.events()[event_id]["attempts"] > 0, limit, f"event #{event_id} {state}")

    def test_failed_events_are_listed_with_their_reason_retried_and_applied(self):
        self.ws("ws-sync")
        self.start()
        now = int(time.time())
        # Plex says Gamma is played but answers 404 for it: that event cannot be applied.
        self.sim.set_state("plex", key="m3", played=True, last_played=now)
        self.missing_on_plex("m3")
        failed_id = self.post_plex_scrobble("m3")
        # Jellyfin answers 500 for Zeta: that event waits and is tried again.
        self.sim.set_state("jellyfin", key="m6", played=True, last_played=now)
        zeta = self.sim.item("jellyfin", "m6")["id"]
        self.sim.fault("jellyfin", path=f"/Items/{zeta}$", status=500, times=-1)
        pending_id = self.post_jellyfin_played("m6")
        self.wait_for_state(failed_id, "failed")
        self.wait_for_state(pending_id, "pending")

        doc = self.queue()
        result = doc["result"]
        self.assertEqual((result["pending"], result["failed"]), (1, 1))
        events = {e["id"]: e for e in result["events"]}
        self.assertEqual(sorted(events), sorted([failed_id, pending_id]))
        failed = events[failed_id]
        plex_key = self.sim.item("plex", "m3")["id"]
        self.assertEqual((failed["source"], failed["backends"], failed["identities"], failed["event"]),
                         ("plex", ["plex"], ["main"], "media.scrobble"))
        self.assertEqual((failed["item"]["id"], failed["item"]["type"]), (plex_key, "movie"))
        self.assertEqual(failed["state"], "failed")
        self.assertEqual(failed["attempts"], 1)
        self.assertIsNone(failed["next_try_at"])
        self.assertEqual(failed["last_error"], f"plex has no item {plex_key}")
        self.assertEqual(failed["server_id"], worlds.PLEX_ID)
        self.assertRegex(failed["received_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        pending = events[pending_id]
        self.assertEqual((pending["source"], pending["backends"], pending["state"]),
                         ("jellyfin", ["jellyfin"], "pending"))
        self.assertGreaterEqual(pending["attempts"], 1)
        self.assertIn("500", pending["last_error"])
        self.assertIsNotNone(pending["next_try_at"])
        # The filters.
        self.assertEqual(list(self.events("--failed")), [failed_id])
        self.assertEqual(list(self.events("list", "--pending")), [pending_id])
        self.queue("--failed", "--pending", expect=64)
        # The human table: one line per event, the reason below it.
        table = self.human()
        self.assertIn("failed", table)
        self.assertIn(f"last error: plex has no item {plex_key}", table)
        self.assertIn("plex (plex)", table)
        self.assertIn("1 pending, 1 failed", table)
        # An unknown id changes nothing and is named.
        result = self.run_tool("ws-webhook", "queue", "retry", str(failed_id), "99999")
        self.outputs += [result.stdout, result.stderr]
        self.assertEqual(result.code, 64, result)
        self.assertIn("#99999", result.stderr)
        self.assertEqual(self.events()[failed_id]["state"], "failed")
        self.queue("retry", expect=64)  # neither ids nor --all-failed
        self.queue("retry", "--failed", expect=64)

        # The cause is gone. A ws-sync holds the state directory meanwhile: the queue commands
        # still work, and the worker waits for the lock.
        lock = open(os.path.join(self.state_dir, "watchstate.lock"), "a+")
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            self.sim.clear_faults()
            dry = self.queue("retry", "--all-failed", "--dry-run")
            self.assertEqual(([e["id"] for e in dry["result"]["events"]], dry["result"]["retried"]),
                             ([failed_id], 1))
            self.assertEqual(self.events()[failed_id]["state"], "failed")
            doc = self.queue("retry", "--all-failed")
            self.assertEqual(doc["result"]["retried"], 1)
            self.assertEqual(doc["result"]["events"][0]["state"], "failed")  # as it was
            self.assertEqual((doc["result"]["pending"], doc["result"]["failed"]), (2, 0))
            # A pending event named by id skips the rest of its delay.
            self.assertEqual(self.queue("retry", str(pending_id))["result"]["retried"], 1)
            for event in self.events().values():
                self.assertEqual((event["state"], event["attempts"], event["last_error"]),
                                 ("pending", 0, None))
            self.assertFalse(self.played("jellyfin", "m3"))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()
        # The running server applies both: the servers' end state.
        self.wait_for(lambda: self.played("jellyfin", "m3") and self.played("emby", "m3")
                      and self.played("emby", "m6"), 10.0, "Gamma and Zeta applied after the retry")
        self.wait_for(lambda: self.events() == {}, 5.0, "the queue empty")
        self.assertTrue(self.item_by_title("Gamma (2003)")["watched"])
        code, doc, err = self.stop()
        self.assertEqual(code, 0, err)
        self.assertEqual((doc["result"]["applied"], doc["result"]["failed"], doc["result"]["pending"]),
                         (2, 1, 0))
        self.outputs.append(err)
        self.assert_no_secrets_anywhere()

    def test_purge_deletes_failed_events_and_pending_ones_only_when_asked(self):
        self.ws("ws-sync")
        self.start()
        self.missing_on_plex("m3")
        self.missing_on_plex("m1")
        gamma = self.post_plex_scrobble("m3")
        alpha = self.post_plex_scrobble("m1")
        zeta = self.sim.item("jellyfin", "m6")["id"]
        self.sim.fault("jellyfin", path=f"/Items/{zeta}$", status=503, times=-1)
        waiting = self.post_jellyfin_played("m6")
        self.wait_for_state(gamma, "failed")
        self.wait_for_state(alpha, "failed")
        self.wait_for_state(waiting, "pending")

        self.queue("purge", expect=64)                          # nothing named
        self.queue("purge", str(gamma), "--failed", expect=64)  # ids and a flag
        self.queue("purge", "--pending", expect=64)
        self.queue("purge", "--older-than", "7", expect=64)     # no unit
        self.queue("purge", "99999", expect=64)
        dry = self.queue("purge", "--failed", "--dry-run")
        self.assertEqual(sorted(e["id"] for e in dry["result"]["events"]), sorted([gamma, alpha]))
        self.assertTrue(dry["dry_run"])
        self.assertEqual(len(self.events()), 3)
        self.assertIn("would be deleted", self.human("purge", "--failed", "--dry-run"))
        # Failed events: the pending one stays.
        doc = self.queue("purge", "--failed")
        self.assertEqual(doc["result"]["purged"], 2)
        self.assertEqual((doc["result"]["pending"], doc["result"]["failed"]), (1, 0))
        self.assertEqual(list(self.events()), [waiting])
        # Nothing is that old yet; two hours later it is.
        self.assertEqual(self.queue("purge", "--older-than", "1h")["result"]["purged"], 0)
        later = {"WS_FAKE_NOW": str(int(time.time()) + 7200)}
        self.assertEqual(self.queue("purge", "--failed", "--older-than", "1h", env=later)["result"]["purged"], 0)
        doc = self.queue("purge", "--older-than", "1h", env=later)
        self.assertEqual(([e["id"] for e in doc["result"]["events"]], doc["result"]["purged"]), ([waiting], 1))
        self.assertEqual(self.events(), {})
        # A pending event named by id goes too.
        self.sim.clear_faults()
        self.missing_on_plex("m3")
        lock = open(os.path.join(self.state_dir, "watchstate.lock"), "a+")
        fcntl.flock(lock, fcntl.LOCK_EX)  # keeps it pending
        try:
            named = self.post_plex_scrobble("m3")
            self.assertEqual(self.events()[named]["state"], "pending")
            self.assertEqual(self.queue("purge", str(named))["result"]["purged"], 1)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()
        self.assertEqual(self.events(), {})
        code, doc, err = self.stop()
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["result"]["pending"], 0)
        self.outputs.append(err)
        self.assert_no_secrets_anywhere()

    def test_without_a_queue_file(self):
        doc = self.queue()
        self.assertEqual(doc["result"], {"events": [], "pending": 0, "failed": 0})
        self.assertIn("does not exist yet", self.human())
        self.assertEqual(self.queue("purge", "--failed")["result"]["purged"], 0)
        self.assertEqual(self.queue("retry", "--all-failed")["result"]["retried"], 0)
        self.queue("retry", "3", expect=64)
        self.queue("--listen", "127.0.0.1:1", expect=64)
        self.queue("-s", "plex", expect=64)
        self.assertFalse(os.path.exists(os.path.join(self.state_dir, "webhook-queue.db")))
        # The server itself still refuses --dry-run.
        self.assertEqual(self.run_tool("ws-webhook", "--dry-run").code, 64)
