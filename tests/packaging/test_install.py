# SPDX-License-Identifier: MIT
"""`cmake --install` into a temporary prefix: exactly the expected files, executables that run
from there, man pages that are gzip'd roff, and an example crontab whose lines are valid and run
the tools with options they have."""
import gzip
import os
import re
import stat
import unittest

import pkgtest
from pkgtest import CRONTAB, MAN_DIR, MAN_SUFFIX, TOOLS

CRON_FIELD = r"[0-9*/,-]+"
CRON_JOB = re.compile(rf"^#?\s*((?:{CRON_FIELD}\s+){{4}}[0-9A-Za-z*/,-]+)\s+(.+)$")


class Install(pkgtest.InstalledTestCase):
    def test_manifest_is_exactly_the_expected_files(self):
        found = pkgtest.installed_files(self.prefix)
        expected = pkgtest.expected_manifest()
        self.assertEqual(sorted(expected - found), [], "missing from the install")
        self.assertEqual(sorted(found - expected), [], "installed but not expected")

    def test_installed_tools_run(self):
        bindir = self.path(pkgtest.ENV["WS_INSTALL_BINDIR"])
        for tool in TOOLS:
            with self.subTest(tool=tool):
                path = os.path.join(bindir, tool)
                self.assertTrue(os.stat(path).st_mode & stat.S_IXOTH, path)
                proc = pkgtest.run([path, "--version"], timeout=30)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertRegex(proc.stdout, rf"^{tool} \d+\.\d+\.\d+")

    def test_man_pages_are_installed_roff(self):
        if not MAN_DIR:
            self.skipTest("man pages are not built (scdoc missing or WS_BUILD_MANPAGES=OFF)")
        mandir = self.path(pkgtest.ENV["WS_INSTALL_MANDIR"])
        pages = [f"man1/{t}.1" for t in TOOLS] + ["man5/watchstate.yaml.5"]
        for page in pages:
            with self.subTest(page=page):
                path = os.path.join(mandir, page + MAN_SUFFIX)
                opener = gzip.open if MAN_SUFFIX == ".gz" else open
                with opener(path, "rt") as f:
                    text = f.read()
                name = os.path.basename(page)
                self.assertRegex(text, rf'(?m)^\.TH "?{re.escape(name.rsplit(".", 1)[0])}"? "?{name[-1]}')
                self.assertIn(".SH NAME", text)

    def test_example_files_match_the_sources(self):
        datadir = self.path(pkgtest.ENV["WS_INSTALL_DATADIR"])
        docdir = self.path(pkgtest.ENV["WS_INSTALL_DOCDIR"])
        for installed, source in [
                (os.path.join(datadir, "watchstate", "config.example.yaml"), pkgtest.EXAMPLE_CONFIG),
                (os.path.join(docdir, "examples", "watchstate.crontab"), CRONTAB)]:
            with self.subTest(file=installed):
                with open(installed) as a, open(source) as b:
                    self.assertEqual(a.read(), b.read())

    def test_example_crontab_runs_the_tools_with_their_options(self):
        jobs = 0
        with open(CRONTAB) as f:
            lines = f.read().splitlines()
        for number, line in enumerate(lines, 1):
            stripped = line.strip()
            if not stripped or re.match(r"^[A-Z_]+=", stripped):
                continue
            job = CRON_JOB.match(stripped)
            if stripped.startswith("#") and not job:
                continue  # prose
            with self.subTest(line=number):
                self.assertIsNotNone(job, f"watchstate.crontab:{number}: not a crontab line: {line}")
                commands = [c.split() for c in re.split(r"&&|\|\||;", job.group(2))]
                ours = [c for c in commands if c and c[0].startswith("ws-")]
                self.assertTrue(ours, f"watchstate.crontab:{number}: runs no watchstate tool")
                for command in ours:
                    argv = []
                    for word in command:
                        if word[0] in "<>":
                            break
                        argv.append(word)
                    pkgtest.check_invocation(self, argv, f"watchstate.crontab:{number}")
                jobs += 1
        self.assertGreaterEqual(jobs, 3)
        self.assertIn("PATH=", "".join(lines))


if __name__ == "__main__":
    unittest.main()
