"""The "Where the vendor is silent" table (docs/reference/vendor-silence.md) matches openapi.yaml.

Every constraint openapi.yaml puts on a value (pattern, length, range, enum, format,
required fields, closed objects, nullability) is either stated on the vendor's
Engagements page (``VENDOR_STATES``, with its words) or listed in the docs' table with
the reason for it; and every row of the table names a constraint that is really there,
with its value. Add a constraint to the spec, and this test asks for its row.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from tests.conftest import ROOT, spec_document

#: Constraint keywords (``type`` counts only when it allows ``null`` besides another type).
KEYWORDS = (
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "enum",
    "const",
    "format",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "required",
    "additionalProperties",
)

#: What the vendor's pages state themselves (not listed in the table).
VENDOR_STATES = {
    "EngagementCreate.required": "Create Engagement: name (Required: Yes), type (Required: Yes), description (No)",
    "EvaluationState.enum": "Evaluations: state `Pending` | `Processing` | `Completed` | `Failed`",
    "Sentiment.enum": "Evaluations: sentiment `Positive` | `Neutral` | `Negative`",
    "listEvaluations.pageSize.maximum": "Evaluations: pageSize, default 25, max 100",
    "Evaluation.audioDate.format": "Evaluations: audioDate, ISO 8601",
    "Evaluation.createdAt.format": "Evaluations: createdAt, ISO 8601",
    "CampaignStatus.enum": "Campaigns: status `Running` | `Paused` | `Completed`",
    "Campaign.type.enum": "Campaigns: type `VoiceBot` | `Flow`",
    "listCampaigns.pageSize.maximum": "Campaigns: pageSize, default 25, max 100",
    "getUsageDetails.pageSize.maximum": "Usage: /usage/details pageSize, default 25, max 100",
    "listConversations.pageSize.maximum": "Conversations: pageSize, default 25, max 100",
    "getAnalyticsTrends.granularity.enum": "Analytics: granularity `daily` (default), `weekly`, `monthly`",
    "AnalyticsTrends.granularity.enum": "Analytics: granularity `daily` (default), `weekly`, `monthly`",
    "listAudioFiles.pageSize.maximum": "Audio files: pageSize, default 50, max 100",
    "ExportFormat.enum": "Exports: format `csv` | `xlsx`",
    "ExportStatus.enum": "Exports: job statuses `queued`, `processing`, `completed`, `failed`",
    "ExportDate.format": "Exports: dateFrom, dateTo, date `yyyy-MM-dd`",
    "AiCallsExportRequest.required": "Exports: dateFrom (required), dateTo (required)",
    "AiCallsExportRequest.status.enum": "Exports: status `evaluated` `notEvaluated` `pending` `processing` `failed`",
}


def _schema(node: Any, where: str, found: dict[str, Any]) -> None:
    """Record the constraints of the schema ``node`` (at ``where``) and of its properties and items."""
    if not isinstance(node, dict) or "$ref" in node:
        return
    for keyword in KEYWORDS:
        if keyword in node and not (keyword == "additionalProperties" and node[keyword] is not False):
            found[f"{where}.{keyword}"] = node[keyword]
    kind = node.get("type")
    if isinstance(kind, list) and "null" in kind:
        found[f"{where}.type"] = kind
    for name, prop in (node.get("properties") or {}).items():
        _schema(prop, f"{where}.{name}", found)
    if "items" in node:
        _schema(node["items"], f"{where}[]", found)


def spec_constraints() -> dict[str, Any]:
    """``location.keyword -> value`` for every constraint in openapi.yaml. Locations read as
    ``Engagement.evaluationCount``, ``listEngagements.page``, ``Retry-After``."""
    spec = spec_document()
    found: dict[str, Any] = {}
    components = spec.get("components", {})
    for name, schema in components.get("schemas", {}).items():
        _schema(schema, name, found)
    for name, header in components.get("headers", {}).items():
        _schema(header.get("schema"), name, found)
    shared = components.get("parameters", {})

    def resolved(param: dict[str, Any]) -> dict[str, Any]:
        ref = param.get("$ref", "")
        return shared[ref.rsplit("/", 1)[1]] if ref.startswith("#/components/parameters/") else param

    for path, item in spec["paths"].items():
        for param in map(resolved, item.get("parameters", [])):
            _schema(param.get("schema"), f"{path} {param['name']}", found)
        for op in item.values():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            where = op["operationId"]
            for param in map(resolved, op.get("parameters", [])):
                _schema(param.get("schema"), f"{where}.{param['name']}", found)
            for media in (op.get("requestBody", {}).get("content") or {}).values():
                _schema(media.get("schema"), f"{where}.body", found)
            for status, response in op.get("responses", {}).items():
                for media in (response.get("content") or {}).values():
                    _schema(media.get("schema"), f"{where}.{status}", found)
                for header_name, header in (response.get("headers") or {}).items():
                    _schema(header.get("schema"), f"{where}.{status}.{header_name}", found)
    return found


def readme_rows() -> dict[str, tuple[Any, str]]:
    """``location.keyword -> (value, reason)`` from the docs' table."""
    section = (ROOT / "docs" / "reference" / "vendor-silence.md").read_text()
    rows: dict[str, tuple[Any, str]] = {}
    for line in section.splitlines():
        # A `|` inside a cell is written `\|` (GitHub's table syntax, code spans included).
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        for spec_text in re.findall(r"`([^`]+)`", cells[0]):
            name, found, value = spec_text.partition(": ")
            if found and name.rsplit(".", 1)[-1] in KEYWORDS + ("type",):  # else a row in words (`dateFrom`)
                rows[name] = (yaml.safe_load(value), cells[2])
    return rows


def test_every_constraint_of_the_spec_is_stated_by_the_vendor_or_in_the_table() -> None:
    constraints = spec_constraints()
    rows = readme_rows()
    missing = sorted(set(constraints) - set(rows) - set(VENDOR_STATES))
    assert not missing, f"add a row to docs/reference/vendor-silence.md for: {missing}"
    stale = sorted(set(rows) - set(constraints))
    assert not stale, f"the docs' table names constraints openapi.yaml does not have: {stale}"


def test_every_row_shows_the_value_openapi_yaml_has_and_a_reason() -> None:
    constraints = spec_constraints()
    for name, (value, reason) in readme_rows().items():
        spec_value = constraints[name]
        assert json.dumps(value) == json.dumps(spec_value), f"{name}: docs {value!r}, spec {spec_value!r}"
        assert len(reason) > 20, f"{name}: say why"
