"""Which paths of a spec form a resource, and what its records are.

Owns: the ``Resource`` a person would name from the paths (a collection path and its
item path ``/things/{thingId}``, nested ones scoped to their parent), its record
schema (the item GET's answer, unwrapped and merged), which property holds the id
(the parameter's name, ``id``, ``x-mock-id``, a property the name ends with, or the one
property whose schema matches the parameter's), the ids' format (prefix and number,
integer, ``format: uuid``), and the relations of ``x-mock-ref``/``-count``/``-copy``.
A path that forms no resource is not an error: its operations answer from the spec.
No IO.
May import: ``spec``, ``shapes``, ``errors``, ``types``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import SpecError
from .shapes import Envelope, Reader, Record, types
from .spec import Operation, Spec, escape_pointer_token, record_defaults
from .types import Json

PARAM = re.compile(r"^\{([^{}/]+)\}$")
_CREATED = ("createdAt", "created_at", "created", "dateCreated", "creationDate")
_UPDATED = ("updatedAt", "updated_at", "updated", "dateUpdated", "lastModified", "modifiedAt", "modified_at")
#: The hidden field a nested record keeps its parent's path values in (``/projects/{p}/tasks``).
SCOPE_FIELD = "__scope"


def segments(spec_path: str) -> list[str]:
    """The non-empty segments of a path template."""
    return [s for s in spec_path.strip("/").split("/") if s]


def is_param(segment: str) -> bool:
    return PARAM.match(segment) is not None


def param_names(spec_path: str) -> list[str]:
    """The names of the path template's parameters, in order."""
    return [m.group(1) for s in segments(spec_path) if (m := PARAM.match(s)) is not None]


@dataclass
class Resource:
    """A collection the mock keeps state for, inferred from the spec.

    :param kind: its name in the store and the fixtures: the collection path's last
        segment (``pets``), or its literal segments joined by dots when another resource
        has that name with other records (``owners.pets``).
    :param schema_pointer: the record schema (the item GET's 2xx schema, unwrapped).
    :param schema_name: its name under ``components/schemas`` (what ``x-mock-ref`` names).
    :param id_field: the record field that holds its id.
    :param id_format: ``uuid`` for ids generated as UUIDs, else ``""``.
    :param id_prefix: new ids are this prefix and a number (``x-mock-id-prefix``).
    :param id_pattern: without a prefix, the id's ``pattern``: new ids are made to match it.
    :param wrapped: the item answers wrap the record (``{data: record, meta}``, ``{"pet": record}``).
    :param scope: the collection path's parameters: a record belongs to their values.
    :param parent: ``(kind, parameter)`` of the resource whose item the collection sits under.
    """

    kind: str
    schema_pointer: str
    schema_name: str
    collection_path: str
    item_path: str | None = None
    id_field: str = "id"
    id_param: str = "id"
    integer_ids: bool = False
    id_format: str = ""
    id_prefix: str = ""
    id_pattern: str = ""
    created_field: str | None = None
    updated_field: str | None = None
    wrapped: Envelope | None = None
    properties: tuple[str, ...] = ()
    defaults: Mapping[str, Json] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # field -> kind
    counts: list[tuple[str, str, str]] = field(default_factory=list)  # (field, of kind, by)
    copies: list[tuple[str, str, str, str]] = field(default_factory=list)  # (field, via, of kind, source)
    subresources: dict[str, str] = field(default_factory=dict)  # name -> its 2xx schema pointer
    scope: tuple[str, ...] = ()
    parent: tuple[str, str] | None = None
    record: Record | None = None
    #: Why the id field is the one it is (for the start-up table).
    id_reason: str = ""
    #: Some path of this kind is nested: records keep their parent's values (``SCOPE_FIELD``).
    scoped: bool = False
    #: The record fields a fixture record's scope is read from (the parent's ids, when the
    #: record has them: ``projectId``).
    scope_from: tuple[str, ...] = ()
    #: Time fields the schema gives as integer seconds rather than RFC 3339 strings.
    seconds: frozenset[str] = frozenset()

    def noun(self) -> str:
        """The kind in the singular, for messages (``pet``)."""
        last = self.kind.rsplit(".", 1)[-1]
        if last in _PLAIN_PLURALS:
            return last[:-1]
        for plural, singular in _PLURALS:
            if last.endswith(plural) and len(last) > len(plural) + 1:
                return last[: -len(plural)] + singular  # batches -> batch, categories -> category
        return last[:-1] if last.endswith("s") and not last.endswith(("ss", "us")) else last


#: Plural endings and their singular (``noun``), tried in order.
_PLURALS = (
    ("tches", "tch"), ("rches", "rch"), ("nches", "nch"), ("shes", "sh"), ("sses", "ss"), ("xes", "x"), ("ies", "y"),
)  # fmt: skip
#: Plurals that only add an ``s`` though they end like the ones above.
_PLAIN_PLURALS = frozenset({"movies", "cookies", "calories", "zombies", "selfies", "rookies", "pies", "ties", "lies"})


def raw_parameter(spec: Spec, op: Operation, name: str, location: str) -> Mapping[str, Json] | None:
    """The parameter object ``name`` in ``location`` as written (with its ``x-`` keys)."""
    paths = spec.document.get("paths") or {}
    item = paths.get(op.spec_path) if isinstance(paths, dict) else None
    if not isinstance(item, dict):
        return None
    reader = Reader(spec)
    for source in (item.get(op.method.lower(), {}), item):
        params = source.get("parameters", []) if isinstance(source, dict) else []
        for param in params if isinstance(params, list) else []:
            node, _ = reader.resolved(param, "")
            if node.get("name") == name and node.get("in") == location:
                return node
    return None


class Discovery:
    """Reads a spec's resources (``discover``), then their relations (``relate``)."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.reader = Reader(spec)
        #: Why each item path forms no resource (shown with its operations).
        self.skipped: dict[str, str] = {}

    def fail(self, where: str, message: str) -> SpecError:
        return SpecError(f"{self.spec.source}: {where}: {message}")

    def success(self, op: Operation) -> tuple[Json, str] | None:
        """The node and pointer of ``op``'s documented 2xx JSON schema, if any."""
        response = op.response_for(op.success_status)
        if response is None or response.schema_pointer is None:
            return None
        try:
            node = self.spec.lookup(response.schema_pointer)
        except (KeyError, IndexError, ValueError):
            return None
        return node, response.schema_pointer

    def discover(self) -> list[Resource]:
        """Every resource, flat ones first; each item path once."""
        by_path: dict[str, list[Operation]] = {}
        for op in self.spec.operations:
            by_path.setdefault(op.spec_path, []).append(op)
        found: list[Resource] = []
        kinds: dict[str, Resource] = {}
        for spec_path in sorted(by_path, key=lambda p: (len(segments(p)), p)):
            parts = segments(spec_path)
            if len(parts) < 2 or not is_param(parts[-1]) or is_param(parts[-2]):
                continue
            getter = next((op for op in by_path[spec_path] if op.method == "GET"), None)
            if getter is None:
                self.skipped[spec_path] = "no GET reads its records"
                continue
            resource = self.from_item(spec_path, getter)
            if resource is None:
                continue
            known = kinds.get(resource.kind)
            if known is not None and known.record is not None and resource.record is not None:
                if not known.record.same(resource.record):
                    literal = [s for s in parts[:-1] if not is_param(s)]
                    resource.kind = ".".join(literal)
                    while resource.kind in kinds:
                        resource.kind += "_"
            kinds.setdefault(resource.kind, resource)
            found.append(resource)
        found.extend(self.fixture_only(kinds))
        items = {r.item_path: r for r in found if r.item_path is not None}
        for resource in found:
            parent_path = "/" + "/".join(segments(resource.collection_path)[:-1])
            parent = items.get(parent_path)
            if parent is not None and parent is not resource:
                resource.parent = (parent.kind, parent.id_param)
        return found

    def fixture_only(self, kinds: Mapping[str, Resource]) -> list[Resource]:
        """Records no path serves but fixtures hold and others name (``x-mock-records: kind``
        on a schema under ``components/schemas``: the call centers evaluations name).

        :raises SpecError: the kind is not a name, or a path's resource has it.
        """
        schemas = (self.spec.document.get("components") or {}).get("schemas") or {}
        out: list[Resource] = []
        for name, node in schemas.items() if isinstance(schemas, dict) else ():
            kind = node.get("x-mock-records") if isinstance(node, dict) else None
            if kind is None:
                continue
            pointer = f"/components/schemas/{escape_pointer_token(str(name))}"
            if not isinstance(kind, str) or not kind or kind in kinds or any(r.kind == kind for r in out):
                raise self.fail(f"{pointer}/x-mock-records", f"must be a kind no path serves, got {kind!r}")
            record, _ = self.reader.unwrap(node, pointer)
            if "id" not in record.properties:
                raise self.fail(pointer, "x-mock-records: the schema needs an id property")
            out.append(
                Resource(
                    kind=kind,
                    schema_pointer=pointer,
                    schema_name=str(name),
                    collection_path=f"(fixtures only: {kind})",
                    properties=tuple(record.properties),
                    defaults=self.defaults(record),
                    record=record,
                    id_reason="x-mock-records",
                )
            )
        return out

    def from_item(self, spec_path: str, getter: Operation) -> Resource | None:
        parts = segments(spec_path)
        match = PARAM.match(parts[-1])
        assert match is not None
        param = match.group(1)
        answer = self.success(getter)
        if answer is None:
            self.skipped[spec_path] = f"its GET documents no JSON schema for {getter.success_status}"
            return None
        record, wrapped = self.reader.unwrap(*answer)
        if not record.properties:
            self.skipped[spec_path] = f"its GET answers no object with properties ({record.pointer})"
            return None
        id_field, why = self.id_field(getter, param, record)
        if id_field is None:
            self.skipped[spec_path] = why
            return None
        id_schema = self.reader.prop(record, id_field)
        prefix = record.schema.get("x-mock-id-prefix", "")
        if not isinstance(prefix, str):
            raise self.fail(f"{record.pointer}/x-mock-id-prefix", "must be a string such as 'eng_'")
        kind = parts[-2]
        props = record.properties
        collection = "/" + "/".join(parts[:-1])
        return Resource(
            kind=kind,
            schema_pointer=record.pointer,
            schema_name=record.name if record.pointer.startswith("/components/schemas/") else kind,
            collection_path=collection,
            item_path=spec_path,
            id_field=id_field,
            id_param=param,
            integer_ids="integer" in types(id_schema),
            id_format="uuid" if id_schema.get("format") == "uuid" else "",
            id_prefix=prefix,
            id_pattern=_id_pattern(id_schema) if not prefix else "",
            created_field=next((f for f in _CREATED if f in props), None),
            updated_field=next((f for f in _UPDATED if f in props), None),
            wrapped=None if wrapped.bare else wrapped,
            properties=tuple(props),
            defaults=self.defaults(record),
            scope=tuple(param_names(collection)),
            record=record,
            id_reason=why,
            seconds=frozenset(
                f
                for f in props
                if f in _CREATED + _UPDATED and {"integer", "number"} & types(self.reader.prop(record, f))
            ),
        )

    def defaults(self, record: Record) -> dict[str, Json]:
        """What a new record takes for a field it omits (the property's ``default``, else
        ``null`` where allowed): from the schema itself when it is one, else merged."""
        if not (record.schema.get("allOf") or record.schema.get("oneOf") or record.schema.get("anyOf")):
            return record_defaults(self.spec, record.pointer)
        out: dict[str, Json] = {}
        for name in record.properties:
            prop = self.reader.prop(record, name)
            if "default" in prop:
                out[name] = prop["default"]
            elif "null" in types(prop):
                out[name] = None
        return out

    def id_field(self, getter: Operation, param: str, record: Record) -> tuple[str | None, str]:
        """The property that holds a record's id, and why (or ``None`` and why none does)."""
        props = record.properties
        named = raw_parameter(self.spec, getter, param, "path")
        for source, where in ((named, f"parameter {param}"), (record.schema, record.name)):
            chosen = source.get("x-mock-id") if source is not None else None
            if chosen is not None:
                if not isinstance(chosen, str) or chosen not in props:
                    raise self.fail(
                        f"paths.{getter.spec_path}: {where}", f"x-mock-id {chosen!r} is not a property of {record.name}"
                    )
                return chosen, f"x-mock-id on {where}"
        if param in props:
            return param, f"the property {{{param}}} names"
        if "id" in props:
            return "id", "its id property"
        lowered = param.lower()
        tails = sorted((p for p in props if len(p) >= 2 and lowered.endswith(p.lower())), key=len, reverse=True)
        if tails:
            return tails[0], f"{{{param}}} ends with its name"
        param_schema = next((p.schema for p in getter.parameters if p.location == "path" and p.name == param), {})
        like = [p for p in props if self.alike(param_schema, self.reader.prop(record, p))]
        if len(like) == 1:
            return like[0], f"the one property whose schema matches {{{param}}}"
        return None, f"{record.name} has no property for {{{param}}} (name it with x-mock-id)"

    @staticmethod
    def alike(param: Mapping[str, Json], prop: Mapping[str, Json]) -> bool:
        if not param or not prop:
            return False
        keys = ("type", "format", "pattern")
        return any(k in param for k in ("format", "pattern")) and all(param.get(k) == prop.get(k) for k in keys)

    # -- relations ------------------------------------------------------------------

    def relate(self, resources: list[Resource]) -> None:
        """Read ``x-mock-ref``/``-count``/``-copy`` of every record schema.

        :raises SpecError: an extension names no resource or no field.
        """
        schemas: dict[str, Resource] = {}
        for r in resources:
            schemas.setdefault(r.schema_name, r)
        first: dict[str, Resource] = {}
        for resource in resources:
            known = first.get(resource.kind)
            if known is not None:  # the same records under another path: the same relations
                resource.refs, resource.counts, resource.copies = known.refs, known.counts, known.copies
                continue
            first[resource.kind] = resource
            self.relations(resource, schemas)
        kinds = {r.kind: r for r in resources}
        for resource in resources:
            for count_field, of_kind, by in resource.counts:
                if by not in kinds[of_kind].properties:
                    raise self.fail(
                        f"{resource.schema_pointer}/properties/{count_field}",
                        f"x-mock-count: {kinds[of_kind].schema_name} records have no field {by!r}",
                    )

    def relations(self, resource: Resource, schemas: Mapping[str, Resource]) -> None:
        assert resource.record is not None
        props = resource.record.properties
        for name, prop in props.items():
            where = f"{resource.schema_pointer}/properties/{name}"
            if "x-mock-ref" in prop:
                target = self.schema_resource(prop["x-mock-ref"], schemas, f"{where}/x-mock-ref")
                resource.refs[name] = target.kind
            if "x-mock-count" in prop:
                spec = prop["x-mock-count"]
                if not (isinstance(spec, dict) and set(spec) == {"of", "by"} and isinstance(spec["by"], str)):
                    raise self.fail(f"{where}/x-mock-count", "must be {of: <SchemaName>, by: <property>}")
                target = self.schema_resource(spec["of"], schemas, f"{where}/x-mock-count/of")
                resource.counts.append((name, target.kind, spec["by"]))
            if "x-mock-copy" in prop:
                spec = prop["x-mock-copy"]
                if not (
                    isinstance(spec, dict)
                    and set(spec) == {"ref", "field"}
                    and all(isinstance(v, str) for v in spec.values())
                ):
                    raise self.fail(f"{where}/x-mock-copy", "must be {ref: <property>, field: <name>}")
                via, source = spec["ref"], spec["field"]
                via_prop = props.get(via)
                if not isinstance(via_prop, dict) or "x-mock-ref" not in via_prop:
                    raise self.fail(f"{where}/x-mock-copy", f"ref {via!r} must be a property with x-mock-ref")
                target = self.schema_resource(via_prop["x-mock-ref"], schemas, f"{where}/x-mock-copy")
                if source not in target.properties:
                    raise self.fail(f"{where}/x-mock-copy", f"{target.schema_name} has no field {source!r}")
                resource.copies.append((name, via, target.kind, source))

    def schema_resource(self, name: Json, schemas: Mapping[str, Resource], where: str) -> Resource:
        found = schemas.get(name) if isinstance(name, str) else None
        if found is None:
            known = ", ".join(sorted(schemas)) or "none"
            raise self.fail(where, f"{name!r} is not the record schema of a resource (resources: {known})")
        return found


def _id_pattern(id_schema: Mapping[str, Json]) -> str:
    """The ``pattern`` of a string id that is no UUID (new ids are made to match it), else ``""``."""
    pattern = id_schema.get("pattern")
    if not isinstance(pattern, str) or id_schema.get("format") == "uuid" or "integer" in types(id_schema):
        return ""
    return pattern
