"""Strings that match a ``pattern``: rstr's regex-driven strings, drawn from the record's seeded
random source.

Owns: ``pattern_maker`` (a maker of strings matching a regular expression) and
``literal_head`` (the literal text an anchored id pattern starts with). The strings come
from ``rstr.Xeger`` (a maintained library: the standard library's regex syntax, groups,
alternation, classes, back references) given the record's ``random.Random``. For records,
``_Xeger`` changes three things, each pinned by ``tests/unit/test_generate.py``:

- "any character", ``\\S``, ``\\W`` and negated classes draw from letters and digits, in a
  fixed order. rstr draws a negated class from a ``set``, whose order changes with the hash
  seed, which would make records differ from run to run.
- a repeat runs a few past its minimum (``UNBOUNDED_EXTRA``); rstr goes up to 100, so an
  id of ``[0-9]+`` would be 50 digits long on average.
- possessive repeats and atomic groups (Python 3.11) are built like their plain forms.

No IO. May import: ``makers``, rstr.
"""

from __future__ import annotations

import random
import re
import string
from itertools import chain
from typing import Any

from rstr.xeger import Xeger

from .makers import Context, GenerateError, Maker, Rng, rint

#: How far past its minimum a repeat may run (``[0-9]+`` makes 1 to 9 digits).
UNBOUNDED_EXTRA = 8
#: Attempts at a string before the pattern is called one the generator cannot build.
ATTEMPTS = 10
_ALPHANUMERIC = string.ascii_letters + string.digits


class _Source(random.Random):
    """The random source one ``_Xeger`` draws from: whichever record's ``rng`` is current.

    Every draw of ``random.Random`` goes through ``random()`` and ``getrandbits()``, so
    delegating those two gives exactly the values the record's own source would give.
    """

    def __init__(self) -> None:
        super().__init__(0)
        self.rng = random.Random(0)

    def random(self) -> float:
        return self.rng.random()

    def getrandbits(self, k: int, /) -> int:
        return self.rng.getrandbits(k)


class _Xeger(Xeger):
    """``rstr.xeger.Xeger`` with record-friendly classes and repeats (see the module docstring)."""

    def __init__(self, source: _Source) -> None:
        super().__init__(
            source,
            printable=_ALPHANUMERIC,  # "." (rstr excludes only the newline from it)
            whitespace=" ",
            nonwhitespace=_ALPHANUMERIC,
            nondigits=string.ascii_letters,
            nonword="-.",
        )
        self._cases = {
            **self._cases,
            "in": self._class,
            "not_literal": lambda code: self._random.choice([c for c in _ALPHANUMERIC if ord(c) != code]),
            "max_repeat": lambda arg: self._repeat(*arg),
            "min_repeat": lambda arg: self._repeat(*arg),
            "possessive_repeat": lambda arg: self._repeat(*arg),
            "atomic_group": lambda items: "".join(self._handle_state(item) for item in items),
        }

    def _class(self, items: Any) -> str:
        chosen = list(chain(*(self._handle_state(item) for item in items)))
        if chosen and chosen[0] is False:  # a negated class: anything else, in a fixed order
            excluded = set(chosen[1:])
            chosen = [c for c in _ALPHANUMERIC if c not in excluded]
        if not chosen:
            raise GenerateError("pattern", "a character class that no letter or digit fits")
        return str(self._random.choice(chosen))

    def _repeat(self, low: int, high: int, items: Any) -> str:
        top = min(high, low + UNBOUNDED_EXTRA)
        return "".join("".join(self._handle_state(item) for item in items) for _ in range(rint(self._random, low, top)))


def _attempt(pattern: str, compiled: re.Pattern[str], xeger: _Xeger) -> str | None:
    """One string for ``pattern``, or ``None`` when the one built misses it (lookarounds)."""
    try:
        value = str(xeger.xeger(pattern))
    except (KeyError, IndexError, GenerateError):  # rstr has no case for it, or an empty class
        return None
    return value if compiled.search(value) else None


def pattern_maker(pattern: str, where: str) -> Maker:
    """A maker of strings that match the regular expression ``pattern``.

    :raises GenerateError: the pattern is not a regular expression, or this cannot build
        strings that match it (lookarounds, classes no letter or digit fits); the message
        says to give the field under ``with``.
    """
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise GenerateError(where, f"the pattern {pattern!r} is not a regular expression: {exc}") from None
    cannot = f"cannot make a string that matches the pattern {pattern!r}; give it under 'with'"
    source = _Source()
    xeger = _Xeger(source)
    # One that cannot be built fails when the fixtures load, not on some later record.
    if not any(_attempt(pattern, compiled, xeger) is not None for _ in range(ATTEMPTS)):
        raise GenerateError(where, cannot)

    def make(rng: Rng, ctx: Context) -> str:
        source.rng = rng
        for _ in range(ATTEMPTS):
            value = _attempt(pattern, compiled, xeger)
            if value is not None:
                return value
        raise GenerateError(where, cannot)

    return make


def literal_head(pattern: str) -> str:
    """The literal text an anchored pattern starts with: ``^eng_[0-9]+$`` -> ``eng_``."""
    if not pattern.startswith("^"):
        return ""
    match = re.match(r"[A-Za-z0-9_-]*", pattern[1:])
    head = match.group(0) if match else ""
    rest = pattern[1 + len(head) :]
    if rest[:1] in {"?", "*", "{", "+"} and head:  # the last character is quantified
        head = head[:-1]
    return head
