"""Answer an operation from the spec alone: what Prism serves, for what holds no state.

Owns: choosing the answer of an operation that is not bound to state (an action, a
computed read, anything whose resource cannot be seen): the status (the first documented
2xx, else the first documented status), the media type (JSON first, else the first
declared), and the body, in this order:

1. the named example asked for (``Prefer: example=NAME``, as Prism), from the media type's
   ``examples``;
2. the media type's ``example``, else the first of its ``examples``;
3. the schema's ``examples`` (3.0's ``example`` is read as ``examples``: see ``oas30``);
4. data generated from the schema (``generate``: realistic formats, the same for the same
   operation on every run).

An example that its own schema rejects is skipped (the answer is always valid against the
documented response). A non-JSON answer is the example when it is text, else a small valid
placeholder of its media type (a 1x1 PNG, an empty PDF, a CSV header...), always with its
``Content-Type``. Required response headers get a generated value.
No Flask, no IO. May import: ``spec``, ``validation``, ``errors``, ``types``, ``generate``.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..generate import GenerateError, generate_value
from .spec import Operation, Spec, escape_pointer_token
from .types import Json, MockResponse
from .validation import SchemaSet

_PREFER_EXAMPLE = re.compile(r"(?:^|[,;\s])example\s*=\s*\"?([^\";,\s]+)\"?", re.IGNORECASE)

#: Small valid bodies for binary media types, by type (``image/png``) or family (``image/*``).
PLACEHOLDERS: Mapping[str, bytes] = {
    "image/png": base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    ),
    "image/gif": base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"),
    "image/jpeg": base64.b64decode(
        "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////"
        "////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA="
    ),
    "image/svg+xml": b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>',
    "application/pdf": (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    ),
    "application/xml": b'<?xml version="1.0" encoding="UTF-8"?>\n<response/>\n',
    "text/xml": b'<?xml version="1.0" encoding="UTF-8"?>\n<response/>\n',
    "text/csv": b"id\n1\n",
    "text/html": b"<!doctype html><title>mock</title>\n",
    "text/*": b"example\n",
}
_BINARY = b"\x00"


def prefer_example(prefer: str | None) -> str | None:
    """The example name a ``Prefer`` header asks for (``example=NAME``), or ``None``."""
    found = _PREFER_EXAMPLE.search(prefer or "")
    return found.group(1) if found else None


@dataclass(frozen=True)
class _Choice:
    status: int
    media: str | None
    pointer: str | None  # the media type object's pointer


class Answers:
    """The answers from the spec of every operation of ``spec`` (each made once, then copied).

    :param schemas: the compiled validators to check examples with (shared with the
        request validator when given).
    """

    def __init__(self, spec: Spec, schemas: SchemaSet | None = None) -> None:
        self.spec = spec
        self.schemas = schemas or SchemaSet(spec)
        self._made: dict[tuple[str, str | None], MockResponse] = {}

    def __call__(self, call: Any) -> MockResponse:
        """``bind_handlers(answer=...)``: answer ``call.operation`` (and ``call.example`` or
        ``call.prefer``, when the call carries them)."""
        example = getattr(call, "example", None) or prefer_example(getattr(call, "prefer", None))
        return self.respond(call.operation, example)

    def respond(self, op: Operation, example: str | None = None) -> MockResponse:
        """The answer of ``op`` from the spec; ``example``: the named example asked for."""
        key = (op.operation_id, example)
        made = self._made.get(key)
        if made is None:
            made = self._make(op, example)
            if len(self._made) < 10_000:
                self._made[key] = made
        return MockResponse(
            made.status, copy.deepcopy(made.body), dict(made.headers), raw=made.raw, content_type=made.content_type
        )

    # -- choosing --------------------------------------------------------------------

    def _choice(self, op: Operation) -> _Choice:
        statuses = [s for s in op.responses if s.isdigit()]
        success = sorted(s for s in statuses if s.startswith("2"))
        key = success[0] if success else (sorted(statuses)[0] if statuses else next(iter(op.responses)))
        status = int(key) if key.isdigit() else (int(key[0]) * 100 if key[0].isdigit() else 200)
        pointer = self._response_pointer(op, key)
        node = self.spec.lookup(pointer) if pointer else {}
        node, pointer = self.spec.resolve(node, pointer) if pointer else (node, pointer)
        content = node.get("content") if isinstance(node, dict) else None
        if not isinstance(content, dict) or not content:
            return _Choice(status, None, None)
        media = next((m for m in content if _is_json(m)), next(iter(content)))
        return _Choice(status, media, f"{pointer}/content/{escape_pointer_token(media)}")

    def _response_pointer(self, op: Operation, key: str) -> str | None:
        item = self.spec.document["paths"].get(op.spec_path)
        if not isinstance(item, dict):
            return None
        item, item_pointer = self.spec.resolve(item, "/paths/" + escape_pointer_token(op.spec_path))
        method = op.method.lower()
        responses = item.get(method, {}).get("responses", {}) if isinstance(item, dict) else {}
        for raw in responses:
            if str(raw).upper() == key.upper() or (key == "default" and str(raw).lower() == "default"):
                return f"{item_pointer}/{method}/responses/{escape_pointer_token(str(raw))}"
        return None

    def _make(self, op: Operation, example: str | None) -> MockResponse:
        choice = self._choice(op)
        headers = self._headers(op, choice.status)
        if choice.media is None or choice.pointer is None:
            return MockResponse(choice.status, None, headers)
        media_object = self.spec.lookup(choice.pointer)
        media_object = media_object if isinstance(media_object, dict) else {}
        schema_pointer = f"{choice.pointer}/schema" if "schema" in media_object else None
        body = self._body(op, media_object, schema_pointer, example)
        if _is_json(choice.media):
            return MockResponse(choice.status, body, headers, content_type=choice.media)
        return MockResponse(choice.status, None, headers, raw=_raw(choice.media, body), content_type=choice.media)

    def _body(self, op: Operation, media: Mapping[str, Json], schema_pointer: str | None, asked: str | None) -> Json:
        for candidate in self._examples(media, schema_pointer, asked):
            if schema_pointer is None or self._valid(schema_pointer, candidate):
                return candidate
        if schema_pointer is None:
            return None
        schema = self.spec.inline(self.spec.lookup(schema_pointer))
        try:
            made = generate_value(schema, key=["answer", op.operation_id, schema_pointer])
        except (GenerateError, RecursionError, ValueError, TypeError, KeyError):
            made = None
        if made is not None and self._valid(schema_pointer, made):
            return made
        least = minimal(schema)
        return least

    def _examples(self, media: Mapping[str, Json], schema_pointer: str | None, asked: str | None) -> list[Json]:
        found: list[Json] = []
        named = media.get("examples")
        named = named if isinstance(named, dict) else {}
        if asked is not None and asked in named:
            found.extend(self._value(named[asked]))
        if "example" in media:
            found.append(media["example"])
        for entry in named.values():
            found.extend(self._value(entry))
        if schema_pointer is not None:
            schema = self.spec.schema_at(schema_pointer)
            examples = schema.get("examples") if isinstance(schema, dict) else None
            if isinstance(examples, list):
                found.extend(examples)
            if isinstance(schema, dict) and "example" in schema:
                found.append(schema["example"])
        return found

    def _value(self, entry: Json) -> list[Json]:
        if isinstance(entry, dict) and "$ref" in entry:
            try:
                entry, _ = self.spec.resolve(entry, "")
            except (KeyError, ValueError, IndexError):
                return []
        return [entry["value"]] if isinstance(entry, dict) and "value" in entry else []

    def _valid(self, pointer: str, value: Json) -> bool:
        try:
            return not self.schemas.check(pointer, value, "body", strict=True)
        except Exception:  # noqa: BLE001 - a schema the validator cannot use: the value stands
            return True

    def _headers(self, op: Operation, status: int) -> dict[str, str]:
        response = op.response_for(status)
        headers: dict[str, str] = {}
        for header in response.headers if response is not None else ():
            if not header.required or header.name.lower() in {"content-type", "content-length"}:
                continue
            value: Json = "1"
            if header.schema_pointer is not None:
                schema = self.spec.inline(self.spec.lookup(header.schema_pointer))
                try:
                    value = generate_value(schema, key=["header", op.operation_id, header.name], name=header.name)
                except (GenerateError, RecursionError, ValueError, TypeError, KeyError):
                    value = minimal(schema)
            headers[header.name] = value if isinstance(value, str) else json.dumps(value)
        return headers


def _is_json(media: str) -> bool:
    base = media.split(";", 1)[0].strip().lower()
    return base == "application/json" or base.endswith("+json") or base == "*/*"


def _raw(media: str, body: Json) -> bytes:
    base = media.split(";", 1)[0].strip().lower()
    if isinstance(body, str) and (base.startswith("text/") or "xml" in base or base.endswith("csv")):
        return body.encode("utf-8")
    if base in PLACEHOLDERS:
        return PLACEHOLDERS[base]
    if base.startswith("text/"):
        return PLACEHOLDERS["text/*"]
    return _BINARY


def minimal(schema: Json, depth: int = 0) -> Json:  # noqa: C901, PLR0911 - one case per JSON type
    """The smallest value a person would accept for ``schema`` (a fallback: not checked)."""
    if not isinstance(schema, dict) or depth > 20:
        return None
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if "default" in schema:
        return schema["default"]
    for combinator in ("allOf", "oneOf", "anyOf"):
        parts = schema.get(combinator)
        if isinstance(parts, list) and parts:
            if combinator != "allOf":
                return minimal(parts[0], depth + 1)
            merged: dict[str, Json] = {}
            for part in parts:
                value = minimal(part, depth + 1)
                if isinstance(value, dict):
                    merged.update(value)
            return merged
    kind = schema.get("type")
    if isinstance(kind, str):
        kinds = [kind]
    elif isinstance(kind, list):
        kinds = [str(k) for k in kind]
    else:
        kinds = ["object"] if "properties" in schema else []
    first = next((k for k in kinds if k != "null"), "null" if kinds else None)
    if first == "object":
        found = schema.get("properties")
        props: dict[str, Json] = found if isinstance(found, dict) else {}
        return {name: minimal(props.get(name, {}), depth + 1) for name in schema.get("required", []) or []}
    if first == "array":
        count = int(schema.get("minItems", 0) or 0)
        return [minimal(schema.get("items", {}), depth + 1) for _ in range(min(count, 10))]
    if first == "string":
        return "x" * max(int(schema.get("minLength", 0) or 0), 1) if schema.get("format") is None else "2024-01-01"
    if first in {"integer", "number"}:
        return int(schema.get("minimum", 0) or 0)
    if first == "boolean":
        return False
    return None
