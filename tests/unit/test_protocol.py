"""The HTTP/1.1 state machine with bytes alone: no socket, no loop, a fake clock.

Each test feeds ``Connection`` the bytes a client would send and reads back what the
server would write, as h11's tests do.
"""

from __future__ import annotations

from typing import Any

import pytest

from auralytik_mock.http import protocol
from auralytik_mock.http.protocol import Action, Connection, HeaderInjectionError, Refusal, Request


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def get(path: str = "/", headers: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode()


def post(path: str, body: bytes, headers: str = "") -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body


def connect(**kwargs: Any) -> tuple[Connection, Clock]:
    clock = Clock()
    return Connection(clock=clock, **kwargs), clock


def events(conn: Connection) -> list[Request | Refusal]:
    found = []
    while (event := conn.next_event()) is not None:
        found.append(event)
    return found


def answer(conn: Connection, event: Request | Refusal, body: bytes = b"ok", **kwargs: Any) -> None:
    conn.respond(event, 200, [("Content-Type", "text/plain")], body, **kwargs)


def parse(data: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """Split written bytes into (status, headers, body) answers."""
    answers = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
        status = int(lines[0].split()[1])
        length = 0 if status == 100 else int(headers.get("content-length", "0"))
        answers.append((status, headers, rest[:length]))
        data = rest[length:]
    return answers


# -- requests in, answers out ------------------------------------------------------------


def test_a_request_is_parsed_and_answered_on_a_kept_alive_connection() -> None:
    conn, _ = connect()
    conn.receive(get("/v1/a%20b?x=1&y=%C3%A9", "Accept: a\r\nAccept: b\r\n"))
    (request,) = events(conn)
    assert isinstance(request, Request)
    assert (request.method, request.path, request.query) == ("GET", "/v1/a b", "x=1&y=%C3%A9")
    assert request.headers["accept"] == "a, b" and request.keep_alive and request.body == b""
    answer(conn, request)
    (status, headers, body), *_ = parse(conn.data_to_send())
    assert (status, body, headers["content-length"]) == (200, b"ok", "2")
    assert "connection" not in headers and not conn.must_close
    conn.receive(get("/again"))
    assert [e.path for e in events(conn)] == ["/again"]  # type: ignore[union-attr]


def test_a_head_split_at_every_byte_is_the_same_request() -> None:
    data = post("/v1/engagements", b'{"name": "n"}', "Content-Type: application/json\r\n")
    for cut in range(1, len(data)):
        conn, _ = connect()
        conn.receive(data[:cut])
        first = events(conn)
        conn.receive(data[cut:])
        (request,) = first + events(conn)
        assert isinstance(request, Request) and request.body == b'{"name": "n"}', cut


def test_pipelined_answers_are_written_in_the_order_sent() -> None:
    conn, _ = connect()
    conn.receive(get("/1") + get("/2") + get("/3"))
    first, second, third = events(conn)
    answer(conn, third, b"3")
    answer(conn, second, b"2")
    assert conn.data_to_send() == b"", "nothing is written before the first answer"
    answer(conn, first, b"1")
    assert [body for _, _, body in parse(conn.data_to_send())] == [b"1", b"2", b"3"]


def test_a_chunked_body_with_extensions_and_trailers_is_read() -> None:
    conn, _ = connect()
    conn.receive(
        b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n" + get("/next")
    )
    chunked, following = events(conn)
    assert isinstance(chunked, Request) and chunked.body == b"hello world"
    assert isinstance(following, Request) and following.path == "/next"


def test_the_head_after_a_chunked_body_may_straddle_what_was_fed() -> None:
    conn, _ = connect()
    chunked = b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
    conn.receive(chunked + b"GET /next HTTP/1.1\r\nHost: x\r\n")
    assert [e.path for e in events(conn)] == ["/c"]  # type: ignore[union-attr]
    conn.receive(b"\r\n")  # the empty line, its first half fed with the chunked body
    assert [e.path for e in events(conn)] == ["/next"]  # type: ignore[union-attr]


def test_head_answers_have_the_length_of_get_and_no_body() -> None:
    conn, _ = connect()
    conn.receive(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    (request,) = events(conn)
    conn.respond(request, 200, [], b"", length=12)
    ((status, headers, body),) = parse(conn.data_to_send())
    assert (status, headers["content-length"], body) == (200, "12", b"")


def test_http_10_and_connection_close_end_the_connection_after_the_answer() -> None:
    for data in (b"GET / HTTP/1.0\r\n\r\n", get("/", "Connection: close\r\n")):
        conn, _ = connect()
        conn.receive(data + get("/ignored"))
        (request,) = events(conn)
        answer(conn, request)
        ((_, headers, _),) = parse(conn.data_to_send())
        assert headers["connection"] == "close" and conn.must_close and not conn.wants_data


def test_an_http_10_client_that_asks_for_keep_alive_is_told_so() -> None:
    conn, _ = connect()
    conn.receive(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + b"GET /2 HTTP/1.0\r\n\r\n")
    first, second = events(conn)
    answer(conn, first)
    answer(conn, second)
    assert [h["connection"] for _, h, _ in parse(conn.data_to_send())] == ["keep-alive", "close"]


def test_a_half_closed_connection_gets_its_answers_then_closes() -> None:
    conn, _ = connect()
    conn.receive(get("/1") + get("/2"))
    conn.receive_eof()
    first, second = events(conn)
    answer(conn, first)
    conn.data_to_send()
    assert not conn.must_close
    answer(conn, second)
    assert len(parse(conn.data_to_send())) == 1 and conn.must_close


def test_a_dropped_answer_closes_without_a_byte_after_those_before() -> None:
    conn, _ = connect()
    conn.receive(get("/1") + get("/2") + get("/3"))
    first, second, third = events(conn)
    answer(conn, third)
    conn.drop(second)
    answer(conn, first, b"first")
    ((_, _, body),) = parse(conn.data_to_send())
    assert body == b"first" and conn.must_close


def test_a_header_value_with_cr_or_lf_is_never_written() -> None:
    conn, _ = connect()
    conn.receive(get("/"))
    (request,) = events(conn)
    for value in ("a\r\nSet-Cookie: evil=1", "a\nX: y", "a\rb"):
        with pytest.raises(HeaderInjectionError):
            conn.respond(request, 200, [("X-Token", value)], b"")
        with pytest.raises(HeaderInjectionError):
            conn.respond(request, 200, [(f"X{value}", "v")], b"")
    assert conn.data_to_send() == b"", "nothing was recorded"
    answer(conn, request)
    assert parse(conn.data_to_send())[0][0] == 200


# -- Expect: 100-continue ---------------------------------------------------------------


def test_100_continue_is_sent_when_the_request_reaches_the_head() -> None:
    conn, _ = connect()
    conn.receive(get("/first") + b"POST /p HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
    (first,) = events(conn)
    assert conn.data_to_send() == b"", "no 100 before the answer owed"
    answer(conn, first)
    written = conn.data_to_send()
    assert [status for status, _, _ in parse(written)] == [200, 100]
    conn.receive(b"{}")
    (posted,) = events(conn)
    assert isinstance(posted, Request) and posted.body == b"{}"


def test_100_continue_over_the_limit_is_a_413_at_once() -> None:
    conn, _ = connect(limit_for=lambda request: 10)
    conn.receive(b"POST /p HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n")
    (refusal,) = events(conn)
    assert isinstance(refusal, Refusal) and refusal.status == 413
    conn.respond(refusal, 413, [], b"")
    assert conn.data_to_send().startswith(b"HTTP/1.1 413") and conn.must_close


# -- limits ------------------------------------------------------------------------------


def refused(conn: Connection) -> Refusal:
    (refusal,) = events(conn)
    assert isinstance(refusal, Refusal)
    return refusal


def test_a_long_request_target_is_a_414() -> None:
    conn, _ = connect()
    conn.receive(get("/" + "x" * protocol.MAX_URL_BYTES))
    assert refused(conn).status == 414
    conn, _ = connect()  # never ending: refused as soon as it is too long
    conn.receive(b"GET /" + b"x" * (protocol.MAX_URL_BYTES + 100))
    assert refused(conn).status == 414


def test_a_header_that_never_ends_is_a_431_as_soon_as_it_passes_the_limit() -> None:
    conn, _ = connect()
    conn.receive(b"GET / HTTP/1.1\r\nX-Long: ")
    header = len(b"X-Long: ")
    while header + 1024 <= protocol.MAX_HEADER_BYTES:
        conn.receive(b"a" * 1024)
        header += 1024
        assert events(conn) == [], f"refused at {header} bytes, within the limit"
    conn.receive(b"a" * 1024)  # past it
    assert refused(conn).status == 431
    assert not conn.wants_data, "nothing more is read"


def test_a_head_arriving_byte_by_byte_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fed: list[int] = []
    real = protocol.httptools.HttpRequestParser

    class Counting:
        def __init__(self, callbacks: Any) -> None:
            self.parser = real(callbacks)

        def feed_data(self, data: Any) -> None:
            fed.append(len(data))
            self.parser.feed_data(data)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.parser, name)

    monkeypatch.setattr(protocol.httptools, "HttpRequestParser", Counting)
    conn, _ = connect()
    data = b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 60_000 + b"\r\n\r\n"
    for byte in range(len(data)):
        conn.receive(data[byte : byte + 1])
        found = events(conn)
    assert [e.headers["x-long"] for e in found] == ["a" * 60_000]  # type: ignore[union-attr]
    assert fed == [len(data)], "httptools got the head whole, once (it concatenates pieces of a value)"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ("".join(f"X-H{i}: v\r\n" for i in range(protocol.MAX_HEADERS + 1)), 431),
        ("Content-Length: 2\r\nContent-Length: 3\r\n", 400),
        ("Content-Length: 2\r\nTransfer-Encoding: chunked\r\n", 400),
    ],
    ids=["too many", "conflicting lengths", "length and chunked"],
)
def test_bad_heads_are_refused(headers: str, status: int) -> None:
    conn, _ = connect()
    conn.receive(f"POST / HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
    refusal = refused(conn)
    assert refusal.status == status
    conn.respond(refusal, status, [], b"")
    assert "connection: close" in conn.data_to_send().decode().lower() and conn.must_close


def test_bytes_that_are_not_http_are_a_400() -> None:
    conn, _ = connect()
    conn.receive(b"NOT HTTP AT ALL\r\n\r\n")
    assert refused(conn).status == 400


#: Request smuggling shapes: each is refused, or framed one way only; ``/smuggled`` never comes out.
SMUGGLING = {
    "CL.TE": b"POST / HTTP/1.1\r\nContent-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled",
    "TE.CL": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
    "TE xchunked": b"POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\nGET /smuggled",
    "TE space before colon": b"POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\nGET /smuggled",
    "TE chunked, identity": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\nGET /smuggled",
    "two TE": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n"
    b"0\r\n\r\nGET /smuggled",
    "CL +5": b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhelloGET /smuggled",
    "CL 0x5": b"POST / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\nhelloGET /smuggled",
    "CL 5, 5": b"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\nhelloGET /smuggled",
    "CL 1 0": b"POST / HTTP/1.1\r\nContent-Length: 1 0\r\n\r\nhelloGET /smuggled",
    "obs-fold": b"POST / HTTP/1.1\r\nX: a\r\n Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
    b"helloGET /smuggled",
    "bare LF": b"GET / HTTP/1.1\nHost: x\n\nGET /smuggled HTTP/1.1\n\n",
    "bare CR": b"GET / HTTP/1.1\r\nHost: x\rGET /smuggled HTTP/1.1\r\n\r\n",
    "NUL in a header": b"GET / HTTP/1.1\r\nHost: x\x00GET /smuggled HTTP/1.1\r\n\r\n",
    "chunk size overflow": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF1\r\nx\r\n0\r\n\r\n",
    "LF in a chunk extension": b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\nb\r\nx\r\n0\r\n\r\n",
    "HTTP/1.0 chunked": b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n",
    "a body that looks like a request": b"POST / HTTP/1.1\r\nContent-Length: 28\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n",
}


@pytest.mark.parametrize("data", SMUGGLING.values(), ids=SMUGGLING.keys())
def test_smuggling_shapes_are_refused_or_framed_one_way(data: bytes) -> None:
    conn, _ = connect()
    conn.receive(data + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    found = []
    while (event := conn.next_event()) is not None:
        found.append(event)
        answer(conn, event)
        conn.data_to_send()
    paths = [e.path for e in found if isinstance(e, Request)]
    refusals = [e.status for e in found if isinstance(e, Refusal)]
    assert "/smuggled" not in paths and refusals in ([], [400]), (paths, refusals)
    assert paths or refusals == [400]


def test_a_body_over_the_limit_is_drained_not_kept() -> None:
    conn, _ = connect(limit_for=lambda request: 10)
    conn.receive(post("/p", b"x" * 100) + get("/next"))
    big, following = events(conn)
    assert isinstance(big, Request) and big.oversized and big.body == b""
    assert isinstance(following, Request) and following.path == "/next", "the connection stays usable"


def test_a_body_past_the_drain_limit_is_refused_at_once() -> None:
    conn, _ = connect(limit_for=lambda request: 10)
    conn.receive(f"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: {protocol.DRAIN_LIMIT + 1}\r\n\r\n".encode())
    assert refused(conn).status == 413


# -- refused before the body is read ---------------------------------------------------------


def test_a_screened_request_is_refused_before_its_body_is_kept() -> None:
    seen: list[str] = []

    def screen(request: Request) -> object:
        seen.append(request.path)
        return "no token" if request.path.startswith("/__mock") else None

    conn, _ = connect(screen=screen)
    conn.receive(post("/__mock/faults", b"x" * 5000) + get("/__mock/state"))
    refusal, following = events(conn)
    assert isinstance(refusal, Refusal) and refusal.reason == "no token" and not refusal._close
    assert refusal.request is not None and refusal.request.body == b"", "the body was never kept"
    assert isinstance(following, Request), "the connection stays usable (the body was drained)"
    assert seen == ["/__mock/faults"], "only requests with a body are screened"
    # A body too large to drain, or one the client waits to send: refused at once.
    for head in (
        f"POST /__mock/faults HTTP/1.1\r\nContent-Length: {protocol.DRAIN_LIMIT + 1}\r\n\r\n",
        "POST /__mock/faults HTTP/1.1\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n",
    ):
        conn, _ = connect(screen=screen)
        conn.receive(head.encode())
        refusal = refused(conn)
        assert refusal.reason == "no token" and refusal._close
        assert b"100 Continue" not in conn.data_to_send()


# -- Upgrade ---------------------------------------------------------------------------


def test_an_upgrade_request_is_served_as_http_11_with_its_body_then_closed() -> None:
    conn, _ = connect()
    conn.receive(post("/p", b"hello", "Connection: Upgrade\r\nUpgrade: h2c\r\n") + b"PRI * HTTP/2.0\r\n\r\n")
    (request,) = events(conn)
    assert isinstance(request, Request) and request.body == b"hello" and not request.keep_alive
    answer(conn, request)
    ((_, headers, _),) = parse(conn.data_to_send())
    assert headers["connection"] == "close" and conn.must_close


def test_an_upgrade_request_with_a_chunked_body_in_pieces() -> None:
    conn, _ = connect()
    conn.receive(
        b"POST /p HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab"
    )
    assert events(conn) == []
    conn.receive(b"c\r\n0\r\n\r\n")
    (request,) = events(conn)
    assert isinstance(request, Request) and request.body == b"abc"


def test_a_reused_connection_with_an_upgrade_request_is_answered_and_closed() -> None:
    conn, _ = connect()
    conn.receive(get("/1") + get("/2", "Connection: Upgrade\r\nUpgrade: websocket\r\n"))
    first, second = events(conn)
    answer(conn, first)
    answer(conn, second)
    assert [h.get("connection") for _, h, _ in parse(conn.data_to_send())] == [None, "close"]
    assert conn.must_close


# -- back-pressure -------------------------------------------------------------------------


def test_no_answer_is_made_while_writing_is_paused() -> None:
    conn, _ = connect()
    conn.receive(get("/1") + get("/2"))
    conn.writing_paused = True
    assert conn.next_event() is None and not conn.wants_data
    conn.writing_paused = False
    assert len(events(conn)) == 2 and conn.wants_data


def test_at_most_max_pending_answers_are_owed() -> None:
    conn, _ = connect()
    conn.receive(get("/") * (protocol.MAX_PENDING + 10))
    first = events(conn)
    assert len(first) == protocol.MAX_PENDING
    for event in first:
        answer(conn, event)
    conn.data_to_send()
    assert len(events(conn)) == 10


def test_reading_stops_once_the_unparsed_bytes_pass_the_read_ahead() -> None:
    conn, _ = connect()
    conn.writing_paused = True
    while conn.wants_data:
        conn.receive(get("/"))
    assert len(conn._inbox) < protocol.READ_AHEAD + 100


# -- deadlines ------------------------------------------------------------------------------


def test_a_head_that_takes_too_long_is_a_408() -> None:
    conn, clock = connect()
    conn.receive(b"GET / HTTP/1.1\r\nX-Slow: ")
    assert events(conn) == []
    for _ in range(int(protocol.HEADER_TIMEOUT)):
        clock.now += 1
        conn.receive(b"a")  # a byte now and then does not extend the deadline
        assert events(conn) == []
        assert conn.check(0) is Action.NONE
    clock.now += 1
    assert conn.check(0) is Action.EVENT
    assert refused(conn).status == 408


def test_a_body_trickled_slowly_is_a_408() -> None:
    conn, clock = connect()
    conn.receive(b"POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n")
    assert events(conn) == []
    while clock.now < 1000 + protocol.BODY_TIMEOUT:
        clock.now += 5
        conn.receive(b"a")
        events(conn)
        assert conn.check(0) is Action.NONE
    clock.now += 5
    assert conn.check(0) is Action.EVENT and refused(conn).status == 408


def test_a_steady_body_is_given_the_time_it_needs() -> None:
    size = 10 * protocol.MIN_BODY_RATE * int(protocol.BODY_TIMEOUT)
    conn, clock = connect(limit_for=lambda request: size)
    conn.receive(f"POST / HTTP/1.1\r\nContent-Length: {size}\r\n\r\n".encode())
    sent = 0
    while sent < size:
        clock.now += 1
        conn.receive(b"a" * (2 * protocol.MIN_BODY_RATE))
        sent += 2 * protocol.MIN_BODY_RATE
        found = events(conn)
        assert conn.check(0) is Action.NONE
    assert len(found) == 1 and len(found[0].body) == size  # type: ignore[union-attr]


def test_idle_connections_are_closed() -> None:
    conn, clock = connect()
    clock.now += protocol.HEADER_TIMEOUT + 1
    assert conn.check(0) is Action.CLOSE, "a connection that never sends a request"
    conn, clock = connect()
    conn.receive(get("/"))
    (request,) = events(conn)
    answer(conn, request)
    conn.data_to_send()
    clock.now += protocol.IDLE_TIMEOUT - 1
    assert conn.check(0) is Action.NONE
    clock.now += 2
    assert conn.check(0) is Action.CLOSE and conn.must_close


def test_a_client_that_stops_reading_is_aborted_by_what_it_took_not_what_was_written() -> None:
    conn, clock = connect()
    conn.receive(get("/"))
    (request,) = events(conn)
    answer(conn, request, b"x" * 1000)
    written = len(conn.data_to_send())
    assert conn.check(written) is Action.NONE
    for _ in range(int(protocol.WRITE_TIMEOUT) * 2):  # the client takes a byte a second
        clock.now += 1
        written -= 1
        assert conn.check(written) is Action.NONE
    # More answers written do not count: only bytes the client took.
    for _ in range(int(protocol.WRITE_TIMEOUT)):
        clock.now += 1
        conn.receive(get("/"))
        for event in events(conn):
            answer(conn, event, b"x" * 1000)
        written += len(conn.data_to_send())
        assert conn.check(written) is Action.NONE
    clock.now += 2
    assert conn.check(written) is Action.ABORT


# -- the connection cap ---------------------------------------------------------------------


def test_eviction_prefers_slow_senders_then_idle_connections_then_new_ones() -> None:
    clock = Clock()
    served = Connection(clock=clock)
    served.receive(get("/"))
    (request,) = events(served)
    busy = Connection(clock=clock)
    busy.receive(get("/"))
    assert len(events(busy)) == 1
    slow = Connection(clock=clock)
    slow.receive(b"GET / HTTP/1.1\r\n")
    events(slow)
    silent = Connection(clock=clock)
    answer(served, request)
    served.data_to_send()
    clock.now += protocol.SLOW_GRACE + 1
    fresh = Connection(clock=clock)
    fresh.receive(b"GET / HTTP/1.1\r\n")
    events(fresh)
    assert busy.eviction_rank() is None, "a request being answered never gives way"
    ranks = {
        name: c.eviction_rank()
        for name, c in [("slow", slow), ("silent", silent), ("served", served), ("fresh", fresh)]
    }
    assert sorted(ranks, key=ranks.__getitem__) == ["slow", "silent", "served", "fresh"], ranks
    assert served.evict("full") is Action.CLOSE and served.must_close
    assert slow.evict("full") is Action.EVENT
    refusal = refused(slow)
    assert (refusal.status, refusal.message) == (503, "full")
