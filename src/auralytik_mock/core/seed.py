"""What a dataset is made from: clients, their API keys, their records by kind, and the
rules the store keeps true for each kind of record (built from the spec's ``x-mock-*``).

Owns: ``ApiKey`` (and a session's copy of a key), ``ClientSeed``, ``Seed``, ``KindRules``
with its ``Count`` and ``Copy`` relations. Plain frozen data, no state.
May import: ``types``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class ClientSeed:
    """One client (tenant) of the fixtures: its keys and its records by kind."""

    id: str
    name: str
    api_keys: tuple[ApiKey, ...]
    resources: Mapping[str, Sequence[Mapping[str, Json]]] = field(default_factory=dict)
    #: The client's plan: ``{"tier": name, "included": {meter: amount}}`` (``x-mock-usage``), or ``None``.
    plan: Mapping[str, Json] | None = None


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
