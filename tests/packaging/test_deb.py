# SPDX-License-Identifier: MIT
"""The Debian package CPack builds from this build tree: its control fields, its maintainer
scripts, its file list (the install manifest under /usr) and units that name /usr/bin."""
import glob
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

import pkgtest

# The runtime packages of the libraries the tools link (checked on Debian 12 with
# `dpkg -S` on each NEEDED entry): SQLiteCpp is linked statically, SQLite itself is not.
RUNTIME_PACKAGES = ["libc6", "libcurl4", "libfmt9", "libsqlite3-0", "libstdc++6",
                    "libyaml-cpp0.7", "zlib1g"]


class Deb(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ws-pkg-deb-")
        cls.deb = None
        cls.output = ""
        missing = [t for t in ("dpkg-deb", "dpkg") if not shutil.which(t)]
        cpack = pkgtest.ENV.get("WS_CPACK")
        if missing or not cpack or not pkgtest.BUILD_DIR:
            cls.skip_reason = (f"cannot build a .deb here: {', '.join(missing) or 'cpack'} missing "
                               "(packaging/install-deps.sh installs dpkg-dev)")
            return
        cls.skip_reason = None
        proc = subprocess.run(
            [cpack, "-G", "DEB", "-B", cls.tmp, "--config",
             os.path.join(pkgtest.BUILD_DIR, "CPackConfig.cmake")],
            capture_output=True, text=True, timeout=240, cwd=cls.tmp)
        cls.output = proc.stdout + proc.stderr
        debs = glob.glob(os.path.join(cls.tmp, "*.deb"))
        if proc.returncode == 0 and len(debs) == 1:
            cls.deb = debs[0]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        pkgtest.require_environment(self)
        if self.skip_reason:
            self.skipTest(self.skip_reason)
        self.assertIsNotNone(self.deb, f"cpack did not produce one .deb:\n{self.output}")

    def dpkg_deb(self, *args):
        proc = pkgtest.run(["dpkg-deb", *args], timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout

    def field(self, name):
        return self.dpkg_deb("-f", self.deb, name).strip()

    def test_control_fields(self):
        arch = pkgtest.run(["dpkg", "--print-architecture"]).stdout.strip()
        self.assertEqual(self.field("Package"), "watchstate")
        self.assertRegex(self.field("Version"), r"^\d+\.\d+\.\d+")
        self.assertEqual(os.path.basename(self.deb),
                         f"watchstate_{self.field('Version')}_{arch}.deb")
        self.assertEqual(self.field("Architecture"), arch)
        self.assertRegex(self.field("Maintainer"), r"^.+ <[^@ ]+@[^@ ]+>$")
        self.assertEqual(self.field("Section"), "video")
        description = self.field("Description")
        self.assertIn("Plex", description.splitlines()[0])
        self.assertGreater(len(description.splitlines()), 2)  # summary and a long description
        depends = [d.strip().split()[0] for d in self.field("Depends").split(",")]
        for package in RUNTIME_PACKAGES:
            with self.subTest(package=package):
                self.assertIn(package, depends)
        # The versions the build saw, as dpkg-shlibdeps writes them, when it ran.
        if shutil.which("dpkg-shlibdeps"):
            self.assertRegex(self.field("Depends"), r"libc6 \(>= [\d.]+\)")

    def test_files_are_the_install_manifest_under_usr(self):
        listing = self.dpkg_deb("-c", self.deb)
        files = set()
        for line in listing.splitlines():
            mode, _, _, _, _, path = line.split(None, 5)
            path = path.split(" -> ")[0]
            if mode.startswith("-"):
                self.assertTrue(path.startswith("./usr/"), path)
                files.add(path[len("./usr/"):])
            if path.endswith("/bin/") or "/bin/ws-" in path:
                owner = line.split()[1]
                self.assertEqual(owner, "root/root", line)
        self.assertEqual(sorted(pkgtest.expected_manifest() - files), [], "missing from the .deb")
        self.assertEqual(sorted(files - pkgtest.expected_manifest()), [], "not expected in the .deb")

    def test_units_and_scripts(self):
        root = os.path.join(self.tmp, "root")
        self.dpkg_deb("-x", self.deb, root)
        unitdir = os.path.join(root, "usr", pkgtest.ENV["WS_SYSTEMD_UNITDIR"])
        with open(os.path.join(unitdir, "ws-sync.service")) as f:
            self.assertRegex(f.read(), r"(?m)^ExecStart=/usr/bin/ws-sync$")
        with open(os.path.join(unitdir, "ws-backup.service")) as f:
            self.assertRegex(f.read(), r"(?m)^ExecStart=/usr/bin/ws-backup create$")
        control = os.path.join(self.tmp, "control")
        self.dpkg_deb("-e", self.deb, control)
        for script in ("postinst", "postrm"):
            with self.subTest(script=script):
                path = os.path.join(control, script)
                self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o755)
                proc = pkgtest.run(["sh", "-n", path])
                self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(control, "postinst")) as f:
            postinst = f.read()
        sysusers = f"/usr/{pkgtest.ENV['WS_SYSUSERSDIR']}/watchstate.conf"
        self.assertIn(f"systemd-sysusers {sysusers}", postinst)
        self.assertTrue(os.path.exists(os.path.join(root, sysusers.lstrip("/"))))
        # No @VARIABLE@ left unfilled anywhere in the package's text files.
        for dirpath, _, names in os.walk(root):
            for name in names:
                path = os.path.join(dirpath, name)
                if "/bin/" in path or name.endswith(".gz"):
                    continue
                with open(path, errors="replace") as f:
                    self.assertIsNone(re.search(r"@[A-Z_]+@", f.read()), path)


if __name__ == "__main__":
    unittest.main()
