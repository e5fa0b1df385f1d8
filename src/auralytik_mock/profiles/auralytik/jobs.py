"""What Auralytik's jobs make: the effects and files its spec's ``x-mock-job`` steps name.

Owns: ``EFFECTS`` (by the names ``openapi.yaml`` uses) and ``FILES``:

- ``transcribeAudio``: the audio file's transcript (kept with it, served by
  ``GET /audio-files/{id}/transcript``), made by the generator from ``EvaluationTranscript``
  and as long as the audio; fires ``audio.transcribed``;
- ``evaluateAudio``: an evaluation of the file in its engagement (state ``Completed``, the
  file's name, date, length, campaign; the rest generated as the fixtures' are), with the
  same transcript; the file's ``evaluationId``; fires ``evaluation.completed`` then
  ``audio.processed``;
- ``failAudio``: fires ``audio.failed`` with ``status: failed`` and the error (the spec's
  failure event: the vendor names none);
- ``buildExport``: the evaluations an export's body selects, kept with the job, its
  ``rowCount``, its ``downloadUrl`` (2 hours); fires ``export.ready``;
- ``failExport``: fires ``export.failed`` with ``status: failed`` and the error;
- ``exportFile``: that selection as CSV or an Excel workbook (openpyxl).

The generic engine (``core/jobs.py``) runs them; nothing here is needed by another vendor's spec.
May import: ``core`` (jobs, profile, store, types), ``generate``, openpyxl.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from ...core.jobs import Effect, FileMaker, JobRun
from ...core.profile import profile_for
from ...core.spec import Spec
from ...core.store import Condition
from ...core.types import Json
from ...generate import generate_records, generate_value

#: How long a finished export's link works, in seconds (the vendor: 2 hours).
EXPORT_LINK_SECONDS = 2 * 3600
#: The columns of an export, in order: evaluation fields (``id`` as ``evaluationId``).
COLUMNS = (
    "evaluationId",
    "engagementId",
    "engagementName",
    "campaignId",
    "callCenterId",
    "audioFileName",
    "audioDate",
    "executiveName",
    "durationInSeconds",
    "state",
    "sentiment",
    "averageNote",
    "isAICall",
    "createdAt",
)
#: The AI-calls export's ``status`` -> the evaluation states it keeps.
STATUS_STATES = {
    "evaluated": {"Completed"},
    "notEvaluated": {"Pending", "Processing", "Failed"},
    "pending": {"Pending"},
    "processing": {"Processing"},
    "failed": {"Failed"},
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@cache
def _inlined(spec: Spec, name: str) -> dict[str, Any]:
    found = spec.inline(spec.lookup(f"/components/schemas/{name}"))
    assert isinstance(found, dict)
    return found


def _kind(run: JobRun, schema_name: str) -> tuple[str, str]:
    """The store kind and id prefix of the resource whose record schema is ``schema_name``."""
    resource = next(r for r in run.resources.by_kind.values() if r.schema_name == schema_name)
    return resource.kind, resource.id_prefix


def transcribe_audio(run: JobRun) -> None:
    audio = run.record
    duration = audio.get("durationInSeconds")
    transcript = generate_value(
        _inlined(run.spec, "EvaluationTranscript"),
        key=(run.namespace, run.principal.client_id, run.record_id, str(run.memory.get("run"))),
        name="transcript",
        kind=run.resource.kind,
        parent={"durationInSeconds": duration if isinstance(duration, int | float) and duration > 0 else 60},
        vocabulary=profile_for(run.spec.document).vocabulary,
    )
    run.update({"transcript": transcript})
    run.emit(
        "audio.transcribed",
        {"audioFileId": run.record_id, "engagementId": audio.get("engagementId"), "status": audio.get("status")},
    )


def evaluate_audio(run: JobRun) -> None:
    audio, store, principal = run.record, run.store, run.principal
    kind, prefix = _kind(run, "Evaluation")
    campaign = audio.get("campaignId")
    if not isinstance(campaign, str):
        first, _ = store.list(principal, _kind(run, "Campaign")[0], 0, 1)
        campaign = first[0]["id"] if first else None
    fixed: dict[str, Json] = {
        "engagementId": audio["engagementId"],
        "audioFileName": audio["fileName"],
        "audioDate": audio.get("uploadedAt") or audio.get("createdAt"),
        "state": "Completed",
        "isAICall": bool(audio.get("isAICall")),
    }
    if campaign is not None:
        fixed["campaignId"] = campaign
        alike, _ = store.list(principal, kind, 0, 1, [Condition("campaignId", "eq", campaign)])
        if alike:
            fixed["callCenterId"] = alike[0]["callCenterId"]
    duration = audio.get("durationInSeconds")
    if isinstance(duration, int | float) and duration > 0:
        fixed["durationInSeconds"] = duration
    (made,) = generate_records(
        {"generate": 1, "with": fixed},
        _inlined(run.spec, "Evaluation"),
        kind=kind,
        key=(run.namespace, principal.client_id, run.record_id, str(run.memory.get("run"))),
        vocabulary=profile_for(run.spec.document).vocabulary,
    )
    made.pop("id", None)
    made["createdAt"] = run.now
    evaluation = store.create(principal, kind, prefix, made)
    transcript = store.hidden(principal, run.resource.kind, run.record_id, "transcript")
    if transcript is not None:
        store.update(principal, kind, str(evaluation["id"]), {"transcript": transcript})
    run.update({"evaluationId": evaluation["id"]})
    run.emit(
        "evaluation.completed",
        {
            "evaluationId": evaluation["id"],
            "engagementId": evaluation["engagementId"],
            "audioFileId": run.record_id,
            "state": evaluation["state"],
            "averageNote": evaluation["averageNote"],
            "sentiment": evaluation["sentiment"],
        },
    )
    run.emit(
        "audio.processed",
        {
            "audioFileId": run.record_id,
            "engagementId": audio["engagementId"],
            "evaluationId": evaluation["id"],
            "status": "processed",
        },
    )


def fail_audio(run: JobRun) -> None:
    audio = run.record
    run.emit(
        "audio.failed",
        {
            "audioFileId": run.record_id,
            "engagementId": audio.get("engagementId"),
            "status": "failed",
            "error": audio.get("error"),
        },
    )


def _bounds(request: Mapping[str, Json]) -> tuple[str, str, ZoneInfo]:
    """The export's first and last instant (RFC 3339 UTC) from its local days."""
    zone = ZoneInfo(str(request.get("timezone") or "UTC"))
    start = datetime.combine(date.fromisoformat(str(request["dateFrom"])), time(), zone)
    end = datetime.combine(date.fromisoformat(str(request["dateTo"])) + timedelta(days=1), time(), zone)
    end -= timedelta(seconds=1)

    def utc(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    return utc(start), utc(end), zone


def selected(run: JobRun, request: Mapping[str, Json]) -> list[dict[str, Json]]:
    """The client's evaluations an export's body selects, newest first (as the list answers)."""
    kind, _ = _kind(run, "Evaluation")
    start, end, _ = _bounds(request)
    where = [Condition("audioDate", "gte", start), Condition("audioDate", "lte", end)]
    for name in ("campaignId", "callCenterId", "engagementId"):
        if isinstance(request.get(name), str):
            where.append(Condition(name, "eq", request[name]))
    found, _ = run.store.list(run.principal, kind, 0, 1 << 40, where)
    states = STATUS_STATES.get(str(request.get("status")))
    return [e for e in found if states is None or e.get("state") in states]


def build_export(run: JobRun) -> None:
    request = run.memory.get("request")
    rows = selected(run, request if isinstance(request, dict) else {})
    url, expires = run.file_link(EXPORT_LINK_SECONDS)
    run.update(
        {
            "rowCount": len(rows),
            "downloadUrl": url,
            "expiresAt": expires,
            "job": {**run.memory, "rows": [str(e["id"]) for e in rows]},
        }
    )
    run.emit(
        "export.ready",
        {
            "exportId": run.record_id,
            "jobId": run.record_id,
            "format": run.record.get("format"),
            "rowCount": len(rows),
            "downloadUrl": url,
            "expiresAt": expires,
        },
    )


def fail_export(run: JobRun) -> None:
    run.emit(
        "export.failed",
        {"exportId": run.record_id, "jobId": run.record_id, "status": "failed", "error": run.record.get("error")},
    )


def _cell(name: str, value: Json, zone: ZoneInfo) -> Json:
    if name == "audioDate" and isinstance(value, str) and str(zone) != "UTC":
        moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00")).astimezone(zone)
        return moment.isoformat()
    return value


def export_file(run: JobRun) -> tuple[bytes, str, str]:
    kind, _ = _kind(run, "Evaluation")
    request = run.memory.get("request")
    zone = ZoneInfo(str((request or {}).get("timezone") or "UTC")) if isinstance(request, dict) else ZoneInfo("UTC")
    rows: list[list[Json]] = []
    for evaluation_id in run.memory.get("rows") or []:
        try:
            evaluation = run.store.get(run.principal, kind, str(evaluation_id))
        except Exception:  # deleted since: the file lists what still exists
            continue
        evaluation["evaluationId"] = evaluation.get("id")
        rows.append([_cell(name, evaluation.get(name), zone) for name in COLUMNS])
    name = f"{run.record_id}-{run.record.get('dateFrom')}-{run.record.get('dateTo')}"
    if run.record.get("format") == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("Evaluations")
        sheet.append(list(COLUMNS))
        for row in rows:
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue(), XLSX, f"{name}.xlsx"
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if v is None else str(v).lower() if isinstance(v, bool) else v for v in row])
    return text.getvalue().encode("utf-8"), "text/csv; charset=utf-8", f"{name}.csv"


EFFECTS: dict[str, Effect] = {
    "transcribeAudio": transcribe_audio,
    "evaluateAudio": evaluate_audio,
    "failAudio": fail_audio,
    "buildExport": build_export,
    "failExport": fail_export,
}
FILES: dict[str, FileMaker] = {"exportFile": export_file}
