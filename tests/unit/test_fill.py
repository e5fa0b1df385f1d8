"""``fill.constant``: the value a record's required field gets when a body leaves it out or
gives one of another shape; it must be valid against the field's schema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from auralytik_mock.core.fill import constant
from auralytik_mock.core.spec import Spec

SCHEMAS: dict[str, Any] = {
    "ToolChoice": {"oneOf": [{"type": "string", "enum": ["none", "auto"]}, {"$ref": "#/components/schemas/Named"}]},
    "Named": {"type": "object", "required": ["type"], "properties": {"type": {"const": "function"}}},
    "Run": {
        "type": "object",
        "properties": {
            # OpenAI's RunObject.tool_choice: an allOf of a oneOf and a part that only annotates
            "tool_choice": {"allOf": [{"$ref": "#/components/schemas/ToolChoice"}, {"description": "annotated"}]},
            "both": {
                "allOf": [
                    {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}},
                    {"type": "object", "required": ["b"], "properties": {"b": {"type": "string"}}},
                ]
            },
            # Parts that are not objects: a value of all of them at once
            "long_text": {"allOf": [{"type": "string"}, {"minLength": 3}]},
            "bounded": {"allOf": [{"type": "integer", "minimum": 2}, {"minimum": 5, "maximum": 9}]},
            "email": {"allOf": [{"type": "string", "format": "email"}, {"allOf": [{"minLength": 20}]}]},
            "colour": {"allOf": [{"$ref": "#/components/schemas/Colour"}, {"description": "annotated"}]},
            "above": {"allOf": [{"type": "integer", "minimum": 0}, {"exclusiveMinimum": 5}]},
            "sampled": {"allOf": [{"type": "string", "example": "ab"}, {"minLength": 3}]},
            "common": {"allOf": [{"enum": ["a", "bb"]}, {"enum": ["bb"]}]},
        },
    },
    "Colour": {"type": "string", "enum": ["teal", "ochre"]},
}
PATHS = {"/runs": {"get": {"responses": {"200": {"description": "ok"}}}}}
SPEC = Spec(
    {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": PATHS, "components": {"schemas": SCHEMAS}}
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tool_choice", "none"),
        ("both", {"a": 0, "b": ""}),
        ("long_text", "xxx"),
        ("bounded", 5),
        ("email", "user@example.comxxxx"),
        ("colour", "teal"),
        ("above", 6),
        ("sampled", "xxx"),
        ("common", "bb"),
    ],
)
def test_an_all_of_constant_is_valid_against_every_part(name: str, expected: Any) -> None:
    pointer = f"/components/schemas/Run/properties/{name}"
    value = constant(SPEC, SPEC.lookup(pointer), pointer)
    assert value == expected
    jsonschema.Draft202012Validator(SPEC.inline(SPEC.lookup(pointer))).validate(value)  # raises if it breaks it
