"""One client's records of one kind: the list order, the indexes, and the queries over them.

Owns: ``Collection`` (records by id, kept sorted in list order; equality indexes built on
first use and kept current by every write; dates cached as seconds) and ``select``, which
answers a list's filters from those indexes. Not thread-safe by itself: the dataset that
holds a collection holds its lock around every call.
May import: ``filters``, ``types``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter

from .filters import Condition, date_bound, instant, matches
from .types import Json

#: (createdAt as seconds, insertion seq, id): the list order, ascending.
Key = tuple[float, int, str]
#: A date index's entry: (the field's instant, the record's key), ascending.
Dated = tuple[float, Key]
_instant_of = itemgetter(0)


def hashable(value: Json) -> bool:
    """Whether ``value`` can be a key of an equality index."""
    return value is None or isinstance(value, str | int | float | bool)


def index_value(record: Mapping[str, Json], fields: tuple[str, ...]) -> tuple[Json, ...] | None:
    """``record``'s values of ``fields`` as an index key, or ``None`` if one is not hashable."""
    values = tuple(record.get(name) for name in fields)
    if not all(hashable(v) for v in values):
        return None
    # True == 1 in a dict: keep booleans apart from numbers.
    return tuple((v, type(v) is bool) for v in values)


def drop(keys: list[Key], key: Key) -> None:
    """Remove ``key`` from the sorted ``keys`` (if it is there)."""
    at = bisect.bisect_left(keys, key)
    if at < len(keys) and keys[at] == key:
        del keys[at]


class Collection:
    """One client's records of one kind, with the list order kept sorted.

    ``indexes`` answer equality filters without a scan: for a tuple of fields, each
    tuple of values maps to its records' keys in list order. An index is built the
    first time a list (or a count) asks for its fields, then kept current by every
    insert, update and delete, so a filtered page costs what an unfiltered one does.

    ``dates`` answer date ranges the same way: per field, the records whose value is a
    date, sorted by it, so a range is two bisections (its count, at once) and a page is
    read from the newest records down (or from the range, sorted, when that is cheaper).
    """

    __slots__ = ("by_id", "order", "keys", "indexes", "instants", "dates")

    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, Json]] = {}
        self.order: list[Key] = []
        self.keys: dict[str, Key] = {}
        self.indexes: dict[tuple[str, ...], dict[tuple[Json, ...], list[Key]]] = {}
        # field -> id -> the field's value as seconds (None: not a date): date ranges compare
        # floats instead of parsing every record's date on every list.
        self.instants: dict[str, dict[str, float | None]] = {}
        self.dates: dict[str, list[Dated]] = {}

    def instant(self, field_name: str, record_id: str) -> float | None:
        """The record's ``field_name`` as seconds since the epoch (cached), or ``None``."""
        cache = self.instants.setdefault(field_name, {})
        if record_id in cache:
            return cache[record_id]
        found = cache[record_id] = instant(self.by_id[record_id].get(field_name))
        return found

    def add(self, record_id: str, record: dict[str, Json], key: Key, *, bulk: bool = False) -> None:
        """Add a record; ``bulk`` (loading, no index built yet): ``settle`` sorts the order once."""
        self.by_id[record_id] = record
        self.keys[record_id] = key
        if bulk and not self.indexes and not self.dates:
            self.order.append(key)
            return
        bisect.insort(self.order, key)
        for name, dated in self.dates.items():
            moment = self.instant(name, record_id)
            if moment is not None:
                bisect.insort(dated, (moment, key))
        for fields, index in self.indexes.items():
            value = index_value(record, fields)
            if value is not None:
                bisect.insort(index.setdefault(value, []), key)

    def settle(self) -> None:
        """Sort the list order after a bulk load."""
        self.order.sort()

    def remove(self, record_id: str) -> dict[str, Json]:
        key = self.keys[record_id]
        for name, dated in self.dates.items():
            self._undate(dated, self.instant(name, record_id), key)
        record = self.by_id.pop(record_id)
        del self.keys[record_id]
        for cache in self.instants.values():
            cache.pop(record_id, None)
        drop(self.order, key)
        for fields, index in self.indexes.items():
            self._unindex(index, index_value(record, fields), key)
        return record

    @staticmethod
    def _unindex(index: dict[tuple[Json, ...], list[Key]], value: tuple[Json, ...] | None, key: Key) -> None:
        if value is None:
            return
        keys = index.get(value)
        if keys is not None:
            drop(keys, key)
            if not keys:
                del index[value]

    def change(self, record_id: str, changes: Mapping[str, Json], *, drop: Sequence[str] = ()) -> dict[str, Json]:
        """Apply ``changes`` (and remove the fields ``drop`` names) to a record, as a new dict:
        a record is never changed in place, so a snapshot's copy of ``by_id`` stays as it was."""
        old_record = self.by_id[record_id]
        record = {**old_record, **changes}
        for name in drop:
            record.pop(name, None)
        touched = [fields for fields in self.indexes if any(name in changes for name in fields)]
        key = self.keys[record_id]
        before = [index_value(old_record, fields) for fields in touched]
        redated = [name for name in self.dates if name in changes]
        for name in redated:
            self._undate(self.dates[name], self.instant(name, record_id), key)
        for name in changes:
            self.instants.get(name, {}).pop(record_id, None)
        self.by_id[record_id] = record
        for name in redated:
            moment = self.instant(name, record_id)
            if moment is not None:
                bisect.insort(self.dates[name], (moment, key))
        for fields, old in zip(touched, before, strict=True):
            index = self.indexes[fields]
            self._unindex(index, old, key)
            new = index_value(record, fields)
            if new is not None:
                bisect.insort(index.setdefault(new, []), key)
        return record

    @staticmethod
    def _undate(dated: list[Dated], moment: float | None, key: Key) -> None:
        if moment is None:
            return
        at = bisect.bisect_left(dated, (moment, key))
        if at < len(dated) and dated[at] == (moment, key):
            del dated[at]

    def dated(self, field_name: str) -> list[Dated]:
        """The date index on ``field_name`` (built now if new): ``(instant, key)`` of every
        record whose value is a date, ascending."""
        found = self.dates.get(field_name)
        if found is None:
            instant_of = self.instant
            found = [(m, k) for k in self.order if (m := instant_of(field_name, k[2])) is not None]
            found.sort()
            self.dates[field_name] = found
        return found

    def index(self, fields: tuple[str, ...]) -> dict[tuple[Json, ...], list[Key]] | None:
        """The index on ``fields`` (built now if new), or ``None`` if a value is not hashable."""
        found = self.indexes.get(fields)
        if found is None:
            found = {}
            for key in self.order:
                value = index_value(self.by_id[key[2]], fields)
                if value is None:
                    continue
                found.setdefault(value, []).append(key)
            self.indexes[fields] = found
        return found

    def count(self, field_name: str, value: Json) -> int:
        """How many records have ``field_name == value`` (O(1), indexed)."""
        if not hashable(value):
            return 0
        index = self.index((field_name,))
        return len(index.get(((value, type(value) is bool),), ())) if index is not None else 0

    def select(self, where: Sequence[Condition]) -> list[Key]:
        """The keys of the records that pass every condition of ``where``, in list order.

        Equality conditions on plain values are answered from an index (one per set of
        fields, built on first use); a date range from its date index, when it leaves
        fewer records; the other conditions are checked record by record among what the
        indexes leave.
        """
        keys: list[Key] = self.order
        rest = list(where)
        plain = {c.field: c for c in where if c.op == "eq" and hashable(c.value)}
        equal = sorted(plain.values(), key=lambda c: c.field)
        if equal:
            index = self.index(tuple(c.field for c in equal))
            if index is not None:
                keys = index.get(tuple((c.value, type(c.value) is bool) for c in equal), [])
                rest = [c for c in where if c not in equal]
        span = self._narrowest(rest)
        if span is not None and span[1] < len(keys):
            name, _, lo, hi = span
            dated = self.dates[name]
            picked = sorted(k for _, k in dated[lo:hi])
            # Only the chosen field's ranges are answered: every other condition (the
            # equality ones included, when the range left fewer records) is checked.
            rest = [c for c in where if not (c.field == name and date_bound(c) is not None)]
            keys = picked
        if rest:
            tests = [self._test(c) for c in rest]
            keys = [k for k in keys if all(test(k[2], self.by_id[k[2]]) for test in tests)]
        return keys

    def _narrowest(self, where: Sequence[Condition]) -> tuple[str, int, int, int] | None:
        """The field whose date ranges in ``where`` leave the fewest records: ``(field, how
        many, first, past the last)`` positions in its date index; ``None``: no date range."""
        bounds: dict[str, tuple[float, float]] = {}
        for c in where:
            bound = date_bound(c)
            if bound is None:
                continue
            lo, hi = bounds.get(c.field, (-math.inf, math.inf))
            bounds[c.field] = (max(lo, bound), hi) if c.op == "gte" else (lo, min(hi, bound))
        best: tuple[str, int, int, int] | None = None
        for name, (lo, hi) in bounds.items():
            dated = self.dated(name)
            first = bisect.bisect_left(dated, lo, key=_instant_of)
            last = bisect.bisect_right(dated, hi, lo=first, key=_instant_of) if hi >= lo else first
            if best is None or last - first < best[1]:
                best = (name, last - first, first, last)
        return best

    def page(
        self,
        where: Sequence[Condition],
        offset: int,
        limit: int,
        *,
        after: str | None = None,
        before: str | None = None,
    ) -> tuple[list[Key], int, int]:
        """One page of what passes ``where``, newest first: ``offset`` records skipped, or the
        page just past record ``after`` / just before record ``before`` (an unknown id:
        ``offset`` applies).

        :return: the page's keys (newest first), how many pass in all, and the page's offset.
        """
        if after is None and before is None and where:
            found = self._range_page(where, offset, limit)
            if found is not None:
                return found
        keys = self.select(where)
        total = len(keys)
        cursor = self.keys.get(after if after is not None else before or "")
        if cursor is not None:
            # Newest first: the records after the cursor are the older ones, below it.
            below = bisect.bisect_left(keys, cursor)
            if after is not None:
                offset = total - below
            else:
                above = total - below - (below < total and keys[below] == cursor)
                offset, limit = max(above - limit, 0), min(limit, above)
        stop = max(total - offset, 0)
        begin = max(stop - limit, 0)
        return keys[begin:stop][::-1], total, offset

    def _range_page(self, where: Sequence[Condition], offset: int, limit: int) -> tuple[list[Key], int, int] | None:
        """A page of records filtered by date ranges on one field alone, read from the newest
        records down until it is full: its total is the range's size, so no record outside
        the page is looked at. ``None``: other filters, or sorting the range costs less."""
        if not all(date_bound(c) is not None and c.field == where[0].field for c in where):
            return None
        span = self._narrowest(where)
        assert span is not None
        name, total, first, last = span
        wanted = min(offset + limit, total)
        if wanted <= 0:
            return [], total, offset
        # The walk reads about wanted * len / total records; sorting the range, total * log2(total).
        if wanted * len(self.order) > total * total * max(math.log2(total), 1):
            return None
        lo = self.dates[name][first][0]
        hi = self.dates[name][last - 1][0]
        moments = self.instants[name]
        out: list[Key] = []
        for key in reversed(self.order):
            moment = moments[key[2]] if key[2] in moments else self.instant(name, key[2])
            if moment is not None and lo <= moment <= hi:
                out.append(key)
                if len(out) == wanted:
                    break
        return out[offset:], total, offset

    def _test(self, condition: Condition) -> Callable[[str, Mapping[str, Json]], bool]:
        """``condition`` as a test of ``(id, record)``; a date range compares cached floats."""
        bound = date_bound(condition)
        if bound is None:
            return lambda record_id, record: matches(record, condition)
        name = condition.field
        if condition.op == "gte":

            def at_or_after(record_id: str, record: Mapping[str, Json]) -> bool:
                moment = self.instant(name, record_id)
                return moment is not None and moment >= bound

            return at_or_after

        def at_or_before(record_id: str, record: Mapping[str, Json]) -> bool:
            moment = self.instant(name, record_id)
            return moment is not None and moment <= bound

        return at_or_before
