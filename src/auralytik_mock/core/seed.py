"""What a dataset is made from: clients, their API keys, their records by kind, and the
rules the store keeps true for each kind of record (built from the spec's ``x-mock-*``).

Owns: ``ApiKey`` (and a session's copy of a key), ``ClientSeed``, ``Seed``, ``KindRules``
with its ``Count`` and ``Copy`` relations, and ``Deferred`` (what a seed read back from disk
reads only when asked for). Plain frozen data, no state.
May import: ``types``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from .types import Json


@dataclass(frozen=True)
class ApiKey:
    """A fixture API key, its scopes, and its HMAC secret if it signs its requests."""

    key: str
    scopes: tuple[str, ...]
    secret: str | None = field(default=None, repr=False)

    def in_session(self, prefix: str) -> ApiKey:
        """This key as a session hands it out: Bearer keys get the session prefix; signing
        keys (whose format a vendor may check) get a fresh key and secret of their own shape
        (what comes before the last ``_`` or ``-`` kept, the rest derived from the session, so
        that resetting the session keeps them)."""
        if not prefix:
            return self
        if self.secret is None:
            return ApiKey(prefix + self.key, self.scopes)
        derived = hmac.new(_SESSION_SALT, f"{prefix}{self.key}".encode(), hashlib.sha512).hexdigest()
        return ApiKey(_reshaped(self.key, derived[:64]), self.scopes, _reshaped(self.secret, derived[64:]))


def _reshaped(value: str, derived: str) -> str:
    """``value``'s head (up to its last ``_`` or ``-``) and as many characters of ``derived``
    as its tail has (16 at least, 64 at most): ``ak_live_`` + 32 stays ``ak_live_`` + 32."""
    cut = max(value.rfind("_"), value.rfind("-")) + 1
    return value[:cut] + derived[: min(max(len(value) - cut, 16), 64)]


#: Makes session keys and secrets unguessable from the session id.
_SESSION_SALT = secrets.token_bytes(16)


class Deferred(Protocol):
    """Data kept with a client's records that is read only when first asked for: the
    sub-resource data (an evaluation's transcript) of a seed read back from disk
    (``seedfile``), most of its bytes and rarely read, so a start need not decode it."""

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds whose records have data here."""
        ...

    def read(self) -> None:
        """Decode them now (outside any lock: ``fields`` is then a lookup)."""
        ...

    def fields(self, kind: str, position: int) -> Mapping[str, Json]:
        """The fields kept for the record at ``position`` in the client's ``resources[kind]``
        (empty: none)."""
        ...


def completed(record: Mapping[str, Json], deferred: Mapping[str, Json]) -> dict[str, Json]:
    """``record`` with the ``deferred`` fields it does not have (its own win), as a new dict."""
    return {**record, **{k: v for k, v in deferred.items() if k not in record}}


@dataclass(frozen=True, eq=False)
class ClientSeed:
    """One client (tenant) of the fixtures: its keys and its records by kind.

    Two are equal when they hold the same data, whether or not some of it is deferred.
    """

    id: str
    name: str
    api_keys: tuple[ApiKey, ...]
    resources: Mapping[str, Sequence[Mapping[str, Json]]] = field(default_factory=dict)
    #: The client's plan: ``{"tier": name, "included": {meter: amount}}`` (``x-mock-usage``), or ``None``.
    plan: Mapping[str, Json] | None = None
    #: Fields of its records not in ``resources`` yet, read when first asked for (``None``: none).
    deferred: Deferred | None = None

    def whole(self) -> ClientSeed:
        """This client with every deferred field in its records (read now)."""
        deferred = self.deferred
        if deferred is None:
            return self
        resources: dict[str, Sequence[Mapping[str, Json]]] = {}
        for kind, records in self.resources.items():
            if kind not in deferred.kinds:
                resources[kind] = records
                continue
            resources[kind] = [completed(record, deferred.fields(kind, at)) for at, record in enumerate(records)]
        return replace(self, resources=resources, deferred=None)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClientSeed):
            return NotImplemented
        mine, theirs = self.whole(), other.whole()
        return (mine.id, mine.name, mine.api_keys, mine.resources, mine.plan) == (
            theirs.id,
            theirs.name,
            theirs.api_keys,
            theirs.resources,
            theirs.plan,
        )

    __hash__ = None  # type: ignore[assignment]  # its records are mutable mappings


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


#: The rules of a kind the spec says nothing about.
PLAIN = KindRules()
