"""Value objects shared by every layer: the request and response the engine sees.

No Flask, no werkzeug: the HTTP adapters (``app.py``) translate to and from these.
May import: the standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

#: A decoded JSON value. ``Any`` appears only behind this alias.
Json: TypeAlias = Any


@dataclass(frozen=True)
class MockRequest:
    """One HTTP request, as the engine sees it.

    :param method: the upper-case HTTP method.
    :param path: the decoded path, without the query string.
    :param query: every query parameter with all its values, in order.
    :param headers: the request headers (names are lower-cased on creation).
    :param body: the raw body (empty when there is none).
    :param oversized: the body was over the size limit and was not read.
    """

    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    oversized: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", {name.lower(): value for name, value in self.headers.items()})

    def header(self, name: str) -> str | None:
        """Return the header ``name`` (case-insensitive), or ``None``."""
        return self.headers.get(name.lower())


@dataclass
class MockResponse:
    """One HTTP response the engine produced.

    :param status: the HTTP status code.
    :param body: a JSON value to serialize, or ``None`` for no body.
    :param headers: extra response headers.
    :param delay: seconds the adapter waits before answering (latency injection).
    :param drop_connection: close the connection without answering (fault injection).
    """

    status: int
    body: Json = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop_connection: bool = False
    raw: bytes | None = None
    content_type: str = "application/json"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the API key, its client (tenant), its scopes and its dataset.

    :param namespace: the dataset the key belongs to: ``"default"`` for the
        fixtures, or an isolated session's id.
    :param secret: the key's HMAC secret (keys that sign their requests); never shown.
    """

    key: str
    client_id: str
    scopes: frozenset[str]
    namespace: str = "default"
    secret: str | None = field(default=None, repr=False, compare=False)
