# SPDX-License-Identifier: MIT
"""Shared helpers of the integration suites: run ws-simulator and the real ws-* binaries.

Only the Python standard library; every server listens on 127.0.0.1; every wait is bounded.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.request

BIN_DIR = os.environ.get("WS_BIN_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "dev", "apps")


def binary(name):
    path = os.path.join(BIN_DIR, name)
    if not os.path.exists(path):
        raise unittest.SkipTest(f"{path} not built")
    return path


class Simulator:
    """One ws-simulator process serving Plex, Jellyfin and Emby on 127.0.0.1."""

    def __init__(self, workdir, world=None, args=()):
        self.workdir = workdir
        ready = os.path.join(workdir, "sim-ready.json")
        if os.path.exists(ready):
            os.remove(ready)  # a restarted simulator must not be read from its predecessor's file
        cmd = [binary("ws-simulator"), "--ready-file", ready, "--threads", "4"]
        if world is not None:
            world_file = os.path.join(workdir, "world.json")
            with open(world_file, "w") as f:
                json.dump(world, f)
            cmd += ["--world", world_file]
        cmd += list(args)
        self.log = open(os.path.join(workdir, "sim.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 30
        while not os.path.exists(ready):
            if self.proc.poll() is not None:
                raise RuntimeError(f"ws-simulator exited with {self.proc.returncode}; see {self.log.name}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("ws-simulator did not become ready within 30 s")
            time.sleep(0.02)
        with open(ready) as f:
            self.info = json.load(f)
        # The plex.tv stand-in (--plextv) is no media server: kept out of the per-server loops.
        self.plextv = self.info.pop("plextv", None)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()

    # --- control API -----------------------------------------------------------------------
    def _call(self, server, method, path, body=None):
        url = self.info[server]["url"] + path
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read()
            return json.loads(text) if text else None

    def requests(self, server):
        return self._call(server, "GET", "/__sim/requests")

    def clear_requests(self, server=None):
        for s in [server] if server else self.info:
            self._call(s, "DELETE", "/__sim/requests")

    def writes(self, server):
        return self._call(server, "GET", "/__sim/stats")["writes"]

    def fault(self, server, **rule):
        return self._call(server, "POST", "/__sim/faults", [rule])

    def clear_faults(self):
        for s in self.info:
            self._call(s, "DELETE", "/__sim/faults")

    def items(self, server, user=None):
        return self._call(server, "GET", "/__sim/items" + (f"?user={user}" if user else ""))

    def item(self, server, key):
        found = [i for i in self.items(server) if i["key"] == key]
        if not found:
            raise KeyError(f"{key} not on {server}")
        return found[0]

    def set_state(self, server, **state):
        return self._call(server, "POST", "/__sim/state", state)

    def visibility(self, server, hide=(), show=()):
        """Hide items from (or bring them back to) every listing of `server`, by world key."""
        return self._call(server, "POST", "/__sim/visibility", {"hide": list(hide), "show": list(show)})

    def config_backends(self, **overrides):
        """The backends block of a config for the served servers (name = server kind)."""
        backends = {}
        for name, info in self.info.items():
            entry = {"type": name, "url": info["url"], "token": info["token"],
                     "user": info["user"], "uuid": info["server_id"]}
            if name == "plex":
                # plex.tv is the stand-in when served, else a local address that answers 404:
                # a test never reaches the real plex.tv.
                local = self.plextv["url"] if self.plextv else info["url"] + "/no-plextv"
                entry["options"] = {"plextv_url": local}
            override = dict(overrides.get(name, {}))
            if "options" in override and "options" in entry:
                override["options"] = {**entry["options"], **override["options"]}
            entry.update(override)
            backends[name] = entry
        return backends


def to_yaml(value, indent=0):
    """Enough YAML for our configs: nested dicts, lists and scalars (JSON-quoted strings)."""
    pad = "  " * indent
    lines = []
    for key, item in value.items():
        if isinstance(item, dict):
            lines.append(f"{pad}{key}:")
            lines.append(to_yaml(item, indent + 1))
        elif isinstance(item, list):
            lines.append(f"{pad}{key}: {json.dumps(item)}")
        elif isinstance(item, bool):
            lines.append(f"{pad}{key}: {'true' if item else 'false'}")
        elif isinstance(item, (int, float)):
            lines.append(f"{pad}{key}: {item}")
        else:
            lines.append(f"{pad}{key}: {json.dumps(str(item))}")
    return "\n".join(lines)


class Result:
    def __init__(self, proc):
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.json = None
        if self.stdout.strip().startswith("{"):
            self.json = json.loads(self.stdout)

    def __repr__(self):
        return f"exit {self.code}\nstdout: {self.stdout[:2000]}\nstderr: {self.stderr[:2000]}"


class WsTestCase(unittest.TestCase):
    """A temp dir, a simulator over `world()` and a config pointing at it, per test."""

    world = None        # a dict (world file) or None for a generated world
    sim_args = ()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ws-it-")
        self.state_dir = os.path.join(self.tmp, "state")
        self.sim = Simulator(self.tmp, self.world, self.sim_args)
        self.config_file = os.path.join(self.tmp, "config.yaml")
        self.write_config()

    def tearDown(self):
        self.sim.stop()
        if os.environ.get("WS_KEEP_TMP"):
            print(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def write_config(self, backends=None, extra=None, **overrides):
        config = {"state_dir": self.state_dir,
                  "http": {"timeout": 10, "retries": 2, "backoff_ms": 50, "page_size": 2},
                  "backends": backends or self.sim.config_backends(**overrides)}
        if extra:
            config.update(extra)
        with open(self.config_file, "w") as f:
            f.write(to_yaml(config) + "\n")
        os.chmod(self.config_file, 0o600)

    def run_tool(self, tool, *args, timeout=120, env=None, config=True):
        cmd = [binary(tool)] + list(args)
        if config:
            cmd += ["-c", self.config_file]
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env)
        return Result(proc)

    def ws(self, tool, *args, expect=0, **kw):
        result = self.run_tool(tool, "--json", *args, **kw)
        self.assertEqual(result.code, expect, result)
        self.assertIsNotNone(result.json, result)
        self.assertEqual(result.json["exit_code"], expect, result)
        return result.json

    def state_items(self):
        doc = self.ws("ws-state", "list")
        return doc["result"]["items"]

    def item_by_title(self, display_title):
        found = [i for i in self.state_items() if i["display_title"] == display_title]
        self.assertEqual(len(found), 1, f"{display_title}: {found}")
        return found[0]

    def assert_no_secret(self, text):
        for info in self.sim.info.values():
            self.assertNotIn(info["token"], text)
