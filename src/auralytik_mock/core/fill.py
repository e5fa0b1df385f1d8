"""Values the spec's schemas require and the state cannot give.

Owns: a small valid value for a schema (its ``const``, first ``enum``, ``default``,
example, or the simplest value of its type and format), filling a list envelope's
layout with a page's numbers, and shaping a record into an answer of another schema
(the fields they share, the rest filled). Deterministic; no IO.
May import: ``spec``, ``types``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import SpecError
from .spec import Spec, escape_pointer_token
from .types import Json


@dataclass(frozen=True)
class Slot:
    """One field of an envelope: what goes there (a ``MEANINGS`` value, ``items``, or
    ``const``: ``value``), and whether ``null`` is allowed there."""

    meaning: str
    nullable: bool = False
    value: Json = None
    is_string: bool = False


#: An envelope's layout: each field's ``Slot``, or a nested layout for an object field.
Layout = Mapping[str, "Slot | Layout"]

_FORMATS: dict[str, str] = {
    "date-time": "1970-01-01T00:00:00Z",
    "date": "1970-01-01",
    "time": "00:00:00Z",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
}
_DEPTH = 6
#: What ``Spec.resolve`` raises for a reference it cannot follow (circular, not local, or
#: pointing nowhere); anything else is a bug of the mock's and goes up.
UNREADABLE_REF = (SpecError, KeyError, IndexError, ValueError)


def constant(spec: Spec, node: Json, pointer: str = "", depth: int = 0) -> Json:
    """A value valid against ``node`` (a schema), the same every time."""
    try:
        schema, where = spec.resolve(node, pointer)
    except UNREADABLE_REF:  # an unreadable reference: nothing better to say
        return None
    if not isinstance(schema, dict):
        return None
    for key in ("const", "default", "example"):
        if key in schema:
            return _plain(schema[key])
    for key in ("enum", "examples"):
        values = schema.get(key)
        if isinstance(values, list) and values:
            return _plain(values[0])
    for word in ("allOf", "oneOf", "anyOf"):
        parts = schema.get(word)
        if isinstance(parts, list) and parts and depth < _DEPTH:
            if word != "allOf":
                return constant(spec, parts[0], f"{where}/{word}/0", depth + 1)
            merged: dict[str, Json] = {}
            for index, part in enumerate(parts):
                value = constant(spec, part, f"{where}/allOf/{index}", depth + 1)
                if isinstance(value, dict):
                    merged.update(value)
                elif value is not None and "properties" not in schema:
                    # Not an object (allOf: [$ref: an enum, {...}], or [{type: string}, {minLength: 3}]):
                    # a value of every part at once, made from the parts' keywords together.
                    flat = _flat(spec, schema, where, depth)
                    return value if flat is None else constant(spec, flat, where, depth + 1)
            if merged or "properties" not in schema:
                base = _object(spec, schema, where, depth) if "properties" in schema else {}
                return {**merged, **(base if isinstance(base, dict) else {})}
    kind = schema.get("type")
    kinds = [kind] if isinstance(kind, str) else list(kind) if isinstance(kind, list) else []
    if not kinds:
        kinds = ["object"] if "properties" in schema else ["array"] if "items" in schema else []
    if not kinds or kinds[0] == "null":
        return None
    first = kinds[0]
    if first == "string":
        text = _FORMATS.get(str(schema.get("format", "")), "")
        minimum = schema.get("minLength")
        if isinstance(minimum, int) and len(text) < minimum:
            text = text + "x" * (minimum - len(text))
        return text
    if first in {"integer", "number"}:
        bounds = []
        low = schema.get("minimum")
        if isinstance(low, int | float) and not isinstance(low, bool):
            bounds.append(math.ceil(low) if first == "integer" else low)
        exclusive = schema.get("exclusiveMinimum")
        if isinstance(exclusive, int | float) and not isinstance(exclusive, bool):
            bounds.append(math.floor(exclusive) + 1)
        return max(bounds) if bounds else 0
    if first == "boolean":
        return False
    if first == "array":
        count = schema.get("minItems")
        if isinstance(count, int) and count > 0 and depth < _DEPTH:
            item = constant(spec, schema.get("items", {}), f"{where}/items", depth + 1)
            return [item for _ in range(min(count, 10))]
        return []
    if first == "object":
        return _object(spec, schema, where, depth)
    return None


#: Keywords whose strictest value wins when ``allOf`` parts both give one.
_LOWER_BOUNDS = frozenset({"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"})
_UPPER_BOUNDS = frozenset({"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"})


#: A part's sample values, which another part may refuse (``example: "ab"`` beside ``minLength: 3``).
_SAMPLES = frozenset({"default", "example", "examples"})


def _flat(spec: Spec, schema: Mapping[str, Json], where: str, depth: int) -> dict[str, Json] | None:
    """``schema``'s keywords and those of its ``allOf`` parts (theirs too, down) as one schema:
    a bound given twice keeps the strictest, two ``enum`` lists their common values, any other
    keyword the first given (the schema's own, then the parts' in order); the parts' sample
    values are left out. ``None``: a part cannot be read."""
    out: dict[str, Json] = {k: v for k, v in schema.items() if k != "allOf"}
    parts = schema.get("allOf")
    for index, part in enumerate(parts if isinstance(parts, list) else []):
        try:
            inner, at = spec.resolve(part, f"{where}/allOf/{index}")
        except UNREADABLE_REF:
            return None
        if inner is True or inner == {}:
            continue
        if not isinstance(inner, dict):
            return None
        if "allOf" in inner:
            if depth >= _DEPTH:
                return None
            nested = _flat(spec, inner, at, depth + 1)
            if nested is None:
                return None
            inner = nested
        for key, value in inner.items():
            if key in _SAMPLES:
                continue
            mine = out.get(key)
            numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (mine, value))
            if key == "enum" and isinstance(mine, list) and isinstance(value, list):
                common = [v for v in mine if v in value]
                out[key] = common or mine  # none in common: no value can satisfy both anyway
            elif key in _LOWER_BOUNDS and numbers:
                out[key] = max(mine, value)
            elif key in _UPPER_BOUNDS and numbers:
                out[key] = min(mine, value)
            else:
                out.setdefault(key, value)
    return out


def _object(spec: Spec, schema: Mapping[str, Json], where: str, depth: int) -> Json:
    out: dict[str, Json] = {}
    props = schema.get("properties") or {}
    if not isinstance(props, dict) or depth >= _DEPTH:
        return out
    for name in schema.get("required") or []:
        if isinstance(name, str) and name in props:
            out[name] = constant(spec, props[name], f"{where}/properties/{escape_pointer_token(name)}", depth + 1)
    return out


def _plain(value: Any) -> Json:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def fill_layout(layout: Layout, values: Mapping[str, Json]) -> dict[str, Json]:
    """An envelope: each field of ``layout`` given its value from ``values`` (by meaning),
    ``null`` turned into the simplest value where the schema does not allow it."""
    body: dict[str, Json] = {}
    for name, slot in layout.items():
        if isinstance(slot, Slot):
            if slot.meaning == "const":
                body[name] = _plain(slot.value)
                continue
            value = values.get(slot.meaning)
            if value is None and not slot.nullable:
                value = "" if slot.is_string else None
            elif slot.is_string and isinstance(value, int | float) and not isinstance(value, bool):
                value = str(value)
            body[name] = value
        else:
            body[name] = fill_layout(slot, values)
    return body


def conform(spec: Spec, node: Json, pointer: str, record: Mapping[str, Json]) -> Json:
    """An answer of the schema at ``node`` made from ``record``: the object's properties that
    ``record`` has come from it, the required ones it lacks are filled."""
    try:
        schema, where = spec.resolve(node, pointer)
    except UNREADABLE_REF:
        return dict(record)
    if not isinstance(schema, dict):
        return dict(record)
    base = constant(spec, schema, where)
    if not isinstance(base, dict):
        return base
    names = _property_names(spec, schema, where, 0)
    shared = {k: v for k, v in record.items() if k in names}
    return {**base, **shared}


def _property_names(spec: Spec, schema: Mapping[str, Json], where: str, depth: int) -> set[str]:
    """The properties ``schema`` names, its ``allOf`` parts' included."""
    props = schema.get("properties")
    names = set(props) if isinstance(props, dict) else set()
    parts = schema.get("allOf")
    if isinstance(parts, list) and depth < _DEPTH:
        for index, part in enumerate(parts):
            try:
                inner, at = spec.resolve(part, f"{where}/allOf/{index}")
            except UNREADABLE_REF:
                continue
            if isinstance(inner, dict):
                names |= _property_names(spec, inner, at, depth + 1)
    return names
