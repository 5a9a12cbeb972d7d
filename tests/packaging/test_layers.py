# SPDX-License-Identifier: MIT
"""The layers of lib/watchstate are enforced by the build: configuring a copy of the source tree
in which one file crosses the stack fails, naming the file and the include; the tree as it is
configures. Each probe edits one file of a fresh copy and runs CMake's configure step only
(no compiler runs), with the tests and man pages off to keep it quick."""
import os
import shutil
import subprocess
import tempfile
import unittest

SOURCE_DIR = os.environ.get("WS_SOURCE_DIR", "")
CMAKE = os.environ.get("WS_CMAKE", "cmake")

# (file, text added after its first line, what the error must name)
PROBES = {
    "core may not use http": (
        "lib/watchstate/core/log.cpp", "#include <watchstate/http/client.hpp>",
        "lib/watchstate/core/log.cpp includes <watchstate/http/client.hpp>"),
    "db may not use the adapters": (
        "lib/watchstate/db/state_store.hpp", "#include <watchstate/backend/backend.hpp>",
        "lib/watchstate/db/state_store.hpp includes <watchstate/backend/backend.hpp>"),
    "sync may not use yaml-cpp": (
        "lib/watchstate/sync/identities.cpp", "#include <yaml-cpp/yaml.h>",
        "layer 'sync' does not use yaml-cpp"),
    "a public header keeps its third-party package in": (
        "lib/watchstate/backend/backend.hpp", "#include <rapidjson/document.h>",
        "lib/watchstate/backend/backend.hpp is a public header"),
    "another layer's internal header": (
        "lib/watchstate/sync/matching.cpp", "#include <watchstate/db/sqlite.hpp>",
        "internal to layer 'db'"),
}


class Layers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not SOURCE_DIR:
            raise unittest.SkipTest("run through ctest: WS_SOURCE_DIR is not set")
        cls.tmp = tempfile.mkdtemp(prefix="ws-layers-")
        cls.tree = os.path.join(cls.tmp, "src")
        shutil.copytree(SOURCE_DIR, cls.tree,
                        ignore=shutil.ignore_patterns("build", "build-*", ".git", "__pycache__"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def configure(self):
        build = tempfile.mkdtemp(dir=self.tmp)
        return subprocess.run(
            [CMAKE, "-S", self.tree, "-B", build, "-DWS_BUILD_TESTS=OFF", "-DWS_BUILD_MANPAGES=OFF"],
            capture_output=True, text=True, timeout=120)

    def test_the_tree_as_it_is_configures(self):
        result = self.configure()
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        self.assertNotIn("layer check", result.stderr)

    def test_a_file_that_crosses_the_stack_stops_the_build(self):
        for name, (path, line, expected) in PROBES.items():
            with self.subTest(name):
                file = os.path.join(self.tree, path)
                with open(file, encoding="utf-8") as f:
                    original = f.read()
                first, rest = original.split("\n", 1)
                with open(file, "w", encoding="utf-8") as f:
                    f.write(f"{first}\n{line}\n{rest}")
                try:
                    result = self.configure()
                finally:
                    with open(file, "w", encoding="utf-8") as f:
                        f.write(original)
                self.assertNotEqual(result.returncode, 0, f"{name}: configure passed")
                text = " ".join(result.stderr.split())
                self.assertIn("layer check:", text)
                self.assertIn(expected, text)


if __name__ == "__main__":
    unittest.main()
