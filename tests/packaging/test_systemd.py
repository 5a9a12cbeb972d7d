# SPDX-License-Identifier: MIT
"""The installed systemd units and sysusers file: `systemd-analyze verify` accepts them (with
the installed man pages for Documentation=), they run installed tools with options those have,
as the user sysusers creates, with the promised hardening, and every timer has its service."""
import os
import shlex
import shutil
import socket
import subprocess
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

# OnFailure= of every job names this template; it runs system tools (sh, journalctl), not ours.
FAILURE_HANDLER = "ws-failure@.service"
ON_FAILURE = "ws-failure@%n.service"


class Systemd(pkgtest.InstalledTestCase):
    def read_unit(self, name):
        with open(self.unit(name)) as f:
            return f.read()

    def services(self):
        return [u for u in UNITS if u.endswith(".service")]

    def jobs(self):
        """The services a timer starts (also ws-sync@.service, ws-sync@.timer's)."""
        return [u.replace(".timer", ".service") for u in UNITS if u.endswith(".timer")]

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
            if name == FAILURE_HANDLER:
                continue  # test_failure_handler_logs_and_mails
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
                     "ws-backup.service", "ws-backup.timer", "ws-parity.service",
                     "ws-parity.timer", "ws-maintain.service", "ws-maintain.timer",
                     FAILURE_HANDLER):
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

    def test_every_job_reports_its_failure(self):
        jobs = self.jobs()
        self.assertTrue({"ws-sync.service", "ws-sync@.service", "ws-backup.service",
                         "ws-parity.service", "ws-maintain.service"} <= set(jobs), jobs)
        for name in jobs:
            with self.subTest(unit=name):
                unit = pkgtest.parse_unit(self.read_unit(name))
                self.assertIn(("OnFailure", ON_FAILURE), unit["Unit"])
        handler = pkgtest.parse_unit(self.read_unit(FAILURE_HANDLER))
        # A failing report must not start another one.
        self.assertNotIn("OnFailure", dict(handler["Unit"]))
        service = dict(handler["Service"])
        self.assertEqual(service.get("Type"), "oneshot")
        self.assertEqual(service.get("SyslogLevel"), "err")
        self.assertEqual(service.get("SupplementaryGroups"), "systemd-journal")
        self.assertNotIn("Install", handler)  # started by OnFailure= only

    def test_parity_differences_are_no_failure(self):
        # ws-parity exits 1 when the servers differ: the weekly report, not a failed job. Only
        # without --live does 1 mean nothing else (with it, a backend that failed is 1 too).
        unit = pkgtest.parse_unit(self.read_unit("ws-parity.service"))
        service = dict(unit["Service"])
        self.assertEqual(service.get("SuccessExitStatus"), "1")
        self.assertNotIn("--live", service["ExecStart"])
        maintain = dict(pkgtest.parse_unit(self.read_unit("ws-maintain.service"))["Service"])
        self.assertRegex(maintain["ExecStart"], r"/ws-state maintain\b")
        self.assertNotIn("SuccessExitStatus", maintain)  # a damaged database (65) is a failure

    def failure_report(self, with_mail, mailto):
        """Run the handler's ExecStart as systemd would for a failed ws-sync.service, with a
        stand-in journalctl (and mail): (stdout, journalctl's argv, mail's argv and input)."""
        unit = pkgtest.parse_unit(self.read_unit(FAILURE_HANDLER))
        settings = unit["Service"]
        command = dict(settings)["ExecStart"]
        # systemd's specifiers and $$ (a literal $), then its shell-like quoting.
        argv = shlex.split(command.replace("%i", "ws-sync.service").replace("%%", "%")
                           .replace("$$", "$"))
        self.assertTrue(os.access(argv[0], os.X_OK), argv[0])
        env = {}
        for key, value in settings:
            if key == "Environment":
                name, _, val = value.partition("=")
                env[name] = val
        env["WS_FAILURE_MAILTO"] = mailto
        bin_dir = os.path.join(self.tmp, f"failure-bin-{with_mail}-{bool(mailto)}")
        os.makedirs(bin_dir)
        calls = os.path.join(bin_dir, "calls")
        with open(os.path.join(bin_dir, "journalctl"), "w") as f:
            f.write(f'#!/bin/sh\necho "$*" > {calls}.journalctl\n'
                    'echo "line one of the failed run"\necho "ws-sync: error: plex: HTTP 503"\n')
        if with_mail:
            with open(os.path.join(bin_dir, "mail"), "w") as f:
                cat = shutil.which("cat")
                f.write(f'#!/bin/sh\necho "$*" > {calls}.mail\n{cat} >> {calls}.mail\n')
        for name in os.listdir(bin_dir):
            os.chmod(os.path.join(bin_dir, name), 0o755)
        os.symlink(shutil.which("uname"), os.path.join(bin_dir, "uname"))
        env["PATH"] = bin_dir  # nothing else: no mail command unless the stand-in
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual((proc.returncode, proc.stderr), (0, ""))

        def read(path):
            if not os.path.exists(path):
                return None
            with open(path) as f:
                return f.read()
        return proc.stdout, read(calls + ".journalctl"), read(calls + ".mail")

    def test_failure_handler_logs_and_mails(self):
        if not shutil.which("uname") or not shutil.which("cat"):
            self.skipTest("no uname or cat")
        out, journal, mail = self.failure_report(with_mail=True, mailto="")
        self.assertEqual(out.splitlines(), ["ws-sync.service failed; its last journal lines:",
                                            "line one of the failed run",
                                            "ws-sync: error: plex: HTTP 503"])
        self.assertIn("--unit=ws-sync.service", journal.split())
        self.assertIn("--lines=30", journal.split())
        self.assertIsNone(mail)  # no address: no mail
        out, journal, mail = self.failure_report(with_mail=True, mailto="root")
        self.assertIn("ws-sync: error: plex: HTTP 503", out)
        subject = f"-s ws-sync.service failed on {socket.gethostname()} root"
        self.assertEqual(mail.splitlines()[0], subject)
        self.assertEqual(mail.splitlines()[1:], ["line one of the failed run",
                                                 "ws-sync: error: plex: HTTP 503"])
        out, journal, mail = self.failure_report(with_mail=False, mailto="root")
        self.assertIn("ws-sync: error: plex: HTTP 503", out)  # logged all the same
        self.assertIsNone(mail)

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
