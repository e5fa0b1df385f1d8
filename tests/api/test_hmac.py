"""The vendor's newer authentication on /api/v1: X-Api-Key and HMAC-SHA256 request signing.

Signatures here are computed by hand with hmac/hashlib (``tests/hmac_support.py``: the
vendor's recipe, not the project's helper), so a mistake in ``signing.py`` cannot hide behind
itself. Every answer
goes through ``check_response`` (openapi.yaml), in-process and over a socket.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
import yaml

from auralytik_mock import FixtureError, create_app
from auralytik_mock.core.pipeline import build_world
from tests.conftest import FIXTURES, KEY, READ_ONLY, SPEC_PATH, Api, make_config
from tests.hmac_support import HMAC_KEY, HMAC_SECRET, NOW, by_hand

HMAC_READ_ONLY = "ak_live_readonly000000000000000000000000"
HMAC_READ_ONLY_SECRET = "READ_ONLY_HMAC_SECRET"


def signed(api: Api, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    data = json.dumps(body).encode() if body is not None else b""
    headers = by_hand(method, path.split("?")[0], data, **kw)
    if data:
        headers["Content-Type"] = "application/json"
    return api.request(method, path, key=None, data=data or None, headers=headers)


def refused(api: Api, headers: dict[str, str], path: str = "/api/v1/engagements", method: str = "GET") -> Any:
    r = api.request(method, path, key=None, headers=headers)
    assert r.status == 401, r.json
    assert r.headers["WWW-Authenticate"].startswith("HMAC-SHA256 realm=")
    text = json.dumps(r.json)
    assert HMAC_SECRET not in text and HMAC_KEY not in text, "an error must never show the secret or the whole key"
    return r.json["error"]


# -- the Done-when: the vendor's recipe, the example key, the same data as /v1 ---------------------------


def test_signed_by_hand_with_the_example_key_sees_what_bearer_sees(api: Api) -> None:
    signed_answer = signed(api, "GET", "/api/v1/engagements")
    bearer_answer = api.get("/v1/engagements", key=KEY)
    assert signed_answer.status == 200
    assert signed_answer.json == bearer_answer.json
    assert signed_answer.json["totalCount"] == 5


def test_signed_with_the_real_clock_is_accepted() -> None:
    client = create_app(make_config(clock=None)).test_client()
    r = client.get(
        "/api/v1/engagements/eng_456", headers=by_hand("GET", "/api/v1/engagements/eng_456", ts=int(time.time()))
    )
    assert r.status_code == 200 and r.json["id"] == "eng_456"


def test_one_state_a_signed_create_shows_up_on_v1_and_back(api: Api) -> None:
    created = signed(api, "POST", "/api/v1/engagements", {"name": "Signed", "type": "quality_review"})
    assert created.status == 201
    assert created.headers["Location"] == f"/api/v1/engagements/{created.json['id']}"
    assert api.get(f"/v1/engagements/{created.json['id']}", key=KEY).json == created.json
    patched = api.patch(f"/v1/engagements/{created.json['id']}", json={"status": "paused"})
    assert signed(api, "GET", f"/api/v1/engagements/{created.json['id']}").json == patched.json


def test_the_query_string_is_not_signed(api: Api) -> None:
    r = signed(api, "GET", "/api/v1/engagements?page=1&pageSize=2")
    assert r.status == 200 and len(r.json["data"]) == 2


def test_the_body_hash_is_over_the_exact_bytes_received(api: Api) -> None:
    body = b'{ "name" : "Spaced   out",\n  "type": "quality_review" }'
    headers = {**by_hand("POST", "/api/v1/engagements", body), "Content-Type": "application/json"}
    r = api.request("POST", "/api/v1/engagements", key=None, data=body, headers=headers)
    assert r.status == 201 and r.json["name"] == "Spaced   out"


def test_validation_still_applies_after_a_good_signature(api: Api) -> None:
    r = signed(api, "POST", "/api/v1/engagements", {"name": "x"})
    assert r.status == 400 and r.json["error"]["code"] == "VALIDATION_ERROR"
    r = signed(api, "GET", "/api/v1/engagements/eng_999")
    assert r.status == 404


# -- each base path takes its own scheme ------------------------------------------------------------------


def test_a_bearer_key_on_api_v1_is_told_which_scheme_the_path_takes(api: Api) -> None:
    error = refused(api, {"Authorization": f"Bearer {KEY}"})
    assert error["code"] == "WRONG_AUTH_SCHEME"
    assert "X-Api-Key" in error["message"] and "/v1" in error["message"]


def test_a_signed_request_on_v1_is_told_which_scheme_the_path_takes(api: Api) -> None:
    r = api.request("GET", "/v1/engagements", key=None, headers=by_hand("GET", "/v1/engagements"))
    assert r.status == 401 and r.json["error"]["code"] == "WRONG_AUTH_SCHEME"
    assert "Bearer" in r.json["error"]["message"] and "/api/v1" in r.json["error"]["message"]
    assert r.headers["WWW-Authenticate"].startswith("Bearer ")


def test_a_signing_key_as_a_bearer_token_on_v1_is_refused(api: Api) -> None:
    r = api.get("/v1/engagements", key=HMAC_KEY)
    assert r.status == 401 and r.json["error"]["code"] == "WRONG_AUTH_SCHEME"
    assert HMAC_KEY not in r.text and "/api/v1" in r.json["error"]["message"]


def test_health_needs_no_key_at_the_root_and_under_each_base_path(api: Api) -> None:
    # The vendor's API reference lists `GET /health` with every path relative to
    # https://api.auralytik.ai/api/v1, so the newer generation answers /api/v1/health.
    for path in ("/health", "/v1/health", "/api/v1/health"):
        r = api.get(path, key=None)
        assert r.status == 200 and r.json == {"status": "ok"}, path


# -- each refusal: its own code, a message that teaches -----------------------------------------------------


def test_no_key_header_is_missing_api_key(api: Api) -> None:
    error = refused(api, {})
    assert error["code"] == "MISSING_API_KEY" and "X-Signature" in error["message"]


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("ak_live_abc123", "32 letters or digits"),
        ("ak_live_abc123def456ghi789jkl012mno345p!", "32 letters or digits"),
        ("ak_test_abc123def456ghi789jkl012mno345pq", "32 letters or digits"),
        (KEY, "Bearer keys"),
        (f"Bearer {HMAC_KEY}", "without 'Bearer '"),
    ],
)
def test_a_malformed_key_is_malformed_api_key(api: Api, key: str, hint: str) -> None:
    error = refused(api, by_hand("GET", "/api/v1/engagements", key=key))
    assert error["code"] == "MALFORMED_API_KEY" and hint in error["message"]


def test_an_unknown_key_is_invalid_api_key(api: Api) -> None:
    error = refused(api, by_hand("GET", "/api/v1/engagements", key="ak_live_" + "z" * 32))
    assert error["code"] == "INVALID_API_KEY" and "ak_live_...zzzz" in error["message"]


@pytest.mark.parametrize("drop", [["X-Timestamp"], ["X-Signature"], ["X-Timestamp", "X-Signature"]])
def test_an_unsigned_request_is_missing_signature(api: Api, drop: list[str]) -> None:
    headers = {k: v for k, v in by_hand("GET", "/api/v1/engagements").items() if k not in drop}
    error = refused(api, headers)
    assert error["code"] == "MISSING_SIGNATURE"
    assert all(name in error["message"] for name in drop)


@pytest.mark.parametrize(
    ("stamp", "hint"), [("1717243200.5", "whole seconds"), ("2024-06-01T12:00:00Z", ""), ("-5", "")]
)
def test_a_timestamp_that_is_not_seconds_is_malformed_timestamp(api: Api, stamp: str, hint: str) -> None:
    error = refused(api, by_hand("GET", "/api/v1/engagements", ts=stamp))
    assert error["code"] == "MALFORMED_TIMESTAMP" and hint in error["message"]


def test_a_stale_timestamp_is_refused_and_says_the_mock_s_clock(api: Api) -> None:
    error = refused(api, by_hand("GET", "/api/v1/engagements", ts=NOW - 301))
    assert error["code"] == "STALE_TIMESTAMP"
    assert error["serverTime"] == NOW and error["toleranceSeconds"] == 300
    assert "301 s behind" in error["message"]


def test_a_future_timestamp_is_refused(api: Api) -> None:
    error = refused(api, by_hand("GET", "/api/v1/engagements", ts=NOW + 301))
    assert error["code"] == "FUTURE_TIMESTAMP" and "301 s ahead" in error["message"]


def test_a_timestamp_in_milliseconds_is_told_so(api: Api) -> None:
    error = refused(api, by_hand("GET", "/api/v1/engagements", ts=NOW * 1000))
    assert error["code"] == "FUTURE_TIMESTAMP" and "milliseconds" in error["message"]


@pytest.mark.parametrize("skew", [-300, 300])
def test_the_window_edges_are_accepted(api: Api, skew: int) -> None:
    assert signed(api, "GET", "/api/v1/engagements", ts=NOW + skew).status == 200


def test_a_wrong_secret_is_invalid_signature_showing_what_the_mock_signed(api: Api) -> None:
    error = refused(api, by_hand("GET", "/api/v1/engagements", secret="not-the-secret"))
    assert error["code"] == "INVALID_SIGNATURE"
    empty_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    assert error["signature"]["canonicalString"] == f"{NOW}.GET./api/v1/engagements.{empty_hash}"
    assert error["signature"]["bodyHash"] == empty_hash and error["signature"]["bodyBytes"] == 0
    assert error["signature"]["canonicalString"] in error["message"]
    assert "Check the secret" in error["message"]


EMPTY = base64.b64encode(hashlib.sha256(b"").digest()).decode()


@pytest.mark.parametrize(
    ("canonical", "path", "hint"),
    [
        (f"{NOW}.get./api/v1/engagements.{EMPTY}", "/api/v1/engagements", "upper case"),
        (f"{NOW}.GET./api/v1/engagements?page=2.{EMPTY}", "/api/v1/engagements?page=2", "query string"),
        (f"{NOW}.GET./engagements.{EMPTY}", "/api/v1/engagements", "without its base"),
        (f"{NOW * 1000 + 417}.GET./api/v1/engagements.{EMPTY}", "/api/v1/engagements", "milliseconds"),
        (f"{NOW - 1}.GET./api/v1/engagements.{EMPTY}", "/api/v1/engagements", "read the clock once"),
        (f"{NOW}.GET./api/v1/engagements.{hashlib.sha256(b'').hexdigest()}", "/api/v1/engagements", "hex-encoded"),
    ],
)
def test_a_bad_signature_names_the_likely_mistake(api: Api, canonical: str, path: str, hint: str) -> None:
    error = refused(api, by_hand("GET", path, canonical=canonical), path=path)
    assert error["code"] == "INVALID_SIGNATURE"
    assert hint in error["message"] and any(hint in h for h in error["signature"]["hints"])


def test_signing_the_full_url_is_named(api: Api) -> None:
    host = "localhost" if api.kind == "flask" else api._base.split("://", 1)[1]  # the Host header the client sends
    error = refused(api, by_hand("GET", "", canonical=f"{NOW}.GET.http://{host}/api/v1/engagements.{EMPTY}"))
    assert error["code"] == "INVALID_SIGNATURE" and "the full URL" in error["message"]


def test_a_body_changed_after_signing_is_named(api: Api) -> None:
    signed_body = json.dumps({"name": "Q2", "type": "quality_review"}).encode()  # '{"name": "Q2", ...}'
    sent_body = json.dumps({"name": "Q2", "type": "quality_review"}, separators=(",", ":")).encode()
    headers = {**by_hand("POST", "/api/v1/engagements", signed_body), "Content-Type": "application/json"}
    r = api.request("POST", "/api/v1/engagements", key=None, data=sent_body, headers=headers)
    assert r.status == 401 and r.json["error"]["code"] == "INVALID_SIGNATURE"
    assert "body changed after signing" in r.json["error"]["message"]
    assert r.json["error"]["signature"]["bodyBytes"] == len(sent_body)
    assert api.get("/v1/engagements").json["totalCount"] == 5  # nothing was created


def test_a_hex_signature_is_named(api: Api) -> None:
    canonical = f"{NOW}.GET./api/v1/engagements.{EMPTY}"
    hex_signature = hmac.new(HMAC_SECRET.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    headers = {"X-Api-Key": HMAC_KEY, "X-Timestamp": str(NOW), "X-Signature": hex_signature}
    error = refused(api, headers)
    assert error["code"] == "INVALID_SIGNATURE" and "encoded as hex" in error["message"]


def test_a_signature_for_another_method_is_refused(api: Api) -> None:
    error = refused(api, by_hand("POST", "/api/v1/engagements"))
    assert error["code"] == "INVALID_SIGNATURE"


# -- scopes, the same way as Bearer ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "secret", "method", "path", "body", "status"),
    [
        (HMAC_KEY, HMAC_SECRET, "GET", "/api/v1/engagements", None, 200),
        (HMAC_KEY, HMAC_SECRET, "GET", "/api/v1/engagements/eng_456", None, 200),
        (HMAC_KEY, HMAC_SECRET, "POST", "/api/v1/engagements", {"name": "n", "type": "t"}, 201),
        (HMAC_KEY, HMAC_SECRET, "PATCH", "/api/v1/engagements/eng_456", {"status": "paused"}, 200),
        (HMAC_READ_ONLY, HMAC_READ_ONLY_SECRET, "GET", "/api/v1/engagements", None, 200),
        (HMAC_READ_ONLY, HMAC_READ_ONLY_SECRET, "GET", "/api/v1/engagements/eng_456", None, 200),
        (HMAC_READ_ONLY, HMAC_READ_ONLY_SECRET, "POST", "/api/v1/engagements", {"name": "n", "type": "t"}, 403),
        (HMAC_READ_ONLY, HMAC_READ_ONLY_SECRET, "PATCH", "/api/v1/engagements/eng_456", {"status": "paused"}, 403),
    ],
)
def test_scope_matrix_of_the_signing_keys(
    api: Api, key: str, secret: str, method: str, path: str, body: Any, status: int
) -> None:
    r = signed(api, method, path, body, key=key, secret=secret)
    assert r.status == status
    if status == 403:
        assert r.json["error"]["code"] == "INSUFFICIENT_SCOPE"
        assert r.json["error"]["requiredScope"] == "engagements:write"
        assert r.headers["WWW-Authenticate"].startswith("HMAC-SHA256 ")
        assert 'error="insufficient_scope"' in r.headers["WWW-Authenticate"]
        assert api.get("/v1/engagements/eng_456").json["status"] == "active"  # nothing changed


def test_read_only_bearer_and_read_only_signing_key_answer_alike(api: Api) -> None:
    bearer = api.post("/v1/engagements", key=READ_ONLY, json={"name": "n", "type": "t"})
    sig = signed(
        api, "POST", "/api/v1/engagements", {"name": "n", "type": "t"}, key=HMAC_READ_ONLY, secret=HMAC_READ_ONLY_SECRET
    )
    assert (bearer.status, bearer.json["error"]["message"]) == (sig.status, sig.json["error"]["message"])


# -- options: the window, replays, the pinned clock ----------------------------------------------------------------


def test_the_window_is_configurable() -> None:
    client = create_app(make_config(signature_window=10)).test_client()
    assert (
        client.get("/api/v1/engagements", headers=by_hand("GET", "/api/v1/engagements", ts=NOW - 10)).status_code == 200
    )
    r = client.get("/api/v1/engagements", headers=by_hand("GET", "/api/v1/engagements", ts=NOW - 11))
    assert r.status_code == 401 and r.json["error"]["toleranceSeconds"] == 10


def test_replays_pass_by_default_and_are_refused_with_reject_replays() -> None:
    headers = by_hand("GET", "/api/v1/engagements")
    lenient = create_app(make_config()).test_client()
    assert [lenient.get("/api/v1/engagements", headers=headers).status_code for _ in range(2)] == [200, 200]
    strict = create_app(make_config(reject_replays=True)).test_client()
    assert strict.get("/api/v1/engagements", headers=headers).status_code == 200
    again = strict.get("/api/v1/engagements", headers=headers)
    assert again.status_code == 401 and again.json["error"]["code"] == "REPLAYED_REQUEST"
    # a fresh signature (another second) passes; a reset forgets what was seen
    assert (
        strict.get("/api/v1/engagements", headers=by_hand("GET", "/api/v1/engagements", ts=NOW + 1)).status_code == 200
    )
    assert strict.post("/__mock/reset").status_code == 200
    assert strict.get("/api/v1/engagements", headers=headers).status_code == 200


def test_a_replay_in_a_session_with_an_earlier_clock_is_refused_after_calls_elsewhere() -> None:
    # Remembered signatures expire by the process's clock: a call on another dataset (whose
    # clock is hours later) must not forget what this session has seen.
    client = create_app(make_config(reject_replays=True)).test_client()
    session = client.post("/__mock/sessions").json
    key = session["keys"][HMAC_KEY]
    secret = session["secrets"][key]
    earlier = "2024-06-01T10:00:00Z"  # two hours before the default dataset's pinned clock
    assert client.put(f"/__mock/clock?session={session['id']}", json={"now": earlier}).status_code == 200
    path = "/api/v1/engagements"
    headers = by_hand("GET", path, key=key, secret=secret, ts=NOW - 7200)
    assert client.get(path, headers=headers).status_code == 200
    assert client.get(path, headers=by_hand("GET", path, ts=NOW)).status_code == 200  # the default dataset
    again = client.get(path, headers=headers)
    assert again.status_code == 401 and again.json["error"]["code"] == "REPLAYED_REQUEST"


def test_the_pinned_clock_drives_the_window() -> None:
    client = create_app(make_config()).test_client()
    assert client.put("/__mock/clock", json={"now": "2024-06-01T13:00:00Z"}).status_code == 200
    r = client.get("/api/v1/engagements", headers=by_hand("GET", "/api/v1/engagements", ts=NOW))
    assert r.status_code == 401 and r.json["error"]["code"] == "STALE_TIMESTAMP"
    assert r.json["error"]["serverTime"] == NOW + 3600
    assert (
        client.get("/api/v1/engagements", headers=by_hand("GET", "/api/v1/engagements", ts=NOW + 3600)).status_code
        == 200
    )


def test_an_oversized_signed_body_answers_413_not_401() -> None:
    client = create_app(make_config(max_body_bytes=100)).test_client()
    body = json.dumps({"name": "x" * 200, "type": "t"}).encode()
    headers = {**by_hand("POST", "/api/v1/engagements", body), "Content-Type": "application/json"}
    assert client.post("/api/v1/engagements", data=body, headers=headers).status_code == 413


def test_auth_disabled_lets_unsigned_calls_through_on_api_v1() -> None:
    client = create_app(make_config(enforce_auth=False)).test_client()
    assert client.get("/api/v1/engagements").status_code == 200


# -- secrets stay secret --------------------------------------------------------------------------------------------


def test_the_journal_masks_the_key_and_holds_no_secret_nor_signature(api: Api) -> None:
    client = create_app(make_config()).test_client()
    headers = by_hand("GET", "/api/v1/engagements")
    client.get("/api/v1/engagements", headers=headers)
    client.get("/api/v1/engagements", headers={**headers, "X-Signature": "AAAA"})
    journal = client.get("/__mock/requests").json
    entries = journal["requests"] if isinstance(journal, dict) else journal
    assert [e["status"] for e in entries] == [200, 401]
    assert entries[0]["apiKey"] != HMAC_KEY and entries[0]["apiKey"].endswith("45pq")
    text = json.dumps(journal)
    assert HMAC_KEY not in text and HMAC_SECRET not in text and headers["X-Signature"] not in text


def test_the_access_log_shows_no_key_nor_secret(capsys: pytest.CaptureFixture[str]) -> None:
    app = create_app(make_config(access_log=True))
    engine = app.extensions["auralytik_mock"]
    app.test_client().get("/api/v1/engagements?page=1", headers=by_hand("GET", "/api/v1/engagements"))
    engine.access_log.flush()
    err = capsys.readouterr().err
    assert "/api/v1/engagements 200" in err
    assert HMAC_KEY not in err and HMAC_SECRET not in err


def test_the_state_dump_carries_secrets_as_the_fixtures_do() -> None:
    client = create_app(make_config()).test_client()
    dumped = client.get("/__mock/state").json
    acme = yaml.safe_load((FIXTURES / "acme.yaml").read_text())["clients"][0]
    assert dumped["clients"][0]["apiKeys"] == [
        {"key": k["key"], "scopes": k["scopes"], **({"secret": k["secret"]} if "secret" in k else {})}
        for k in acme["apiKeys"]
    ]
    assert client.put("/__mock/state", json=dumped).status_code == 200  # and it loads back
    assert client.get("/api/v1/engagements", headers=by_hand("GET", "/api/v1/engagements")).status_code == 200


# -- sessions hand out signing keys with secrets --------------------------------------------------------------------


def test_sessions_hand_out_signing_keys_with_their_secrets() -> None:
    client = create_app(make_config()).test_client()
    session = client.post("/__mock/sessions").json
    key = session["keys"][HMAC_KEY]
    secret = session["secrets"][key]
    assert key != HMAC_KEY and key.startswith("ak_live_") and len(key) == 40 and secret != HMAC_SECRET
    assert set(session["secrets"]) == {key, session["keys"][HMAC_READ_ONLY]}
    created = client.post(
        "/api/v1/engagements",
        data=b'{"name": "mine", "type": "t"}',
        headers={
            **by_hand("POST", "/api/v1/engagements", b'{"name": "mine", "type": "t"}', key=key, secret=secret),
            "Content-Type": "application/json",
        },
    )
    assert created.status_code == 201
    mine = client.get("/api/v1/engagements", headers=by_hand("GET", "/api/v1/engagements", key=key, secret=secret))
    assert mine.json["totalCount"] == 6
    default = client.get("/api/v1/engagements", headers=by_hand("GET", "/api/v1/engagements"))
    assert default.json["totalCount"] == 5  # the fixture key does not see the session's data
    assert refused_flask(client, by_hand("GET", "/api/v1/engagements", key=key))["code"] == "INVALID_SIGNATURE"
    # a session reset keeps its keys and secrets
    assert client.post(f"/__mock/sessions/{session['id']}/reset").status_code == 200
    again = client.get("/api/v1/engagements", headers=by_hand("GET", "/api/v1/engagements", key=key, secret=secret))
    assert again.status_code == 200 and again.json["totalCount"] == 5


def refused_flask(client: Any, headers: dict[str, str]) -> Any:
    r = client.get("/api/v1/engagements", headers=headers)
    assert r.status_code == 401
    return r.json["error"]


# -- fixtures ---------------------------------------------------------------------------------------------------------


def _fixture_with_keys(tmp_path: Any, keys: list[dict[str, Any]]) -> Any:
    path = tmp_path / "keys.yaml"
    path.write_text(yaml.safe_dump({"clients": [{"id": "client_x", "name": "X", "apiKeys": keys}]}))
    return build_world(make_config(spec_path=SPEC_PATH, fixtures=(path,)))


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ({"key": "MY_KEY", "secret": "s", "scopes": []}, "apiKeys[0].key: a key with a secret signs its requests"),
        ({"key": "ak_live_" + "a" * 32, "scopes": []}, "apiKeys[0].secret: an ak_live_ key signs its requests"),
        ({"key": "ak_live_" + "a" * 32, "secret": "", "scopes": []}, "apiKeys[0].secret: must be a non-empty string"),
        ({"key": "K", "scopes": [], "secrets": "x"}, "unknown field(s) secrets (allowed: key, scopes, secret)"),
    ],
)
def test_a_bad_signing_key_in_the_fixtures_names_the_field(tmp_path: Any, key: dict[str, Any], fragment: str) -> None:
    with pytest.raises(FixtureError) as info:
        _fixture_with_keys(tmp_path, [key])
    assert fragment in str(info.value)


def test_a_fixture_signing_key_works_on_api_v1(tmp_path: Any) -> None:
    world = _fixture_with_keys(tmp_path, [{"key": "ak_live_" + "b" * 32, "secret": "s3cr3t", "scopes": []}])
    principal = world.store.lookup_key("ak_live_" + "b" * 32)
    assert principal is not None and principal.secret == "s3cr3t" and "s3cr3t" not in repr(principal)


# -- CORS: browsers may send the signing headers --------------------------------------------------------------------


def test_a_preflight_allows_the_signing_headers(api: Api) -> None:
    r = api.request(
        "OPTIONS",
        "/api/v1/engagements",
        key=None,
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
        check=False,
    )
    assert r.status == 204
    allowed = {h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"x-api-key", "x-timestamp", "x-signature", "content-type"} <= allowed


# -- configuration and the serve banner -----------------------------------------------------------------------------


def test_window_and_replays_come_from_flags_and_variables() -> None:
    from auralytik_mock.cli import _config, _parser
    from auralytik_mock.config import Config

    env = Config.from_env({"AURALYTIK_MOCK_SIGNATURE_WINDOW": "60", "AURALYTIK_MOCK_REJECT_REPLAYS": "true"})
    assert (env.signature_window, env.reject_replays) == (60, True)
    with pytest.raises(ValueError, match="AURALYTIK_MOCK_SIGNATURE_WINDOW"):
        Config.from_env({"AURALYTIK_MOCK_SIGNATURE_WINDOW": "-1"})
    args = _parser().parse_args(["serve", "--signature-window", "30", "--reject-replays"])
    config = _config(args)
    assert (config.signature_window, config.reject_replays) == (30, True)


def test_the_serve_banner_lists_signing_keys_apart_without_secrets() -> None:
    from auralytik_mock.cli import banner
    from auralytik_mock.harness.sandbox import Engine

    text = banner(Engine(make_config()), "http://127.0.0.1:4010")
    bearer_part, signed_part = text.split("signing keys at http://127.0.0.1:4010/api/v1")
    assert HMAC_KEY in signed_part and HMAC_KEY not in bearer_part and KEY in bearer_part
    assert HMAC_SECRET not in text


@pytest.mark.parametrize(
    ("code", "error", "error_code"), [(401, "invalid_token", "INVALID_API_KEY"), (403, "insufficient_scope", None)]
)
def test_a_forced_401_or_403_on_api_v1_challenges_with_the_signing_scheme(
    api: Api, code: int, error: str, error_code: str | None
) -> None:
    headers = {**by_hand("GET", "/api/v1/engagements"), "Prefer": f"code={code}"}
    r = api.request("GET", "/api/v1/engagements", key=None, headers=headers)
    assert r.status == code
    assert (
        r.headers["WWW-Authenticate"].startswith("HMAC-SHA256 ") and f'error="{error}"' in r.headers["WWW-Authenticate"]
    )
    if error_code is not None:  # the signing scheme's own code, not the Bearer one
        assert r.json["error"]["code"] == error_code and "Prefer: code=401" in r.json["error"]["message"]
        assert HMAC_KEY not in r.text
    bearer = api.get("/v1/engagements", headers={"Prefer": f"code={code}"})
    assert bearer.status == code and bearer.headers["WWW-Authenticate"].startswith("Bearer ")


def test_a_fault_rule_401_on_api_v1_without_a_key_is_missing_api_key(api: Api) -> None:
    # A rule acts before authentication: a call without X-Api-Key gets what a real one would.
    rule = api.request("POST", "/__mock/faults", key=None, json={"path": "/api/v1/engagements", "status": 401})
    assert rule.status == 201
    r = api.get("/api/v1/engagements", key=None, check=False)
    assert r.status == 401 and r.json["error"]["code"] == "MISSING_API_KEY"
    assert r.headers["WWW-Authenticate"].startswith("HMAC-SHA256 ")


def test_a_session_s_own_pinned_clock_drives_its_window() -> None:
    client = create_app(make_config()).test_client()
    session = client.post("/__mock/sessions").json
    key = session["keys"][HMAC_KEY]
    secret = session["secrets"][key]
    assert client.put(f"/__mock/clock?session={session['id']}", json={"now": "2024-06-01T14:00:00Z"}).status_code == 200
    path = "/api/v1/engagements"
    assert client.get(path, headers=by_hand("GET", path, key=key, secret=secret, ts=NOW + 7200)).status_code == 200
    stale = client.get(path, headers=by_hand("GET", path, key=key, secret=secret, ts=NOW))
    assert stale.status_code == 401 and stale.json["error"]["code"] == "STALE_TIMESTAMP"
    assert client.get(path, headers=by_hand("GET", path, ts=NOW)).status_code == 200  # the default clock is unchanged


def test_a_session_keeps_its_signing_key_across_a_restart_and_a_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    from auralytik_mock.core import seed as seed_module

    world = build_world(make_config())
    namespace, keys = world.store.create_session()
    key = keys[HMAC_KEY]
    dumped = world.store.dump(namespace)
    # A new process (--persist): another salt, the session restored from its dump.
    monkeypatch.setattr(seed_module, "_SESSION_SALT", b"another process")
    again = build_world(make_config())
    again.store.restore(namespace, world.loader.load_documents([("state", dumped)]))
    again.store.reset(namespace)
    principal = again.store.lookup_key(key.key)
    assert principal is not None and principal.secret == key.secret and principal.namespace == namespace
