"""Checking each answer against the spec, and the target's against the mock's.

Owns: ``DriftLog`` (one entry per distinct disagreement, steps merged) and ``Comparer``:
an answer against the spec (status documented, JSON, required headers, the body's
schema, ``error.requestId``), then the target's against the mock's for the same step
(status, error code, the fields each has, the form of ``COMPARED_HEADERS``).

No IO. May import: ``answer``, ``outcome``, ``plan``, ``core.validation``, ``core.violations``, ``core.errors``,
``core.types``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import islice

from ..core.errors import Violation
from ..core.types import Json
from ..core.validation import SchemaSet
from ..core.violations import describe_errors
from .answer import Answer
from .outcome import Drift, StepResult
from .plan import Planner, Step

#: Headers whose presence and form are compared between the target and the mock.
COMPARED_HEADERS = ("X-Request-Id", "WWW-Authenticate", "Location", "Retry-After")
#: The most schema violations read from one answer: enough to name each rule it breaks, not
#: one per item of a hostile list of a million (describing those all took minutes).
MAX_VIOLATIONS = 200


def violations(schemas: SchemaSet, pointer: str, instance: Json, prefix: str) -> list[Violation]:
    """The first ``MAX_VIOLATIONS`` violations of ``instance`` against the schema at
    ``pointer`` (strict: formats and undeclared fields too), located under ``prefix``."""
    fast = schemas.fast(pointer, strict=True)
    if fast is not None and fast.is_valid(instance):
        return []
    found = describe_errors(islice(schemas.at(pointer, strict=True).iter_errors(instance), MAX_VIOLATIONS), prefix)
    if found or fast is None:
        return found
    return schemas.check(pointer, instance, prefix, strict=True)  # what only ECMA-262 regexes refuse: rare


class DriftLog:
    """Drift found so far, one entry per distinct disagreement (steps are merged)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, ...], Drift] = {}

    def add(self, key: tuple[str, ...], kind: str, subject: str, message: str, step: int, name: str = "") -> None:
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = Drift(kind, subject, message)
        if step not in entry.steps:
            entry.steps.append(step)
        if name and name not in entry.fields:
            entry.fields.append(name)

    def all(self) -> list[Drift]:
        out = []
        for entry in self.entries.values():
            if entry.fields:
                plural = "s" if len(entry.fields) > 1 else ""
                entry.message = entry.message.format(fields=", ".join(entry.fields), s=plural)
                entry.subject = entry.subject.format(fields=", ".join(entry.fields))
            out.append(entry)
        return out


_TOKEN = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def split_field(text: str) -> list[str | int]:
    out: list[str | int] = []
    for name, index in _TOKEN.findall(text.removeprefix("body")):
        out.append(int(index) if index else name)
    return out


def shape_of(parts: Sequence[str | int]) -> str:
    return "".join("[]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(parts))


def compare_fields(vendor: Json, mock: Json, prefix: str = "") -> tuple[list[str], list[str]]:
    """Field paths only the vendor has, and only the mock has; recursing into fields both have."""
    only_vendor: list[str] = []
    only_mock: list[str] = []
    if isinstance(vendor, dict) and isinstance(mock, dict):
        for key in vendor:
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in mock:
                only_vendor.append(path)
            else:
                a, b = compare_fields(vendor[key], mock[key], path)
                only_vendor += a
                only_mock += b
        only_mock += [f"{prefix}.{k}" if prefix else str(k) for k in mock if k not in vendor]
    elif isinstance(vendor, list) and isinstance(mock, list):
        vendor_items = [i for i in vendor if isinstance(i, dict)]
        mock_items = [i for i in mock if isinstance(i, dict)]
        if vendor_items and mock_items:
            merged_vendor = {k: v for item in vendor_items for k, v in item.items()}
            merged_mock = {k: v for item in mock_items for k, v in item.items()}
            return compare_fields(merged_vendor, merged_mock, f"{prefix}[]")
    return only_vendor, only_mock


def header_form(name: str, value: str | None, answer: Answer) -> str:
    """What about a header's value clients depend on (not the value itself, which varies)."""
    if value is None:
        return "absent"
    lowered = name.lower()
    if lowered == "www-authenticate":
        scheme, _, params = value.strip().partition(" ")
        names = sorted(re.findall(r"([A-Za-z_]+)\s*=", params))
        error = re.search(r'error\s*=\s*"?([^",]+)', params)
        return f"{scheme.lower()} {' '.join(names)}" + (f" error={error.group(1)}" if error else "")
    if lowered == "x-request-id":
        found = re.match(r"[A-Za-z]+[_-]", value)
        return f"prefix {found.group(0)}" if found else "no prefix"
    if lowered == "location":
        kind = "an absolute URL" if re.match(r"[a-z][a-z0-9+.-]*://", value, re.I) else "a path"
        record_id = answer.body.get("id") if isinstance(answer.body, dict) else None
        ends = " ending in the new id" if isinstance(record_id, str) and value.endswith("/" + record_id) else ""
        return kind + ends
    if lowered == "retry-after":
        return "seconds" if value.strip().isdigit() else "a date"
    return "present"


class Comparer:
    """Checks answers against the spec and against each other, into ``log``."""

    def __init__(self, planner: Planner, schemas: SchemaSet) -> None:
        self.planner = planner
        self.schemas = schemas
        self.log = DriftLog()

    def _schema_name(self, pointer: str, parts: Sequence[str | int]) -> str:
        """The component schema that describes the value at ``parts`` of a response."""
        name = "answer"
        node = self.planner.raw(pointer)

        def follow(node: Json) -> Json:
            nonlocal name
            seen = 0
            while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 20:
                ref = node["$ref"]
                if ref.startswith("#/components/schemas/"):
                    name = ref.rsplit("/", 1)[-1]
                node = self.planner.raw(ref[1:])
                seen += 1
            return node

        node = follow(node)
        for part in parts:
            if not isinstance(node, dict):
                break
            if isinstance(part, int):
                node = follow(node.get("items"))
            else:
                node = follow((node.get("properties") or {}).get(part))
        return name

    def check_spec(self, side: str, step: Step, answer: Answer, explained: set[str]) -> None:
        """Check one answer against the spec; record what is wrong; fill ``explained``
        with the field paths the spec check already blamed (for the field comparison)."""
        op = step.op
        response = op.response_for(answer.status)
        if answer.raw and not answer.is_json:
            self.log.add(("not-json", side, str(answer.status)), "not-json", f"{side} {answer.status}",
                         f"{side}'s {answer.status} answer is not JSON", step.index)  # fmt: skip
            return
        if response is None:
            return  # an undocumented status is told with the status comparison
        for header in response.headers:
            if header.required and header.name.lower() not in answer.headers:
                self.log.add(
                    ("missing-header", side, header.name.lower(), str(answer.status)),
                    "missing-header",
                    f"{header.name} on {answer.status}",
                    f"{side}'s {answer.status} has no {header.name} header (the spec requires it)",
                    step.index,
                )
                explained.add("header:" + header.name.lower())
        if response.schema_pointer is not None:
            for violation in violations(self.schemas, response.schema_pointer, answer.body, "body"):
                parts = split_field(violation.field)
                if violation.message == "is required" or violation.message.startswith("is not an allowed field"):
                    schema = self._schema_name(response.schema_pointer, parts[:-1])
                    name = str(parts[-1]) if parts else ""
                    explained.add(shape_of(parts))
                    if violation.message == "is required":
                        self.log.add(("missing-field", side, schema), "missing-field", f"{schema}.{{fields}}",
                                     f"{side}'s {schema} has no field{{s}} {{fields}}", step.index, name)  # fmt: skip
                    else:
                        self.log.add(
                            ("extra-field", side, schema),
                            "extra-field",
                            f"{schema}.{{fields}}",
                            f"{side} added field{{s}} {{fields}} to {schema}, which the spec does not declare",
                            step.index,
                            name,
                        )
                else:
                    schema = self._schema_name(response.schema_pointer, parts[:-1] if parts else [])
                    where = f"{schema}.{parts[-1]}" if parts else schema
                    explained.add(shape_of(parts))
                    # One entry per rule broken, not per value: "must be an integer, got '142'".
                    rule = re.sub(r"; got .*$|, got .*$", "", violation.message)
                    self.log.add(("invalid-value", side, where, rule), "invalid-value", where,
                                 f"{side}'s {where} {violation.message}", step.index)  # fmt: skip
        error = answer.body.get("error") if isinstance(answer.body, dict) else None
        request_id = answer.headers.get("x-request-id")
        if isinstance(error, dict) and request_id and error.get("requestId") not in (None, request_id):
            self.log.add(("request-id", side), "request-id", "requestId",
                         f"{side}'s error.requestId differs from its X-Request-Id header", step.index)  # fmt: skip

    def compare(self, result: StepResult) -> None:
        step = result.step
        vendor, mock = result.vendor.answer, result.mock.answer
        if vendor is None or mock is None:
            return
        explained_vendor: set[str] = set()
        explained_mock: set[str] = set()
        before = len(self.log.entries)
        self.check_spec("vendor", step, vendor, explained_vendor)
        self.check_spec("mock", step, mock, explained_mock)
        op = step.op
        if vendor.status != mock.status:
            if mock.status == step.expected:
                who = f"the spec and the mock give {mock.status}"
            else:
                who = f"the mock gives {mock.status} (the spec expects {step.expected})"
            note = "" if op.documents(vendor.status) else f"; the spec does not document {vendor.status} here"
            self.log.add(("status", str(vendor.status), str(mock.status), who), "status",
                         f"{vendor.status} for {mock.status}", f"vendor answered {vendor.status} where {who}{note}",
                         step.index)  # fmt: skip
        elif vendor.status != step.expected:
            self.log.add(("expectation", str(vendor.status), step.case), "expectation", f"{step.case}",
                         f"vendor and mock both answered {vendor.status} where the spec implies {step.expected}",
                         step.index)  # fmt: skip
        if vendor.error_code and mock.error_code and vendor.error_code != mock.error_code:
            self.log.add(("error-code", vendor.error_code, mock.error_code), "error-code",
                         f"{vendor.error_code} for {mock.error_code}",
                         f"vendor's error code is {vendor.error_code} where the mock gives {mock.error_code}",
                         step.index)  # fmt: skip
        if vendor.status == mock.status:
            only_vendor, only_mock = compare_fields(vendor.body, mock.body)
            for path in only_vendor:
                if path not in explained_vendor and path not in explained_mock:
                    self.log.add(("field-set", "vendor", path), "field-set", path,
                                 f"vendor's {vendor.status} answer has field {path}, the mock's does not",
                                 step.index)  # fmt: skip
            for path in only_mock:
                if path not in explained_vendor and path not in explained_mock:
                    self.log.add(("field-set", "mock", path), "field-set", path,
                                 f"the mock's {mock.status} answer has field {path}, the vendor's does not",
                                 step.index)  # fmt: skip
            for name in COMPARED_HEADERS:
                key = name.lower()
                if f"header:{key}" in explained_vendor or f"header:{key}" in explained_mock:
                    continue
                vendor_form = header_form(name, vendor.headers.get(key), vendor)
                mock_form = header_form(name, mock.headers.get(key), mock)
                if vendor_form != mock_form:
                    self.log.add(("header-form", key, vendor_form, mock_form), "header-form", name,
                                 f"vendor's {name} is {vendor_form} where the mock's is {mock_form}",
                                 step.index)  # fmt: skip
        touched = [e for e in self.log.entries.values() if step.index in e.steps]
        if len(self.log.entries) != before or touched:
            result.verdict = "DRIFT"
            result.drift = [e.kind for e in touched]
