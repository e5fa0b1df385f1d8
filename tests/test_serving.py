"""The HTTP serving layer, over raw sockets, both ways users run the mock's one server:
``auralytik-mock serve`` (a process, as in the sandbox and the container) and ``MockServer``
(a thread of the test process).

Pins: a dropped connection sends no byte; injected delays never hold up other clients
and never hold up a stop; every refusal is the JSON envelope with ``X-Request-Id``;
admin bodies have their own (large) limit and a body over any limit is a 413.
"""

from __future__ import annotations

import json
import logging
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from auralytik_mock import MockServer
from tests.processes import AUTH, assert_envelope, close, free_port, raw, request, responses, serving

SERVERS = ["serve", "mockserver"]


@dataclass
class Target:
    port: int
    stop: Callable[[], None]
    output: Callable[[], str]


@contextmanager
def target(kind: str, *flags: str, caplog: pytest.LogCaptureFixture, **options: object) -> Iterator[Target]:
    """One server of ``kind``; ``output`` is what it logged (stderr or the log records) once stopped."""
    if kind == "mockserver":
        caplog.set_level(logging.WARNING)
        mock = MockServer(**options)  # type: ignore[arg-type]
        mock.start()
        try:
            yield Target(mock.port, mock.stop, lambda: caplog.text)
        finally:
            mock.stop()
        return
    env = {f"AURALYTIK_MOCK_{name.upper()}": str(value) for name, value in options.items()}
    with serving(*flags, env=env) as (base, process):
        captured: list[str] = []

        def stop() -> None:
            process.terminate()
            captured.append(process.communicate(timeout=10)[0])

        def output() -> str:
            if not captured:
                stop()
            return captured[0]

        yield Target(int(base.rsplit(":", 1)[1]), stop, output)


def add_fault(port: int, rule: dict) -> None:
    answer = responses(
        raw(
            port,
            close(request("POST", "/__mock/faults", "Content-Type: application/json\r\n", json.dumps(rule).encode())),
        )
    )
    assert answer[0][0] == 201, answer


# -- drop ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", SERVERS)
def test_a_dropped_connection_receives_no_byte_and_logs_no_error(kind: str, caplog) -> None:
    with target(kind, "--quiet", caplog=caplog) as server:
        add_fault(server.port, {"method": "GET", "path": "/v1/engagements/eng_456", "drop": True})
        assert raw(server.port, request("GET", "/v1/engagements/eng_456", AUTH)) == b""
        # A pipelined call before the dropped one is answered; the dropped one gets nothing.
        received = raw(server.port, request("GET", "/health") + request("GET", "/v1/engagements/eng_456", AUTH))
        assert [status for status, _, _ in responses(received)] == [200]
        # Delayed and dropped: still nothing, and the server goes on serving.
        add_fault(server.port, {"method": "GET", "path": "/v1/engagements/eng_457", "drop": True, "delayMs": 50})
        assert raw(server.port, request("GET", "/v1/engagements/eng_457", AUTH)) == b""
        assert responses(raw(server.port, close(request("GET", "/v1/engagements", AUTH))))[0][0] == 200
        server.stop()
        output = server.output()
    assert "Traceback" not in output and "ERROR" not in output and "Error" not in output, output


# -- delays never starve, stop never waits ---------------------------------------------------


PARKED = 32


def _parked_calls(port: int, data: bytes) -> list[socket.socket]:
    socks = []
    for _ in range(PARKED):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(data)
        socks.append(sock)
    return socks


def _answered(socks: list[socket.socket]) -> int:
    readable, _, _ = select.select(socks, [], [], 0)
    return len(readable)


@pytest.mark.parametrize("kind", SERVERS)
@pytest.mark.parametrize("source", ["prefer", "fault rule", "latency"])
def test_calls_parked_in_a_delay_hold_up_no_one_and_no_stop(kind: str, source: str, caplog) -> None:
    flags: tuple[str, ...] = ("--quiet",)
    options: dict[str, object] = {}
    parked_request = request("GET", "/v1/engagements", AUTH)
    if source == "prefer":
        parked_request = request("GET", "/v1/engagements", AUTH + "Prefer: delay=30000\r\n")
    elif source == "latency" and kind == "mockserver":
        options["latency_ms"] = "30000"
    elif source == "latency":
        flags += ("--latency", "30000")
    with target(kind, *flags, caplog=caplog, **options) as server:
        if source == "fault rule":
            add_fault(server.port, {"method": "GET", "path": "/v1/engagements", "delayMs": 30000})
        socks = _parked_calls(server.port, parked_request)
        try:
            # Undelayed calls are answered while every parked call is still waiting.
            checks = [request("GET", "/__mock/health")]
            if source != "latency":  # --latency delays every API call; the admin API never
                checks += [request("GET", "/health"), request("GET", "/v1/engagements/eng_456", AUTH)]
            for check in checks:
                assert responses(raw(server.port, close(check)))[0][0] == 200
            assert _answered(socks) == 0, "a parked call was answered before its delay"
            started = time.monotonic()
            server.stop()
            stopped_in = time.monotonic() - started
            # The parked calls are dropped: the connection closes with no answer.
            for sock in socks:
                sock.settimeout(5)
                try:
                    assert sock.recv(100) == b""
                except ConnectionResetError:
                    pass
        finally:
            for sock in socks:
                sock.close()
    assert stopped_in < 10, f"stop waited for the injected delays ({stopped_in:.1f} s)"


# -- every refusal is the envelope ---------------------------------------------------------


@pytest.mark.parametrize("kind", SERVERS)
def test_protocol_refusals_are_envelopes(kind: str, caplog) -> None:
    with target(kind, "--quiet", caplog=caplog) as server:
        port = server.port
        long_url = "/v1/engagements?q=" + "x" * 70_000
        assert_envelope(responses(raw(port, request("GET", long_url, AUTH)))[0], 414)
        huge_header = "X-Big: " + "y" * 70_000 + "\r\n"
        assert_envelope(responses(raw(port, request("GET", "/health", huge_header)))[0], 431)
        many = "".join(f"X-H{i}: v\r\n" for i in range(120))
        assert_envelope(responses(raw(port, request("GET", "/health", many)))[0], 431)
        assert_envelope(responses(raw(port, b"NOT HTTP AT ALL\r\n\r\n"))[0], 400)
        # Chunk extensions and trailers are HTTP/1.1: the body is read, the record created.
        chunked = (
            b"POST /v1/engagements HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            + AUTH.encode()
            + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b'9;name=value\r\n{"name": \r\n1e\r\n"c", "type": "quality_review"}\r\n0\r\nX-Trailer: yes\r\n\r\n'
        )
        status, _, body = responses(raw(port, chunked))[0]
        assert status == 201 and json.loads(body)["name"] == "c"
        malformed = chunked.replace(b"9;name=value", b"zz")
        assert_envelope(responses(raw(port, malformed))[0], 400)
        # Still serving, and keeping connections alive.
        answers = responses(raw(port, request("GET", "/health") + close(request("GET", "/health"))))
        assert [status for status, _, _ in answers] == [200, 200]
        server.stop()
        assert "Traceback" not in server.output()


# -- body limits -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", SERVERS)
def test_an_admin_body_over_its_limit_is_a_413_and_changes_nothing(kind: str, caplog) -> None:
    with target(kind, "--quiet", caplog=caplog, clock="2024-01-01T00:00:00Z", max_admin_body_bytes=4096) as server:
        big = json.dumps({"now": None, "padding": "x" * 10_000}).encode()
        answer = responses(
            raw(server.port, close(request("PUT", "/__mock/clock", "Content-Type: application/json\r\n", big)))
        )
        assert_envelope(answer[0], 413, "PAYLOAD_TOO_LARGE")
        clock = responses(raw(server.port, close(request("GET", "/__mock/clock"))))[0]
        assert json.loads(clock[2])["now"] == "2024-01-01T00:00:00Z", "the clock is still pinned"
        small = json.dumps({"now": "2025-01-01T00:00:00Z"}).encode()
        ok = responses(
            raw(server.port, close(request("PUT", "/__mock/clock", "Content-Type: application/json\r\n", small)))
        )
        assert ok[0][0] == 200


@pytest.mark.slow
@pytest.mark.parametrize("kind", SERVERS)
def test_put_state_loads_100000_engagements_over_http(kind: str, caplog) -> None:
    engagement = {
        "name": "Bulk",
        "description": "Loaded over HTTP",
        "type": "quality_review",
        "status": "active",
        "evaluationCount": 1,
        "createdAt": "2024-01-10T09:00:00Z",
        "updatedAt": "2024-01-10T09:00:00Z",
    }
    document = {
        "clients": [
            {
                "id": "client_acme",
                "name": "Acme",
                "apiKeys": [{"key": "YOUR_API_KEY", "scopes": ["engagements:read", "engagements:write"]}],
                "engagements": [{"id": f"eng_{i}", **engagement} for i in range(100_000)],
            }
        ]
    }
    body = json.dumps(document).encode()
    assert len(body) > 16 * 1024 * 1024
    with target(kind, "--quiet", caplog=caplog) as server:
        answer = responses(
            raw(
                server.port,
                close(request("PUT", "/__mock/state", "Content-Type: application/json\r\n", body)),
                timeout=120,
            )
        )
        assert answer[0][0] == 200, answer[0]
        listing = responses(raw(server.port, close(request("GET", "/v1/engagements?pageSize=1", AUTH))))[0]
        assert json.loads(listing[2])["totalCount"] == 100_000


# -- the asyncio server's HTTP/1.1 -----------------------------------------------------------


@pytest.fixture(scope="module")
def asyncio_port() -> Iterator[int]:
    with serving("--quiet") as (base, _):
        yield int(base.rsplit(":", 1)[1])


def test_pipelined_calls_are_answered_in_order_on_one_connection(asyncio_port: int) -> None:
    calls = (
        request("GET", "/v1/engagements/eng_456", AUTH)
        + request("GET", "/v1/engagements/eng_457", AUTH + "Prefer: delay=200\r\n")
        + request("GET", "/__mock/health")
        + close(request("GET", "/v1/engagements/eng_999", AUTH))
    )
    answers = responses(raw(asyncio_port, calls))
    assert [status for status, _, _ in answers] == [200, 200, 200, 404]
    assert json.loads(answers[1][2])["id"] == "eng_457", "the delayed answer kept its place"


def test_head_has_the_length_of_get_and_no_body(asyncio_port: int) -> None:
    get, head = responses(
        raw(asyncio_port, request("GET", "/v1/engagements", AUTH) + close(request("HEAD", "/v1/engagements", AUTH)))
    )
    assert head[0] == 200 and head[2] == b"" and head[1]["content-length"] == get[1]["content-length"]


def test_expect_100_continue(asyncio_port: int) -> None:
    body = json.dumps({"name": "continued", "type": "quality_review"}).encode()
    head = close(
        request("POST", "/v1/engagements", AUTH + "Content-Type: application/json\r\nExpect: 100-continue\r\n")
    )
    head = head.replace(b"\r\n\r\n", f"\r\nContent-Length: {len(body)}\r\n\r\n".encode())
    with socket.create_connection(("127.0.0.1", asyncio_port), timeout=10) as sock:
        sock.sendall(head)
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert responses(received)[0][0] == 201
    # Over the limit: the 413 comes at once, before the client sends the body.
    over = close(request("POST", "/v1/engagements", AUTH + "Expect: 100-continue\r\nContent-Length: 99999999\r\n"))
    assert_envelope(responses(raw(asyncio_port, over))[0], 413)


def test_conflicting_lengths_are_refused(asyncio_port: int) -> None:
    both = request("POST", "/v1/engagements", AUTH + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")
    assert_envelope(responses(raw(asyncio_port, both + b"0\r\n\r\n"))[0], 400)
    two = request("POST", "/v1/engagements", AUTH + "Content-Length: 2\r\nContent-Length: 3\r\n")
    assert_envelope(responses(raw(asyncio_port, two + b"{}"))[0], 400)


def test_http_10_closes_after_the_answer(asyncio_port: int) -> None:
    received = raw(asyncio_port, b"GET /health HTTP/1.0\r\n\r\n")
    assert responses(received)[0][0] == 200


# -- logging ------------------------------------------------------------------------------


def test_serving_never_hangs_on_a_stderr_pipe_nobody_reads() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "auralytik_mock", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,  # never read: a full pipe must not stop the server
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                raw(port, close(request("GET", "/health")), timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.05)
        path = "/v1/engagements/" + "x" * 200  # long access lines fill the 64 KiB pipe quickly
        for _ in range(2000):
            assert responses(raw(port, close(request("GET", path, AUTH))))[0][0] in {400, 404}
    finally:
        process.kill()
        process.communicate(timeout=10)


def test_a_half_closed_connection_still_gets_its_answers(asyncio_port: int) -> None:
    with socket.create_connection(("127.0.0.1", asyncio_port), timeout=10) as sock:
        sock.sendall(
            request("GET", "/health") + request("GET", "/v1/engagements/eng_456", AUTH + "Prefer: delay=100\r\n")
        )
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert [status for status, _, _ in responses(received)] == [200, 200]


def test_stalled_requests_get_a_408_and_idle_connections_are_closed(monkeypatch) -> None:
    from auralytik_mock import create_app
    from auralytik_mock.http import protocol
    from auralytik_mock.http import server as httpserver
    from auralytik_mock.http.wsgi import engine_of

    monkeypatch.setattr(protocol, "HEADER_TIMEOUT", 0.3)
    monkeypatch.setattr(protocol, "IDLE_TIMEOUT", 0.3)
    monkeypatch.setattr(httpserver, "SWEEP_INTERVAL", 0.05)
    app = create_app()
    server = httpserver.HttpServer(app, engine_of(app)).start_in_thread("127.0.0.1", 0)
    try:
        # Headers that never end (a slow client): 408 in the envelope, then the connection closes.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        assert_envelope(responses(received)[0], 408, "REQUEST_TIMEOUT")
        # A kept-alive connection with nothing more to say is closed once idle.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(request("GET", "/health"))
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        assert [status for status, _, _ in responses(received)] == [200]
        # A call parked in a delay is not idle: it is answered after its delay.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(close(request("GET", "/v1/engagements/eng_456", AUTH + "Prefer: delay=600\r\n")))
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        assert responses(received)[0][0] == 200
    finally:
        server.stop_thread()
