"""The default HTTP server of ``serve`` and the container: asyncio and httptools, the engine on the loop.

Owns: HTTP/1.1 on a socket (keep-alive, pipelining, Content-Length and chunked bodies,
``Expect: 100-continue``, HEAD, limits on URL, headers and bodies), running the engine
for the spec's paths directly on the event loop, injected delays as loop timers,
dropped connections (closed with no byte written), ``/__mock`` and the rest (your own
Flask routes) on a small thread pool (through WSGI for the rest), a connection's calls
taking effect in the order sent, a write deadline for clients that stop reading, and a
stop that never waits for injected delays.

Why not a WSGI server: the engine answers a call in tens of microseconds of pure CPU.
On worker threads each call pays GIL hand-offs with the other threads and the load
generator, which made the tail 10-100x the median; and a WSGI app cannot close a
connection without a status line, which ``drop`` needs. Measured in CHANGES.md and
the README's performance section.
May import: ``app``, ``errors``, ``pipeline``, ``types``, httptools, uvloop (optional).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from email.utils import formatdate
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote_to_bytes

import httptools

from ..core.errors import ApiError
from ..core.pipeline import Engine
from ..core.types import MockRequest, MockResponse
from .wsgi import admin_body_limit, is_admin_path, payload, protocol_error, too_large

log = logging.getLogger("auralytik_mock")

#: A request target longer than this answers 414.
MAX_URL_BYTES = 8 * 1024
#: Request headers (names and values) larger than this, or more than ``MAX_HEADERS`` of them, answer 431.
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 100
#: An oversized body is read and thrown away up to this many bytes, so the client is done
#: sending and can read the 413; past it, or after ``Expect: 100-continue``, the 413 is
#: sent at once and the connection closed.
DRAIN_LIMIT = 64 * 1024 * 1024
#: Pipelined requests answered but not yet written before the connection stops reading.
MAX_PENDING = 32
#: How long ``stop`` lets calls running on the thread pool (admin, docs) finish.
STOP_GRACE = 0.5
#: A kept-alive connection with nothing to answer is closed after this many idle seconds.
IDLE_TIMEOUT = 75.0
#: A request whose headers are not complete this long after it began, or that sends no
#: byte for this long, answers 408 and the connection is closed (slow clients hold no socket).
#: Also the write deadline: answers written that have not drained for this long (a client
#: that stopped reading), or a close that waited this long on nothing, abort the connection.
REQUEST_TIMEOUT = 30.0
#: How often connections are checked against the timeouts.
SWEEP_INTERVAL = 1.0

_REASONS = {status.value: status.phrase for status in HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _Refused(Exception):
    """Raised from a parser callback to stop parsing and answer ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Slot:
    """One request's place in the connection's answer order (pipelining)."""

    __slots__ = ("data", "done", "close", "drop", "timer")

    def __init__(self) -> None:
        self.timer: asyncio.TimerHandle | None = None
        self.data = b""
        self.done = False
        self.close = False
        self.drop = False


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


def _head(status: int, headers: Iterable[tuple[str, str]], length: int, close: bool) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}", f"Date: {_date()}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    lines.append(f"Content-Length: {length}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")


def render(response: MockResponse, head_only: bool, close: bool) -> bytes:
    """The bytes on the wire for an engine answer."""
    data = payload(response)
    headers = list(response.headers.items())
    if data:
        headers.append(("Content-Type", response.content_type))
    head = _head(response.status, headers, len(data), close)
    return head if head_only or response.status in (204, 304) or response.status < 200 else head + data


class HttpServer:
    """The mock's own HTTP/1.1 server on an asyncio loop (``uvloop`` when installed).

    :param app: the Flask app from ``create_app`` (its routes beyond the spec's and
        ``/__mock`` run on the thread pool).
    :param engine: the app's engine (``engine_of(app)``).
    :param threads: threads for calls that do not run on the loop (admin, docs, your routes).
    """

    def __init__(self, app: Any, engine: Engine, *, threads: int = 4) -> None:
        self.app = app
        self.engine = engine
        self.executor = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="auralytik-mock-wsgi")
        self.connections: set[_Connection] = set()
        #: Calls on the thread pool not yet handed back to the loop.
        self.pool_calls: set[Future[Any]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.host = ""
        self.port = 0

    # -- running -------------------------------------------------------------------

    async def start(self, host: str, port: int, sock: socket.socket | None = None) -> None:
        """Listen on ``host:port`` (or on ``sock``) in the running loop."""
        self.loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        if sock is not None:
            self._server = await self.loop.create_server(lambda: _Connection(self), sock=sock, backlog=1024)
        else:
            self._server = await self.loop.create_server(
                lambda: _Connection(self), host=host, port=port, backlog=1024, reuse_address=True
            )
        address = self._server.sockets[0].getsockname()
        self.host, self.port = address[0], address[1]
        self.loop.call_later(SWEEP_INTERVAL, self._sweep)

    def _sweep(self) -> None:
        """Close idle kept-alive connections; answer 408 to requests that stall."""
        assert self.loop is not None
        now = time.monotonic()
        for connection in list(self.connections):
            connection.check_timeouts(now)
        if self._stopping is not None and not self._stopping.is_set():
            self.loop.call_later(SWEEP_INTERVAL, self._sweep)

    async def serve_until_stopped(self) -> None:
        """Serve until ``request_stop()``; then close quickly (see ``_shutdown``)."""
        assert self._stopping is not None
        await self._stopping.wait()
        await self._shutdown()

    def request_stop(self) -> None:
        """Ask the serving loop to stop (thread-safe, signal-safe)."""
        loop, stopping = self.loop, self._stopping
        if loop is None or stopping is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(stopping.set)

    async def _shutdown(self) -> None:
        """Stop accepting; close idle connections and drop calls parked in an injected delay
        at once; give calls on the thread pool ``STOP_GRACE`` to finish; then close the rest."""
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            connection.shutdown()
        deadline = time.monotonic() + STOP_GRACE
        while (self.connections or self.pool_calls) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for connection in list(self.connections):
            connection.abort()
        # A call still running past the grace (a route of yours that hangs) is not waited
        # for; when it ends, its answer has nobody to go to and is dropped quietly.
        self.executor.shutdown(wait=False, cancel_futures=True)

    def run(self, host: str, port: int, *, on_ready: Callable[[HttpServer], None] | None = None) -> None:
        """Serve in this thread until SIGINT or SIGTERM (the ``serve`` command)."""

        async def main() -> None:
            await self.start(host, port)
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, self.request_stop)
            if on_ready is not None:
                on_ready(self)
            await self.serve_until_stopped()

        _run(main())

    def start_in_thread(self, host: str, port: int) -> HttpServer:
        """Serve from a daemon thread; returns once the socket accepts (``MockServer``)."""

        def target() -> None:
            async def main() -> None:
                try:
                    await self.start(host, port)
                except BaseException as exc:
                    self._error = exc
                    self._ready.set()
                    return
                self._ready.set()
                await self.serve_until_stopped()

            _run(main())

        self._thread = threading.Thread(target=target, name="auralytik-mock-http", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self

    def stop_thread(self, timeout: float = 5.0) -> None:
        """Stop the server started by ``start_in_thread`` and wait for its thread.

        :raises TimeoutError: the thread is still serving after ``timeout`` seconds.
        """
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"the server did not stop within {timeout:g} seconds")

    # -- answering -----------------------------------------------------------------

    def dispatch(self, connection: _Connection, slot: _Slot, request: _Request) -> None:
        """Answer one complete request: the spec's paths on the loop, the rest on the pool."""
        engine = self.engine
        path = request.path
        admin = request.admin
        if request.oversized and admin:
            limit = admin_body_limit(engine, request.method, path)
            connection.finish(slot, render(too_large(engine, limit), request.head, True), True)
            return
        if admin or engine.world.router.route(path) is not None:
            mock_request = MockRequest(
                method=request.method,
                path=path,
                query=parse_qs(request.query, keep_blank_values=True, encoding="utf-8", errors="replace")
                if request.query
                else {},
                headers=request.headers,
                body=request.body,
                oversized=request.oversized,
            )
            if admin:
                # Admin calls may be heavy (PUT /__mock/state with 100,000 records): a pool
                # thread, and the body handed over as received (never copied).
                self._submit(connection, slot, request, connection.answer_later, engine.handle, mock_request)
                return
            response = engine.handle(mock_request)
            if response.delay > 0:
                assert self.loop is not None
                slot.timer = self.loop.call_later(response.delay, connection.answer, slot, response, request)
                connection.timers.add(slot.timer)
                return
            connection.answer(slot, response, request)
            return
        self._submit(connection, slot, request, connection.finish_wsgi, self._wsgi, request, connection.peer)

    def _submit(
        self,
        connection: _Connection,
        slot: _Slot,
        request: _Request,
        on_done: Callable[[_Slot, Future[Any], _Request], None],
        call: Callable[..., Any],
        *args: Any,
    ) -> None:
        """Run ``call`` on the pool; ``on_done`` answers ``slot`` from its future on the loop.
        The connection reads on but dispatches nothing more until then (its calls take
        effect in the order sent)."""
        loop = self.loop
        assert loop is not None
        future = self.executor.submit(call, *args)
        connection.pool_busy = True
        self.pool_calls.add(future)

        def finished(done: Future[Any]) -> None:
            self.pool_calls.discard(done)
            try:
                on_done(slot, done, request)
            except Exception:  # a bug in the mock (or a WSGI status it cannot read): 500, never a hang
                log.exception("unexpected error writing the answer to %r", request.path[:200])
                if not slot.done:
                    connection.finish(slot, connection.internal_error(request), True)
            finally:
                connection.pool_finished()

        def hand_over(done: Future[Any]) -> None:
            # A call that outlives the loop (a stop's grace ran out) has nobody to answer.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(finished, done)

        future.add_done_callback(hand_over)

    def _wsgi(self, request: _Request, peer: tuple[str, int]) -> tuple[str, list[tuple[str, str]], bytes]:
        """Run the Flask app on a pool thread; return status, headers and the whole body."""
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": request.raw_path,
            "QUERY_STRING": request.query,
            "SERVER_NAME": self.host,
            "SERVER_PORT": str(self.port),
            "SERVER_PROTOCOL": request.version,
            "REMOTE_ADDR": peer[0],
            "REMOTE_PORT": str(peer[1]),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(request.body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
        }
        if request.body:
            environ["CONTENT_LENGTH"] = str(len(request.body))
        for name, value in request.headers.items():
            if name == "content-type":
                environ["CONTENT_TYPE"] = value
            elif name != "content-length" and name != "transfer-encoding":
                environ["HTTP_" + name.upper().replace("-", "_")] = value
        started: list[Any] = []
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [status, headers]
            return written.append

        result = self.app(environ, start_response)
        try:
            for chunk in result:
                if chunk:
                    written.append(chunk)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if not started:
            raise RuntimeError(f"the WSGI app answered {request.raw_path[:200]!r} without calling start_response")
        status, headers = started
        return status, headers, b"".join(written)


def _run(coroutine: Any) -> None:
    try:
        import uvloop
    except ImportError:  # uvloop is optional (no wheels on some platforms)
        asyncio.run(coroutine)
        return
    uvloop.run(coroutine)


class _Request:
    """A parsed request, as the server hands it on."""

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
        "admin",
    )

    def __init__(self) -> None:
        self.method = "GET"
        self.path = "/"
        self.raw_path = "/"
        self.query = ""
        self.headers: dict[str, str] = {}
        self.body: bytes = b""
        self.oversized = False
        self.head = False
        self.keep_alive = True
        self.version = "HTTP/1.1"
        self.admin = False


class _Connection(asyncio.Protocol):
    """One client connection: parses requests, answers them in order."""

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.peer: tuple[str, int] = ("", 0)
        self.slots: deque[_Slot] = deque()
        self.timers: set[asyncio.TimerHandle] = set()
        self.closing = False
        self.paused = False
        self.last_activity = time.monotonic()
        #: When the connection last moved: a byte read, an answer written, the buffer draining.
        self.progress = self.last_activity
        self.sent = 0  # bytes handed to the transport
        self.drained = 0  # of those, bytes the transport had passed on at the last sweep
        self.pool_busy = False  # a call of this connection is on the thread pool
        #: Requests read while a call is on the pool, dispatched in order once it is back.
        self.queued: deque[tuple[_Slot, _Request]] = deque()
        self.request_began = 0.0  # when the request being read began; 0.0 between requests
        self.headers_done = False
        self._reset()

    def _reset(self) -> None:
        self._url = bytearray()
        self._headers: dict[str, str] = {}
        self._header_bytes = 0
        self._header_count = 0
        self._body = bytearray()
        self._received = 0
        self._limit = 0
        self._oversized = False
        self._continue = False  # a 100 Continue is owed once the answers before are written
        self._request: _Request | None = None

    # -- asyncio -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.peer = (str(peer[0]), int(peer[1]))
        self.server.connections.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()
        self.slots.clear()
        self.queued.clear()
        self.server.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.last_activity = self.progress = time.monotonic()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # Upgrade (e.g. h2c, websocket) and CONNECT are not offered: the request is
            # answered as plain HTTP/1.1 and the connection closed after it.
            self.closing = True
            if self.transport is not None:
                self.transport.pause_reading()
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, _Refused):
                self._refuse(cause.status, cause.message)
            else:  # a bug in the mock, not in the request: say so in the log
                log.error("unexpected error reading a request", exc_info=cause)
                self._refuse(500, "An unexpected error occurred in the mock.")
        except _Refused as refused:
            self._refuse(refused.status, refused.message)
        except httptools.HttpParserError as exc:
            self._refuse(400, f"The request is not valid HTTP/1.1 ({_parser_reason(exc)}).")

    def eof_received(self) -> bool:
        """The client is done sending (a half-close): answer what it asked, then close."""
        self.closing = True
        if not self.slots:
            return False  # nothing to answer: let the transport close
        return True  # keep it open for writing; ``_flush`` closes after the last answer

    def pause_writing(self) -> None:
        self.paused = True
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.paused = False
        if self.transport is not None and not self.closing and len(self.slots) < MAX_PENDING:
            self.transport.resume_reading()

    # -- httptools callbacks ---------------------------------------------------------

    def on_message_begin(self) -> None:
        self._reset()
        self.request_began = time.monotonic()
        self.headers_done = False

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > MAX_URL_BYTES:
            raise _Refused(414, f"The request target is longer than {MAX_URL_BYTES} bytes.")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        self._header_count += 1
        if self._header_bytes > MAX_HEADER_BYTES or self._header_count > MAX_HEADERS:
            raise _Refused(
                431, f"The request headers are larger than {MAX_HEADER_BYTES} bytes or more than {MAX_HEADERS}."
            )
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
        self.headers_done = True
        parser = self.parser
        headers = self._headers
        if "content-length" in headers and "transfer-encoding" in headers:
            raise _Refused(400, "The request has both Content-Length and Transfer-Encoding.")
        request = _Request()
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
        request.admin = is_admin_path(request.path)
        request.query = (url.query or b"").decode("latin-1")
        request.headers = headers
        self._request = request
        engine = self.server.engine
        self._limit = admin_body_limit(engine, request.method, request.path) if request.admin else self._api_limit()
        length_text = headers.get("content-length")
        length = int(length_text) if length_text and length_text.isdigit() else 0
        if length > self._limit:
            self._oversized = True
            if length > DRAIN_LIMIT or "100-continue" in headers.get("expect", "").lower():
                raise _Refused(413, "")
        elif headers.get("expect", "").lower() == "100-continue" and self.transport is not None:
            if self.slots:  # answers before it are still owed: send the 100 once they are written
                self._continue = True
            else:
                self._write(_CONTINUE)

    def _api_limit(self) -> int:
        return self.server.engine.config.max_body_bytes

    def on_body(self, body: bytes) -> None:
        self._continue = False  # the client sends the body without waiting
        self._received += len(body)
        if self._oversized:
            if self._received > DRAIN_LIMIT:
                raise _Refused(413, "")
            return
        if self._received > self._limit:
            self._oversized = True
            self._body = bytearray()
            return
        self._body += body

    def on_message_complete(self) -> None:
        request = self._request
        if request is None or self.transport is None:
            return
        if self._body:
            request.body = bytes(self._body) if len(self._body) < (1 << 20) else self._body  # type: ignore[assignment]
        request.oversized = self._oversized
        if self.closing:
            request.keep_alive = False
        self.request_began = 0.0
        slot = _Slot()
        self.slots.append(slot)
        if len(self.slots) >= MAX_PENDING:
            self.transport.pause_reading()
        self._reset()
        if self.pool_busy:
            self.queued.append((slot, request))
            return
        self._dispatch(slot, request)

    def _dispatch(self, slot: _Slot, request: _Request) -> None:
        try:
            self.server.dispatch(self, slot, request)
        except Exception:  # a bug in the mock: answer 500 in its turn, never leave the slot open
            log.exception("unexpected error answering %r", request.path[:200])
            if not slot.done:
                self.finish(slot, self.internal_error(request), True)

    # -- answering -------------------------------------------------------------------

    def answer(self, slot: _Slot, response: MockResponse, request: _Request) -> None:
        """Write an engine answer (or drop the connection) once its turn comes."""
        if slot.timer is not None:
            self.timers.discard(slot.timer)
        if response.drop_connection:
            slot.drop = True
            slot.done = True
            self._flush()
            return
        close = not request.keep_alive or self.closing
        try:
            data = render(response, request.head, close)
        except Exception:  # e.g. a hook's body JSON cannot serialise: a 500, never a hung connection
            log.exception("unexpected error writing the answer to %r", request.path[:200])
            data, close = self.internal_error(request), True
        self.finish(slot, data, close)

    def internal_error(self, request: _Request) -> bytes:
        """The 500 envelope for a bug in the mock, closing the connection."""
        response = self.server.engine.render(ApiError("An unexpected error occurred in the mock."))
        return render(response, request.head, True)

    def pool_finished(self) -> None:
        """The pool call is back: dispatch the requests read meanwhile, in order."""
        self.pool_busy = False
        if self.transport is None or self.transport.is_closing():
            self.queued.clear()
            return
        while self.queued and not self.pool_busy:
            slot, request = self.queued.popleft()
            self._dispatch(slot, request)

    def answer_later(self, slot: _Slot, done: Future[MockResponse], request: _Request) -> None:
        """Write the answer of an engine call made on the pool."""
        if done.cancelled() or done.exception() is not None:
            if not done.cancelled():
                log.error("unexpected error answering %s", request.path, exc_info=done.exception())
            response = self.server.engine.render(ApiError("An unexpected error occurred in the mock."))
        else:
            response = done.result()
        self.answer(slot, response, request)

    def finish(self, slot: _Slot, data: bytes, close: bool) -> None:
        slot.data, slot.close, slot.done = data, close, True
        self._flush()

    def finish_wsgi(self, slot: _Slot, done: Future[Any], request: _Request) -> None:
        if done.cancelled():
            self.finish(slot, b"", True)
            return
        error = done.exception()
        close = not request.keep_alive or self.closing
        if error is not None:
            log.error("unexpected error in the WSGI app", exc_info=error)
            response = self.server.engine.render(ApiError("An unexpected error occurred in the mock."))
            self.finish(slot, render(response, request.head, close), close)
            return
        status_text, headers, body = done.result()
        status = int(status_text.split(" ", 1)[0])
        kept = [
            (name, value)
            for name, value in headers
            if name.lower() not in {"content-length", "transfer-encoding", "connection", "date"}
        ]
        length = len(body)
        if request.head:  # no body, but the length a GET would have (the app's own header)
            given = next((value for name, value in headers if name.lower() == "content-length"), "")
            length = int(given) if given.strip().isdigit() else length
        head = _head(status, kept, length, close)
        self.finish(slot, head if request.head or status in (204, 304) else head + body, close)

    def _flush(self) -> None:
        transport = self.transport
        if transport is None:
            return
        while self.slots and self.slots[0].done:
            slot = self.slots.popleft()
            if slot.drop:
                # Fault injection: no status line, no byte; the client sees the connection end.
                self._close()
                return
            if not transport.is_closing():
                self._write(slot.data)
            if slot.close:
                self._close()
                return
        if self.closing and not self.slots:
            self._close()
            return
        if self._continue and not self.slots and not transport.is_closing():
            self._continue = False
            self._write(_CONTINUE)
        if not self.paused and len(self.slots) < MAX_PENDING and not transport.is_closing():
            transport.resume_reading()

    def _write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)
        self.sent += len(data)
        self.progress = time.monotonic()

    def _refuse(self, status: int, message: str) -> None:
        """Answer a request the parser refused (after the answers before it), then close."""
        self.closing = True
        if self.transport is not None:
            self.transport.pause_reading()
        engine = self.server.engine
        if status == 413:
            response = too_large(engine, self._limit or engine.config.max_body_bytes)
        elif status == 500:
            response = engine.render(ApiError(message))
        else:
            response = protocol_error(engine, status, message)
        slot = _Slot()
        self.slots.append(slot)
        self.finish(slot, render(response, False, True), True)

    def _close(self) -> None:
        self.closing = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    # -- timeouts and stopping -------------------------------------------------------

    def check_timeouts(self, now: float) -> None:
        transport = self.transport
        if transport is None:
            return
        drained = self.sent - transport.get_write_buffer_size()
        if drained > self.drained:
            self.drained, self.progress = drained, now
        stalled = now - self.progress > REQUEST_TIMEOUT
        # A client that reads nothing holds no socket and no buffer: written answers that
        # have not drained for REQUEST_TIMEOUT, or a close waiting that long on nothing the
        # mock is doing (a delay, a pool call), end the connection.
        if stalled and (self.sent > self.drained or (self.closing and not self.waiting())):
            self.abort()
            return
        if self.closing:
            return
        if self.request_began:
            stalled = now - self.last_activity > REQUEST_TIMEOUT
            slow_headers = not self.headers_done and now - self.request_began > REQUEST_TIMEOUT
            if stalled or slow_headers:
                self._refuse(408, f"The request was not received within {REQUEST_TIMEOUT:g} seconds.")
        elif not self.slots and now - self.last_activity > IDLE_TIMEOUT:
            self._close()

    def waiting(self) -> bool:
        """Whether an answer is being made (an injected delay, a call on the pool)."""
        return bool(self.timers) or self.pool_busy

    def shutdown(self) -> None:
        """Stop reading; close now if nothing is in flight; drop calls parked in a delay."""
        self.closing = True
        parked = bool(self.timers)
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()
        # Requests waiting for a pool call are not started: the connection closes after it.
        for slot, _ in self.queued:
            self.slots.remove(slot)
        self.queued.clear()
        if self.transport is not None:
            self.transport.pause_reading()
        # A call parked in an injected delay is dropped (its timer will never fire); calls
        # on the thread pool may still finish within the grace period, then are written.
        if parked or not any(not slot.done for slot in self.slots):
            self._close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


def _parser_reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:120]
