"""Support for tests/test_public_specs.py: requests a client would send to each operation
of a public OpenAPI document, made from the document alone (examples first, else data
generated from the schemas), and what the answers must be."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from auralytik_mock.core.answers import minimal
from auralytik_mock.core.spec import Operation, Spec
from auralytik_mock.core.validation import SchemaSet
from auralytik_mock.generate import GenerateError, generate_value

PUBLIC = Path(__file__).resolve().parent / "data" / "public"

#: Each public document and its entry point, in tests/data/public/README.md's order.
DOCUMENTS = {
    "oai-petstore": "oai-petstore.yaml",
    "oai-petstore-expanded": "oai-petstore-expanded.yaml",
    "oai-api-with-examples": "oai-api-with-examples.yaml",
    "oai-link-example": "oai-link-example.yaml",
    "oai-callback-example": "oai-callback-example.yaml",
    "oai-uspto": "oai-uspto.yaml",
    "swagger-petstore3": "swagger-petstore3.yaml",
    "train-travel": "train-travel.yaml",
    "museum": "museum.yaml",
    "realworld-conduit": "realworld-conduit.yml",
    "redocly-cafe": "redocly-cafe/openapi.yaml",
    "openai": "openai.yaml",
}

#: The key every request sends: served without fixtures, any well-formed key is the default client's.
KEY = "PUBLIC_SPEC_KEY"


@dataclass
class Sent:
    """One request: method, path (base path included, parameters filled), query, headers, body."""

    op: Operation
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    #: What ``body`` encodes, and the pointer of the schema it was made from.
    value: Any = None
    schema_pointer: str | None = None


def value_for(spec: Spec, schema: Any, key: list[Any], name: str = "") -> Any:
    """A value valid against ``schema`` (``$ref``s resolved here), the same for the same ``key``."""
    inlined = spec.inline(schema)
    for source in ("example", "examples", "default", "enum"):
        if isinstance(inlined, dict) and source in inlined:
            found = inlined[source]
            return found[0] if source in {"examples", "enum"} and isinstance(found, list) and found else found
    try:
        return generate_value(inlined, key=key, name=name)
    except (GenerateError, RecursionError, ValueError, TypeError, KeyError):
        return minimal(inlined)


def _writable(spec: Spec, schema: Any) -> Any:
    """``schema`` inlined with its top-level ``readOnly`` properties left out (a client never sends them)."""
    inlined = spec.inline(schema)
    if isinstance(inlined, dict) and isinstance(inlined.get("properties"), dict):
        props = {k: v for k, v in inlined["properties"].items() if not (isinstance(v, dict) and v.get("readOnly"))}
        required = [r for r in inlined.get("required", []) if r in props]
        inlined = {**inlined, "properties": props, "required": required}
    return inlined


def request_for(spec: Spec, op: Operation) -> Sent:
    """A valid request to ``op``, made from the spec alone."""
    path = op.path
    sent = Sent(op, path)
    for param in op.parameters:
        if param.location != "path" and not param.required:
            continue
        value = value_for(spec, param.schema, ["param", op.operation_id, param.name], param.name)
        text = value if isinstance(value, str) else json.dumps(value)
        if param.location == "path":
            path = path.replace("{" + param.name + "}", quote(text or "1", safe=""))
        elif param.location == "query":
            sent.query[param.name] = text
        elif param.location == "header":
            sent.headers[param.name] = text
    sent.path = path
    if op.body_media_types:
        media = next((m for m in op.body_media_types if "json" in m), op.body_media_types[0])
        pointer = op.body_schemas.get(media)
        schema = _writable(spec, spec.lookup(pointer)) if pointer else {}
        body = value_for(spec, schema, ["body", op.operation_id]) if pointer else None
        sent.value, sent.schema_pointer = body, pointer
        base = media.split(";", 1)[0].strip().lower()
        sent.headers["Content-Type"] = base if "*" not in base else "application/octet-stream"
        if "json" in base:
            sent.body = json.dumps(body).encode()
        elif base == "application/x-www-form-urlencoded":
            sent.body = urlencode(
                {k: v if isinstance(v, str) else json.dumps(v) for k, v in (body or {}).items()}
            ).encode()
        elif base == "multipart/form-data":
            boundary = "publicspecboundary"
            parts = [
                f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'
                f"{v if isinstance(v, str) else json.dumps(v)}\r\n"
                for k, v in (body or {}).items()
            ]
            sent.body = ("".join(parts) + f"--{boundary}--\r\n").encode()
            sent.headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        elif base.startswith("text/"):
            sent.body = (body if isinstance(body, str) else "text").encode()
        else:
            sent.body = b"\x00\x01"
    return sent


def sign_in(spec: Spec, sent: Sent) -> None:
    """Add to ``sent`` the credential of its operation's first security alternative, as a
    client of that scheme sends it (header, query, cookie; Bearer, Basic or a bare key)."""
    if not sent.op.security:
        return
    cookies = []
    for name in sent.op.security[0]:
        scheme = spec.schemes.get(name)
        if scheme is None:
            continue
        if scheme.kind == "apikey" and scheme.location == "query":
            sent.query[scheme.header] = KEY
        elif scheme.kind == "apikey" and scheme.location == "cookie":
            cookies.append(f"{scheme.header}={KEY}")
        elif scheme.kind == "apikey":
            sent.headers[scheme.header] = KEY
        elif scheme.kind == "basic":
            sent.headers["Authorization"] = "Basic " + base64.b64encode(f"user:{KEY}".encode()).decode()
        elif scheme.kind == "bearer":
            sent.headers["Authorization"] = f"Bearer {KEY}"
        else:
            sent.headers[scheme.header or "Authorization"] = KEY
    if cookies:
        sent.headers["Cookie"] = "; ".join(cookies)


def body_is_valid(schemas: SchemaSet, op: Operation, sent: Sent) -> bool:
    """Whether the JSON body ``sent`` to ``op`` is one its schema accepts (the made-up data can miss)."""
    if sent.schema_pointer is None or sent.value is None:
        return True
    return not schemas.check(sent.schema_pointer, sent.value, "body")
