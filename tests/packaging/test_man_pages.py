# SPDX-License-Identifier: MIT
"""The man pages: one per tool plus watchstate.yaml(5), with the sections users look for, the
shared fragments filled in, every option --help lists (also of subcommands) in OPTIONS, and
examples that run a tool the way its --help allows."""
import os
import re
import unittest

import pkgtest
from pkgtest import MAN_DIR, TOOLS

TOOL_SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "JSON OUTPUT",
                 "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"]
CONFIG_SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "ENVIRONMENT", "FILES", "EXAMPLES",
                   "SEE ALSO"]
CRON_LINE = re.compile(r"^\s*(?:@[a-z]+|(?:[0-9*/,-]+\s+){4}[0-9A-Za-z*/,-]+)\s+(ws-[a-z]+)\b",
                       re.M)
# A systemd example: a timer (or, for a daemon, its service) enabled, or a transient timer.
TIMER = re.compile(r"systemctl (?:--user )?enable --now \S+\.(?:timer|service)"
                   r"|systemd-run .*--on-calendar")
OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def roff_text(path):
    """The text of a roff page as scdoc writes it, without font escapes."""
    with open(path) as f:
        text = f.read()
    text = re.sub(r"\\f[BIRP]", "", text)
    return text.replace("\\&", "").replace("\\-", "-").replace("\\e", "\\")


def code_lines(section):
    """The lines of the literal blocks (scdoc's ``` and tab-indented blocks) of a section."""
    lines = []
    depth = 0
    for line in section.splitlines():
        if line.startswith(".nf") or line.startswith(".RS"):
            depth += 1
        elif line.startswith(".fi") or line.startswith(".RE"):
            depth = max(0, depth - 1)
        elif depth and not line.startswith("."):
            lines.append(line)
    return lines


def sections(text):
    """{title: body} of the .SH sections."""
    out = {}
    parts = re.split(r"^\.SH (.+)$", text, flags=re.M)
    for title, body in zip(parts[1::2], parts[2::2]):
        out[title.strip().strip('"')] = body
    return out


class ManPages(unittest.TestCase):
    def setUp(self):
        pkgtest.require_environment(self)
        if not MAN_DIR:
            self.skipTest("man pages are not built (scdoc missing or WS_BUILD_MANPAGES=OFF)")

    def page(self, name):
        path = os.path.join(MAN_DIR, name)
        self.assertTrue(os.path.exists(path), f"{path} was not built")
        return roff_text(path)

    def test_every_tool_has_a_page_with_every_section(self):
        for tool in TOOLS:
            with self.subTest(tool=tool):
                found = sections(self.page(f"{tool}.1"))
                missing = [s for s in TOOL_SECTIONS if s not in found]
                self.assertEqual(missing, [], f"{tool}.1 lacks sections")
                self.assertIn(tool, found["NAME"])
        found = sections(self.page("watchstate.yaml.5"))
        self.assertEqual([s for s in CONFIG_SECTIONS if s not in found], [])

    def test_no_page_without_a_tool(self):
        pages = [n for n in os.listdir(MAN_DIR) if re.fullmatch(r"ws-[a-z-]+\.1", n)]
        self.assertEqual(sorted(pages), sorted(f"{t}.1" for t in TOOLS))

    def test_shared_fragments_are_filled_in(self):
        # The fragments exist once (man/*.scd.in); a page that names one without it being
        # replaced would show "@EXIT_STATUS@" to the reader.
        for name in [f"{t}.1" for t in TOOLS] + ["watchstate.yaml.5"]:
            with self.subTest(page=name):
                text = self.page(name)
                self.assertIsNone(re.search(r"@[A-Z_]+@", text), name)
                if name.endswith(".1"):
                    found = sections(text)
                    # Text only the shared fragments carry.
                    self.assertIn("try again later", found["EXIT STATUS"].lower())
                    self.assertIn("--select-backend", found["OPTIONS"])

    def test_options_of_help_are_in_the_options_section(self):
        for tool in TOOLS:
            documented = set(OPTION.findall(sections(self.page(f"{tool}.1"))["OPTIONS"]))
            for sub, help_ in pkgtest.all_help(tool):
                with self.subTest(tool=tool, subcommand=sub):
                    missing = sorted(set(help_.options) - documented)
                    self.assertEqual(missing, [],
                                     f"{tool}{' ' + sub if sub else ''} --help lists options "
                                     f"that the OPTIONS section of {tool}(1) does not")

    def test_subcommands_are_in_the_synopsis(self):
        for tool in TOOLS:
            synopsis = sections(self.page(f"{tool}.1"))["SYNOPSIS"]
            for sub in pkgtest.tool_help(tool).subcommands:
                with self.subTest(tool=tool, subcommand=sub):
                    self.assertRegex(synopsis, rf"(?<![\w-]){re.escape(sub)}(?![\w-])")

    def test_examples_have_a_crontab_line_and_a_timer(self):
        for tool in TOOLS:
            with self.subTest(tool=tool):
                examples = sections(self.page(f"{tool}.1"))["EXAMPLES"]
                cron = [m.group(1) for m in CRON_LINE.finditer(examples)]
                self.assertIn(tool, cron, f"{tool}(1) EXAMPLES has no crontab line running {tool}")
                self.assertRegex(examples, TIMER, f"{tool}(1) EXAMPLES shows no systemd timer or unit")

    def test_example_command_lines_use_existing_options(self):
        # Every command of an example that runs one of the tools (also after the cron fields,
        # `&&` or `sh -c`) must use options and subcommands the tool's --help lists.
        for tool in TOOLS:
            examples = sections(self.page(f"{tool}.1"))["EXAMPLES"]
            for line in code_lines(examples):
                for command in re.split(r"&&|\|\||\||;", line):
                    words = command.replace("'", " ").split()
                    starts = [i for i, w in enumerate(words) if w in TOOLS]
                    if not starts:
                        continue
                    argv = []
                    for word in words[starts[0]:]:
                        if word.startswith(">") or word.startswith("<"):
                            break
                        argv.append(word)
                    with self.subTest(tool=tool, line=line.strip()):
                        pkgtest.check_invocation(self, argv, f"{tool}(1) EXAMPLES")


if __name__ == "__main__":
    unittest.main()
