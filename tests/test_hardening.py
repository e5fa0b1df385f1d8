"""Issue 10: no request breaks state, memory stays bounded, the admin API is protected,
sessions are isolated all the way, ids reveal no tenant, state survives a restart.

In-process through ``api`` (Flask test client and MockServer over a socket); ``serve`` as
users run it in the last sections.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from auralytik_mock import MockServer, create_app
from auralytik_mock.cli import banner
from auralytik_mock.core.errors import FixtureError
from auralytik_mock.core.journal import JOURNAL_BODY_BYTES, AccessLog, escape_control
from auralytik_mock.harness.sandbox import Engine
from auralytik_mock.http.wsgi import engine_of
from tests.conftest import CLOCK, FIXTURES, KEY, OTHER, Api, make_config, yaml_text
from tests.hmac_support import NOW, by_hand
from tests.processes import serving

NEW = {"name": "n", "type": "quality_review"}
TOKEN = "s3cret-admin-token"


# -- 1. no request breaks state ----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/v1/engagements"), ("PATCH", "/v1/engagements/eng_456")], ids=["POST", "PATCH"]
)
def test_a_lone_surrogate_is_refused_naming_the_field_and_nothing_changes(api: Api, method: str, path: str) -> None:
    before = api.get("/__mock/state", key=None).json
    body = '{"name": "n", "type": "t", "description": "\\udfff"}'
    r = api.request(method, path, data=body, headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.json["error"]["code"] == "INVALID_JSON"
    assert r.json["error"]["details"][0]["field"] == "body.description"
    assert "surrogate" in r.json["error"]["message"]
    assert api.get("/__mock/state", key=None).json == before
    assert api.get("/v1/engagements/eng_456").status == 200
    assert api.get("/v1/engagements").json["totalCount"] == 5


def test_valid_astral_characters_are_stored_and_served(api: Api) -> None:
    r = api.request(
        "PATCH",
        "/v1/engagements/eng_456",
        data='{"description": "\\ud83d\\ude00 ok"}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status == 200 and r.json["description"] == "\U0001f600 ok"
    assert api.get("/v1/engagements/eng_456").json["description"] == "\U0001f600 ok"


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "n", "type": "t", "description": ' + b"1" * 5000 + b"}",
        b'{"name": "n", "type": "t", "description": 99999999999999999999}',
        b'{"name": "n", "type": "t", "description": 1e400}',
        b'{"name": "n", "type": "t", "description": ' + b"[" * 988 + b"]" * 988 + b"}",
    ],
    ids=["5000 digits", "beyond 64 bits", "float overflow", "988 deep"],
)
def test_numbers_and_nesting_beyond_the_limits_answer_400(api: Api, body: bytes) -> None:
    r = api.request("POST", "/v1/engagements", data=body, headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.json["error"]["code"] == "INVALID_JSON", r.json
    assert api.get("/v1/engagements").json["totalCount"] == 5


def test_the_journal_and_the_state_read_back_whatever_was_sent(api: Api) -> None:
    hostile = [
        (b'"\\ud800"', "application/json", None),  # unauthenticated, a lone surrogate
        (b"[" * 988 + b"]" * 988, "application/json", KEY),
        (b'{"a": ' + b"9" * 5000 + b"}", "application/json", KEY),
        (b"[1e400]", "application/json", KEY),
        (b"\x1b[31m\r\nforged\xff", "text/plain", KEY),
    ]
    for body, content_type, key in hostile:
        api.request("POST", "/v1/engagements", data=body, key=key, headers={"Content-Type": content_type})
    journal = api.get("/__mock/requests", key=None)
    assert journal.status == 200 and journal.json["count"] == len(hostile)
    bodies = [entry["body"] for entry in journal.json["requests"]]
    assert bodies[0] == '"\\ud800"', "refused JSON is kept as the text that was sent"
    assert bodies[4] == "\x1b[31m\r\nforged\ufffd"
    assert api.get("/__mock/state", key=None).status == 200


FORGERY = b'1},{"id":"req_forged","method":"DELETE","path":"/v1/engagements/eng_456","status":204,"body":null'


@pytest.mark.parametrize("path", ["/v1/engagements", "/v1/engagements/eng_456", "/health", "/v1/nowhere"])
def test_a_body_sent_where_none_is_taken_cannot_forge_journal_entries(api: Api, path: str) -> None:
    """Issue 17.9: a GET's body was marked as JSON and spliced raw into the journal."""
    api.request("GET", path, data=FORGERY, headers={"Content-Type": "application/json"})
    journal = api.get("/__mock/requests", key=None)
    assert journal.json is not None, f"the journal is not JSON: {journal.text[:300]}"
    assert journal.json["count"] == 1 and len(journal.json["requests"]) == 1
    (entry,) = journal.json["requests"]
    assert entry["method"] == "GET" and entry["path"] == path
    # (an unrouted GET's body is not read by the Flask fallback: no body at all is fine too)
    assert entry["body"] in (FORGERY.decode(), None), "the body reads back as the text that was sent"
    if path != "/v1/nowhere":
        assert entry["body"] == FORGERY.decode()


def test_the_mock_server_journal_reads_a_forged_body_as_text() -> None:
    with MockServer(config=make_config(port=0)) as mock:
        request = urllib.request.Request(
            f"{mock.url}/engagements", data=FORGERY, method="GET", headers={"Authorization": f"Bearer {KEY}"}
        )
        with urllib.request.urlopen(request, timeout=5) as r:
            assert r.status == 200
        (entry,) = mock.requests  # raised JSONDecodeError before
        assert entry["method"] == "GET" and entry["body"] == FORGERY.decode()


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND")
_PATHS = (
    "/v1/engagements",
    "/v1/engagements/eng_456",
    "/v1/evaluations/eval_66502/transcript",
    "/api/v1/engagements",
    "/health",
    "/v1/nowhere",
)
_TYPES = (None, "application/json", "application/merge-patch+json", "text/plain", "application/yaml")


@pytest.fixture(scope="module")
def journal_engine() -> Engine:
    from auralytik_mock.harness import admin

    engine = Engine(make_config(journal_size=50, validate_responses=False))
    engine.admin = admin.handle
    return engine


def test_the_journal_is_valid_json_whatever_bytes_any_method_sends(journal_engine: Engine) -> None:
    """Issue 17.9, as a property: arbitrary bytes as bodies, every method, paths with and
    without a request body; the journal answer always parses and shows what was sent."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from auralytik_mock.core.errors import ApiError
    from auralytik_mock.core.jsontext import decode_json
    from auralytik_mock.core.types import MockRequest

    engine = journal_engine
    body_text = st.one_of(
        st.binary(max_size=300),
        st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.sampled_from([FORGERY, b'{"name":"n","type":"t"}', b"null", b"[]", b'"\\ud800"', b"1e400", b" {} "]),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
            max_leaves=10,
        ).map(lambda v: json.dumps(v).encode()),
    )

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(
        method=st.sampled_from(_METHODS),
        path=st.sampled_from(_PATHS),
        content_type=st.sampled_from(_TYPES),
        body=body_text,
        key=st.sampled_from([KEY, None, "bogus"]),
        query=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=2),
    )
    def check(method: str, path: str, content_type: str | None, body: bytes, key: str | None, query) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        if content_type:
            headers["Content-Type"] = content_type
        engine.journal.clear()
        engine.handle(MockRequest(method, path, {k: [v] for k, v in query.items()}, headers, body))
        answer = engine.handle(MockRequest("GET", "/__mock/requests"))
        assert answer.status == 200 and answer.raw is not None
        shown = json.loads(answer.raw)  # never JSONDecodeError, never a forged entry
        assert shown["count"] == 1 and len(shown["requests"]) == 1
        (entry,) = shown["requests"]
        assert (entry["method"], entry["path"]) == (method, path)
        assert entry["query"] == {k: [v] for k, v in query.items()}
        (snapshot,) = engine.journal.snapshot()  # what MockServer.requests returns
        assert snapshot["body"] == entry["body"]
        if not body:
            assert entry["body"] is None
            return
        try:
            expected = decode_json(body)  # what the mock accepts as JSON reads back as that JSON
        except ApiError:
            expected = body.decode("utf-8", "replace")  # anything else as the text that was sent
        assert entry["body"] == expected

    check()


def test_a_record_that_cannot_be_served_is_never_stored() -> None:
    engine = Engine(make_config())
    principal = engine.store.lookup_key(KEY)
    assert principal is not None
    loaded = engine.store.count()
    from auralytik_mock.core.errors import InvalidRequestError

    with pytest.raises(InvalidRequestError):
        engine.store.update(principal, "engagements", "eng_456", {"description": "\udfff"})
    with pytest.raises(InvalidRequestError):
        engine.store.create(principal, "engagements", "eng_", {"name": "\ud800", "type": "t"})
    assert engine.store.get(principal, "engagements", "eng_456")["description"] != "\udfff"
    assert engine.store.count() == loaded  # the fixtures' records, unchanged
    # the failed create used no id
    assert engine.store.create(principal, "engagements", "eng_", {"name": "n", "type": "t"})["id"] == "eng_1000"


# -- 2. memory bounded -------------------------------------------------------------------


def test_the_journal_keeps_bodies_as_bounded_text() -> None:
    client = create_app(make_config()).test_client()
    bomb = b"[" + b"{}," * 200_000 + b"{}]"
    client.post("/v1/engagements", data=bomb, headers={"Content-Type": "text/plain"})
    client.post("/v1/engagements", json=NEW, headers={"Authorization": f"Bearer {KEY}"})
    engine = engine_of(client.application)
    kept = list(engine.journal.entries)
    assert all(isinstance(e["_body"], bytes) and len(e["_body"]) <= JOURNAL_BODY_BYTES for e in kept)
    shown = client.get("/__mock/requests").get_json()["requests"]
    assert shown[0]["bodyTruncated"] is True and isinstance(shown[0]["body"], str)
    assert len(shown[0]["body"]) == JOURNAL_BODY_BYTES
    assert shown[1]["bodyTruncated"] is False and shown[1]["body"] == NEW


def test_each_admin_route_has_a_body_limit_suited_to_it() -> None:
    from auralytik_mock.harness.admin import SMALL_BODY_BYTES, body_limit

    big = 128 * 1024 * 1024
    assert body_limit(big, "PUT", "/__mock/state") == big, "state loads can be large"
    for method, path in [
        ("POST", "/__mock/faults"),
        ("PUT", "/__mock/clock"),
        ("POST", "/__mock/sessions"),
        ("POST", "/__mock/reset"),
        ("GET", "/__mock/state"),
        ("POST", "/__mock/nowhere"),
    ]:
        assert body_limit(big, method, path) == SMALL_BODY_BYTES == 64 * 1024, (method, path)
    assert body_limit(1000, "POST", "/__mock/faults") == 1000, "never above the configured limit"


def _peak_bytes(call) -> tuple[object, int]:
    import tracemalloc

    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_huge_fault_rule_body_is_refused_with_413_before_it_is_parsed() -> None:
    """Issue 17.7: a 64 MiB ``[{},...]`` to /__mock/faults took 4.6 GB and 45 s."""
    from auralytik_mock.core.types import MockRequest
    from auralytik_mock.harness import admin

    engine = Engine(make_config())
    engine.admin = admin.handle
    bomb = b"[" + b"{}," * (3 * 1024 * 1024) + b"{}]"  # 9 MiB: 250 MB once parsed
    request = MockRequest("POST", "/__mock/faults", headers={"content-type": "application/json"}, body=bomb)
    response, peak = _peak_bytes(lambda: engine.handle(request))
    assert response.status == 413 and response.body["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert "65536 bytes at most" in response.body["error"]["message"]
    assert peak < 1024 * 1024, f"{peak} bytes allocated to refuse it: it was parsed"
    assert engine.faults.as_json() == []


def test_a_state_body_denser_than_any_state_is_refused_before_it_is_parsed() -> None:
    from auralytik_mock.core.types import MockRequest
    from auralytik_mock.harness import admin

    engine = Engine(make_config())
    engine.admin = admin.handle
    before = engine.store.dump()
    bomb = b'{"clients":[' + b"{}," * (3 * 1024 * 1024) + b"{}]}"
    request = MockRequest("PUT", "/__mock/state", headers={"content-type": "application/json"}, body=bomb)
    response, peak = _peak_bytes(lambda: engine.handle(request))
    assert response.status == 413 and "objects and arrays" in response.body["error"]["message"]
    assert peak < 1024 * 1024
    assert engine.store.dump() == before, "state unchanged"
    # a real state, as large, loads (the bundled state dumped is one object or array per ~135 bytes)
    real = json.dumps(before).encode()
    assert len(real) > 1024 * 1024
    loaded = engine.handle(MockRequest("PUT", "/__mock/state", headers={"content-type": "application/json"}, body=real))
    assert loaded.status == 200, loaded.body


def test_a_yaml_state_whose_aliases_stand_for_too_much_is_refused_without_expanding_them() -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, 6)]
    laughs = "\n".join([*lines, "clients: *a5"]).encode()  # 400 bytes standing for a million strings
    client = create_app(make_config()).test_client()
    r = client.put("/__mock/state", data=laughs, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 400 and "aliases (*name) stand for more than" in r.get_json()["error"]["message"]
    recursive = b"clients: &a [*a]\n"
    r = client.put("/__mock/state", data=recursive, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 400 and "refer to themselves" in str(r.get_json())
    big = b"# a comment\n" * (800 * 1024)  # over 8 MiB of YAML
    r = client.put("/__mock/state", data=big, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 413 and "send the same document as JSON" in r.get_json()["error"]["message"]
    # plain YAML still loads, and so do the aliases PyYAML's safe dumper writes for shared objects
    state = client.get("/__mock/state").get_json()
    state["clients"] = state["clients"][1:]
    evaluations = state["clients"][0]["evaluations"]
    evaluations[1]["results"] = evaluations[0]["results"]
    dumped = yaml_text(state)
    assert "*id001" in dumped
    r = client.put("/__mock/state", data=dumped, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 200, r.get_json()


@pytest.mark.parametrize("server", ["mockserver", "asyncio", "werkzeug"])
def test_every_server_refuses_a_large_admin_body_with_413_and_keeps_serving(server: str) -> None:
    import http.client
    import socket

    def check(base: str) -> None:
        host, port = base.removeprefix("http://").rsplit(":", 1)
        body = b"[" + b"{}," * (400 * 1024) + b"{}]"  # 1.2 MB: far over a fault rule's 64 KiB
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request("POST", "/__mock/faults", body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            answer = json.loads(response.read())
        finally:
            connection.close()
        assert response.status == 413 and answer["error"]["code"] == "PAYLOAD_TOO_LARGE", answer
        faults = json.loads(urllib.request.urlopen(base + "/__mock/faults", timeout=5).read())
        assert faults["faults"] == []
        if server == "asyncio":  # refused from the head alone: the body is never waited for
            with socket.create_connection((host, int(port)), timeout=10) as raw:
                raw.sendall(
                    b"POST /__mock/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n"
                )
                assert raw.recv(4096).startswith(b"HTTP/1.1 413 ")

    if server == "mockserver":
        with MockServer(config=make_config(port=0)) as mock:
            check(mock.root_url)
    else:
        with serving("--server", server, "--quiet") as (base, _):
            check(base)


def test_fault_rules_are_capped_with_a_clear_4xx() -> None:
    client = create_app(make_config(max_fault_rules=3)).test_client()
    rule = {"path": "/v1/engagements", "status": 500}
    assert [client.post("/__mock/faults", json=rule).status_code for _ in range(3)] == [201] * 3
    r = client.post("/__mock/faults", json=rule)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "TOO_MANY_FAULT_RULES"
    assert len(client.get("/__mock/faults").get_json()["faults"]) == 3


def test_access_log_escapes_control_characters() -> None:
    assert escape_control("GET /a\r\n12:00:00 GET /forged 200\x1b[2J\x85") == (
        "GET /a\\x0d\\x0a12:00:00 GET /forged 200\\x1b[2J\\x85"
    )


def test_access_log_drops_and_counts_lines_when_stderr_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    written = io.StringIO()

    class SlowStderr:
        def write(self, text: str) -> int:
            release.wait(10)  # a pipe nobody reads
            return written.write(text)

        def flush(self) -> None:
            pass

    monkeypatch.setattr(sys, "stderr", SlowStderr())
    log = AccessLog(interval=0.01, max_pending=50)
    log.add("GET", "/first", 200, 1.0, "req_1")
    time.sleep(0.1)  # let the writer take the first line and block on it
    for n in range(1000):
        log.add("GET", f"/v1/engagements/{n}", 200, 1.0, f"req_{n}")
    assert len(log._pending) <= 50
    assert log.dropped >= 900
    release.set()
    deadline = time.monotonic() + 5
    while "dropped" not in written.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    log.close()
    assert f"{log.dropped} access log line(s) dropped" in written.getvalue()


# -- 3. the admin API is protected -------------------------------------------------------


def test_admin_token_is_required_on_every_admin_route_but_health() -> None:
    client = create_app(make_config(admin_token=TOKEN)).test_client()
    assert client.get("/__mock/health").status_code == 200
    for method, path in [("GET", "/__mock/state"), ("POST", "/__mock/reset"), ("GET", "/__mock/requests")]:
        r = client.open(path, method=method)
        assert r.status_code == 401 and r.get_json()["error"]["code"] == "ADMIN_TOKEN_REQUIRED"
    r = client.get("/__mock/state", headers={"X-Mock-Admin-Token": "wrong"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "ADMIN_TOKEN_INVALID"
    assert client.get("/__mock/state", headers={"X-Mock-Admin-Token": TOKEN}).status_code == 200
    assert client.get("/v1/engagements", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200


def test_the_docs_page_opens_in_a_browser_with_a_token_link_that_sets_a_strict_cookie() -> None:
    client = create_app(make_config(admin_token=TOKEN)).test_client()
    assert client.get("/__mock/docs").status_code == 401
    assert client.get("/__mock/docs?token=wrong").status_code == 401
    assert client.get(f"/__mock/state?token={TOKEN}").status_code == 401, "only the docs link takes ?token="
    r = client.get(f"/__mock/docs?token={TOKEN}")
    assert r.status_code == 303 and r.headers["Location"] == "/__mock/docs"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/__mock" in cookie
    # The browser sends it back: the page, its assets and the spec answer...
    assert client.get("/__mock/docs").status_code == 200
    assert client.get("/__mock/openapi.json").status_code == 200
    # ...but a page of another origin still gets nothing, cookie or not.
    foreign = client.get("/__mock/state", headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403 and foreign.json["error"]["code"] == "ORIGIN_NOT_ALLOWED"
    client.delete_cookie("auralytik_mock_admin", path="/__mock")
    assert client.get("/__mock/state").status_code == 401


INJECTION = "/__mock/docs?token=%0d%0aSet-Cookie:%20injected=1;%20Path=/"


def _raw_get(base: str, target: str) -> tuple[int, list[tuple[str, str]], bytes]:
    import http.client

    host, port = base.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("token", [None, TOKEN])
def test_the_docs_token_link_refuses_what_is_not_a_token(token: str | None) -> None:
    """Issue 17.6: ``?token=%0d%0aSet-Cookie:...`` was copied into ``Set-Cookie``."""
    client = create_app(make_config(admin_token=token)).test_client()
    for target in (INJECTION, "/__mock/docs?token=a%3Bb", "/__mock/docs?token=a%20b", "/__mock/docs?token="):
        r = client.get(target)
        assert r.status_code in {400, 401}, target
        assert "Set-Cookie" not in r.headers, target
        assert r.get_json()["error"]["code"] in {"VALIDATION_ERROR", "ADMIN_TOKEN_INVALID"}
    if token is None:
        refused = client.get(INJECTION).get_json()["error"]
        assert refused["code"] == "VALIDATION_ERROR" and "admin token" in refused["message"]
        # without an admin token a well-formed link sets no cookie at all: there is nothing to store
        r = client.get("/__mock/docs?token=anything")
        assert r.status_code == 303 and "Set-Cookie" not in r.headers
    else:
        r = client.get(f"/__mock/docs?token={TOKEN}")
        assert r.status_code == 303 and r.headers["Set-Cookie"].startswith(f"auralytik_mock_admin={TOKEN};")


@pytest.mark.parametrize("server", ["mockserver", "asyncio", "werkzeug"])
def test_no_server_writes_a_header_from_the_docs_token(server: str) -> None:
    def check(base: str) -> None:
        status, headers, body = _raw_get(base, INJECTION)
        assert status == 400, (status, headers, body)
        assert not [v for n, v in headers if n.lower() == "set-cookie"], headers
        assert json.loads(body)["error"]["code"] == "VALIDATION_ERROR"
        assert _raw_get(base, "/__mock/health")[0] == 200, "the server keeps serving"

    if server == "mockserver":
        with MockServer(config=make_config(port=0)) as mock:
            check(mock.root_url)
    else:
        with serving("--server", server, "--quiet") as (base, _):
            check(base)


@pytest.mark.parametrize("token", ["with space", "semi;colon", "line\r\nbreak", 'quo"te', "x" * 1025, "caf\u00e9"])
def test_an_admin_token_a_header_or_cookie_cannot_carry_is_refused_at_start(token: str) -> None:
    with pytest.raises(ValueError, match="admin token must be 1 to 1024 visible ASCII") as refused:
        make_config(admin_token=token)
    assert token not in str(refused.value), "the secret is not echoed"


def test_serve_refuses_a_bad_admin_token_in_one_line() -> None:
    import subprocess

    command = [sys.executable, "-m", "auralytik_mock", "serve", "--port", "0", "--admin-token", "two words"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("serve started with a token it cannot carry in a cookie")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "admin token must be" in done.stderr and "two words" not in done.stderr


def test_mock_server_passes_the_admin_token_for_the_user() -> None:
    with MockServer(config=make_config(admin_token=TOKEN, port=0)) as mock:
        url = f"{mock.root_url}/__mock/state"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=5)
        assert refused.value.code == 401
        refused.value.close()
        with urllib.request.urlopen(urllib.request.Request(url, headers=mock.admin_headers()), timeout=5) as r:
            assert r.status == 200
        mock.reset()  # the Python helpers need no header
        assert mock.state()["clients"]


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://localhost:3000"])
def test_a_foreign_origin_can_neither_read_nor_act_on_the_admin_api(api: Api, origin: str) -> None:
    created = api.post("/v1/engagements", json=NEW).json["id"]
    for method, path, body in [
        ("GET", "/__mock/state", None),
        ("GET", "/__mock/requests", None),
        ("POST", "/__mock/reset", None),
        ("POST", "/__mock/faults", {"path": "/v1/engagements", "status": 500}),
        ("PUT", "/__mock/clock", {"now": "2030-01-01T00:00:00Z"}),
    ]:
        r = api.request(method, path, key=None, json=body, headers={"Origin": origin})
        assert r.status == 403 and r.json["error"]["code"] == "ORIGIN_NOT_ALLOWED", (path, r.json)
        assert "Access-Control-Allow-Origin" not in r.headers
        assert "Access-Control-Allow-Credentials" not in r.headers
    assert api.get(f"/v1/engagements/{created}").status == 200, "reset did not act"
    assert api.get("/__mock/faults", key=None).json["faults"] == []
    assert api.get("/__mock/clock", key=None).json["now"] == CLOCK


def test_same_origin_and_configured_origins_may_use_the_admin_api() -> None:
    client = create_app(make_config(cors_origins=("https://console.example",))).test_client()
    same = client.get("/__mock/state", headers={"Origin": "http://localhost", "Host": "localhost"})
    assert same.status_code == 200
    configured = client.post("/__mock/reset", headers={"Origin": "https://console.example"})
    assert configured.status_code == 200
    assert configured.headers["Access-Control-Allow-Origin"] == "https://console.example"
    preflight = client.options(
        "/__mock/state",
        headers={
            "Origin": "https://console.example",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type, x-mock-admin-token",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://console.example"
    assert "x-mock-admin-token" in preflight.headers["Access-Control-Allow-Headers"]
    refused = client.options(
        "/__mock/state", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"}
    )
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    # the API keeps its own CORS policy: the default '*' still serves browser apps
    api = create_app(make_config()).test_client()
    r = api.get("/v1/engagements", headers={"Origin": "https://app.example", "Authorization": f"Bearer {KEY}"})
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "https://app.example"


@pytest.mark.parametrize("path", ["/v1/engagements", "/__mock/state", "/health"])
def test_a_rebinding_host_is_refused_on_loopback(path: str) -> None:
    client = create_app(make_config()).test_client()
    auth = {"Authorization": f"Bearer {KEY}"}
    r = client.get(path, headers={**auth, "Host": "attacker.example:4010"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "HOST_NOT_ALLOWED"
    for host in ["localhost:4010", "127.0.0.1:4010", "[::1]:4010", "app.localhost"]:
        assert client.get(path, headers={**auth, "Host": host}).status_code == 200, host
    allowed = create_app(make_config(allowed_hosts=("mock.internal",))).test_client()
    assert allowed.get(path, headers={**auth, "Host": "mock.internal:4010"}).status_code == 200
    public = create_app(make_config(host="0.0.0.0")).test_client()
    # on a public address the API answers any name; /__mock only its own (issue 17.8, below)
    expected = 403 if path.startswith("/__mock") else 200
    assert public.get(path, headers={**auth, "Host": "mock.example.com"}).status_code == expected


@pytest.mark.parametrize("token", [None, TOKEN])
def test_a_rebinding_host_cannot_reach_the_admin_api_on_a_public_address(token: str | None) -> None:
    """Issue 17.8: on 0.0.0.0 without a token (the container's default), a page under a
    rebound name read /__mock/state, every key and secret in it."""
    import socket

    client = create_app(make_config(host="0.0.0.0", admin_token=token)).test_client()
    admin = {"X-Mock-Admin-Token": token} if token else {}
    for method, path in [("GET", "/__mock/state"), ("GET", "/__mock/requests"), ("POST", "/__mock/reset")]:
        r = client.open(path, method=method, headers={**admin, "Host": "rebound.attacker.example:4010"})
        assert r.status_code == 403, (path, r.get_json())
        error = r.get_json()["error"]
        assert error["code"] == "HOST_NOT_ALLOWED" and "--allowed-host rebound.attacker.example" in error["message"]
    machine = socket.gethostname()
    for host in ["localhost:4010", "127.0.0.1:4010", "10.1.2.3:4010", "[2001:db8::1]:4010", "[::1]", machine]:
        assert client.get("/__mock/state", headers={**admin, "Host": host}).status_code == 200, host
    # the API and the readiness probe answer any name on a public address, as before
    api = {"Authorization": f"Bearer {KEY}", "Host": "rebound.attacker.example"}
    assert client.get("/v1/engagements", headers=api).status_code == 200
    assert client.get("/__mock/health", headers={"Host": "mock-service:4010"}).status_code == 200
    named = create_app(make_config(host="0.0.0.0", allowed_hosts=("mock-service",))).test_client()
    assert named.get("/__mock/state", headers={"Host": "mock-service:4010"}).status_code == 200
    assert named.get("/__mock/state", headers={"Host": "other-service:4010"}).status_code == 403
    anything = create_app(make_config(host="0.0.0.0", allowed_hosts=("*",))).test_client()
    assert anything.get("/__mock/state", headers={"Host": "other-service:4010"}).status_code == 200


def test_the_banner_says_which_host_names_the_admin_api_answers() -> None:
    public = banner(Engine(make_config(host="0.0.0.0", allowed_hosts=("mock-service",))), "http://x")
    (line,) = [line for line in public.splitlines() if "DNS-rebinding" in line]
    assert "/__mock answers Host localhost, IP addresses" in line and "mock-service" in line
    assert "--allowed-host" in line
    (line,) = [line for line in banner(Engine(make_config()), "http://x").splitlines() if "DNS-rebinding" in line]
    assert "every path answers Host localhost and loopback addresses only" in line


def test_banner_warns_when_listening_publicly_without_a_token() -> None:
    public = Engine(make_config(host="0.0.0.0"))
    assert "WARNING" in banner(public, "http://127.0.0.1:4010") and "admin-token" in banner(public, "http://x")
    assert "WARNING" not in banner(Engine(make_config(host="0.0.0.0", admin_token=TOKEN)), "http://x")
    assert "WARNING" not in banner(Engine(make_config()), "http://x")


# -- 4. sessions isolated all the way ----------------------------------------------------


def test_fault_rules_journal_clock_and_reset_are_per_session(api: Api) -> None:
    a = api.post("/__mock/sessions", key=None).json
    b = api.post("/__mock/sessions", key=None).json
    key_a, key_b = a["keys"][KEY], b["keys"][KEY]
    rule = {"path": "/v1/engagements", "method": "GET", "status": 503, "times": 1}
    assert api.post(f"/__mock/faults?session={a['id']}", key=None, json=rule).status == 201
    assert api.get("/v1/engagements", key=key_b).status == 200, "B does not use A's rule"
    assert api.get("/v1/engagements").status == 200, "nor does the default dataset"
    assert api.get("/v1/engagements", key=key_a).status == 503, "A's rule is still there for A"
    api.request("PUT", f"/__mock/clock?session={a['id']}", key=None, json={"now": "2030-01-01T00:00:00Z"}, check=False)
    made_b = api.post("/v1/engagements", key=key_b, json=NEW).json
    made_a = api.post("/v1/engagements", key=key_a, json=NEW).json
    assert made_a["createdAt"] == "2030-01-01T00:00:00Z" and made_b["createdAt"] == CLOCK
    journal_a = api.get(f"/__mock/requests?session={a['id']}", key=None).json
    assert journal_a["count"] == 2 and {e["session"] for e in journal_a["requests"]} == {a["id"]}
    # B's reset clears B only
    assert api.post(f"/__mock/reset?session={b['id']}", key=None).status == 200
    assert api.get(f"/__mock/requests?session={a['id']}", key=None).json["count"] == 2
    assert api.get(f"/__mock/requests?session={b['id']}", key=None).json["count"] == 0
    # the default reset leaves the sessions alone, and A's reset restores A's clock
    assert api.post("/__mock/reset", key=None).status == 200
    assert api.get(f"/__mock/requests?session={a['id']}", key=None).json["count"] == 2
    assert api.post(f"/__mock/sessions/{a['id']}/reset", key=None).status == 200
    assert api.get(f"/__mock/clock?session={a['id']}", key=None).json["now"] == CLOCK
    assert api.get(f"/__mock/requests?session={a['id']}", key=None).json["count"] == 0


def test_a_new_sessions_first_requests_go_to_its_own_journal(api: Api) -> None:
    """Issue 17.12: until its state was first made, a session's calls were journaled as the default's."""
    session = api.post("/__mock/sessions", key=None).json
    key = session["keys"][KEY]
    assert api.get("/v1/engagements", key=key).status == 200
    assert api.post("/v1/engagements", key=key, json=NEW).status == 201
    assert api.get("/v1/engagements", key=f"{key}-unknown").status == 401  # an unknown key: the default's
    default = api.get("/__mock/requests", key=None).json
    assert [e["status"] for e in default["requests"]] == [401], "no call of the session leaks into the default"
    own = api.get(f"/__mock/requests?session={session['id']}", key=None).json
    assert [(e["method"], e["status"]) for e in own["requests"]] == [("GET", 200), ("POST", 201)]
    assert {e["session"] for e in own["requests"]} == {session["id"]}


def test_reset_unpins_the_clock() -> None:
    client = create_app(make_config(clock=None)).test_client()
    client.put("/__mock/clock", json={"now": "2030-01-01T00:00:00Z"})
    client.post("/__mock/reset")
    assert client.get("/__mock/clock").get_json()["pinned"] is False


def test_reload_keeps_every_session_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, small_fixtures: Path
) -> None:
    import shutil

    fixtures = tmp_path / "fixtures"
    shutil.copytree(small_fixtures, fixtures)  # each reload of changed fixtures makes their records again
    client = create_app(make_config(fixtures=(fixtures,))).test_client()
    engine = engine_of(client.application)
    session = client.post("/__mock/sessions").get_json()
    key = session["keys"][KEY]
    made = client.post("/v1/engagements", json=NEW, headers={"Authorization": f"Bearer {key}"}).get_json()
    kept = client.post("/v1/engagements", json=NEW, headers={"Authorization": f"Bearer {KEY}"}).get_json()
    client.post(f"/__mock/faults?session={session['id']}", json={"path": "/v1/engagements/{id}", "status": 500})
    with caplog.at_level(logging.INFO, logger="auralytik_mock"):
        assert engine.reload()  # a plain touch: nothing changed
    assert "1 session(s) kept" in caplog.text and "default state kept" in caplog.text
    auth = {"Authorization": f"Bearer {key}"}
    assert client.get(f"/v1/engagements/{made['id']}", headers=auth).status_code == 500, "the rule stays"
    client.delete(f"/__mock/faults?session={session['id']}")
    assert client.get(f"/v1/engagements/{made['id']}", headers=auth).status_code == 200
    assert client.get(f"/v1/engagements/{kept['id']}", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    acme = fixtures / "acme.yaml"
    acme.write_text(acme.read_text().replace("name: Q1 Quality Review", "name: Edited"))
    assert engine.reload()
    assert client.get(f"/v1/engagements/{made['id']}", headers=auth).status_code == 200, "the session's data stays"
    r = client.get(f"/v1/engagements/{kept['id']}", headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 404, "the default dataset starts from the changed fixtures"


# -- 8. ids reveal nothing about other tenants --------------------------------------------


def test_ids_are_counted_per_tenant_and_deterministic(api: Api) -> None:
    other = [api.post("/v1/engagements", key=OTHER, json=NEW).json["id"] for _ in range(2)]
    mine = api.post("/v1/engagements", json=NEW).json["id"]
    assert other == ["eng_1000", "eng_1001"] and mine == "eng_1000"
    assert api.get("/v1/engagements/eng_1000", key=OTHER).json["id"] == "eng_1000"
    assert api.get("/v1/engagements/eng_1001").status == 404, "another tenant's id is not revealed"
    state = api.get("/__mock/state", key=None).json
    assert api.request("PUT", "/__mock/state", key=None, json=state).status == 200, "the dump loads back"


# -- 9. --persist ------------------------------------------------------------------------


def _wait_for_file(path: Path, predicate, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        if path.exists():
            document = json.loads(path.read_text())
            if predicate(document):
                return document
        assert time.monotonic() < deadline, "the state file was not written"
        time.sleep(0.05)


def _names(document: dict) -> list[str]:
    acme = next(c for c in document["default"]["clients"] if c["id"] == "client_acme")
    return [e["name"] for e in acme["engagements"]]


def _persisting(path: Path, fixtures: Path) -> Any:
    """An app that keeps its state in ``path``, on the small fixtures: each save writes the
    whole state, and each start checks it all (4 MB of it with the bundled fixtures)."""
    return create_app(make_config(persist=path, fixtures=(fixtures,))).test_client()


def test_persist_saves_changes_and_loads_them_at_start(tmp_path: Path, small_fixtures: Path) -> None:
    path = tmp_path / "state.json"
    client = _persisting(path, small_fixtures)
    auth = {"Authorization": f"Bearer {KEY}"}
    created = client.post("/v1/engagements", json={**NEW, "name": "kept"}, headers=auth).get_json()
    session = client.post("/__mock/sessions").get_json()
    _wait_for_file(path, lambda d: "kept" in _names(d) and session["id"] in d["sessions"])
    engine_of(client.application).close()
    assert not list(tmp_path.glob(".state.json.*")), "no temporary file is left"

    again = _persisting(path, small_fixtures)
    assert again.get(f"/v1/engagements/{created['id']}", headers=auth).get_json()["name"] == "kept"
    session_key = {"Authorization": f"Bearer {session['keys'][KEY]}"}
    assert again.get("/v1/engagements", headers=session_key).status_code == 200, "the session came back"
    assert again.post("/v1/engagements", json=NEW, headers=auth).get_json()["id"] != created["id"]
    assert again.post("/__mock/reset").status_code == 200
    _wait_for_file(path, lambda d: "kept" not in _names(d))
    engine_of(again.application).close()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read the state file"),
        ('{"clients": []}', "not an auralytik-mock state file"),
        (
            json.dumps(
                {
                    "format": "auralytik-mock-state/1",
                    "default": {"clients": [{"id": "c", "name": "C", "apiKeys": [], "engagements": [{"id": 1}]}]},
                }
            ),
            "state.json: default",
        ),
    ],
)
def test_a_bad_state_file_stops_start_up_with_a_precise_message(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    with pytest.raises(FixtureError, match=message):
        Engine(make_config(persist=path))


def test_a_bad_state_file_is_not_called_a_fixture(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    bad = {"clients": [{"id": "c", "name": "C", "apiKeys": [], "engagements": [{"id": 1}]}]}
    path.write_text(json.dumps({"format": "auralytik-mock-state/1", "default": bad}))
    with pytest.raises(FixtureError) as info:
        Engine(make_config(persist=path))
    assert str(info.value).startswith("invalid state file:") and "fixtures" not in str(info.value)


def test_persist_into_a_folder_that_does_not_exist_creates_it_and_saves(tmp_path: Path, small_fixtures: Path) -> None:
    path = tmp_path / "new" / "deeper" / "state.json"
    client = _persisting(path, small_fixtures)
    auth = {"Authorization": f"Bearer {KEY}"}
    assert client.post("/v1/engagements", json={**NEW, "name": "kept"}, headers=auth).status_code == 201
    _wait_for_file(path, lambda d: "kept" in _names(d))
    engine_of(client.application).close()


def test_persist_to_a_folder_or_an_unwritable_place_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="is a folder"):
        Engine(make_config(persist=tmp_path))
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(FixtureError, match="cannot create the folder"):
        Engine(make_config(persist=blocker / "state.json"))


def test_persist_survives_a_restart_and_kill_9(tmp_path: Path) -> None:
    from tests.processes import call as _call

    path = tmp_path / "state.json"
    with serving("--persist", str(path), "--quiet") as (base, process):
        assert _call(base + "/v1/engagements", "POST", {**NEW, "name": "survivor"})[0] == 201
        _wait_for_file(path, lambda d: "survivor" in _names(d))
        os.killpg(process.pid, signal.SIGKILL)  # the server, no goodbye
        process.communicate(timeout=10)
    assert "survivor" in _names(json.loads(path.read_text())), "kill -9 left a whole file"
    with serving("--persist", str(path), "--quiet") as (base, process):
        listed = _call(base + "/v1/engagements?pageSize=50")[1]
        assert "survivor" in [e["name"] for e in listed["data"]]
        assert _call(base + "/v1/engagements", "POST", {**NEW, "name": "at shutdown"})[0] == 201
        process.terminate()
        process.communicate(timeout=10)
    assert "at shutdown" in _names(json.loads(path.read_text())), "SIGTERM saves the last changes"


def test_a_second_server_on_the_same_state_file_refuses_to_start_naming_the_first(tmp_path: Path) -> None:
    """Issue 17.11: two servers on one file overwrote each other's state, unseen."""
    path = tmp_path / "state.json"
    first = Engine(make_config(persist=path))
    with pytest.raises(FixtureError) as refused:
        Engine(make_config(persist=path))
    message = str(refused.value)
    assert f"another auralytik-mock (pid {os.getpid()})" in message and str(path) in message
    assert "\n" not in message
    # a second link to the same file is the same file
    link = tmp_path / "elsewhere.json"
    link.symlink_to(path)
    with pytest.raises(FixtureError, match="another auralytik-mock"):
        Engine(make_config(persist=link))
    first.close()
    second = Engine(make_config(persist=path))  # free once the first stops
    second.close()


def test_serve_refuses_a_state_file_another_serve_holds(tmp_path: Path) -> None:
    import subprocess

    path = tmp_path / "state.json"
    with serving("--persist", str(path), "--quiet") as (base, process):
        command = [sys.executable, "-m", "auralytik_mock", "serve", "--port", "0", "--persist", str(path)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail("a second server started on the same state file")
        assert done.returncode == 1
        assert f"another auralytik-mock (pid {process.pid}) keeps its state in this file" in done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        assert urllib.request.urlopen(base + "/__mock/health", timeout=5).status == 200, "the first one serves on"


def test_a_symlinked_state_file_keeps_its_link(tmp_path: Path, small_fixtures: Path) -> None:
    real = tmp_path / "volume" / "state.json"
    real.parent.mkdir()
    link = tmp_path / "state.json"
    link.symlink_to(real)
    client = _persisting(link, small_fixtures)
    auth = {"Authorization": f"Bearer {KEY}"}
    assert client.post("/v1/engagements", json={**NEW, "name": "kept"}, headers=auth).status_code == 201
    _wait_for_file(real, lambda d: "kept" in _names(d))
    engine_of(client.application).close()
    assert link.is_symlink() and link.resolve() == real.resolve(), "the link was replaced by a file"
    assert "kept" in _names(json.loads(link.read_text()))
    again = _persisting(link, small_fixtures)
    assert "kept" in [e["name"] for e in again.get("/v1/engagements", headers=auth).get_json()["data"]]
    engine_of(again.application).close()
    assert link.is_symlink()


def _state_with(default: object) -> str:
    return json.dumps({"format": "auralytik-mock-state/1", "default": default})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format": "auralytik-mock-state/1", "default": ' + "[" * 200_000 + "]" * 200_000 + "}", "too deep"),
        ('{"format": "auralytik-mock-state/1", "default": ' + "[" * 150 + "]" * 150 + "}", "nests more than"),
        (_state_with({"clients": [{"id": "c", "name": "\udc80", "apiKeys": []}]}), "lone UTF-16 surrogate"),
        (_state_with({"clients": [{"id": "c", "name": "C", "apiKeys": [], "n": 2**70}]}), "outside 64 bits"),
        (_state_with({"clients": [{"id": "c", "name": "C\nforged line", "apiKeys": [], "\x1b[2J": 1e400}]}), "64-bit"),
    ],
    ids=["200k deep", "150 deep", "lone surrogate", "65-bit integer", "infinite float"],
)
def test_a_deep_or_unencodable_state_file_is_one_line_like_other_bad_files(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    with pytest.raises(FixtureError) as refused:
        Engine(make_config(persist=path))
    text = str(refused.value)
    assert text.startswith(f"{path}: cannot read the state file (") and message in text, text
    assert "\n" not in text and "\x1b" not in text
    Engine(make_config(persist=tmp_path / "other.json")).close()  # and the lock was let go:
    path.write_text(_state_with({"clients": []}))
    Engine(make_config(persist=path)).close()


def test_serve_names_a_deep_state_file_in_one_line(tmp_path: Path) -> None:
    import subprocess

    path = tmp_path / "state.json"
    path.write_text('{"format": "auralytik-mock-state/1", "default": ' + "[" * 100_000 + "]" * 100_000 + "}")
    command = [sys.executable, "-m", "auralytik_mock", "serve", "--port", "0", "--persist", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.stderr == f"auralytik-mock: {path}: cannot read the state file (it nests too deep to parse)\n"


def test_persist_is_off_by_default(tmp_path: Path) -> None:
    assert make_config().persist is None
    client = create_app(make_config()).test_client()
    client.post("/v1/engagements", json=NEW, headers={"Authorization": f"Bearer {KEY}"})
    assert engine_of(client.application).persister is None


# -- the servers users run -----------------------------------------------------------------


def test_serve_protects_the_admin_api() -> None:
    env = {"AURALYTIK_MOCK_ADMIN_TOKEN": TOKEN}
    with serving("--quiet", env=env) as (base, process):

        def call(path: str, method: str = "GET", headers: dict[str, str] | None = None) -> int:
            request = urllib.request.Request(base + path, method=method, headers=headers or {})
            try:
                with urllib.request.urlopen(request, timeout=5) as r:
                    return int(r.status)
            except urllib.error.HTTPError as e:
                with e:
                    json.loads(e.read())  # the envelope
                return int(e.code)

        assert call("/__mock/health") == 200
        assert call("/__mock/state") == 401
        assert call("/__mock/state", headers={"X-Mock-Admin-Token": TOKEN}) == 200
        foreign = {"X-Mock-Admin-Token": TOKEN, "Origin": "https://evil.example"}
        assert call("/__mock/reset", "POST", foreign) == 403
        assert call("/v1/engagements", headers={"Host": "rebound.example", "Authorization": f"Bearer {KEY}"}) == 403


def test_fixture_yaml_still_loads_with_per_tenant_ids(tmp_path: Path) -> None:
    documents = [yaml.safe_load(p.read_text()) for p in sorted(FIXTURES.glob("*.yaml"))]
    documents[1]["clients"][0]["engagements"][0]["id"] = "eng_456"  # Globex reuses Acme's id
    for entry in documents[1]["clients"][0]["evaluations"]:  # and its evaluations follow it
        if entry["with"]["engagementId"] == "eng_901":
            entry["with"]["engagementId"] = "eng_456"
    for n, document in enumerate(documents):
        (tmp_path / f"{n}.yaml").write_text(yaml.safe_dump(document))
    client = create_app(make_config(fixtures=(tmp_path,))).test_client()
    assert client.get("/v1/engagements/eng_456", headers={"Authorization": f"Bearer {OTHER}"}).status_code == 200


def test_serve_keeps_answering_when_nobody_reads_its_log() -> None:
    """Issue 10: with stderr on a pipe nobody reads, a server (Werkzeug's) hung after 318 requests.
    ``serving`` pipes the server's output and reads it only at the end: a slow consumer."""
    import http.client

    with serving(env={"AURALYTIK_MOCK_ACCESS_LOG": "true"}) as (base, process):
        port = int(base.rsplit(":", 1)[1])
        padding = "x" * 200  # long lines fill the 64 KiB pipe after a few hundred requests
        answered = 0
        for n in range(1500):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                connection.request(
                    "GET", f"/v1/engagements/eng_{n}{padding}", headers={"Authorization": f"Bearer {KEY}"}
                )
                answered += connection.getresponse().status == 404  # any unknown id is a 404 (issue 9)
            finally:
                connection.close()
        assert answered == 1500, "every call answered while the log waited"


def test_serve_escapes_control_characters_in_its_log() -> None:
    import http.client

    with serving(env={"AURALYTIK_MOCK_ACCESS_LOG": "true"}) as (base, process):
        connection = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=5)
        connection.request("GET", "/v1/engagements/a%0d%0a12:00:00.000%20GET%20forged%20200%1b[2J")
        connection.getresponse().read()
        connection.close()
        time.sleep(0.3)  # the log is written off the request threads, 50 ms late
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "\x1b" not in output and "\r" not in output
    assert "/v1/engagements/a\\x0d\\x0a12:00:00.000 GET forged 200\\x1b[2J" in output
    assert not any(line.startswith("12:00:00.000 GET forged") for line in output.splitlines())


# -- issue 17: costly work bounded, refusals never a 500 -------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"[" * 200_000 + b"]" * 200_000, json.dumps([{"a": i} for i in range(70_000)]).encode()],
    ids=["200,000 deep", "a large body"],
)
def test_a_bad_signature_is_a_401_whatever_the_body(api: Api, body: bytes) -> None:
    """Issue 17.5: a deeply nested body under a bad signature answered 500 (the diagnosis
    parsed it); a large one cost 7x an accepted call (it re-serialised it five ways)."""
    headers = {**by_hand("POST", "/api/v1/engagements", b"{}", ts=NOW), "Content-Type": "application/json"}
    r = api.request("POST", "/api/v1/engagements", key=None, data=body, headers=headers)
    assert r.status in {401, 413} and r.json["error"]["code"] in {"INVALID_SIGNATURE", "PAYLOAD_TOO_LARGE"}, r.json
    if len(body) <= 1024 * 1024:
        assert r.status == 401 and "exact" in r.json["error"]["message"], "still a hint for the body"


def test_a_long_docs_asset_name_is_a_404(api: Api) -> None:
    """Issue 17.5: a 5,000-character asset name reached the file system and answered 500."""
    for name in ("a" * 5000, "x\x00y", "..", "swagger-ui.css/extra"):
        r = api.get(f"/__mock/docs/{name}", key=None)
        assert r.status == 404 and r.json["error"]["code"] == "NOT_FOUND", (name[:20], r.json)
    assert api.get("/__mock/docs/swagger-ui.css", key=None, check=False).status == 200


def test_serve_raises_its_open_file_limit_and_serves_past_the_old_one() -> None:
    """Issue 17.3: 1,100 slow connections made every normal request fail (the soft limit of
    1,024 open files): the server raises its soft limit toward the hard one at start."""
    import resource
    import socket as sockets
    import subprocess

    from tests.processes import close, free_port, raw, request, responses

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 400:
        pytest.skip(f"the hard open-file limit ({hard}) leaves no room to raise")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "auralytik_mock", "serve", "--quiet", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (128, hard)),
    )
    idle: list[sockets.socket] = []
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                raw(port, close(request("GET", "/health")), timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.05)
        limits = Path(f"/proc/{process.pid}/limits")
        if limits.exists():
            line = next(x for x in limits.read_text().splitlines() if x.startswith("Max open files"))
            assert int(line.split()[3]) > 128, line
        for _ in range(300):  # more connections than the old limit allows files
            idle.append(sockets.create_connection(("127.0.0.1", port), timeout=5))
        answer = responses(
            raw(
                port,
                close(request("GET", "/v1/engagements/eng_456", "Authorization: Bearer YOUR_API_KEY\r\n")),
                timeout=5,
            )
        )
        assert answer[0][0] == 200
    finally:
        for sock in idle:
            sock.close()
        process.kill()
        process.communicate(timeout=10)


def test_new_options_come_from_flags_and_variables() -> None:
    from auralytik_mock.cli import _config, _parser
    from auralytik_mock.config import Config

    env = {
        "AURALYTIK_MOCK_ADMIN_TOKEN": "t",
        "AURALYTIK_MOCK_ALLOWED_HOSTS": "a.example, b.example",
        "AURALYTIK_MOCK_PERSIST": "state.json",
        "AURALYTIK_MOCK_MAX_FAULT_RULES": "7",
    }
    config = Config.from_env(env)
    assert config.admin_token == "t" and config.allowed_hosts == ("a.example", "b.example")
    assert config.persist == Path("state.json") and config.max_fault_rules == 7
    args = _parser().parse_args(
        ["serve", "--admin-token", "x", "--allowed-host", "h1", "--allowed-host", "h2", "--persist", "p.json"]
    )
    flagged = _config(args)
    assert flagged.admin_token == "x" and flagged.allowed_hosts == ("h1", "h2") and flagged.persist == Path("p.json")


def test_the_connection_cap_comes_from_a_flag_or_a_variable() -> None:
    from auralytik_mock.cli import _config, _parser
    from auralytik_mock.config import Config

    assert Config().max_connections == 1024
    assert Config.from_env({"AURALYTIK_MOCK_MAX_CONNECTIONS": "50"}).max_connections == 50
    assert _config(_parser().parse_args(["serve", "--max-connections", "7"])).max_connections == 7
    with pytest.raises(ValueError, match="max_connections"):
        Config(max_connections=0)
