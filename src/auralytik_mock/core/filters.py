"""The filters of a list and the dates they compare.

Owns: ``Condition`` (one filter: eq, gte, lte, contains), ``matches`` (a record against a
condition, as the API defines it: a date ``lte`` includes its whole day), ``instant`` (an
RFC 3339 date-time or a date as seconds) and ``timestamp`` (the list order's key).
Pure functions, no state.
May import: ``types``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from .types import Json


@dataclass(frozen=True)
class Condition:
    """One filter of a list: ``field`` compared to ``value`` by ``op`` (eq, gte, lte, contains)."""

    field: str
    op: str
    value: Json


_DAY_END = "T23:59:59.999999+00:00"


def instant(value: Json, *, end_of_day: bool = False) -> float | None:
    """Seconds since the epoch of an RFC 3339 date-time or a date (UTC), else ``None``."""
    if not isinstance(value, str) or len(value) < 10 or value[4:5] != "-":
        return None
    text = value.replace("Z", "+00:00").replace("z", "+00:00")
    if len(text) == 10:
        text += _DAY_END if end_of_day else "T00:00:00+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _compare(have: Json, want: Json, *, end_of_day: bool) -> int | None:
    """-1, 0 or 1 as ``have`` is before, at or after ``want``; ``None`` when they do not compare."""
    if have is None or want is None or isinstance(have, bool) or isinstance(want, bool):
        return None
    if isinstance(have, int | float) and isinstance(want, int | float):
        return (have > want) - (have < want)
    a, b = instant(have), instant(want, end_of_day=end_of_day)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    if isinstance(have, str) and isinstance(want, str):
        return (have > want) - (have < want)
    return None


def matches(record: Mapping[str, Json], condition: Condition) -> bool:
    """Whether ``record`` passes ``condition`` (a date ``lte`` includes its whole day)."""
    have = record.get(condition.field)
    want = condition.value
    if condition.op == "eq":
        return bool(have == want and isinstance(have, bool) == isinstance(want, bool))
    if condition.op == "contains":
        if isinstance(have, str) and isinstance(want, str):
            return want.casefold() in have.casefold()
        return isinstance(have, list) and want in have
    order = _compare(have, want, end_of_day=condition.op == "lte")
    if order is None:
        return False
    return order >= 0 if condition.op == "gte" else order <= 0


def date_bound(condition: Condition) -> float | None:
    """The instant a date-range condition compares with (``lte`` a date: the end of its day),
    or ``None`` when ``condition`` is not a range over a date."""
    if condition.op not in {"gte", "lte"}:
        return None
    return instant(condition.value, end_of_day=condition.op == "lte")


def timestamp(value: Json) -> float:
    """Seconds since the epoch of an RFC 3339 string (0.0 when it is not one)."""
    if not isinstance(value, str):
        return 0.0
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0
