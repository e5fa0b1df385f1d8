"""Start-up checks: a spec or fixture that cannot drive the mock stops it with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from auralytik_mock import Config, FixtureError, SpecError, create_app
from auralytik_mock.pipeline import build_world
from auralytik_mock.spec import Spec
from tests.conftest import FIXTURES, SPEC_PATH


def _spec_doc() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text())


def _write(tmp_path: Path, name: str, document: object) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False) if not isinstance(document, str) else document)
    return path


def _fixture_doc() -> dict:
    return yaml.safe_load((FIXTURES / "acme.yaml").read_text())


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
    }


def test_operation_that_fits_no_shape_is_a_startup_error(tmp_path: Path) -> None:
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
    with pytest.raises(SpecError, match=r"'archiveEngagement' fits no shape(.|\n)*@handles"):
        create_app(Config(spec_path=path, fixtures=(FIXTURES,)))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(openapi="2.0"), "OpenAPI 3.0.x and 3.1.x are supported, got '2.0'"),
        (lambda d: d["paths"]["/engagements"]["get"].pop("operationId"), "needs an operationId"),
        (
            lambda d: d["paths"]["/engagements"]["get"]["responses"]["200"]["content"]["application/json"].update(
                schema={"$ref": "#/components/schemas/Nope"}
            ),
            "does not exist",
        ),
        (lambda d: d["paths"]["/engagements"]["post"].update(operationId="listEngagements"), "also used by"),
        (
            lambda d: d["components"]["securitySchemes"].update(
                bearerAuth={"type": "apiKey", "in": "header", "name": "X-Key"}
            ),
            "http bearer only",
        ),
        (lambda d: d["servers"].append({"url": "http://x/v2"}), "share one base path"),
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
        (lambda c: c["engagements"][0].update(createdAt="yesterday"), "(id eng_456).createdAt: must be a valid"),
        (lambda c: c["engagements"][0].pop("name"), "(id eng_456).name: is required"),
        (lambda c: c["engagements"][0].update(evaluationCount=-1), "evaluationCount: must be >= 0"),
        (lambda c: c["engagements"][0].update(colour="red"), "colour: is not an allowed field"),
        (lambda c: c["engagements"][1].update(id="eng_456"), "'eng_456' is also used at"),
        (lambda c: c["apiKeys"][0].update(scopes=["engagments:read"]), "unknown scope(s) engagments:read"),
        (lambda c: c["apiKeys"][1].update(key="YOUR_API_KEY"), "'YOUR_API_KEY' is also defined"),
        (lambda c: c.update(engagments=[]), "unknown field(s) engagments"),
    ],
)
def test_bad_fixture_names_file_record_and_field(tmp_path: Path, mutate, fragment: str) -> None:
    doc = _fixture_doc()
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
    assert world.store.count() == 5 + 447  # Acme's engagements and their generated evaluations


def test_inline_replaces_refs_and_keeps_recursive_ones_resolvable() -> None:
    doc = _spec_doc()
    doc["components"]["schemas"]["Tree"] = {
        "type": "object",
        "properties": {"children": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}}},
    }
    spec = Spec(doc, "test")
    inlined = spec.inline(spec.lookup("/components/schemas/Engagement"))
    assert "$ref" not in str(inlined)
    assert inlined["properties"]["id"]["pattern"] == "^eng_[A-Za-z0-9]{1,60}$"
    assert inlined["properties"]["id"]["readOnly"] is True
    tree = spec.inline(spec.lookup("/components/schemas/Tree"))
    assert "'$ref': 'urn:auralytik-mock:openapi#/components/schemas/Tree'" in str(tree)
    from auralytik_mock.validation import SchemaSet

    validator = SchemaSet(spec).at("/components/schemas/Tree")
    assert validator.is_valid({"children": [{"children": []}]})
    assert not validator.is_valid({"children": [{"children": 3}]})
