"""The generic behaviour of each binding: CRUD over the store, and answers from the spec.

Owns: turning a ``Binding`` into a handler: get, create (natural keys, ids in their format
or made to the id's pattern, wrappers, the documented record filled), update (PATCH), replace
(PUT, the id in the path or the body), delete (the documented answer), a record not held
answered from the spec where the operation documents no refusal, and the default answer from
the spec (its example, else a small valid value). Lists are ``listing``'s; actions,
singletons and sub-resources are ``actions``'.
No IO.
May import: ``actions``, ``listing``, ``records``, ``resources``, ``bind``, ``discover``,
``shapes``, ``fill``, ``spec``, ``store``, ``types``, ``errors``, ``validation``,
``scheduler``, ``events``, ``webhooks`` (the last four for types only), ``generate`` (new ids
made to the id's pattern).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..generate import GenerateError, generate_value
from .actions import action_handler, singleton_handler, sub_handler
from .bind import Binding
from .discover import SCOPE_FIELD, Resource
from .errors import ConflictError, NotFoundError
from .fill import conform, constant
from .listing import list_handler
from .records import copied, filled, named, scope_of, stamp, unwrapped, wrapped
from .spec import Operation, Spec
from .store import Store
from .types import Json, MockResponse, Principal

if TYPE_CHECKING:
    from .events import Events
    from .scheduler import Scheduler
    from .validation import ValidRequest
    from .webhooks import WebhookRegistry

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
Misfits = Callable[[str, Json, Collection[str]], set[str]]


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
            return MockResponse(status, copied(response.example))
        if response.schema_pointer is not None:
            return MockResponse(status, constant(spec, spec.lookup(response.schema_pointer), response.schema_pointer))
        return MockResponse(status, None)

    return answer


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
                    return named(response, resource, call.request.path[resource.id_param])
                return response

        return answered

    # -- helpers ----------------------------------------------------------------------

    def shaped(self, binding: Binding, record: Json, call: Call) -> Json:
        """The answer to a write: the record (wrapped as the spec wraps it), or the
        documented shape made from it."""
        resource = binding.resource
        if binding.answers_record:
            return wrapped(resource.wrapped if resource is not None else None, record, call)
        if binding.answer is None:
            return None
        node, pointer = binding.answer
        response = binding.operation.response_for(binding.operation.success_status)
        fields = record if isinstance(record, dict) else {}
        example = response.example if response is not None and response.has_example else None
        if isinstance(example, dict):
            made: Json = {**copied(example), **{k: v for k, v in fields.items() if k in example}}
        else:
            made = conform(self.spec, node, pointer, fields)
        if isinstance(made, dict) and self.misfits is not None:
            # A record's field of the same name but another meaning (OpenAI's delete answer:
            # ``object: "assistant.deleted"``, the record's ``object: "assistant"``) keeps the
            # documented value.
            taken = [k for k in made if k in fields and made[k] is fields[k]]
            bad = self.misfits(pointer, made, taken) if taken else set()
            if bad:
                documented = copied(example) if isinstance(example, dict) else conform(self.spec, node, pointer, {})
                for name in bad:  # the documented value, or none where the answer need not hold it
                    if isinstance(documented, dict) and name in documented:
                        made[name] = documented[name]
                    else:
                        made.pop(name, None)
        return made

    def check_parent(self, resource: Resource, call: Call) -> None:
        if resource.parent is not None:
            kind, param = resource.parent
            self.store.get(call.principal, kind, str(call.request.path.get(param, "")))

    def found(self, resource: Resource, call: Call, record_id: str) -> None:
        """404 unless the record exists and belongs to the path's parent."""
        if resource.scope:
            self.check_parent(resource, call)
            if self.store.hidden(call.principal, resource.kind, record_id, SCOPE_FIELD) != scope_of(resource, call):
                raise NotFoundError(f"No {resource.noun()} with id {record_id!r} under this {resource.scope[-1]}.")

    def new_fields(self, resource: Resource, body: Mapping[str, Json], call: Call) -> dict[str, Json]:
        """A new record's fields in the schema's order: the body, defaults, stamps, the
        parent's path values, and the schema's required fields the body left out."""
        given: dict[str, Json] = {**resource.defaults, **body}
        for field in (resource.created_field, resource.updated_field):
            if field is not None:
                given[field] = stamp(resource, field, call.now)
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
                misfits = self.misfits(record.pointer, given, [name for name in body if name in given])
                for name in misfits:
                    node = record.properties.get(name)
                    given[name] = constant(self.spec, node, f"{record.pointer}/properties/{name}")
                for name in self.misfits(record.pointer, given, misfits) if misfits else ():
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
        return list_handler(self.store, binding, self.check_parent)

    def h_get(self, binding: Binding) -> Handler:
        resource, status = binding.resource, binding.operation.success_status
        assert resource is not None
        store, kind, param = self.store, resource.kind, resource.id_param

        def get_record(call: Call) -> MockResponse:
            record_id = str(call.request.path[param])
            if resource.scope:
                self.found(resource, call, record_id)
            record = store.get(call.principal, kind, record_id)
            return MockResponse(status, wrapped(resource.wrapped, record, call))

        return get_record

    def h_create(self, binding: Binding) -> Handler:
        resource, status = binding.resource, binding.operation.success_status
        assert resource is not None
        store, kind = self.store, resource.kind

        def create_record(call: Call) -> MockResponse:
            if resource.scope:
                self.check_parent(resource, call)
            body = unwrapped(call.request.body, resource)
            fields = self.new_fields(resource, body, call)
            if resource.scope:
                fields[SCOPE_FIELD] = scope_of(resource, call)
            given = body.get(resource.id_field)
            if given is None and resource.id_pattern:
                record = self.create_matching(resource, call, fields)
            else:
                record = store.create(call.principal, kind, resource.id_prefix, fields, record_id=given)
            base = filled(call.operation.path, call.request.path).rstrip("/")
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

    def target(self, binding: Binding, call: Call) -> tuple[Resource, dict[str, Json], str]:
        """A write's resource, its body as a record and the id of the record it names."""
        resource = binding.resource
        assert resource is not None
        body = unwrapped(call.request.body, resource)
        return resource, body, self.record_id(binding, call, body)

    def h_update(self, binding: Binding) -> Handler:
        store, status = self.store, binding.operation.success_status

        def update_record(call: Call) -> MockResponse:
            resource, body, record_id = self.target(binding, call)
            changes = {k: v for k, v in body.items() if k != resource.id_field and k in resource.properties}
            if changes and resource.updated_field is not None:
                changes[resource.updated_field] = stamp(resource, resource.updated_field, call.now)
            record = store.update(call.principal, resource.kind, record_id, changes)
            return MockResponse(status, self.shaped(binding, record, call))

        return update_record

    def h_replace(self, binding: Binding) -> Handler:
        store, status = self.store, binding.operation.success_status

        def replace_record(call: Call) -> MockResponse:
            resource, body, record_id = self.target(binding, call)
            current = store.get(call.principal, resource.kind, record_id)
            body = {k: v for k, v in body.items() if k != resource.id_field}
            fields = self.new_fields(resource, body, call)
            if resource.created_field is not None and resource.created_field in current:
                fields[resource.created_field] = current[resource.created_field]
            record = store.replace(call.principal, resource.kind, record_id, fields)
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
            if not has_body:
                return MockResponse(status, None)
            answer = self.shaped(binding, record, call)
            if isinstance(answer, dict) and isinstance(answer.get("deleted"), bool):
                answer["deleted"] = True  # what a delete answer's ``deleted`` says (OpenAI's DeleteModelResponse)
            return MockResponse(status, answer)

        return delete_record

    def h_sub(self, binding: Binding) -> Handler:
        return sub_handler(self, binding)

    def h_action(self, binding: Binding) -> Handler:
        return action_handler(self, binding)

    def h_singleton(self, binding: Binding) -> Handler:
        return singleton_handler(self, binding)
