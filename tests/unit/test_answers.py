"""Answers from the spec: the example asked for, else the documented ones, else generated
data, always valid against the documented response; non-JSON answers with their type."""

from __future__ import annotations

from pathlib import Path

import pytest

from auralytik_mock.core.answers import PLACEHOLDERS, Answers, prefer_example
from auralytik_mock.core.spec import Spec
from auralytik_mock.core.validation import ResponseChecker, SchemaSet

PUBLIC = Path(__file__).resolve().parents[1] / "data" / "public"

_SPEC = """openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /pets/{id}:
    get:
      operationId: getPet
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Pet'}
              examples:
                cat: {value: {id: 1, name: Tom, kind: cat}}
                dog: {value: {id: 2, name: Rex, kind: dog}}
                broken: {value: {id: "not a number"}}
        '404': {description: gone}
  /pets/{id}/photo:
    get:
      operationId: getPhoto
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        '200':
          description: a photo
          headers:
            X-Rate-Limit: {required: true, schema: {type: integer, minimum: 1}}
          content: {image/png: {schema: {type: string, format: binary}}}
  /report:
    get:
      responses:
        '201':
          description: csv
          content: {text/csv: {example: "a,b\\n1,2\\n"}}
  /generated:
    get:
      operationId: generated
      responses:
        default:
          description: anything
          content:
            application/problem+json:
              schema:
                type: object
                required: [id, email, created, tags]
                properties:
                  id: {type: string, format: uuid}
                  email: {type: string, format: email}
                  created: {type: integer}
                  tags: {type: array, minItems: 2, items: {type: string, enum: [a, b]}}
components:
  schemas:
    Pet:
      type: object
      required: [id, name]
      properties:
        id: {type: integer}
        name: {type: string}
        kind: {type: string, example: cat}
"""


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Spec:
    path = tmp_path_factory.mktemp("spec") / "openapi.yaml"
    path.write_text(_SPEC)
    return Spec.load(path)


def _op(spec: Spec, op_id: str):
    return next(op for op in spec.operations if op.operation_id == op_id)


def test_the_named_example_asked_for_else_the_first(spec: Spec) -> None:
    answers = Answers(spec)
    assert answers.respond(_op(spec, "getPet")).body == {"id": 1, "name": "Tom", "kind": "cat"}
    assert answers.respond(_op(spec, "getPet"), "dog").body == {"id": 2, "name": "Rex", "kind": "dog"}
    # an example its schema rejects is never served
    assert answers.respond(_op(spec, "getPet"), "broken").body["id"] == 1
    assert prefer_example('code=200, example="dog"') == "dog" and prefer_example("code=200") is None


def test_answers_are_copies(spec: Spec) -> None:
    answers = Answers(spec)
    answers.respond(_op(spec, "getPet")).body["name"] = "changed"
    assert answers.respond(_op(spec, "getPet")).body["name"] == "Tom"


def test_binary_answers_carry_their_type_and_a_valid_placeholder(spec: Spec) -> None:
    answer = Answers(spec).respond(_op(spec, "getPhoto"))
    assert (answer.status, answer.content_type, answer.raw) == (200, "image/png", PLACEHOLDERS["image/png"])
    assert answer.raw is not None and answer.raw.startswith(b"\x89PNG")
    assert int(answer.headers["X-Rate-Limit"]) >= 1


def test_text_answers_serve_their_example_with_the_first_2xx(spec: Spec) -> None:
    answer = Answers(spec).respond(_op(spec, "get_report"))
    assert (answer.status, answer.content_type, answer.raw) == (201, "text/csv", b"a,b\n1,2\n")


def test_generated_answers_are_valid_realistic_and_the_same_every_time(spec: Spec) -> None:
    first = Answers(spec).respond(_op(spec, "generated"))
    again = Answers(spec).respond(_op(spec, "generated"))
    assert first.body == again.body
    assert first.status == 200 and first.content_type == "application/problem+json"
    body = first.body
    assert len(body["id"]) == 36 and "@" in body["email"] and isinstance(body["created"], int)
    assert len(body["tags"]) >= 2


@pytest.mark.parametrize(
    "name",
    [
        "oai-petstore.yaml",
        "oai-petstore-expanded.yaml",
        "oai-api-with-examples.yaml",
        "oai-uspto.yaml",
        "oai-link-example.yaml",
        "oai-callback-example.yaml",
        pytest.param("openai.yaml", marks=pytest.mark.slow),  # 288 operations, ~10 s
    ],
)
def test_every_operation_of_a_public_spec_answers_a_documented_valid_body(name: str) -> None:
    spec = Spec.load(PUBLIC / name)
    schemas = SchemaSet(spec)
    answers, checker = Answers(spec, schemas), ResponseChecker(spec, schemas)
    for op in spec.operations:
        answer = answers.respond(op)
        assert op.documents(answer.status), (op.operation_id, answer.status)
        if answer.raw is None:
            problems = checker.violations(op, answer.status, answer.body, answer.headers)
            assert problems == [], (op.operation_id, problems)
