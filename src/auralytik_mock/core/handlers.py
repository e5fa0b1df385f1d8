"""What each operation does to the store: generic CRUD over the spec's resources,
and the ``@handles(operationId)`` registry of Python hooks.

Owns: turning a ``Binding`` (from ``resources``) into a handler: list with paging,
filters and the spec's envelope; get, create, update (PATCH), replace (PUT), delete;
a sub-resource's data; a static example. A hook registered with ``@handles`` replaces
the generic handler of its operation and may call it (``ctx.default(call)``) to wrap it.
No Flask, no IO.
May import: ``resources``, ``spec``, ``store``, ``types``, ``errors``, ``validation`` (types only).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import ApiError, NotFoundError, SpecError
from .resources import Binding, Envelope, Resource, Resources
from .spec import Operation, Spec
from .store import Condition, Copy, Count, KindRules, Store
from .types import Json, MockResponse, Principal

if TYPE_CHECKING:
    from .validation import ValidRequest

_PARAM = re.compile(r"\{([^{}/]+)\}")


@dataclass(frozen=True)
class Call:
    """What a handler gets: the operation, the caller, the valid request and the time.

    :param now: RFC 3339 UTC, to the second (the pinned clock when one is set).
    :param request_id: the id the answer will carry (``X-Request-Id``).
    """

    operation: Operation
    principal: Principal
    request: ValidRequest
    now: str
    request_id: str = ""


Handler = Callable[[Call], MockResponse]


@dataclass(frozen=True)
class Context:
    """What a hook gets besides the call: the store, the resource the spec gives its
    operation (if any) and the generic behaviour, to wrap.

    :param default: the generic handler of the operation (one that answers 500 if the
        operation fits no shape the mock serves).
    """

    store: Store
    resource: Resource | None
    default: Handler
    spec: Spec


#: A Python hook: ``(call, ctx) -> MockResponse``.
Hook = Callable[[Call, Context], MockResponse]

_HOOKS: dict[str, Hook] = {}


def handles(operation_id: str) -> Callable[[Hook], Hook]:
    """Register ``fn`` as the handler of ``operation_id`` (for every mock built afterwards).

    The hook replaces the generic behaviour; call ``ctx.default(call)`` inside it to wrap
    that behaviour instead. A hook for an operationId the spec does not have stops start-up.

    Example::

        from auralytik_mock import MockResponse, handles

        @handles("createEngagement")
        def create_engagement(call, ctx):
            response = ctx.default(call)
            response.headers["X-Created-By"] = "hook"
            return response

    :raises ValueError: a hook is already registered for ``operation_id``.
    """

    def register(fn: Hook) -> Hook:
        if operation_id in _HOOKS and _HOOKS[operation_id] is not fn:
            raise ValueError(f"a hook for {operation_id!r} is already registered; call unregister() first")
        _HOOKS[operation_id] = fn
        return fn

    return register


def unregister(operation_id: str | None = None) -> None:
    """Forget the hook of ``operation_id`` (every hook when ``None``)."""
    if operation_id is None:
        _HOOKS.clear()
    else:
        _HOOKS.pop(operation_id, None)


def hooked() -> frozenset[str]:
    """The operationIds that have a hook."""
    return frozenset(_HOOKS)


def store_rules(resources: Resources) -> dict[str, KindRules]:
    """The relations the store keeps true for each kind, from the resources' ``x-mock-*``."""
    return {
        kind: KindRules(
            id_field=r.id_field,
            integer_ids=r.integer_ids,
            refs=dict(r.refs),
            counts=tuple(Count(f, of, by) for f, of, by in r.counts),
            copies=tuple(Copy(f, via, of, source) for f, via, of, source in r.copies),
            hidden=frozenset(r.subresources) - set(r.properties),
        )
        for kind, r in resources.by_kind.items()
    }


def _fill(layout: Mapping[str, str | Mapping[str, str]], values: Mapping[str, Json]) -> dict[str, Json]:
    body: dict[str, Json] = {}
    for name, meaning in layout.items():
        if isinstance(meaning, str):
            body[name] = values.get(meaning)
        else:
            body[name] = _fill(meaning, values)
    return body


def _id_param(spec_path: str, position: int) -> str:
    return str(_PARAM.findall(spec_path)[position])


def _wrap(envelope: Envelope | None, record: Json, call: Call) -> Json:
    if envelope is None:
        return record
    return _fill(envelope.layout, {"items": record, "requestId": call.request_id, "timestamp": call.now})


def _generic(binding: Binding, store: Store) -> Handler | None:
    op, resource = binding.operation, binding.resource
    status = op.success_status
    if binding.action == "static":
        response = op.response_for(status)
        example = response.example if response is not None else None

        def static(call: Call) -> MockResponse:
            return MockResponse(status, _copy(example))

        return static
    if resource is None:
        return None
    kind = resource.kind

    if binding.action == "list":
        shape = binding.shape
        assert shape is not None

        def list_records(call: Call) -> MockResponse:
            query = call.request.query
            if shape.page_param is not None or shape.offset_param is None:
                size = int(query.get(shape.size_param or "", shape.default_size) or shape.default_size)
                if shape.size_param is None and shape.limit_param is not None:
                    size = int(query.get(shape.limit_param, shape.default_size))
                page = int(query.get(shape.page_param or "", 1) or 1)
                offset = (page - 1) * size
            else:
                size = int(query.get(shape.limit_param or "", shape.default_size))
                offset = int(query.get(shape.offset_param, 0))
                page = offset // size + 1 if size else 1
            where = [Condition(f.field, f.op, query[f.param]) for f in shape.filters if f.param in query]
            data, total = store.list(call.principal, kind, offset=offset, limit=size, where=where)
            values: dict[str, Json] = {
                "items": data,
                "page": page,
                "pageSize": size,
                "totalCount": total,
                "totalPages": math.ceil(total / size) if size else 0,
                "offset": offset,
                "limit": size,
                "hasMore": offset + len(data) < total,
                "requestId": call.request_id,
                "timestamp": call.now,
            }
            return MockResponse(status, _fill(shape.envelope.layout, values))

        return list_records

    if binding.action in {"get", "update", "replace", "delete"}:
        id_name = _id_param(op.spec_path, -1)
    elif binding.action == "sub":
        id_name = _id_param(op.spec_path, -1)
    else:
        id_name = ""

    if binding.action == "get":

        def get_record(call: Call) -> MockResponse:
            record = store.get(call.principal, kind, str(call.request.path[id_name]))
            return MockResponse(status, _wrap(resource.wrapped, record, call))

        return get_record

    if binding.action == "create":
        order = [name for name in resource.properties if name != resource.id_field]
        derived = {c[0] for c in resource.counts} | {c[0] for c in resource.copies}

        def create_record(call: Call) -> MockResponse:
            body = call.request.body if isinstance(call.request.body, dict) else {}
            given = {**resource.defaults, **body}
            for stamp in (resource.created_field, resource.updated_field):
                if stamp is not None:
                    given[stamp] = call.now
            for name in derived:  # a place in the schema's order; the store fills the value
                given.setdefault(name, None)
            # The schema's field order, as the vendor's example shows it; the id comes from the store.
            fields = {name: given[name] for name in order if name in given}
            record = store.create(call.principal, kind, resource.id_prefix, fields)
            location = f"{call.operation.path.rstrip('/')}/{record[resource.id_field]}"
            return MockResponse(status, _wrap(resource.wrapped, record, call), {"Location": location})

        return create_record

    if binding.action == "update":

        def update_record(call: Call) -> MockResponse:
            changes = dict(call.request.body or {})
            if changes and resource.updated_field is not None:
                changes[resource.updated_field] = call.now
            record = store.update(call.principal, kind, str(call.request.path[id_name]), changes)
            return MockResponse(status, _wrap(resource.wrapped, record, call))

        return update_record

    if binding.action == "replace":
        order = [name for name in resource.properties if name != resource.id_field]
        derived = {c[0] for c in resource.counts} | {c[0] for c in resource.copies}

        def replace_record(call: Call) -> MockResponse:
            record_id = str(call.request.path[id_name])
            current = store.get(call.principal, kind, record_id)
            body = call.request.body if isinstance(call.request.body, dict) else {}
            fields = {**resource.defaults, **body}
            if resource.created_field is not None and resource.created_field in current:
                fields[resource.created_field] = current[resource.created_field]
            if resource.updated_field is not None:
                fields[resource.updated_field] = call.now
            for name in derived:
                fields.setdefault(name, None)
            fields = {k: fields[k] for k in order if k in fields}
            record = store.replace(call.principal, kind, record_id, fields)
            return MockResponse(status, _wrap(resource.wrapped, record, call))

        return replace_record

    if binding.action == "delete":
        response = op.response_for(status)
        answers_record = response is not None and response.schema_pointer is not None

        def delete_record(call: Call) -> MockResponse:
            record_id = str(call.request.path[id_name])
            record = store.get(call.principal, kind, record_id) if answers_record else None
            store.delete(call.principal, kind, record_id)
            return MockResponse(status, _wrap(resource.wrapped, record, call) if answers_record else None)

        return delete_record

    if binding.action == "sub":
        name = binding.sub
        assert name is not None
        noun = kind[:-1] if kind.endswith("s") else kind

        def sub_resource(call: Call) -> MockResponse:
            record_id = str(call.request.path[id_name])
            data = store.hidden(call.principal, kind, record_id, name)
            if data is None:
                raise NotFoundError(f"The {noun} {record_id!r} has no {name} (yet).")
            return MockResponse(status, _copy(data))

        return sub_resource

    return None


def _copy(value: Json) -> Json:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _hook(hook: Hook, ctx: Context) -> Handler:
    def hooked_handler(call: Call) -> MockResponse:
        return hook(call, ctx)

    return hooked_handler


def _no_default(op: Operation) -> Handler:
    def missing(call: Call) -> MockResponse:
        raise ApiError(f"{op.operation_id} has no generic behaviour; its hook must answer without ctx.default.")

    return missing


def bind_handlers(spec: Spec, resources: Resources, store: Store) -> dict[str, Handler]:
    """Bind a handler to every operation of ``spec``, by ``operationId``: its hook if one
    is registered, else the generic behaviour of its binding.

    :raises SpecError: a hook names an operationId the spec does not have.
    """
    unknown = sorted(set(_HOOKS) - {op.operation_id for op in spec.operations})
    if unknown:
        raise SpecError(
            f"{spec.source}: @handles hook(s) for operationId(s) the spec does not have: {', '.join(unknown)}"
        )
    bound: dict[str, Handler] = {}
    for op in spec.operations:
        binding = resources.bindings[op.operation_id]
        default = _generic(binding, store)
        hook = _HOOKS.get(op.operation_id)
        if hook is not None:
            bound[op.operation_id] = _hook(hook, Context(store, binding.resource, default or _no_default(op), spec))
        elif default is not None:
            bound[op.operation_id] = default
        else:  # resources.build_resources lets only hooked operations fit no shape
            raise SpecError(f"{spec.source}: {op.operation_id} has no handler")
    return bound
