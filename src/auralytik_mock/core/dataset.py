"""One isolated dataset: the fixtures' (``default``) or a session's private copy.

Owns: ``Dataset`` (its clients and keys, its collections, id assignment, the record
counts and copies a view shows, reference checks) and ``check_servable``, the last guard
before a write. Its ``lock`` is held by the ``Store`` around every read and write.
May import: ``collection``, ``filters``, ``seed``, ``errors``, ``types``.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable, Mapping

from .collection import Collection
from .errors import ConflictError, InvalidRequestError, Violation
from .filters import timestamp
from .seed import PLAIN, ClientSeed, Deferred, KindRules, Seed, completed
from .types import Json, Principal

#: The first number handed out for new ids (``eng_1000``); taken numbers are skipped.
FIRST_ID_NUMBER = 1000


def check_servable(record: Mapping[str, Json]) -> None:
    """Make sure ``record`` can be served back as JSON before it is committed.

    Request bodies are checked when decoded (``jsontext.decode_json``); this is the
    last guard, so no write can leave a record that breaks every later read.

    :raises InvalidRequestError: it cannot be encoded as UTF-8 JSON.
    """
    try:
        json.dumps(record, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, TypeError, RecursionError, UnicodeEncodeError) as exc:
        raise InvalidRequestError(f"The record cannot be stored: it would not serialise as JSON ({exc}).") from None


class Dataset:
    """One isolated world: the fixtures (``default``) or a session's private copy."""

    def __init__(
        self,
        namespace: str,
        seed: Seed,
        order_field: str,
        key_prefix: str = "",
        rules: Mapping[str, KindRules] | None = None,
    ) -> None:
        self.namespace = namespace
        self.rules: Mapping[str, KindRules] = rules or {}
        self.lock = threading.RLock()
        self.order_field = order_field
        self.clients: dict[str, ClientSeed] = {}
        self.collections: dict[tuple[str, str], Collection] = {}
        self.counters: dict[tuple[str, str], int] = {}
        self.records = 0
        self.seq = 0
        self.keys: dict[str, Principal] = {}
        #: Per (client, kind), the seed's deferred fields and, by record id, the position of
        #: each record that has not been given them yet (``complete``).
        self._deferred: dict[tuple[str, str], tuple[Deferred, dict[str, int]]] = {}
        for client in seed:
            keys = tuple(k.in_session(key_prefix) for k in client.api_keys)
            self.clients[client.id] = ClientSeed(client.id, client.name, keys, plan=client.plan)
            for k in keys:
                self.keys[k.key] = Principal(k.key, client.id, frozenset(k.scopes), namespace, k.secret)
            deferred = client.deferred
            for kind, records in client.resources.items():
                id_field = self.rules.get(kind, PLAIN).id_field
                for record in records:
                    self.insert(client.id, kind, dict(record), bulk=True)
                if deferred is not None and kind in deferred.kinds:
                    positions = {str(record[id_field]): at for at, record in enumerate(records)}
                    self._deferred[(client.id, kind)] = (deferred, positions)
        for coll in self.collections.values():
            coll.settle()

    def complete(self, client_id: str, kind: str, record_id: str) -> None:
        """Give the record the seed's deferred fields it has not been given yet (read from
        the seed file the first time any is asked for): before its hidden data is read."""
        pending = self._deferred.get((client_id, kind))
        if pending is None or record_id not in pending[1]:
            return
        deferred, positions = pending
        extra = deferred.fields(kind, positions.pop(record_id))
        coll = self.collections.get((client_id, kind))
        record = coll.by_id.get(record_id) if coll is not None else None
        if coll is None or record is None or not extra:
            return
        # A new dict, as every write makes: a snapshot's copy keeps the record it took.
        coll.by_id[record_id] = completed(record, extra)

    def read_deferred(self) -> None:
        """Decode what ``complete`` will need, without the lock (the dataset may be in use)."""
        for deferred, _ in list(self._deferred.values()):
            deferred.read()

    def complete_all(self) -> None:
        """``complete`` every record (before the whole dataset is written out)."""
        for (client_id, kind), (_, positions) in list(self._deferred.items()):
            for record_id in list(positions):
                self.complete(client_id, kind, record_id)
        self._deferred.clear()

    def keep_keys(self, old: Dataset) -> None:
        """Take ``old``'s keys (and secrets) for the same clients: a session's keys outlive its
        resets, even after a restart (``--persist``) made up new ones for signing keys."""
        for client_id, client in list(self.clients.items()):
            previous = old.clients.get(client_id)
            if previous is None or len(previous.api_keys) != len(client.api_keys):
                continue
            for key in client.api_keys:
                self.keys.pop(key.key, None)
            self.clients[client_id] = ClientSeed(
                client.id, client.name, previous.api_keys, client.resources, plan=client.plan
            )
            for k in previous.api_keys:
                self.keys[k.key] = Principal(k.key, client_id, frozenset(k.scopes), self.namespace, k.secret)

    def collection(self, client_id: str, kind: str) -> Collection:
        found = self.collections.get((client_id, kind))
        if found is None:
            found = self.collections[(client_id, kind)] = Collection()
        return found

    def insert(self, client_id: str, kind: str, record: dict[str, Json], *, bulk: bool = False) -> None:
        """Add ``record`` (its id set); ``bulk``: the list order is sorted later, by ``settle``."""
        rules = self.rules.get(kind, PLAIN)
        record_id = str(record[rules.id_field])
        if rules.scope_from and rules.scope_field not in record and all(f in record for f in rules.scope_from):
            record[rules.scope_field] = "/".join(str(record[f]) for f in rules.scope_from)
        coll = self.collection(client_id, kind)
        if record_id in coll.by_id:
            raise ConflictError(f"{kind} id {record_id!r} is used twice by client {client_id!r}")
        self.records += 1
        self.seq += 1
        coll.add(record_id, record, (timestamp(record.get(self.order_field)), self.seq, record_id), bulk=bulk)

    def remove(self, client_id: str, kind: str, record_id: str) -> None:
        """Remove the client's record ``record_id`` of ``kind`` (it exists).

        :raises ConflictError: other records still refer to it (delete those first).
        """
        for other, rules in self.rules.items():
            for name, target in rules.refs.items():
                if target != kind:
                    continue
                using = self.count_where(client_id, other, name, record_id)
                if using:
                    noun = kind[:-1] if kind.endswith("s") else kind
                    raise ConflictError(
                        f"The {noun} {record_id!r} is still named by {using} {other} ({name}); delete those first."
                    )
        self.collection(client_id, kind).remove(record_id)
        pending = self._deferred.get((client_id, kind))
        if pending is not None:
            pending[1].pop(record_id, None)  # a record made later under its id is another one
        self.records -= 1

    def view(self, client_id: str, kind: str, record: Mapping[str, Json]) -> dict[str, Json]:
        """A copy of ``record`` as the API shows it: counts and copies current, hidden data left out."""
        rules = self.rules.get(kind)
        if rules is None:
            return dict(record)
        shown = {k: v for k, v in record.items() if k not in rules.hidden} if rules.hidden else dict(record)
        for count in rules.counts:
            shown[count.field] = self.count_where(client_id, count.of_kind, count.by, record.get(rules.id_field))
        for copy in rules.copies:
            source = self.collections.get((client_id, copy.of_kind))
            parent = source.by_id.get(str(record.get(copy.via))) if source is not None else None
            if parent is not None and copy.source in parent:
                shown[copy.field] = parent[copy.source]
        return shown

    def count_where(self, client_id: str, kind: str, field_name: str, value: Json) -> int:
        """How many of the client's records of ``kind`` have ``field_name == value`` (O(1), indexed)."""
        coll = self.collections.get((client_id, kind))
        return coll.count(field_name, value) if coll is not None else 0

    def check_refs(self, client_id: str, kind: str, record: Mapping[str, Json], fields: Iterable[str]) -> None:
        """Raise a 400 naming every field of ``fields`` that names no record of its kind in the client."""
        rules = self.rules.get(kind)
        if rules is None or not rules.refs:
            return
        problems = []
        for name in fields:
            target = rules.refs.get(name)
            value = record.get(name)
            if target is None or value is None:
                continue
            coll = self.collections.get((client_id, target))
            if coll is None or str(value) not in coll.by_id:
                noun = target[:-1] if target.endswith("s") else target
                problems.append(Violation(f"body.{name}", f"no {noun} with id {value!r} exists"))
        if problems:
            names = ", ".join(p.field for p in problems)
            raise InvalidRequestError(f"{names} must name an existing record. See details.", details=problems)

    def next_id(self, client_id: str, kind: str, prefix: str, id_format: str = "") -> str:
        """The client's next free id: each client counts on its own, so an id says
        nothing about what other clients created (and stays deterministic). A UUID
        (``id_format == "uuid"``) is derived from the same count."""
        taken = self.collection(client_id, kind).by_id

        def made(number: int) -> str:
            if id_format == "uuid":
                return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.namespace}/{client_id}/{kind}/{number}"))
            return f"{prefix}{number}"

        number = self.counters.get((client_id, kind), FIRST_ID_NUMBER)
        while made(number) in taken:
            number += 1
        self.counters[(client_id, kind)] = number + 1
        return made(number)

    def size(self) -> int:
        return self.records
