# SPDX-License-Identifier: MIT
"""The project stands alone: no file git tracks points outside the repository (a path on the
machine it was written on, a specification or reference document kept elsewhere, numbered
rules of such a document), and the user-facing promise lives inside it: docs/json.md documents
the JSON document of every tool the build makes (the options, exit codes and config keys are in
the man pages, which test_man_pages.py holds to --help)."""
import os
import re
import shutil
import subprocess
import unittest

from pkgtest import SOURCE_DIR, TOOLS

# What a pointer outside the repository looks like. Case-insensitive.
OUTSIDE = re.compile(
    r"/work/"
    r"|\.\./shared"
    r"|shared/spec"
    r"|shared/reference"
    r"|contract\.md"
    r"|contract section"
    r"|contract §"
    r"|behaviour \d",
    re.IGNORECASE)

THIS_FILE = "tests/packaging/test_standalone.py"
JSON_DOC = "docs/json.md"


def tracked_files():
    """The paths git tracks, relative to the source directory; None when git or .git is missing."""
    git = shutil.which("git")
    if not git or not os.path.exists(os.path.join(SOURCE_DIR, ".git")):
        return None
    proc = subprocess.run([git, "-C", SOURCE_DIR, "ls-files", "-z"], capture_output=True,
                          timeout=60)
    if proc.returncode != 0:
        return None
    return [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


class Standalone(unittest.TestCase):
    def setUp(self):
        if not SOURCE_DIR:
            self.fail("run through ctest: WS_SOURCE_DIR is unset")

    def test_no_tracked_file_points_outside_the_repository(self):
        files = tracked_files()
        if files is None:
            self.skipTest("git or the repository's .git is missing")
        hits = []
        for rel in files:
            if rel == THIS_FILE:
                continue
            path = os.path.join(SOURCE_DIR, rel)
            if not os.path.isfile(path):
                continue  # deleted or moved in the working tree, not yet in the index
            with open(path, "rb") as f:
                data = f.read()
            if b"\0" in data:
                continue  # binary (compressed fixtures, images)
            text = data.decode("utf-8", "replace")
            for number, line in enumerate(text.splitlines(), 1):
                found = OUTSIDE.search(line)
                if found:
                    hits.append(f"{rel}:{number}: {found.group(0)!r}: {line.strip()[:160]}")
        self.assertEqual(hits, [], "files that point outside the repository (state the fact "
                                   "or name a public source instead):\n" + "\n".join(hits))

    def test_json_doc_names_every_tool(self):
        if not TOOLS:
            self.fail("run through ctest: WS_TOOLS is unset")
        path = os.path.join(SOURCE_DIR, JSON_DOC)
        self.assertTrue(os.path.isfile(path), f"{JSON_DOC} is missing")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        headings = set(re.findall(r"^##\s+(ws-[a-z-]+)\s*$", text, re.M))
        missing = [t for t in TOOLS if t not in headings]
        self.assertEqual(missing, [], f"{JSON_DOC} has no section (## TOOL) for these tools")
        # The envelope every document shares.
        for key in ("tool", "version", "status", "exit_code", "started_at", "duration_ms",
                    "dry_run", "result", "errors"):
            with self.subTest(key=key):
                self.assertIn(f"`{key}`", text, f"{JSON_DOC} does not describe the envelope key")


if __name__ == "__main__":
    unittest.main()
