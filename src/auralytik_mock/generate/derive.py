"""What a generated record's fields say about each other, made true once it is made.

Owns the rules that tie one field to another by their names, so a record reads as one
event: an end instant is its start plus its duration (``endTime`` = ``startTime`` +
``durationSeconds``), or a few minutes after it when there is no duration, and ``null``
exactly while the record's status says it is still going (``active``); the server's
``createdAt`` is the start; another count of seconds (``talkTimeSeconds``) fits in the
duration; a count follows the items it counts (``messageCount`` is the number of
``messages``, ``participantCount`` the sides that speak in them); a sub-resource names
its record (``conversationId``) and its timeline sits in the record's window
(``parent_window``).

No IO. May import: ``makers``, ``names``, ``shapes``, ``core.types``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from ..core.types import Json
from .makers import Rng, rint, types_of
from .names import words_of
from .shapes import AGENT_WORDS, END_WORDS, START_WORDS

_START = START_WORDS | {"started", "began"}
_END = END_WORDS | {"ended", "finished"}
#: Status values of a record that is still going: its end is not known yet.
_ONGOING = frozenset({"active", "open", "ongoing", "running", "in_progress", "inprogress", "live"})
_BOT_WORDS = frozenset({"bot", "assistant", "ivr", "system"})


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: Json) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _instants(properties: Mapping[str, Json]) -> tuple[str | None, str | None]:
    """The record's start and end instants (``date-time`` properties named so; a ``startDate``
    is a day in a calendar, not the start of an event)."""
    start = end = None
    for prop, sub in properties.items():
        if not isinstance(sub, dict) or sub.get("format") != "date-time" or sub.get("readOnly"):
            continue
        words = set(words_of(prop))
        if "date" in words or "day" in words:
            continue
        if start is None and words & _START:
            start = prop
        elif end is None and words & _END:
            end = prop
    return start, end


def _seconds(properties: Mapping[str, Json]) -> tuple[str | None, list[str]]:
    """The duration in seconds, and the other counts of seconds."""
    duration, others = None, []
    for prop, sub in properties.items():
        if not isinstance(sub, dict) or types_of(sub)[0][:1] not in (["integer"], ["number"]):
            continue
        words = set(words_of(prop))
        if "seconds" not in words and "secs" not in words:
            continue
        if duration is None and words & {"duration", "length"}:
            duration = prop
        else:
            others.append(prop)
    return duration, others


def _ongoing(record: Mapping[str, Json]) -> bool:
    for prop in ("status", "state"):
        value = record.get(prop)
        if isinstance(value, str) and value.lower().replace(" ", "_") in _ONGOING:
            return True
    return False


def derive(record: dict[str, Json], properties: Mapping[str, Json], rng: Rng, base: datetime) -> None:
    """Make ``record``'s related fields agree (the module docstring lists the rules); its
    start is ``base``, the record's instant (office hours within the entry's ``between``)."""
    start, end = _instants(properties)
    duration, others = _seconds(properties)
    if start is None or not isinstance(record.get(start), str):
        return
    began = base.replace(tzinfo=UTC) if base.tzinfo is None else base
    record[start] = _stamp(began)
    length = record.get(duration) if duration is not None else None
    if end is not None and end in record:
        nullable = types_of(properties[end])[1] if isinstance(properties[end], dict) else False
        if nullable and _ongoing(record):
            record[end] = None
        elif isinstance(length, int | float) and not isinstance(length, bool):
            record[end] = _stamp(began + timedelta(seconds=float(length)))
        else:
            record[end] = _stamp(began + timedelta(seconds=rint(rng, 90, 1500)))
    if isinstance(length, int | float) and not isinstance(length, bool):
        for prop in others:
            value = record.get(prop)
            if isinstance(value, int | float) and not isinstance(value, bool) and value > length:
                part = length * (0.75 + rng.random() * 0.22)
                record[prop] = int(part) if isinstance(value, int) else round(part, 1)
    created = properties.get("createdAt")
    if "createdAt" in record and isinstance(created, dict) and created.get("format") == "date-time":
        record["createdAt"] = record[start]


def parent_window(parent: Mapping[str, Json]) -> tuple[datetime | None, float | None]:
    """Where a sub-resource's timeline sits: from the record's start instant to its end
    (``None`` while it has none)."""
    start = end = None
    for prop, value in parent.items():
        moment = _parse(value) if isinstance(value, str) and len(value) >= 19 else None
        words = set(words_of(prop))
        if moment is None or "date" in words:
            continue
        if start is None and words & _START:
            start = moment
        elif end is None and words & _END:
            end = moment
    if start is None:
        return None, None
    span = (end - start).total_seconds() if end is not None and end >= start else None
    return start.astimezone(UTC).replace(tzinfo=None), span


def name_parent(value: Json, kind: str, parent: Mapping[str, Json]) -> None:
    """A sub-resource's ``<record>Id`` (``conversationId``) is its record's id."""
    if not isinstance(value, dict) or "id" not in parent:
        return
    singular = kind[:-3] + "y" if kind.endswith("ies") else kind[:-1] if kind.endswith("s") else kind
    own = "".join(words_of(singular.replace("-", " ").replace("_", " ")))
    for prop in value:
        words = words_of(prop)
        if words[-1:] == ["id"] and "".join(words[:-1]) == own:
            value[prop] = parent["id"]


def follow_counts(record: dict[str, Json], properties: Mapping[str, Json]) -> None:
    """``<item>Count`` is the number of ``<item>s`` (in the record, or in an object it holds:
    a sub-resource's data); a count of participants is the sides that speak in them: each
    customer, and the business (its agents and bots) as one (the vendor's example: a
    customer, a bot and an agent are 2 participants)."""
    lists: dict[str, list[Json]] = {}
    for source in (record, *(v for v in record.values() if isinstance(v, dict))):
        if isinstance(source, dict):
            for prop, value in source.items():
                if isinstance(value, list):
                    lists.setdefault(prop.lower(), value)
    for prop, sub in properties.items():
        words = words_of(prop)
        if words[-1:] != ["count"] or len(words) < 2 or not isinstance(sub, dict) or "x-mock-count" in sub:
            continue
        if types_of(sub)[0][:1] != ["integer"]:
            continue
        noun = "".join(words[:-1])
        items = lists.get(noun + "s") or lists.get(noun + "es")
        if items is not None:
            record[prop] = len(items)
        elif noun in {"participant", "person", "people"}:
            speakers = {
                str(item.get(key))
                for items in lists.values()
                for item in items
                if isinstance(item, dict)
                for key in ("role", "speaker", "author", "sender")
                if key in item
            }
            sides = {"\0business" if set(words_of(s)) & (_BOT_WORDS | AGENT_WORDS) else s for s in speakers}
            if sides:
                record[prop] = len(sides)
