"""Every Schema Object of an OpenAPI 3.1 document checked as a JSON Schema 2020-12 schema.

Owns: finding each Schema Object (the component schemas and each ``schema`` of a parameter,
header or media type) and its first problem against the 2020-12 meta-schema, every
``pattern`` and ``patternProperties`` key included (ECMA-262), in words a person fixes:
``"int" is not a JSON Schema type; use one of ...``. ``Spec`` names the file and line.
No IO.
May import: ``operation``, ``types``, jsonschema-rs (jsonschema without it).
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from .operation import escape_pointer_token
from .types import Json

_JSON_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")


def schema_objects(document: Mapping[str, Json]) -> Iterator[tuple[str, Json]]:
    """Every Schema Object of an OpenAPI 3.1 document and its JSON pointer: the component
    schemas and each ``schema`` of a parameter, header or media type."""
    components = document.get("components")
    schemas = components.get("schemas") if isinstance(components, dict) else None
    if isinstance(schemas, dict):
        for name, schema in schemas.items():
            yield f"/components/schemas/{escape_pointer_token(str(name))}", schema

    path: list[str] = []  # the keys down to the node walked: a pointer is made for each schema only

    def walk(node: Json) -> Iterator[tuple[str, Json]]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "schema" and path[:2] != ["components", "schemas"]:
                    yield "".join(f"/{escape_pointer_token(part)}" for part in [*path, "schema"]), value
                elif isinstance(value, (dict, list)) and (key != "schemas" or path != ["components"]):
                    path.append(str(key))
                    yield from walk(value)
                    path.pop()
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if isinstance(value, (dict, list)):
                    path.append(str(index))
                    yield from walk(value)
                    path.pop()

    for key in ("paths", "components", "webhooks"):
        if key in document:
            path[:] = [key]
            yield from walk(document[key])


def schema_problem(schema: Json) -> tuple[list[Json], str] | None:
    """The first problem of ``schema`` as a 2020-12 schema: (path inside it, message), or ``None``."""
    if not isinstance(schema, (dict, bool)):
        return [], f"a schema must be an object or a boolean, got {json.dumps(schema)[:60]}"
    try:
        rs: Any = importlib.import_module("jsonschema_rs")
    except ImportError:  # pragma: no cover - jsonschema-rs is a dependency
        rs = None
    if rs is not None:
        try:
            rs.meta.validate(schema)
        except rs.ValidationError as exc:
            path = list(exc.instance_path)
            return path, _meta_message(path, exc.instance, str(exc.message))
    else:  # pragma: no cover
        from jsonschema import Draft202012Validator

        error = next(iter(Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema)), None)
        if error is not None:
            path = list(error.absolute_path)
            return path, _meta_message(path, error.instance, error.message)
    for path, pattern in _patterns(schema, []):
        try:
            if rs is not None:
                rs.validator_for({"pattern": pattern})
            else:  # pragma: no cover
                re.compile(pattern)
        except (ValueError, re.error):  # jsonschema_rs.ValidationError is a ValueError
            return path, f"{pattern!r} is not a valid regular expression (ECMA-262)"
    return None


def _meta_message(path: list[Json], instance: Json, message: str) -> str:
    keyword = str(path[-1]) if path else ""
    if keyword == "type" or (len(path) > 1 and str(path[-2]) == "type"):
        return f"{json.dumps(instance)} is not a JSON Schema type; use one of {', '.join(_JSON_TYPES)}"
    return f"{keyword + ': ' if keyword else ''}{message}"


def _patterns(node: Json, path: list[Json]) -> Iterator[tuple[list[Json], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield [*path, key], value
            elif key == "patternProperties" and isinstance(value, dict):
                for pattern in value:
                    yield [*path, key, pattern], str(pattern)
            if key not in {"enum", "const", "examples", "example", "default"}:
                yield from _patterns(value, [*path, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _patterns(value, [*path, index])
