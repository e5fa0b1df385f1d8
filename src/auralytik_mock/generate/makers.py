"""The generator's building blocks: the maker type, its per-record context, small makers.

Owns: ``Maker`` (a closure ``(rng, context) -> value``), ``Context``, ``GenerateError``, the
makers every other module combines (a constant, a pick from a pool, maybe-null, one of
several), fitting a string to ``minLength``/``maxLength``, and how often each enum value
comes up. Also the two readings of a schema every module needs (``merge_all_of``,
``types_of``).

No IO. May import: ``core.types``.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from ..core.types import Json

Rng = random.Random
#: How often an optional property is present, and a nullable value null.
OPTIONAL_PRESENT = 0.85
NULL_SHARE = 0.1


class GenerateError(Exception):
    """A ``generate`` entry cannot be honoured.

    :param field: where, relative to the entry (``with.engagementId``, ``generate``,
        ``record.results.score``).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Context:
    """Per-record state: the record's base instant, so related dates agree; the length in
    seconds a timeline must fit in (the owning record's duration), when known."""

    __slots__ = ("base", "span")

    def __init__(self, base: datetime, span: float | None = None) -> None:
        self.base = base
        self.span = span


Maker = Callable[[Rng, Context], Json]


def constant(value: Json) -> Maker:
    if isinstance(value, dict | list):
        text = json.dumps(value)
        return lambda rng, ctx: json.loads(text)  # each record its own copy
    return lambda rng, ctx: value


def one_of(makers: Sequence[Maker]) -> Maker:
    return lambda rng, ctx: rng.choice(makers)(rng, ctx)


def maybe_null(maker: Maker) -> Maker:
    return lambda rng, ctx: None if rng.random() < NULL_SHARE else maker(rng, ctx)


def pick(values: Sequence[str]) -> Maker:
    count = len(values)
    return lambda rng, ctx: values[int(rng.random() * count)]


def rint(rng: Rng, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``, both included: ``randint`` at a fifth of its cost
    (``random()`` is one C call; ``randint`` several Python ones)."""
    return low + int(rng.random() * (high - low + 1))


def num(value: Json) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def fit_length(maker: Maker, schema: Mapping[str, Json], filler: Sequence[str], where: str) -> Maker:
    """``maker``'s strings padded with filler words up to ``minLength`` and cut (at a word
    when it can) to ``maxLength``."""
    low = schema.get("minLength")
    high = schema.get("maxLength")
    if not isinstance(low, int) and not isinstance(high, int):
        return maker
    low_n = low if isinstance(low, int) else 0
    high_n = high if isinstance(high, int) else None
    if high_n is not None and low_n > high_n:
        raise GenerateError(where, f"minLength {low_n} is larger than maxLength {high_n}")

    def make(rng: Rng, ctx: Context) -> Json:
        value = maker(rng, ctx)
        if not isinstance(value, str):
            return value
        while len(value) < low_n:
            value = f"{value} {rng.choice(filler)}".strip()
        if high_n is not None and len(value) > high_n:
            cut = value[:high_n]
            trimmed = cut.rsplit(" ", 1)[0] if " " in cut else cut
            value = trimmed if len(trimmed) >= low_n else cut
            if value.endswith(" ") and len(value.rstrip()) >= low_n:
                value = value.rstrip()
        return value

    return make


_COMMON = re.compile(r"complet|active|success|done|closed|resolved|approved|paid|delivered|positive|neutral", re.I)
_RARE = re.compile(r"fail|error|cancel|reject|deleted|expired|archiv", re.I)


def enum_weight(value: Json) -> float:
    """Most records of a real system have finished well: ``Completed`` outnumbers ``Failed``."""
    if value is None:
        return 0.5
    text = str(value)
    if _COMMON.search(text):
        return 6.0
    if _RARE.search(text):
        return 0.7
    return 2.0


# -- reading schemas ---------------------------------------------------------------------------


def merge_all_of(schema: Mapping[str, Json]) -> dict[str, Json]:
    """``schema`` with its ``allOf`` parts merged in (properties and required united)."""
    merged: dict[str, Json] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema.get("allOf") or []:
        if not isinstance(part, dict):
            continue
        part = merge_all_of(part)
        for key, value in part.items():
            if key == "properties" and isinstance(value, dict):
                props = dict(merged.get("properties") or {})
                props.update(value)
                merged["properties"] = props
            elif key == "required" and isinstance(value, list):
                merged["required"] = sorted({*(merged.get("required") or []), *value})
            else:
                merged.setdefault(key, value)
    return merged


def types_of(schema: Mapping[str, Json]) -> tuple[list[str], bool]:
    """The schema's non-null types and whether null is allowed (3.1 ``type`` lists, ``const: null``)."""
    raw = schema.get("type")
    types = [raw] if isinstance(raw, str) else [t for t in raw if isinstance(t, str)] if isinstance(raw, list) else []
    nullable = "null" in types
    types = [t for t in types if t != "null"]
    if not types:
        if "properties" in schema or "additionalProperties" in schema:
            types = ["object"]
        elif "items" in schema:
            types = ["array"]
        elif any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
            types = ["number"]
        elif any(k in schema for k in ("minLength", "maxLength", "pattern", "format")):
            types = ["string"]
    return types, nullable


def is_number(schema: Json) -> bool:
    """Whether ``schema`` makes a number (``number`` or ``integer``)."""
    return isinstance(schema, dict) and types_of(schema)[0][:1] in (["number"], ["integer"])
