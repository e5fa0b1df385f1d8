"""The in-memory state: every dataset (the fixtures' and each session's), the API keys that
lead into them, and the record operations the handlers call.

Owns: ``Store`` (datasets installed, reset, loaded, adopted on reload; sessions created and
deleted; keys looked up; list/get/create/update/replace/delete of a client's records, with
tenant isolation, limits and reference checks; call counts). Thread-safe: every read and
write of a dataset holds that dataset's lock, so concurrent requests never lose a write nor
hand out the same id. What a dataset is, its collections and filters, its dump and the
call counts live in ``dataset``, ``collection``, ``filters``, ``snapshot`` and ``calls``;
their public names are re-exported here. No Flask, no IO.
May import: ``calls``, ``collection``, ``dataset``, ``filters``, ``seed``, ``snapshot``,
``errors``, ``types``.
"""

from __future__ import annotations

import builtins
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager

from . import snapshot
from .calls import CallCounts
from .dataset import FIRST_ID_NUMBER, Dataset, check_servable
from .errors import ConflictError, InsufficientStorageError, NotFoundError, record_not_found
from .filters import Condition, matches, timestamp
from .seed import PLAIN, ApiKey, ClientSeed, Copy, Count, KindRules, Seed
from .types import Json, Principal

__all__ = [
    "DEFAULT_NAMESPACE",
    "FIRST_ID_NUMBER",
    "ApiKey",
    "ClientSeed",
    "Condition",
    "Copy",
    "Count",
    "KindRules",
    "Seed",
    "Store",
    "check_servable",
    "matches",
    "timestamp",
]

DEFAULT_NAMESPACE = "default"


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
        self._datasets: dict[str, Dataset] = {}
        self._calls = CallCounts()  # kept across resets
        self._keys: dict[str, Principal] = {}
        self.rules: Mapping[str, KindRules] = rules or {}
        self._install(self._new_dataset(DEFAULT_NAMESPACE, seed))

    # -- datasets and keys ---------------------------------------------------------

    def _new_dataset(self, namespace: str, seed: Seed, key_prefix: str = "") -> Dataset:
        return Dataset(namespace, seed, self.order_field, key_prefix, self.rules)

    def _install(self, dataset: Dataset) -> None:
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

    def _dataset(self, namespace: str) -> Dataset:
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
        self._calls.forget(namespace)

    def adopt(self, old: Store, *, keep_default: bool) -> int:
        """Take over ``old``'s sessions (data and keys), and its default dataset when
        ``keep_default`` (a reload whose fixtures did not change).

        :return: how many sessions were kept.
        """
        with old._lock:
            datasets = list(old._datasets.values())
            self._calls = old._calls
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
        return render_all({ns: snapshot.take(dataset) for ns, dataset in datasets.items()})

    @contextmanager
    def still(self) -> Iterator[Callable[[], dict[str, Json]]]:
        """Hold every dataset's lock for the block: no write lands meanwhile. Yields what
        renders them as ``dump_all`` does, without copying: call it inside the block, or in a
        process forked inside it (``--persist``: the child's memory is the state as of the
        fork, copy on write, and the parent holds the locks only while it forks)."""
        with self._lock:
            datasets = dict(self._datasets)
        for dataset in datasets.values():
            dataset.read_deferred()  # a seed's deferred data decoded before the fork, not in each child
        with ExitStack() as held:
            for dataset in datasets.values():
                held.enter_context(dataset.lock)
            yield lambda: render_all({ns: snapshot.view(dataset) for ns, dataset in datasets.items()})

    # -- usage ---------------------------------------------------------------------

    def count_call(self, principal: Principal, at: str) -> None:
        """Count one call answered for ``principal``'s key, on the UTC day of ``at`` (RFC 3339)."""
        self._calls.count(principal, at)

    def usage(self, principal: Principal, day_prefix: str) -> list[tuple[str, str, int, str]]:
        """``(key, day, calls, last call)`` of ``principal``'s client on the days starting ``day_prefix``."""
        return self._calls.of(principal, day_prefix)

    def client_keys(self, principal: Principal) -> tuple[str, ...]:
        """The keys of ``principal``'s client, in the fixtures' order."""
        dataset = self._dataset(principal.namespace)
        client = dataset.clients.get(principal.client_id)
        return tuple(k.key for k in client.api_keys) if client is not None else ()

    def client_plan(self, principal: Principal) -> Mapping[str, Json] | None:
        """The plan of ``principal``'s client (its tier and included amounts), as the fixtures give it."""
        client = self._dataset(principal.namespace).clients.get(principal.client_id)
        return client.plan if client is not None else None

    def dump_usage(self) -> dict[str, Json]:
        """The call counts, for ``--persist``: ``{namespace: [[client, key, day, calls, last], ...]}``."""
        return self._calls.dump()

    def restore_usage(self, dumped: Json) -> None:
        """Take back what ``dump_usage`` wrote (malformed rows are skipped)."""
        self._calls.restore(dumped)

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
            chosen, total, offset = coll.page(where, offset, limit, after=after, before=before)
            client = principal.client_id
            return [dataset.view(client, kind, coll.by_id[k[2]]) for k in chosen], total, offset

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
            record = self._find(dataset, principal, kind, record_id)
            if name != self.rules.get(kind, PLAIN).scope_field:  # a scope is never deferred
                dataset.complete(principal.client_id, kind, record_id)
                record = self._find(dataset, principal, kind, record_id)  # completed: a new dict
            return record.get(name)

    @staticmethod
    def _find(dataset: Dataset, principal: Principal, kind: str, record_id: str) -> dict[str, Json]:
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
        rules = self.rules.get(kind, PLAIN)
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
        rules = self.rules.get(kind, PLAIN)
        with dataset.lock:
            record = self._find(dataset, principal, kind, record_id)
            dataset.check_refs(principal.client_id, kind, fields, fields)
            check_servable(fields)
            kept = {k: record[k] for k in rules.hidden if k in record}
            changes: dict[str, Json] = {k: None for k in record if k != rules.id_field and k not in kept}
            changes.update(fields)
            coll = dataset.collection(principal.client_id, kind)
            coll.change(record_id, changes, drop=[k for k, v in changes.items() if v is None and k not in fields])
            return dataset.view(principal.client_id, kind, coll.by_id[record_id])

    def delete(self, principal: Principal, kind: str, record_id: str) -> None:
        """Remove the client's record.

        :raises NotFoundError: no such record for this client.
        :raises ConflictError: other records still refer to it (delete those first).
        """
        dataset = self._dataset(principal.namespace)
        with dataset.lock:
            self._find(dataset, principal, kind, record_id)
            dataset.remove(principal.client_id, kind, record_id)

    def dump(self, namespace: str = DEFAULT_NAMESPACE) -> dict[str, Json]:
        """The whole dataset in the fixtures' format (records oldest first)."""
        return snapshot.dump(self._dataset(namespace))

    def count(self, namespace: str = DEFAULT_NAMESPACE) -> int:
        """How many records the dataset holds."""
        dataset = self._dataset(namespace)
        with dataset.lock:
            return dataset.size()


def render_all(frozen: Mapping[str, snapshot.Frozen]) -> dict[str, Json]:
    """Each dataset's records (``snapshot.take`` or ``view``) as ``dump_all`` gives them:
    ``{"default", "sessions"}``."""
    sessions = {ns: snapshot.render(copy) for ns, copy in frozen.items() if ns != DEFAULT_NAMESPACE}
    return {"default": snapshot.render(frozen[DEFAULT_NAMESPACE]), "sessions": sessions}
