"""HTTP/1.1 for the mock's server as a state machine: bytes in, requests and bytes out.

Owns: framing (a request's head, then its body by ``Content-Length`` or chunked), the
limits (request target, header size as the head arrives, header count, body size with a
bounded drain), ``Expect: 100-continue``, ``Upgrade:`` (served as plain HTTP/1.1, body
read, then closed), pipelined answers written in the order the requests came, and the
decisions the I/O around it applies: when to read (a bounded read-ahead), when to answer
(never while the socket's unsent bytes are above the high-water mark, at most
``MAX_PENDING`` answers owed), when to close, and the deadlines (a head, a body, an idle
keep-alive connection, a client that stops reading).

No socket, no event loop, no engine: tests feed it bytes and read bytes back
(``tests/unit/test_protocol.py``), as h11 separates its state machine from I/O. The
asyncio transport around it is ``server.py``. httptools (llhttp) parses; this module
feeds it one head at a time, whole, so a header that never ends costs linear time and
is refused as soon as it passes the limit (httptools alone buffers a header value by
repeated concatenation, with no limit).

Call order for the I/O layer: ``receive`` (or ``receive_eof``), then ``next_event``
until it returns ``None``, answering each event with ``respond`` (now or later, in any
order) or ``drop``; after each step write ``data_to_send()``, close when ``must_close``,
read only while ``wants_data``. Every second or so, ``check(unsent)`` applies the
deadlines.

The limits are in ``limits``, the events it hands out in ``events``, an answer's head in
``heads``; their names are re-exported here.

May import: httptools, ``events``, ``heads``, ``limits``, the standard library.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from urllib.parse import unquote_to_bytes

import httptools

from .events import Action, Event, Refusal, Request
from .heads import CONTINUE, REASONS, HeaderInjectionError, encode_head
from .limits import (
    BODY_TIMEOUT,
    DRAIN_LIMIT,
    HEADER_TIMEOUT,
    HIGH_WATER,
    IDLE_TIMEOUT,
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_PENDING,
    MAX_URL_BYTES,
    MIN_BODY_RATE,
    READ_AHEAD,
    SLOW_GRACE,
    WRITE_TIMEOUT,
)

__all__ = [
    "BODY_TIMEOUT",
    "CONTINUE",
    "DRAIN_LIMIT",
    "HEADER_TIMEOUT",
    "HIGH_WATER",
    "IDLE_TIMEOUT",
    "MAX_HEADERS",
    "MAX_HEADER_BYTES",
    "MAX_PENDING",
    "MAX_URL_BYTES",
    "MIN_BODY_RATE",
    "READ_AHEAD",
    "REASONS",
    "SLOW_GRACE",
    "WRITE_TIMEOUT",
    "Action",
    "Connection",
    "Event",
    "HeaderInjectionError",
    "Refusal",
    "Request",
    "encode_head",
]

log = logging.getLogger("auralytik_mock")


class _Refused(Exception):
    """Raised in a parser callback: stop parsing and answer ``status``."""

    def __init__(self, status: int, message: str, reason: object = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason


# -- the connection ------------------------------------------------------------------------

_HEAD, _BODY, _UPGRADE_BODY = "head", "body", "upgrade body"


class _UpgradeSink:
    """Receives the body of an ``Upgrade:`` request from a second parser (see ``_upgraded``);
    whatever follows that body is ignored (the connection closes after the answer)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.done = False

    def on_body(self, body: bytes) -> None:
        if not self.done:
            self.connection.on_body(body)

    def on_message_complete(self) -> None:
        if not self.done:
            self.done = True
            self.connection.finish_message()


class Connection:
    """One HTTP/1.1 connection, server side, with no I/O.

    :param limit_for: the body limit of a request, given its head.
    :param screen: called with a request's head when a body follows; a non-``None`` result
        refuses the request before its body is read (the body is drained, never kept) and
        comes back as ``Refusal.reason``.
    :param clock: monotonic seconds (a fake one in tests).
    """

    def __init__(
        self,
        *,
        limit_for: Callable[[Request], int] = lambda request: 1024 * 1024,
        screen: Callable[[Request], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit_for = limit_for
        self._screen = screen
        self._clock = clock
        self._parser = httptools.HttpRequestParser(self)
        self._inbox = bytearray()
        self._ready: deque[Event] = deque()  # parsed, not yet handed out
        self._slots: deque[Event] = deque()  # handed out, answers not yet written
        self._phase = _HEAD
        self._left: int | None = None  # body bytes still to feed (None: chunked)
        self._scanned = 0  # where the search for the end of the head resumes
        self._line_end = -1  # end of the request line in the inbox, once seen
        self._tail = b""  # the last bytes fed, for a head the parser began (see _find_head_end)
        self._in_head = False  # the parser is inside a head
        self._upgrade_parser: httptools.HttpRequestParser | None = None
        #: Set by the I/O layer: the transport's unsent bytes are above ``HIGH_WATER``.
        self.writing_paused = False
        self._eof = False
        self._feeding = False  # inside the parser: the inbox is lent to it and must not change
        self._out = b""  # a 100 Continue to write before the next answers
        self._shutting_down = False
        self._stopped = False  # nothing more is parsed (a last request, a refusal, a stop)
        self._close_now = False
        self._awaiting = True  # parsing stopped for want of bytes from the client
        self._continue_owed = False
        now = clock()
        self._head_began: float | None = None
        self._body_began = 0.0
        self._idle_since = now  # when the connection last had nothing to do
        self._served = False
        self._produced = 0  # bytes handed to the I/O layer
        self._drained = 0  # of those, bytes the transport had passed on at the last check
        self._write_progress = now
        self._reset_message()

    def _reset_message(self) -> None:
        self._url = bytearray()
        self._headers: dict[str, str] = {}
        self._header_bytes = 0
        self._header_count = 0
        self._request: Request | None = None
        self._body = bytearray()
        self._received = 0
        self._limit = 0
        self._discard = False  # the body is read and thrown away
        self._refusal: object = None  # what screen said; answered once the body is drained
        self._upgrading = False

    # -- input -------------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Bytes from the client."""
        if self._stopped or self._eof:
            return
        self._inbox += data
        self._awaiting = False

    def receive_eof(self) -> None:
        """The client is done sending (a half-close): answer what it asked, then close."""
        self._eof = True
        self._awaiting = False

    @property
    def wants_data(self) -> bool:
        """Whether the I/O layer should read from the socket."""
        return (
            not self._eof
            and not self._stopped
            and not self._close_now
            and not self.writing_paused
            and len(self._inbox) < READ_AHEAD
        )

    # -- events ------------------------------------------------------------------------

    def next_event(self) -> Event | None:
        """The next request to answer (or refusal), or ``None``: none is whole yet, or
        answering must wait (``writing_paused``, ``MAX_PENDING`` answers owed, closing)."""
        if self._close_now or self.writing_paused or len(self._slots) >= MAX_PENDING:
            return None
        if not self._ready:
            self._advance()
            if not self._ready:
                return None
        event = self._ready.popleft()
        self._slots.append(event)
        return event

    @property
    def pending(self) -> int:
        """Events handed out whose answers are not yet written."""
        return len(self._slots)

    def _advance(self) -> None:
        """Feed the parser until a request is whole, or the bytes run out."""
        while not self._ready and not self._stopped:
            inbox = self._inbox
            if not inbox:
                self._awaiting = True
                return
            if self._phase is _HEAD:
                if self._head_began is None:
                    self._head_began = self._clock()
                end = self._find_head_end()
                if end < 0:
                    self._check_head_size()
                    if not self._stopped:
                        self._awaiting = True
                    return
                self._feed(end)
            elif self._phase is _BODY:
                if self._left is None:  # chunked: the parser finds the end
                    self._feed(len(inbox))
                else:
                    count = min(self._left, len(inbox))
                    self._left -= count
                    self._feed(count)
            else:
                self._feed_upgrade_body()

    def _find_head_end(self) -> int:
        """The index just past the empty line that ends the head in the inbox, or -1."""
        inbox = self._inbox
        if self._in_head and self._tail and self._scanned == 0:
            # The parser holds the head's beginning (fed with a chunked body before it):
            # the empty line may straddle what it has and what the inbox holds.
            joined = self._tail + bytes(inbox[:3])
            for terminator in (b"\n\r\n", b"\n\n"):
                at = joined.find(terminator)
                if at >= 0 and at + len(terminator) > len(self._tail):
                    return at + len(terminator) - len(self._tail)
        start = self._scanned
        crlf, lf = inbox.find(b"\n\r\n", start), inbox.find(b"\n\n", start)
        ends = [at + size for at, size in ((crlf, 3), (lf, 2)) if at >= 0]
        if ends:
            self._scanned = 0
            self._line_end = -1
            return min(ends)
        self._scanned = max(0, len(inbox) - 2)
        return -1

    def _check_head_size(self) -> None:
        """Refuse a head that passed the limits without ending: 414 for the request line, else 431."""
        inbox = self._inbox
        if self._line_end < 0 and not self._in_head:
            self._line_end = inbox.find(b"\n", 0, MAX_URL_BYTES + 64)
            if self._line_end < 0:
                if len(inbox) > MAX_URL_BYTES + 64:
                    self._refuse(414, f"The request target is longer than {MAX_URL_BYTES} bytes.")
                return
        if len(inbox) - max(self._line_end, 0) > MAX_HEADER_BYTES + 4:
            self._refuse(431, _HEADERS_TOO_LARGE)

    def _feed(self, count: int) -> None:
        """Feed the first ``count`` inbox bytes to the parser, and remove what it consumed."""
        inbox = self._inbox
        consumed = count
        self._feeding = True
        with memoryview(inbox) as view, view[:count] as piece:
            self._tail = bytes(piece[-3:])
            try:
                self._parser.feed_data(piece)
            except httptools.HttpParserUpgrade as upgrade:
                consumed = int(upgrade.args[0])  # the rest is the body, read by _upgraded's parser
            except httptools.HttpParserCallbackError as exc:
                self._callback_failed(exc.__context__)
            except _Refused as refused:
                self._refuse(refused.status, refused.message, refused.reason)
            except httptools.HttpParserError as exc:
                self._refuse(400, f"The request is not valid HTTP/1.1 ({_parser_reason(exc)}).")
            finally:
                self._feeding = False
        if self._stopped:
            inbox.clear()
        else:
            del inbox[:consumed]

    def _feed_upgrade_body(self) -> None:
        parser = self._upgrade_parser
        assert parser is not None
        inbox = self._inbox
        self._feeding = True
        try:
            with memoryview(inbox) as view:
                parser.feed_data(view)
        except httptools.HttpParserCallbackError as exc:
            self._callback_failed(exc.__context__)
        except httptools.HttpParserError as exc:
            self._refuse(400, f"The request body is not valid HTTP/1.1 ({_parser_reason(exc)}).")
        finally:
            self._feeding = False
        inbox.clear()  # read by the second parser (and nothing after an upgrade request is read)

    def _callback_failed(self, cause: BaseException | None) -> None:
        if isinstance(cause, _Refused):
            self._refuse(cause.status, cause.message, cause.reason)
        else:  # a bug in the mock, not in the request: say so in the log
            log.error("unexpected error reading a request", exc_info=cause)
            self._refuse(500, "An unexpected error occurred in the mock.")

    def _refuse(self, status: int, message: str, reason: object = None) -> None:
        """Answer a request that cannot be read on (after the answers before it), then close."""
        if self._stopped:  # bytes after a last request (``Connection: close``) are not answered
            return
        refusal = Refusal(status, message, reason, self._request)
        refusal._close = True
        self._ready.append(refusal)
        self._stop()

    def _stop(self) -> None:
        self._stopped = True
        self._continue_owed = False
        if not self._feeding:  # else _feed clears it once the parser is done with it
            self._inbox.clear()

    # -- httptools callbacks -------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._reset_message()
        self._in_head = True
        if self._head_began is None:
            self._head_began = self._clock()

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > MAX_URL_BYTES:
            raise _Refused(414, f"The request target is longer than {MAX_URL_BYTES} bytes.")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        self._header_count += 1
        if self._header_bytes > MAX_HEADER_BYTES or self._header_count > MAX_HEADERS:
            raise _Refused(431, _HEADERS_TOO_LARGE)
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        previous = self._headers.get(key)
        if previous is None:
            self._headers[key] = text
        elif key == "content-length":
            if previous != text:
                raise _Refused(400, "The request has conflicting Content-Length headers.")
        else:
            self._headers[key] = f"{previous}, {text}"

    def on_headers_complete(self) -> None:
        self._in_head = False
        parser = self._parser
        headers = self._headers
        chunked = "transfer-encoding" in headers
        if chunked and "content-length" in headers:
            raise _Refused(400, "The request has both Content-Length and Transfer-Encoding.")
        request = Request()
        request.method = parser.get_method().decode("latin-1")
        request.version = f"HTTP/{parser.get_http_version()}"
        request.keep_alive = bool(parser.should_keep_alive())
        request.head = request.method == "HEAD"
        try:
            url = httptools.parse_url(bytes(self._url))
        except httptools.HttpParserInvalidURLError:
            raise _Refused(400, "The request target is not a valid URL.") from None
        raw = url.path or b"/"
        decoded = unquote_to_bytes(raw) if b"%" in raw else raw
        request.raw_path = decoded.decode("latin-1")
        request.path = decoded.decode("utf-8", "replace")
        request.query = (url.query or b"").decode("latin-1")
        request.headers = headers
        self._request = request
        self._upgrading = bool(parser.should_upgrade())
        if self._upgrading:
            # Upgrade (h2c, websocket) and CONNECT are not offered: the request is served as
            # plain HTTP/1.1, its body read by a second parser (see on_message_complete), and
            # the connection closed after the answer.
            request.keep_alive = False
        length_text = headers.get("content-length")
        length = int(length_text) if length_text and length_text.isdigit() else 0
        expect = "100-continue" in headers.get("expect", "").lower()
        self._limit = self._limit_for(request)
        self._phase = _BODY
        self._left = None if chunked else length
        self._body_began = self._clock()
        if not (length or chunked):
            return
        reason = self._screen(request) if self._screen is not None else None
        if reason is not None:
            if length > DRAIN_LIMIT or expect:
                raise _Refused(0, "", reason)  # the client waits, or would send too much: answer now
            self._refusal, self._discard = reason, True
        elif length > self._limit:
            request.oversized = self._discard = True
            if length > DRAIN_LIMIT or expect:
                raise _Refused(413, "")
        elif expect:
            if self._slots or self._ready:  # answers before it are still owed: send it once written
                self._continue_owed = True
            else:
                self._write(CONTINUE)

    def on_body(self, body: bytes) -> None:
        self._continue_owed = False  # the client sends the body without waiting
        self._received += len(body)
        if self._discard:
            if self._received > DRAIN_LIMIT:
                raise _Refused(413 if self._refusal is None else 0, "", self._refusal)
            return
        if self._received > self._limit:
            assert self._request is not None
            self._request.oversized = self._discard = True
            self._body = bytearray()
            return
        self._body += body

    def on_message_complete(self) -> None:
        request = self._request
        if request is None:
            return
        if self._upgrading and (self._left or "transfer-encoding" in request.headers):
            self._upgraded(request)
            return
        self.finish_message()

    def _upgraded(self, request: Request) -> None:
        """Read an ``Upgrade:`` request's body: llhttp hands everything after the head over
        as another protocol's bytes, so a second parser reads it by the same framing."""
        framing = f"Content-Length: {self._left}" if self._left else "Transfer-Encoding: chunked"
        self._upgrade_parser = httptools.HttpRequestParser(_UpgradeSink(self))
        self._upgrade_parser.feed_data(f"POST / HTTP/1.1\r\n{framing}\r\n\r\n".encode("ascii"))
        self._phase = _UPGRADE_BODY

    def finish_message(self) -> None:
        """The request is whole: queue it (or its refusal) in order."""
        request = self._request
        assert request is not None
        if self._body:
            body = self._body
            request.body = bytes(body) if len(body) < (1 << 20) else body  # type: ignore[assignment]
        event: Event = request
        if self._refusal is not None:
            event = Refusal(0, "", self._refusal, request)
        if not request.keep_alive:
            event._close = True
            self._stop()
        self._ready.append(event)
        self._phase = _HEAD
        self._head_began = None
        self._upgrade_parser = None
        self._reset_message()

    # -- output --------------------------------------------------------------------------

    def respond(
        self,
        event: Event,
        status: int,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        *,
        length: int | None = None,
        close: bool = False,
    ) -> None:
        """Answer ``event`` (written once the answers before it are).

        :param length: the ``Content-Length`` to send when it differs from ``len(body)``
            (a HEAD answer: the length a GET would have).
        :param close: close the connection after this answer.
        :raises HeaderInjectionError: a header holds CR or LF (nothing is recorded: answer again).
        """
        close = close or event._close or self._shutting_down
        request = event if isinstance(event, Request) else event.request
        head_only = request is not None and request.head
        http_10 = request is not None and request.version == "HTTP/1.0"
        data = encode_head(status, headers, len(body) if length is None else length, close, keep_alive_10=http_10)
        if not (head_only or status in (204, 304) or status < 200):
            data += body
        event._data, event._close, event._done = data, close, True

    def drop(self, event: Event) -> None:
        """Close the connection at ``event``'s turn without writing a byte for it (fault injection)."""
        event._drop = event._done = True

    def shutdown(self) -> None:
        """Stop parsing (the server is stopping): answers owed are still written, then close."""
        self._shutting_down = True
        self._ready.clear()
        self._stop()

    def _write(self, data: bytes) -> None:
        self._out += data

    def data_to_send(self) -> bytes:
        """The bytes to write now, in order: answers whose turn came, a ``100 Continue`` owed."""
        parts: list[bytes] = []
        if self._out:
            parts.append(self._out)
            self._out = b""
        slots = self._slots
        while slots and slots[0]._done:
            event = slots.popleft()
            if event._drop:  # no status line, no byte: the client sees the connection end
                self._close_now = True
                slots.clear()
                break
            parts.append(event._data)
            event._data = b""
            self._served = True
            if event._close:
                self._close_now = True
                slots.clear()
                break
        if not slots and not self._close_now:
            if self._continue_owed:
                self._continue_owed = False
                parts.append(CONTINUE)
            if (self._stopped or self._eof) and not self._ready and (self._awaiting or self._stopped):
                self._close_now = True  # nothing more will come, and all is answered
            self._idle_since = self._clock()
        data = b"".join(parts)
        self._produced += len(data)
        return data

    @property
    def must_close(self) -> bool:
        """Close the connection once what ``data_to_send`` returned is written."""
        return self._close_now

    # -- deadlines and the connection cap -------------------------------------------------

    def check(self, unsent: int) -> Action:
        """Apply the deadlines, given the transport's ``unsent`` bytes (call every second or so)."""
        now = self._clock()
        drained = self._produced - unsent
        if unsent == 0 or drained > self._drained:
            self._drained, self._write_progress = drained, now
        elif now - self._write_progress > WRITE_TIMEOUT:
            return Action.ABORT  # the client takes nothing of what was written
        if self._close_now or self._stopped or not self._awaiting or self._ready:
            return Action.NONE
        if self._phase is _HEAD:
            if self._head_began is not None:
                if now - self._head_began > HEADER_TIMEOUT:
                    self._refuse(408, f"The request head was not received within {HEADER_TIMEOUT:g} seconds.")
                    return Action.EVENT
            elif not self._slots:
                limit = IDLE_TIMEOUT if self._served else HEADER_TIMEOUT
                if now - self._idle_since > limit:
                    self._stop()
                    self._close_now = True
                    return Action.CLOSE
        elif now - self._body_began > BODY_TIMEOUT + self._received / MIN_BODY_RATE:
            self._refuse(
                408,
                f"The request body was not received in time ({BODY_TIMEOUT:g} seconds, then "
                f"at least {MIN_BODY_RATE // 1024} KiB a second).",
            )
            return Action.EVENT
        return Action.NONE

    def eviction_rank(self) -> tuple[int, float] | None:
        """How readily this connection gives way to a new one when the server is full (lowest
        first): ``(0, since)`` a client slow to send its request (or any request, for more
        than ``SLOW_GRACE``), ``(1, since)`` an idle kept-alive connection, ``(2, since)`` a
        request just begun; ``None``: it is being answered, or closing."""
        if self._close_now or self._stopped or self._ready or self._slots:
            return None
        now = self._clock()
        if self._phase is _HEAD and self._head_began is None and not self._inbox:
            if self._served:
                return (1, self._idle_since)
            since = self._idle_since  # connected, and not a byte yet
        elif self._awaiting:
            since = self._head_began if self._phase is _HEAD and self._head_began is not None else self._body_began
        else:
            return None
        return (0 if now - since > SLOW_GRACE else 2, since)

    def evict(self, message: str) -> Action:
        """Give way to a new connection: close if idle, else refuse the request being sent (503)."""
        if self._phase is _HEAD and self._head_began is None and not self._inbox and not self._slots:
            self._stop()
            self._close_now = True
            return Action.CLOSE
        self._ready.clear()
        self._refuse(503, message)
        return Action.EVENT


_HEADERS_TOO_LARGE = f"The request headers are larger than {MAX_HEADER_BYTES} bytes or more than {MAX_HEADERS}."


def _parser_reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:120]
