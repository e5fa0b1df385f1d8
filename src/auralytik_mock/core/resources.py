"""Build the resources the mock serves from the spec alone.

Owns: reading the spec's paths as resources (a collection path and its item path),
each resource's record schema, id parameter, id field, paging parameters, list
envelope, filters and sub-resources, and the ``x-mock-*`` extensions that say what a
spec cannot (id prefix, references, counts, copies, filters). Every operation gets a
``Binding``: which resource it acts on and how, or ``static`` (answers its example).
An operation that fits no shape, and an unknown ``x-mock-*`` key, stop start-up.
No Flask, no IO.
May import: ``spec``, ``errors``, ``types``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import SpecError
from .spec import Operation, Spec, record_defaults
from .types import Json

#: The ``x-mock-*`` keys the mock knows, and where each may appear.
EXTENSIONS = {
    "x-mock-id-prefix": "a record schema",
    "x-mock-ref": "a property of a record schema",
    "x-mock-count": "a read-only integer property of a record schema",
    "x-mock-copy": "a read-only property of a record schema",
    "x-mock-filter": "a query parameter of a list operation",
    # Request signing (``spec.py`` reads these):
    "x-mock-security": "a server (the security schemes its base path accepts)",
    "x-mock-signature": "an apiKey security scheme (its signature recipe)",
}

SHAPES = """The mock serves these shapes from the spec alone:
  - GET /things                list (query: page/pageSize or offset/limit, filters; envelope
                               {data, page, pageSize, totalCount} or {data, meta, pagination})
  - POST /things               create
  - GET /things/{anyId}        get one (its 2xx schema is the record schema)
  - PATCH|PUT|DELETE /things/{anyId}   update, replace, delete
  - GET /things/{anyId}/name   a sub-resource: the record's fixture data under 'name'
  - any operation whose 2xx response has an example (or no body): answers that
Bind a Python handler to anything else:
    from auralytik_mock import handles
    @handles("yourOperationId")
    def your_operation(call, mock): ...   (see the README, "Python hooks")"""

#: Names an envelope's fields may have, and what the mock puts there.
_MEANINGS = {
    "page": "page",
    "pageNumber": "page",
    "page_number": "page",
    "currentPage": "page",
    "current_page": "page",
    "pageSize": "pageSize",
    "page_size": "pageSize",
    "perPage": "pageSize",
    "per_page": "pageSize",
    "size": "pageSize",
    "totalCount": "totalCount",
    "total_count": "totalCount",
    "total": "totalCount",
    "totalItems": "totalCount",
    "total_items": "totalCount",
    "count": "totalCount",
    "totalPages": "totalPages",
    "total_pages": "totalPages",
    "pageCount": "totalPages",
    "offset": "offset",
    "limit": "limit",
    "hasMore": "hasMore",
    "has_more": "hasMore",
    "hasNext": "hasMore",
    "requestId": "requestId",
    "request_id": "requestId",
    "timestamp": "timestamp",
}
_PAGE_PARAMS = {"page", "pageNumber", "page_number"}
_SIZE_PARAMS = {"pageSize", "page_size", "perPage", "per_page", "size"}
_CREATED = ("createdAt", "created_at", "created")
_UPDATED = ("updatedAt", "updated_at", "updated")
_FILTER_OPS = ("eq", "gte", "lte", "contains")
_PARAM = re.compile(r"^\{([^{}/]+)\}$")


@dataclass(frozen=True)
class Filter:
    """A list's query parameter that filters: ``field`` compared to the value by ``op``."""

    param: str
    field: str
    op: str


@dataclass(frozen=True)
class Envelope:
    """Where a list answer puts its records and its paging numbers.

    ``layout`` maps each top-level field to its meaning (``items``, ``page``,
    ``pageSize``, ``totalCount``, ``totalPages``, ``offset``, ``limit``, ``hasMore``,
    ``requestId``, ``timestamp``), or to such a mapping for a nested object
    (``pagination``, ``meta``).
    """

    layout: Mapping[str, str | Mapping[str, str]]


@dataclass(frozen=True)
class ListShape:
    """How a list operation pages, filters and answers."""

    page_param: str | None
    size_param: str | None
    offset_param: str | None
    limit_param: str | None
    default_size: int
    filters: tuple[Filter, ...]
    envelope: Envelope


@dataclass
class Resource:
    """A collection the mock keeps state for, inferred from the spec.

    :param kind: the collection path's last segment; the store's and the fixtures' key.
    :param schema_pointer: the record schema (the item GET's 2xx schema).
    :param schema_name: its name under ``components/schemas`` (what ``x-mock-ref`` names).
    :param id_field: the record field that holds its id.
    :param id_prefix: new ids are this prefix and a number (``x-mock-id-prefix``).
    :param wrapped: the item answers are ``{data: record, meta}`` rather than the record.
    """

    kind: str
    schema_pointer: str
    schema_name: str
    collection_path: str
    item_path: str | None = None
    id_field: str = "id"
    integer_ids: bool = False
    id_prefix: str = ""
    created_field: str | None = None
    updated_field: str | None = None
    wrapped: Envelope | None = None
    properties: tuple[str, ...] = ()
    defaults: Mapping[str, Json] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # field -> kind
    counts: list[tuple[str, str, str]] = field(default_factory=list)  # (field, of kind, by)
    copies: list[tuple[str, str, str, str]] = field(default_factory=list)  # (field, via, of kind, source)
    subresources: dict[str, str] = field(default_factory=dict)  # name -> its 2xx schema pointer


@dataclass(frozen=True)
class Binding:
    """What one operation does: ``action`` on ``resource`` (or ``static``, or ``hook`` only)."""

    operation: Operation
    action: str  # list, create, get, update, replace, delete, sub, static, hook
    resource: Resource | None = None
    shape: ListShape | None = None
    sub: str | None = None


@dataclass(frozen=True)
class Resources:
    """Every resource of a spec, and every operation's binding."""

    by_kind: Mapping[str, Resource]
    bindings: Mapping[str, Binding]

    def kinds(self) -> dict[str, str]:
        """``kind -> record schema pointer``, for the fixture loader."""
        return {kind: r.schema_pointer for kind, r in self.by_kind.items()}

    def extras(self) -> dict[str, dict[str, str]]:
        """``kind -> {sub-resource name -> its schema pointer}``: fixture data kept with each record."""
        return {kind: dict(r.subresources) for kind, r in self.by_kind.items() if r.subresources}

    def refs(self) -> dict[str, dict[str, str]]:
        """``kind -> {field -> kind it names}``."""
        return {kind: dict(r.refs) for kind, r in self.by_kind.items() if r.refs}


def _segments(spec_path: str) -> list[str]:
    return [s for s in spec_path.strip("/").split("/") if s]


class _Builder:
    def __init__(self, spec: Spec, hooked: frozenset[str]) -> None:
        self.spec = spec
        self.hooked = hooked

    def fail(self, where: str, message: str) -> SpecError:
        return SpecError(f"{self.spec.source}: {where}: {message}")

    # -- schemas -------------------------------------------------------------------

    def success_schema(self, op: Operation) -> tuple[str | None, Mapping[str, Json] | None]:
        response = op.response_for(op.success_status)
        if response is None or response.schema_pointer is None:
            return None, None
        node, pointer = self.spec.resolve(self.spec.lookup(response.schema_pointer), response.schema_pointer)
        return pointer, node if isinstance(node, dict) else None

    def resolved(self, node: Json, pointer: str) -> tuple[Mapping[str, Json], str]:
        target, target_pointer = self.spec.resolve(node, pointer)
        return (target if isinstance(target, dict) else {}), target_pointer

    def types(self, schema: Mapping[str, Json]) -> set[str]:
        kind = schema.get("type")
        return {kind} if isinstance(kind, str) else set(kind or [])

    # -- building ------------------------------------------------------------------

    def build(self) -> Resources:
        self.check_extensions(self.spec.document, "")
        by_path: dict[str, list[Operation]] = {}
        for op in self.spec.operations:
            by_path.setdefault(op.spec_path, []).append(op)
        resources: dict[str, Resource] = {}
        bindings: dict[str, Binding] = {}
        # Item paths first: they give each resource its record schema.
        for spec_path, ops in by_path.items():
            segments = _segments(spec_path)
            if len(segments) >= 2 and _PARAM.match(segments[-1]) and not _PARAM.match(segments[-2]):
                getter = next((op for op in ops if op.method == "GET"), None)
                if getter is None:
                    continue
                resource = self.resource_from_item(spec_path, getter)
                known = resources.get(resource.kind)
                if known is not None and known.schema_pointer != resource.schema_pointer:
                    raise self.fail(
                        f"paths.{spec_path}",
                        f"the kind {resource.kind!r} is also served by {known.item_path} with another schema "
                        f"({known.schema_pointer} vs {resource.schema_pointer})",
                    )
                resources.setdefault(resource.kind, resource)
        schemas = {r.schema_name: r for r in resources.values()}
        for resource in resources.values():
            self.relations(resource, schemas)
        for spec_path, ops in by_path.items():
            for op in ops:
                bindings[op.operation_id] = self.bind(op, spec_path, resources)
        for resource in resources.values():
            for count_field, of_kind, by in resource.counts:
                if by not in resources[of_kind].properties:
                    raise self.fail(
                        f"{resource.schema_pointer}/properties/{count_field}",
                        f"x-mock-count: {resources[of_kind].schema_name} records have no field {by!r}",
                    )
        return Resources(resources, bindings)

    def check_extensions(self, node: Json, pointer: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and key.startswith("x-mock-") and key not in EXTENSIONS:
                    known = ", ".join(sorted(EXTENSIONS))
                    raise self.fail(pointer or "/", f"unknown extension {key!r} (the mock knows: {known})")
                self.check_extensions(value, f"{pointer}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                self.check_extensions(value, f"{pointer}/{index}")

    def record_schema(self, op: Operation) -> tuple[str, Mapping[str, Json], Envelope | None]:
        where = f"paths.{op.spec_path}.{op.method.lower()}"
        pointer, schema = self.success_schema(op)
        if pointer is None or schema is None:
            raise self.fail(where, f"GET of an item needs a JSON schema for its {op.success_status} answer\n{SHAPES}")
        props = schema.get("properties") or {}
        data = props.get("data") if isinstance(props, dict) else None
        if isinstance(data, dict) and set(props) - {"data"} <= {"meta"}:
            inner, inner_pointer = self.resolved(data, f"{pointer}/properties/data")
            if "object" in self.types(inner) or "properties" in inner:
                layout: dict[str, str | Mapping[str, str]] = {"data": "items"}
                if "meta" in props:
                    layout["meta"] = self.nested(props["meta"], f"{pointer}/properties/meta", where)
                return inner_pointer, inner, Envelope(layout)
        return pointer, schema, None

    def resource_from_item(self, spec_path: str, getter: Operation) -> Resource:
        segments = _segments(spec_path)
        id_param = _PARAM.match(segments[-1])
        assert id_param is not None
        param = id_param.group(1)
        kind = segments[-2]
        pointer, schema, wrapped = self.record_schema(getter)
        props = schema.get("properties") or {}
        where = f"paths.{spec_path}.get"
        if "id" in props:
            id_field = "id"
        elif param in props:
            id_field = param
        else:
            raise self.fail(where, f"the record schema {pointer} has no 'id' nor {param!r} property to hold its id")
        id_schema, _ = self.resolved(props[id_field], f"{pointer}/properties/{id_field}")
        prefix = schema.get("x-mock-id-prefix", "")
        if not isinstance(prefix, str):
            raise self.fail(f"{pointer}/x-mock-id-prefix", "must be a string such as 'eng_'")
        name = pointer.rsplit("/", 1)[-1] if pointer.startswith("/components/schemas/") else kind
        return Resource(
            kind=kind,
            schema_pointer=pointer,
            schema_name=name,
            collection_path="/" + "/".join(segments[:-1]),
            item_path=spec_path,
            id_field=id_field,
            integer_ids="integer" in self.types(id_schema),
            id_prefix=prefix,
            created_field=next((f for f in _CREATED if f in props), None),
            updated_field=next((f for f in _UPDATED if f in props), None),
            wrapped=wrapped,
            properties=tuple(props),
            defaults=record_defaults(self.spec, pointer),  # what fixtures omitting a field get too
        )

    def relations(self, resource: Resource, schemas: Mapping[str, Resource]) -> None:
        schema = self.spec.lookup(resource.schema_pointer)
        assert isinstance(schema, dict)
        for name, prop in (schema.get("properties") or {}).items():
            if not isinstance(prop, dict):
                continue
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
                via_prop = (schema.get("properties") or {}).get(via)
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

    def nested(self, node: Json, pointer: str, where: str) -> Mapping[str, str]:
        schema, schema_pointer = self.resolved(node, pointer)
        out: dict[str, str] = {}
        required = set(schema.get("required") or [])
        for name in schema.get("properties") or {}:
            meaning = _MEANINGS.get(name)
            if meaning is not None:
                out[name] = meaning
            elif name in required:
                raise self.fail(where, f"{schema_pointer}: the mock cannot fill the required field {name!r}\n{SHAPES}")
        return out

    # -- operations ----------------------------------------------------------------

    def bind(self, op: Operation, spec_path: str, resources: Mapping[str, Resource]) -> Binding:
        segments = _segments(spec_path)
        where = f"paths.{spec_path}.{op.method.lower()}"
        found: Binding | None = None
        if segments and not _PARAM.match(segments[-1]) and segments[-1] in resources:
            resource = resources[segments[-1]]
            if op.method == "GET":
                found = Binding(op, "list", resource, self.list_shape(op, resource, where))
            elif op.method == "POST":
                found = Binding(op, "create", resource)
        elif len(segments) >= 2 and _PARAM.match(segments[-1]) and segments[-2] in resources:
            resource = resources[segments[-2]]
            action = {"GET": "get", "PATCH": "update", "PUT": "replace", "DELETE": "delete"}.get(op.method)
            if action is not None:
                found = Binding(op, action, resource)
        elif (
            len(segments) >= 3
            and not _PARAM.match(segments[-1])
            and _PARAM.match(segments[-2])
            and segments[-3] in resources
            and op.method == "GET"
        ):
            resource = resources[segments[-3]]
            pointer, _ = self.success_schema(op)
            if pointer is None:
                raise self.fail(where, "a sub-resource GET needs a JSON schema for its 2xx answer")
            response = op.response_for(op.success_status)
            assert response is not None and response.schema_pointer is not None
            resource.subresources[segments[-1]] = response.schema_pointer
            found = Binding(op, "sub", resource, sub=segments[-1])
        if found is None:
            response = op.response_for(op.success_status)
            if response is not None and (response.has_example or response.schema_pointer is None):
                found = Binding(op, "static")
        if found is None:
            if op.operation_id in self.hooked:
                return Binding(op, "hook")
            raise self.fail(where, f"operation {op.operation_id!r} fits no shape the mock serves.\n{SHAPES}")
        return found

    def list_shape(self, op: Operation, resource: Resource, where: str) -> ListShape:
        pointer, schema = self.success_schema(op)
        if pointer is None or schema is None:
            raise self.fail(where, f"a list needs a JSON schema for its {op.success_status} answer\n{SHAPES}")
        layout: dict[str, str | Mapping[str, str]] = {}
        required = set(schema.get("required") or [])
        for name, prop in (schema.get("properties") or {}).items():
            prop_schema, prop_pointer = self.resolved(prop, f"{pointer}/properties/{name}")
            if "array" in self.types(prop_schema) or "items" in prop_schema:
                items, items_pointer = self.resolved(prop_schema.get("items", {}), f"{prop_pointer}/items")
                if items_pointer == resource.schema_pointer or name in {"data", "items", "results"}:
                    layout[name] = "items"
                    continue
            if name in _MEANINGS:
                layout[name] = _MEANINGS[name]
            elif "object" in self.types(prop_schema) and prop_schema.get("properties"):
                layout[name] = self.nested(prop, f"{pointer}/properties/{name}", where)
            elif name in required:
                raise self.fail(where, f"{pointer}: the mock cannot fill the required list field {name!r}\n{SHAPES}")
        if "items" not in layout.values():
            raise self.fail(where, f"{pointer}: the list answer has no array of {resource.schema_name}\n{SHAPES}")
        params = {p.name: p for p in op.parameters if p.location == "query"}
        page = next((n for n in params if n in _PAGE_PARAMS), None)
        size = next((n for n in params if n in _SIZE_PARAMS), None)
        offset = "offset" if "offset" in params else None
        limit = "limit" if "limit" in params else None
        size_param = params.get(size or limit or "")
        default_size = 25
        if size_param is not None:
            default = size_param.schema.get("default")
            maximum = size_param.schema.get("maximum")
            if isinstance(default, int):
                default_size = default
            elif isinstance(maximum, int):
                default_size = min(default_size, maximum)
        filters = []
        for name in params:
            if name in {page, size, offset, limit}:
                continue
            filters.append(self.filter(op, name, resource, where))
        return ListShape(page, size, offset, limit, default_size, tuple(filters), Envelope(layout))

    def filter(self, op: Operation, name: str, resource: Resource, where: str) -> Filter:
        raw = self.parameter_node(op, name)
        spec = raw.get("x-mock-filter") if raw is not None else None
        if spec is None:
            if name in resource.properties:
                return Filter(name, name, "eq")
            raise self.fail(
                where,
                f"query parameter {name!r} is neither paging nor a field of {resource.schema_name}; "
                f"add 'x-mock-filter: {{field: <name>, op: eq|gte|lte|contains}}' to it\n{SHAPES}",
            )
        if not (isinstance(spec, dict) and set(spec) <= {"field", "op"} and isinstance(spec.get("field"), str)):
            raise self.fail(
                f"{where}.parameters.{name}", "x-mock-filter must be {field: <name>, op: eq|gte|lte|contains}"
            )
        op_name = spec.get("op", "eq")
        if op_name not in _FILTER_OPS:
            raise self.fail(
                f"{where}.parameters.{name}", f"x-mock-filter op {op_name!r} is not one of {', '.join(_FILTER_OPS)}"
            )
        if spec["field"] not in resource.properties:
            raise self.fail(
                f"{where}.parameters.{name}",
                f"x-mock-filter field {spec['field']!r} is not a field of {resource.schema_name}",
            )
        return Filter(name, spec["field"], str(op_name))

    def parameter_node(self, op: Operation, name: str) -> Mapping[str, Json] | None:
        item = self.spec.document["paths"][op.spec_path]
        for source in (item.get(op.method.lower(), {}), item):
            for param in source.get("parameters", []) or []:
                node, _ = self.resolved(param, "")
                if node.get("name") == name and node.get("in") == "query":
                    return node
        return None


def build_resources(spec: Spec, hooked: frozenset[str] = frozenset()) -> Resources:
    """Read every resource of ``spec`` and bind every operation to one (or to ``static``).

    :param hooked: operationIds a Python hook answers; they may fit no shape.
    :raises SpecError: an operation fits no shape, or an ``x-mock-*`` key is unknown or wrong.
    """
    return _Builder(spec, hooked).build()
