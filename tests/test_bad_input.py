"""The bad-input corpus: whatever a buggy client sends, the mock answers a 4xx in the
envelope (never a 500, never HTML), keeps serving, and loses nothing.

Runs over a real socket both ways users run the server: ``MockServer`` (a thread, as in
tests) and ``auralytik-mock serve`` (a process, as in the sandbox and container).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from auralytik_mock import MockServer
from tests.processes import serving

AUTH = {"Authorization": "Bearer YOUR_API_KEY"}
JSON = {**AUTH, "Content-Type": "application/json"}


@pytest.fixture(scope="module", params=["mockserver", "serve"])
def base(request: pytest.FixtureRequest, small_fixtures: Path) -> Iterator[tuple[str, int]]:
    # The small fixture set: ``unchanged`` reads the whole state twice per test (4 MB of it
    # with the bundled set cost about a minute over the module).
    if request.param == "mockserver":
        with MockServer(validate_responses=True, fixtures=small_fixtures) as mock:
            yield ("127.0.0.1", mock.port)
    else:
        with serving("--quiet", "--validate-responses", "--fixtures", str(small_fixtures)) as (url, _):
            yield ("127.0.0.1", int(url.rsplit(":", 1)[1]))


def send(
    base: tuple[str, int], method: str, path: str, body: bytes | None = None, headers: list[tuple[str, str]] = ()
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(*base, timeout=10)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def state(base: tuple[str, int]) -> dict:
    status, _, raw = send(base, "GET", "/__mock/state")
    assert status == 200
    return json.loads(raw)


@pytest.fixture
def unchanged(base: tuple[str, int]) -> Iterator[None]:
    """The store and the server are as they were: nothing lost, nothing added, still serving."""
    send(base, "POST", "/__mock/reset")
    before = state(base)
    yield
    assert state(base) == before
    status, _, raw = send(base, "GET", "/v1/engagements/eng_456", headers=list(AUTH.items()))
    assert status == 200 and json.loads(raw)["id"] == "eng_456"


def assert_envelope(status: int, headers: dict[str, str], raw: bytes, expected: int | set[int], code: str = "") -> dict:
    assert status == expected if isinstance(expected, int) else status in expected, (status, raw[:300])
    assert headers["content-type"].startswith("application/json"), headers
    error = json.loads(raw)["error"]
    assert {"code", "message", "requestId"} <= set(error)
    assert error["requestId"] == headers["x-request-id"]
    if code:
        assert error["code"] == code, error
    return error


BODY_CASES = {
    "malformed JSON": (b'{"name": "n", "type":', 400, "INVALID_JSON"),
    "JSON array": (b'[{"name": "n", "type": "t"}]', 400, "VALIDATION_ERROR"),
    "JSON string": (b'"name"', 400, "VALIDATION_ERROR"),
    "JSON null": (b"null", 400, "VALIDATION_ERROR"),
    "JSON number": (b"42", 400, "VALIDATION_ERROR"),
    "empty body": (b"", 400, "VALIDATION_ERROR"),
    "white space body": (b"   ", 400, "INVALID_JSON"),
    "deeply nested array": (b"[" * 100_000 + b"]" * 100_000, 400, "INVALID_JSON"),
    "deeply nested field": (b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b', "type": "t"}', 400, ""),
    "invalid UTF-8": (b'{"name": "\xff\xfe", "type": "t"}', 400, "INVALID_JSON"),
    "raw NUL byte": (b'{"name": "a\x00b", "type": "t"}', 400, "INVALID_JSON"),
    "byte order mark": (b'\xef\xbb\xbf{"name": "n", "type": "t"}', 400, "INVALID_JSON"),
    "NaN": (b'{"name": "n", "type": "t", "description": NaN}', 400, "INVALID_JSON"),
    "blank name": (b'{"name": " \\t", "type": "t"}', 400, "VALIDATION_ERROR"),
    "number for string": (b'{"name": 12, "type": "t"}', 400, "VALIDATION_ERROR"),
    "float for string": (b'{"name": "n", "type": 67.0}', 400, "VALIDATION_ERROR"),
    "null for required": (b'{"name": null, "type": null}', 400, "VALIDATION_ERROR"),
    "boolean for string": (b'{"name": true, "type": "t"}', 400, "VALIDATION_ERROR"),
    "duplicate keys": (b'{"name": "a", "name": "b", "type": "t"}', 400, "INVALID_JSON"),
    "unknown field": (b'{"name": "n", "type": "t", "owner": "me"}', 400, "VALIDATION_ERROR"),
    "read-only field": (b'{"name": "n", "type": "t", "id": "eng_1"}', 400, "VALIDATION_ERROR"),
    "trailing garbage": (b'{"name": "n", "type": "t"} xyz', 400, "INVALID_JSON"),
    "lone surrogate": (b'{"name": "n", "type": "t", "description": "\\udfff"}', 400, "INVALID_JSON"),
    "lone surrogate key": (b'{"name": "n", "type": "t", "\\ud800": 1}', 400, "INVALID_JSON"),
    "5000-digit integer": (b'{"name": "n", "type": "t", "description": ' + b"7" * 5000 + b"}", 400, "INVALID_JSON"),
    "integer beyond 64 bits": (b'{"name": "n", "type": "t", "description": 18446744073709551616}', 400, ""),
    "float overflow": (b'{"name": "n", "type": "t", "description": -1e999}', 400, "INVALID_JSON"),
    "988 deep in a field": (b'{"name": ' + b"[" * 988 + b"]" * 988 + b', "type": "t"}', 400, "INVALID_JSON"),
    "over 1 MiB": (b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'", "type": "t"}', 413, "PAYLOAD_TOO_LARGE"),
}


@pytest.mark.parametrize("case", list(BODY_CASES))
@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/engagements"), ("PATCH", "/v1/engagements/eng_456")])
def test_bad_body(base, unchanged, case: str, method: str, path: str) -> None:
    body, expected, code = BODY_CASES[case]
    if method == "PATCH" and case in {"JSON null"}:
        code = "VALIDATION_ERROR"
    if method == "PATCH" and case in {"read-only field", "unknown field"}:
        expected = 400
    result = send(base, method, path, body, list(JSON.items()))
    if method == "PATCH" and case in {"number for string", "null for required", "boolean for string"}:
        code = "VALIDATION_ERROR"
    assert_envelope(*result, expected, code)


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        (None, 415),
        ("text/plain", 415),
        ("application/x-www-form-urlencoded", 415),
        ("multipart/form-data; boundary=x", 415),
        ("application/xml", 415),
        ("application/json; charset=latin-1", 415),
    ],
)
def test_wrong_content_type_is_415(base, unchanged, content_type: str | None, expected: int) -> None:
    headers = list(AUTH.items()) + ([("Content-Type", content_type)] if content_type else [])
    result = send(base, "POST", "/v1/engagements", b'{"name": "n", "type": "t"}', headers)
    assert_envelope(*result, expected, "UNSUPPORTED_MEDIA_TYPE")


def test_json_with_charset_utf8_is_accepted(base) -> None:
    headers = [*AUTH.items(), ("Content-Type", "application/json; charset=utf-8")]
    status, _, _ = send(base, "POST", "/v1/engagements", b'{"name": "n", "type": "t"}', headers)
    assert status == 201
    send(base, "POST", "/__mock/reset")


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-1",
        "page=abc",
        "page=" + "1" * 30,
        "page=",
        "pageSize=0",
        "pageSize=101",
        "pageSize=1e3",
        "page=1&page=1",
        "pageSize=%00",
        "filter=x",
    ],
)
def test_bad_query(base, unchanged, query: str) -> None:
    assert_envelope(*send(base, "GET", f"/v1/engagements?{query}", headers=list(AUTH.items())), 400, "VALIDATION_ERROR")


def _send_prefer(base: tuple[str, int], prefer: bytes) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(*base, timeout=10)
    try:
        connection.putrequest("GET", "/v1/engagements", skip_accept_encoding=True)
        connection.putheader("Authorization", AUTH["Authorization"])
        connection.putheader("Prefer", prefer)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    "prefer",
    [
        b"delay=" + b"9" * 5000,  # int() of 5000 digits raised ValueError: a 500
        b"code=" + b"4" * 5000,
        b"delay=1, " + b"return=minimal, " * 100,  # over 1000 characters
        b"delay=-1",
        b"delay=60001",
        b"delay=1.5",
        b"code=abc",
        b"code=418",
        b"code=4000",
        b"x=" + b"y" * 10_000,
    ],
)
def test_bad_prefer_is_a_400_envelope(base, unchanged, prefer: bytes) -> None:
    error = assert_envelope(*_send_prefer(base, prefer), 400, "VALIDATION_ERROR")
    assert error["details"][0]["field"] == "header.Prefer"


@pytest.mark.parametrize(
    "prefer",
    [
        "delay=\u0663".encode(),  # an Arabic-Indic digit, as UTF-8
        b"delay=\xb2",  # a superscript two, as Latin-1 (Werkzeug read it as a digit: a 500)
        b"code=\xd9\xa3\xd9\xa0\xd9\xa4",
        b"delay=1\x01",
    ],
)
def test_non_ascii_prefer_is_never_a_500(base, unchanged, prefer: bytes) -> None:
    status, headers, raw = _send_prefer(base, prefer)
    # A 400 envelope on every server we ship: the app's, naming the header, or the HTTP
    # parser's (a control character never reaches the app).
    error = assert_envelope(status, headers, raw, 400)
    assert error["code"] in {"VALIDATION_ERROR", "BAD_REQUEST"}, error
    if error["code"] == "VALIDATION_ERROR":
        assert error["details"][0]["field"] == "header.Prefer"


def test_non_ascii_prefer_reaching_the_app_is_a_400() -> None:
    from auralytik_mock import create_app

    client = create_app().test_client()
    for value in ("delay=\u0663", "delay=\u00b2", "code=\u0664\u0660\u0664", "delay=1\x01"):
        r = client.get("/v1/engagements", headers={"Authorization": "Bearer YOUR_API_KEY", "Prefer": value})
        assert r.status_code == 400 and r.json["error"]["details"][0]["field"] == "header.Prefer", value


@pytest.mark.parametrize(
    ("authorization", "expected", "code"),
    [
        ("Basic dXNlcjpwYXNz", 401, "UNAUTHORIZED"),
        ("Bearer", 401, "UNAUTHORIZED"),
        ("Bearer ", 401, "UNAUTHORIZED"),
        ("YOUR_API_KEY", 401, "UNAUTHORIZED"),
        ("Bearer YOUR_API_KEY extra", 401, "UNAUTHORIZED"),
        ("Bearer YOUR API KEY", 401, "UNAUTHORIZED"),
        ("Bearer " + "k" * 10_000, 401, "UNAUTHORIZED"),
        ("Bearer your_api_key", 401, "INVALID_API_KEY"),
        ("Bearer YOUR_API_KEY\u00e9".encode().decode("latin-1"), 401, "UNAUTHORIZED"),
        ("Token YOUR_API_KEY", 401, "UNAUTHORIZED"),
    ],
)
def test_bad_authorization_is_401(base, unchanged, authorization: str, expected: int, code: str) -> None:
    status, headers, raw = send(base, "GET", "/v1/engagements", headers=[("Authorization", authorization)])
    assert_envelope(status, headers, raw, expected, code)
    assert headers["www-authenticate"].startswith('Bearer realm="auralytik"')


def test_two_authorization_headers_are_401(base, unchanged) -> None:
    headers = [("Authorization", "Bearer YOUR_API_KEY"), ("Authorization", "Bearer OTHER_CLIENT_API_KEY")]
    assert_envelope(*send(base, "GET", "/v1/engagements", headers=headers), 401)


@pytest.mark.parametrize("authorization", ["bearer YOUR_API_KEY", "BEARER YOUR_API_KEY", "Bearer   YOUR_API_KEY"])
def test_rfc_valid_authorization_variants_are_accepted(base, authorization: str) -> None:
    # RFC 9110: the scheme is case-insensitive; RFC 6750: "Bearer" 1*SP b64token.
    status, _, _ = send(base, "GET", "/v1/engagements", headers=[("Authorization", authorization)])
    assert status == 200


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/engagements/..%2F..%2Fetc%2Fpasswd", {400, 404}),
        ("/v1/engagements/..%2Feng_456", {400, 404}),
        # An id the client does not have is a 404 whatever its spelling (the vendor states
        # no id format): a client's "not found" path must see "not found".
        ("/v1/engagements/%2e%2e", {404}),
        ("/v1/engagements/eng_456%00", {404}),
        ("/v1/engagements/eng_%C3%A9", {404}),
        ("/v1/engagements/%ff%fe", {404}),
        ("/v1/engagements/eng_456%20", {404}),
        ("/v1/engagements/" + "eng_" + "1" * 5000, {404}),
        ("/v1/engagements/eng_456/extra", {404}),
        ("/v1/engagements//eng_456", {404}),
        ("/v1//engagements", {404}),
        ("/v1/engagements/", {404}),
        ("/v1/ENGAGEMENTS", {404}),
        ("/engagements", {404}),
        ("/v2/engagements", {404}),
    ],
)
def test_bad_paths_and_ids(base, unchanged, path: str, expected: set[int]) -> None:
    assert_envelope(*send(base, "GET", path, headers=list(AUTH.items())), expected)


ROUTES = ["/v1/engagements", "/v1/engagements/eng_456", "/health"]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "TRACE", "CONNECT", "PROPFIND"])
@pytest.mark.parametrize("path", ROUTES)
def test_other_methods_are_405_with_allow(base, unchanged, method: str, path: str) -> None:
    status, headers, raw = send(base, method, path, headers=list(AUTH.items()))
    assert_envelope(status, headers, raw, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in headers["allow"] and method not in headers["allow"]


@pytest.mark.parametrize("path", ROUTES)
def test_head_is_get_without_a_body(base, path: str) -> None:
    get_status, get_headers, get_raw = send(base, "GET", path, headers=list(AUTH.items()))
    status, headers, raw = send(base, "HEAD", path, headers=list(AUTH.items()))
    assert (status, raw) == (get_status, b"")
    assert headers["content-type"] == get_headers["content-type"]


@pytest.mark.parametrize("path", ROUTES)
def test_options_without_cors_answers_allow(base, path: str) -> None:
    status, headers, raw = send(base, "OPTIONS", path)
    assert status == 204 and raw == b"" and "OPTIONS" in headers["allow"]


def test_a_very_long_name_is_stored_and_read_back(base) -> None:
    # The vendor states no length; the 1 MiB body limit is what protects the mock.
    body = json.dumps({"name": "x" * 100_000, "type": "t"}).encode()
    status, headers, raw = send(base, "POST", "/v1/engagements", body, list(JSON.items()))
    assert status == 201
    status, _, raw = send(base, "GET", headers["location"], headers=list(AUTH.items()))
    assert status == 200 and len(json.loads(raw)["name"]) == 100_000
    send(base, "POST", "/__mock/reset")


def test_many_bad_requests_in_a_row_leave_the_server_serving(base, unchanged) -> None:
    for case in BODY_CASES.values():
        assert send(base, "POST", "/v1/engagements", case[0], list(JSON.items()))[0] in {400, 413}


def test_chunked_body_is_read(base) -> None:
    """A body sent with Transfer-Encoding: chunked (no Content-Length) is read like any other."""
    connection = http.client.HTTPConnection(*base, timeout=10)
    try:
        body = iter([b'{"name": "chunked", ', b'"type": "quality_review"}'])
        connection.request("POST", "/v1/engagements", body=body, headers=JSON, encode_chunked=True)
        response = connection.getresponse()
        created = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 201 and created["name"] == "chunked"
    send(base, "POST", "/__mock/reset")


def test_chunked_body_over_the_limit_is_413(base, unchanged) -> None:
    connection = http.client.HTTPConnection(*base, timeout=10)
    try:
        chunks = iter([b'{"name": "'] + [b"x" * 65536] * 20 + [b'", "type": "t"}'])
        connection.request("POST", "/v1/engagements", body=chunks, headers=JSON, encode_chunked=True)
        response = connection.getresponse()
        error = json.loads(response.read())["error"]
    finally:
        connection.close()
    assert response.status == 413 and error["code"] == "PAYLOAD_TOO_LARGE"


HOSTILE_BODIES = [
    (b'"\\ud800"', "application/json", False),
    (b"[" * 988 + b"]" * 988, "application/json", True),
    (b'{"n": ' + b"9" * 5000 + b"}", "application/json", True),
    (b"[1e400]", "application/json", True),
    (b'{"description": "\\udfff"}', "application/json", True),
    (b"[" + b"{}," * 50_000 + b"{}]", "text/plain", False),
]


def test_journal_and_state_read_back_after_hostile_bodies(base, unchanged) -> None:
    """Issue 10: a body with a lone surrogate, deep nesting or a huge number once broke
    GET /__mock/requests (and, once stored, every read of the tenant) with a 500."""
    send(base, "DELETE", "/__mock/requests")
    for body, content_type, with_key in HOSTILE_BODIES:
        headers = [("Content-Type", content_type), *(AUTH.items() if with_key else [])]
        for method, path in [("POST", "/v1/engagements"), ("PATCH", "/v1/engagements/eng_456")]:
            status, response_headers, raw = send(base, method, path, body, headers)
            assert 400 <= status < 500, (status, raw[:200])
            assert_envelope(status, response_headers, raw, status)
    status, headers, raw = send(base, "GET", "/__mock/requests")
    assert status == 200 and headers["content-type"].startswith("application/json")
    journal = json.loads(raw)
    assert journal["count"] == 2 * len(HOSTILE_BODIES)
    assert all(isinstance(e["body"], str) for e in journal["requests"]), "refused bodies read back as text"
    for path in ["/v1/engagements/eng_456", "/v1/engagements"]:
        assert send(base, "GET", path, headers=list(AUTH.items()))[0] == 200
