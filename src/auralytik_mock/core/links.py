"""Expiring signed links the mock serves itself: ``x-mock-signed-url``.

Owns: the operation that hands out a link (``{serves: operationId, ttlSeconds: N}``:
the record's URL on the served operation, with its client, session, expiry and an
HMAC-SHA256 signature in the query string) and the served operation, which needs no
API key: it checks the signature (403 ``INVALID_LINK_SIGNATURE``) and the expiry
against the mock's clock (403 ``LINK_EXPIRED``), then answers the record's file (a
WAV of silence as long as the record says, at most 5 s). The signing key is new each
start, so a restart ends every link. No Flask, no IO.
May import: ``crud`` (types only), ``discover``, ``errors``, ``resources``, ``spec``, ``store``, ``types``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from .discover import Resource
from .errors import ApiError, SpecError
from .resources import Resources
from .spec import Operation, Spec
from .store import DEFAULT_NAMESPACE, Store
from .types import Json, MockResponse, Principal

if TYPE_CHECKING:
    from .crud import Call

NAME = "x-mock-signed-url"
_KEY = secrets.token_bytes(32)
#: The longest recording served, in seconds (8 kHz, 8-bit mono: 8 KB a second).
MAX_SECONDS = 5


class LinkError(ApiError):
    """403: a signed link that expired or was changed."""

    status = 403
    code = "INVALID_LINK_SIGNATURE"


def _seconds(moment: str) -> int:
    return int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp())


def _signature(namespace: str, client: str, record_id: str, expires: int) -> str:
    message = f"{namespace}\n{client}\n{record_id}\n{expires}".encode("utf-8", "backslashreplace")
    return hmac.new(_KEY, message, hashlib.sha256).hexdigest()


def _wav(seconds: float) -> bytes:
    """A mono 8 kHz 8-bit WAV of silence, ``seconds`` long (at most ``MAX_SECONDS``)."""
    frames = int(8000 * max(0.0, min(float(seconds), MAX_SECONDS)))
    header = b"RIFF" + struct.pack("<I", 36 + frames) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, 8000, 8000, 1, 8) + b"data" + struct.pack("<I", frames)
    return header + b"\x80" * frames


def _owner(resources: Resources, op: Operation) -> Resource | None:
    for resource in resources.by_kind.values():
        if resource.item_path and op.spec_path.startswith(resource.item_path + "/"):
            return resource
    return None


def _duration(record: dict[str, Json]) -> float:
    for name in ("durationSeconds", "durationInSeconds", "duration"):
        value = record.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return 1.0


def bind_links(spec: Spec, resources: Resources, store: Store) -> dict[str, Callable[[Call], MockResponse]]:
    """Handlers for every ``x-mock-signed-url`` operation and the operation it serves.

    :raises SpecError: the extension is malformed, names an unknown operation, or is not on a record's path.
    """
    by_id = {op.operation_id: op for op in spec.operations}
    bound: dict[str, Callable[[Call], MockResponse]] = {}
    for op, raw, where in spec.operations_with(NAME):
        if not (isinstance(raw, dict) and set(raw) == {"serves", "ttlSeconds"} and isinstance(raw["ttlSeconds"], int)):
            raise SpecError(f"{where}: must be {{serves: <operationId>, ttlSeconds: <seconds>}}")
        served = by_id.get(str(raw["serves"]))
        resource = _owner(resources, op)
        if served is None or resource is None or _owner(resources, served) is not resource:
            raise SpecError(f"{where}: both operations must be on the paths of one record ({raw['serves']!r})")
        bound[op.operation_id] = _issuer(op, served, resource, store, raw["ttlSeconds"])
        bound[served.operation_id] = _server(served, resource, store)
    return bound


def _issuer(
    op: Operation, served: Operation, resource: Resource, store: Store, ttl: int
) -> Callable[[Call], MockResponse]:
    def issue(call: Call) -> MockResponse:
        record_id = str(call.request.path[resource.id_param])
        store.get(call.principal, resource.kind, record_id)  # 404 for a record the client does not have
        expires = _seconds(call.now) + ttl
        query = link_query(call.principal.namespace, call.principal.client_id, record_id, expires)
        path = served.path.replace("{" + resource.id_param + "}", quote(record_id, safe=""))
        host = call.request.host
        url = (f"http://{host}" if host else "") + f"{path}?{urlencode(query)}"
        expires_at = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return MockResponse(op.success_status, {"url": url, "expiresAt": expires_at})

    return issue


def link_query(namespace: str, client: str, record_id: str, expires: int) -> dict[str, str | int]:
    """The query string of a signed link to ``record_id`` (what ``check_link`` takes back)."""
    query: dict[str, str | int] = {"client": client}
    if namespace != DEFAULT_NAMESPACE:
        query["session"] = namespace
    query["expires"] = expires
    query["signature"] = _signature(namespace, client, record_id, expires)
    return query


def check_link(call: Call, record_id: str, ask: str = "ask recording-url for a new one") -> Principal:
    """The owner of the record a signed link names, if the link's signature and expiry hold.

    :raises LinkError: 403 ``INVALID_LINK_SIGNATURE`` (changed) or ``LINK_EXPIRED``; ``ask``
        ends the message (where a new link comes from).
    """
    query = call.request.query
    client, namespace = str(query.get("client", "")), str(query.get("session") or DEFAULT_NAMESPACE)
    expires = query.get("expires")
    if not isinstance(expires, int):
        raise LinkError(f"This link has no valid expiry; {ask}.")
    wanted = _signature(namespace, client, record_id, expires)
    given = str(query.get("signature", "")).encode("utf-8", "backslashreplace")
    if not hmac.compare_digest(wanted.encode(), given):
        raise LinkError("This link's signature does not match it: it was changed or not made by this mock.")
    if _seconds(call.now) >= expires:
        expired = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        raise LinkError(f"This link expired at {expired}; {ask}.", code="LINK_EXPIRED")
    return Principal("", client, frozenset(), namespace)


def _server(op: Operation, resource: Resource, store: Store) -> Callable[[Call], MockResponse]:
    def serve(call: Call) -> MockResponse:
        record_id = str(call.request.path[resource.id_param])
        owner = check_link(call, record_id)
        record = store.get(owner, resource.kind, record_id)
        audio = _wav(_duration(record))
        return MockResponse(op.success_status, None, raw=audio, content_type="application/octet-stream")

    return serve
