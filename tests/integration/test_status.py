# SPDX-License-Identifier: MIT
"""Running it for months: every run is kept in the history; ws-state status says per backend
when it last worked and what failed; --max-age is a health check; the metrics file follows
Prometheus' text exposition format (checked by a strict parser)."""
import math
import os
import re
import unittest
import urllib.error
import urllib.request

import worlds
from wstest import WsTestCase

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_exposition(text):
    """Prometheus text format 0.0.4, strictly: {(name, labels): value}. Raises ValueError."""
    if not text.endswith("\n"):
        raise ValueError("the last line must end with a newline")
    families = {}   # name -> type
    helps = set()
    samples = {}
    current = None
    for number, line in enumerate(text.split("\n")[:-1], 1):
        where = f"line {number}: {line!r}"
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            if not METRIC_NAME.fullmatch(name) or name in helps:
                raise ValueError(f"bad or repeated HELP: {where}")
            if re.search(r"\\[^\\n]", help_text):
                raise ValueError(f"bad escape in HELP: {where}")
            helps.add(name)
            continue
        if line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            if not METRIC_NAME.fullmatch(name) or kind not in TYPES or name in families:
                raise ValueError(f"bad or repeated TYPE: {where}")
            if any(s[0] == name for s in samples):
                raise ValueError(f"TYPE after samples: {where}")
            families[name] = kind
            current = name
            continue
        if line.startswith("#") or not line.strip():
            raise ValueError(f"stray comment or blank line: {where}")
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?", line)
        if not m:
            raise ValueError(f"not a sample: {where}")
        name, labels_text, value = m.group(1), m.group(3), m.group(4)
        if name != current:
            raise ValueError(f"sample outside its family (TYPE first, samples together): {where}")
        labels = []
        rest = labels_text or ""
        while rest:
            lm = re.match(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)', rest)
            if not lm:
                raise ValueError(f"bad label set: {where}")
            labels.append((lm.group(1), lm.group(2)))
            rest = rest[lm.end():]
        names = [k for k, _ in labels]
        if len(names) != len(set(names)):
            raise ValueError(f"repeated label: {where}")
        if value not in ("+Inf", "-Inf", "NaN"):
            float(value)   # raises ValueError
        key = (name, tuple(sorted(labels)))
        if key in samples:
            raise ValueError(f"repeated series: {where}")
        samples[key] = float(value) if value not in ("+Inf", "-Inf", "NaN") else math.nan
    return samples


def series(samples, name, **labels):
    want = set(labels.items())
    return [v for (n, ls), v in samples.items() if n == name and want <= set(ls)]


class ExpositionParser(unittest.TestCase):
    def test_the_parser_refuses_what_prometheus_refuses(self):
        good = "# HELP a_b x\n# TYPE a_b gauge\na_b{k=\"v\\\"\"} 1\n"
        self.assertEqual(len(parse_exposition(good)), 1)
        for bad in ("a_b 1\n# TYPE a_b gauge\n",                     # sample before TYPE
                    "# TYPE a_b gauge\na_b{k=v} 1\n",                 # unquoted label value
                    "# TYPE a_b gauge\na_b 1\na_b 2\n",               # repeated series
                    "# TYPE a_b gauge\na_b one\n",                    # not a number
                    "# TYPE a_b gauge\na_b 1",                        # no final newline
                    "# TYPE a-b gauge\n",                             # bad name
                    "# TYPE a_b gauge\n# TYPE c gauge\na_b 1\n"):     # out of its family
            with self.assertRaises(ValueError, msg=bad):
                parse_exposition(bad)


class Status(WsTestCase):
    world = worlds.household()

    def setUp(self):
        super().setUp()
        self.metrics = os.path.join(self.tmp, "metrics", "watchstate.prom")
        os.makedirs(os.path.dirname(self.metrics))
        self.write_config(extra={"metrics": {"textfile": self.metrics}})

    def test_status_after_a_failing_backend(self):
        self.ws("ws-sync")
        before = self.ws("ws-state", "status")["result"]
        by = {b["backend"]: b for b in before["identities"][0]["backends"]}
        for name in ("plex", "jellyfin", "emby"):
            self.assertIsNotNone(by[name]["last_import"], by[name])
            self.assertIsNotNone(by[name]["last_export"], by[name])
            self.assertIsNone(by[name]["last_error"])
            self.assertGreater(by[name]["items"], 0)
        self.assertGreater(before["identities"][0]["items"], 0)

        self.sim.fault("jellyfin", path=".*", status=503, times=-1, retry_after="0")
        failed = self.run_tool("ws-sync", "--json")
        self.assertEqual(failed.code, 1, failed)
        self.sim.clear_faults()
        after = self.ws("ws-state")["result"]          # ws-state alone is status
        by = {b["backend"]: b for b in after["identities"][0]["backends"]}
        error = by["jellyfin"]["last_error"]
        self.assertEqual(error["kind"], "tempfail", error)
        self.assertIn("503", error["message"])
        self.assertEqual(by["jellyfin"]["last_import"],
                         {b["backend"]: b for b in before["identities"][0]["backends"]}
                         ["jellyfin"]["last_import"])   # the failed run is no success
        self.assertIsNone(by["plex"]["last_error"])
        human = self.run_tool("ws-state")
        self.assertEqual(human.code, 0)
        self.assertIn("last error", human.stdout)
        self.assert_no_secret(human.stdout + human.stderr)

        runs = self.ws("ws-state", "runs")["result"]["runs"]
        self.assertEqual([r["tool"] for r in runs], ["ws-sync", "ws-sync"])
        self.assertEqual([r["exit_code"] for r in runs], [1, 0])
        newest = runs[0]
        jf = [b for b in newest["backends"] if b["backend"] == "jellyfin"]
        self.assertTrue(jf and not any(b["ok"] for b in jf), newest)
        self.assertTrue(any(e["backend"] == "jellyfin" and e["kind"] == "tempfail"
                            for e in newest["errors"]), newest)
        # Queries are not runs.
        self.assertEqual(len(self.ws("ws-state", "runs")["result"]["runs"]), 2)

        samples = parse_exposition(open(self.metrics).read())
        [failed_at] = series(samples, "watchstate_last_error_timestamp_seconds",
                             backend="jellyfin", kind="tempfail")
        self.assertGreater(failed_at, 1.7e9)
        self.assertEqual(series(samples, "watchstate_run_exit_code", tool="ws-sync"), [1])
        self.assertEqual(len(series(samples, "watchstate_last_success_timestamp_seconds",
                                    phase="import")), 3)
        self.assertEqual(series(samples, "watchstate_webhook_queue_events", state="pending"), [0])
        self.assert_no_secret(open(self.metrics).read())

    def test_max_age_is_a_health_check(self):
        self.ws("ws-sync", "-x", "emby")
        stale = self.run_tool("ws-state", "--json", "status", "--max-age", "1h")
        self.assertEqual(stale.code, 1, stale)
        self.assertEqual(stale.json["status"], "stale")
        flags = {b["backend"]: b["stale"] for b in stale.json["result"]["identities"][0]["backends"]}
        self.assertEqual(flags, {"plex": False, "jellyfin": False, "emby": True})
        self.ws("ws-sync", "-s", "emby")
        self.ws("ws-state", "status", "--max-age", "1h")
        self.ws("ws-state", "status", "--max-age", "36h")
        bad = self.run_tool("ws-state", "status", "--max-age", "soon")
        self.assertEqual(bad.code, 64)

    def test_metrics_file_option_and_every_tool_writes_it(self):
        other = os.path.join(self.tmp, "other.prom")
        self.ws("ws-import", "--metrics-file", other)
        samples = parse_exposition(open(other).read())
        self.assertEqual(series(samples, "watchstate_run_exit_code", tool="ws-import"), [0])
        items = series(samples, "watchstate_run_backend_items", tool="ws-import", backend="plex",
                       phase="import")
        self.assertEqual(len(items), 1)
        self.assertGreater(items[0], 0)
        self.assertFalse(os.path.exists(self.metrics))   # --metrics-file replaced the config's
        self.ws("ws-backup")
        samples = parse_exposition(open(self.metrics).read())
        self.assertEqual(series(samples, "watchstate_run_exit_code", tool="ws-backup"), [0])
        self.assertEqual(series(samples, "watchstate_run_exit_code", tool="ws-import"), [0])
        self.assertEqual(oct(os.stat(self.metrics).st_mode & 0o777), "0o644")
        # The newest backup is one of the play state, never a playlists file written after it.
        status = self.ws("ws-state", "status")["result"]
        self.assertRegex(os.path.basename(status["backup"]["path"]),
                         r"^main\.\w+\.\d{8}\.json\.gz$")


if __name__ == "__main__":
    unittest.main()


class WebhookMetrics(unittest.TestCase):
    """ws-webhook serves GET /metrics: the history's metrics plus its own counters."""

    def test_metrics_route_needs_the_key_and_parses(self):
        import test_webhook
        case = test_webhook.WebhookCase("run")
        case.setUp()
        try:
            case.ws("ws-sync")
            case.start()
            base = f"http://127.0.0.1:{case.port}/metrics"
            with self.assertRaises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(base, timeout=10)
            self.assertEqual(refused.exception.code, 401)
            with urllib.request.urlopen(f"{base}?apikey={test_webhook.API_KEY}", timeout=10) as r:
                self.assertTrue(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
                text = r.read().decode()
            samples = parse_exposition(text)
            self.assertEqual(series(samples, "watchstate_run_exit_code", tool="ws-sync"), [0])
            self.assertEqual(series(samples, "watchstate_webhook_requests_total",
                                    result="queued"), [0])
            self.assertNotIn(test_webhook.API_KEY, text)
            case.stop()
        finally:
            case.tearDown()
