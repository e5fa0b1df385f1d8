"""Operations bound to state by an extension, and a record's kept sub-resource data.

Owns: the handlers of ``x-mock-action`` (set fields of the path's record, or create a record
of another resource), ``x-mock-singleton`` (one record per client: GET answers the spec's
example until it is written, PUT replaces, PATCH merges, DELETE forgets) and a
sub-resource's data kept with its record (fixtures; else the answer from the spec).
No IO.
May import: ``bind``, ``errors``, ``records``, ``types``; ``crud`` for types only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .bind import Binding
from .errors import NotFoundError
from .records import copied, unwrapped
from .types import Json, MockResponse, Principal

if TYPE_CHECKING:
    from .crud import Call, Crud, Handler

#: The id of a client's singleton record.
SINGLE = "me"


def sub_handler(crud: Crud, binding: Binding) -> Handler:
    """The data kept with a record under ``binding.sub`` (a 404, or the answer from the spec
    when the operation documents no 404, when there is none)."""
    resource, op = binding.resource, binding.operation
    name = binding.sub
    assert resource is not None and name is not None
    store, kind, status, param = crud.store, resource.kind, op.success_status, resource.id_param
    documents_404 = "404" in op.responses
    answer = crud.answer

    def sub_resource(call: Call) -> MockResponse:
        record_id = str(call.request.path[param])
        data = store.hidden(call.principal, kind, record_id, name)
        if data is None:
            if not documents_404:
                return answer(call)
            raise NotFoundError(f"The {resource.noun()} {record_id!r} has no {name} (yet).")
        return MockResponse(status, copied(data))

    return sub_resource


def action_handler(crud: Crud, binding: Binding) -> Handler:
    """``x-mock-action``: set fields of the path's record (``$now``: the time), or create a
    record of the resource it names."""
    owner, act, status = binding.resource, binding.act, binding.operation.success_status
    assert act is not None
    store = crud.store

    def act_on(call: Call) -> MockResponse:
        record: Json = None
        if owner is not None:
            record_id = str(call.request.path[owner.id_param])
            if owner.scope:
                crud.found(owner, call, record_id)
            record = store.get(call.principal, owner.kind, record_id)
            if act.set:
                changes = {k: (call.now if v == "$now" else copied(v)) for k, v in act.set.items()}
                record = store.update(call.principal, owner.kind, record_id, changes)
        if act.create is not None:
            target = act.create
            body = unwrapped(call.request.body, target)
            if owner is not None:
                for name in (owner.id_param, f"{owner.noun()}Id", f"{owner.noun()}_id"):
                    if name in target.properties and name not in body:
                        body[name] = call.request.path.get(owner.id_param)
            fields = crud.new_fields(target, body, call)
            record = store.create(call.principal, target.kind, target.id_prefix, fields)
        return MockResponse(status, crud.shaped(binding, record, call))

    return act_on


def singleton_handler(crud: Crud, binding: Binding) -> Handler:
    """``x-mock-singleton``: one record per client."""
    resource, op = binding.resource, binding.operation
    assert resource is not None
    store, kind, status = crud.store, resource.kind, op.success_status

    def current(principal: Principal) -> dict[str, Json] | None:
        try:
            return store.get(principal, kind, SINGLE)
        except NotFoundError:
            return None

    def singleton(call: Call) -> MockResponse:
        record = current(call.principal)
        if op.method == "DELETE":
            if record is not None:
                store.delete(call.principal, kind, SINGLE)
            return MockResponse(status, None if binding.answer is None else crud.shaped(binding, record, call))
        if op.method == "GET":
            if record is None:
                return crud.answer(call)
            return MockResponse(status, crud.shaped(binding, record, call))
        body = unwrapped(call.request.body, resource)
        if record is None or op.method == "PUT":
            fields = crud.new_fields(resource, body, call)
            if record is None:
                record = store.create(call.principal, kind, "", fields, record_id=SINGLE)
            else:
                record = store.replace(call.principal, kind, SINGLE, fields)
        else:
            record = store.update(call.principal, kind, SINGLE, body)
        return MockResponse(status, crud.shaped(binding, record, call))

    return singleton
