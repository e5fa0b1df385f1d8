"""What an HTTP/1.1 connection hands the I/O layer: requests, refusals, and what ``check`` asks.

Owns: ``Request`` (a request's head and body), ``Refusal`` (a request refused before it was
whole), ``Event`` (either: a place in the connection's answer order) and ``Action``. Plain
data; ``protocol.Connection`` fills and answers them.
May import: the standard library.
"""

from __future__ import annotations

import enum


class Action(enum.Enum):
    """What ``check`` asks of the I/O layer."""

    NONE = "none"
    #: An event is ready (a 408, a 503): call ``next_event``.
    EVENT = "event"
    #: Close the connection (after writing what is buffered).
    CLOSE = "close"
    #: Abort the connection: the client does not take what is written.
    ABORT = "abort"


class _Event:
    """A place in the connection's answer order."""

    __slots__ = ("_data", "_done", "_close", "_drop")

    def __init__(self) -> None:
        self._data = b""
        self._done = False
        self._close = False
        self._drop = False


class Request(_Event):
    """A request: its head when ``screen`` and ``limit_for`` see it, whole when handed out."""

    __slots__ = (
        "method",
        "path",
        "raw_path",
        "query",
        "headers",
        "body",
        "oversized",
        "head",
        "keep_alive",
        "version",
    )

    def __init__(self) -> None:
        super().__init__()
        self.method = "GET"
        #: The path, percent-decoded, as UTF-8 text (invalid bytes replaced).
        self.path = "/"
        #: The path, percent-decoded, as Latin-1 text (WSGI's ``PATH_INFO``).
        self.raw_path = "/"
        self.query = ""
        #: Names lower case; repeated headers joined with ``", "``.
        self.headers: dict[str, str] = {}
        self.body: bytes = b""
        #: The body was over the limit: read and dropped, ``body`` is empty.
        self.oversized = False
        self.head = False
        self.keep_alive = True
        self.version = "HTTP/1.1"


class Refusal(_Event):
    """A request refused before it was whole: answer ``status`` (or ``reason``), then close.

    :ivar reason: what ``screen`` returned (an error of the caller's), or ``None`` for the
        protocol's own refusals (``status`` and ``message`` say why).
    :ivar request: the request's head, when it was read.
    """

    __slots__ = ("status", "message", "reason", "request")

    def __init__(self, status: int, message: str, reason: object = None, request: Request | None = None) -> None:
        super().__init__()
        self.status = status
        self.message = message
        self.reason = reason
        self.request = request


Event = Request | Refusal
