"""The contract itself: every operation is served, and the mock never answers outside openapi.yaml."""

from __future__ import annotations

from auralytik_mock import create_app
from auralytik_mock.core.types import MockResponse
from auralytik_mock.http.wsgi import engine_of
from tests.conftest import _SPEC, make_config


def test_every_operation_of_the_spec_has_a_handler() -> None:
    engine = engine_of(create_app(make_config()))
    assert set(engine.world.handlers) == {op.operation_id for op in _SPEC.operations}


def test_every_documented_error_uses_the_envelope() -> None:
    for op in _SPEC.operations:
        for status, response in op.responses.items():
            if response.media_types == ("application/xml",):  # the blob store's: Azure's XML <Error>
                assert op.operation_id in {"putAudioFileBlob", "getAudioFileBlob"}, op.operation_id
                continue
            if status.startswith(("4", "5")):
                assert response.schema_pointer is not None, (op.operation_id, status)
                schema = _SPEC.schema_at(response.schema_pointer)
                assert schema is _SPEC.schema_at("/components/schemas/Error"), (op.operation_id, status)


def test_self_check_turns_drift_into_500_contract_violation() -> None:
    app = create_app(make_config(validate_responses=True))
    engine = engine_of(app)
    engine.world.handlers["getEngagement"] = lambda call: MockResponse(200, {"id": "eng_456", "name": 7})
    r = app.test_client().get("/v1/engagements/eng_456", headers={"Authorization": "Bearer YOUR_API_KEY"})
    assert r.status_code == 500
    error = r.json["error"]
    assert error["code"] == "MOCK_CONTRACT_VIOLATION"
    fields = {d["message"] for d in error["details"]}
    assert "body.name: must be a string, got 7" in fields
    assert "body.type: is required" in fields


def test_self_check_catches_an_undocumented_status() -> None:
    app = create_app(make_config(validate_responses=True))
    engine_of(app).world.handlers["getEngagement"] = lambda call: MockResponse(418, {"teapot": True})
    r = app.test_client().get("/v1/engagements/eng_456", headers={"Authorization": "Bearer YOUR_API_KEY"})
    assert r.status_code == 500
    assert "status 418 is not documented for getEngagement" in r.json["error"]["details"][0]["message"]


def test_without_self_check_the_handler_answer_passes_through() -> None:
    app = create_app(make_config(validate_responses=False))
    engine_of(app).world.handlers["getEngagement"] = lambda call: MockResponse(200, {"id": "eng_456"})
    r = app.test_client().get("/v1/engagements/eng_456", headers={"Authorization": "Bearer YOUR_API_KEY"})
    assert r.status_code == 200 and r.json == {"id": "eng_456"}


def test_a_bug_in_a_handler_is_a_500_envelope_and_logged(caplog) -> None:
    app = create_app(make_config())

    def broken(call):
        raise RuntimeError("boom")

    engine_of(app).world.handlers["getEngagement"] = broken
    r = app.test_client().get("/v1/engagements/eng_456", headers={"Authorization": "Bearer YOUR_API_KEY"})
    assert r.status_code == 500 and r.json["error"]["code"] == "INTERNAL_ERROR"
    assert "RuntimeError: boom" in caplog.text


def test_own_flask_routes_still_work_beside_the_spec() -> None:
    app = create_app(make_config())

    @app.get("/my/extra")
    def extra() -> dict:
        return {"mine": True}

    client = app.test_client()
    assert client.get("/my/extra").json == {"mine": True}
    r = client.get("/my/other")
    assert r.status_code == 404 and r.json["error"]["code"] == "NOT_FOUND", "unknown paths keep the envelope"
    assert client.get("/v1/engagements/eng_456", headers={"Authorization": "Bearer YOUR_API_KEY"}).status_code == 200
