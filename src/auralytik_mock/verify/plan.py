"""The sequence of calls verify sends, built from the spec alone.

Owns: ``Step`` (one call, the same for the target and the mock) and ``Planner``: per
operation, the documented success and each failure the mock reproduces (no key, unknown
key, bad signature, stale timestamp, insufficient scope, not found, malformed id, another
client's id, invalid body, a query parameter over its maximum), in a fixed order (reads,
lists first, then writes); the values each call sends (examples of the spec, marked
bodies, ids that do not exist); and what an operation's answer holds (its list field,
the resource kind it returns).

No IO. May import: ``core.spec``, ``core.validation``, ``core.resources``, ``core.handlers``,
``core.types``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from ..core.handlers import hooked
from ..core.resources import build_resources
from ..core.spec import Operation, Parameter, Spec
from ..core.types import Json
from ..core.validation import SchemaSet

#: Every record verify creates carries this in its name, so a person can find it.
MARK = "[auralytik-mock verify]"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Step:
    """One call of the sequence, the same for the target and the mock.

    :param key: which key sends it: ``main``, ``read_only``, ``other``, ``unknown``, ``none``,
        or (signing schemes) ``bad_signature`` and ``stale``.
    :param target_id: how the last path parameter is chosen: ``listed`` (from a list call,
        or the record verify created for a write), ``missing``, ``malformed`` or ``other``.
    :param body: ``example`` (the spec's, marked), ``invalid``, ``empty`` or ``None``.
    :param skip: why the step is not sent at all (to either side).
    """

    index: int
    op: Operation
    case: str
    expected: int
    key: str = "main"
    target_id: str = "listed"
    body: str | None = None
    query: tuple[tuple[str, str], ...] = ()
    skip: str | None = None

    @property
    def write(self) -> bool:
        return self.op.method in WRITE_METHODS

    @property
    def label(self) -> str:
        return f"{self.op.operation_id} {self.case}"


def path_params(op: Operation) -> list[Parameter]:
    return [p for p in op.parameters if p.location == "path"]


def _order(op: Operation) -> tuple[int, int, str]:
    rank = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 2, "DELETE": 3}.get(op.method, 4)
    return (rank, op.spec_path.count("/"), op.operation_id)


def _linked(spec: Spec) -> set[str]:
    """The operations only a signed URL reaches: what ``x-mock-signed-url`` serves, a blob path
    (``x-mock-blob: {store|read: true}``) and a job's file (``x-mock-job: {file}``)."""
    found: set[str] = set()
    for item in spec.document.get("paths", {}).values():
        for node in item.values() if isinstance(item, dict) else ():
            if not isinstance(node, dict):
                continue
            signed, blob, job = node.get("x-mock-signed-url"), node.get("x-mock-blob"), node.get("x-mock-job")
            if isinstance(signed, dict):
                found.add(str(signed.get("serves")))
            if (isinstance(blob, dict) and (blob.get("store") or blob.get("read"))) or (
                isinstance(job, dict) and "file" in job
            ):
                found.add(str(node.get("operationId")))
    return found


class Planner:
    """Builds the sequence from the spec: no operation, case or value is written by hand."""

    def __init__(self, spec: Spec, schemas: SchemaSet) -> None:
        self.spec = spec
        self.schemas = schemas
        # Operations reached only through a signed link another operation hands out
        # (x-mock-signed-url, a blob path of x-mock-blob, a job's file of x-mock-job).
        self.linked = frozenset(_linked(spec))

        # Webhook registrations (x-mock-webhooks) are not called: on the vendor they would make
        # it POST events to a URL of this machine it cannot reach; tests/test_webhooks.py covers them.
        self.webhook_ops = frozenset(
            str(node.get("operationId"))
            for item in spec.document.get("paths", {}).values()
            if isinstance(item, dict)
            for node in item.values()
            if isinstance(node, dict) and "x-mock-webhooks" in node
        )

        ops = [op for op in spec.operations if op.operation_id not in self.webhook_ops]
        self.read_scopes = frozenset(s for op in ops if op.method == "GET" for s in op.required_scopes)
        self.all_scopes = frozenset(s for op in ops for s in op.required_scopes)

    def raw(self, pointer: str) -> Json:
        try:
            return self.spec.lookup(pointer)
        except (KeyError, IndexError, ValueError):
            return None

    def param_example(self, param: Parameter) -> Json:
        node = self.raw(param.schema_pointer.removesuffix("/schema"))
        if isinstance(node, dict) and "example" in node:
            return node["example"]
        schema = self.spec.inline(param.schema)
        for name in ("default", "example"):
            if isinstance(schema, dict) and name in schema:
                return schema[name]
        if isinstance(schema, dict) and schema.get("examples"):
            return schema["examples"][0]
        return None

    def body_example(self, op: Operation) -> Json:
        if op.body_pointer is None:
            return None
        media = self.raw(op.body_pointer.removesuffix("/schema"))
        if isinstance(media, dict):
            if "example" in media:
                return media["example"]
            for example in (media.get("examples") or {}).values():
                if isinstance(example, dict) and "value" in example:
                    return example["value"]
        schema = self.spec.inline(self.spec.lookup(op.body_pointer))
        if isinstance(schema, dict) and schema.get("examples"):
            return schema["examples"][0]
        return None

    def marked_body(self, op: Operation) -> Json:
        """The spec's example body, its name marked so the record is recognisable."""
        body = self.body_example(op)
        if not isinstance(body, dict) or op.body_pointer is None:
            return body
        body = dict(body)
        properties = (self.spec.inline(self.spec.lookup(op.body_pointer)) or {}).get("properties") or {}
        for name in ("name", "title", "label", "displayName"):
            if isinstance(body.get(name), str):
                limit = properties.get(name, {}).get("maxLength", 200)
                body[name] = f"{MARK} {body[name]}"[:limit]
                break
        return body

    def invalid_body(self, op: Operation) -> Json:
        """A body the operation's schema refuses: missing required fields, else a wrong type."""
        if op.body_pointer is None:
            return None
        schema = self.spec.inline(self.spec.lookup(op.body_pointer))
        candidates: list[Json] = []
        if isinstance(schema, dict):
            if schema.get("required"):
                candidates.append({})
            for name, prop in (schema.get("properties") or {}).items():
                kinds = prop.get("type") if isinstance(prop, dict) else None
                kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
                if "string" in kinds:
                    candidates.append({name: 12345})
                elif kinds:
                    candidates.append({name: "not valid here"})
            if schema.get("additionalProperties") is False:
                candidates.append({"auralytikMockVerifyUnknownField": 1})
        candidates.append([])
        for candidate in candidates:
            if self.schemas.check(op.body_pointer, candidate, "body"):
                return candidate
        return None

    def empty_body_ok(self, op: Operation) -> bool:
        return op.body_pointer is not None and not self.schemas.check(op.body_pointer, {}, "body")

    def required_query(self, op: Operation) -> list[tuple[str, str]]:
        out = []
        for param in op.parameters:
            if param.location == "query" and param.required:
                example = self.param_example(param)
                if example is not None:
                    out.append((param.name, as_text(example)))
        return out

    def success_query(self, op: Operation) -> list[tuple[str, str]]:
        """The success call's query: the required parameters only. An optional filter's
        example (an id of the spec's sample data) would empty the list of a real account."""
        return self.required_query(op)

    def plan(self, *, read_only: bool, other: bool, allow_writes: bool, signing: bool = False) -> list[Step]:
        """The sequence, in the order it is sent: reads (lists first), then writes.

        :param signing: the target signs requests (HMAC): add a wrong signature and a stale timestamp.
        """
        steps: list[Step] = []

        def add(op: Operation, case: str, expected: int, **kw: object) -> None:
            skip = kw.pop("skip", None)
            if skip is None and op.method in WRITE_METHODS and not allow_writes:
                skip = "a write: pass --allow-writes"
            steps.append(Step(len(steps) + 1, op, case, expected, skip=skip, **kw))  # type: ignore[arg-type]

        for op in sorted(self.spec.operations, key=_order):
            if op.method not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                continue
            if op.operation_id in self.webhook_ops:
                add(op, "success", op.success_status, skip="a webhook registration (x-mock-webhooks): not verified")
                continue
            body = "example" if op.body_pointer is not None else None
            success_query = tuple(self.success_query(op))
            linked = (
                "reached through a signed link another operation hands out" if op.operation_id in self.linked else None
            )
            add(op, "success", op.success_status, body=body, query=success_query, skip=linked)
            if not op.security:
                continue
            params = path_params(op)
            base_query = tuple(self.required_query(op))
            if op.method == "GET" and not params and other:
                add(op, "other-client-list", op.success_status, key="other", query=success_query)
            add(op, "no-key", 401, key="none", body=body, query=base_query)
            add(op, "unknown-key", 401, key="unknown", body=body, query=base_query)
            if signing:
                add(op, "bad-signature", 401, key="bad_signature", body=body, query=base_query)
                add(op, "stale-timestamp", 401, key="stale", body=body, query=base_query)
            if read_only and not set(op.required_scopes) <= self.read_scopes:
                add(op, "insufficient-scope", 403, key="read_only", body=body, query=base_query)
            if params:
                add(op, "not-found", 404, target_id="missing", body=body, query=base_query)
                if self.malformed_id(params[-1]) is not None:
                    add(op, "malformed-id", 400, target_id="malformed", body=body, query=base_query)
                if other:
                    if op.method == "GET":
                        add(op, "other-client-id", 404, target_id="other", query=base_query)
                    elif self.empty_body_ok(op) or op.body_pointer is None:
                        add(op, "other-client-id", 404, target_id="other", body="empty", query=base_query)
            if op.body_pointer is not None and self.invalid_body(op) is not None:
                add(op, "invalid-body", 400, body="invalid", query=base_query)
            for param in op.parameters:
                maximum = param.schema.get("maximum") if param.location == "query" else None
                if isinstance(maximum, int | float) and not isinstance(maximum, bool):
                    query = tuple(q for q in base_query if q[0] != param.name) + ((param.name, as_text(maximum + 1)),)
                    add(op, f"over-maximum {param.name}", 400, query=query)
        return steps

    def missing_id(self, param: Parameter, known: Iterable[str]) -> str:
        """A well-formed id that does not exist: valid to the parameter's schema, in no list."""
        example = self.param_example(param)
        example = example if isinstance(example, str) else next(iter(known), "")
        found = re.match(r"[A-Za-z]+[_-]", example)
        prefix = found.group(0) if found else ""
        taken = set(known)
        candidates = (prefix + "0000000000", prefix + "verify404", "999999999", "00000000-0000-0000-0000-000000000000")
        for candidate in candidates:
            value = _coerce(candidate, param.schema)
            if candidate not in taken and not self.schemas.check(param.schema_pointer, value, "path"):
                return candidate
        return prefix + "0000000000"

    def malformed_id(self, param: Parameter) -> str | None:
        """An id the parameter's schema refuses, or ``None`` when it accepts anything."""
        for candidate in ("INVALID-ID", "-1", "x" * 300):
            if self.schemas.check(param.schema_pointer, _coerce(candidate, param.schema), "path"):
                return candidate
        return None

    def array_field(self, op: Operation) -> str | None:
        """The array property of ``op``'s success answer (a list's ``data``), if any."""
        response = op.response_for(op.success_status)
        if response is None or response.schema_pointer is None:
            return None
        schema = self.spec.inline(self.spec.lookup(response.schema_pointer))
        for name, prop in ((schema or {}).get("properties") or {}).items() if isinstance(schema, dict) else []:
            if isinstance(prop, dict) and prop.get("type") == "array":
                return str(name)
        return None

    @cached_property
    def _kind_pointers(self) -> dict[str, str]:
        return {pointer: kind for kind, pointer in build_resources(self.spec, hooked()).kinds().items()}

    def kind_of(self, op: Operation) -> str | None:
        """The resource kind (fixtures' key) a GET answers, from the schema it references."""
        response = op.response_for(op.success_status)
        if response is None or response.schema_pointer is None:
            return None
        node = self.raw(response.schema_pointer)
        candidates = [node]
        if isinstance(node, dict) and "$ref" in node:
            candidates.append(self.raw(node["$ref"][1:]))
        for candidate in list(candidates):
            if isinstance(candidate, dict):
                for prop in (candidate.get("properties") or {}).values():
                    if isinstance(prop, dict) and prop.get("type") == "array":
                        candidates.append(prop.get("items"))
        for candidate in candidates:
            if isinstance(candidate, dict) and isinstance(candidate.get("$ref"), str):
                kind = self._kind_pointers.get(candidate["$ref"][1:])
                if kind is not None:
                    return kind
        return None


def _coerce(value: str, schema: Mapping[str, Json]) -> Json:
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if ("integer" in kinds or "number" in kinds) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def as_text(value: Json) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
