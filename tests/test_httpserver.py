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
from auralytik_mock.http import server as httpserver
from auralytik_mock.http.wsgi import engine_of
from tests.test_serving import AUTH, assert_envelope, close, raw, request, responses


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
    monkeypatch.setattr(httpserver, "REQUEST_TIMEOUT", 0.3)
    monkeypatch.setattr(httpserver, "IDLE_TIMEOUT", 0.3)
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
        server.executor.shutdown(wait=True)  # the call ends after the loop closed
        try:
            assert sock.recv(100) == b"", "the call got an answer after the stop"
        except ConnectionResetError:
            pass
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING], caplog.text
