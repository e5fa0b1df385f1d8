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
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import ConflictError, InsufficientStorageError, InvalidRequestError, NotFoundError, record_not_found
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


def timestamp(value: Json) -> float:
    """Seconds since the epoch of an RFC 3339 string (0.0 when it is not one)."""
    if not isinstance(value, str):
        return 0.0
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


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
    """One client's records of one kind, with the list order kept sorted."""

    __slots__ = ("by_id", "order")

    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, Json]] = {}
        self.order: list[tuple[float, int, str]] = []  # (createdAt, insertion seq, id), ascending


class _Dataset:
    """One isolated world: the fixtures (``default``) or a session's private copy."""

    def __init__(self, namespace: str, seed: Seed, order_field: str, key_prefix: str = "") -> None:
        self.namespace = namespace
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
        record_id = str(record["id"])
        coll = self.collection(client_id, kind)
        if record_id in coll.by_id:
            raise ConflictError(f"{kind} id {record_id!r} is used twice by client {client_id!r}")
        coll.by_id[record_id] = record
        self.records += 1
        self.seq += 1
        bisect.insort(coll.order, (timestamp(record.get(self.order_field)), self.seq, record_id))

    def next_id(self, client_id: str, kind: str, prefix: str) -> str:
        """The client's next free id: each client counts on its own, so an id says
        nothing about what other clients created (and stays deterministic)."""
        taken = self.collection(client_id, kind).by_id
        number = self.counters.get((client_id, kind), FIRST_ID_NUMBER)
        while f"{prefix}{number}" in taken:
            number += 1
        self.counters[(client_id, kind)] = number + 1
        return f"{prefix}{number}"

    def size(self) -> int:
        return self.records


class Store:
    """All datasets, and the API keys that lead into them.

    :param seed: the clients and records of the fixtures.
    :param order_field: the field lists are ordered by (newest first).
    :param max_sessions: how many isolated sessions may exist at once.
    :param max_records: how many records one dataset may hold.

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
    ) -> None:
        self.seed = seed
        self.order_field = order_field
        self.max_sessions = max_sessions
        self.max_records = max_records
        self._lock = threading.Lock()
        self._datasets: dict[str, _Dataset] = {}
        self._keys: dict[str, Principal] = {}
        self._install(_Dataset(DEFAULT_NAMESPACE, seed, order_field))

    # -- datasets and keys ---------------------------------------------------------

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
        new = _Dataset(namespace, self.seed, self.order_field, prefix)
        if prefix:
            new.keep_keys(old)
        self._install(new)
        del old

    def load(self, seed: Seed, namespace: str = DEFAULT_NAMESPACE) -> None:
        """Replace the state of ``namespace`` with ``seed`` (``reset`` still goes back to the fixtures).

        :raises ConflictError: a key of ``seed`` belongs to another dataset.
        """
        self._dataset(namespace)
        self._install(_Dataset(namespace, seed, self.order_field))

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
        dataset = _Dataset(namespace, self.seed, self.order_field, f"{namespace}_")
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

    def adopt(self, old: Store, *, keep_default: bool) -> int:
        """Take over ``old``'s sessions (data and keys), and its default dataset when
        ``keep_default`` (a reload whose fixtures did not change).

        :return: how many sessions were kept.
        """
        with old._lock:
            datasets = list(old._datasets.values())
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
        with self._lock:
            namespaces = list(self._datasets)
        sessions = {ns: self.dump(ns) for ns in namespaces if ns != DEFAULT_NAMESPACE and ns in self._datasets}
        return {"default": self.dump(), "sessions": sessions}

    def restore(self, namespace: str, seed: Seed) -> None:
        """Install ``seed`` as dataset ``namespace``, creating a session if needed (keys as given).

        :raises ConflictError: a key of ``seed`` belongs to another dataset.
        """
        self._install(_Dataset(namespace, seed, self.order_field))

    def sessions(self) -> list[str]:
        """The ids of the sessions that exist."""
        with self._lock:
            return [ns for ns in self._datasets if ns != DEFAULT_NAMESPACE]

    # -- records -------------------------------------------------------------------

    def list(self, principal: Principal, kind: str, offset: int, limit: int) -> tuple[list[dict[str, Json]], int]:
        """One page of the client's records of ``kind``, newest first, and their total count."""
        dataset = self._dataset(principal.namespace)
        with dataset.lock:
            coll = dataset.collections.get((principal.client_id, kind))
            if coll is None:
                return [], 0
            total = len(coll.order)
            stop = max(total - offset, 0)
            start = max(stop - limit, 0)
            keys = coll.order[start:stop]
            return [dict(coll.by_id[k[2]]) for k in reversed(keys)], total

    def get(self, principal: Principal, kind: str, record_id: str) -> dict[str, Json]:
        """The client's record ``record_id``.

        :raises NotFoundError: no such record for this client (another client's is not revealed).
        """
        dataset = self._dataset(principal.namespace)
        with dataset.lock:
            return dict(self._find(dataset, principal, kind, record_id))

    @staticmethod
    def _find(dataset: _Dataset, principal: Principal, kind: str, record_id: str) -> dict[str, Json]:
        coll = dataset.collections.get((principal.client_id, kind))
        record = coll.by_id.get(record_id) if coll is not None else None
        if record is None:
            raise record_not_found(kind, record_id)
        return record

    def create(self, principal: Principal, kind: str, id_prefix: str, fields: Mapping[str, Json]) -> dict[str, Json]:
        """Add a record with a new unique id; ``fields`` must not hold ``id``.

        :raises InsufficientStorageError: the dataset holds ``max_records`` already.
        """
        dataset = self._dataset(principal.namespace)
        with dataset.lock:
            if dataset.size() >= self.max_records:
                raise InsufficientStorageError(
                    f"The mock holds {self.max_records} records already; POST /__mock/reset to start over."
                )
            check_servable(fields)
            record = {"id": dataset.next_id(principal.client_id, kind, id_prefix), **fields}
            dataset.insert(principal.client_id, kind, record)
            return dict(record)

    def update(self, principal: Principal, kind: str, record_id: str, changes: Mapping[str, Json]) -> dict[str, Json]:
        """Apply ``changes`` to the client's record, all at once.

        :raises NotFoundError: no such record for this client.
        """
        dataset = self._dataset(principal.namespace)
        with dataset.lock:
            record = self._find(dataset, principal, kind, record_id)
            check_servable({**record, **changes})
            record.update(changes)
            return dict(record)

    def dump(self, namespace: str = DEFAULT_NAMESPACE) -> dict[str, Json]:
        """The whole dataset in the fixtures' format (records oldest first)."""
        dataset = self._dataset(namespace)
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
                        entry[kind] = [dict(coll.by_id[k[2]]) for k in coll.order]
                clients.append(entry)
            return {"clients": clients}

    def count(self, namespace: str = DEFAULT_NAMESPACE) -> int:
        """How many records the dataset holds."""
        dataset = self._dataset(namespace)
        with dataset.lock:
            return dataset.size()
