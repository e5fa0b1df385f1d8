"""A blob store the mock serves itself, as Azure Blob Storage answers: ``x-mock-blob``.

Owns: the three roles of ``x-mock-blob``:

- ``{upload: <operationId>, ttlSeconds: N}`` on a POST (``upload-url``): creates a record of
  the resource whose path the served operation is on, from the body, and answers its id,
  a pre-signed upload URL on the served operation and when it expires;
- ``{download: <operationId>, ttlSeconds: N}`` on a GET on a record's path
  (``download-url``): answers ``{url, expiresAt}``, a read URL of the record's stored file
  (404 while none is stored);
- ``{store: true, set: {field: value}}`` on the served operation's ``PUT``: Azure's Put Blob;
  ``{read: true}`` on its ``GET``: Get Blob, for a download URL.

The served path (``PUT``/``GET`` of a record's sub-path) takes no API key: a shared access
signature (SAS) in the query (``sv``, ``sr``, ``sp`` = ``w`` or ``r``, ``se`` = the expiry,
``client``, ``session``, ``sig`` = Base64 HMAC-SHA256), checked against the mock's clock.
Refusals are Azure's XML ``<Error>`` with its codes: 403 ``AuthenticationFailed``,
400 ``MissingRequiredHeader`` (no ``x-ms-blob-type``), 400 ``InvalidHeaderValue``,
404 ``BlobNotFound``, 413 ``RequestBodyTooLarge``. A stored file is kept with its record
(Base64, hidden under the blob path's last segment), at most ``MAX_CLIENT_BYTES`` of files per
client and dataset; a WAV file's duration is read from its header. The signing key is new each start.
No Flask, no IO.
May import: ``crud`` (types and ``Crud``), ``discover``, ``errors``, ``resources``, ``spec``, ``store``, ``types``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

from .discover import Resource
from .errors import NotFoundError, SpecError
from .resources import Resources
from .spec import Operation, Spec
from .store import DEFAULT_NAMESPACE, Store
from .types import Json, MockResponse, Principal

if TYPE_CHECKING:
    from .crud import Call, Crud

NAME = "x-mock-blob"
#: The SAS version the URLs carry (Azure's ``sv``).
SAS_VERSION = "2023-11-03"
#: Files one client may keep in one dataset, in bytes (uploads past it answer 413).
MAX_CLIENT_BYTES = 32 * 1024 * 1024
_KEY = secrets.token_bytes(32)
_WRITE, _READ = "w", "r"


def _seconds(moment: str) -> float:
    return datetime.fromisoformat(moment.upper().replace("Z", "+00:00")).timestamp()


def _rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(namespace: str, client: str, record_id: str, permission: str, expiry: str) -> str:
    """The SAS signature of one blob URL (Base64 HMAC-SHA256, as Azure's ``sig``)."""
    message = f"{namespace}\n{client}\n{record_id}\n{permission}\n{expiry}".encode("utf-8", "backslashreplace")
    return base64.b64encode(hmac.new(_KEY, message, hashlib.sha256).digest()).decode()


def azure_error(status: int, code: str, message: str, call: Call, **extra: str) -> MockResponse:
    """Azure Storage's error answer: ``<Error><Code/><Message/>...</Error>`` in XML."""
    when = datetime.fromisoformat(call.now.upper().replace("Z", "+00:00")).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    text = f"{message}\nRequestId:{call.request_id}\nTime:{when}"
    more = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in extra.items())
    body = f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code>'
    body += f"<Message>{escape(text)}</Message>{more}</Error>"
    headers = {"x-ms-error-code": code, "x-ms-version": SAS_VERSION}
    return MockResponse(status, None, headers, raw=body.encode(), content_type="application/xml")


def wav_seconds(data: bytes) -> float | None:
    """A RIFF/WAVE file's length in seconds (from its ``fmt `` and ``data`` chunks), else ``None``."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    at, byte_rate, size = 12, 0, None
    while at + 8 <= len(data) and size is None:
        chunk, length = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])[0]
        if chunk == b"fmt " and length >= 16 and at + 24 <= len(data):
            byte_rate = struct.unpack("<I", data[at + 16 : at + 20])[0]
        elif chunk == b"data":
            size = min(length, len(data) - at - 8)
        at += 8 + length + (length & 1)
    if not byte_rate or size is None:
        return None
    return round(float(size) / float(byte_rate), 3)


def _owner(resources: Resources, op: Operation) -> Resource | None:
    for resource in resources.by_kind.values():
        if resource.item_path and op.spec_path.startswith(resource.item_path + "/"):
            return resource
    return None


def _names(op: Operation, spec: Spec) -> tuple[str, str, str]:
    """The answer's property names for the id, the URL and the expiry (from its schema)."""
    response = op.response_for(op.success_status)
    props: dict[str, Json] = {}
    if response is not None and response.schema_pointer is not None:
        found = spec.schema_at(response.schema_pointer).get("properties")
        props = found if isinstance(found, dict) else {}
    id_name = next((p for p in props if p.lower().endswith("id")), "id")
    url_name = next((p for p in props if "url" in p.lower()), "url")
    expires = next((p for p in props if "expire" in p.lower()), "expiresAt")
    return id_name, url_name, expires


def bind_blobs(spec: Spec, resources: Resources, store: Store, crud: Crud) -> dict[str, Callable[[Call], MockResponse]]:
    """Handlers for every ``x-mock-blob`` operation and the blob path it names.

    :raises SpecError: the extension is malformed or names an operation not on a record's sub-path.
    """
    by_id = {op.operation_id: op for op in spec.operations}
    bound: dict[str, Callable[[Call], MockResponse]] = {}
    for op, raw, where in spec.operations_with(NAME):
        if not isinstance(raw, dict):
            raise SpecError(f"{where}: must be {{upload|download: <operationId>, ttlSeconds: N}} or {{store: true}}")
        if raw == {"read": True}:
            continue  # bound with the download-url operation that names it
        if raw.get("store") is True:
            resource = _owner(resources, op)
            changes = raw.get("set", {})
            if resource is None or op.method != "PUT" or not isinstance(changes, dict):
                raise SpecError(f"{where}: {{store: true, set: {{...}}}} goes on a PUT under a record's path")
            unknown = sorted(set(changes) - set(resource.properties))
            if unknown:
                raise SpecError(f"{where}.set: {resource.schema_name} has no field {', '.join(unknown)}")
            bound[op.operation_id] = _put(resource, store, changes, _field(op))
            continue
        role = "upload" if "upload" in raw else "download"
        served = by_id.get(str(raw.get(role)))
        ttl = raw.get("ttlSeconds")
        if set(raw) != {role, "ttlSeconds"} or not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0:
            raise SpecError(f"{where}: must be {{upload|download: <operationId>, ttlSeconds: <seconds>}}")
        resource = _owner(resources, served) if served is not None else None
        if served is None or resource is None or served.method != ("PUT" if role == "upload" else "GET"):
            raise SpecError(
                f"{where}: {role} names {raw.get(role)!r}, which must be a "
                f"{'PUT' if role == 'upload' else 'GET'} under a record's path"
            )
        if role == "upload":
            bound[op.operation_id] = _upload_url(spec, op, served, resource, store, crud, ttl)
        else:
            if _owner(resources, op) is not resource:
                raise SpecError(f"{where}: download-url and {served.operation_id} must be on one record's paths")
            bound[op.operation_id] = _download_url(spec, op, served, resource, store, ttl)
            bound[served.operation_id] = _get(resource, store, _field(served))
    return bound


def _field(op: Operation) -> str:
    """Where a file is kept with its record: the blob path's last segment (``bind`` hides it)."""
    return op.spec_path.rsplit("/", 1)[-1]


def _url(
    call: Call, served: Operation, resource: Resource, record_id: str, permission: str, ttl: int
) -> tuple[str, str]:
    expiry = _rfc3339(_seconds(call.now) + ttl)
    namespace, client = call.principal.namespace, call.principal.client_id
    query: dict[str, str] = {"sv": SAS_VERSION, "sr": "b", "sp": permission, "se": expiry, "client": client}
    if namespace != DEFAULT_NAMESPACE:
        query["session"] = namespace
    query["sig"] = sign(namespace, client, record_id, permission, expiry)
    path = served.path.replace("{" + resource.id_param + "}", quote(record_id, safe=""))
    host = call.request.host
    return (f"http://{host}" if host else "") + f"{path}?{urlencode(query)}", expiry


def _upload_url(
    spec: Spec, op: Operation, served: Operation, resource: Resource, store: Store, crud: Crud, ttl: int
) -> Callable[[Call], MockResponse]:
    id_name, url_name, expires_name = _names(op, spec)

    def issue(call: Call) -> MockResponse:
        body = dict(call.request.body) if isinstance(call.request.body, dict) else {}
        fields = crud.new_fields(resource, body, call)
        record = store.create(call.principal, resource.kind, resource.id_prefix, fields)
        record_id = str(record[resource.id_field])
        url, expiry = _url(call, served, resource, record_id, _WRITE, ttl)
        location = served.path.rsplit("/", 1)[0].replace("{" + resource.id_param + "}", record_id)
        answer = {id_name: record[resource.id_field], url_name: url, expires_name: expiry}
        return MockResponse(op.success_status, answer, {"Location": location})

    return issue


def _download_url(
    spec: Spec, op: Operation, served: Operation, resource: Resource, store: Store, ttl: int
) -> Callable[[Call], MockResponse]:
    _, url_name, expires_name = _names(op, spec)

    def issue(call: Call) -> MockResponse:
        record_id = str(call.request.path[resource.id_param])
        if store.hidden(call.principal, resource.kind, record_id, _field(served)) is None:
            raise NotFoundError(f"The {resource.noun()} {record_id!r} has no file yet: upload it first.")
        url, expiry = _url(call, served, resource, record_id, _READ, ttl)
        return MockResponse(op.success_status, {url_name: url, expires_name: expiry})

    return issue


_AUTH_FAILED = (
    "Server failed to authenticate the request. Make sure the value of Authorization header is formed "
    "correctly including the signature."
)


def _authorize(call: Call, resource: Resource, permission: str) -> tuple[Principal, str] | MockResponse:
    """The record's owner and id when the SAS in the query is valid for ``permission``, else Azure's 403."""
    query = call.request.query
    record_id = str(call.request.path[resource.id_param])
    client, namespace = str(query.get("client", "")), str(query.get("session") or DEFAULT_NAMESPACE)
    expiry, given, granted = str(query.get("se", "")), str(query.get("sig", "")), str(query.get("sp", ""))
    if not (client and expiry and given and granted):
        detail = "No SAS: sig, se and sp are required."
        return azure_error(403, "AuthenticationFailed", _AUTH_FAILED, call, AuthenticationErrorDetail=detail)
    wanted = sign(namespace, client, record_id, granted, expiry)
    if not hmac.compare_digest(wanted.encode(), given.encode("utf-8", "backslashreplace")):
        detail = "Signature did not match: the URL was changed, or not made by this mock (a restart makes new keys)."
        return azure_error(403, "AuthenticationFailed", _AUTH_FAILED, call, AuthenticationErrorDetail=detail)
    try:
        ends = _seconds(expiry)
    except ValueError:
        ends = 0.0
    if _seconds(call.now) >= ends:
        detail = f"Signed expiry time [{expiry}] must be after the current time [{call.now}]: ask for a new URL."
        return azure_error(403, "AuthenticationFailed", _AUTH_FAILED, call, AuthenticationErrorDetail=detail)
    if granted != permission:
        detail = "This request is not authorized to perform this operation using this permission."
        return azure_error(403, "AuthorizationPermissionMismatch", detail, call)
    return Principal("", client, frozenset(), namespace), record_id


def _put(resource: Resource, store: Store, changes: dict[str, Json], field: str) -> Callable[[Call], MockResponse]:
    kind = resource.kind

    def put_blob(call: Call) -> MockResponse:
        found = _authorize(call, resource, _WRITE)
        if isinstance(found, MockResponse):
            return found
        owner, record_id = found
        blob_type = call.request.headers.get("x-ms-blob-type")
        if blob_type is None:
            message = "An HTTP header that's mandatory for this request is not specified."
            return azure_error(400, "MissingRequiredHeader", message, call, HeaderName="x-ms-blob-type")
        if blob_type != "BlockBlob":
            message = "The value for one of the HTTP headers is not in the correct format (this store takes BlockBlob)."
            return azure_error(
                400, "InvalidHeaderValue", message, call, HeaderName="x-ms-blob-type", HeaderValue=str(blob_type)[:100]
            )
        media = (call.request.raw_content_type or "").split(";", 1)[0].strip().lower()
        if not media.startswith("audio/"):
            message = "The value for one of the HTTP headers is not in the correct format: send the file as audio/*."
            return azure_error(
                400, "InvalidHeaderValue", message, call, HeaderName="Content-Type", HeaderValue=media[:100] or "(none)"
            )
        data = call.request.raw_body
        try:
            store.get(owner, kind, record_id)
        except NotFoundError:
            return azure_error(404, "BlobNotFound", "The specified blob does not exist.", call)
        held = _held(store, owner, kind, record_id)
        if held + len(data) > MAX_CLIENT_BYTES:
            message = (
                f"The request body is too large: this client keeps {held} bytes of files and may keep "
                f"{MAX_CLIENT_BYTES}; reset the dataset to start over."
            )
            return azure_error(413, "RequestBodyTooLarge", message, call)
        digest = base64.b64encode(hashlib.md5(data).digest()).decode()
        update: dict[str, Json] = {k: (call.now if v == "$now" else v) for k, v in changes.items()}
        for name, value in (("contentType", media), ("sizeBytes", len(data)), ("durationInSeconds", wav_seconds(data))):
            if name in resource.properties:
                update[name] = value
        update[field] = {"data": base64.b64encode(data).decode(), "contentType": media, "md5": digest}
        store.update(owner, kind, record_id, update)
        etag = '"0x8D' + hashlib.sha256(data + call.now.encode()).hexdigest()[:13].upper() + '"'
        modified = format_datetime(datetime.fromtimestamp(_seconds(call.now), UTC), usegmt=True)
        headers = {
            "ETag": etag,
            "Last-Modified": modified,
            "Content-MD5": digest,
            "x-ms-request-server-encrypted": "true",
            "x-ms-version": SAS_VERSION,
        }
        return MockResponse(201, None, headers, raw=b"", content_type="application/octet-stream")

    return put_blob


def _held(store: Store, owner: Principal, kind: str, but: str) -> int:
    """The bytes of files ``owner`` keeps in ``kind``, but record ``but``'s (which an upload replaces)."""
    total, offset = 0, 0
    while True:
        page, count = store.list(owner, kind, offset, 500)
        for record in page:
            size = record.get("sizeBytes")
            if isinstance(size, int) and str(record.get("id")) != but:
                total += size
        offset += len(page)
        if not page or offset >= count:
            return total


def _get(resource: Resource, store: Store, field: str) -> Callable[[Call], MockResponse]:
    kind = resource.kind

    def get_blob(call: Call) -> MockResponse:
        found = _authorize(call, resource, _READ)
        if isinstance(found, MockResponse):
            return found
        owner, record_id = found
        try:
            blob = store.hidden(owner, kind, record_id, field)
        except NotFoundError:
            blob = None
        if not isinstance(blob, dict):
            return azure_error(404, "BlobNotFound", "The specified blob does not exist.", call)
        headers = {"x-ms-blob-type": "BlockBlob", "Content-MD5": str(blob.get("md5", "")), "x-ms-version": SAS_VERSION}
        data = base64.b64decode(str(blob.get("data", "")))
        return MockResponse(200, None, headers, raw=data, content_type=str(blob.get("contentType") or "audio/wav"))

    return get_blob


__all__ = ["MAX_CLIENT_BYTES", "azure_error", "bind_blobs", "sign", "wav_seconds"]
