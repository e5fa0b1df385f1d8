"""Where each request the server reads is answered, and how the answer becomes bytes.

Owns: the spec's paths on the event loop (the engine answers in tens of microseconds);
bodies over ``HEAVY_BODY_BYTES`` on one worker thread, so a client sending megabytes of
JSON (or a bad signature over them) cannot stall the others; ``/__mock`` and your own
Flask routes on a small thread pool (your routes through WSGI); a connection answering
nothing more while one of its calls is on a thread (its calls take effect in the order
sent); injected delays as loop timers; the body limit and the admin guard at headers
time (an admin body without the token is never read); a ``MockResponse`` written, or a
500 when it cannot be (a body that does not serialise, a header with CR or LF); the
envelopes of refusals made before the engine.
May import: ``core`` (errors, types), ``harness.sandbox``, ``http.protocol``, ``http.gateway``,
``http.wsgi``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol
from urllib.parse import parse_qs

from ..core.errors import ApiError
from ..core.types import MockRequest, MockResponse
from ..harness.sandbox import Engine
from .gateway import call_wsgi
from .protocol import Connection, Event, Refusal, Request
from .wsgi import CATCH_ALL, EngineWSGI, admin_body_limit, is_admin_path, payload, protocol_error, too_large

log = logging.getLogger("auralytik_mock")

#: Requests with a larger body are answered on the worker thread, not on the loop
#: (decoding and checking a megabyte of JSON takes a tenth of a second or more).
HEAVY_BODY_BYTES = 64 * 1024
#: Admin methods that carry no body: their bodies get the API's limit, not the admin one.


class Channel(Protocol):
    """What the dispatcher needs of a connection (``server._Channel``)."""

    proto: Connection
    #: A call of this connection is on a thread: it answers nothing more until it is back.
    busy: bool
    peer: tuple[str, int]

    def pump(self) -> None:
        """Write what is ready and answer what comes next."""

    def later(self, delay: float, event: Event, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the loop after ``delay`` seconds (dropped if the server stops)."""


class Dispatcher:
    """Answers requests for one app and its engine.

    :param threads: threads of the pool (admin, docs, your routes).
    """

    def __init__(self, app: Any, engine: Engine, *, threads: int = 4) -> None:
        self.app = app
        self.engine = engine
        self.pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="auralytik-mock-pool")
        #: One thread for requests with large bodies: at most one competes with the loop.
        self.heavy = ThreadPoolExecutor(max_workers=1, thread_name_prefix="auralytik-mock-heavy")
        #: Calls on a thread not yet handed back to the loop.
        self.calls: set[Future[Any]] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.address: tuple[str, int] = ("", 0)

    # -- at headers time -------------------------------------------------------------

    def limit_for(self, request: Request) -> int:
        """The body limit of a request, from its head."""
        config = self.engine.config
        if is_admin_path(request.path):
            return admin_body_limit(self.engine, request.method, request.path)
        return config.max_body_bytes

    def screen(self, request: Request) -> ApiError | None:
        """Before an admin request's body is read: the guard's refusal (a wrong or missing
        admin token, a foreign origin or host), so no body is read for nothing."""
        if not is_admin_path(request.path):
            return None
        guard = self.engine.guard
        head = _mock_request(request)
        try:
            guard.check_host(head)
            guard.check_admin(head)
        except ApiError as error:
            return error
        return None

    # -- answering ---------------------------------------------------------------------

    def dispatch(self, channel: Channel, event: Event) -> None:
        """Answer one event: the spec's paths on the loop (large bodies on the worker thread),
        ``/__mock`` and your own routes on the pool."""
        if isinstance(event, Refusal):  # the protocol knows whether the connection can go on
            self.answer(channel, event, self._refusal(event))
            return
        engine = self.engine
        admin = is_admin_path(event.path)
        if event.oversized and admin:
            self.answer(channel, event, too_large(engine, self.limit_for(event)), close=True)
            return
        if not admin and engine.world.router.route(event.path) is None and self._your_route(event):
            self._submit(
                self.pool, channel, event, self._answer_wsgi, call_wsgi, self.app, event, self.address, channel.peer
            )
            return
        mock_request = _mock_request(event)
        if admin:  # may be heavy (PUT /__mock/state with 100,000 records)
            self._submit(self.pool, channel, event, self._answer_later, engine.handle, mock_request)
        elif len(event.body) > HEAVY_BODY_BYTES:
            self._submit(self.heavy, channel, event, self._answer_later, engine.handle, mock_request)
        else:
            self.answer(channel, event, engine.handle(mock_request))

    def answer(self, channel: Channel, event: Event, response: MockResponse, *, close: bool = False) -> None:
        """Answer with an engine response, now or after its injected delay."""
        if response.delay > 0 and not response.drop_connection:

            def delayed() -> None:
                self._respond(channel, event, response, False)

            channel.later(response.delay, event, delayed)
            return
        self._respond(channel, event, response, close)

    def _respond(self, channel: Channel, event: Event, response: MockResponse, close: bool) -> None:
        if response.drop_connection:
            channel.proto.drop(event)
            return
        try:
            data = payload(response)
            headers = list(response.headers.items())
            if data:
                headers.append(("Content-Type", response.content_type))
            channel.proto.respond(event, response.status, headers, data, close=close)
        except Exception:  # a hook's body that cannot serialise, a header with CR/LF: 500, never a hang
            log.exception("unexpected error writing the answer to %r", _path_of(event))
            self.internal_error(channel, event)

    def internal_error(self, channel: Channel, event: Event) -> None:
        """The 500 envelope for a bug in the mock, closing the connection."""
        response = self.engine.render(ApiError("An unexpected error occurred in the mock."))
        headers = [*response.headers.items(), ("Content-Type", response.content_type)]
        channel.proto.respond(event, 500, headers, payload(response), close=True)

    def _answer_later(self, channel: Channel, event: Request, done: Future[MockResponse]) -> None:
        if done.cancelled() or done.exception() is not None:
            if not done.cancelled():
                log.error("unexpected error answering %s", event.path[:200], exc_info=done.exception())
            self.internal_error(channel, event)
            return
        self.answer(channel, event, done.result())

    def _answer_wsgi(
        self, channel: Channel, event: Request, done: Future[tuple[int, list[tuple[str, str]], bytes, int]]
    ) -> None:
        if done.cancelled():
            channel.proto.drop(event)
            return
        error = done.exception()
        if error is not None:
            log.error("unexpected error in the WSGI app", exc_info=error)
            self.internal_error(channel, event)
            return
        status, headers, body, length = done.result()
        channel.proto.respond(event, status, headers, body, length=length)

    def _your_route(self, request: Request) -> bool:
        """Whether a path outside the spec is one of your own Flask routes, or may be (a
        middleware of yours wraps the app): else the engine's 404 answers it here, on the
        loop, its latency a timer."""
        if not isinstance(self.app.wsgi_app, EngineWSGI):
            return True
        try:
            endpoint, _ = self.app.url_map.bind("localhost").match(request.path, method=request.method)
        except Exception:  # a redirect, a 405 of your route: Flask answers
            return True
        return bool(endpoint != CATCH_ALL)

    def _refusal(self, refusal: Refusal) -> MockResponse:
        engine = self.engine
        if isinstance(refusal.reason, ApiError):
            return engine.render(refusal.reason)
        if refusal.status == 413:
            request = refusal.request
            return too_large(engine, self.limit_for(request) if request is not None else engine.config.max_body_bytes)
        if refusal.status == 500:
            return engine.render(ApiError(refusal.message))
        return protocol_error(engine, refusal.status, refusal.message)

    def _submit(
        self,
        executor: ThreadPoolExecutor,
        channel: Channel,
        event: Request,
        on_done: Callable[[Channel, Request, Future[Any]], None],
        call: Callable[..., Any],
        *args: Any,
    ) -> None:
        """Run ``call`` on a thread; ``on_done`` answers ``event`` from its future on the loop."""
        loop = self.loop
        assert loop is not None
        future = executor.submit(call, *args)
        channel.busy = True
        self.calls.add(future)

        def finished(done: Future[Any]) -> None:
            self.calls.discard(done)
            channel.busy = False
            try:
                on_done(channel, event, done)
            except Exception:  # a bug in the mock (or a WSGI status it cannot read): 500, never a hang
                log.exception("unexpected error writing the answer to %r", event.path[:200])
                self.internal_error(channel, event)
            channel.pump()

        def hand_over(done: Future[Any]) -> None:
            # A call that outlives the loop (a stop's grace ran out) has nobody to answer.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(finished, done)

        future.add_done_callback(hand_over)

    # -- stopping ----------------------------------------------------------------------

    def shutdown(self, join_for: float = 0.0) -> None:
        """Start no more calls; wait up to ``join_for`` seconds for the threads (idle ones end
        at once; a route of yours that hangs is left behind, its answer dropped when it ends)."""
        deadline = time.monotonic() + join_for
        for executor in (self.pool, self.heavy):
            executor.shutdown(wait=False, cancel_futures=True)
            # ThreadPoolExecutor.shutdown has no timeout: join its threads within ours.
            for thread in list(executor._threads):
                thread.join(max(0.0, deadline - time.monotonic()))


def _mock_request(request: Request) -> MockRequest:
    query = request.query
    return MockRequest(
        method=request.method,
        path=request.path,
        query=parse_qs(query, keep_blank_values=True, encoding="utf-8", errors="replace") if query else {},
        headers=request.headers,
        body=request.body,
        oversized=request.oversized,
    )


def _path_of(event: Event) -> str:
    request = event if isinstance(event, Request) else event.request
    return request.path[:200] if request is not None else ""
