"""A record as the store keeps it and as an answer shows it.

Owns: copying JSON values, a request body opened from its single-key wrapper, a record
wrapped as the spec wraps it, time stamps in the schema's unit (RFC 3339 or seconds), an
answer from the spec given the id asked for, the path values a nested record belongs to,
and a path template filled in.
No IO.
May import: ``discover``, ``fill``, ``shapes``, ``types``; ``crud`` for types only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from .discover import Resource
from .fill import fill_layout
from .shapes import Envelope
from .types import Json, MockResponse

if TYPE_CHECKING:
    from .crud import Call


def copied(value: Json) -> Json:
    """A deep copy of a JSON value."""
    if isinstance(value, dict):
        return {k: copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copied(v) for v in value]
    return value


def wrapped(envelope: Envelope | None, record: Json, call: Call) -> Json:
    """``record`` in the answer's wrapper (``{data: record, meta}``, ``{"pet": record}``), if any."""
    if envelope is None or envelope.bare:
        return record
    return fill_layout(envelope.layout, {"items": record, "requestId": call.request_id, "timestamp": call.now})


def stamp(resource: Resource, name: str, now: str) -> Json:
    """The time ``now`` for the field ``name``: RFC 3339, or seconds where the schema says a number."""
    if name in resource.seconds:
        return int(datetime.fromisoformat(now.replace("Z", "+00:00")).timestamp())
    return now


def unwrapped(body: Json, resource: Resource) -> dict[str, Json]:
    """The request body as a record: a single-key wrapper (``{"pet": {...}}``) opened."""
    if not isinstance(body, dict):
        return {}
    if len(body) == 1:
        ((key, inner),) = body.items()
        if isinstance(inner, dict) and key not in resource.properties:
            return dict(inner)
    return dict(body)


def named(response: MockResponse, resource: Resource, record_id: Json) -> MockResponse:
    """``response`` (an answer from the spec) with its record's id set to ``record_id``."""
    body = response.body
    if isinstance(body, dict) and resource.id_field not in body and len(body) == 1:
        (inner,) = body.values()
        body = inner
    if isinstance(body, dict) and isinstance(body.get(resource.id_field), type(record_id)):
        body[resource.id_field] = record_id
    return response


def scope_of(resource: Resource, call: Call) -> str:
    """The path values a record of a nested collection belongs to (``proj_1/sec_2``)."""
    return "/".join(str(call.request.path.get(p, "")) for p in resource.scope)


def filled(template: str, values: Mapping[str, Json]) -> str:
    """``template`` (``/pets/{petId}``) with its parameters' values."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", str(value))
    return template
