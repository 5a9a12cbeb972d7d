# SPDX-License-Identifier: MIT
"""Shared helpers of the packaging suites: the tool list, --help parsing, installs into a
temporary prefix and the manifest an install must produce.

Everything comes from the environment tests/CMakeLists.txt sets; only the Python standard
library; every subprocess has a timeout.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

ENV = os.environ
TOOLS = [t for t in ENV.get("WS_TOOLS", "").split(",") if t]
BIN_DIR = ENV.get("WS_BIN_DIR", "")
SOURCE_DIR = ENV.get("WS_SOURCE_DIR", "")
BUILD_DIR = ENV.get("WS_BUILD_DIR", "")
MAN_DIR = ENV.get("WS_MAN_DIR", "")
MAN_SUFFIX = ENV.get("WS_MAN_SUFFIX", "")
EXAMPLE_CONFIG = os.path.join(SOURCE_DIR, "share", "watchstate", "config.example.yaml")
CRONTAB = os.path.join(SOURCE_DIR, "packaging", "cron", "watchstate.crontab")
UNITS = [u for u in ENV.get("WS_SYSTEMD_UNITS", "").split(",") if u]
PARITY_CHECKS_RE = re.compile(r"--check\b.*?:\s*([a-z_]+(?:,\s*[a-z_]+)+)")


def require_environment(test):
    if not TOOLS or not UNITS or not BIN_DIR or not SOURCE_DIR or not BUILD_DIR:
        test.fail("run through ctest: WS_TOOLS, WS_SYSTEMD_UNITS, WS_BIN_DIR, WS_SOURCE_DIR and "
                  "WS_BUILD_DIR are unset")


def binary(tool):
    return os.path.join(BIN_DIR, tool)


def run(cmd, timeout=60, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


class Help:
    """What `tool [sub] --help` lists: options (name -> takes a value) and subcommands."""

    def __init__(self, text):
        self.text = text
        self.options = {}
        self.subcommands = []
        self.positionals = []
        self.descriptions = {}
        section = None
        for line in text.splitlines():
            header = re.match(r"^([A-Z][A-Za-z]*):$", line)
            if header:
                section = header.group(1)
                continue
            entry = re.match(r"^  (\S+)(.*)$", line)
            if not entry:
                continue
            names, rest = entry.groups()
            if section == "Options":
                takes_value = re.match(r"^ \S", rest) is not None
                for name in names.split(","):
                    if name.startswith("-"):
                        self.options[name] = takes_value
                        self.descriptions[name] = rest.strip()
            elif section == "Subcommands":
                self.subcommands.append(names)
            elif section == "Positionals":
                self.positionals.append(names)


_help_cache = {}


def tool_help(tool, sub=None):
    key = (tool, sub)
    if key not in _help_cache:
        cmd = [binary(tool)] + ([sub] if sub else []) + ["--help"]
        proc = run(cmd, timeout=30)
        if proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr}")
        help_ = Help(proc.stdout)
        if not help_.options:
            raise AssertionError(f"{' '.join(cmd)} lists no options:\n{proc.stdout}")
        _help_cache[key] = help_
    return _help_cache[key]


def all_help(tool):
    """[(subcommand or None, Help)] for the tool and each of its subcommands."""
    top = tool_help(tool)
    return [(None, top)] + [(sub, tool_help(tool, sub)) for sub in top.subcommands]


def options_of(tool):
    """Every option the tool or one of its subcommands accepts."""
    names = set()
    for _, h in all_help(tool):
        names.update(h.options)
    return names


def parity_checks():
    """The ws-parity check names, from the description of --check in its --help."""
    found = PARITY_CHECKS_RE.search(tool_help("ws-parity").text)
    if not found:
        raise AssertionError("ws-parity --help does not list the checks of --check")
    return [c.strip() for c in found.group(1).split(",")]


def expected_manifest():
    """Every file an install puts under its prefix (relative paths)."""
    bindir = ENV["WS_INSTALL_BINDIR"]
    mandir = ENV["WS_INSTALL_MANDIR"]
    datadir = ENV["WS_INSTALL_DATADIR"]
    docdir = ENV["WS_INSTALL_DOCDIR"]
    files = set()
    for tool in TOOLS:
        files.add(f"{bindir}/{tool}")
        files.add(f"{ENV['WS_BASH_COMPLETIONDIR']}/{tool}")
        if MAN_DIR:
            files.add(f"{mandir}/man1/{tool}.1{MAN_SUFFIX}")
    if MAN_DIR:
        files.add(f"{mandir}/man5/watchstate.yaml.5{MAN_SUFFIX}")
    for unit in UNITS:
        files.add(f"{ENV['WS_SYSTEMD_UNITDIR']}/{unit}")
    files.add(f"{ENV['WS_SYSUSERSDIR']}/watchstate.conf")
    files.add(f"{datadir}/watchstate/config.example.yaml")
    files.add(f"{docdir}/README.md")
    files.add(f"{docdir}/json.md")
    files.add(f"{docdir}/copyright")
    files.add(f"{docdir}/examples/watchstate.crontab")
    return files


def installed_files(prefix):
    found = set()
    for root, _, names in os.walk(prefix):
        for name in names:
            found.add(os.path.relpath(os.path.join(root, name), prefix))
    return found


class InstalledTestCase(unittest.TestCase):
    """`cmake --install` of the build into a fresh temporary prefix, once per test class."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ws-pkg-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        if not BUILD_DIR:
            return
        proc = run([ENV["WS_CMAKE"], "--install", BUILD_DIR, "--prefix", cls.prefix], timeout=120)
        cls.install_output = proc.stdout + proc.stderr
        cls.install_code = proc.returncode

    @classmethod
    def tearDownClass(cls):
        if os.environ.get("WS_KEEP_TMP"):
            print(f"kept {cls.tmp}")
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        require_environment(self)
        self.assertEqual(self.install_code, 0, self.install_output)

    def path(self, *parts):
        return os.path.join(self.prefix, *parts)

    def unit(self, name):
        return self.path(ENV["WS_SYSTEMD_UNITDIR"], name)


def unit_lines(text):
    """The lines of a unit file with continuation lines joined: systemd replaces a backslash at
    the end of a line and the line break by a space."""
    lines = []
    pending = None
    for line in text.splitlines():
        if pending is not None:
            line = pending + " " + line
            pending = None
        if line.endswith("\\") and not line.lstrip().startswith(("#", ";")):
            pending = line[:-1]
            continue
        lines.append(line)
    if pending is not None:
        lines.append(pending)
    return lines


def parse_unit(text):
    """{section: [(key, value)]} of a systemd unit file."""
    sections = {}
    current = None
    for line in unit_lines(text):
        line = line.strip()
        if not line or line.startswith("#") or line.startswith(";"):
            continue
        header = re.match(r"^\[(\w+)\]$", line)
        if header:
            current = sections.setdefault(header.group(1), [])
            continue
        key, _, value = line.partition("=")
        current.append((key.strip(), value.strip()))
    return sections


def check_invocation(test, argv, context):
    """argv runs one of our tools with options and a subcommand its --help knows."""
    tool = os.path.basename(argv[0])
    test.assertIn(tool, TOOLS, f"{context}: {argv[0]} is not one of the tools")
    top = tool_help(tool)
    sub = None
    positionals = 0
    expect_value = False
    for word in argv[1:]:
        if expect_value:
            expect_value = False
            continue
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            known = dict(top.options)
            if sub:
                known.update(tool_help(tool, sub).options)
            test.assertIn(name, known, f"{context}: {tool} has no option {name}")
            expect_value = known[name] and "=" not in word
        elif sub is None and word in top.subcommands:
            sub = word
        elif sub is None:
            positionals += 1
            test.assertLessEqual(positionals, len(top.positionals),
                                 f"{context}: {tool} has no subcommand {word}")
