"""``--record``: what the target returned for its reads, written as a fixture file the mock serves.

Owns: reading each list page by page (``--record-pages``), keeping the target's records
(never those verify created; copies the mock derives left out; every key and secret
masked), ``--anonymize`` (free text replaced by generated words, the same every run),
checking the file loads, and writing ``recorded.yaml`` with placeholder keys.

Writes one file. May import: ``options``, ``plan``, ``sides``, ``compare``, ``core.fixtures``,
``core.handlers``, ``core.resources``, ``core.spec``, ``core.validation``, ``core.types``, yaml.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from ..core.fixtures import FixtureLoader
from ..core.handlers import hooked, store_rules
from ..core.resources import build_resources
from ..core.spec import Operation, Parameter
from ..core.types import Json
from ..core.validation import SchemaSet
from .compare import violations
from .options import Options, VerifyError, scrub
from .plan import Planner, Step, path_params
from .sides import MAX_RECORDS_KEPT, Sender, Side, list_items

#: Placeholders a recorded fixture file carries instead of the real keys.
RECORDED_KEY = "RECORDED_API_KEY"
RECORDED_READ_ONLY_KEY = "RECORDED_READ_ONLY_API_KEY"


class Recorder:
    """Reads more pages from the target and writes what its side kept as fixtures."""

    def __init__(self, planner: Planner, schemas: SchemaSet, options: Options, vendor: Side, sender: Sender) -> None:
        self.spec = planner.spec
        self.planner = planner
        self.schemas = schemas
        self.options = options
        self.vendor = vendor
        self.sender = sender

    def pageable_lists(self) -> list[tuple[Operation, Parameter, Parameter | None]]:
        """Top-level lists of a recordable kind with a ``page`` parameter (and its size one)."""
        out = []
        for op in self.spec.operations:
            if op.method != "GET" or path_params(op) or self.planner.kind_of(op) is None:
                continue
            query = [p for p in op.parameters if p.location == "query"]
            page = next((p for p in query if p.name == "page"), None)
            size = next(
                (p for p in query if p is not page and re.search("size|limit|per", p.name, re.I)
                 and isinstance(p.schema.get("maximum"), int)),
                None,
            )  # fmt: skip
            if page is not None:
                out.append((op, page, size))
        return out

    def record_pages(self, paged: Sequence[tuple[Operation, Parameter, Parameter | None]], limit: int) -> list[str]:
        """Read each list page by page (largest pages first) so the recording holds more
        than the first page; at most ``limit`` calls per list."""
        notes = []
        for op, page_param, size_param in paged:
            size = int(size_param.schema["maximum"]) if size_param is not None else None
            for number in range(1, limit + 1):
                query = list(self.planner.required_query(op)) + [(page_param.name, str(number))]
                if size_param is not None:
                    query.append((size_param.name, str(size)))
                step = Step(0, op, "record-page", op.success_status, query=tuple(query))
                try:
                    sent = self.sender.send(self.vendor, step)
                except VerifyError as exc:
                    notes.append(f"recording stopped at {op.operation_id} page {number}: {exc}")
                    break
                answer = sent.answer
                got = len(list_items(answer.body, self.planner.array_field(op))) if answer else 0
                if answer is None or answer.status != op.success_status or got == 0 or (size and got < size):
                    break
            else:
                notes.append(f"{op.operation_id}: recorded the first {limit} pages only (--record-pages)")
        return notes

    def record(self, folder: Path, anonymize: bool) -> list[str]:
        """Write what the target returned for its reads as a fixture file; returns notes."""
        notes: list[str] = []
        created = {r["id"] for r in self.vendor.created_records}
        served = build_resources(self.spec, hooked())
        kinds = served.kinds()
        derived = {kind: frozenset(c[0] for c in r.copies) for kind, r in served.by_kind.items()}
        resources: dict[str, list[dict[str, Json]]] = {}
        for kind, records in self.vendor.records.items():
            kept = []
            for record_id, record in records.items():
                if record_id in created:
                    continue
                record = json.loads(scrub(json.dumps(record), self.options.secrets()))
                # Copies (x-mock-copy, an evaluation's engagementName) come from the record they
                # name: the mock fills them in, so anonymized names stay consistent.
                rules = derived.get(kind, frozenset())
                record = {k: v for k, v in record.items() if k not in rules}
                if anonymize:
                    record = self.anonymize(kinds[kind], record)
                problems = [
                    p
                    for p in violations(self.schemas, kinds[kind], record, "record")
                    if not (p.field.removeprefix("record.") in rules and p.message == "is required")
                ]
                if problems:
                    notes.append(f"not recorded: {kind} {record_id}: {problems[0].field} {problems[0].message}")
                    continue
                kept.append(record)
            resources[kind] = kept
        scopes = sorted(self.spec.scopes)
        api_keys: list[dict[str, Json]] = [{"key": RECORDED_KEY, "scopes": scopes}]
        if self.options.read_only_key:
            api_keys.append({"key": RECORDED_READ_ONLY_KEY, "scopes": sorted(self.planner.read_scopes)})
        client: dict[str, Json] = {"id": "client_recorded", "name": "Recorded by auralytik-mock verify"}
        client["apiKeys"] = api_keys
        client.update(resources)
        document = {"clients": [client]}
        loader = FixtureLoader(self.schemas, kinds, self.spec.scopes, rules=store_rules(served), extras=served.extras())
        loader.load_documents([("recorded", document)])  # raises FixtureError if it would not load
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "recorded.yaml"
        header = (
            f"# Recorded by auralytik-mock verify from {self.options.base_url}"
            + (" (anonymized)" if anonymize else "")
            + f".\n# The keys are placeholders: use {RECORDED_KEY} with the mock.\n"
        )
        path.write_text(header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
        count = sum(len(v) for v in resources.values())
        notes.insert(0, f"recorded {count} record(s) to {path}")
        for kind in sorted(self.vendor.dropped):
            notes.append(f"{kind}: recorded the first {MAX_RECORDS_KEPT:,} records only (the most kept per kind)")
        return notes

    def anonymize(self, pointer: str, record: dict[str, Json]) -> dict[str, Json]:
        """Replace free text (names, descriptions) with generated text, the same every run."""
        schema = self.spec.inline(self.spec.lookup(pointer))
        properties = (schema.get("properties") or {}) if isinstance(schema, dict) else {}
        out = dict(record)
        for name, prop in properties.items():
            value = out.get(name)
            if not isinstance(value, str) or not isinstance(prop, dict) or not _is_free_text(name, prop):
                continue
            replacement = _generated_text(name, value, prop)
            candidate = {**out, name: replacement}
            if not [v for v in violations(self.schemas, pointer, candidate, "record") if name in v.field]:
                out = candidate
        return out


def _is_free_text(name: str, prop: Mapping[str, Json]) -> bool:
    kinds = prop.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if "string" not in kinds or prop.get("readOnly"):
        return False
    if any(k in prop for k in ("enum", "const", "format")):
        return False
    if name == "id" or name.endswith("Id") or name.endswith("_id"):
        return False
    if name in {"type", "kind", "category"}:  # a classifier, not text a person wrote
        return False
    pattern = prop.get("pattern")
    return pattern is None or re.search(str(pattern), "Amber Falcon review") is not None


_WORDS = (
    "amber", "birch", "cobalt", "delta", "ember", "fjord", "granite", "harbor", "indigo", "juniper",
    "kestrel", "lumen", "meadow", "nimbus", "orchid", "pepper", "quartz", "raven", "sierra", "tundra",
)  # fmt: skip


def _generated_text(name: str, value: str, prop: Mapping[str, Json]) -> str:
    digest = hashlib.sha256(f"{name}\0{value}".encode()).digest()
    words = [_WORDS[b % len(_WORDS)] for b in digest[:4]]
    long_text = "description" in name.lower() or "note" in name.lower() or "comment" in name.lower()
    text = (" ".join(words[:4]).capitalize() + ".") if long_text else " ".join(w.capitalize() for w in words[:2])
    limit = prop.get("maxLength")
    return text[:limit] if isinstance(limit, int) else text
