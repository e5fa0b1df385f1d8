"""The head of an HTTP/1.1 answer as bytes: status line, headers, ``Date``, framing.

Owns: ``encode_head`` (and its refusal of a header holding CR or LF), ``REASONS``,
``CONTINUE`` and the ``Date`` header formatted once a second.
May import: the standard library.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from email.utils import formatdate
from http import HTTPStatus

REASONS = {status.value: status.phrase for status in HTTPStatus}
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class HeaderInjectionError(ValueError):
    """A header name or value to be written holds CR or LF (or a name is not a token)."""


class _Date:
    """The ``Date`` header, formatted once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def __call__(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = formatdate(now, usegmt=True)
        return self._value


_date = _Date()


def encode_head(
    status: int, headers: Iterable[tuple[str, str]], length: int, close: bool, *, keep_alive_10: bool = False
) -> bytes:
    """The status line and headers of an answer, with ``Date``, ``Content-Length`` and, when
    ``close``, ``Connection: close`` (``keep_alive_10``: ``Connection: keep-alive``, which an
    HTTP/1.0 client that asked for it needs to hear).

    :raises HeaderInjectionError: a header name or value holds CR or LF: writing it would
        let whoever chose it add headers or a body of their own.
    """
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}", f"Date: {_date()}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    lines.append(f"Content-Length: {length}")
    if close:
        lines.append("Connection: close")
    elif keep_alive_10:
        lines.append("Connection: keep-alive")
    text = "\r\n".join(lines)
    # One line per header, each with one colon after its name: two counts in C, not a
    # check per header (an answer carries about ten).
    if text.count("\n") != len(lines) - 1 or text.count("\r") != len(lines) - 1:
        bad = next(line for line in lines if "\r" in line or "\n" in line)
        raise HeaderInjectionError(f"a header holds CR or LF: {bad[:80]!r}")
    return (text + "\r\n\r\n").encode("latin-1", "replace")
