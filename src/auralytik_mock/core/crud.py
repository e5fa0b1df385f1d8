"""The generic behaviour of each binding: CRUD over the store, actions, singletons,
and answers from the spec.

Owns: turning a ``Binding`` into a handler: list (page/pageSize, offset/limit, cursors,
filters, nested scope, the spec's envelope or a bare array, ``Link`` headers), get,
create (natural keys, ids in their format, wrappers, the documented record filled),
update (PATCH), replace (PUT, the id in the path or the body), delete (the documented
answer), a sub-resource's data, ``x-mock-action``, ``x-mock-singleton``, and the
default answer from the spec (its example, else a small valid value).
No IO.
May import: ``resources``, ``bind``, ``discover``, ``shapes``, ``fill``, ``spec``, ``store``,
``types``, ``errors``, ``validation``, ``scheduler``, ``events``, ``webhooks`` (the last four for types
only), ``generate`` (new ids made to the id's pattern).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from ..generate import GenerateError, generate_value
from .bind import Binding
from .discover import SCOPE_FIELD, Resource
from .errors import ConflictError, NotFoundError
from .fill import conform, constant, fill_layout
from .shapes import Envelope
from .spec import Operation, Spec
from .store import Condition, Store
from .types import Json, MockResponse, Principal

if TYPE_CHECKING:
    from .events import Events
    from .scheduler import Scheduler
    from .validation import ValidRequest
    from .webhooks import WebhookRegistry

_SINGLE = "me"  # the id of a client's singleton record
_ID_ATTEMPTS = 5  # ids made to a pattern before a counted one


@dataclass(frozen=True)
class Call:
    """What a handler gets: the operation, the caller, the valid request and the time.

    :param now: RFC 3339 UTC, to the second (the pinned clock when one is set).
    :param request_id: the id the answer will carry (``X-Request-Id``).
    :param scheduler: the engine's ``Scheduler`` (work due later on the caller's clock:
        ``call.scheduler.after(call.principal.namespace, 30, kind, payload)``).
    :param events: the engine's ``Events`` (``call.events.emit(namespace, client_id, event, data)``).
    :param webhooks: the engine's ``WebhookRegistry`` (``x-mock-webhooks`` operations).
    :param prefer: the ``Prefer`` header, as sent.
    """

    operation: Operation
    principal: Principal
    request: ValidRequest
    now: str
    request_id: str = ""
    scheduler: Scheduler | None = None
    events: Events | None = None
    webhooks: WebhookRegistry | None = None
    #: The request's ``Prefer`` header (``example=NAME`` picks the spec's named example).
    prefer: str | None = None


Handler = Callable[[Call], MockResponse]
#: Answers an operation from the spec (``bind_handlers(answer=...)``).
Answer = Callable[[Call], MockResponse]
#: The top-level fields of a record the schema at a pointer rejects (``SchemaSet.bad_fields``).
Misfits = Callable[[str, Json], set[str]]


def _copy(value: Json) -> Json:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def example_answer(spec: Spec) -> Answer:
    """The default answer from the spec: the success response's example, else a small
    value valid against its schema, else no body."""

    def answer(call: Call) -> MockResponse:
        op = call.operation
        status = op.success_status
        response = op.response_for(status)
        if response is None:
            return MockResponse(status, None)
        if response.has_example:
            return MockResponse(status, _copy(response.example))
        if response.schema_pointer is not None:
            return MockResponse(status, constant(spec, spec.lookup(response.schema_pointer), response.schema_pointer))
        return MockResponse(status, None)

    return answer


def _wrap(envelope: Envelope | None, record: Json, call: Call) -> Json:
    if envelope is None or envelope.bare:
        return record
    return fill_layout(envelope.layout, {"items": record, "requestId": call.request_id, "timestamp": call.now})


def _stamp(resource: Resource, name: str, now: str) -> Json:
    if name in resource.seconds:
        return int(datetime.fromisoformat(now.replace("Z", "+00:00")).timestamp())
    return now


def _unwrap(body: Json, resource: Resource) -> dict[str, Json]:
    """The request body as a record: a single-key wrapper (``{"pet": {...}}``) opened."""
    if not isinstance(body, dict):
        return {}
    if len(body) == 1:
        ((key, inner),) = body.items()
        if isinstance(inner, dict) and key not in resource.properties:
            return dict(inner)
    return dict(body)


def _named(response: MockResponse, resource: Resource, record_id: Json) -> MockResponse:
    """``response`` (an answer from the spec) with its record's id set to ``record_id``."""
    body = response.body
    if isinstance(body, dict) and resource.id_field not in body and len(body) == 1:
        (inner,) = body.values()
        body = inner
    if isinstance(body, dict) and isinstance(body.get(resource.id_field), type(record_id)):
        body[resource.id_field] = record_id
    return response


def _scope(resource: Resource, call: Call) -> str:
    return "/".join(str(call.request.path.get(p, "")) for p in resource.scope)


def _path(template: str, values: Mapping[str, Json]) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", str(value))
    return template


class Crud:
    """Builds the handler of each binding over one store."""

    def __init__(self, spec: Spec, store: Store, answer: Answer, misfits: Misfits | None = None) -> None:
        self.spec = spec
        self.store = store
        self.answer = answer
        self.misfits = misfits
        self._made: dict[str, int] = {}  # ids made to a pattern, by kind
        self._required: dict[int, tuple[str, ...]] = {}

    def handler(self, binding: Binding) -> Handler:
        if binding.kind == "spec" or binding.resource is None and binding.act is None:
            return self.answer
        method = getattr(self, f"h_{binding.action}", None)
        if method is None:
            return self.answer
        found: Handler = method(binding)
        return self.never_missing(binding, found)

    def never_missing(self, binding: Binding, handler: Handler) -> Handler:
        """``handler``, answering from the spec when the record it names is not held and
        the operation documents no refusal for that: no 404 (nor ``4XX``/``default``), and
        for a write no 400/422 either (``error_render`` answers those). The spec says such
        a call never fails; Prism answers it from the spec too."""
        op, resource = binding.operation, binding.resource
        if op.response_for(404) is not None:
            return handler
        if op.method != "GET" and any(str(status) in op.responses for status in (400, 422)):
            return handler
        answer = self.answer

        def answered(call: Call) -> MockResponse:
            try:
                return handler(call)
            except NotFoundError:
                response = answer(call)
                if resource is not None and resource.id_param in call.request.path:
                    return _named(response, resource, call.request.path[resource.id_param])
                return response

        return answered

    # -- helpers ----------------------------------------------------------------------

    def shaped(self, binding: Binding, record: Json, call: Call) -> Json:
        """The answer to a write: the record (wrapped as the spec wraps it), or the
        documented shape made from it."""
        resource = binding.resource
        if binding.answers_record:
            return _wrap(resource.wrapped if resource is not None else None, record, call)
        if binding.answer is None:
            return None
        node, pointer = binding.answer
        response = binding.operation.response_for(binding.operation.success_status)
        if response is not None and response.has_example and isinstance(response.example, dict):
            shared = {k: v for k, v in record.items() if k in response.example} if isinstance(record, dict) else {}
            return {**_copy(response.example), **shared}
        return conform(self.spec, node, pointer, record if isinstance(record, dict) else {})

    def check_parent(self, resource: Resource, call: Call) -> None:
        if resource.parent is not None:
            kind, param = resource.parent
            self.store.get(call.principal, kind, str(call.request.path.get(param, "")))

    def found(self, resource: Resource, call: Call, record_id: str) -> None:
        """404 unless the record exists and belongs to the path's parent."""
        if resource.scope:
            self.check_parent(resource, call)
            if self.store.hidden(call.principal, resource.kind, record_id, SCOPE_FIELD) != _scope(resource, call):
                raise NotFoundError(f"No {resource.noun()} with id {record_id!r} under this {resource.scope[-1]}.")

    def new_fields(self, resource: Resource, body: Mapping[str, Json], call: Call) -> dict[str, Json]:
        """A new record's fields in the schema's order: the body, defaults, stamps, the
        parent's path values, and the schema's required fields the body left out."""
        given: dict[str, Json] = {**resource.defaults, **body}
        for stamp in (resource.created_field, resource.updated_field):
            if stamp is not None:
                given[stamp] = _stamp(resource, stamp, call.now)
        for name in resource.scope:
            if name in resource.properties and name not in given:
                given[name] = call.request.path.get(name)
        derived = {c[0] for c in resource.counts} | {c[0] for c in resource.copies}
        for name in derived:  # a place in the schema's order; the store fills the value
            given.setdefault(name, None)
        record = resource.record
        if record is not None:
            for name in self.required(resource):
                if name not in given:
                    node = record.properties.get(name)
                    given[name] = constant(self.spec, node, f"{record.pointer}/properties/{name}")
            if self.misfits is not None and body:
                # A body of another shape than the record (OpenAI's CreateEvalRequest and
                # Eval share field names, not schemas): the record keeps what it documents.
                misfits = self.misfits(record.pointer, given) & set(body)
                for name in misfits:
                    node = record.properties.get(name)
                    given[name] = constant(self.spec, node, f"{record.pointer}/properties/{name}")
                for name in self.misfits(record.pointer, given) & misfits if misfits else ():
                    try:  # the schema's example may itself miss it (OpenAI's Eval): generated
                        given[name] = generate_value(self.spec.inline(record.properties.get(name)), key=[name])
                    except (GenerateError, RecursionError, ValueError, TypeError, KeyError):
                        pass
        return {name: given[name] for name in resource.properties if name in given and name != resource.id_field}

    def required(self, resource: Resource) -> tuple[str, ...]:
        """The record's required fields but its id (read once per resource)."""
        found = self._required.get(id(resource))
        if found is None:
            names = resource.record.required if resource.record is not None else frozenset()
            found = self._required[id(resource)] = tuple(sorted(names - {resource.id_field}))
        return found

    # -- CRUD -------------------------------------------------------------------------

    def h_list(self, binding: Binding) -> Handler:
        resource, shape, status = binding.resource, binding.shape, binding.operation.success_status
        assert resource is not None and shape is not None
        store, kind = self.store, resource.kind

        documents_404 = binding.operation.response_for(404) is not None

        def list_records(call: Call) -> MockResponse:
            query = call.request.query
            if resource.scope and documents_404:
                self.check_parent(resource, call)  # else: a parent not held has no records
            if shape.page_param is not None or shape.offset_param is None:
                size = int(query.get(shape.size_param or "", shape.default_size) or shape.default_size)
                if shape.size_param is None and shape.limit_param is not None:
                    size = int(query.get(shape.limit_param, shape.default_size) or shape.default_size)
                page = int(query.get(shape.page_param or "", 1) or 1)
                offset = (page - 1) * size
            else:
                size = int(query.get(shape.limit_param or "", shape.default_size) or shape.default_size)
                offset = int(query.get(shape.offset_param, 0) or 0)
                page = offset // size + 1 if size else 1
            where = [Condition(f.field, f.op, query[f.param]) for f in shape.filters if f.param in query]
            if resource.scope:
                where.append(Condition(SCOPE_FIELD, "eq", _scope(resource, call)))
            after = query.get(shape.after_param) if shape.after_param else None
            before = query.get(shape.before_param) if shape.before_param else None
            data, total, start = store.page(
                call.principal,
                kind,
                offset,
                size,
                where,
                after=None if after is None else str(after),
                before=None if before is None else str(before),
            )
            has_more = start + len(data) < total
            first = data[0].get(resource.id_field) if data else None
            last = data[-1].get(resource.id_field) if data else None
            values: dict[str, Json] = {
                "items": data,
                "page": page,
                "pageSize": size,
                "totalCount": total,
                "totalPages": math.ceil(total / size) if size else 0,
                "offset": start,
                "limit": size,
                "hasMore": has_more,
                "firstId": first,
                "lastId": last,
                "nextCursor": last if has_more else None,
                "prevCursor": first if start > 0 else None,
                "requestId": call.request_id,
                "timestamp": call.now,
            }
            body = data if shape.envelope.bare else fill_layout(shape.envelope.layout, values)
            headers: dict[str, str] = {}
            if shape.link:
                links = self.links(call, shape, page, size, start, total, last, has_more)
                if links:
                    headers["Link"] = links
            return MockResponse(status, body, headers)

        return list_records

    @staticmethod
    def links(call: Call, shape: object, page: int, size: int, start: int, total: int, last: Json, more: bool) -> str:
        from .bind import ListShape

        assert isinstance(shape, ListShape)
        base = _path(call.operation.path, call.request.path)
        query = {k: str(v) for k, v in call.request.query.items()}
        out = []

        def link(rel: str, changes: Mapping[str, str]) -> None:
            out.append(f'<{base}?{urlencode({**query, **changes})}>; rel="{rel}"')

        if shape.after_param is not None:
            if more and last is not None:
                link("next", {shape.after_param: str(last)})
        elif shape.page_param is not None:
            if more:
                link("next", {shape.page_param: str(page + 1)})
            if page > 1:
                link("prev", {shape.page_param: str(page - 1)})
        elif shape.offset_param is not None:
            if more:
                link("next", {shape.offset_param: str(start + size)})
            if start > 0:
                link("prev", {shape.offset_param: str(max(start - size, 0))})
        return ", ".join(out)

    def h_get(self, binding: Binding) -> Handler:
        resource, status = binding.resource, binding.operation.success_status
        assert resource is not None
        store, kind, param = self.store, resource.kind, resource.id_param

        def get_record(call: Call) -> MockResponse:
            record_id = str(call.request.path[param])
            if resource.scope:
                self.found(resource, call, record_id)
            record = store.get(call.principal, kind, record_id)
            return MockResponse(status, _wrap(resource.wrapped, record, call))

        return get_record

    def h_create(self, binding: Binding) -> Handler:
        resource, status = binding.resource, binding.operation.success_status
        assert resource is not None
        store, kind = self.store, resource.kind

        def create_record(call: Call) -> MockResponse:
            if resource.scope:
                self.check_parent(resource, call)
            body = _unwrap(call.request.body, resource)
            fields = self.new_fields(resource, body, call)
            if resource.scope:
                fields[SCOPE_FIELD] = _scope(resource, call)
            given = body.get(resource.id_field)
            if given is None and resource.id_pattern:
                record = self.create_matching(resource, call, fields)
            else:
                record = store.create(call.principal, kind, resource.id_prefix, fields, record_id=given)
            base = _path(call.operation.path, call.request.path).rstrip("/")
            location = f"{base}/{record[resource.id_field]}"
            return MockResponse(status, self.shaped(binding, record, call), {"Location": location})

        return create_record

    def create_matching(self, resource: Resource, call: Call, fields: dict[str, Json]) -> dict[str, Json]:
        """Create a record whose new id matches the id's ``pattern`` (``ord_`` + 26 letters and
        digits), made from the client's count (the same ids every run)."""
        schema = {"type": "string", "pattern": resource.id_pattern}
        for _ in range(_ID_ATTEMPTS):
            number = self._made.get(resource.kind, 0)
            self._made[resource.kind] = number + 1
            try:
                made = generate_value(schema, key=[call.principal.client_id, resource.kind, number], name="id")
            except GenerateError:
                break  # a pattern the generator cannot build: a counted id
            try:
                return self.store.create(call.principal, resource.kind, "", fields, record_id=made)
            except ConflictError:
                continue
        return self.store.create(call.principal, resource.kind, resource.id_prefix, fields)

    def record_id(self, binding: Binding, call: Call, body: Mapping[str, Json]) -> str:
        resource = binding.resource
        assert resource is not None
        if binding.id_in_body:
            value = body.get(resource.id_field)
            if value is None:
                raise NotFoundError(f"The body names no {resource.noun()} ({resource.id_field}).")
            return str(value)
        record_id = str(call.request.path[resource.id_param])
        if resource.scope:
            self.found(resource, call, record_id)
        return record_id

    def h_update(self, binding: Binding) -> Handler:
        resource, status = binding.resource, binding.operation.success_status
        assert resource is not None
        store, kind = self.store, resource.kind

        def update_record(call: Call) -> MockResponse:
            body = _unwrap(call.request.body, resource)
            record_id = self.record_id(binding, call, body)
            changes = {k: v for k, v in body.items() if k != resource.id_field and k in resource.properties}
            if changes and resource.updated_field is not None:
                changes[resource.updated_field] = _stamp(resource, resource.updated_field, call.now)
            record = store.update(call.principal, kind, record_id, changes)
            return MockResponse(status, self.shaped(binding, record, call))

        return update_record

    def h_replace(self, binding: Binding) -> Handler:
        resource, status = binding.resource, binding.operation.success_status
        assert resource is not None
        store, kind = self.store, resource.kind

        def replace_record(call: Call) -> MockResponse:
            body = _unwrap(call.request.body, resource)
            record_id = self.record_id(binding, call, body)
            current = store.get(call.principal, kind, record_id)
            body = {k: v for k, v in body.items() if k != resource.id_field}
            fields = self.new_fields(resource, body, call)
            if resource.created_field is not None and resource.created_field in current:
                fields[resource.created_field] = current[resource.created_field]
            record = store.replace(call.principal, kind, record_id, fields)
            return MockResponse(status, self.shaped(binding, record, call))

        return replace_record

    def h_delete(self, binding: Binding) -> Handler:
        resource, op = binding.resource, binding.operation
        assert resource is not None
        store, kind, status = self.store, resource.kind, op.success_status
        response = op.response_for(status)
        has_body = response is not None and response.schema_pointer is not None

        def delete_record(call: Call) -> MockResponse:
            record_id = self.record_id(binding, call, {})
            record = store.get(call.principal, kind, record_id) if has_body else None
            store.delete(call.principal, kind, record_id)
            return MockResponse(status, self.shaped(binding, record, call) if has_body else None)

        return delete_record

    def h_sub(self, binding: Binding) -> Handler:
        resource, op = binding.resource, binding.operation
        name = binding.sub
        assert resource is not None and name is not None
        store, kind, status, param = self.store, resource.kind, op.success_status, resource.id_param
        documents_404 = "404" in op.responses
        answer = self.answer

        def sub_resource(call: Call) -> MockResponse:
            record_id = str(call.request.path[param])
            data = store.hidden(call.principal, kind, record_id, name)
            if data is None:
                if not documents_404:
                    return answer(call)
                raise NotFoundError(f"The {resource.noun()} {record_id!r} has no {name} (yet).")
            return MockResponse(status, _copy(data))

        return sub_resource

    # -- extensions -------------------------------------------------------------------

    def h_action(self, binding: Binding) -> Handler:
        owner, act, status = binding.resource, binding.act, binding.operation.success_status
        assert act is not None

        def act_on(call: Call) -> MockResponse:
            record: Json = None
            if owner is not None:
                record_id = str(call.request.path[owner.id_param])
                if owner.scope:
                    self.found(owner, call, record_id)
                record = self.store.get(call.principal, owner.kind, record_id)
                if act.set:
                    changes = {k: (call.now if v == "$now" else _copy(v)) for k, v in act.set.items()}
                    record = self.store.update(call.principal, owner.kind, record_id, changes)
            if act.create is not None:
                target = act.create
                body = _unwrap(call.request.body, target)
                if owner is not None:
                    for name in (owner.id_param, f"{owner.noun()}Id", f"{owner.noun()}_id"):
                        if name in target.properties and name not in body:
                            body[name] = call.request.path.get(owner.id_param)
                fields = self.new_fields(target, body, call)
                record = self.store.create(call.principal, target.kind, target.id_prefix, fields)
            return MockResponse(status, self.shaped(binding, record, call))

        return act_on

    def h_singleton(self, binding: Binding) -> Handler:
        resource, op = binding.resource, binding.operation
        assert resource is not None
        store, kind, status = self.store, resource.kind, op.success_status

        def current(principal: Principal) -> dict[str, Json] | None:
            try:
                return store.get(principal, kind, _SINGLE)
            except NotFoundError:
                return None

        def singleton(call: Call) -> MockResponse:
            record = current(call.principal)
            if op.method == "DELETE":
                if record is not None:
                    store.delete(call.principal, kind, _SINGLE)
                return MockResponse(status, None if binding.answer is None else self.shaped(binding, record, call))
            if op.method == "GET":
                if record is None:
                    return self.answer(call)
                return MockResponse(status, self.shaped(binding, record, call))
            body = _unwrap(call.request.body, resource)
            if record is None or op.method == "PUT":
                fields = self.new_fields(resource, body, call)
                if record is None:
                    record = store.create(call.principal, kind, "", fields, record_id=_SINGLE)
                else:
                    record = store.replace(call.principal, kind, _SINGLE, fields)
            else:
                record = store.update(call.principal, kind, _SINGLE, body)
            return MockResponse(status, self.shaped(binding, record, call))

        return singleton
