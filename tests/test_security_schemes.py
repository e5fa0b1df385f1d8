"""Security as the spec says: apiKey (header, query, cookie), http basic and bearer, oauth2 and
openIdConnect, alternatives and ``security: []``; with fixtures and without.

``tests/data/security/schemes.yaml`` reads one note by any of six schemes (alternatives),
creates one with an ``oauth2`` scope, and has a public status; ``fixtures.yaml`` has a key
with every scope and a read-only one.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from auralytik_mock import Config, Engine
from auralytik_mock.core.types import MockRequest, MockResponse
from auralytik_mock.harness import admin
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data" / "security"


def _call(
    engine: Engine, method: str, path: str, body: Any = None, query: dict[str, list[str]] | None = None, **headers: str
) -> MockResponse:
    raw = json.dumps(body).encode() if body is not None else b""
    if raw:
        headers["Content-Type"] = "application/json"
    return engine.handle(MockRequest(method, path, query=query or {}, headers=headers, body=raw))


@pytest.fixture(scope="module")
def fixtures() -> Engine:
    return Engine(
        Config(
            spec_path=DATA / "schemes.yaml",
            fixtures=(DATA / "fixtures.yaml",),
            validate_responses=True,
            access_log=False,
        )
    )


@pytest.fixture(scope="module")
def bare() -> Engine:
    return Engine(Config(spec_path=DATA / "schemes.yaml", validate_responses=True, access_log=False))


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _ways(key: str) -> dict[str, dict[str, Any]]:
    """Each way the spec lets a key in, sending ``key``."""
    return {
        "apiKey header": {"X-API-Key": key},
        "apiKey query": {"query": {"api_key": [key]}},
        "apiKey cookie": {"Cookie": f"theme=dark; session={key}"},
        "http basic, key as password": {"Authorization": _basic("me", key)},
        "http basic, key as user": {"Authorization": _basic(key, "")},
        "http bearer / openIdConnect": {"Authorization": f"Bearer {key}"},
    }


WAYS = list(_ways(""))


@pytest.mark.parametrize("way", WAYS)
def test_every_scheme_of_the_alternatives_lets_a_fixture_key_in(fixtures: Engine, way: str) -> None:
    r = _call(fixtures, "GET", "/v1/notes/n1", **_ways("FULL_KEY")[way])
    assert r.status == 200 and r.body == {"id": "n1", "text": "first note"}, r.body


@pytest.mark.parametrize("way", WAYS)
def test_an_unknown_key_is_a_401_in_the_specs_shape_whatever_the_scheme(fixtures: Engine, way: str) -> None:
    r = _call(fixtures, "GET", "/v1/notes/n1", **_ways("NOT_A_KEY")[way])
    assert r.status == 401 and set(r.body) == {"message"} and "not valid" in r.body["message"], r.body
    assert r.headers["WWW-Authenticate"]


def test_no_credentials_is_a_401_naming_every_way_in(fixtures: Engine) -> None:
    r = _call(fixtures, "GET", "/v1/notes/n1")
    assert r.status == 401 and set(r.body) == {"message"}
    for named in ("'X-API-Key' header", "'api_key' query parameter", "'session' cookie", "Basic", "Bearer"):
        assert named in r.body["message"], r.body["message"]


def test_malformed_basic_credentials_are_a_401(fixtures: Engine) -> None:
    r = _call(fixtures, "GET", "/v1/notes/n1", Authorization="Basic !!!not-base64")
    assert r.status == 401 and "malformed" in r.body["message"]


def test_an_oauth2_scope_is_enforced_like_a_bearer_scope(fixtures: Engine) -> None:
    refused = _call(fixtures, "POST", "/v1/notes", {"text": "x"}, Authorization="Bearer READ_KEY")
    assert refused.status == 403 and "notes:write" in refused.body["message"]
    made = _call(fixtures, "POST", "/v1/notes", {"text": "x"}, Authorization="Bearer FULL_KEY")
    assert made.status == 201 and made.body["text"] == "x"


def test_security_none_is_public(fixtures: Engine) -> None:
    assert _call(fixtures, "GET", "/v1/status").status == 200


def test_another_spec_never_loads_the_bundled_fixtures() -> None:
    assert Config(spec_path=DATA / "schemes.yaml").resolved_fixtures == ()
    assert Config().resolved_fixtures and Config().resolved_fixtures[0].name == "fixtures"
    assert Engine(Config(spec_path=DATA / "schemes.yaml")).world.fixture_paths == ()


def test_a_copy_of_the_bundled_spec_served_without_fixtures_gets_the_sandbox_data(tmp_path) -> None:
    # `serve --spec openapi.yaml` on the clone's copy: the spec selects the vendor's profile,
    # which brings the bundled fixtures (another spec starts empty, above).
    copy = tmp_path / "openapi.yaml"
    copy.write_text((ROOT / "openapi.yaml").read_text())
    engine = Engine(Config(spec_path=copy))
    got = _call(engine, "GET", "/v1/engagements/eng_456", Authorization="Bearer YOUR_API_KEY")
    assert got.status == 200 and got.body["id"] == "eng_456"
    refused = _call(engine, "GET", "/v1/engagements/eng_456", Authorization="Bearer not-a-key-of-the-fixtures")
    assert refused.status == 401


def test_without_fixtures_any_well_formed_key_is_the_default_client_with_every_scope(bare: Engine) -> None:
    assert _call(bare, "GET", "/v1/notes/n1", Authorization="Bearer anything").status == 404  # empty, but in
    made = _call(bare, "POST", "/v1/notes", {"text": "mine"}, Authorization="Bearer whatever-token")
    assert made.status == 201, made.body
    again = _call(bare, "GET", f"/v1/notes/{made.body['id']}", query={"api_key": ["another-key"]})
    assert again.status == 200 and again.body["text"] == "mine"


def test_without_fixtures_a_missing_or_malformed_credential_is_still_the_specs_401(bare: Engine) -> None:
    missing = _call(bare, "GET", "/v1/notes/n1")
    assert missing.status == 401 and set(missing.body) == {"message"}
    malformed = _call(bare, "GET", "/v1/notes/n1", Authorization="Bearer ")
    assert malformed.status == 401


def test_a_forced_401_is_the_401_the_scheme_would_give(fixtures: Engine) -> None:
    # Auth builds forced refusals too: no key names every way in; a key sent by any scheme is
    # refused as an unknown one, with that scheme's challenge.
    real = _call(fixtures, "GET", "/v1/notes/n1")
    forced = _call(fixtures, "GET", "/v1/notes/n1", Prefer="code=401")
    assert forced.status == 401 and forced.body["message"].startswith(real.body["message"].rstrip("."))
    assert forced.headers["WWW-Authenticate"] == real.headers["WWW-Authenticate"]
    by_query = _call(fixtures, "GET", "/v1/notes/n1", query={"api_key": ["FULL_KEY"]}, Prefer="code=401")
    assert by_query.status == 401 and "not valid" in by_query.body["message"]
    assert (
        by_query.headers["WWW-Authenticate"].startswith("ApiKey ")
        and 'in="query"' in by_query.headers["WWW-Authenticate"]
    )


@pytest.mark.parametrize("way", WAYS)
def test_a_sessions_key_leads_into_the_session_whatever_the_scheme(way: str) -> None:
    # The caller is identified once, by any scheme: the session's journal shows the call and the
    # session's fault rules apply to it (not only to a Bearer or X-Api-Key header, as before).
    config = Config(spec_path=DATA / "schemes.yaml", fixtures=(DATA / "fixtures.yaml",), access_log=False)
    engine = Engine(config, admin=admin.handle)
    session = _call(engine, "POST", "/__mock/sessions").body
    key, sid = session["keys"]["FULL_KEY"], session["id"]
    rule = {"path": "/v1/notes/n1", "status": 401, "times": 1}
    assert _call(engine, "POST", "/__mock/faults", rule, query={"session": [sid]}).status == 201
    assert _call(engine, "GET", "/v1/notes/n1", **_ways(key)[way]).status == 401
    assert _call(engine, "GET", "/v1/notes/n1", **_ways(key)[way]).status == 200
    listed = _call(engine, "GET", "/__mock/requests", query={"session": [sid]})
    journal = json.loads(listed.raw or b"")["requests"]
    assert [e["status"] for e in journal if e["path"] == "/v1/notes/n1"] == [401, 200]


def test_the_challenges_name_the_specs_own_realm_not_the_vendors(fixtures: Engine) -> None:
    # Another spec's challenges never carry the bundled vendor's name: its title is the realm.
    realm = 'realm="Notes behind every kind of security scheme"'
    assert realm in _call(fixtures, "GET", "/v1/notes/n1").headers["WWW-Authenticate"]
    assert realm in _call(fixtures, "GET", "/v1/notes/n1", Authorization="Bearer NOT_A_KEY").headers["WWW-Authenticate"]
    refused = _call(fixtures, "POST", "/v1/notes", {"text": "x"}, Authorization="Bearer READ_KEY")
    assert refused.status == 403 and realm in refused.headers["WWW-Authenticate"]
    assert "auralytik" not in json.dumps(refused.headers).lower()


def test_a_title_that_cannot_be_a_realm_is_cut_to_one_that_can() -> None:
    from auralytik_mock.core.profile import Profile, load_profile, realm_for

    assert realm_for(Profile(), {"info": {"title": 'Orders "API"\\\n  v2\u00e9'}}) == "Orders API v2"
    assert realm_for(Profile(), {"info": {}}) == realm_for(Profile(), {"info": {"title": '"'}}) == "api"
    assert realm_for(load_profile("auralytik"), {"info": {"title": "Renamed"}}) == "auralytik"
