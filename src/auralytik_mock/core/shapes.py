"""The shapes a spec gives its records and lists, read from schemas.

Owns: resolving and merging record schemas (``$ref``, ``allOf``, ``oneOf``/``anyOf``),
telling whether two schemas describe the same record, finding a record inside an
answer (bare, ``{data: record, meta}``, or a single-key wrapper ``{"article": {...}}``),
and reading a list answer's envelope (a bare array or any object holding the array,
each other field given a meaning or a constant). No IO.
May import: ``spec``, ``fill``, ``types``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .fill import UNREADABLE_REF, Layout, Slot, constant
from .spec import Spec, escape_pointer_token
from .types import Json

#: Names an envelope's fields may have, and what the mock puts there.
MEANINGS = {
    "page": "page",
    "pageNumber": "page",
    "page_number": "page",
    "currentPage": "page",
    "current_page": "page",
    "pageSize": "pageSize",
    "page_size": "pageSize",
    "perPage": "pageSize",
    "per_page": "pageSize",
    "size": "pageSize",
    "totalCount": "totalCount",
    "total_count": "totalCount",
    "total": "totalCount",
    "totalItems": "totalCount",
    "total_items": "totalCount",
    "totalResults": "totalCount",
    "total_results": "totalCount",
    "count": "totalCount",
    "totalPages": "totalPages",
    "total_pages": "totalPages",
    "pageCount": "totalPages",
    "page_count": "totalPages",
    "offset": "offset",
    "limit": "limit",
    "hasMore": "hasMore",
    "has_more": "hasMore",
    "hasNext": "hasMore",
    "has_next": "hasMore",
    "hasNextPage": "hasMore",
    "has_next_page": "hasMore",
    "firstId": "firstId",
    "first_id": "firstId",
    "lastId": "lastId",
    "last_id": "lastId",
    "nextCursor": "nextCursor",
    "next_cursor": "nextCursor",
    "cursor": "nextCursor",
    "nextPageToken": "nextCursor",
    "next_page_token": "nextCursor",
    "endCursor": "nextCursor",
    "end_cursor": "nextCursor",
    "prevCursor": "prevCursor",
    "prev_cursor": "prevCursor",
    "previousCursor": "prevCursor",
    "previous_cursor": "prevCursor",
    "startCursor": "prevCursor",
    "start_cursor": "prevCursor",
    "requestId": "requestId",
    "request_id": "requestId",
    "timestamp": "timestamp",
}
#: Meanings whose value is a number (a string field of that name is not one of them).
_NUMBERS = {"page", "pageSize", "totalCount", "totalPages", "offset", "limit"}


@dataclass(frozen=True)
class Envelope:
    """Where an answer puts its records and its numbers; ``layout`` is empty for a bare
    record or a bare array."""

    layout: Layout = field(default_factory=dict)

    @property
    def bare(self) -> bool:
        return not self.layout


@dataclass(frozen=True)
class Record:
    """A record schema as stored: its pointer, merged properties and required names."""

    pointer: str
    properties: Mapping[str, Mapping[str, Json]]
    required: frozenset[str]
    schema: Mapping[str, Json]

    def same(self, other: Record) -> bool:
        """Whether ``other`` describes the same records (one pointer, or the same properties)."""
        if self.pointer == other.pointer:
            return True
        if other.pointer in _all_of_refs(self.schema) or self.pointer in _all_of_refs(other.schema):
            return True  # ``allOf: [Booking, {links}]``: a Booking with its hypermedia links
        return bool(self.properties) and set(self.properties) == set(other.properties)

    @property
    def name(self) -> str:
        """Its name under ``components/schemas``, or its pointer."""
        prefix = "/components/schemas/"
        if self.pointer.startswith(prefix) and "/" not in self.pointer[len(prefix) :]:
            return self.pointer[len(prefix) :].replace("~1", "/").replace("~0", "~")
        return self.pointer


def types(schema: Mapping[str, Json]) -> set[str]:
    """The JSON types ``schema`` names (``type``, or ``nullable: true`` for ``null``)."""
    kind = schema.get("type")
    found = {kind} if isinstance(kind, str) else {str(k) for k in kind or []} if isinstance(kind, list) else set()
    if schema.get("nullable") is True:
        found.add("null")
    return found


class Reader:
    """Reads schemas of one spec: follows ``$ref``s, merges compositions."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def resolved(self, node: Json, pointer: str) -> tuple[Mapping[str, Json], str]:
        """``node`` with its ``$ref`` chain followed, and where that ends (``{}`` if not a schema)."""
        try:
            target, target_pointer = self.spec.resolve(node, pointer)
        except UNREADABLE_REF:  # a reference the loader tolerated: not a schema we can read
            return {}, pointer
        return (target if isinstance(target, dict) else {}), target_pointer

    def record(self, node: Json, pointer: str, depth: int = 0) -> Record:
        """The object schema at ``node`` merged for storage: ``allOf`` parts together,
        ``oneOf``/``anyOf`` alternatives as one record with every property."""
        schema, where = self.resolved(node, pointer)
        properties: dict[str, Mapping[str, Json]] = {}
        required: set[str] = set()
        if depth < 8:
            for word in ("allOf", "oneOf", "anyOf"):
                parts = schema.get(word)
                if not isinstance(parts, list):
                    continue
                for index, part in enumerate(parts):
                    inner = self.record(part, f"{where}/{word}/{index}", depth + 1)
                    for name, prop in inner.properties.items():
                        if word == "allOf" and prop:
                            # a later part refines an earlier one (a collection wrapper's
                            # ``data: array of object``, then ``data: array of Booking``)
                            properties[name] = prop
                        else:
                            properties.setdefault(name, prop)
                    if word == "allOf":
                        required |= inner.required
        props = schema.get("properties")
        if isinstance(props, dict):
            for name, prop in props.items():
                if isinstance(prop, dict):
                    properties[str(name)] = prop
        names = schema.get("required")
        if isinstance(names, list):
            required |= {str(n) for n in names}
        return Record(where, properties, frozenset(required), schema)

    def prop(self, record: Record, name: str) -> Mapping[str, Json]:
        """Property ``name`` of ``record``, resolved (``{}`` if it has none)."""
        node = record.properties.get(name)
        if node is None:
            return {}
        return self.resolved(node, f"{record.pointer}/properties/{escape_pointer_token(name)}")[0]

    def is_object(self, record: Record) -> bool:
        return bool(record.properties) or "object" in types(record.schema)

    def unwrap(self, node: Json, pointer: str) -> tuple[Record, Envelope]:
        """The record an answer holds, and how it is wrapped: ``{data: record, meta}``,
        ``{"article": record}`` (one property, an object), or bare."""
        outer = self.record(node, pointer)
        props = outer.properties
        if len(props) == 1 or (set(props) == {"data", "meta"}):
            name = "data" if "data" in props else next(iter(props))
            inner = self.record(props[name], f"{outer.pointer}/properties/{escape_pointer_token(name)}")
            if inner.properties and not self.array(props[name], outer.pointer):
                layout: dict[str, Slot | Layout] = {name: Slot("items")}
                if "meta" in props and name == "data":
                    layout["meta"] = self.nested(props["meta"], f"{outer.pointer}/properties/meta")
                return inner, Envelope(layout)
        return outer, Envelope()

    def array(self, node: Json, pointer: str) -> Mapping[str, Json] | None:
        """``node``'s ``items`` if it is an array schema, else ``None``."""
        schema, _ = self.resolved(node, pointer)
        if "array" in types(schema) or "items" in schema:
            items = schema.get("items")
            return items if isinstance(items, dict) else {}
        return None

    def listing(self, node: Json, pointer: str, record: Record) -> Envelope | None:
        """How a list answer holds ``record``s: a bare array (``Envelope()``), an object with
        the array in one field and the other fields given meanings, or ``None`` if the answer
        holds no array of ``record``."""
        schema, where = self.resolved(node, pointer)
        items = self.array(schema, where)
        if items is not None:
            inner = self.record(items, f"{where}/items")
            return Envelope() if inner.same(record) else None
        outer = self.record(schema, where)
        chosen = None
        for name, prop in outer.properties.items():
            prop_pointer = f"{outer.pointer}/properties/{escape_pointer_token(name)}"
            items = self.array(prop, prop_pointer)
            if items is not None and self.record(items, f"{prop_pointer}/items").same(record):
                chosen = name
                break
        if chosen is None:
            return None
        layout: dict[str, Slot | Layout] = {}
        for name, prop in outer.properties.items():  # the schema's order, as its examples show
            if name == chosen:
                layout[name] = Slot("items")
                continue
            prop_pointer = f"{outer.pointer}/properties/{escape_pointer_token(name)}"
            found = self.slot(name, prop, prop_pointer, name in outer.required)
            if found is not None:
                layout[name] = found
        return Envelope(layout)

    def nested(self, node: Json, pointer: str) -> Layout:
        inner = self.record(node, pointer)
        layout: dict[str, Slot | Layout] = {}
        for name, prop in inner.properties.items():
            prop_pointer = f"{inner.pointer}/properties/{escape_pointer_token(name)}"
            found = self.slot(name, prop, prop_pointer, name in inner.required)
            if found is not None:
                layout[name] = found
        return layout

    def slot(self, name: str, node: Json, pointer: str, required: bool) -> Slot | Layout | None:
        """What the mock puts in the envelope field ``name`` (``None``: an optional field
        it has nothing to say about, left out)."""
        schema, where = self.resolved(node, pointer)
        kinds = types(schema)
        nullable = "null" in kinds
        is_string = "string" in kinds
        meaning = MEANINGS.get(name)
        if meaning is None and name.endswith(("Count", "_count")) and kinds & {"integer", "number"}:
            meaning = "totalCount"
        if meaning in _NUMBERS and not kinds & {"integer", "number"} and kinds:
            meaning = None
        if "const" in schema or "enum" in schema:
            return Slot("const", value=constant(self.spec, schema, where))
        if meaning is not None:
            return Slot(meaning, nullable=nullable, is_string=is_string)
        if "object" in kinds and self.record(schema, where).properties:
            nested = self.nested(schema, where)
            return nested if nested or required else None
        if not required:
            return None
        return Slot("const", value=constant(self.spec, schema, where))


def _all_of_refs(schema: Mapping[str, Json]) -> frozenset[str]:
    """The local schemas ``schema``'s ``allOf`` names by ``$ref`` (as JSON pointers)."""
    parts = schema.get("allOf")
    if not isinstance(parts, list):
        return frozenset()
    return frozenset(
        part["$ref"][1:] for part in parts if isinstance(part, dict) and str(part.get("$ref", "")).startswith("#/")
    )
