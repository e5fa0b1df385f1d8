"""The three reports of a run: text for a person, JSON for machines, JUnit XML for CI.

Owns: ``render_text`` (one line per step, then each drift spelt out, then one verdict
line), ``render_json`` and ``render_junit``. Keys are masked by the caller (``scrub``).

No IO. May import: ``outcome``, ``core.types``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..core.types import Json
from .outcome import Drift, Outcome, Sent

#: The longest line the text report prints (a target's field name or error code can be any size).
MAX_LINE = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def plain(text: str) -> str:
    """``text`` safe to print on one line: control characters (a target's newlines, terminal
    escape sequences) written as ``\\xNN``, cut at ``MAX_LINE``."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"


def _status(sent: Sent) -> str:
    return str(sent.answer.status) if sent.answer else "-"


def _table(outcome: Outcome) -> list[str]:
    rows = [("#", "operation", "case", "vendor", "mock", "verdict")]
    for r in outcome.results:
        rows.append((str(r.step.index), r.step.op.operation_id, r.step.case, _status(r.vendor), _status(r.mock),
                     r.verdict))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return ["  ".join(cell.ljust(widths[i]) if i < 5 else cell for i, cell in enumerate(row)).rstrip() for row in rows]


def render_text(outcome: Outcome) -> str:
    """The report a person reads: one line per step sent, each drift spelt out, then one
    line that says how the run ended (``OK``, ``DRIFT (n)``, or ``Could not run: ...``)."""
    lines = _table(outcome) if outcome.results else []
    compared = sum(1 for r in outcome.results if r.vendor.answer and r.mock.answer)
    skipped = sum(1 for r in outcome.results if r.verdict.startswith("skipped"))
    if outcome.drift:
        lines += ["", f"Drift ({len(outcome.drift)}):"]
        for number, drift in enumerate(outcome.drift, 1):
            seen = ", ".join(str(s) for s in drift.steps)
            lines.append(f"  {number}. {drift.message} (step{'s' if len(drift.steps) > 1 else ''} {seen})")
    elif outcome.error is None:
        lines += ["", f"No drift: the vendor, the spec and the mock agree on {compared} steps ({skipped} skipped)."]
    if outcome.created:
        lines += ["", "Created by verify (the vendor documents no delete; remove them by hand):"]
        for record in outcome.created:
            where = f" at {record['location']}" if record.get("location") else ""
            lines.append(f"  {record['id']} {record['name']!r}{where}")
    lines += outcome.recorded
    if lines:
        lines.append("")
    if outcome.error is not None:
        lines.append(f"Could not run: {outcome.error} (exit 2)")
    else:
        verdict = f"DRIFT ({len(outcome.drift)})" if outcome.drift else "OK"
        waited = f", {outcome.waited:.0f} s waited on 429s" if outcome.waited else ""
        lines.append(f"{verdict}: {outcome.calls} calls to the target{waited}; exit {outcome.exit_code}")
    return "\n".join(plain(line) for line in lines)


def render_json(outcome: Outcome) -> dict[str, Json]:
    """The whole run for machines: every step (both sides) and every drift."""
    labels = {r.step.index: r.step.label for r in outcome.results}
    return {
        "target": outcome.target,
        "result": "error" if outcome.error else ("drift" if outcome.drift else "ok"),
        "exitCode": outcome.exit_code,
        "error": outcome.error,
        "calls": outcome.calls,
        "planned": outcome.planned,
        "waitedSeconds": outcome.waited,
        "limits": outcome.limits,
        "steps": [r.as_json() for r in outcome.results],
        "drift": [{**d.as_json(), "seenIn": [labels[i] for i in d.steps if i in labels]} for d in outcome.drift],
        "created": outcome.created,
        "recorded": outcome.recorded,
    }


def render_junit(outcome: Outcome) -> str:
    """JUnit XML: one test case per step; drift as failures, skipped steps as skipped (what a
    target sent is made ``plain``: XML 1.0 cannot hold control characters)."""
    by_step: dict[int, list[Drift]] = {}
    for drift in outcome.drift:
        for step in drift.steps:
            by_step.setdefault(step, []).append(drift)
    suite = ET.Element(
        "testsuite",
        name="auralytik-mock verify",
        tests=str(len(outcome.results)),
        failures=str(sum(1 for r in outcome.results if r.step.index in by_step)),
        errors="1" if outcome.error else "0",
        skipped=str(sum(1 for r in outcome.results if r.verdict.startswith("skipped"))),
    )
    for r in outcome.results:
        case = ET.SubElement(suite, "testcase", classname=r.step.op.operation_id, name=r.step.case)
        if r.step.index in by_step:
            messages = [plain(d.message) for d in by_step[r.step.index]]
            failure = ET.SubElement(case, "failure", message=messages[0])
            failure.text = "\n".join(messages)
        elif r.verdict.startswith("skipped"):
            ET.SubElement(case, "skipped", message=r.verdict.removeprefix("skipped: "))
    if outcome.error:
        case = ET.SubElement(suite, "testcase", classname="verify", name="run")
        ET.SubElement(case, "error", message=plain(outcome.error))
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)
