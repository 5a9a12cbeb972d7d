# SPDX-License-Identifier: MIT
"""The installed systemd units and sysusers file: `systemd-analyze verify` accepts them (with
the installed man pages for Documentation=), they run installed tools with options those have,
as the user sysusers creates, with the promised hardening, and every timer has its service."""
import os
import shutil
import unittest

import pkgtest
from pkgtest import MAN_DIR, UNITS

HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "StateDirectory": "watchstate",
    "ConfigurationDirectory": "watchstate",
    "ReadWritePaths": "%S/watchstate",
    "CapabilityBoundingSet": "",
    "User": "watchstate",
    "Group": "watchstate",
    "UMask": "0077",
}


class Systemd(pkgtest.InstalledTestCase):
    def read_unit(self, name):
        with open(self.unit(name)) as f:
            return f.read()

    def services(self):
        return [u for u in UNITS if u.endswith(".service")]

    def test_systemd_analyze_verify(self):
        analyze = shutil.which("systemd-analyze")
        if not analyze:
            self.skipTest("systemd-analyze is not installed (packaging/install-deps.sh installs "
                          "the systemd package)")
        env = dict(os.environ)
        cmd = [analyze, "verify"]
        if MAN_DIR and shutil.which("man"):
            # Documentation=man:... must name pages this install provides.
            env["MANPATH"] = self.path(pkgtest.ENV["WS_INSTALL_MANDIR"])
        else:
            cmd.append("--man=no")
        cmd += [self.unit(u) for u in UNITS]
        proc = pkgtest.run(cmd, env=env, timeout=60)
        # verify exits 0 on warnings too (an unknown key is "ignoring"): any output is a finding.
        self.assertEqual((proc.returncode, proc.stdout + proc.stderr), (0, ""))

    def test_services_run_installed_tools_with_their_options(self):
        bindir = self.path(pkgtest.ENV["WS_INSTALL_BINDIR"])
        for name in self.services():
            unit = pkgtest.parse_unit(self.read_unit(name))
            commands = [v for k, v in unit["Service"] if k.startswith("Exec")]
            self.assertTrue(commands, name)
            for command in commands:
                with self.subTest(unit=name, command=command):
                    argv = command.replace("%i", "alice").split()
                    self.assertEqual(os.path.dirname(argv[0]), bindir)
                    self.assertTrue(os.access(argv[0], os.X_OK), argv[0])
                    pkgtest.check_invocation(self, argv, name)
        template = pkgtest.parse_unit(self.read_unit("ws-sync@.service"))
        start = dict(template["Service"])["ExecStart"]
        self.assertRegex(start, r"(-u|--identity) %i\b")

    def test_services_are_hardened(self):
        for name in self.services():
            text = self.read_unit(name)
            self.assertNotRegex(text, r"@[A-Z_]+@", f"{name}: an unfilled @VARIABLE@")
            settings = pkgtest.parse_unit(text)["Service"]
            values = {}
            for key, value in settings:
                values.setdefault(key, []).append(value)
            for key, value in HARDENING.items():
                with self.subTest(unit=name, key=key):
                    self.assertEqual(values.get(key), [value])
            self.assertIn("WS_CONFIG=%E/watchstate/config.yaml", values.get("Environment", []))
            self.assertIn("XDG_STATE_HOME=%S", values.get("Environment", []))

    def test_the_promised_units_exist(self):
        for name in ("ws-sync.service", "ws-sync.timer", "ws-sync@.service", "ws-sync@.timer",
                     "ws-backup.service", "ws-backup.timer"):
            with self.subTest(unit=name):
                self.assertIn(name, UNITS)
                self.assertTrue(os.path.exists(self.unit(name)))

    def test_every_timer_starts_its_service(self):
        timers = [u for u in UNITS if u.endswith(".timer")]
        for name in timers:
            service = name.replace(".timer", ".service")
            self.assertIn(service, self.services())
            # A timer's job runs once and exits; the timer starts it again.
            self.assertIn(("Type", "oneshot"), pkgtest.parse_unit(self.read_unit(service))["Service"])
        for name in timers:
            unit = pkgtest.parse_unit(self.read_unit(name))
            timer = dict(unit["Timer"])
            with self.subTest(timer=name):
                self.assertTrue(timer.get("OnCalendar"))
                self.assertEqual(timer.get("Persistent"), "true")
                self.assertNotIn("Unit", timer)  # the service of the same name
                self.assertEqual(dict(unit["Install"]).get("WantedBy"), "timers.target")

    def test_sysusers_creates_the_service_user(self):
        conf = self.path(pkgtest.ENV["WS_SYSUSERSDIR"], "watchstate.conf")
        sysusers = shutil.which("systemd-sysusers")
        if not sysusers:
            self.skipTest("systemd-sysusers is not installed (packaging/install-deps.sh installs "
                          "the systemd package)")
        root = os.path.join(self.tmp, "root")
        os.makedirs(os.path.join(root, "etc"))
        proc = pkgtest.run([sysusers, f"--root={root}", conf], timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(root, "etc", "passwd")) as f:
            users = {line.split(":")[0]: line.strip().split(":") for line in f if line.strip()}
        self.assertIn("watchstate", users)
        user = users["watchstate"]
        self.assertLess(int(user[2]), 1000, "a system user")
        self.assertEqual(user[5], "/var/lib/watchstate")  # HOME = the units' state directory
        self.assertEqual(user[6], "/usr/sbin/nologin")
        with open(os.path.join(root, "etc", "group")) as f:
            self.assertIn("watchstate", [line.split(":")[0] for line in f])


if __name__ == "__main__":
    unittest.main()
