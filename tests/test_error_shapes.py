"""Errors in the spec's own shape: every refusal answers as the operation documents its status.

``tests/data/errors/`` holds one spec three ways: errors as RFC 9457 problem details
(``application/problem+json``), in a custom body of the API's own, and not documented at all
(the envelope). Each refusal is checked with ``--validate-responses`` on, so an answer outside
the spec would come back as a 500.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from auralytik_mock import Config, Engine
from auralytik_mock.core.types import MockRequest, MockResponse
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data" / "errors"


def _engine(spec: str) -> Engine:
    return Engine(
        Config(
            spec_path=DATA / spec,
            fixtures=(DATA / "fixtures.yaml",),
            validate_responses=True,
            access_log=False,
        )
    )


def _call(engine: Engine, method: str, path: str, body: Any = None, **headers: str) -> MockResponse:
    raw = json.dumps(body).encode() if body is not None else b""
    if raw:
        headers.setdefault("Content-Type", "application/json")
    return engine.handle(MockRequest(method, path, headers=headers, body=raw))


@pytest.fixture(scope="module")
def problem() -> Engine:
    return _engine("problem.yaml")


@pytest.fixture(scope="module")
def custom() -> Engine:
    return _engine("custom.yaml")


def test_a_404_is_problem_details_when_the_spec_says_so(problem: Engine) -> None:
    r = _call(problem, "GET", "/v1/things/thg_404")
    assert r.status == 404 and r.content_type == "application/problem+json"
    assert r.body["type"] == "about:blank" and r.body["title"] == "Not Found" and r.body["status"] == 404
    assert "thg_404" in r.body["detail"]


def test_a_400_lists_every_violation_where_the_problem_has_room(problem: Engine) -> None:
    r = _call(problem, "POST", "/v1/things", {"name": "", "colour": "red"})
    assert r.status == 400 and r.content_type == "application/problem+json", r.body
    assert r.body["status"] == 400 and r.body["title"] == "Bad Request"
    pointers = {e["pointer"] for e in r.body["errors"]}
    assert {"body.name", "body.colour"} <= pointers, r.body
    assert all(e["detail"] for e in r.body["errors"])


def test_refusals_of_no_operation_take_the_documented_default_shape(problem: Engine) -> None:
    unknown = _call(problem, "GET", "/v1/nowhere")
    assert unknown.status == 404 and unknown.content_type == "application/problem+json"
    assert unknown.body["status"] == 404 and unknown.body["detail"]
    wrong_method = _call(problem, "DELETE", "/v1/things")
    assert wrong_method.status == 405 and "POST" in wrong_method.headers["Allow"]
    assert wrong_method.content_type == "application/problem+json" and wrong_method.body["status"] == 405


def test_a_forced_error_takes_the_documented_shape_too(problem: Engine) -> None:
    r = _call(problem, "POST", "/v1/things", {"name": "x"}, Prefer="code=400")
    assert r.status == 400 and r.content_type == "application/problem+json"
    assert "Prefer" in r.body["detail"]


def test_a_custom_error_body_gets_message_code_and_valid_required_fields(custom: Engine) -> None:
    r = _call(custom, "GET", "/v1/things/thg_404")
    assert r.status == 404 and r.content_type == "application/json"
    assert r.body["errorCode"] == "NOT_FOUND" and "thg_404" in r.body["errorMessage"]
    assert isinstance(r.body["retryable"], bool) and r.body["timestamp"].endswith("Z")
    assert set(r.body) == {"errorCode", "errorMessage", "timestamp", "retryable"}  # no violations: no list


def test_a_custom_error_body_lists_violations_as_its_strings(custom: Engine) -> None:
    r = _call(custom, "POST", "/v1/things", {"name": ""})
    assert r.status == 400 and r.body["errorCode"] == "VALIDATION_ERROR"
    assert r.body["errors"] and r.body["errors"][0].startswith("body.name ")


def test_without_documented_errors_the_generic_envelope_answers() -> None:
    engine = Engine(Config(spec_path=DATA / "none.yaml", fixtures=(DATA / "fixtures.yaml",), access_log=False))
    r = _call(engine, "POST", "/v1/things", {"name": ""})
    assert r.status == 400 and r.content_type == "application/json"
    assert r.body["error"]["code"] == "VALIDATION_ERROR" and r.body["error"]["requestId"] == r.headers["X-Request-Id"]


def test_a_read_that_documents_no_refusal_answers_a_record_not_held_from_the_spec() -> None:
    # GET /things/{thingId} documents only 200: the spec says it never fails (Prism answers it so)
    engine = Engine(Config(spec_path=DATA / "none.yaml", fixtures=(DATA / "fixtures.yaml",), access_log=False))
    r = _call(engine, "GET", "/v1/things/thg_404")
    assert r.status == 200 and r.body["id"] == "thg_404" and r.body["name"]


def test_the_bundled_spec_keeps_the_vendor_envelope() -> None:
    engine = Engine(Config(access_log=False, validate_responses=True))
    assert engine.world.profile.name == "auralytik" and engine.world.profile.error_envelope == "error"
    r = _call(engine, "GET", "/v1/engagements", Authorization="Bearer nope")
    assert r.status == 401 and r.content_type == "application/json"
    assert set(r.body) == {"error"} and r.body["error"]["code"] == "INVALID_API_KEY"


def test_the_journal_names_the_error_code_whatever_the_shape(problem: Engine) -> None:
    _call(problem, "GET", "/v1/things/thg_journal")
    entry = problem.journal.metadata()[-1]
    assert entry["path"] == "/v1/things/thg_journal" and entry["errorCode"] == "NOT_FOUND"
