"""The resources the mock serves, and every operation's binding, from the spec alone.

Owns: putting ``discover`` (which paths form a resource) and ``bind`` (what each
operation does) together into ``Resources``, and the table of every operation, stateful
or answered from the spec, and why. A valid document is never refused: what forms no
resource answers from the spec. Only a misused ``x-mock-*`` extension stops start-up.
No IO.
May import: ``spec``, ``discover``, ``bind``, ``shapes``, ``extensions``, ``errors``, ``types``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from .bind import ActionSpec, Binder, Binding, Filter, ListShape
from .discover import Discovery, Resource
from .extensions import EXTENSIONS, check_extensions
from .shapes import Envelope
from .spec import Spec

__all__ = [
    "EXTENSIONS",
    "ActionSpec",
    "Binding",
    "Envelope",
    "Filter",
    "ListShape",
    "Resource",
    "Resources",
    "Row",
    "build_resources",
]

#: One line of the start-up table: method, path, operationId, kind, reason.
Row = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class Resources:
    """Every resource of a spec, and every operation's binding."""

    by_kind: Mapping[str, Resource]
    bindings: dict[str, Binding]
    #: ``x-mock-singleton`` records (one per client), by kind: kept, never in fixtures.
    singletons: Mapping[str, Resource] = field(default_factory=dict)

    def kinds(self) -> dict[str, str]:
        """``kind -> record schema pointer``, for the fixture loader."""
        return {kind: r.schema_pointer for kind, r in self.by_kind.items()}

    def extras(self) -> dict[str, dict[str, str]]:
        """``kind -> {sub-resource name -> its schema pointer}``: fixture data kept with each record."""
        return {kind: dict(r.subresources) for kind, r in self.by_kind.items() if r.subresources}

    def refs(self) -> dict[str, dict[str, str]]:
        """``kind -> {field -> kind it names}``."""
        return {kind: dict(r.refs) for kind, r in self.by_kind.items() if r.refs}

    def engine_bound(self, operation_id: str, kind: str, reason: str) -> None:
        """Bind an operation the engine answers itself (``bind_handlers`` finds them): computed
        from the state (``x-mock-aggregate``, ``x-mock-signed-url``, ``x-mock-usage``) or held
        by it (``x-mock-webhooks``, ``stateful``); the table says ``kind`` and ``reason``."""
        self.bindings[operation_id] = replace(self.bindings[operation_id], kind=kind, reason=reason)

    def table(self) -> list[Row]:
        """Each operation: ``(method, path, operationId, kind, reason)``, in the spec's order;
        ``kind`` is ``stateful``, ``action``, ``singleton``, ``computed`` or ``spec``."""
        return [
            (b.operation.method, b.operation.spec_path, b.operation.operation_id, b.kind, b.reason)
            for b in self.bindings.values()
        ]


def build_resources(spec: Spec, hooked: frozenset[str] = frozenset(), *, fixtures: bool = True) -> Resources:
    """Read every resource of ``spec`` and bind every operation (to a resource, or to an
    answer from the spec).

    :param hooked: operationIds a Python hook answers (kept for callers; every operation
        has a binding whether hooked or not).
    :param fixtures: whether fixtures are loaded. Without them, a resource that no
        operation creates could never be seen: its operations answer from the spec.
    :raises SpecError: an ``x-mock-*`` key is unknown or misused.
    """
    del hooked
    check_extensions(spec.document, spec.source)
    discovery = Discovery(spec)
    found = discovery.discover()
    discovery.relate(found)
    binder = Binder(spec, discovery, found)
    bindings = {op.operation_id: binder.bind(op) for op in spec.operations}
    if not fixtures:
        bindings = _unfillable_from_spec(bindings)
    by_kind: dict[str, Resource] = {}
    for resource in found:
        by_kind.setdefault(resource.kind, resource)
        if resource.scope:
            first = by_kind[resource.kind]
            first.scoped = True
            if not first.scope_from and set(resource.scope) <= set(resource.properties):
                first.scope_from = resource.scope
    singletons = {
        b.resource.kind: b.resource for b in bindings.values() if b.kind == "singleton" and b.resource is not None
    }
    return Resources(by_kind, bindings, singletons)


def _unfillable_from_spec(bindings: dict[str, Binding]) -> dict[str, Binding]:
    """``bindings`` with the stateful operations of every resource nothing creates bound to
    the spec instead (served without fixtures, its collection would stay empty: every read a
    404 the spec may not even document; Prism answers them from the spec too)."""
    created = {b.resource.kind for b in bindings.values() if b.action == "create" and b.resource is not None}
    created |= {b.act.create.kind for b in bindings.values() if b.act is not None and b.act.create is not None}
    out: dict[str, Binding] = {}
    for op_id, b in bindings.items():
        if b.kind == "stateful" and b.resource is not None and b.resource.kind not in created:
            noun = b.resource.noun()
            why = f"no operation creates {_article(noun)} and no fixtures hold one (give fixtures to keep state)"
            b = Binding(b.operation, "spec", why)
        out[op_id] = b
    return out


def _article(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeio" else f"a {noun}"
