"""Start-up checks: a spec or fixture that cannot drive the mock stops it with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from auralytik_mock import Config, FixtureError, SpecError, create_app
from auralytik_mock.core.fixtures import FixtureLoader
from auralytik_mock.core.pipeline import build_world
from auralytik_mock.core.spec import Spec
from auralytik_mock.core.validation import SchemaSet
from tests.conftest import FIXTURES, SPEC_PATH, read_yaml, spec_document, yaml_text


def _spec_doc() -> dict:
    return spec_document()


def _write(tmp_path: Path, name: str, document: object) -> Path:
    path = tmp_path / name
    path.write_text(yaml_text(document, sort_keys=False) if not isinstance(document, str) else document)
    return path


def _fixture_doc(folder: Path = FIXTURES) -> dict:
    """Acme's fixtures; from ``small_fixtures`` for the tests of a mistake in one record, since
    a load makes every generated record before it reports (the same records by hand)."""
    return read_yaml((folder / "acme.yaml").read_text())


ANALYTICS = {
    "summary": "getAnalyticsSummary",
    "campaigns": "getAnalyticsCampaigns",
    "call-centers": "getAnalyticsCallCenters",
    "executives": "getAnalyticsExecutives",
    "trends": "getAnalyticsTrends",
}


def test_spec_indexes_the_four_operations_under_v1_and_health_at_root() -> None:
    spec = Spec.load(SPEC_PATH)
    routes = {(op.method, op.path): op.operation_id for op in spec.operations}
    assert routes == {
        ("GET", "/health"): "getHealth",
        ("GET", "/v1/engagements"): "listEngagements",
        ("POST", "/v1/engagements"): "createEngagement",
        ("GET", "/v1/engagements/{id}"): "getEngagement",
        ("PATCH", "/v1/engagements/{id}"): "updateEngagement",
        ("GET", "/v1/evaluations"): "listEvaluations",
        ("GET", "/v1/evaluations/{id}"): "getEvaluation",
        ("GET", "/v1/evaluations/{id}/transcript"): "getEvaluationTranscript",
        ("GET", "/v1/evaluations/{id}/results"): "getEvaluationResults",
        ("GET", "/v1/campaigns"): "listCampaigns",
        ("GET", "/v1/campaigns/{id}"): "getCampaign",
        ("GET", "/v1/conversations"): "listConversations",
        ("GET", "/v1/conversations/{id}"): "getConversation",
        ("GET", "/v1/conversations/{id}/messages"): "getConversationMessages",
        **{("GET", f"/v1/analytics/{name}"): op for name, op in ANALYTICS.items()},
        ("GET", "/v1/voice-calls"): "listVoiceCalls",
        ("GET", "/v1/voice-calls/{id}"): "getVoiceCall",
        ("GET", "/v1/voice-calls/{id}/epa-results"): "getVoiceCallEpaResults",
        ("GET", "/v1/voice-calls/{id}/recording-url"): "getVoiceCallRecordingUrl",
        ("GET", "/v1/voice-calls/{id}/recording"): "getVoiceCallRecording",
        ("GET", "/v1/audio-files"): "listAudioFiles",
        ("POST", "/v1/audio-files/upload-url"): "createAudioFileUploadUrl",
        ("GET", "/v1/audio-files/{id}"): "getAudioFile",
        ("POST", "/v1/audio-files/{id}/process"): "processAudioFile",
        ("GET", "/v1/audio-files/{id}/processing-status"): "getAudioFileProcessingStatus",
        ("GET", "/v1/audio-files/{id}/transcript"): "getAudioFileTranscript",
        ("GET", "/v1/audio-files/{id}/download-url"): "getAudioFileDownloadUrl",
        ("PUT", "/v1/audio-files/{id}/blob"): "putAudioFileBlob",
        ("GET", "/v1/audio-files/{id}/blob"): "getAudioFileBlob",
        ("POST", "/v1/exports/ai-calls"): "createAiCallsExport",
        ("GET", "/v1/exports/{jobId}"): "getExport",
        ("GET", "/v1/exports/{jobId}/download"): "downloadExport",
        ("POST", "/v1/analytics/export"): "createAnalyticsExport",
        ("GET", "/v1/analytics/export/{jobId}"): "getAnalyticsExport",
        ("GET", "/v1/analytics/export/{jobId}/download"): "downloadAnalyticsExport",
        ("GET", "/v1/usage/summary"): "getUsageSummary",
        ("GET", "/v1/usage/details"): "getUsageDetails",
        ("GET", "/v1/usage/by-key"): "getUsageByKey",
        ("GET", "/v1/webhooks"): "listWebhooks",
        ("POST", "/v1/webhooks"): "createWebhook",
        ("PATCH", "/v1/webhooks/{id}"): "updateWebhook",
        ("DELETE", "/v1/webhooks/{id}"): "deleteWebhook",
        ("POST", "/v1/webhooks/{id}/test"): "testWebhook",
        ("GET", "/v1/webhooks/{id}/deliveries"): "listWebhookDeliveries",
    }


def test_spec_reads_each_operations_scope_from_security() -> None:
    scopes = {op.operation_id: op.required_scopes for op in Spec.load(SPEC_PATH).operations}
    assert scopes == {
        "getHealth": (),
        "listEngagements": ("engagements:read",),
        "getEngagement": ("engagements:read",),
        "createEngagement": ("engagements:write",),
        "updateEngagement": ("engagements:write",),
        "listEvaluations": ("evaluations:read",),
        "getEvaluation": ("evaluations:read",),
        "getEvaluationTranscript": ("evaluations:read",),
        "getEvaluationResults": ("evaluations:read",),
        "listCampaigns": ("campaigns:read",),
        "getCampaign": ("campaigns:read",),
        "listConversations": ("conversations:read",),
        "getConversation": ("conversations:read",),
        "getConversationMessages": ("conversations:read",),
        **{op: ("analytics:read",) for op in ANALYTICS.values()},
        "listVoiceCalls": ("voice:read",),
        "getVoiceCall": ("voice:read",),
        "getVoiceCallEpaResults": ("voice:read",),
        "getVoiceCallRecordingUrl": ("audio:download",),
        "getVoiceCallRecording": (),
        "listAudioFiles": ("audio:read",),
        "createAudioFileUploadUrl": ("audio:write",),
        "getAudioFile": ("audio:read",),
        "processAudioFile": ("audio:write",),
        "getAudioFileProcessingStatus": ("audio:read",),
        "getAudioFileTranscript": ("audio:read",),
        "getAudioFileDownloadUrl": ("audio:download",),
        "putAudioFileBlob": (),
        "getAudioFileBlob": (),
        "createAiCallsExport": ("analytics:export",),
        "getExport": ("analytics:export",),
        "downloadExport": (),
        "createAnalyticsExport": ("analytics:export",),
        "getAnalyticsExport": ("analytics:read",),
        "downloadAnalyticsExport": (),
        "getUsageSummary": ("usage:read",),
        "getUsageDetails": ("usage:read",),
        "getUsageByKey": ("usage:read",),
        **{
            op: ("webhooks:manage",)
            for op in (
                "listWebhooks",
                "createWebhook",
                "updateWebhook",
                "deleteWebhook",
                "testWebhook",
                "listWebhookDeliveries",
            )
        },
    }


def test_operation_that_fits_no_shape_is_served_from_the_spec(tmp_path: Path) -> None:
    doc = _spec_doc()
    doc["paths"]["/engagements/{id}/archive"] = {
        "post": {
            "operationId": "archiveEngagement",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {
                    "description": "archived",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Engagement"}}},
                }
            },
        }
    }
    path = _write(tmp_path, "spec.yaml", doc)
    app = create_app(Config(spec_path=path, fixtures=(FIXTURES,), enforce_auth=False))
    r = app.test_client().post("/api/v1/engagements/eng_123/archive")
    assert r.status_code == 200 and set(r.json) >= {"id", "name", "type", "status"}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(openapi="2.0"), "OpenAPI 3.0.x and 3.1.x are supported, got '2.0'"),
        (
            lambda d: d["paths"]["/engagements"]["get"]["responses"]["200"]["content"]["application/json"].update(
                schema={"$ref": "#/components/schemas/Nope"}
            ),
            "does not exist",
        ),
        (lambda d: d["paths"]["/engagements"]["post"].update(operationId="listEngagements"), "also used by"),
        (
            lambda d: d["components"]["securitySchemes"].update(
                bearerAuth={"type": "apiKey", "in": "body", "name": "X-Key"}
            ),
            "an apiKey scheme takes in: header, query or cookie",
        ),
        (
            lambda d: d["servers"].append({"url": "http://x/v1", "x-mock-security": ["apiKeyAuth"]}),
            "must accept the same schemes",
        ),
        (lambda d: d["servers"][0].update({"x-mock-security": ["nope"]}), "nope not in components.securitySchemes"),
        (
            lambda d: d["paths"]["/engagements"]["get"].update(security=[{"bearerAuth": ["engagements:read"]}]),
            "no security alternative can be used under '/api/v1'",
        ),
    ],
)
def test_bad_spec_names_the_file_and_the_problem(tmp_path: Path, mutate, message: str) -> None:
    doc = _spec_doc()
    mutate(doc)
    path = _write(tmp_path, "spec.yaml", doc)
    with pytest.raises(SpecError, match=message) as info:
        Spec.load(path)
    assert str(path) in str(info.value)


def test_unparseable_spec_is_a_spec_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "spec.yaml", "openapi: [unclosed")
    with pytest.raises(SpecError, match="not valid YAML"):
        Spec.load(path)


def _load_fixture(tmp_path: Path, document: object, name: str = "bad.yaml"):
    path = _write(tmp_path, name, document)
    return build_world(Config(spec_path=SPEC_PATH, fixtures=(path,)))


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda c: c["engagements"][2].update(status="archived"), "clients[0].engagements[2] (id eng_458).status"),
        (lambda c: c["engagements"][0].update(createdAt="yesterday"), "createdAt: must be an RFC 3339 date-time"),
        (lambda c: c["engagements"][0].pop("name"), "(id eng_456).name: is required"),
        (lambda c: c["engagements"][0].update(evaluationCount=-1), "evaluationCount: must be at least 0"),
        (lambda c: c["engagements"][0].update(colour="red"), "colour: is not an allowed field"),
        (lambda c: c["engagements"][1].update(id="eng_456"), "'eng_456' is also used at"),
        (lambda c: c["apiKeys"][0].update(scopes=["engagments:read"]), "unknown scope(s) engagments:read"),
        (lambda c: c["apiKeys"][1].update(key="YOUR_API_KEY"), "'YOUR_API_KEY' is also defined"),
        (lambda c: c.update(engagments=[]), "unknown field(s) engagments"),
    ],
)
def test_bad_fixture_names_file_record_and_field(tmp_path: Path, mutate, fragment: str, small_fixtures: Path) -> None:
    doc = _fixture_doc(small_fixtures)
    mutate(doc["clients"][0])
    with pytest.raises(FixtureError) as info:
        _load_fixture(tmp_path, doc)
    message = str(info.value)
    assert "bad.yaml" in message and fragment in message, message


def test_fixture_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match=r"bad\.yaml:4: not valid YAML") as info:
        _load_fixture(tmp_path, "clients:\n  - id: a\n    name: [unclosed\n")
    assert 'bad.yaml", line 3, column 11' in str(info.value), "the start of the unclosed list is named too"


def test_unquoted_yaml_timestamps_are_read_as_rfc3339(tmp_path: Path) -> None:
    text = (FIXTURES / "acme.yaml").read_text().replace('"2024-01-10T09:00:00Z"', "2024-01-10T09:00:00Z")
    world = _load_fixture(tmp_path, text, "acme.yaml")
    principal = world.store.lookup_key("YOUR_API_KEY")
    assert world.store.get(principal, "engagements", "eng_456")["createdAt"] == "2024-01-10T09:00:00Z"


def test_missing_fixture_path_is_a_fixture_error(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="no such fixture file"):
        build_world(Config(spec_path=SPEC_PATH, fixtures=(tmp_path / "nope.yaml",)))


def test_same_fixtures_give_the_same_ids(tmp_path: Path) -> None:
    def create_ids() -> list[str]:
        client = create_app(Config(spec_path=SPEC_PATH, fixtures=(FIXTURES,))).test_client()
        headers = {"Authorization": "Bearer YOUR_API_KEY"}
        return [
            client.post("/v1/engagements", json={"name": "n", "type": "t"}, headers=headers).json["id"]
            for _ in range(3)
        ]

    assert create_ids() == create_ids() == ["eng_1000", "eng_1001", "eng_1002"]


def test_json_fixtures_are_accepted(tmp_path: Path) -> None:
    import json

    path = tmp_path / "acme.json"
    doc = _fixture_doc()
    path.write_text(json.dumps(doc))
    world = build_world(Config(spec_path=SPEC_PATH, fixtures=(path,)))
    # Acme's campaigns, call centers, executives, engagements, evaluations, conversations, calls
    assert world.store.count() == 6 + 3 + 12 + 5 + 447 + 35 + 72


def test_inline_replaces_refs_and_keeps_recursive_ones_resolvable() -> None:
    doc = _spec_doc()
    doc["components"]["schemas"]["Tree"] = {
        "type": "object",
        "properties": {"children": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}}},
    }
    spec = Spec(doc, "test")
    inlined = spec.inline(spec.lookup("/components/schemas/Engagement"))
    assert "$ref" not in str(inlined)
    assert inlined["properties"]["id"]["pattern"] == "^eng_[A-Za-z0-9]+$"
    assert inlined["properties"]["id"]["readOnly"] is True
    tree = spec.inline(spec.lookup("/components/schemas/Tree"))
    assert "'$ref': 'urn:auralytik-mock:openapi#/components/schemas/Tree'" in str(tree)
    from auralytik_mock.core.validation import SchemaSet

    validator = SchemaSet(spec).at("/components/schemas/Tree")
    assert validator.is_valid({"children": [{"children": []}]})
    assert not validator.is_valid({"children": [{"children": 3}]})


def test_duplicate_id_names_the_record_that_repeats_even_after_an_invalid_one(
    tmp_path: Path, small_fixtures: Path
) -> None:
    # [0] eng_1, [1] invalid, [2] eng_1: the repeat is [2] (issue 9, problem 7).
    doc = _fixture_doc(small_fixtures)
    engagements = doc["clients"][0]["engagements"]
    engagements[1]["status"] = "archived"
    engagements[2]["id"] = engagements[0]["id"]
    with pytest.raises(FixtureError) as info:
        _load_fixture(tmp_path, doc)
    message = str(info.value)
    assert "clients[0].engagements[2].id: 'eng_456' is also used at" in message, message
    assert "clients[0].engagements[0]" in message
    assert "engagements[1].id" not in message


def test_fixture_records_may_omit_what_a_post_may_omit(tmp_path: Path) -> None:
    # No description, status, evaluationCount or times: each takes what a POST gives it.
    doc = {
        "clients": [
            {
                "id": "client_min",
                "apiKeys": [{"key": "MIN_KEY", "scopes": ["engagements:read", "engagements:write"]}],
                "engagements": [
                    {"id": "eng_1", "name": "Bare", "type": "quality_review"},
                    {"id": "eng_2", "name": "Dated", "type": "quality_review", "createdAt": "2024-03-01T00:00:00Z"},
                ],
            }
        ]
    }
    path = _write(tmp_path, "min.yaml", doc)
    world = build_world(Config(spec_path=SPEC_PATH, fixtures=(path,), clock="2025-01-02T03:04:05Z"))
    principal = world.store.lookup_key("MIN_KEY")
    bare = world.store.get(principal, "engagements", "eng_1")
    assert bare == {
        "id": "eng_1",
        "name": "Bare",
        "description": None,
        "type": "quality_review",
        "status": "active",
        "evaluationCount": 0,
        "createdAt": "2025-01-02T03:04:05Z",
        "updatedAt": "2025-01-02T03:04:05Z",
    }
    client = create_app(Config(spec_path=SPEC_PATH, fixtures=(path,), clock="2025-01-02T03:04:05Z")).test_client()
    posted = client.post(
        "/v1/engagements", json={"name": "Bare", "type": "quality_review"}, headers={"Authorization": "Bearer MIN_KEY"}
    ).json
    assert {k: v for k, v in posted.items() if k != "id"} == {k: v for k, v in bare.items() if k != "id"}
    dated = world.store.get(principal, "engagements", "eng_2")
    assert dated["updatedAt"] == dated["createdAt"] == "2024-03-01T00:00:00Z"


def test_fixture_records_still_need_what_a_post_needs(tmp_path: Path, small_fixtures: Path) -> None:
    doc = _fixture_doc(small_fixtures)
    del doc["clients"][0]["engagements"][0]["type"]
    with pytest.raises(FixtureError, match=r"\(id eng_456\)\.type: is required"):
        _load_fixture(tmp_path, doc)


SCHEMA_TYPOS = [
    # (text replaced, replacement, pointer named, words of the message)
    (
        "          schema:\n            type: integer\n            minimum: 1\n            maximum: 9007199254740991",
        "          schema:\n            type: int\n            minimum: 1\n            maximum: 9007199254740991",
        "/paths/~1engagements/get/parameters/0/schema/type",
        '"int" is not a JSON Schema type',
    ),
    (
        "      enum: [active, paused, completed]",
        "      enum: active",
        "/components/schemas/EngagementStatus/enum",
        "enum:",
    ),
    (
        '      pattern: "^eng_[A-Za-z0-9]+$"',
        '      pattern: "^eng_[A-Za-z0-9+$"',
        "/components/schemas/EngagementId/pattern",
        "regular",
    ),
    (
        "      required: [name, type]",
        "      required: name",
        "/components/schemas/EngagementCreate/required",
        "required:",
    ),
    (
        "          minimum: 0\n          default: 0",
        "          minimum: none\n          default: 0",
        "/components/schemas/Engagement/properties/evaluationCount/minimum",
        "minimum:",
    ),
]


def _broken_spec(tmp_path: Path, old: str, new: str) -> Path:
    text = SPEC_PATH.read_text()
    assert text.count(old) == 1, old
    path = tmp_path / "openapi.yaml"
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize(("old", "new", "pointer", "words"), SCHEMA_TYPOS)
def test_invalid_schema_names_file_line_and_pointer(
    tmp_path: Path, old: str, new: str, pointer: str, words: str
) -> None:
    path = _broken_spec(tmp_path, old, new)
    with pytest.raises(SpecError) as info:
        Spec.load(path)
    message = str(info.value)
    line = _line_with(path, pointer.rsplit("/", 1)[-1], new)
    assert message.startswith(f"{path}:{line}: {pointer}: "), message
    assert words in message, message


def _line_with(path: Path, keyword: str, new: str) -> int:
    """The line of the broken keyword (the last line of the replacement holding it)."""
    lines = path.read_text().split("\n")
    start = path.read_text().index(new)
    first = path.read_text()[:start].count("\n")
    for offset, text in enumerate(new.split("\n")):
        if text.strip().startswith(keyword + ":"):
            return first + offset + 1
    raise AssertionError((keyword, lines[first]))


def test_invalid_schema_is_a_spec_error_in_mock_server_and_create_app(tmp_path: Path) -> None:
    from auralytik_mock import MockServer

    path = _broken_spec(tmp_path, *SCHEMA_TYPOS[0][:2])
    for make in (lambda: MockServer(spec=str(path)), lambda: create_app(Config(spec_path=path))):
        with pytest.raises(SpecError, match=r"openapi\.yaml:\d+: /paths/~1engagements/get/parameters/0/schema/type"):
            make()


@pytest.mark.parametrize(
    ("mutate", "pointer"),
    [
        (lambda d: d["paths"]["/engagements"].update(get=5), "/paths/~1engagements/get"),
        (lambda d: d["paths"]["/engagements"]["get"].update(parameters={"page": 1}), "/paths/~1engagements/get"),
        (lambda d: d["paths"]["/engagements"]["get"].update(responses=[200]), "/paths/~1engagements/get"),
        (lambda d: d["components"].update(securitySchemes=["bearerAuth"]), "/components/securitySchemes"),
        (lambda d: d["paths"]["/engagements"]["get"].update(security={"bearerAuth": []}), "/get/security"),
        (lambda d: d["paths"]["/engagements"]["get"].update(security=[["bearerAuth"]]), "/get/security/0"),
        (lambda d: d["paths"]["/engagements"]["get"]["responses"].update({"200": "ok"}), "/responses/200"),
        (lambda d: d["paths"]["/engagements"]["post"]["requestBody"].update(content=["json"]), "/requestBody/content"),
        (lambda d: d["servers"][0].update(variables=["v1"]), "/servers/0/variables"),
    ],
)
def test_a_value_of_the_wrong_kind_is_a_spec_error_naming_where(tmp_path: Path, mutate, pointer: str) -> None:
    doc = _spec_doc()
    mutate(doc)
    path = _write(tmp_path, "spec.yaml", doc)
    with pytest.raises(SpecError) as info:
        Spec.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}:") and pointer in message, message


def test_a_bug_in_the_mock_is_not_blamed_on_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    # A mistake of the mock's own while reading a valid spec surfaces as itself (a traceback
    # in tests, a 500 to a client), never as a SpecError that sends the user to their file.
    def broken(self: Spec) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(Spec, "_check_schemas", broken)
    with pytest.raises(KeyError, match="a bug"):
        Spec(_spec_doc())


#: The operations a signed URL reaches, with no key: recordings, audio blobs, export files.
NO_KEY = {"getVoiceCallRecording", "putAudioFileBlob", "getAudioFileBlob", "downloadExport", "downloadAnalyticsExport"}


def test_every_operation_is_served_under_both_base_paths_with_its_own_scheme() -> None:
    spec = Spec.load(SPEC_PATH)
    assert spec.base_paths == {"/v1": frozenset({"bearerAuth"}), "/api/v1": frozenset({"apiKeyAuth"})}
    assert spec.base_path == "/v1"  # the first server's: MockServer.url
    served = {(op.method, op.path): op for op in spec.served}
    for op in spec.operations:
        if op.spec_path == "/health":
            assert ("GET", "/api/v1/health") not in served
            continue
        v1, api = served[(op.method, op.path)], served[(op.method, "/api/v1" + op.spec_path)]
        if op.operation_id in NO_KEY:  # a signed link or a SAS URL: no key either way
            assert v1.security == api.security == ()
            continue
        assert [set(alt) for alt in v1.security] == [{"bearerAuth"}]
        assert [set(alt) for alt in api.security] == [{"apiKeyAuth"}]
        assert v1.required_scopes == api.required_scopes  # the same scopes either way
    assert spec.schemes["apiKeyAuth"].kind == "hmac" and spec.schemes["apiKeyAuth"].header == "X-Api-Key"


def test_each_kinds_records_take_their_own_schemas_field_order() -> None:
    # Two kinds with the same field names in different orders: a record of the second kind,
    # written in the first kind's order, is still put in its own schema's order.
    def schema(*names: str) -> dict[str, object]:
        return {"type": "object", "required": ["id"], "properties": {n: {"type": "string"} for n in names}}

    spec = Spec(
        {
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {"/alphas": {"get": {"responses": {"200": {"description": "ok"}}}}},
            "components": {"schemas": {"Alpha": schema("id", "name", "note"), "Beta": schema("id", "note", "name")}},
        }
    )
    kinds = {"alphas": "/components/schemas/Alpha", "betas": "/components/schemas/Beta"}
    loader = FixtureLoader(SchemaSet(spec), kinds, [])
    written = [{"id": "x1", "name": "n", "note": "o"}, {"id": "x2", "name": "n", "note": "o"}]
    [client] = loader.load_documents(
        [("t.yaml", {"clients": [{"id": "c", "apiKeys": [], "alphas": written, "betas": written}]})]
    )
    assert [list(record) for record in client.resources["alphas"]] == [["id", "name", "note"]] * 2
    assert [list(record) for record in client.resources["betas"]] == [["id", "note", "name"]] * 2
