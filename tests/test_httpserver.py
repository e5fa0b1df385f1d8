"""The asyncio server (``httpserver``) in process, where it goes wrong: an answer that
cannot be written, pipelined calls that must take effect in order, clients that never
read, HEAD and ``Expect: 100-continue`` on every path, and a clean stop.

Every test talks to 127.0.0.1 on a free port and is bounded by socket timeouts; none
asserts how fast anything is.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask

from auralytik_mock import MockResponse, create_app, handles, unregister
from auralytik_mock.http import protocol
from auralytik_mock.http import server as httpserver
from auralytik_mock.http.wsgi import engine_of
from tests.processes import AUTH, assert_envelope, close, raw, request, responses


@contextmanager
def running(app: Flask | None = None) -> Iterator[httpserver.HttpServer]:
    app = app if app is not None else create_app()
    server = httpserver.HttpServer(app, engine_of(app)).start_in_thread("127.0.0.1", 0)
    try:
        yield server
    finally:
        server.stop_thread()


def _eventually(check: Any, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return bool(check())


# -- an answer that cannot be written --------------------------------------------------------


@pytest.fixture
def unserialisable() -> Iterator[None]:
    """A hook whose body JSON cannot serialise (a bug in the user's hook, or in the mock)."""

    @handles("listEngagements")
    def broken(call: Any, ctx: Any) -> MockResponse:
        return MockResponse(200, {"data": [object()]})  # type: ignore[list-item]

    try:
        yield
    finally:
        unregister("listEngagements")


def test_an_answer_that_cannot_be_written_is_a_500_and_the_connection_closes(
    unserialisable: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    with running() as server:
        port = server.port
        # Kept alive, delayed, and behind another answer: each is a 500 envelope, then the
        # connection closes (``raw`` reads until it does; it hung before).
        for headers in (AUTH, AUTH + "Prefer: delay=50\r\n"):
            answers = responses(raw(port, request("GET", "/v1/engagements", headers), timeout=5))
            assert len(answers) == 1 and answers[0][1].get("connection") == "close"
            assert_envelope(answers[0], 500, "INTERNAL_ERROR")
        answers = responses(raw(port, request("GET", "/health") + request("GET", "/v1/engagements", AUTH), timeout=5))
        assert [status for status, _, _ in answers] == [200, 500]
        # The server goes on serving.
        assert responses(raw(port, close(request("GET", "/v1/engagements/eng_456", AUTH))))[0][0] == 200
    assert caplog.text.count("unexpected error writing the answer") == 3, caplog.text


def test_a_wsgi_answer_that_cannot_be_read_is_a_500(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    app = create_app()
    flask_wsgi = app.wsgi_app

    def middleware(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] == "/broken":
            return [b"no status line"]  # a middleware bug: start_response never called
        return flask_wsgi(environ, start_response)

    app.wsgi_app = middleware  # type: ignore[method-assign]
    with running(app) as server:
        answers = responses(raw(server.port, request("GET", "/health") + close(request("GET", "/broken")), timeout=5))
        assert [status for status, _, _ in answers] == [200, 500]
        assert_envelope(answers[1], 500, "INTERNAL_ERROR")
    assert "without calling start_response" in caplog.text


# -- pipelined calls take effect in order ----------------------------------------------------


LISTING = request("GET", "/v1/engagements?pageSize=1", AUTH)


def _total(port: int) -> int:
    listing = responses(raw(port, close(LISTING)))[0]
    return int(json.loads(listing[2])["totalCount"])


def test_pipelined_calls_take_effect_in_the_order_sent() -> None:
    body = json.dumps({"name": "pipelined", "type": "quality_review"}).encode()
    create = request("POST", "/v1/engagements", AUTH + "Content-Type: application/json\r\n", body)
    with running() as server:
        seeded = _total(server.port)
        for _ in range(5):
            calls = create + request("POST", "/__mock/reset") + close(LISTING)
            answers = responses(raw(server.port, calls))
            assert [status for status, _, _ in answers] == [201, 200, 200]
            assert json.loads(answers[2][2])["totalCount"] == seeded, "the listing ran before the reset"
            # And the other way round: the create after a reset is kept.
            calls = request("POST", "/__mock/reset") + create + close(LISTING)
            answers = responses(raw(server.port, calls))
            assert json.loads(answers[2][2])["totalCount"] == seeded + 1
            assert responses(raw(server.port, close(request("POST", "/__mock/reset"))))[0][0] == 200


def test_pipelined_calls_behind_your_own_route_wait_for_it() -> None:
    app = create_app()
    seen: list[int] = []

    @app.route("/count")
    def count() -> str:
        time.sleep(0.05)  # a slow route of yours: the calls behind it must not overtake it
        seen.append(_total_in(app))
        return "ok"

    with running(app) as server:
        body = json.dumps({"name": "after", "type": "quality_review"}).encode()
        seeded = _total(server.port)
        calls = request("GET", "/count") + close(
            request("POST", "/v1/engagements", AUTH + "Content-Type: application/json\r\n", body)
        )
        assert [status for status, _, _ in responses(raw(server.port, calls))] == [200, 201]
    assert seen == [seeded], "the POST behind the route ran before it"


def _total_in(app: Flask) -> int:
    response = app.test_client().get("/v1/engagements?pageSize=1", headers={"Authorization": "Bearer YOUR_API_KEY"})
    return int(response.json["totalCount"])  # type: ignore[index]


# -- clients that never read -----------------------------------------------------------------


def test_a_client_that_never_reads_loses_its_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protocol, "WRITE_TIMEOUT", 0.3)
    monkeypatch.setattr(protocol, "IDLE_TIMEOUT", 0.3)
    monkeypatch.setattr(httpserver, "SWEEP_INTERVAL", 0.05)
    app = create_app()
    big = b"x" * (32 * 1024 * 1024)  # more than the kernel buffers of both ends hold

    @app.route("/big")
    def big_answer() -> bytes:
        return big

    with running(app) as server:
        socks = []
        try:
            # Kept alive (the idle close then waits on the buffer) and ``Connection: close``.
            for data in (request("GET", "/big"), close(request("GET", "/big"))):
                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.settimeout(10)
                sock.connect(("127.0.0.1", server.port))
                sock.sendall(data)
                socks.append(sock)
            assert _eventually(lambda: len(server.connections) == 2, 10)
            assert _eventually(lambda: not server.connections), "a connection nobody reads is still held"
            # The server goes on serving.
            assert responses(raw(server.port, close(request("GET", "/health"))))[0][0] == 200
        finally:
            for sock in socks:
                sock.close()


# -- HEAD and 100-continue on every path ------------------------------------------------------


def test_head_on_your_own_route_has_the_length_of_get() -> None:
    app = create_app()

    @app.route("/hello")
    def hello() -> str:
        return "hello, world"

    with running(app) as server:
        get, head = responses(raw(server.port, request("GET", "/hello") + close(request("HEAD", "/hello"))))
    assert get[0] == head[0] == 200 and get[2] == b"hello, world"
    assert head[1]["content-length"] == get[1]["content-length"] == "12" and head[2] == b""


def test_100_continue_comes_when_the_request_reaches_the_head() -> None:
    body = json.dumps({"name": "continued", "type": "quality_review"}).encode()
    post = close(
        request(
            "POST",
            "/v1/engagements",
            AUTH + f"Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {len(body)}\r\n",
        )
    )
    with running() as server, socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        # The POST's headers arrive while a delayed answer is still owed.
        sock.sendall(request("GET", "/v1/engagements/eng_456", AUTH + "Prefer: delay=200\r\n") + post)
        received = b""
        while b"100 Continue\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
        sock.sendall(body)
        while chunk := sock.recv(65536):
            received += chunk
    assert [status for status, _, _ in responses(received)] == [200, 100, 201]


# -- stopping -------------------------------------------------------------------------------


def test_a_pool_call_that_outlives_the_stop_ends_quietly(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(httpserver, "STOP_GRACE", 0.3)
    caplog.set_level(logging.WARNING)
    app = create_app()
    started, release = threading.Event(), threading.Event()

    @app.route("/slow")
    def slow() -> str:
        started.set()
        release.wait(10)
        return "late"

    server = httpserver.HttpServer(app, engine_of(app)).start_in_thread("127.0.0.1", 0)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request("GET", "/slow"))
        assert started.wait(10)
        # The stop waits its grace for the call: a join shorter than that says so.
        with pytest.raises(TimeoutError):
            server.stop_thread(timeout=0.01)
        server.stop_thread(timeout=10)
        release.set()
        server.dispatcher.pool.shutdown(wait=True)  # the call ends after the loop closed
        try:
            assert sock.recv(100) == b"", "the call got an answer after the stop"
        except ConnectionResetError:
            pass
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING], caplog.text


# -- issue 17: hostile clients ------------------------------------------------------------------


def _connect(port: int, rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def _counting(app: Flask) -> list[int]:
    """Count the engine's answers (the engine of ``app`` is wrapped in place)."""
    engine = engine_of(app)
    handle, count = engine.handle, [0]

    def counted(request: Any) -> Any:
        count[0] += 1
        return handle(request)

    engine.handle = counted  # type: ignore[method-assign]
    return count


def test_pipelined_requests_nobody_reads_are_not_answered_into_memory() -> None:
    """Issue 17.1: 196 KB of pipelined ``GET /v1/evaluations?pageSize=100`` put 240 MB into one
    connection's buffer; answering stops while the unsent bytes are above the high-water mark."""
    app = create_app()
    answered = _counting(app)
    calls = request("GET", "/v1/evaluations?pageSize=100", AUTH) * 2000
    with running(app) as server:
        socks = [_connect(server.port, rcvbuf=4096) for _ in range(3)]
        try:
            for sock in socks:
                sock.sendall(calls)
            time.sleep(1.0)  # let the server answer all it would
            buffered = sum(
                c.transport.get_write_buffer_size() for c in list(server.connections) if c.transport is not None
            )
            assert answered[0] < 3 * 200, f"{answered[0]} answers made for clients that read nothing"
            assert buffered < 3 * 4 * 1024 * 1024, f"{buffered} bytes held for clients that read nothing"
            # Everyone else is still served.
            assert responses(raw(server.port, close(request("GET", "/health"))))[0][0] == 200
        finally:
            for sock in socks:
                sock.close()


def test_a_client_that_stops_reading_is_cut_off_though_answers_are_still_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 17.1: the write deadline counts bytes the client took, not the server's own writes
    (delayed answers written one after another kept a client that reads nothing connected)."""
    monkeypatch.setattr(protocol, "WRITE_TIMEOUT", 0.5)
    monkeypatch.setattr(httpserver, "SWEEP_INTERVAL", 0.05)
    app = create_app()
    big = b"x" * (32 * 1024 * 1024)

    @app.route("/big")
    def big_answer() -> bytes:
        return big

    delayed = b"".join(
        request("GET", "/v1/engagements/eng_456", AUTH + f"Prefer: delay={300 * n}\r\n") for n in range(1, 30)
    )
    with running(app) as server:
        sock = _connect(server.port, rcvbuf=4096)
        try:
            sock.sendall(request("GET", "/big") + delayed)
            assert _eventually(lambda: len(server.connections) == 1, 5)
            # Delayed answers come every 0.3 s for 9 s: the client is cut off long before.
            assert _eventually(lambda: not server.connections, 5), "a client that reads nothing is still held"
        finally:
            sock.close()


def test_a_header_that_never_ends_is_refused_as_soon_as_it_passes_the_limit() -> None:
    """Issue 17.2: a 124 MiB header value was accepted; 431 at 64 KiB, without waiting for the end."""
    with running() as server, _connect(server.port) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: " + b"a" * (70 * 1024))
        answer = responses(_read_until_closed(sock))[0]
    assert_envelope(answer, 431, "REQUEST_HEADER_FIELDS_TOO_LARGE")


def test_a_body_trickled_byte_by_byte_gets_a_408(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 17.3: 1,000 connections trickling a byte every 10 s stayed open."""
    monkeypatch.setattr(protocol, "BODY_TIMEOUT", 1.0)
    monkeypatch.setattr(httpserver, "SWEEP_INTERVAL", 0.05)
    with running() as server, _connect(server.port) as sock:
        sock.sendall(
            b"POST /v1/engagements HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + AUTH.encode()
            + b"Content-Length: 1000\r\n\r\n"
        )
        sock.settimeout(0.2)
        received = b""
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and not received:
            try:
                sock.sendall(b" ")
                received = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
    assert_envelope(responses(received)[0], 408, "REQUEST_TIMEOUT")


def test_past_the_connection_cap_an_idle_connection_gives_way() -> None:
    """Issue 17.3: a cap on connections; a new client is served when every slot is taken."""
    app = create_app()
    server = httpserver.HttpServer(app, engine_of(app), max_connections=4).start_in_thread("127.0.0.1", 0)
    idle = [_connect(server.port) for _ in range(4)]
    try:
        assert _eventually(lambda: len(server.connections) == 4, 5)
        assert responses(raw(server.port, close(request("GET", "/health"))))[0][0] == 200
        closed = 0
        for sock in idle:
            sock.settimeout(0.1)
            try:
                closed += sock.recv(100) == b""
            except TimeoutError:
                pass
        assert closed >= 1, "no idle connection gave way"
    finally:
        for sock in idle:
            sock.close()
        server.stop_thread()


def test_an_upgrade_request_is_served_with_its_body_then_closed() -> None:
    """Issue 17.4: an ``Upgrade:`` request's body was left unread (a 400) and the connection hung."""
    body = json.dumps({"name": "upgraded", "type": "quality_review"}).encode()
    upgrade = AUTH + "Content-Type: application/json\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
    with running() as server:
        for before in (b"", request("GET", "/health")):  # fresh, and a reused connection
            with _connect(server.port) as sock:
                sock.sendall(before + request("POST", "/v1/engagements", upgrade, body) + b"PRI * HTTP/2.0\r\n\r\n")
                answers = responses(_read_until_closed(sock))
            assert [status for status, _, _ in answers] == [200] * len(before and [1]) + [201]
            assert answers[-1][1]["connection"] == "close"
            assert json.loads(answers[-1][2])["name"] == "upgraded"


@pytest.fixture
def slow_hook() -> Iterator[threading.Event]:
    """A hook that holds every large create until released (costly work on a big body)."""
    release = threading.Event()

    @handles("createEngagement")
    def slow(call: Any, ctx: Any) -> Any:
        if len(call.request.body.get("description") or "") > 100_000:
            release.wait(10)
        return ctx.default(call)

    try:
        yield release
    finally:
        release.set()
        unregister("createEngagement")


def test_a_large_body_is_answered_off_the_loop(slow_hook: threading.Event) -> None:
    """Issue 17.5: twenty 1 MiB POSTs delayed every other client by seconds."""
    body = json.dumps({"name": "big", "type": "quality_review", "description": "x" * 200_000}).encode()
    with running() as server, _connect(server.port) as sock:
        sock.sendall(request("POST", "/v1/engagements", AUTH + "Content-Type: application/json\r\n", body))
        time.sleep(0.2)  # the big call is running
        answer = responses(raw(server.port, close(request("GET", "/v1/engagements/eng_456", AUTH)), timeout=5))
        assert answer[0][0] == 200, "another client waited for the large body"
        slow_hook.set()
        sock.settimeout(10)
        assert responses(sock.recv(65536))[0][0] == 201


@pytest.fixture
def injecting_hook() -> Iterator[None]:
    @handles("getEngagement")
    def inject(call: Any, ctx: Any) -> MockResponse:
        return MockResponse(200, {"id": "x"}, {"X-Note": "ok\r\nSet-Cookie: session=evil"})

    try:
        yield
    finally:
        unregister("getEngagement")


def test_a_header_value_with_cr_lf_is_never_written(injecting_hook: None, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 17.6: whatever a handler or hook put in a header, no header injection."""
    caplog.set_level(logging.ERROR)
    with running() as server:
        answer = responses(raw(server.port, close(request("GET", "/v1/engagements/eng_456", AUTH))))[0]
    assert_envelope(answer, 500, "INTERNAL_ERROR")
    assert "set-cookie" not in answer[1]
    assert "CR or LF" in caplog.text


def test_without_the_admin_token_an_admin_body_is_never_read() -> None:
    """Issue 17.7: 8 x 120 MiB bodies to ``/__mock`` were buffered before the token was checked."""
    app = create_app(admin_token="s3cret")
    with running(app) as server:
        # The head alone: refused at once (the client would send 100 MiB for nothing).
        for path in ("/__mock/faults", "/__mock/state"):
            with _connect(server.port) as sock:
                sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {100 << 20}\r\n\r\n".encode())
                answer = responses(_read_until_closed(sock))[0]
            assert_envelope(answer, 401, "ADMIN_TOKEN_REQUIRED")
        # A small body is drained, not kept, and the connection serves on.
        rule = json.dumps({"path": "/v1/engagements", "status": 500}).encode()
        answers = responses(
            raw(
                server.port,
                request("POST", "/__mock/faults", "Content-Type: application/json\r\n", rule)
                + close(request("GET", "/__mock/health")),
            )
        )
        assert [status for status, _, _ in answers] == [401, 200]
        assert engine_of(app).faults.as_json() == [], "the refused rule was not added"
        # The open health probe takes no body: 100 MiB is refused at once, never read.
        with _connect(server.port) as sock:
            sock.sendall(
                f"GET /__mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {100 << 20}\r\n\r\n".encode()
            )
            assert_envelope(responses(_read_until_closed(sock))[0], 413, "PAYLOAD_TOO_LARGE")


def test_unknown_paths_wait_out_their_latency_on_the_loop_not_on_the_pool() -> None:
    """A 404 outside the spec waits its injected latency as a timer: calls parked there hold
    no pool thread, so the admin API (on the pool) still answers at once."""
    app = create_app(latency_ms=(30_000, 30_000))
    with running(app) as server:
        socks = [_connect(server.port) for _ in range(8)]  # more than the pool's threads
        try:
            for sock in socks:
                sock.sendall(request("GET", "/nowhere", AUTH))
            time.sleep(0.2)
            answer = responses(raw(server.port, close(request("GET", "/__mock/health")), timeout=5))
            assert answer[0][0] == 200
        finally:
            for sock in socks:
                sock.close()
