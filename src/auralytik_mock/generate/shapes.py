"""What a schema's shape says beyond its types: the items of a list form a timeline or name
each criterion once, a number is the record's duration or the mean of its scores, a
language goes with English text.

Owns: reading an item schema's shape (``item_shape``: start and end numbers, who speaks,
what is said, the property that tells items apart), lists of distinct items, durations
(``seconds_per_unit``), means (``is_mean``, ``set_mean``) and the English value of a
language property (``english``).

No IO. May import: ``makers``, ``names``, ``core.types``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..core.types import Json
from .makers import Context, Maker, Rng, constant, is_number, merge_all_of, num, types_of
from .names import TEXT, score_like, words_of

AGENT_WORDS = frozenset(
    "agent rep representative executive operator staff employee advisor adviser assistant bot host".split()
)
_SPEAKER_WORDS = frozenset("speaker role party participant who from author channel side".split())
START_WORDS = frozenset("start begin begins from offset".split())
END_WORDS = frozenset("end ends stop until to".split())
#: Names of the property that tells the items of a list apart (one score per scorecard line).
_DISTINCT_WORDS = frozenset("name key label criterion criteria code title metric question".split())
LANGUAGE_WORDS = frozenset("language locale lang".split())

#: (start property, end property, whole units, units per second, the largest value allowed)
Timeline = tuple[str, str, bool, float, float | None]
#: (property, its enum values, the value that stands for the agent)
Speaking = tuple[str, list[Json], Json]
#: (property, ``"date-time"`` or ``"offset"``): each item's one instant (a message's time, a
#: transcript turn's ``HH:MM:SS`` offset from the start of the call)
Instant = tuple[str, str]
#: Names of a property that holds when an item happened.
_INSTANT_WORDS = frozenset("timestamp offset".split())


class ItemShape:
    """What the items of a list are, judged from their schema: a timeline (start and end
    numbers), who speaks (an enum property named like a speaker), the text, and the enum
    property that tells items apart (a scorecard line's ``name``)."""

    __slots__ = ("distinct", "instant", "names", "numbered", "speaker", "text", "timeline")

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.timeline: Timeline | None = None
        #: One instant per item instead of a start and an end.
        self.instant: Instant | None = None
        #: ``(property, prefix, digits)``: the items' ids, numbered in order (``msg_001``).
        self.numbered: tuple[str, str, int] | None = None
        self.speaker: Speaking | None = None
        self.text: str | None = None
        self.distinct: tuple[str, list[Json]] | None = None


def item_shape(items: Json) -> ItemShape | None:
    """The shape of the items ``items`` describes, or ``None`` when it is neither a timeline
    nor a list of distinct items."""
    if not isinstance(items, dict):
        return None
    items = merge_all_of(items) if "allOf" in items else items
    properties = items.get("properties")
    if not isinstance(properties, dict):
        return None
    shape = ItemShape([str(p) for p in properties])
    starts: list[tuple[str, Mapping[str, Json]]] = []
    ends: list[tuple[str, Mapping[str, Json]]] = []
    for prop, sub in properties.items():
        if not isinstance(sub, dict):
            continue
        words = words_of(prop)
        types, _ = types_of(sub)
        enum = sub.get("enum")
        if types[:1] in (["number"], ["integer"]) and "enum" not in sub and "const" not in sub:
            if set(words) & START_WORDS:
                starts.append((prop, sub))
            elif set(words) & END_WORDS:
                ends.append((prop, sub))
        elif isinstance(enum, list) and len(enum) >= 2 and set(words) & _SPEAKER_WORDS and shape.speaker is None:
            agent = next((v for v in enum if set(words_of(str(v))) & AGENT_WORDS), enum[0])
            shape.speaker = (prop, list(enum), agent)
        elif isinstance(enum, list) and len(enum) >= 2 and words[-1] in _DISTINCT_WORDS and shape.distinct is None:
            shape.distinct = (prop, list(enum))
        elif types[:1] == ["string"] and words[-1] in TEXT and shape.text is None and "enum" not in sub:
            if "pattern" not in sub and "format" not in sub:
                shape.text = prop
        elif types[:1] == ["string"] and words[-1] in _INSTANT_WORDS and shape.instant is None:
            pattern = sub.get("pattern")
            if sub.get("format") == "date-time":
                shape.instant = (prop, "date-time")
            elif isinstance(pattern, str) and re.search(pattern, "00:00:01"):
                shape.instant = (prop, "offset")
        elif prop == "id" and types[:1] == ["string"] and isinstance(sub.get("pattern"), str):
            shape.numbered = _numbering(prop, str(sub["pattern"]))
    if starts and ends:
        (start, start_schema), (end, end_schema) = _pair(starts, ends)
        integer = types_of(start_schema)[0][:1] == ["integer"] or types_of(end_schema)[0][:1] == ["integer"]
        unit_words = set(words_of(start)) | set(words_of(end))
        scale = 1000.0 if unit_words & {"ms", "millis", "milliseconds", "msec"} else 1.0
        scale = 1 / 60 if unit_words & {"minutes", "mins"} else scale
        tops = [t for t in (num(start_schema.get("maximum")), num(end_schema.get("maximum"))) if t is not None]
        shape.timeline = (start, end, integer, scale, min(tops) if tops else None)
    if shape.timeline is None and shape.instant is not None and (shape.text or shape.speaker):
        shape.timeline = ("", "", False, 1.0, None)  # placed like turns; each keeps one instant
    else:
        shape.instant = None
    if shape.timeline is None and shape.distinct is None:
        return None
    return shape


def _numbering(prop: str, pattern: str) -> tuple[str, str, int] | None:
    """How ids numbered in order fit ``pattern``: its literal head and the fewest digits it takes."""
    head = re.match(r"\^?([A-Za-z_-]*)", pattern)
    prefix = head.group(1) if head else ""
    for digits in range(1, 9):
        if re.search(pattern, f"{prefix}{1:0{digits}d}"):
            return prop, prefix, digits
    return None


def _pair(
    starts: list[tuple[str, Mapping[str, Json]]], ends: list[tuple[str, Mapping[str, Json]]]
) -> tuple[tuple[str, Mapping[str, Json]], tuple[str, Mapping[str, Json]]]:
    """The start and end that belong together: ``startSeconds`` with ``endSeconds``."""
    for start in starts:
        rest = [w for w in words_of(start[0]) if w not in START_WORDS]
        for end in ends:
            if [w for w in words_of(end[0]) if w not in END_WORDS] == rest:
                return start, end
    return starts[0], ends[0]


def distinct_items(item: Maker, distinct: tuple[str, list[Json]], low: int, high: int | None) -> Maker:
    """Items told apart by an enum property: each value once, in the enum's order (a scorecard
    lists every criterion once, always in the same order)."""
    prop, values = distinct
    count = len(values) if high is None else min(len(values), high)
    if count < low:  # the schema wants more items than there are values: repeats are unavoidable
        return lambda rng, ctx: [item(rng, ctx) for _ in range(low)]

    def make(rng: Rng, ctx: Context) -> Json:
        records = [item(rng, ctx) for _ in range(count)]
        for record, value in zip(records, values, strict=False):
            if isinstance(record, dict):
                record[prop] = value
        return records

    return make


def seconds_per_unit(prop: str, schema: Json) -> float | None:
    """Seconds per unit of a numeric property that is a record's length (``durationInSeconds``)."""
    if not is_number(schema):
        return None
    words = set(words_of(prop))
    if not words & {"duration", "length"}:
        return None
    if words & {"ms", "millis", "milliseconds"}:
        return 0.001
    if words & {"minutes", "mins"}:
        return 60.0
    return 1.0


def english(schema: Mapping[str, Json]) -> Maker | None:
    """``en-US`` or ``en``, whichever the schema takes (an enum's English value, a pattern)."""
    enum = schema.get("enum")
    candidates = [v for v in enum if isinstance(v, str) and v.lower()[:2] == "en"] if isinstance(enum, list) else []
    if isinstance(enum, list) and not candidates:
        return None
    pattern = schema.get("pattern")
    for value in candidates or ["en-US", "en", "eng", "en_US"]:
        if isinstance(pattern, str) and not re.search(pattern, value):
            continue
        if isinstance(schema.get("maxLength"), int) and len(value) > int(schema["maxLength"]):
            continue
        return constant(value)
    return None


def is_mean(prop: str, schema: Json) -> bool:
    return (
        isinstance(schema, dict)
        and bool(set(words_of(prop)) & {"average", "mean", "avg"})
        and is_number(schema)
        and "enum" not in schema
        and "const" not in schema
    )


def _scores(value: Json) -> list[float] | None:
    """The scores of the first list of scored items in ``value`` (``results.criteria[].score``)."""
    if isinstance(value, list):
        found = [
            float(v)
            for item in value
            if isinstance(item, dict)
            for k, v in item.items()
            if score_like(words_of(k)) and "max" not in words_of(k) and "min" not in words_of(k)
            if isinstance(v, int | float) and not isinstance(v, bool)
        ]
        if found:
            return found
        value = [v for v in value if isinstance(v, dict | list)]
        for item in value:
            inner = _scores(item)
            if inner:
                return inner
    elif isinstance(value, dict):
        for item in value.values():
            if isinstance(item, dict | list):
                inner = _scores(item)
                if inner:
                    return inner
    return None


def set_mean(record: dict[str, Json], prop: str, schema: Json) -> None:
    """An average is the mean of the record's scores, when it has some (``averageNote``)."""
    scores = _scores({k: v for k, v in record.items() if k != prop})
    if not scores or not isinstance(schema, dict):
        return
    mean = sum(scores) / len(scores)
    low, high = num(schema.get("minimum")), num(schema.get("maximum"))
    if (low is not None and mean < low) or (high is not None and mean > high):
        return  # another scale: leave the guess
    if types_of(schema)[0][:1] == ["integer"]:
        if schema.get("multipleOf") is None:
            record[prop] = round(mean)
        return
    if schema.get("multipleOf") is None:
        record[prop] = round(mean, 2)
