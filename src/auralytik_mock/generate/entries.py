"""A ``generate`` entry of a fixture list, turned into records; one value for a sub-resource.

Owns: the entry's keys (``generate``, ``with``, ``pick``, ``seed``, ``between``) and their checks,
the random source of an entry (a SHA-256 of what makes the entry itself, never ``hash()``),
each record's instant (office hours over the ``between`` window), and unique ids.

No IO. May import: ``makers``, ``names``, ``formats``, ``patterns``, ``planner``, ``shapes``,
``vocabulary``, ``derive``, ``core.types``.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

from ..core.types import Json
from .derive import name_parent, parent_window
from .formats import uuid
from .makers import Context, GenerateError, Rng, rint, types_of
from .names import default_id_prefix
from .patterns import literal_head, pattern_maker
from .planner import Planner
from .shapes import seconds_per_unit
from .vocabulary import Vocabulary

#: The most records one ``generate`` entry may ask for (bounds start-up time and memory).
MAX_RECORDS = 1_000_000
#: When ``between`` is not given, generated instants fall in this window (UTC).
DEFAULT_BETWEEN = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 6, 30, 23, 59, 59, tzinfo=UTC))
#: Keys of a ``generate`` entry.
ENTRY_KEYS = ("generate", "with", "pick", "seed", "between")


def seed_of(*parts: Json) -> int:
    """A 64-bit seed from ``parts`` (SHA-256 of their JSON: no ``hash()``, no process state)."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _parse_between(raw: Json) -> tuple[datetime, datetime]:
    if raw is None:
        return DEFAULT_BETWEEN
    if not isinstance(raw, list) or len(raw) != 2:
        raise GenerateError("between", "must be a list of two dates or date-times: [2024-01-01, 2024-03-31]")
    bounds = []
    for index, value in enumerate(raw):
        if isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        elif isinstance(value, date):
            moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise GenerateError(f"between[{index}]", f"{value!r} is not an ISO 8601 date or date-time") from None
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        else:
            raise GenerateError(f"between[{index}]", "must be an ISO 8601 date or date-time")
        bounds.append(moment.astimezone(UTC))
    if bounds[0] > bounds[1]:
        raise GenerateError("between", "the first date is after the second")
    if raw and isinstance(raw[1], date) and not isinstance(raw[1], datetime):
        bounds[1] += timedelta(days=1) - timedelta(seconds=1)  # a date ends at the day's end
    return bounds[0], bounds[1]


def _check_entry(entry: Mapping[str, Json], schema: Mapping[str, Json]) -> tuple[int, dict[str, Json]]:
    """The entry's count and fixed values, once every key is checked."""
    unknown = sorted(set(entry) - set(ENTRY_KEYS))
    if unknown:
        raise GenerateError(unknown[0], f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(ENTRY_KEYS)})")
    count = entry.get("generate")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_RECORDS:
        raise GenerateError("generate", f"must be a whole number from 0 to {MAX_RECORDS:,}, got {count!r}")
    fixed = entry.get("with") or {}
    if not isinstance(fixed, dict):
        raise GenerateError("with", "must be a mapping of field: value that every generated record gets")
    seed = entry.get("seed")
    if seed is not None and not isinstance(seed, str | int):
        raise GenerateError("seed", "must be a string or a number")
    properties = schema.get("properties") or {}
    if not isinstance(properties, dict):
        raise GenerateError("generate", "the record schema has no properties to generate")
    for name in fixed:
        if name not in properties and schema.get("additionalProperties") is False:
            raise GenerateError(f"with.{name}", f"not a field of the record (fields: {', '.join(properties)})")
    if "id" in fixed and count > 1:
        raise GenerateError("with.id", "each generated record gets its own id; leave id out of 'with'")
    picks = entry.get("pick") or {}
    if not isinstance(picks, dict) or not all(isinstance(v, list) and v for v in picks.values()):
        raise GenerateError("pick", "must be a mapping of field: [values], each record taking one of the values")
    for name in picks:
        if name in fixed or name == "id" or (name not in properties and schema.get("additionalProperties") is False):
            raise GenerateError(f"pick.{name}", "not a field of the record, or also under 'with' or the id")
    return count, fixed


def generate_records(
    entry: Mapping[str, Json],
    schema: Mapping[str, Json],
    *,
    kind: str,
    key: Sequence[Json],
    taken: set[str] | None = None,
    vocabulary: Vocabulary | None = None,
) -> list[dict[str, Json]]:
    """The records a ``generate`` entry asks for.

    :param entry: ``{"generate": 142, "with": {...}, "seed": ..., "between": [from, to]}``.
    :param schema: the record schema, ``$ref``s inlined.
    :param kind: the resource kind (id prefix when the schema has no ``x-mock-id-prefix``).
    :param key: what makes this entry itself (client id, kind, which entry of the list);
        with the entry's content it seeds the random source.
    :param taken: ids already used for this kind; generated ids avoid them and are added.
    :param vocabulary: what free text says (default: the generic vocabulary).
    :raises GenerateError: the entry is malformed or the schema cannot be generated;
        ``field`` says where.
    """
    count, fixed = _check_entry(entry, schema)
    raw_picks = entry.get("pick") or {}
    picks: dict[str, list[Json]] = (
        {str(k): list(v) for k, v in raw_picks.items()} if isinstance(raw_picks, dict) else {}
    )
    low, high = _parse_between(entry.get("between"))
    properties = schema.get("properties") or {}
    # each record takes its pick; the other fields are what they would be without one
    planner = Planner(kind, fixed, vocabulary)
    planner.picked = frozenset(picks)
    id_maker = _ids(schema, properties.get("id"), kind, count, "id" in fixed)
    planner.numbered_ids = id_maker is not None
    make = planner.object(schema, "", "record", top=True)
    seed_parts: list[Json] = [list(key), fixed, entry.get("seed")]
    rng = random.Random(seed_of(*seed_parts))
    chooser = random.Random(seed_of(*seed_parts, picks, "pick"))  # the picks leave the rest as it was
    start = low.astimezone(UTC).replace(tzinfo=None)
    span = max(int((high - low).total_seconds()), 0)
    days = (span + 1) // 86400
    office = days >= 1  # over a day or more: office hours, as a business works
    used = taken if taken is not None else set()
    records: list[dict[str, Json]] = []
    for _ in range(count):
        if office:
            offset = rint(rng, 0, days - 1) * 86400 + rint(rng, 8 * 3600, 20 * 3600 - 1)
        else:
            offset = rint(rng, 0, span)
        moment = start + timedelta(seconds=offset)
        if picks:
            planner.fixed.update({name: chooser.choice(values) for name, values in picks.items()})
        record = make(rng, Context(moment))
        assert isinstance(record, dict)  # an object maker makes objects
        if id_maker is not None:
            record_id = id_maker(rng)
            for _ in range(50):
                if str(record_id) not in used:
                    break
                record_id = id_maker(rng)
            used.add(str(record_id))
            record["id"] = record_id
        records.append(record)
    return records


def generate_value(
    schema: Json,
    *,
    key: Sequence[Json],
    name: str = "",
    kind: str = "",
    when: datetime | None = None,
    parent: Mapping[str, Json] | None = None,
    vocabulary: Vocabulary | None = None,
) -> Json:
    """One value valid against ``schema`` (``$ref``s inlined), the same for the same ``key``.

    For data that belongs to a record but is not a record: a sub-resource's answer (an
    evaluation's transcript) made for a generated record. ``name`` guides the guesses as a
    property name would; ``when`` is the instant dates are placed around (default: the
    start of ``DEFAULT_BETWEEN``); ``parent`` is the record it belongs to: a timeline in
    the value (transcript turns) ends within the parent's duration (``durationInSeconds``),
    or runs from its start to its end (a conversation's messages), and the value's
    ``<record>Id`` is the parent's id.

    :raises GenerateError: the schema cannot be generated; ``field`` says where.
    """
    rng = random.Random(seed_of(list(key)))
    base = (when or DEFAULT_BETWEEN[0]).astimezone(UTC).replace(tzinfo=None)
    span = None
    for prop, value in (parent or {}).items():
        unit = seconds_per_unit(prop, {"type": "number"})
        if unit is not None and isinstance(value, int | float) and not isinstance(value, bool):
            span = value * unit
            break
    if span is None and parent:  # no duration: the record's start and end (a conversation's)
        began, length = parent_window(parent)
        if began is not None:
            base, span = began, length
    value = Planner(kind, {}, vocabulary).plan(schema, name, "value")(rng, Context(base, span))
    if parent:
        name_parent(value, kind, parent)
    return value


def _ids(
    schema: Mapping[str, Json], id_schema: Json, kind: str, count: int, fixed: bool
) -> Callable[[Rng], Json] | None:
    """Ids: ``x-mock-id-prefix`` (or a prefix from the kind) and a number wide enough for ``count``."""
    if fixed or not isinstance(id_schema, dict):
        return None
    types, _ = types_of(id_schema)
    if types[:1] == ["integer"]:
        top = max(10 * count, 1000)
        return lambda rng: rint(rng, 1, top)
    if id_schema.get("format") == "uuid":
        return uuid
    pattern = id_schema.get("pattern")
    prefix = schema.get("x-mock-id-prefix")
    if not isinstance(prefix, str):
        head = literal_head(pattern) if isinstance(pattern, str) else ""
        prefix = head or default_id_prefix(kind)
    digits = max(5, len(str(count * 10)) + 1)
    low, high = 10 ** (digits - 1), 10**digits - 1
    if isinstance(pattern, str) and not re.search(pattern, f"{prefix}{low}"):
        from_pattern = pattern_maker(pattern, "record.id")
        context = Context(DEFAULT_BETWEEN[0].replace(tzinfo=None))
        return lambda rng: from_pattern(rng, context)
    return lambda rng: f"{prefix}{rint(rng, low, high)}"
