"""Every ``x-mock-*`` extension the mock reads, with where it goes and what it does.

Owns: the ``EXTENSIONS`` registry (name -> ``Extension``), the check that a document
names only known ones, and the one-line docs the extensions reference page lists.
Other modules add their own names here (one entry each); nothing else is read.
No IO.
May import: ``errors``, ``operation`` (escaping a pointer), ``types``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import SpecError
from .operation import mappings, pointer_of
from .types import Json


@dataclass(frozen=True)
class Extension:
    """One ``x-mock-*`` key: ``where`` it may appear and what it ``does`` (one line each)."""

    where: str
    does: str


#: Every ``x-mock-*`` key the mock knows. An unknown one stops start-up (a typo would
#: otherwise be ignored silently).
EXTENSIONS: dict[str, Extension] = {
    "x-mock-id-prefix": Extension("a record schema", "new ids are this prefix and a number (`eng_1000`)"),
    "x-mock-id": Extension(
        "a record schema or an item path's parameter",
        "the record property that holds the id (when it is neither the parameter's name nor `id`)",
    ),
    "x-mock-ref": Extension("a property of a record schema", "the value must name a record of that schema"),
    "x-mock-records": Extension(
        "a schema under components/schemas",
        "`kind`: fixtures hold records of this schema under `kind` (checked, named by `x-mock-ref`) though "
        "no path serves them (the call centers evaluations name)",
    ),
    "x-mock-count": Extension(
        "a read-only integer property of a record schema", "`{of: Schema, by: field}`: how many records name this one"
    ),
    "x-mock-copy": Extension(
        "a read-only property of a record schema", "`{ref: field, field: name}`: copied from the referenced record"
    ),
    "x-mock-filter": Extension(
        "a query parameter of a list operation", "`{field: name, op: eq|gte|lte|contains}`: how it filters"
    ),
    "x-mock-singleton": Extension(
        "an operation on a path without an id",
        "`true` or `{schema: Name}`: one record per client, read by GET, written by PUT/PATCH/POST",
    ),
    "x-mock-action": Extension(
        "an operation (POST, PUT, PATCH) on a record's path",
        "`{set: {field: value}}` sets fields of its record (`$now`: the time), "
        "or `{create: Schema}` creates a record of another resource",
    ),
    "x-mock-stateless": Extension("an operation", "`true`: answer from the spec even where a resource can be seen"),
    "x-mock-aggregate": Extension(
        "a GET operation",
        "`{of: Schema, metrics: {name: count | {avg|sum|share: field}}, groupBy?, bucket?}`: "
        "answered from the caller's records (``aggregate.py``)",
    ),
    "x-mock-signed-url": Extension(
        "a GET operation on a record's path",
        "`{serves: operationId, ttlSeconds: N}`: answers `{url, expiresAt}`, an expiring signed link to the "
        "record on `serves`, which the mock answers without a key (``links.py``)",
    ),
    "x-mock-blob": Extension(
        "an operation: `upload-url` (POST), `download-url` (GET), or the blob path's PUT",
        "`{upload|download: operationId, ttlSeconds: N}`: a pre-signed URL of a blob store imitating Azure's "
        "(`x-ms-blob-type`, XML errors); `{store: true, set: {...}}`: that PUT stores the file; "
        "`{read: true}`: that GET serves it (``blob.py``)",
    ),
    "x-mock-job": Extension(
        "an operation",
        "`{steps: [{at, set, effect}], seconds, from, failWhen, failed, create?, range?}`: a job that moves a "
        "record through states on the mock's clock; `{reports: operationId}`: its status; "
        "`{file: name}`: its file through a signed link (``jobs.py``)",
    ),
    "x-mock-usage": Extension(
        "a GET operation",
        "`{report: summary|details|by-key}`: the calls the mock answered each key of the caller's client "
        "in `billingPeriod`, against the client's `plan` in the fixtures (``usage.py``)",
    ),
    "x-mock-webhooks": Extension(
        "an operation",
        "`list|create|update|delete|test|deliveries`: the vendor's webhook registrations, their signing "
        "secret (shown once), test events and delivery history (``webhooks.py``)",
    ),
    "x-mock-mask-pii": Extension(
        "a header parameter",
        "`{when: value, fields: [name]}`: that header value masks personal data in those fields (``pii.py``)",
    ),
    # Request signing (``spec.py`` reads these):
    "x-mock-security": Extension("a server", "the security schemes its base path accepts"),
    "x-mock-signature": Extension("an apiKey security scheme", "its signature recipe"),
    # The vendor's profile (``profile.py`` reads it):
    "x-mock-profile": Extension(
        "the document's top level", "the vendor profile (`profiles/<name>/profile.yaml`): envelope, key formats"
    ),
}


def check_extensions(node: Json, source: str, pointer: str = "") -> None:
    """Refuse an ``x-mock-*`` key that ``EXTENSIONS`` does not hold, naming where it is.

    :raises SpecError: an unknown ``x-mock-*`` key (probably a typo).
    """
    for path, mapping in mappings(node):
        for key in mapping:
            if isinstance(key, str) and key.startswith("x-mock-") and key not in EXTENSIONS:
                known = ", ".join(sorted(EXTENSIONS))
                where = pointer + pointer_of(path)
                raise SpecError(f"{source}: {where or '/'}: unknown extension {key!r} (the mock knows: {known})")
