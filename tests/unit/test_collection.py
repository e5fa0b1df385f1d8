"""A collection's date index answers date ranges exactly as a scan of every record does."""

from __future__ import annotations

import random

import pytest

from auralytik_mock.core.collection import Collection, Key
from auralytik_mock.core.filters import Condition, timestamp
from auralytik_mock.core.types import Json

# Dates on both sides of the bounds below: the same instant written three ways, a date alone,
# the last microsecond of a day, values that are not dates, and none at all.
DATES: list[Json] = [
    "2024-01-31T23:59:59.999999Z",
    "2024-02-01T00:00:00Z",
    "2024-02-01T00:00:00+00:00",
    "2024-02-01T01:00:00+01:00",
    "2024-02-01",
    "2024-02-10T12:00:00Z",
    "2024-02-29T23:59:59Z",
    "2024-03-01T00:00:00Z",
    "2023-12-31T10:00:00-05:00",
    "2024-02-15t08:00:00z",
    "not a date",
    "2024-13-01",
    "",
    7,
    None,
]
BOUNDS = ["2024-02-01", "2024-02-01T00:00:00Z", "2024-02-29", "2024-02-10T12:00:00Z", "2024-03-01", "1999-01-01"]


def _collection(count: int, rng: random.Random) -> Collection:
    coll = Collection()
    for seq in range(count):
        record: dict[str, Json] = {"id": f"r{seq}", "state": rng.choice(["a", "b"])}
        if rng.random() < 0.9:
            record["at"] = rng.choice(DATES)
        created = f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T00:00:00Z"
        record["createdAt"] = created
        coll.add(str(record["id"]), record, (timestamp(created), seq, str(record["id"])))
    return coll


def _scanned(coll: Collection, where: list[Condition]) -> list[Key]:
    """What a scan of every record answers (the conditions as the list's filters test them)."""
    tests = [coll._test(c) for c in where]
    return [k for k in coll.order if all(test(k[2], coll.by_id[k[2]]) for test in tests)]


def _conditions(rng: random.Random) -> list[Condition]:
    where = []
    for op in ("gte", "lte"):
        if rng.random() < 0.7:
            where.append(Condition("at", op, rng.choice(BOUNDS)))
    if rng.random() < 0.3:
        where.append(Condition("state", "eq", rng.choice(["a", "b"])))
    if rng.random() < 0.2:
        where.append(Condition("createdAt", "gte", "2024-05-01"))
    return where or [Condition("at", "gte", "2024-02-01")]


def _check(coll: Collection, where: list[Condition], rng: random.Random) -> None:
    expected = _scanned(coll, where)
    assert coll.select(where) == expected, where
    for offset, limit in [(0, 25), (0, 1), (3, 5), (len(expected) - 1, 10), (len(expected), 5), (10_000, 25)]:
        offset = max(offset, 0)
        page, total, at = coll.page(where, offset, limit)
        stop = max(len(expected) - offset, 0)
        assert (page, total, at) == (expected[max(stop - limit, 0) : stop][::-1], len(expected), offset), where


@pytest.mark.parametrize("seed", range(6))
def test_date_ranges_answered_from_the_index_equal_a_scan_including_the_bounds(seed: int) -> None:
    rng = random.Random(seed)
    coll = _collection(400, rng)
    for _ in range(40):
        _check(coll, _conditions(rng), rng)


def test_the_date_index_follows_every_insert_update_and_delete() -> None:
    rng = random.Random(7)
    coll = _collection(300, rng)
    where = [Condition("at", "gte", "2024-02-01"), Condition("at", "lte", "2024-02-29")]
    _check(coll, where, rng)  # the index is built now; the writes below keep it current
    seq = 1000
    for step in range(300):
        ids = list(coll.by_id)
        action = rng.random()
        if action < 0.4:
            record_id = f"n{step}"
            record: dict[str, Json] = {"id": record_id, "at": rng.choice(DATES), "state": "a"}
            seq += 1
            coll.add(record_id, record, (timestamp("2024-06-01T00:00:00Z") + step, seq, record_id))
        elif action < 0.75:
            coll.change(rng.choice(ids), {"at": rng.choice(DATES)})
        else:
            coll.remove(rng.choice(ids))
        if step % 25 == 0:
            _check(coll, where, rng)
    _check(coll, where, rng)
    assert sorted(coll.dates["at"]) == coll.dates["at"]
    indexed = {key[2] for _, key in coll.dates["at"]}
    assert indexed == {i for i in coll.by_id if coll.instant("at", i) is not None}


def test_a_range_that_ends_before_it_starts_is_empty() -> None:
    coll = _collection(50, random.Random(1))
    where = [Condition("at", "gte", "2024-03-01"), Condition("at", "lte", "2024-02-01")]
    assert coll.select(where) == [] and coll.page(where, 0, 25) == ([], 0, 0)
