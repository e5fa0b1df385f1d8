"""What each operation does: a ``Binding`` from an operation to its resource, or to
an answer from the spec, with a one-line reason.

Owns: choosing each operation's binding (``stateful`` list/get/create/update/replace/
delete/sub, ``action``, ``singleton``, or ``spec``), the list's paging parameters and
filters, and reading ``x-mock-stateless``, ``x-mock-singleton``, ``x-mock-action`` and
``x-mock-filter``. An operation is bound to a resource only on that resource's own
collection or item path and only when what it answers (or takes) is the resource's
record: never from the last path segment alone. Never refuses a valid document.
No IO.
May import: ``spec``, ``shapes``, ``discover``, ``errors``, ``types``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .discover import Discovery, Resource, raw_parameter, segments
from .errors import SpecError
from .shapes import Envelope, Reader, Record
from .spec import Operation, Spec
from .types import Json

_PAGE_PARAMS = ("page", "pageNumber", "page_number")
_SIZE_PARAMS = ("pageSize", "page_size", "perPage", "per_page", "size")
_LIMIT_PARAMS = ("limit", "first", "count", "maxResults", "max_results")
_AFTER_PARAMS = ("after", "starting_after", "startingAfter", "cursor", "pageToken", "page_token", "next_page_token")
_BEFORE_PARAMS = ("before", "ending_before", "endingBefore")
FILTER_OPS = ("eq", "gte", "lte", "contains")
_CRUD = {"GET": "get", "PATCH": "update", "PUT": "replace", "DELETE": "delete"}


@dataclass(frozen=True)
class Filter:
    """A list's query parameter that filters: ``field`` compared to the value by ``op``."""

    param: str
    field: str
    op: str


@dataclass(frozen=True)
class ListShape:
    """How a list operation pages, filters and answers (``envelope.bare``: a bare array)."""

    page_param: str | None
    size_param: str | None
    offset_param: str | None
    limit_param: str | None
    default_size: int
    filters: tuple[Filter, ...]
    envelope: Envelope
    after_param: str | None = None
    before_param: str | None = None
    #: The answer documents a ``Link`` header (RFC 8288 ``rel="next"``/``"prev"``).
    link: bool = False


@dataclass(frozen=True)
class ActionSpec:
    """What an ``x-mock-action`` does: ``set`` these fields (``$now``: the time), or
    ``create`` a record of the resource ``create`` names."""

    set: Mapping[str, Json] = field(default_factory=dict)
    create: Resource | None = None


@dataclass(frozen=True)
class Binding:
    """What one operation does.

    :param kind: ``stateful`` (CRUD on ``resource``), ``action`` (``x-mock-action``),
        ``singleton`` (``x-mock-singleton``: one record per client) or ``spec`` (answered
        from the spec).
    :param reason: why, in one line (the start-up table prints it).
    :param action: for ``stateful``: list, create, get, update, replace, delete or sub.
    :param answer: the 2xx schema ``(node, pointer)`` when the answer is not the
        resource's record (the record is shaped into it), else ``None``.
    """

    operation: Operation
    kind: str
    reason: str
    action: str = ""
    resource: Resource | None = None
    shape: ListShape | None = None
    sub: str | None = None
    answer: tuple[Json, str] | None = None
    answers_record: bool = True
    act: ActionSpec | None = None
    #: ``replace``/``update`` on the collection path: the id is in the body (``PUT /pet``).
    id_in_body: bool = False


#: Extensions whose operation the engine answers from the state itself (never fixture data).
COMPUTED = ("x-mock-signed-url", "x-mock-aggregate", "x-mock-usage")


def _camel(segment: str) -> str:
    """``epa-results`` -> ``epaResults``: the property a sub-resource's path segment names."""
    head, *rest = segment.replace("_", "-").split("-")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _a(noun: str) -> str:
    """``noun`` with its indefinite article (``an export``)."""
    return f"an {noun}" if noun[:1].lower() in "aeio" else f"a {noun}"


def _refines(answer: Record, record: Record) -> bool:
    """Whether ``answer`` is ``record`` with fields of its own (OpenAI's create answer
    ``allOf: [AdminApiKey, {value}]``): the answer is made from the record, then filled."""
    return answer.pointer != record.pointer and bool(set(answer.properties) - set(record.properties))


class Binder:
    """Binds every operation of a spec to the resources ``Discovery`` found."""

    def __init__(self, spec: Spec, discovery: Discovery, resources: list[Resource]) -> None:
        self.spec = spec
        self.discovery = discovery
        self.reader: Reader = discovery.reader
        self.resources = resources
        self.by_collection: dict[str, Resource] = {}
        self.by_item: dict[str, Resource] = {}
        for r in resources:
            self.by_collection.setdefault(r.collection_path, r)
            if r.item_path is not None:
                self.by_item.setdefault(r.item_path, r)
        self.by_schema: dict[str, Resource] = {}
        for r in resources:
            self.by_schema.setdefault(r.schema_name, r)

    def fail(self, where: str, message: str) -> SpecError:
        return SpecError(f"{self.spec.source}: {where}: {message}")

    def raw(self, op: Operation) -> Mapping[str, Json]:
        paths = self.spec.document.get("paths") or {}
        item = paths.get(op.spec_path) if isinstance(paths, dict) else None
        node = item.get(op.method.lower()) if isinstance(item, dict) else None
        return node if isinstance(node, dict) else {}

    def spec_answer(self, op: Operation, reason: str) -> Binding:
        return Binding(op, "spec", reason)

    def answered(self, op: Operation) -> tuple[Record | None, Envelope, tuple[Json, str] | None]:
        """The record ``op``'s 2xx answer holds (unwrapped), its wrapper, and the raw schema."""
        found = self.discovery.success(op)
        if found is None:
            return None, Envelope(), None
        record, wrapper = self.reader.unwrap(*found)
        return record, wrapper, found

    def bind(self, op: Operation) -> Binding:
        raw = self.raw(op)
        if raw.get("x-mock-stateless") is True:
            return self.spec_answer(op, "x-mock-stateless: answered from the spec")
        if "x-mock-singleton" in raw:
            return self.singleton(op, raw["x-mock-singleton"])
        if "x-mock-action" in raw:
            return self.action(op, raw["x-mock-action"])
        if "x-mock-blob" in raw or "x-mock-job" in raw:
            return self.computed(op, raw)
        collection = self.by_collection.get(op.spec_path)
        if collection is not None:
            return self.on_collection(op, collection)
        item = self.by_item.get(op.spec_path)
        if item is not None:
            return self.on_item(op, item)
        return self.other(op)

    # -- the collection path --------------------------------------------------------

    def on_collection(self, op: Operation, resource: Resource) -> Binding:
        assert resource.record is not None
        name = resource.schema_name
        if op.method == "GET":
            found = self.discovery.success(op)
            envelope = self.reader.listing(*found, resource.record) if found is not None else None
            if envelope is None:
                return self.spec_answer(op, f"its answer holds no array of {name}")
            shape, ignored = self.list_shape(op, resource, envelope)
            note = f" (ignores {', '.join(ignored)})" if ignored else ""
            return Binding(op, "stateful", f"lists {resource.kind}{note}", "list", resource, shape)
        if op.method == "POST":
            record, wrapper, schema = self.answered(op)
            if record is not None and record.same(resource.record):
                if wrapper.bare and _refines(record, resource.record):
                    reason = f"creates {_a(resource.noun())} ({name}), answers {record.name} (it adds fields)"
                    return Binding(op, "stateful", reason, "create", resource, answer=schema, answers_record=False)
                return Binding(op, "stateful", f"creates {_a(resource.noun())} ({name})", "create", resource)
            body = self.body_record(op)
            if body is not None and (body.same(resource.record) or set(body.properties) <= set(resource.properties)):
                return Binding(
                    op,
                    "stateful",
                    f"creates {_a(resource.noun())} ({name}), answers its documented shape",
                    "create",
                    resource,
                    answer=schema,
                    answers_record=False,
                )
            return self.spec_answer(op, f"POST {resource.collection_path} neither takes nor answers {name}")
        if op.method in {"PUT", "PATCH"}:
            body = self.body_record(op)
            if body is not None and resource.id_field in body.properties:
                verb = "replace" if op.method == "PUT" else "update"
                return self.with_answer(
                    op, resource, verb, f"{verb}s the {resource.noun()} its body names ({resource.id_field})", True
                )
        return self.spec_answer(op, f"{op.method} on the collection {resource.collection_path} is no CRUD shape")

    def body_record(self, op: Operation) -> Record | None:
        if op.body_pointer is None:
            return None
        try:
            node = self.spec.lookup(op.body_pointer)
        except (KeyError, IndexError, ValueError):
            return None
        record, _ = self.reader.unwrap(node, op.body_pointer)
        return record if record.properties else None

    def with_answer(self, op: Operation, resource: Resource, verb: str, reason: str, in_body: bool = False) -> Binding:
        assert resource.record is not None
        record, wrapper, schema = self.answered(op)
        if schema is None:
            return Binding(op, "stateful", reason, verb, resource, answers_record=False, id_in_body=in_body)
        if (
            record is not None
            and record.same(resource.record)
            and not (wrapper.bare and _refines(record, resource.record))
        ):
            return Binding(op, "stateful", reason, verb, resource, id_in_body=in_body)
        return Binding(op, "stateful", reason, verb, resource, answer=schema, answers_record=False, id_in_body=in_body)

    # -- the item path --------------------------------------------------------------

    def on_item(self, op: Operation, resource: Resource) -> Binding:
        verb = _CRUD.get(op.method)
        if verb is None:
            why = f"{op.method} on {resource.item_path} is an action (bind it with x-mock-action)"
            return self.spec_answer(op, why)
        by = f"by {{{resource.id_param}}} ({resource.schema_name}.{resource.id_field}: {resource.id_reason})"
        if verb == "get":
            return Binding(op, "stateful", f"reads {_a(resource.noun())} {by}", "get", resource)
        reason = {"update": "updates", "replace": "replaces", "delete": "deletes"}[verb]
        return self.with_answer(op, resource, verb, f"{reason} {_a(resource.noun())} {by}")

    # -- other paths ----------------------------------------------------------------

    def other(self, op: Operation) -> Binding:
        parts = segments(op.spec_path)
        if len(parts) >= 2 and not parts[-1].startswith("{"):
            owner = self.by_item.get("/" + "/".join(parts[:-1]))
            computed = next((name for name in COMPUTED if name in self.raw(op)), None)
            if owner is not None and computed is not None:
                return self.spec_answer(op, f"{computed}: computed by the engine, not kept with {_a(owner.noun())}")
            if owner is not None and op.method == "GET":
                found = self.discovery.success(op)
                if found is not None:
                    # /voice-calls/{id}/epa-results answers the record's own epaResults when it has one
                    field = _camel(parts[-1])
                    name = field if field in owner.properties else parts[-1]
                    owner.subresources.setdefault(name, found[1])
                    where = f"in its field {name!r}" if name != parts[-1] else f"under {name!r} (fixtures)"
                    return Binding(
                        op,
                        "stateful",
                        f"the data kept with {_a(owner.noun())} {where}",
                        "sub",
                        owner,
                        sub=name,
                    )
            if owner is not None:
                return self.spec_answer(
                    op, f"an action on {_a(owner.noun())}: answered from the spec (bind it with x-mock-action)"
                )
        search = self.search(op)
        if search is not None:
            return search
        why = self.discovery.skipped.get(op.spec_path)
        if why is not None:
            return self.spec_answer(op, f"no resource: {why}")
        if parts and parts[-1].startswith("{"):
            return self.spec_answer(op, "no resource: no GET of this item path answers a record")
        return self.spec_answer(op, "no resource: neither a collection nor an item path")

    def search(self, op: Operation) -> Binding | None:
        """A GET under a resource's collection path that answers a list of its records
        (``/pet/findByStatus``): that list, filtered by the query parameters that name fields."""
        if op.method != "GET":
            return None
        found = self.discovery.success(op)
        if found is None:
            return None
        for resource in self.resources:
            if not op.spec_path.startswith(resource.collection_path + "/") or resource.record is None:
                continue
            if resource.scope and not set(resource.scope) <= {p.name for p in op.parameters if p.location == "path"}:
                continue
            envelope = self.reader.listing(*found, resource.record)
            if envelope is not None:
                shape, ignored = self.list_shape(op, resource, envelope)
                note = f" (ignores {', '.join(ignored)})" if ignored else ""
                reason = f"searches {resource.kind}: a list of {resource.schema_name} under its collection{note}"
                return Binding(op, "stateful", reason, "list", resource, shape)
        return None

    # -- extensions -----------------------------------------------------------------

    def singleton(self, op: Operation, value: Json) -> Binding:
        where = f"paths.{op.spec_path}.{op.method.lower()}.x-mock-singleton"
        if value is not True and not (isinstance(value, dict) and set(value) <= {"schema"}):
            raise self.fail(where, "must be true or {schema: <SchemaName>}")
        record, _, _ = self.answered(op)
        if isinstance(value, dict):
            name = value.get("schema")
            pointer = f"/components/schemas/{name}"
            try:
                record = self.reader.record(self.spec.lookup(pointer), pointer)
            except (KeyError, IndexError, ValueError):
                raise self.fail(f"{where}.schema", f"{name!r} is not under components/schemas") from None
        if record is None or not record.properties:
            record = self.body_record(op)
        if record is None or not record.properties:
            raise self.fail(where, "the operation neither answers nor takes an object to keep")
        kind = "singleton:" + "/".join(s for s in segments(op.spec_path) if not s.startswith("{"))
        resource = Resource(
            kind=kind,
            schema_pointer=record.pointer,
            schema_name=record.name,
            collection_path=op.spec_path,
            properties=tuple(record.properties),
            defaults=self.discovery.defaults(record),
            record=record,
        )
        return Binding(op, "singleton", f"x-mock-singleton: one {record.name} per client", "singleton", resource)

    def action(self, op: Operation, value: Json) -> Binding:
        where = f"paths.{op.spec_path}.{op.method.lower()}.x-mock-action"
        if not isinstance(value, dict) or not value or not set(value) <= {"set", "create"}:
            raise self.fail(where, "must be {set: {field: value}} or {create: <SchemaName>}")
        parts = segments(op.spec_path)
        owner = None
        for end in range(len(parts), 0, -1):
            owner = self.by_item.get("/" + "/".join(parts[:end]))
            if owner is not None:
                break
        changes = value.get("set", {})
        if not isinstance(changes, dict):
            raise self.fail(f"{where}.set", "must map fields to values")
        target = None
        if "create" in value:
            target = self.by_schema.get(value["create"]) if isinstance(value["create"], str) else None
            if target is None:
                known = ", ".join(sorted(self.by_schema)) or "none"
                raise self.fail(f"{where}.create", f"{value['create']!r} is not a resource's record schema ({known})")
        if changes:
            if owner is None:
                raise self.fail(where, "set needs a record: the path must be under a resource's item path")
            unknown = sorted(set(changes) - set(owner.properties))
            if unknown:
                raise self.fail(f"{where}.set", f"{owner.schema_name} has no field {', '.join(unknown)}")
        record, _, schema = self.answered(op)
        subject = target or owner
        assert subject is not None
        answers = record is not None and subject.record is not None and record.same(subject.record)
        noun = owner.noun() if owner is not None else "record"
        what = f"creates {_a(target.noun())}" if target else f"sets {', '.join(changes)} of {_a(noun)}"
        return Binding(
            op,
            "action",
            f"x-mock-action: {what}",
            "action",
            owner,
            answer=None if answers else schema,
            answers_record=answers,
            act=ActionSpec(dict(changes), target),
        )

    def computed(self, op: Operation, raw: Mapping[str, Json]) -> Binding:
        """An ``x-mock-blob`` or ``x-mock-job`` operation (``blob.py``, ``jobs.py`` answer it). A
        blob path's PUT keeps the file with its record, hidden under the path's last segment."""
        parts = segments(op.spec_path)
        owner = self.by_item.get("/" + "/".join(parts[:-1])) if len(parts) >= 2 else None
        blob = raw.get("x-mock-blob")
        escaped = op.spec_path.replace("~", "~0").replace("/", "~1")
        # What the store keeps with a record but does not show: checked (on a state load) against
        # the extension's own node, whose keys are no JSON Schema keywords (any value passes).
        if isinstance(blob, dict) and blob.get("store") is True and owner is not None:
            owner.subresources.setdefault(parts[-1], f"/paths/{escaped}/{op.method.lower()}/x-mock-blob")
            return Binding(op, "stateful", f"x-mock-blob: stores the file of {_a(owner.noun())}", "blob", owner)
        if blob == {"read": True} and owner is not None:
            return Binding(op, "stateful", f"x-mock-blob: serves the file of {_a(owner.noun())}", "blob", owner)
        name = "x-mock-blob" if "x-mock-blob" in raw else "x-mock-job"
        job = raw.get("x-mock-job")
        if isinstance(job, dict) and "steps" in job:
            subject = self.by_schema.get(job["create"]) if isinstance(job.get("create"), str) else owner
            if subject is not None:  # the job's memory (``jobs.JOB_FIELD``)
                subject.subresources.setdefault("job", f"/paths/{escaped}/{op.method.lower()}/x-mock-job")
        return Binding(op, "stateful", f"{name}: {_describe(raw[name])}", "computed", owner)

    # -- lists ----------------------------------------------------------------------

    def list_shape(self, op: Operation, resource: Resource, envelope: Envelope) -> tuple[ListShape, list[str]]:
        params = {p.name: p for p in op.parameters if p.location == "query"}
        page = next((n for n in _PAGE_PARAMS if n in params), None)
        size = next((n for n in _SIZE_PARAMS if n in params), None)
        offset = "offset" if "offset" in params else "skip" if "skip" in params else None
        limit = next((n for n in _LIMIT_PARAMS if n in params), None)
        after = next((n for n in _AFTER_PARAMS if n in params), None)
        before = next((n for n in _BEFORE_PARAMS if n in params), None)
        size_param = params.get(size or limit or "")
        default_size = 25
        if size_param is not None:
            default = size_param.schema.get("default")
            maximum = size_param.schema.get("maximum")
            if isinstance(default, int) and not isinstance(default, bool) and default > 0:
                default_size = default
            elif isinstance(maximum, int) and not isinstance(maximum, bool) and maximum > 0:
                default_size = min(default_size, maximum)
        filters: list[Filter] = []
        ignored: list[str] = []
        scope = set(resource.scope)
        for name in params:
            if name in {page, size, offset, limit, after, before} or name in scope:
                continue
            found = self.filter(op, name, resource)
            if found is None:
                ignored.append(name)
            else:
                filters.append(found)
        response = op.response_for(op.success_status)
        link = response is not None and any(h.name.lower() == "link" for h in response.headers)
        shape = ListShape(page, size, offset, limit, default_size, tuple(filters), envelope, after, before, link)
        return shape, ignored

    def filter(self, op: Operation, name: str, resource: Resource) -> Filter | None:
        raw = raw_parameter(self.spec, op, name, "query")
        spec = raw.get("x-mock-filter") if raw is not None else None
        where = f"paths.{op.spec_path}.{op.method.lower()}.parameters.{name}"
        if spec is None:
            return Filter(name, name, "eq") if name in resource.properties else None
        if not (isinstance(spec, dict) and set(spec) <= {"field", "op"} and isinstance(spec.get("field"), str)):
            raise self.fail(where, "x-mock-filter must be {field: <name>, op: eq|gte|lte|contains}")
        op_name = spec.get("op", "eq")
        if op_name not in FILTER_OPS:
            raise self.fail(where, f"x-mock-filter op {op_name!r} is not one of {', '.join(FILTER_OPS)}")
        if spec["field"] not in resource.properties:
            raise self.fail(where, f"x-mock-filter field {spec['field']!r} is not a field of {resource.schema_name}")
        return Filter(name, spec["field"], str(op_name))


def _describe(value: Json) -> str:
    """One extension's value in a few words, for the start-up table."""
    if not isinstance(value, dict):
        return "malformed"
    if "upload" in value:
        return f"an upload URL of {value['upload']}, {value.get('ttlSeconds')} s"
    if "download" in value:
        return f"a download URL of {value['download']}, {value.get('ttlSeconds')} s"
    if "reports" in value:
        return f"the status of {value['reports']}'s job"
    if "file" in value:
        return f"the job's file ({value['file']}) through a signed link"
    steps = value.get("steps")
    count = len(steps) if isinstance(steps, list) else 0
    made = f"creates {value['create']}, " if "create" in value else ""
    return f"{made}a job of {count} steps over {value.get('seconds')} s"
