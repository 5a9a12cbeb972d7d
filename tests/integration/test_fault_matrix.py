# SPDX-License-Identifier: MIT
"""The fault matrix: every tool x every server type x every fault the simulator injects.

For each case, with all three backends configured and the fault on one server type S:
  * run A (all backends): exit 1 (a backend failed while others succeeded), exactly one error,
    naming S, on one stderr line and in the JSON; every other backend finished normally;
  * run B (-s S, or the single-backend tools): the exit code the man pages document for the
    fault (75 try again later, 76 unparsable answer, 77 token refused, 78 wrong server id);
  * the fault removed, run C: the same exit code and the same end state (local state, every
    server's play state, the backups) as a run that never saw a fault.
Transient faults (retried: one 429 with Retry-After, one 5xx, one timeout; pages that change
between requests) must not fail run A at all. Tokens never appear in any output.
"""
import glob
import os
import shutil
import time
import unittest

import endstate
import worlds
from wstest import Simulator, WsTestCase, to_yaml

SERVERS = ("plex", "jellyfin", "emby")
LISTING = {"plex": r"^/library/sections/\d+/all$", "jellyfin": r"/[Ii]tems$", "emby": r"/[Ii]tems$"}
WRITES = {"plex": r"^/:/(scrobble|unscrobble|timeline|progress)",
          "jellyfin": r"/(PlayedItems|UserData|PlayingItems|UserPlayedItems)",
          "emby": r"/(PlayedItems|UserData|PlayingItems)"}
BASE_HTTP = {"timeout": 10, "retries": 2, "backoff_ms": 50, "page_size": 2}


def other(server):
    return SERVERS[(SERVERS.index(server) + 1) % len(SERVERS)]


class Tool:
    def __init__(self, name, argv, prereq=(), single=False, writes=False, checks_uuid=True):
        self.name = name
        self.argv = argv          # server -> argv (the backup file of restore depends on it)
        self.prereq = prereq      # clean runs before the faulty one
        self.single = single      # talks to one backend only: run B is the whole story
        self.writes = writes      # sends play-state writes (the single-item 404 applies)
        self.checks_uuid = checks_uuid


def restore_argv(case, server):
    files = glob.glob(os.path.join(case.state_dir, "backups", f"main.{other(server)}.????????.json*"))
    case.assertEqual(len(files), 1, files)
    return ["ws-backup", "restore", files[0], "-s", server, "--execute"]


TOOLS = [
    Tool("import", lambda case, s: ["ws-import"]),
    Tool("export", lambda case, s: ["ws-export"], prereq=(["ws-import"],), writes=True),
    Tool("sync", lambda case, s: ["ws-sync"], writes=True),
    Tool("backup", lambda case, s: ["ws-backup", "create"]),
    Tool("parity", lambda case, s: ["ws-parity", "--live"], prereq=(["ws-import"],)),
    # ws-backend does not compare the server id with the configured uuid (reported).
    Tool("backend", lambda case, s: ["ws-backend", s, "unmatched"], prereq=(["ws-import"],),
         single=True, checks_uuid=False),
    Tool("restore", restore_argv, prereq=(["ws-import"], ["ws-backup", "create"]), single=True,
         writes=True),
]


class Fault:
    def __init__(self, name, rules=None, code=None, kind=None, args=(), backend=None, http=None,
                 min_seconds=0.0, transient=False, only=None, hide=None, levels=(": error: ",)):
        self.name = name
        self.rules = rules or (lambda s: [])     # server -> simulator fault rules
        self.code = code                         # exit code when S is the only backend
        self.kind = kind                         # JSON error kind
        self.args = list(args)                   # extra command-line arguments
        self.backend = backend or (lambda s: {}) # server -> config overrides of S
        self.http = http or {}                   # overrides of the http section
        self.min_seconds = min_seconds           # run A lasts at least this (Retry-After)
        self.transient = transient               # retried away: run A succeeds
        self.only = only                         # predicate on the tool, None = every tool
        self.hide = hide                         # world keys hidden mid-listing (pages shift)
        self.levels = levels                     # log levels of the one stderr line


def listing(**rule):
    return lambda s: [dict(path=LISTING[s], **rule)]


FAULTS = [
    Fault("401", lambda s: [dict(path=".*", status=401, times=-1)], 77, "auth"),
    Fault("403", lambda s: [dict(path=".*", status=403, times=-1)], 77, "auth"),
    Fault("404_page", listing(status=404, times=-1), 76, "protocol"),
    # One write answered 404 (the item vanished): that item fails, the others are written. The
    # tools log a failed item as a warning (the run still exits 1).
    Fault("404_item", lambda s: [dict(path=WRITES[s], status=404, times=1)], 1, "protocol",
          only=lambda t: t.writes, levels=(": error: ", ": warning: ")),
    Fault("429_retry_after", listing(status=429, times=1, retry_after="1"), transient=True,
          min_seconds=0.9),
    Fault("429", listing(status=429, times=-1, retry_after="0"), 75, "tempfail"),
    Fault("500_once", listing(status=500, times=1), transient=True),
    Fault("502_twice", listing(status=502, times=2, retry_after="0"), transient=True),
    Fault("500", listing(status=500, times=-1), 75, "tempfail"),
    Fault("502", listing(status=502, times=-1), 75, "tempfail"),
    Fault("503", listing(status=503, times=-1, retry_after="0"), 75, "tempfail"),
    Fault("timeout_once", listing(delay_ms=1100, times=1), args=["--timeout", "1"],
          transient=True, only=lambda t: t.name in ("import", "backup")),
    Fault("timeout", listing(delay_ms=1100, times=-1), 75, "tempfail", args=["--timeout", "1"],
          http={"retries": 0}),
    Fault("refused", code=75, kind="tempfail",
          backend=lambda s: {"url": f"http://127.0.0.1:{endstate.free_port()}"}),
    Fault("truncated", listing(body="truncated", times=-1), 76, "protocol"),
    Fault("malformed", listing(body="malformed", times=-1), 76, "protocol"),
    Fault("empty", listing(body="empty", status=200, times=-1), 76, "protocol"),
    Fault("wrong_server_id", code=78, kind="config",
          backend=lambda s: {"uuid": ("0" * 40 if s == "plex" else "0" * 32)},
          only=lambda t: t.checks_uuid),
    # The third listing request of S hides m1 first: every later page is shifted by one item.
    Fault("pages_change", listing(skip=2, times=1, hide=["m1"]), transient=True, hide=["m1"]),
]


class FaultMatrixBase(WsTestCase):
    """The machinery; the test classes pick the tools (two modules, so that ctest runs them
    side by side)."""
    world = worlds.household()

    # --- per-case environment ---------------------------------------------------------------
    def fresh(self):
        """A new simulator (pristine play state) and an empty state_dir."""
        self.sim.stop()
        shutil.rmtree(self.state_dir, ignore_errors=True)
        self.sim = Simulator(self.tmp, self.world, self.sim_args)
        self.configure()

    def configure(self, server=None, backend=None, http=None):
        backends = self.sim.config_backends()
        if server:
            backends[server].update(backend or {})
        config = {"state_dir": self.state_dir, "http": dict(BASE_HTTP, **(http or {})),
                  "backends": backends}
        with open(self.config_file, "w") as f:
            f.write(to_yaml(config) + "\n")
        os.chmod(self.config_file, 0o600)

    def arm(self, fault, server):
        self.sim.clear_faults()
        for rule in fault.rules(server):
            self.sim.fault(server, **rule)

    def prepare(self, tool):
        for argv in tool.prereq:
            result = self.run_tool(*argv)
            self.assertIn(result.code, (0, 1), result)

    # --- checks ---------------------------------------------------------------------------------
    def assert_clean_output(self, result):
        self.assertIsNotNone(result.json, result)
        self.assertEqual(result.json["exit_code"], result.code, result)
        self.assert_no_secret(result.stdout + result.stderr)

    def assert_one_error_naming(self, result, server, levels=(": error: ",)):
        errors = result.json["errors"]
        self.assertEqual(len(errors), 1, result)
        message = errors[0]["message"]
        self.assertNotIn("\n", message)
        self.assertTrue(message.startswith(server + ":"), result)
        if "backend" in errors[0]:
            self.assertEqual(errors[0]["backend"], server, result)
        lines = [line for line in result.stderr.splitlines() if any(l in line for l in levels)]
        self.assertEqual(len(lines), 1, result)
        self.assertIn(server, lines[0])
        for name in SERVERS:
            if name != server:
                self.assertNotIn(f"{name}:", lines[0], result)

    def assert_others_fine(self, tool, result, server):
        """Every backend but `server` finished normally in run A."""
        doc = result.json["result"]
        parts = []
        if tool.name in ("import", "export"):
            parts = [doc["identities"]["main"]["backends"]]
        elif tool.name == "sync":
            parts = [doc["import"]["identities"]["main"]["backends"],
                     doc["export"]["identities"]["main"]["backends"]]
        elif tool.name == "backup":
            files = {f["backend"]: f for f in doc["files"]}
            parts = [files]
            for name, f in files.items():
                exists = os.path.exists(f["path"])
                self.assertEqual(exists, name != server, f"{name}: {f}")
        for backends in parts:
            for name in SERVERS:
                if name != server:
                    self.assertEqual(backends[name]["status"], "ok", f"{name}: {result}")
        self.assertEqual(endstate.leftovers(self.state_dir), [])

    # --- the matrix -------------------------------------------------------------------------------
    def reference(self, tool, server):
        """End state and exit code of a run that never saw a fault."""
        self.fresh()
        self.prepare(tool)
        result = self.run_tool(*tool.argv(self, server), "--json")
        self.assertIn(result.code, (0, 1), result)
        self.assertEqual(result.json["errors"], [], result)
        return result.code, endstate.snapshot(self)

    def check_case(self, tool, server, fault, reference):
        ref_code, ref_state = reference
        self.fresh()
        self.prepare(tool)
        argv = tool.argv(self, server) + fault.args
        self.configure(server, fault.backend(server), fault.http)

        if not tool.single:
            self.arm(fault, server)
            started = time.monotonic()
            a = self.run_tool(*argv, "--json")
            elapsed = time.monotonic() - started
            self.assert_clean_output(a)
            if fault.transient:
                self.assertEqual(a.code, ref_code, a)
                self.assertEqual(a.json["errors"], [], a)
                self.assertGreaterEqual(elapsed, fault.min_seconds)
            else:
                self.assertEqual(a.code, 1, a)
                self.assert_one_error_naming(a, server, fault.levels)
                self.assertEqual(a.json["errors"][0]["kind"], fault.kind, a)
                self.assert_others_fine(tool, a, server)

        if not fault.transient:
            self.arm(fault, server)
            b_argv = argv if tool.single else argv + ["-s", server]
            b = self.run_tool(*b_argv, "--json")
            self.assert_clean_output(b)
            self.assertEqual(b.code, fault.code, b)
            self.assert_one_error_naming(b, server, fault.levels)
            self.assertEqual(b.json["errors"][0]["kind"], fault.kind, b)
            self.assertEqual(endstate.leftovers(self.state_dir), [])
        elif tool.single:
            self.arm(fault, server)
            b = self.run_tool(*argv, "--json")
            self.assert_clean_output(b)
            self.assertEqual(b.code, ref_code, b)

        # The fault is gone: the next run converges to the state of an undisturbed run.
        self.sim.clear_faults()
        if fault.hide:
            self.sim._call(server, "POST", "/__sim/visibility", {"show": fault.hide})
        self.configure()
        c = self.run_tool(*tool.argv(self, server), "--json")
        self.assert_clean_output(c)
        self.assertEqual(c.code, ref_code, c)
        self.assertEqual(c.json["errors"], [], c)
        self.assertEqual(endstate.snapshot(self), ref_state)

    def matrix(self, tool_name):
        tool = next(t for t in TOOLS if t.name == tool_name)
        cases = 0
        for server in SERVERS:
            reference = self.reference(tool, server)
            for fault in FAULTS:
                if fault.only and not fault.only(tool):
                    continue
                with self.subTest(tool=tool.name, server=server, fault=fault.name):
                    self.check_case(tool, server, fault, reference)
                    cases += 1
        self.assertGreater(cases, 0)

class FaultMatrixReaders(FaultMatrixBase):
    def test_import(self):
        self.matrix("import")

    def test_backup_create(self):
        self.matrix("backup")

    def test_parity_live(self):
        self.matrix("parity")

    def test_backend_unmatched(self):
        self.matrix("backend")


if __name__ == "__main__":
    unittest.main()
