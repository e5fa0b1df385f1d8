"""The code blocks of README.md and docs/**/*.md, and the marker that says how each is checked.

A support module (no tests here): ``tests/test_docs.py`` runs the blocks, and other test
modules use it to find the block they check. The convention, for contributors, is written
in ``docs/contributing.md``: the line right before a block's opening fence is either

    <!-- test: KIND [ARG] [key=value ...] [flag ...] -->    the docs tests run it, or
    <!-- checked: tests/test_x.py::test_name -->             another test (or script) checks it.

KIND is ``exec``, ``pytest``, ``sh``, ``starts`` or ``file PATH`` (see ``KINDS``).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: What each kind does, and the fence languages it takes.
KINDS: dict[str, tuple[str, frozenset[str]]] = {
    "exec": ("Python, run in the test process (a fresh namespace, the page's folder as cwd)", frozenset({"python"})),
    "pytest": (
        "a pytest file, run in a fresh project with the plugin; every test in it must pass",
        frozenset({"python"}),
    ),
    "sh": (
        "bash -euo pipefail against a running serve (127.0.0.1:4010 becomes its address)",
        frozenset({"sh", "bash"}),
    ),
    "starts": (
        "one `auralytik-mock serve ...` command: it must start, answer /__mock/health and stop",
        frozenset({"sh"}),
    ),
    "file": ("a file of the page's folder (ARG is its path), for the blocks after it", frozenset()),
}
SH_OPTIONS = {"serve", "expect"}
SH_FLAGS = {"http-errors"}

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<lang>[\w+-]*)[^\n`]*$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<what>test|checked):\s*(?P<body>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block."""

    path: Path  #: the Markdown file, relative to the repository
    line: int  #: 1-based line of the opening fence
    lang: str
    code: str
    marker: str | None  #: "test" or "checked", or None without a marker
    kind: str = ""  #: for "test": exec, pytest, sh, starts, file
    args: tuple[str, ...] = ()  #: bare words after the kind (the file's path; flags)
    options: dict[str, list[str]] = field(default_factory=dict)  #: key=value pairs (repeatable)
    checked_by: str = ""  #: for "checked": the test or file that checks the block

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def id(self) -> str:
        return f"{self.path.as_posix()}:{self.line}"


def markdown_files() -> list[Path]:
    """README.md and every page of docs/, in a stable order."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path``, with the marker on the line before its fence."""
    lines = path.read_text().splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence, indent = opening["fence"], opening["indent"]
        end = index + 1
        while end < len(lines) and not re.match(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[end]):
            end += 1
        code = "\n".join(line[len(indent) :] if line.startswith(indent) else line for line in lines[index + 1 : end])
        found.append(_block(path, index, opening["lang"], code + "\n", lines[index - 1] if index else ""))
        index = end + 1
    return found


def _block(path: Path, index: int, lang: str, code: str, before: str) -> Block:
    relative = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    marker = _MARKER.match(before)
    if not marker:
        return Block(relative, index + 1, lang, code, None)
    if marker["what"] == "checked":
        return Block(relative, index + 1, lang, code, "checked", checked_by=marker["body"])
    words = shlex.split(marker["body"])
    kind, args, options = (words[0] if words else ""), [], {}
    for word in words[1:]:
        key, eq, value = word.partition("=")
        if eq:
            options.setdefault(key, []).append(value)
        else:
            args.append(word)
    return Block(relative, index + 1, lang, code, "test", kind, tuple(args), options)


def all_blocks() -> list[Block]:
    return [block for path in markdown_files() for block in blocks(path)]


def page_blocks(relative: str) -> list[Block]:
    """The blocks of one page, e.g. ``page_blocks("docs/how-to/verify.md")``."""
    return blocks(ROOT / relative)


def files_before(block: Block) -> dict[str, str]:
    """The ``file`` blocks of ``block``'s page that come before it: path -> content."""
    return {
        b.args[0]: b.code
        for b in blocks(ROOT / block.path)
        if b.marker == "test" and b.kind == "file" and b.args and b.line < block.line
    }


def problems(block: Block) -> list[str]:
    """What is wrong with a block's marker (empty when it says how the block is checked)."""
    if block.marker is None:
        return [
            f"{block.where}: a ```{block.lang or 'text'} block without a marker; put "
            "'<!-- test: KIND -->' or '<!-- checked: tests/test_x.py::test_name -->' on the line "
            "before its fence (see docs/contributing.md)"
        ]
    if block.marker == "checked":
        return _checked_problems(block)
    if block.kind not in KINDS:
        return [f"{block.where}: unknown kind {block.kind!r}; known: {', '.join(KINDS)}"]
    langs = KINDS[block.kind][1]
    found: list[str] = []
    if langs and block.lang not in langs:
        found.append(f"{block.where}: a '{block.kind}' block must be ```{' or ```'.join(sorted(langs))}")
    if block.kind == "file":
        if len(block.args) != 1 or block.args[0].startswith("/") or ".." in Path(block.args[0]).parts:
            found.append(f"{block.where}: 'file' takes one relative path inside the page's folder")
    elif block.kind == "sh":
        extra = set(block.options) - SH_OPTIONS
        flags = set(block.args) - SH_FLAGS
        if extra or flags:
            found.append(
                f"{block.where}: 'sh' takes {sorted(SH_OPTIONS)}=... and {sorted(SH_FLAGS)}; got {extra | flags}"
            )
    elif block.options or block.args:
        found.append(f"{block.where}: '{block.kind}' takes no arguments")
    if block.kind == "starts":
        commands = command_lines(block.code)
        if len(commands) != 1 or not commands[0].startswith("auralytik-mock serve"):
            found.append(f"{block.where}: a 'starts' block is one 'auralytik-mock serve ...' command")
    return found


def _checked_problems(block: Block) -> list[str]:
    target, _, name = block.checked_by.partition("::")
    path = ROOT / target
    if not target or not path.is_file():
        return [f"{block.where}: checked by {target!r}, which is not a file of the repository"]
    if name and not re.search(rf"^\s*(async\s+)?def {re.escape(name)}\(", path.read_text(), re.MULTILINE):
        return [f"{block.where}: checked by {block.checked_by}, but {target} defines no {name}()"]
    return []


def command_lines(script: str) -> list[str]:
    """The commands of a shell block: continuations joined, comments and blank lines left out."""
    joined = re.sub(r"\\\n\s*", " ", script)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]
