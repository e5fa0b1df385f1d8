"""The in-memory state: clients, their API keys and their resources, per dataset.

Owns: every record the mock serves, their order, id assignment, tenant isolation,
reset to the seed, dumps and loads, and isolated sessions (one dataset each).
Thread-safe: every read and write of a dataset holds that dataset's lock, so
concurrent requests never lose a write nor hand out the same id.
No Flask, no IO.
May import: ``errors``, ``types``.
"""

from __future__ import annotations

import bisect
import builtins
import hashlib
import hmac
import json
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import (
    ConflictError,
    InsufficientStorageError,
    InvalidRequestError,
    NotFoundError,
    Violation,
    record_not_found,
)
from .types import Json, Principal

DEFAULT_NAMESPACE = "default"
#: The first number handed out for new ids (``eng_1000``); taken numbers are skipped.
FIRST_ID_NUMBER = 1000


@dataclass(frozen=True)
class ApiKey:
    """A fixture API key, its scopes, and its HMAC secret if it signs its requests."""

    key: str
    scopes: tuple[str, ...]
    secret: str | None = field(default=None, repr=False)

    def in_session(self, prefix: str) -> ApiKey:
        """This key as a session hands it out: Bearer keys get the session prefix; signing
        keys (``ak_live_`` + 32 characters, a format to keep) get a fresh key and secret,
        derived from the session so that resetting the session keeps them."""
        if not prefix:
            return self
        if self.secret is None:
            return ApiKey(prefix + self.key, self.scopes)
        derived = hmac.new(_SESSION_SALT, f"{prefix}{self.key}".encode(), hashlib.sha256).hexdigest()
        return ApiKey("ak_live_" + derived[:32], self.scopes, "sk_" + derived[32:])


#: Makes session keys and secrets unguessable from the session id.
_SESSION_SALT = secrets.token_bytes(16)


@dataclass(frozen=True)
class ClientSeed:
    """One client (tenant) of the fixtures: its keys and its records by kind."""

    id: str
    name: str
    api_keys: tuple[ApiKey, ...]
    resources: Mapping[str, Sequence[Mapping[str, Json]]] = field(default_factory=dict)


Seed = tuple[ClientSeed, ...]


@dataclass(frozen=True)
class Count:
    """``field`` is the number of records of ``of_kind`` whose ``by`` is this record's id."""

    field: str
    of_kind: str
    by: str


@dataclass(frozen=True)
class Copy:
    """``field`` is ``source`` of the record of ``of_kind`` that this record's ``via`` names."""

    field: str
    via: str
    of_kind: str
    source: str


@dataclass(frozen=True)
class KindRules:
    """What the store keeps true for one kind of record (built from the spec's ``x-mock-*``).

    :param id_field: the field that holds a record's id.
    :param integer_ids: new ids are integers (the id's schema says ``type: integer``).
    :param id_format: ``uuid``: new ids are UUIDs (``format: uuid``).
    :param refs: field -> kind its value must name, in the same client.
    :param counts: fields that count other records, always current.
    :param copies: fields copied from a referenced record, always current.
    :param hidden: fields kept with the record but not part of it (sub-resource data).
    """

    id_field: str = "id"
    integer_ids: bool = False
    id_format: str = ""
    refs: Mapping[str, str] = field(default_factory=dict)
    counts: tuple[Count, ...] = ()
    copies: tuple[Copy, ...] = ()
    hidden: frozenset[str] = frozenset()
    #: A nested kind: ``scope_field`` (hidden) holds the parent path's values, taken from the
    #: record's ``scope_from`` fields when a fixture record does not say (``projectId``).
    scope_field: str = ""
    scope_from: tuple[str, ...] = ()


_PLAIN = KindRules()


@dataclass(frozen=True)
class Condition:
    """One filter of a list: ``field`` compared to ``value`` by ``op`` (eq, gte, lte, contains)."""

    field: str
    op: str
    value: Json


_Key = tuple[float, int, str]  # (createdAt, insertion seq, id): the list order, ascending
_DAY_END = "T23:59:59.999999+00:00"


def _instant(value: Json, *, end_of_day: bool = False) -> float | None:
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
    a, b = _instant(have), _instant(want, end_of_day=end_of_day)
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


def _test(coll: _Collection, condition: Condition) -> Callable[[str, Mapping[str, Json]], bool]:
    """``condition`` as a test of ``(id, record)``; a date range compares cached floats."""
    bound = _instant(condition.value, end_of_day=condition.op == "lte") if condition.op in {"gte", "lte"} else None
    if bound is None:
        return lambda record_id, record: matches(record, condition)
    name = condition.field
    if condition.op == "gte":

        def at_or_after(record_id: str, record: Mapping[str, Json]) -> bool:
            moment = coll.instant(name, record_id)
            return moment is not None and moment >= bound

        return at_or_after

    def at_or_before(record_id: str, record: Mapping[str, Json]) -> bool:
        moment = coll.instant(name, record_id)
        return moment is not None and moment <= bound

    return at_or_before


def _hashable(value: Json) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def timestamp(value: Json) -> float:
    """Seconds since the epoch of an RFC 3339 string (0.0 when it is not one)."""
    if not isinstance(value, str):
        return 0.0
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _index_value(record: Mapping[str, Json], fields: tuple[str, ...]) -> tuple[Json, ...] | None:
    values = tuple(record.get(name) for name in fields)
    if not all(_hashable(v) for v in values):
        return None
    # True == 1 in a dict: keep booleans apart from numbers.
    return tuple((v, type(v) is bool) for v in values)


def check_servable(record: Mapping[str, Json]) -> None:
    """Make sure ``record`` can be served back as JSON before it is committed.

    Request bodies are checked when decoded (``validation.decode_json``); this is the
    last guard, so no write can leave a record that breaks every later read.

    :raises InvalidRequestError: it cannot be encoded as UTF-8 JSON.
    """
    try:
        json.dumps(record, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, TypeError, RecursionError, UnicodeEncodeError) as exc:
        raise InvalidRequestError(f"The record cannot be stored: it would not serialise as JSON ({exc}).") from None


class _Collection:
    """One client's records of one kind, with the list order kept sorted.

    ``indexes`` answer equality filters without a scan: for a tuple of fields, each
    tuple of values maps to its records' keys in list order. An index is built the
    first time a list (or a count) asks for its fields, then kept current by every
    insert, update and delete, so a filtered page costs what an unfiltered one does.
    """

    __slots__ = ("by_id", "order", "keys", "indexes", "instants")

    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, Json]] = {}
        self.order: list[_Key] = []
        self.keys: dict[str, _Key] = {}
        self.indexes: dict[tuple[str, ...], dict[tuple[Json, ...], list[_Key]]] = {}
        # field -> id -> the field's value as seconds (None: not a date): date ranges compare
        # floats instead of parsing every record's date on every list.
        self.instants: dict[str, dict[str, float | None]] = {}

    def instant(self, field_name: str, record_id: str) -> float | None:
        """The record's ``field_name`` as seconds since the epoch (cached), or ``None``."""
        cache = self.instants.setdefault(field_name, {})
        if record_id in cache:
            return cache[record_id]
        found = cache[record_id] = _instant(self.by_id[record_id].get(field_name))
        return found

    def add(self, record_id: str, record: dict[str, Json], key: _Key) -> None:
        self.by_id[record_id] = record
        self.keys[record_id] = key
        bisect.insort(self.order, key)
        for fields, index in self.indexes.items():
            value = _index_value(record, fields)
            if value is not None:
                bisect.insort(index.setdefault(value, []), key)

    def remove(self, record_id: str) -> dict[str, Json]:
        record = self.by_id.pop(record_id)
        key = self.keys.pop(record_id)
        for cache in self.instants.values():
            cache.pop(record_id, None)
        _drop(self.order, key)
        for fields, index in self.indexes.items():
            self._unindex(index, _index_value(record, fields), key)
        return record

    @staticmethod
    def _unindex(index: dict[tuple[Json, ...], list[_Key]], value: tuple[Json, ...] | None, key: _Key) -> None:
        if value is None:
            return
        keys = index.get(value)
        if keys is not None:
            _drop(keys, key)
            if not keys:
                del index[value]

    def change(self, record_id: str, changes: Mapping[str, Json]) -> dict[str, Json]:
        record = self.by_id[record_id]
        touched = [fields for fields in self.indexes if any(name in changes for name in fields)]
        key = self.keys[record_id]
        before = [_index_value(record, fields) for fields in touched]
        for name in changes:
            self.instants.get(name, {}).pop(record_id, None)
        record.update(changes)
        for fields, old in zip(touched, before, strict=True):
            index = self.indexes[fields]
            self._unindex(index, old, key)
            new = _index_value(record, fields)
            if new is not None:
                bisect.insort(index.setdefault(new, []), key)
        return record

    def index(self, fields: tuple[str, ...]) -> dict[tuple[Json, ...], list[_Key]] | None:
        """The index on ``fields`` (built now if new), or ``None`` if a value is not hashable."""
        found = self.indexes.get(fields)
        if found is None:
            found = {}
            for key in self.order:
                value = _index_value(self.by_id[key[2]], fields)
                if value is None:
                    continue
                found.setdefault(value, []).append(key)
            self.indexes[fields] = found
        return found


def _drop(keys: list[_Key], key: _Key) -> None:
    at = bisect.bisect_left(keys, key)
    if at < len(keys) and keys[at] == key:
        del keys[at]


class _Dataset:
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
        self.collections: dict[tuple[str, str], _Collection] = {}
        self.counters: dict[tuple[str, str], int] = {}
        self.records = 0
        self.seq = 0
        self.keys: dict[str, Principal] = {}
        for client in seed:
            keys = tuple(k.in_session(key_prefix) for k in client.api_keys)
            self.clients[client.id] = ClientSeed(client.id, client.name, keys)
            for k in keys:
                self.keys[k.key] = Principal(k.key, client.id, frozenset(k.scopes), namespace, k.secret)
            for kind, records in client.resources.items():
                for record in records:
                    self.insert(client.id, kind, dict(record))

    def keep_keys(self, old: _Dataset) -> None:
        """Take ``old``'s keys (and secrets) for the same clients: a session's keys outlive its
        resets, even after a restart (``--persist``) made up new ones for signing keys."""
        for client_id, client in list(self.clients.items()):
            previous = old.clients.get(client_id)
            if previous is None or len(previous.api_keys) != len(client.api_keys):
                continue
            for key in client.api_keys:
                self.keys.pop(key.key, None)
            self.clients[client_id] = ClientSeed(client.id, client.name, previous.api_keys, client.resources)
            for k in previous.api_keys:
                self.keys[k.key] = Principal(k.key, client_id, frozenset(k.scopes), self.namespace, k.secret)

    def collection(self, client_id: str, kind: str) -> _Collection:
        found = self.collections.get((client_id, kind))
        if found is None:
            found = self.collections[(client_id, kind)] = _Collection()
        return found

    def insert(self, client_id: str, kind: str, record: dict[str, Json]) -> None:
        rules = self.rules.get(kind, _PLAIN)
        record_id = str(record[rules.id_field])
        if rules.scope_from and rules.scope_field not in record and all(f in record for f in rules.scope_from):
            record[rules.scope_field] = "/".join(str(record[f]) for f in rules.scope_from)
        coll = self.collection(client_id, kind)
        if record_id in coll.by_id:
            raise ConflictError(f"{kind} id {record_id!r} is used twice by client {client_id!r}")
        self.records += 1
        self.seq += 1
        coll.add(record_id, record, (timestamp(record.get(self.order_field)), self.seq, record_id))

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
        if coll is None or not _hashable(value):
            return 0
        index = coll.index((field_name,))
        return len(index.get(((value, type(value) is bool),), ())) if index is not None else 0

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


class Store:
    """All datasets, and the API keys that lead into them.

    :param seed: the clients and records of the fixtures.
    :param order_field: the field lists are ordered by (newest first).
    :param max_sessions: how many isolated sessions may exist at once.
    :param max_records: how many records one dataset may hold.
    :param rules: per kind, the relations the store keeps true (``x-mock-*``).

    Example::

        store = Store(seed)
        principal = store.lookup_key("YOUR_API_KEY")
        page, total = store.list(principal, "engagements", offset=0, limit=25)
    """

    def __init__(
        self,
        seed: Seed,
        *,
        order_field: str = "createdAt",
        max_sessions: int = 100,
        max_records: int = 1_000_000,
        rules: Mapping[str, KindRules] | None = None,
    ) -> None:
        self.seed = seed
        self.order_field = order_field
        self.max_sessions = max_sessions
        self.max_records = max_records
        self._lock = threading.Lock()
        self._datasets: dict[str, _Dataset] = {}
        # Calls answered per (namespace) -> (client, key, day) -> [calls, last call]: kept across resets.
        self._usage: dict[str, dict[tuple[str, str, str], list[Json]]] = {}
        self._keys: dict[str, Principal] = {}
        self.rules: Mapping[str, KindRules] = rules or {}
        self._install(self._new_dataset(DEFAULT_NAMESPACE, seed))

    # -- datasets and keys ---------------------------------------------------------

    def _new_dataset(self, namespace: str, seed: Seed, key_prefix: str = "") -> _Dataset:
        return _Dataset(namespace, seed, self.order_field, key_prefix, self.rules)

    def _install(self, dataset: _Dataset) -> None:
        with self._lock:
            old = self._datasets.get(dataset.namespace)
            if old is not None:
                for key in old.keys:
                    self._keys.pop(key, None)
            clash = sorted(k for k in dataset.keys if k in self._keys)
            if clash:
                if old is not None:
                    self._keys.update(old.keys)
                raise ConflictError(f"API key(s) already used by another dataset: {', '.join(clash)}")
            self._datasets[dataset.namespace] = dataset
            self._keys.update(dataset.keys)

    def lookup_key(self, token: str) -> Principal | None:
        """The principal of API key ``token``, or ``None`` if no dataset has it."""
        return self._keys.get(token)

    def first_principal(self, namespace: str = DEFAULT_NAMESPACE) -> Principal:
        """The first key of the first client, with every scope (used when auth is off)."""
        dataset = self._dataset(namespace)
        for client in dataset.clients.values():
            key = client.api_keys[0].key if client.api_keys else ""
            return Principal(key, client.id, frozenset({"*"}), namespace)
        raise NotFoundError("The fixtures define no client.")

    def _dataset(self, namespace: str) -> _Dataset:
        dataset = self._datasets.get(namespace)
        if dataset is None:
            raise NotFoundError(f"No session {namespace!r}.")
        return dataset

    def reset(self, namespace: str = DEFAULT_NAMESPACE) -> None:
        """Put ``namespace`` back to the fixtures (a session keeps its keys)."""
        old = self._dataset(namespace)
        prefix = "" if namespace == DEFAULT_NAMESPACE else f"{namespace}_"
        new = self._new_dataset(namespace, self.seed, prefix)
        if prefix:
            new.keep_keys(old)
        self._install(new)
        del old

    def load(self, seed: Seed, namespace: str = DEFAULT_NAMESPACE) -> None:
        """Replace the state of ``namespace`` with ``seed`` (``reset`` still goes back to the fixtures).

        :raises ConflictError: a key of ``seed`` belongs to another dataset.
        """
        self._dataset(namespace)
        self._install(self._new_dataset(namespace, seed))

    def create_session(self) -> tuple[str, dict[str, Principal]]:
        """Create an isolated dataset from the fixtures, with fresh keys.

        :return: the session id and its keys by the fixture key they stand for (a
            signing key's principal carries its new secret).
        :raises InsufficientStorageError: ``max_sessions`` sessions exist already.
        """
        with self._lock:
            sessions = len(self._datasets) - 1
        if sessions >= self.max_sessions:
            raise InsufficientStorageError(
                f"At most {self.max_sessions} sessions may exist at once; DELETE /__mock/sessions/{{id}} "
                "the ones you no longer need."
            )
        namespace = "ses_" + secrets.token_hex(6)
        dataset = self._new_dataset(namespace, self.seed, f"{namespace}_")
        self._install(dataset)
        originals = [k.key for client in self.seed for k in client.api_keys]
        renamed = [k.key for client in dataset.clients.values() for k in client.api_keys]
        return namespace, {old: dataset.keys[new] for old, new in zip(originals, renamed, strict=True)}

    def delete_session(self, namespace: str) -> None:
        """Forget session ``namespace`` and its keys.

        :raises NotFoundError: no such session.
        """
        if namespace == DEFAULT_NAMESPACE:
            raise ConflictError("The default dataset is not a session; use POST /__mock/reset.")
        with self._lock:
            dataset = self._datasets.pop(namespace, None)
            if dataset is None:
                raise NotFoundError(f"No session {namespace!r}.")
            for key in dataset.keys:
                self._keys.pop(key, None)
            self._usage.pop(namespace, None)

    def adopt(self, old: Store, *, keep_default: bool) -> int:
        """Take over ``old``'s sessions (data and keys), and its default dataset when
        ``keep_default`` (a reload whose fixtures did not change).

        :return: how many sessions were kept.
        """
        with old._lock:
            datasets = list(old._datasets.values())
            self._usage = old._usage
        kept = 0
        for dataset in datasets:
            if dataset.namespace == DEFAULT_NAMESPACE and not keep_default:
                continue
            try:
                self._install(dataset)
            except ConflictError:  # a new fixture key clashes with a session's key: the fixtures win
                continue
            kept += dataset.namespace != DEFAULT_NAMESPACE
        return kept

    def dump_all(self) -> dict[str, Json]:
        """Every dataset: ``{"default": <dump>, "sessions": {id: <dump>}}`` (for ``--persist``)."""
        with self._lock:  # the datasets themselves: one deleted meanwhile is still dumped whole
            datasets = dict(self._datasets)
        sessions = {ns: self._dump(dataset) for ns, dataset in datasets.items() if ns != DEFAULT_NAMESPACE}
        return {"default": self._dump(datasets[DEFAULT_NAMESPACE]), "sessions": sessions}

    # -- usage ---------------------------------------------------------------------

    def count_call(self, principal: Principal, at: str) -> None:
        """Count one call answered for ``principal``'s key, on the UTC day of ``at`` (RFC 3339)."""
        with self._lock:
            days = self._usage.setdefault(principal.namespace, {})
            entry = days.setdefault((principal.client_id, principal.key, at[:10]), [0, at])
            entry[0] = int(str(entry[0])) + 1
            entry[1] = max(str(entry[1]), at)

    def usage(self, principal: Principal, day_prefix: str) -> list[tuple[str, str, int, str]]:
        """``(key, day, calls, last call)`` of ``principal``'s client on the days starting ``day_prefix``."""
        with self._lock:
            days = dict(self._usage.get(principal.namespace, {}))
        return sorted(
            (key, day, int(str(calls)), str(last))
            for (client, key, day), (calls, last) in days.items()
            if client == principal.client_id and day.startswith(day_prefix)
        )

    def client_keys(self, principal: Principal) -> tuple[str, ...]:
        """The keys of ``principal``'s client, in the fixtures' order."""
        dataset = self._dataset(principal.namespace)
        client = dataset.clients.get(principal.client_id)
        return tuple(k.key for k in client.api_keys) if client is not None else ()

    def dump_usage(self) -> dict[str, Json]:
        """The call counts, for ``--persist``: ``{namespace: [[client, key, day, calls, last], ...]}``."""
        with self._lock:
            return {ns: [[*k, *v] for k, v in days.items()] for ns, days in self._usage.items()}

    def restore_usage(self, dumped: Json) -> None:
        """Take back what ``dump_usage`` wrote (malformed rows are skipped)."""
        if not isinstance(dumped, dict):
            return
        with self._lock:
            for namespace, rows in dumped.items():
                for row in rows if isinstance(rows, list) else []:
                    if isinstance(row, list) and len(row) == 5 and all(isinstance(v, str) for v in row[:3]):
                        if isinstance(row[3], int) and isinstance(row[4], str):
                            days = self._usage.setdefault(str(namespace), {})
                            days[(row[0], row[1], row[2])] = [row[3], row[4]]

    def restore(self, namespace: str, seed: Seed) -> None:
        """Install ``seed`` as dataset ``namespace``, creating a session if needed (keys as given).

        :raises ConflictError: a key of ``seed`` belongs to another dataset.
        """
        self._install(self._new_dataset(namespace, seed))

    def sessions(self) -> list[str]:
        """The ids of the sessions that exist."""
        with self._lock:
            return [ns for ns in self._datasets if ns != DEFAULT_NAMESPACE]

    # -- records -------------------------------------------------------------------

    def list(
        self,
        principal: Principal,
        kind: str,
        offset: int,
        limit: int,
        where: Sequence[Condition] = (),
    ) -> tuple[list[dict[str, Json]], int]:
        """One page of the client's records of ``kind`` that pass every condition of ``where``,
        newest first, and how many pass in all.

        Equality conditions on plain values are answered from an index (one per set of
        fields, built on first use); the others are checked record by record among what
        the index leaves.
        """
        data, total, _ = self.page(principal, kind, offset, limit, where)
        return data, total

    def page(
        self,
        principal: Principal,
        kind: str,
        offset: int,
        limit: int,
        where: Sequence[Condition] = (),
        *,
        after: str | None = None,
        before: str | None = None,
    ) -> tuple[builtins.list[dict[str, Json]], int, int]:
        """``list``, with cursors: ``after``/``before`` (a record id) start the page just
        past that record, or end it just before (an unknown id: ``offset`` applies).

        :return: the page, how many records pass in all, and the page's offset.
        """
        dataset = self._dataset(principal.namespace)
        with dataset.lock:
            coll = dataset.collections.get((principal.client_id, kind))
            if coll is None:
                return [], 0, 0
            keys: list[_Key] = coll.order
            rest = list(where)
            equal = sorted(
                {c.field: c for c in where if c.op == "eq" and _hashable(c.value)}.values(), key=lambda c: c.field
            )
            if equal:
                fields = tuple(c.field for c in equal)
                index = coll.index(fields)
                if index is not None:
                    keys = index.get(tuple((c.value, type(c.value) is bool) for c in equal), [])
                    rest = [c for c in where if c not in equal]
            client = principal.client_id
            if rest:
                tests = [_test(coll, c) for c in rest]
                keys = [k for k in keys if all(test(k[2], coll.by_id[k[2]]) for test in tests)]
            total = len(keys)
            cursor = coll.keys.get(after if after is not None else before or "")
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
            chosen = keys[begin:stop]
            return [dataset.view(client, kind, coll.by_id[k[2]]) for k in reversed(chosen)], total, offset

    def get(self, principal: Principal, kind: str, record_id: str) -> dict[str, Json]:
        """The client's record ``record_id``, as the API shows it.

        :raises NotFoundError: no such record for this client (another client's is not revealed).
        """
        dataset = self._dataset(principal.namespace)
        with dataset.lock:
            return dataset.view(principal.client_id, kind, self._find(dataset, principal, kind, record_id))

    def hidden(self, principal: Principal, kind: str, record_id: str, name: str) -> Json:
        """The data kept under ``name`` with the client's record (a sub-resource), or ``None``.

        :raises NotFoundError: no such record for this client.
        """
        dataset = self._dataset(principal.namespace)
        with dataset.lock:
            return self._find(dataset, principal, kind, record_id).get(name)

    @staticmethod
    def _find(dataset: _Dataset, principal: Principal, kind: str, record_id: str) -> dict[str, Json]:
        coll = dataset.collections.get((principal.client_id, kind))
        record = coll.by_id.get(record_id) if coll is not None else None
        if record is None:
            raise record_not_found(kind, record_id)
        return record

    def create(
        self,
        principal: Principal,
        kind: str,
        id_prefix: str,
        fields: Mapping[str, Json],
        record_id: Json = None,
    ) -> dict[str, Json]:
        """Add a record with a new unique id, or with ``record_id`` when given (a natural
        key such as a username); ``fields`` must not hold the id.

        :raises InvalidRequestError: a reference field names no record of its kind.
        :raises ConflictError: ``record_id`` is taken.
        :raises InsufficientStorageError: the dataset holds ``max_records`` already.
        """
        dataset = self._dataset(principal.namespace)
        rules = self.rules.get(kind, _PLAIN)
        with dataset.lock:
            if dataset.size() >= self.max_records:
                raise InsufficientStorageError(
                    f"The mock holds {self.max_records} records already; POST /__mock/reset to start over."
                )
            dataset.check_refs(principal.client_id, kind, fields, fields)
            check_servable(fields)
            new_id: Json = record_id
            if new_id is not None:
                if str(new_id) in dataset.collection(principal.client_id, kind).by_id:
                    noun = kind[:-1] if kind.endswith("s") else kind
                    raise ConflictError(f"A {noun} with {rules.id_field} {new_id!r} exists already.")
            else:
                new_id = dataset.next_id(principal.client_id, kind, id_prefix, rules.id_format)
                if rules.integer_ids:
                    new_id = int(str(new_id)[len(id_prefix) :])
            record = {rules.id_field: new_id, **fields}
            dataset.insert(principal.client_id, kind, record)
            return dataset.view(principal.client_id, kind, record)

    def update(self, principal: Principal, kind: str, record_id: str, changes: Mapping[str, Json]) -> dict[str, Json]:
        """Apply ``changes`` to the client's record, all at once.

        :raises NotFoundError: no such record for this client.
        :raises InvalidRequestError: a reference field names no record of its kind.
        """
        dataset = self._dataset(principal.namespace)
        with dataset.lock:
            record = self._find(dataset, principal, kind, record_id)
            dataset.check_refs(principal.client_id, kind, changes, changes)
            check_servable({**record, **changes})
            coll = dataset.collection(principal.client_id, kind)
            return dataset.view(principal.client_id, kind, coll.change(record_id, changes))

    def replace(self, principal: Principal, kind: str, record_id: str, fields: Mapping[str, Json]) -> dict[str, Json]:
        """Replace the client's record by ``fields`` (its id, and data kept with it, stay).

        :raises NotFoundError: no such record for this client.
        :raises InvalidRequestError: a reference field names no record of its kind.
        """
        dataset = self._dataset(principal.namespace)
        rules = self.rules.get(kind, _PLAIN)
        with dataset.lock:
            record = self._find(dataset, principal, kind, record_id)
            dataset.check_refs(principal.client_id, kind, fields, fields)
            check_servable(fields)
            kept = {k: record[k] for k in rules.hidden if k in record}
            changes: dict[str, Json] = {k: None for k in record if k != rules.id_field and k not in kept}
            changes.update(fields)
            coll = dataset.collection(principal.client_id, kind)
            coll.change(record_id, changes)
            for name in [k for k, v in changes.items() if v is None and k not in fields]:
                del coll.by_id[record_id][name]
            return dataset.view(principal.client_id, kind, coll.by_id[record_id])

    def delete(self, principal: Principal, kind: str, record_id: str) -> None:
        """Remove the client's record.

        :raises NotFoundError: no such record for this client.
        :raises ConflictError: other records still refer to it (delete those first).
        """
        dataset = self._dataset(principal.namespace)
        with dataset.lock:
            self._find(dataset, principal, kind, record_id)
            for other, rules in self.rules.items():
                for name, target in rules.refs.items():
                    if target != kind:
                        continue
                    using = dataset.count_where(principal.client_id, other, name, record_id)
                    if using:
                        noun = kind[:-1] if kind.endswith("s") else kind
                        raise ConflictError(
                            f"The {noun} {record_id!r} is still named by {using} {other} ({name}); delete those first."
                        )
            dataset.collection(principal.client_id, kind).remove(record_id)
            dataset.records -= 1

    def dump(self, namespace: str = DEFAULT_NAMESPACE) -> dict[str, Json]:
        """The whole dataset in the fixtures' format (records oldest first)."""
        return self._dump(self._dataset(namespace))

    def _dump(self, dataset: _Dataset) -> dict[str, Json]:
        with dataset.lock:
            clients = []
            for client in dataset.clients.values():
                entry: dict[str, Any] = {
                    "id": client.id,
                    "name": client.name,
                    "apiKeys": [
                        {"key": k.key, "scopes": list(k.scopes), **({"secret": k.secret} if k.secret else {})}
                        for k in client.api_keys
                    ],
                }
                for (owner, kind), coll in dataset.collections.items():
                    if owner == client.id:
                        entry[kind] = [self._dumped(dataset, owner, kind, coll.by_id[k[2]]) for k in coll.order]
                clients.append(entry)
            return {"clients": clients}

    def _dumped(self, dataset: _Dataset, client_id: str, kind: str, record: Mapping[str, Json]) -> dict[str, Json]:
        rules = self.rules.get(kind)
        shown = dataset.view(client_id, kind, record)
        if rules is not None:
            shown.update({k: record[k] for k in rules.hidden if k in record})
        return shown

    def count(self, namespace: str = DEFAULT_NAMESPACE) -> int:
        """How many records the dataset holds."""
        dataset = self._dataset(namespace)
        with dataset.lock:
            return dataset.size()
