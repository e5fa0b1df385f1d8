"""One handler per ``operationId``: what each operation does to the store.

Owns: the resources the mock serves (kind, schema, id prefix) and the generic CRUD
behaviour over them, so a new resource is a matter of spec, fixtures and one
``Resource`` line here. An operation of the spec without a handler stops start-up.
No Flask, no IO.
May import: ``spec``, ``store``, ``types``, ``errors``, ``validation`` (types only).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import SpecError
from .spec import Operation, Spec, record_defaults
from .store import Store
from .types import Json, MockResponse, Principal
from .validation import ValidRequest


@dataclass(frozen=True)
class Call:
    """What a handler gets: the operation, the caller, the valid request and the time."""

    operation: Operation
    principal: Principal
    request: ValidRequest
    now: str


Handler = Callable[[Call], MockResponse]


@dataclass(frozen=True)
class Resource:
    """A collection the mock keeps state for.

    :param kind: the store's name for it, and the fixtures' key (``engagements``).
    :param schema: the component schema of one record (``Engagement``).
    :param id_prefix: new ids are this prefix and a number (``eng_1000``).
    :param created_field: set to now on create; lists are ordered by it, newest first.
    :param updated_field: set to now on create and on every update that names a field.
    """

    kind: str
    schema: str
    id_prefix: str
    created_field: str = "createdAt"
    updated_field: str = "updatedAt"

    @property
    def schema_pointer(self) -> str:
        return f"/components/schemas/{self.schema}"


ENGAGEMENTS = Resource(kind="engagements", schema="Engagement", id_prefix="eng_")

#: Every resource the mock serves.
RESOURCES: tuple[Resource, ...] = (ENGAGEMENTS,)

#: operationId -> (action, resource). Actions: list, get, create, update, health.
OPERATIONS: Mapping[str, tuple[str, Resource | None]] = {
    "getHealth": ("health", None),
    "listEngagements": ("list", ENGAGEMENTS),
    "getEngagement": ("get", ENGAGEMENTS),
    "createEngagement": ("create", ENGAGEMENTS),
    "updateEngagement": ("update", ENGAGEMENTS),
}


def _defaults(spec: Spec, resource: Resource) -> dict[str, Json]:
    """Values a new record takes when the body does not give them (``spec.record_defaults``;
    fixtures take the same)."""
    return record_defaults(spec, resource.schema_pointer)


def _health(call: Call) -> MockResponse:
    return MockResponse(call.operation.success_status, {"status": "ok"})


def _crud(action: str, resource: Resource, spec: Spec, store: Store) -> Handler:
    kind = resource.kind

    if action == "list":

        def list_records(call: Call) -> MockResponse:
            page, size = call.request.query["page"], call.request.query["pageSize"]
            data, total = store.list(call.principal, kind, offset=(page - 1) * size, limit=size)
            body = {"data": data, "page": page, "pageSize": size, "totalCount": total}
            return MockResponse(call.operation.success_status, body)

        return list_records

    if action == "get":

        def get_record(call: Call) -> MockResponse:
            record = store.get(call.principal, kind, call.request.path["id"])
            return MockResponse(call.operation.success_status, record)

        return get_record

    if action == "create":
        defaults = _defaults(spec, resource)
        order = list(spec.schema_at(resource.schema_pointer).get("properties") or {})

        def create_record(call: Call) -> MockResponse:
            given = {**defaults, **call.request.body}
            given[resource.created_field] = given[resource.updated_field] = call.now
            # The schema's field order, as the vendor's example shows it; ``id`` comes from the store.
            fields = {name: given[name] for name in order if name in given and name != "id"}
            record = store.create(call.principal, kind, resource.id_prefix, fields)
            location = f"{call.operation.path.rstrip('/')}/{record['id']}"
            return MockResponse(call.operation.success_status, record, {"Location": location})

        return create_record

    if action == "update":

        def update_record(call: Call) -> MockResponse:
            changes = dict(call.request.body or {})
            if changes:
                changes[resource.updated_field] = call.now
            record = store.update(call.principal, kind, call.request.path["id"], changes)
            return MockResponse(call.operation.success_status, record)

        return update_record

    raise SpecError(f"unknown action {action!r} for {kind}")


def bind_handlers(spec: Spec, store: Store) -> dict[str, Handler]:
    """Bind a handler to every operation of ``spec``, by ``operationId``.

    :raises SpecError: an operation has no handler (named, with the known ones).
    """
    missing = [op.operation_id for op in spec.operations if op.operation_id not in OPERATIONS]
    if missing:
        raise SpecError(
            f"{spec.source}: no handler for operationId(s) {', '.join(missing)}; "
            f"the mock has handlers for: {', '.join(sorted(OPERATIONS))}"
        )
    bound: dict[str, Handler] = {}
    for op in spec.operations:
        action, resource = OPERATIONS[op.operation_id]
        bound[op.operation_id] = _health if resource is None else _crud(action, resource, spec, store)
    return bound


def resource_kinds() -> dict[str, str]:
    """``kind -> schema pointer`` for every resource, for the fixture loader."""
    return {r.kind: r.schema_pointer for r in RESOURCES}
