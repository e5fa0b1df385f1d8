"""A dataset written out in the fixtures' format (``/__mock/state``, ``--persist``).

Owns: ``dump`` (every client, its keys and its records oldest first, each as the API
shows it plus the data kept with it) in two steps: ``take`` copies what the dataset holds
under its lock (the record dicts are shared, not copied: a write replaces a record, never
changes it in place, so the copy stays as it was), then ``render`` builds the dump from
that copy with the lock released. A save of 100,000 records holds the lock for the copy
of two containers per collection, not for the whole dump, so requests keep being answered.
May import: ``collection``, ``dataset``, ``seed``, ``types``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .collection import Key, hashable
from .dataset import Dataset
from .seed import ClientSeed, KindRules
from .types import Json


@dataclass(frozen=True)
class Frozen:
    """A dataset as it was at one instant: its clients, and per (client, kind) its records by
    id and their list order."""

    clients: tuple[ClientSeed, ...]
    collections: Mapping[tuple[str, str], tuple[Mapping[str, Mapping[str, Json]], list[Key]]]
    rules: Mapping[str, KindRules]


def take(dataset: Dataset) -> Frozen:
    """Copy what ``dataset`` holds, under its lock (two container copies per collection)."""
    dataset.read_deferred()  # decoding a seed's deferred data, if any, is not done under the lock
    with dataset.lock:
        dataset.complete_all()
        return Frozen(
            tuple(dataset.clients.values()),
            {where: (dict(coll.by_id), list(coll.order)) for where, coll in dataset.collections.items()},
            dataset.rules,
        )


def view(dataset: Dataset) -> Frozen:
    """What ``dataset`` holds, not copied: for a reader that holds its lock, or a forked
    child, whose memory is the parent's as of the fork (``Store.still``)."""
    dataset.complete_all()
    return Frozen(
        tuple(dataset.clients.values()),
        {where: (coll.by_id, coll.order) for where, coll in dataset.collections.items()},
        dataset.rules,
    )


def dump(dataset: Dataset) -> dict[str, Json]:
    """The whole dataset in the fixtures' format (records oldest first), consistent as of one instant."""
    return render(take(dataset))


def render(frozen: Frozen) -> dict[str, Json]:
    """``frozen`` in the fixtures' format: each record as the API shows it (counts and copies
    as of the copy), with the data kept with it."""
    tallies: dict[tuple[str, str, str], Counter[tuple[Json, bool]]] = {}

    def count(client_id: str, kind: str, field_name: str, value: Json) -> int:
        if not hashable(value):
            return 0
        tally = tallies.get((client_id, kind, field_name))
        if tally is None:
            records = frozen.collections.get((client_id, kind), ({}, []))[0].values()
            tally = tallies[(client_id, kind, field_name)] = Counter(
                (v, type(v) is bool) for record in records if hashable(v := record.get(field_name))
            )
        return tally[(value, type(value) is bool)]

    clients = []
    for client in frozen.clients:
        entry: dict[str, Any] = {
            "id": client.id,
            "name": client.name,
            "apiKeys": [
                {"key": k.key, "scopes": list(k.scopes), **({"secret": k.secret} if k.secret else {})}
                for k in client.api_keys
            ],
        }
        if client.plan is not None:
            entry["plan"] = dict(client.plan)
        for (owner, kind), (by_id, order) in frozen.collections.items():
            if owner != client.id:
                continue
            rules = frozen.rules.get(kind)
            records = [by_id[k[2]] for k in order]
            if rules is None:
                entry[kind] = [dict(record) for record in records]
                continue
            shown_all = []
            for record in records:
                shown = dict(record)  # hidden data included: it is kept with the record
                for counted in rules.counts:
                    shown[counted.field] = count(owner, counted.of_kind, counted.by, record.get(rules.id_field))
                for copy in rules.copies:
                    source = frozen.collections.get((owner, copy.of_kind))
                    parent = source[0].get(str(record.get(copy.via))) if source is not None else None
                    if parent is not None and copy.source in parent:
                        shown[copy.field] = parent[copy.source]
                shown_all.append(_in_view_order(shown, record, rules))
            entry[kind] = shown_all
        clients.append(entry)
    return {"clients": clients}


def _in_view_order(shown: dict[str, Json], record: Mapping[str, Json], rules: KindRules) -> dict[str, Json]:
    """``shown`` with its fields in the order a dump has always written them: the record's
    visible fields, counts and copies, then the data kept with it."""
    if not rules.hidden:
        return shown
    visible = {k: v for k, v in shown.items() if k not in rules.hidden}
    visible.update({k: record[k] for k in rules.hidden if k in record})
    return visible
