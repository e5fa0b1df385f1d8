"""Every operation's handler: its ``@handles(operationId)`` hook if one is registered,
else the generic behaviour of its binding (``crud``).

Owns: the registries of Python hooks (``HookRegistry``; ``@handles`` registers into
``default_registry``), the store's rules from the resources, and
``bind_handlers`` (which takes the answer from the spec for operations that are not
stateful). A hook replaces the generic handler of its operation and may call it
(``ctx.default(call)``) to wrap it.
No Flask, no IO.
May import: ``aggregate``, ``blob``, ``crud``, ``discover``, ``links``, ``pii``, ``usage``, ``webhooks``,
``resources``, ``spec``, ``store``, ``types``, ``errors``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .aggregate import bind_aggregates
from .blob import bind_blobs
from .crud import Answer, Call, Crud, Handler, Misfits, example_answer
from .discover import SCOPE_FIELD, Resource
from .errors import SpecError
from .links import bind_links
from .pii import masking
from .resources import Resources
from .spec import Operation, Spec
from .store import Copy, Count, KindRules, Store
from .types import MockResponse
from .usage import bind_usage
from .webhooks import bind_webhooks

__all__ = [
    "Answer",
    "Call",
    "Context",
    "Handler",
    "Hook",
    "HookRegistry",
    "bind_handlers",
    "default_registry",
    "handles",
    "hooked",
    "store_rules",
    "unregister",
]


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


class HookRegistry:
    """Hooks by operationId, for the mocks built with it.

    ``@handles`` is sugar over ``default_registry`` (as ``responses``' module-level
    functions are over its default mock); ``create_app(hooks=HookRegistry())`` or
    ``MockServer(hooks=...)`` builds a mock that reads its own registry instead, so one
    test's hooks never reach another mock in the process. A mock reads its registry when
    it is built (and on each ``--watch`` reload).

    Example::

        from auralytik_mock import HookRegistry, MockServer

        hooks = HookRegistry()

        @hooks.handles("createEngagement")
        def create_engagement(call, ctx):
            return ctx.default(call)

        with MockServer(hooks=hooks) as mock:
            ...
    """

    def __init__(self, hooks: Mapping[str, Hook] | None = None) -> None:
        self._hooks: dict[str, Hook] = dict(hooks or {})
        self._lock = threading.Lock()

    def handles(self, operation_id: str) -> Callable[[Hook], Hook]:
        """Register the decorated function as the handler of ``operation_id``.

        :raises ValueError: another hook is already registered for ``operation_id``.
        """

        def register(fn: Hook) -> Hook:
            with self._lock:
                if self._hooks.get(operation_id, fn) is not fn:
                    raise ValueError(f"a hook for {operation_id!r} is already registered; call unregister() first")
                self._hooks[operation_id] = fn
            return fn

        return register

    def unregister(self, operation_id: str | None = None) -> None:
        """Forget the hook of ``operation_id`` (every hook when ``None``)."""
        with self._lock:
            if operation_id is None:
                self._hooks.clear()
            else:
                self._hooks.pop(operation_id, None)

    def hooked(self) -> frozenset[str]:
        """The operationIds that have a hook."""
        with self._lock:
            return frozenset(self._hooks)

    def copy(self) -> HookRegistry:
        """A registry holding the same hooks now (what a mock is built from)."""
        with self._lock:
            return HookRegistry(self._hooks)

    def get(self, operation_id: str) -> Hook | None:
        """The hook of ``operation_id``, if any."""
        with self._lock:
            return self._hooks.get(operation_id)


#: Where ``@handles`` registers, and what a mock built without ``hooks=`` reads.
default_registry = HookRegistry()


def handles(operation_id: str) -> Callable[[Hook], Hook]:
    """Register ``fn`` as the handler of ``operation_id`` in ``default_registry`` (for every
    mock built afterwards without a registry of its own).

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
    return default_registry.handles(operation_id)


def unregister(operation_id: str | None = None) -> None:
    """Forget the hook of ``operation_id`` in ``default_registry`` (every hook when ``None``)."""
    default_registry.unregister(operation_id)


def hooked() -> frozenset[str]:
    """The operationIds that have a hook in ``default_registry``."""
    return default_registry.hooked()


def store_rules(resources: Resources) -> dict[str, KindRules]:
    """The relations the store keeps true for each kind, from the resources' ``x-mock-*``."""
    rules = {kind: _rules(r) for kind, r in resources.by_kind.items()}
    for kind in resources.singletons:
        rules[kind] = KindRules(id_field=SCOPE_FIELD, hidden=frozenset({SCOPE_FIELD}))
    return rules


def _rules(r: Resource) -> KindRules:
    hidden = frozenset(r.subresources) - set(r.properties)
    return KindRules(
        id_field=r.id_field,
        integer_ids=r.integer_ids,
        id_format=r.id_format,
        refs=dict(r.refs),
        counts=tuple(Count(f, of, by) for f, of, by in r.counts),
        copies=tuple(Copy(f, via, of, source) for f, via, of, source in r.copies),
        hidden=hidden | {SCOPE_FIELD} if r.scoped else hidden,
        scope_field=SCOPE_FIELD if r.scoped else "",
        scope_from=r.scope_from,
    )


def _hook(hook: Hook, ctx: Context) -> Handler:
    def hooked_handler(call: Call) -> MockResponse:
        return hook(call, ctx)

    return hooked_handler


def bind_handlers(
    spec: Spec,
    resources: Resources,
    store: Store,
    answer: Answer | None = None,
    hooks: HookRegistry | None = None,
    misfits: Misfits | None = None,
    computed_elsewhere: Mapping[str, Handler] | None = None,
) -> dict[str, Handler]:
    """Bind a handler to every operation of ``spec``, by ``operationId``: its hook if one
    is registered, else the generic behaviour of its binding.

    :param hooks: the registry to read (default: ``default_registry``).
    :param answer: answers the operations bound to the spec (kind ``spec``, and a
        singleton not written yet); default: the documented example (``crud.example_answer``).
    :param misfits: finds a new record's fields its schema rejects (``SchemaSet.bad_fields``):
        a body of another shape than the record; those fields are filled from the schema.
    :param computed_elsewhere: handlers made elsewhere (``x-mock-job``'s, ``jobs.Jobs``), by operationId.
    :raises SpecError: a hook names an operationId the spec does not have.
    """
    registry = default_registry if hooks is None else hooks
    unknown = sorted(registry.hooked() - {op.operation_id for op in spec.operations})
    if unknown:
        raise SpecError(
            f"{spec.source}: @handles hook(s) for operationId(s) the spec does not have: {', '.join(unknown)}"
        )
    crud = Crud(spec, store, answer or example_answer(spec), misfits)
    # x-mock-aggregate, x-mock-signed-url, x-mock-usage: answers computed from the state
    computed = {**bind_aggregates(spec, resources, store), **bind_links(spec, resources, store)}
    computed |= bind_usage(spec, store)
    for op in spec.operations:
        if op.operation_id in computed:
            resources.engine_bound(op.operation_id, "computed", _computing(spec, op))
    # x-mock-webhooks: the client's registrations, kept by the engine (not a resource)
    webhooks = bind_webhooks(spec)
    for op_id in webhooks:
        resources.engine_bound(op_id, "stateful", _WEBHOOKS)
    computed |= webhooks
    # x-mock-blob: files kept in the mock's blob store, beside the record they belong to
    blobs = bind_blobs(spec, resources, store, crud)
    for op_id in blobs:
        resources.engine_bound(op_id, "stateful", _BLOBS)
    computed |= blobs
    # x-mock-job: jobs run on the mock's clock (bound by the pipeline, jobs.Jobs)
    for op_id in computed_elsewhere or {}:
        resources.engine_bound(op_id, "stateful", _JOBS)
    computed |= dict(computed_elsewhere or {})
    bound: dict[str, Handler] = {}
    for op in spec.operations:
        binding = resources.bindings[op.operation_id]
        default = computed.get(op.operation_id) or crud.handler(binding)
        hook = registry.get(op.operation_id)
        if hook is not None:
            bound[op.operation_id] = _hook(hook, Context(store, binding.resource, default, spec))
        else:
            bound[op.operation_id] = default
        bound[op.operation_id] = masking(spec, op, bound[op.operation_id])  # x-mock-mask-pii
    return bound


#: The extensions whose operations are computed from the state, as the table names them.
_COMPUTING = {
    "x-mock-aggregate": "x-mock-aggregate: computed from the records",
    "x-mock-signed-url": "x-mock-signed-url: a signed link the mock serves",
    "x-mock-usage": "x-mock-usage: counted from the calls answered",
}


#: Why an ``x-mock-webhooks`` operation holds state, as the table says.
_WEBHOOKS = "x-mock-webhooks: the client's webhook registrations, kept by the mock"
_JOBS = "x-mock-job: a job the mock runs on its clock (its steps, its result)"
_BLOBS = "x-mock-blob: a file in the mock's blob store (Azure-like), kept with its record"


def _computing(spec: Spec, op: Operation) -> str:
    """Why ``op`` is computed: the extension that binds it."""
    item = (spec.document.get("paths") or {}).get(op.spec_path)
    raw = item.get(op.method.lower()) if isinstance(item, dict) else None
    keys = raw if isinstance(raw, dict) else {}
    default = "x-mock-signed-url: the file a signed link points to"  # the link's target has none
    return next((why for name, why in _COMPUTING.items() if name in keys), default)
