"""The mock's HTTP server: asyncio around ``protocol.Connection``, one per connection.

Used by ``serve``, the container, ``MockServer`` and the pytest plugin (one server).

Owns: listening (a connection cap, the open-file limit raised at start), moving bytes
between a socket and its protocol (reading and answering only as the protocol allows,
flow control on the transport's high-water mark), applying the deadlines every second,
injected delays as loop timers, and starting and stopping (in this thread for ``serve``,
in a background thread for ``MockServer``; a stop never waits for injected delays).
Where each request is answered is ``dispatch.py``.

Why not a WSGI server: on worker threads each call pays GIL hand-offs with the other
threads and the load generator, which made the tail 10-100x the median; and a WSGI app
cannot close a connection without a status line, which ``drop`` needs.
May import: ``harness.sandbox``, ``http.protocol``, ``http.dispatch``, uvloop (optional).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from ..harness.sandbox import Engine
from . import protocol
from .dispatch import Dispatcher
from .protocol import Action, Connection, Event

try:  # imported with the package, not on the first server's start
    import uvloop
except Exception:  # uvloop is optional (no wheels on some platforms; a broken build): asyncio's loop
    uvloop = None  # type: ignore[assignment]

log = logging.getLogger("auralytik_mock")

#: How long ``stop`` lets calls running on the thread pool (admin, docs) finish.
STOP_GRACE = 0.5
#: How often connections are checked against the deadlines.
SWEEP_INTERVAL = 1.0
#: The default cap on open connections (``Config.max_connections``).
MAX_CONNECTIONS = 1024
#: File descriptors kept free of connections (the listening socket, files, the log...).
RESERVED_FDS = 64


def raise_open_file_limit() -> int:
    """Raise this process's soft open-file limit toward the hard one; return the soft limit
    (``-1``: unlimited or unknown)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return -1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
    return -1 if soft == resource.RLIM_INFINITY else int(soft)


class HttpServer:
    """The mock's own HTTP/1.1 server on an asyncio loop (``uvloop`` when installed).

    :param app: the Flask app from ``create_app`` (its routes beyond the spec's and
        ``/__mock`` run on the thread pool).
    :param engine: the app's engine (``engine_of(app)``).
    :param threads: threads for calls that do not run on the loop (admin, docs, your routes).
    :param max_connections: open connections at most; a new one past it takes the place of
        an idle one, else of the slowest to send its request (answered 503), else is refused.
    """

    def __init__(self, app: Any, engine: Engine, *, threads: int = 4, max_connections: int = MAX_CONNECTIONS) -> None:
        self.app = app
        self.engine = engine
        self.dispatcher = Dispatcher(app, engine, threads=threads)
        self.connections: set[_Channel] = set()
        self.max_connections = max(1, max_connections)
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
        files = raise_open_file_limit()
        if files > 0:
            self.max_connections = max(1, min(self.max_connections, files - RESERVED_FDS))
        self.loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        if sock is not None:
            self._server = await self.loop.create_server(lambda: _Channel(self), sock=sock, backlog=1024)
        else:
            self._server = await self.loop.create_server(
                lambda: _Channel(self), host=host, port=port, backlog=1024, reuse_address=True
            )
        address = self._server.sockets[0].getsockname()
        self.host, self.port = address[0], address[1]
        self.dispatcher.loop, self.dispatcher.address = self.loop, (self.host, self.port)
        self.loop.call_later(SWEEP_INTERVAL, self._sweep)

    def _sweep(self) -> None:
        """Apply the deadlines (slow heads and bodies, idle connections, clients that stop reading)."""
        assert self.loop is not None
        for channel in list(self.connections):
            channel.check()
        if self._stopping is not None and not self._stopping.is_set():
            self.loop.call_later(SWEEP_INTERVAL, self._sweep)

    def admit(self, channel: _Channel) -> None:
        """Count a new connection in; past the cap, another gives way (or this one is refused)."""
        if len(self.connections) >= self.max_connections:
            ranked = [(rank, c) for c in self.connections if (rank := c.proto.eviction_rank()) is not None]
            message = (
                f"The server is at its limit of {self.max_connections} open connections "
                "(--max-connections) and this request was the slowest to arrive; send it again."
            )
            if ranked:
                victim = min(ranked, key=lambda pair: pair[0])[1]
                victim.apply(victim.proto.evict(message))
            else:
                self.connections.add(channel)
                channel.apply(channel.proto.evict(message))
                return
        self.connections.add(channel)

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
        at once; give calls on the threads ``STOP_GRACE`` to finish; then close the rest."""
        if self._server is not None:
            self._server.close()
        for channel in list(self.connections):
            channel.shutdown()
        deadline = time.monotonic() + STOP_GRACE
        while (self.connections or self.dispatcher.calls) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for channel in list(self.connections):
            channel.abort()
        # A call still running past the grace (a route of yours that hangs) is not waited
        # for; when it ends, its answer has nobody to go to and is dropped quietly.
        self.dispatcher.shutdown()

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

        self._thread = threading.Thread(target=target, name=f"auralytik-mock-http:{port}", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self

    def stop_thread(self, timeout: float = 5.0) -> None:
        """Stop the server started by ``start_in_thread``; wait for its thread, and for the
        threads of the pools for at most ``STOP_GRACE`` more (idle ones end at once; a
        route of yours that hangs is left behind, its answer dropped when it ends).

        :raises TimeoutError: the serving thread is still running after ``timeout`` seconds.
        """
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"the server did not stop within {timeout:g} seconds")
        self.dispatcher.shutdown(join_for=STOP_GRACE)


class _Channel(asyncio.Protocol):
    """One client connection: the transport's side of a ``protocol.Connection``."""

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.proto = Connection(limit_for=server.dispatcher.limit_for, screen=server.dispatcher.screen)
        self.transport: asyncio.Transport | None = None
        self.peer: tuple[str, int] = ("", 0)
        self.timers: dict[Event, asyncio.TimerHandle] = {}
        self.busy = False  # a call of this connection is on a thread
        self.reading = True

    # -- asyncio -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.peer = (str(peer[0]), int(peer[1]))
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.set_write_buffer_limits(high=protocol.HIGH_WATER)  # type: ignore[attr-defined]
        self.server.admit(self)

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()
        self.transport = None
        self.server.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        self.proto.receive(data)
        self.pump()

    def eof_received(self) -> bool:
        self.proto.receive_eof()
        self.pump()
        return True  # open for writing: the protocol closes after the last answer

    def pause_writing(self) -> None:
        self.proto.writing_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self.proto.writing_paused = False
        self.pump()

    # -- moving bytes --------------------------------------------------------------

    def pump(self) -> None:
        """Answer what the protocol hands out (as long as it does), and write."""
        proto, dispatcher = self.proto, self.server.dispatcher
        while not self.busy and self.transport is not None:
            event = proto.next_event()
            if event is None:
                break
            try:
                dispatcher.dispatch(self, event)
            except Exception:  # a bug in the mock: answer 500 in its turn, never leave it open
                log.exception("unexpected error answering %r", getattr(event, "path", "")[:200])
                dispatcher.internal_error(self, event)
            self.flush()  # answer by answer: writing may pause (the high-water mark)
        self.flush()
        self._update_reading()

    def flush(self) -> None:
        transport = self.transport
        if transport is None:
            return
        data = self.proto.data_to_send()
        if data and not transport.is_closing():
            transport.write(data)
        if self.proto.must_close and not transport.is_closing():
            transport.close()

    def _update_reading(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        wanted = self.proto.wants_data
        if wanted != self.reading:
            self.reading = wanted
            if wanted:
                transport.resume_reading()
            else:
                transport.pause_reading()

    def apply(self, action: Action) -> None:
        """Do what the protocol's deadlines or the cap decided."""
        if action is Action.EVENT:
            self.pump()
        elif action is Action.CLOSE:
            self.flush()
        elif action is Action.ABORT:
            self.abort()

    def check(self) -> None:
        transport = self.transport
        if transport is not None:
            self.apply(self.proto.check(transport.get_write_buffer_size()))

    def later(self, delay: float, event: Event, callback: Callable[[], None]) -> None:
        """Run ``callback`` after ``delay`` seconds, then write (an injected delay)."""
        loop = self.server.loop
        assert loop is not None

        def fire() -> None:
            self.timers.pop(event, None)
            callback()
            self.pump()

        self.timers[event] = loop.call_later(delay, fire)

    # -- stopping ------------------------------------------------------------------

    def shutdown(self) -> None:
        """Read no more; drop calls parked in a delay; close once the rest is written."""
        self.proto.shutdown()
        for event, timer in list(self.timers.items()):
            timer.cancel()
            self.proto.drop(event)
        self.timers.clear()
        self.flush()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


def _run(coroutine: Any) -> None:
    if uvloop is None:
        asyncio.run(coroutine)
        return
    uvloop.run(coroutine)
