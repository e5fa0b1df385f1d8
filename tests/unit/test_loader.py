"""Loading any valid OpenAPI document: many files, extensions' $refs, no operationId, 3.1
details; refusing only what is not OpenAPI 3, with the file and where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auralytik_mock import SpecError
from auralytik_mock.core import loader
from auralytik_mock.core.spec import Spec

PUBLIC = Path(__file__).resolve().parents[1] / "data" / "public"


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _files(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root / next(iter(files))


_ROOT = """openapi: 3.1.0
info: {title: t, version: '1'}
x-topics:
  - content: {$ref: ./docs/missing.md}
paths:
  /pets:
    $ref: paths/pets.yaml
  /pets/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: 'schemas/pet.json#/Pet'}
components:
  schemas:
    Local: {type: string}
"""
_PETS = """get:
  x-codeSamples: [{lang: C, source: {$ref: ../samples/get.c}}]
  responses:
    '200':
      description: ok
      content:
        application/json:
          schema: {type: array, items: {$ref: '../schemas/pet.json#/Pet'}}
"""
_PET = json.dumps(
    {
        "Pet": {
            "type": "object",
            "properties": {
                "name": {"$ref": "#/Name"},
                "kind": {"$ref": "../openapi.yaml#/components/schemas/Local"},
                "children": {"type": "array", "items": {"$ref": "#/Pet"}},
            },
        },
        "Name": {"type": "string", "minLength": 1},
    }
)


def test_a_document_in_many_files_is_bundled_and_served(tmp_path: Path) -> None:
    root = _files(tmp_path, {"openapi.yaml": _ROOT, "paths/pets.yaml": _PETS, "schemas/pet.json": _PET})
    spec = Spec.load(root)
    assert {op.path for op in spec.operations} == {"/pets", "/pets/{id}"}
    pet = spec.inline(spec.schema_at("/paths/~1pets~1{id}/get/responses/200/content/application~1json/schema"))
    assert pet["properties"]["name"] == {"type": "string", "minLength": 1}
    assert pet["properties"]["kind"] == {"type": "string"}  # a $ref back into the root file
    # the recursive schema of another file is kept once and referenced, never expanded forever
    assert "$ref" in json.dumps(pet["properties"]["children"])


def test_refs_inside_extensions_are_never_followed(tmp_path: Path) -> None:
    root = _files(tmp_path, {"openapi.yaml": _ROOT, "paths/pets.yaml": _PETS, "schemas/pet.json": _PET})
    document = loader.load(root).document
    assert document["x-topics"] == [{"content": {"$ref": "./docs/missing.md"}}]


def test_a_missing_file_is_named_with_where_it_is_referenced(tmp_path: Path) -> None:
    root = _files(tmp_path, {"openapi.yaml": _ROOT, "paths/pets.yaml": _PETS})
    with pytest.raises(SpecError, match=r"pets\.yaml: /get/responses/200.*'pet\.json', which is not there"):
        Spec.load(root)


def test_a_missing_node_in_another_file_is_named(tmp_path: Path) -> None:
    root = _files(
        tmp_path,
        {"openapi.yaml": _ROOT, "paths/pets.yaml": _PETS, "schemas/pet.json": json.dumps({"Cat": {}})},
    )
    with pytest.raises(SpecError, match=r"pet\.json has no '/Pet'"):
        Spec.load(root)


def test_swagger_2_is_refused_with_a_pointer_to_a_converter(tmp_path: Path) -> None:
    root = _files(tmp_path, {"swagger.yaml": "swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths: {}\n"})
    with pytest.raises(SpecError, match=r"swagger\.yaml: /swagger: this is a Swagger 2\.0 document.*swagger2openapi"):
        Spec.load(root)


def test_broken_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    root = _files(tmp_path, {"openapi.yaml": "openapi: 3.1.0\npaths:\n  /a: [\n"})
    with pytest.raises(SpecError, match=r"openapi\.yaml:\d+: not valid YAML"):
        Spec.load(root)


def test_an_operation_without_operation_id_gets_a_stable_one(tmp_path: Path) -> None:
    text = """openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /pets/{petId}:
    get:
      parameters: [{name: petId, in: path, required: true, schema: {type: string}}]
      responses: {'200': {description: ok}}
    delete:
      operationId: get_pets_petId
      parameters: [{name: petId, in: path, required: true, schema: {type: string}}]
      responses: {'204': {description: gone}}
"""
    spec = Spec.load(_files(tmp_path, {"openapi.yaml": text}))
    ids = {op.method: op.operation_id for op in spec.operations}
    assert ids == {"GET": "get_pets_petId_2", "DELETE": "get_pets_petId"}


def test_dates_in_examples_stay_the_strings_they_are_written_as(tmp_path: Path) -> None:
    text = """openapi: 3.1.0
info: {title: t, version: '1'}
paths:
  /a:
    get:
      responses:
        '200':
          description: ok
          content: {application/json: {example: {day: 2024-01-10}}}
"""
    spec = Spec.load(_files(tmp_path, {"openapi.yaml": text}))
    assert spec.operations[0].responses["200"].example == {"day": "2024-01-10"}


def test_2019_09_recursion_and_boolean_exclusive_minimum_in_3_1_are_tolerated(tmp_path: Path) -> None:
    text = """openapi: 3.1.0
info: {title: t, version: '1'}
paths:
  /a:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Filter'}
components:
  schemas:
    Filter:
      $recursiveAnchor: true
      type: object
      required: [op, op]
      properties:
        op: {type: number, minimum: 0, exclusiveMinimum: true}
        all: {type: array, items: {$recursiveRef: '#'}}
"""
    spec = Spec.load(_files(tmp_path, {"openapi.yaml": text}))
    schema = spec.document["components"]["schemas"]["Filter"]
    assert schema["properties"]["all"]["items"] == {"$ref": "#/components/schemas/Filter"}
    assert schema["properties"]["op"] == {"type": "number", "exclusiveMinimum": 0}
    assert schema["required"] == ["op"]


def test_the_parse_cache_is_used_and_follows_edits_of_any_file(tmp_path: Path) -> None:
    root = _files(tmp_path, {"openapi.yaml": _ROOT, "paths/pets.yaml": _PETS, "schemas/pet.json": _PET})
    first = loader.load(root)
    assert list((tmp_path / "cache" / "auralytik-mock" / "specs").glob("*.json"))
    again = loader.load(root)
    assert again.document == first.document
    (tmp_path / "schemas" / "pet.json").write_text(_PET.replace('"minLength": 1', '"minLength": 2'))
    edited = loader.load(root)
    assert '"minLength": 2' in json.dumps(edited.document)


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in PUBLIC.iterdir() if p.suffix in {".yaml", ".yml"} and p.name != "openai.yaml")
    + ["redocly-cafe/openapi.yaml"],
)
def test_every_public_document_loads(name: str) -> None:
    loaded = loader.load(PUBLIC / name)
    assert loaded.document["paths"]
    assert [r for r in _refs(loaded.document) if not r.startswith("#")] == [], "every $ref is local"


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for k, v in node.items() if not str(k).startswith("x-") for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []
