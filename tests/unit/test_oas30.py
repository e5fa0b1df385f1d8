"""OpenAPI 3.0.x documents, YAML or JSON, are read once as the 3.1 documents they mean."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate as validate_spec

from auralytik_mock import Config, SpecError, create_app
from auralytik_mock.core.oas30 import upgrade
from auralytik_mock.core.spec import Spec
from tests.conftest import FIXTURES, spec_document

AUTH = {"Authorization": "Bearer YOUR_API_KEY"}


def _doc(**schemas: Any) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {},
        "components": {"schemas": schemas},
    }


def _schemas(**schemas: Any) -> dict[str, Any]:
    return upgrade(_doc(**schemas), "api.json")["components"]["schemas"]  # type: ignore[no-any-return, index]


def test_nullable_becomes_a_null_type_and_a_null_enum_value() -> None:
    out = _schemas(
        A={"type": "string", "nullable": True, "maxLength": 3},
        B={"type": "string", "enum": ["a", "b"], "nullable": True},
        C={"type": "integer", "nullable": False},
    )
    assert out["A"] == {"type": ["string", "null"], "maxLength": 3}
    assert out["B"] == {"type": ["string", "null"], "enum": ["a", "b", None]}
    assert out["C"] == {"type": "integer"}


def test_nullable_beside_ref_or_allof_wraps_in_anyof_keeping_annotations_outside() -> None:
    out = _schemas(
        R={"$ref": "#/components/schemas/X", "nullable": True, "readOnly": True, "x-mock-ref": "X"},
        S={"allOf": [{"$ref": "#/components/schemas/X"}], "nullable": True, "description": "d"},
        X={"type": "object"},
    )
    assert out["R"] == {
        "readOnly": True,
        "x-mock-ref": "X",
        "anyOf": [{"$ref": "#/components/schemas/X"}, {"type": "null"}],
    }
    assert out["S"] == {
        "description": "d",
        "anyOf": [{"allOf": [{"$ref": "#/components/schemas/X"}]}, {"type": "null"}],
    }


def test_boolean_exclusive_bounds_become_numbers_and_example_becomes_examples() -> None:
    out = _schemas(
        N={"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 10, "exclusiveMaximum": False},
        M={"type": "integer", "maximum": 5, "exclusiveMaximum": True, "example": 4},
    )
    assert out["N"] == {"type": "number", "exclusiveMinimum": 0, "maximum": 10}
    assert out["M"] == {"type": "integer", "exclusiveMaximum": 5, "examples": [4]}


def test_only_schema_positions_change() -> None:
    doc = _doc(
        P={
            "type": "object",
            "properties": {
                "nullable": {"type": "boolean", "nullable": True},  # a property called nullable
                "items": {"type": "array", "items": {"type": "string", "nullable": True}},
            },
            "example": {"nullable": True, "exclusiveMinimum": True},  # a value, not a schema
        }
    )
    doc["paths"] = {
        "/p/{id}": {
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "nullable": True}}
            ],
            "get": {
                "operationId": "getP",
                "parameters": [
                    {"name": "q", "in": "query", "schema": {"type": "integer", "minimum": 1, "exclusiveMinimum": True}}
                ],
                "responses": {
                    "200": {
                        "description": "ok",
                        "headers": {"X-N": {"schema": {"type": "string", "nullable": True}}},
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/P"},
                                "example": {"nullable": True},
                            }
                        },
                    }
                },
            },
        }
    }
    before = copy.deepcopy(doc)
    out: Any = upgrade(doc, "api.json")
    assert doc == before, "the input is not changed"
    props = out["components"]["schemas"]["P"]["properties"]
    assert props["nullable"] == {"type": ["boolean", "null"]}
    assert props["items"]["items"] == {"type": ["string", "null"]}
    assert out["components"]["schemas"]["P"]["examples"] == [{"nullable": True, "exclusiveMinimum": True}]
    item = out["paths"]["/p/{id}"]
    assert item["parameters"][0]["schema"] == {"type": ["string", "null"]}
    assert item["get"]["parameters"][0]["schema"] == {"type": "integer", "exclusiveMinimum": 1}
    response = item["get"]["responses"]["200"]
    assert response["headers"]["X-N"]["schema"] == {"type": ["string", "null"]}
    assert response["content"]["application/json"]["example"] == {"nullable": True}, "media-type example stays"
    assert out["openapi"] == "3.1.0"


def test_a_31_document_is_left_as_it_is() -> None:
    doc = spec_document()
    assert upgrade(doc, "openapi.yaml") == doc


def test_a_31_document_with_30s_nullable_allows_null_where_it_says_so() -> None:
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {},
        "components": {
            "schemas": {
                "Request": {
                    "type": "object",
                    "properties": {
                        "logit_bias": {"type": "object", "nullable": True, "additionalProperties": {"type": "integer"}},
                        "nullable": {"type": "string"},
                        "kept": {"type": "string", "nullable": False},
                    },
                }
            }
        },
    }
    properties = upgrade(doc, "openai.yaml")["components"]["schemas"]["Request"]["properties"]  # type: ignore[index]
    assert properties["logit_bias"] == {"type": ["object", "null"], "additionalProperties": {"type": "integer"}}
    assert properties["nullable"] == {"type": "string"}, "a property called nullable is a schema, left alone"
    assert properties["kept"] == {"type": "string", "nullable": False}


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "string", "nullable": "yes"}, "api.json: /components/schemas/Bad/nullable: must be true or false"),
        (
            {"type": "object", "properties": {"n": {"type": "number", "exclusiveMinimum": True}}},
            "api.json: /components/schemas/Bad/properties/n/exclusiveMinimum: is true, but the schema has no minimum",
        ),
    ],
)
def test_bad_30_keywords_name_the_file_and_pointer(tmp_path: Path, schema: dict[str, Any], message: str) -> None:
    path = tmp_path / "api.json"
    path.write_text(json.dumps(_doc(Bad=schema)))
    with pytest.raises(SpecError) as info:
        Spec.load(path)
    assert str(info.value).startswith(f"{path}{message.removeprefix('api.json')}"), info.value
    assert str(info.value).endswith("(OpenAPI 3.0)")


def test_invalid_json_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "api.json"
    path.write_text('{\n  "openapi": "3.0.3",\n  "paths": {,}\n}\n')
    with pytest.raises(SpecError, match=r"api\.json:3: not valid JSON: Expecting property name"):
        Spec.load(path)


# -- the bundled spec, as the vendor's Swagger UI would publish it: OpenAPI 3.0 JSON --------------


def downgrade(node: Any) -> Any:
    """3.1 -> 3.0, the way a 3.0 generator writes it (null types as ``nullable``, one ``example``)."""
    if isinstance(node, list):
        return [downgrade(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: downgrade(value) for key, value in node.items()}
    kind = out.get("type")
    if isinstance(kind, list) and "null" in kind:
        (out["type"],) = [k for k in kind if k != "null"]
        out["nullable"] = True
        if isinstance(out.get("enum"), list):
            out["enum"] = [v for v in out["enum"] if v is not None]
    if isinstance(out.get("examples"), list) and ("type" in out or "pattern" in out):
        out["example"] = out.pop("examples")[0]  # 3.0 has room for one
    for side, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(side), int | float) and not isinstance(out[side], bool):
            out[bound], out[side] = out[side], True
    return out


def first_examples(node: Any) -> Any:
    """The 3.1 document with what a 3.0 rendition cannot carry dropped: a schema's examples after the first."""
    if isinstance(node, list):
        return [first_examples(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: first_examples(value) for key, value in node.items()}
    if isinstance(out.get("examples"), list) and ("type" in out or "pattern" in out):
        out["examples"] = out["examples"][:1]
    return out


@pytest.fixture(scope="module")
def spec30(tmp_path_factory: pytest.TempPathFactory) -> Path:
    original = spec_document()
    doc = downgrade(original)
    doc["openapi"] = "3.0.3"
    doc["info"].pop("summary", None)
    doc["info"].get("license", {}).pop("identifier", None)
    doc.pop("webhooks", None)  # a 3.1 section: a 3.0 rendition has no place for it
    validate_spec(doc)  # a valid 3.0.3 document, by openapi-spec-validator's own rules
    assert "nullable" in json.dumps(doc), "the rendition uses 3.0's nullable"
    path = tmp_path_factory.mktemp("oas30") / "auralytik.json"
    path.write_text(json.dumps(doc, indent=2))
    return path


def test_the_bundled_spec_as_30_json_reads_back_as_the_31_yaml(spec30: Path) -> None:
    original = first_examples(spec_document())
    loaded = Spec.load(spec30)
    assert loaded.source_version == "3.0.3"
    assert loaded.document["paths"] == original["paths"]
    assert loaded.document["components"] == original["components"]
    validate_spec(dict(loaded.document))  # and the converted document is valid 3.1


def test_the_bundled_spec_as_30_json_serves_the_fixtures(spec30: Path) -> None:
    app = create_app(Config(spec_path=spec30, fixtures=(FIXTURES,), validate_responses=True))
    client = app.test_client()
    listed = client.get("/v1/engagements", headers=AUTH)
    assert listed.status_code == 200 and listed.json["totalCount"] == 5
    nulled = client.get("/v1/engagements/eng_458", headers=AUTH)
    assert nulled.status_code == 200 and nulled.json["description"] is None, "nullable: null passes the self-check"
    created = client.post("/v1/engagements", json={"name": "n", "type": "t", "description": None}, headers=AUTH)
    assert created.status_code == 201, created.json
    bad = client.patch("/v1/engagements/eng_456", json={"status": "archived"}, headers=AUTH)
    assert bad.status_code == 400 and bad.json["error"]["details"][0]["field"] == "body.status"
    served = client.get("/__mock/openapi.json").json
    assert served["openapi"] == "3.1.0", "tools that read the spec back get the one dialect the engine uses"


#: Reached only through a signed link (the recording, the blob store, the export files).
SIGNED_PATHS = [
    "/voice-calls/{id}/recording",
    "/audio-files/{id}/blob",
    "/exports/{jobId}/download",
    "/analytics/export/{jobId}/download",
]


@pytest.mark.slow
def test_schemathesis_reading_the_30_json_itself_finds_no_issue(spec30: Path, tmp_path: Path) -> None:
    """Schemathesis reads the 3.0 document with its own 3.0 rules, so a conversion that
    changed what a schema accepts would show as a failed check."""
    import subprocess
    import sys

    from tests.processes import serving

    schemathesis = str(Path(sys.executable).with_name("schemathesis"))
    with serving("--quiet", "--validate-responses", "--job-seconds", "1", "--spec", str(spec30)) as (base, _):
        _a_processed_audio_file_named_as_the_spec_examples_name_it(base)
        result = subprocess.run(
            [
                schemathesis,
                "--config-file",  # upload-url and the exports: their documented 400 (tests/test_schemathesis.py)
                str(Path(__file__).resolve().parents[1] / "data" / "auralytik-schemathesis.toml"),
                "run",
                str(spec30),
                "--url",
                base + "/v1",
                "--exclude-path",
                "/health",
            ]
            # what only a signed link reaches: only 403s without one
            + [arg for path in SIGNED_PATHS for arg in ("--exclude-path", path)]
            + ["--header", "Authorization: Bearer YOUR_API_KEY", "--phases", "examples,coverage,fuzzing,stateful"]
            + ["--seed", "1", "--max-examples", "30", "--no-color", "--request-timeout", "10"],
            capture_output=True,
            text=True,
            timeout=900,
            cwd=tmp_path,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "No issues found" in output, output[-3000:]


def _a_processed_audio_file_named_as_the_spec_examples_name_it(base: str) -> None:
    """Upload and process a file through the vendor's flow, then name it ``af_98765`` (the
    spec's example id, which schemathesis' examples phase sends): process, transcript and
    download-url then reach a file, not only 404s."""
    import io
    import wave

    import requests

    auth = {"Authorization": "Bearer YOUR_API_KEY"}
    made = requests.post(
        f"{base}/v1/audio-files/upload-url", json={"fileName": "call.wav", "engagementId": "eng_456"}, headers=auth
    ).json()
    audio = io.BytesIO()
    with wave.open(audio, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(8000)
        out.writeframes(b"\x80" * 800)  # a tenth of a second of silence
    put = requests.put(
        made["uploadUrl"], data=audio.getvalue(), headers={"x-ms-blob-type": "BlockBlob", "Content-Type": "audio/wav"}
    )
    assert put.status_code == 201, put.text
    assert requests.post(f"{base}/v1/audio-files/{made['audioFileId']}/process", headers=auth).status_code == 202
    deadline = time.monotonic() + 20  # --job-seconds 1, on the real clock
    status = ""
    while status != "processed" and time.monotonic() < deadline:
        time.sleep(0.2)
        status = requests.get(f"{base}/v1/audio-files/{made['audioFileId']}", headers=auth).json()["status"]
    assert status == "processed"
    state = requests.get(f"{base}/__mock/state").json()
    acme = next(client for client in state["clients"] if client["id"] == "client_acme")
    acme["audio-files"][0]["id"] = "af_98765"
    assert requests.put(f"{base}/__mock/state", json=state).status_code == 200
    assert requests.get(f"{base}/v1/audio-files/af_98765/transcript", headers=auth).status_code == 200
