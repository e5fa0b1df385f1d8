"""Exports: jobs on the mock's clock whose signed download URL serves the evaluations asked for,
as CSV or as an Excel workbook; the 92-day limit; expired and changed links refused."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from auralytik_mock.http.wsgi import engine_of
from tests.api.support import advance, path_of
from tests.conftest import OTHER, READ_ONLY, Api

ENGAGEMENTS_ONLY = "ENGAGEMENTS_ONLY_API_KEY"


def _download(api: Api, url: str) -> Any:
    raw = api._flask.get(path_of(url))  # bytes as served (no JSON check: a file)
    return raw


def _listed(api: Api, query: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        r = api.get(f"/v1/evaluations?{query}&pageSize=100&page={page}").json
        out += r["data"]
        if len(out) >= r["totalCount"]:
            return out
        page += 1


def finished(api: Api, path: str, body: dict[str, Any]) -> dict[str, Any]:
    started = api.post(path, json=body)
    assert started.status == 202, started.json
    job = started.json
    assert (job["status"], job["progress"], job["downloadUrl"]) == ("queued", 0, None)
    poll = path.replace("/ai-calls", "") + "/" + job["jobId"]
    advance(api, 2)
    assert api.get(poll).json["status"] == "processing"
    advance(api, 2)
    running = api.get(poll).json
    assert (running["status"], running["progress"]) == ("processing", 25)
    advance(api, 6)
    done = api.get(poll).json
    assert done["status"] == "completed" and done["progress"] == 100
    return dict(done)


def test_an_ai_calls_export_csv_holds_the_evaluations_listed_with_the_same_filters(mock: Any, mock_api: Api) -> None:
    body = {"dateFrom": "2024-01-10", "dateTo": "2024-02-15", "campaignId": "camp_12", "status": "evaluated"}
    done = finished(mock_api, "/v1/exports/ai-calls", body)
    assert done["expiresAt"] == "2024-06-01T14:00:10Z"  # 2 hours after completion
    listed = _listed(mock_api, "dateFrom=2024-01-10&dateTo=2024-02-15&campaignId=camp_12&state=Completed")
    assert listed and done["rowCount"] == len(listed)
    file = _download(mock_api, done["downloadUrl"])
    assert file.status_code == 200 and file.headers["Content-Type"].startswith("text/csv")
    assert file.headers["Content-Disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(file.get_data().decode("utf-8"))))
    assert [r["evaluationId"] for r in rows] == [e["id"] for e in listed]
    assert rows[0]["averageNote"] == str(listed[0]["averageNote"]) and rows[0]["audioDate"] == listed[0]["audioDate"]
    events = [e for e in engine_of(mock).events.recent("default") if e["event"] == "export.ready"]
    assert len(events) == 1 and events[0]["data"]["exportId"] == done["jobId"]
    assert events[0]["data"]["downloadUrl"] == done["downloadUrl"]


def test_an_analytics_export_as_xlsx_opens_with_openpyxl(mock_api: Api) -> None:
    from openpyxl import load_workbook

    body = {"dateFrom": "2024-01-01", "dateTo": "2024-01-31", "engagementId": "eng_456", "format": "xlsx"}
    done = finished(mock_api, "/v1/analytics/export", body)
    file = _download(mock_api, done["downloadUrl"])
    assert file.status_code == 200 and file.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(file.get_data()), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    listed = _listed(mock_api, "dateFrom=2024-01-01&dateTo=2024-01-31&engagementId=eng_456")
    assert rows[0][:2] == ("evaluationId", "engagementId")
    assert [r[0] for r in rows[1:]] == [e["id"] for e in listed] and len(listed) == done["rowCount"] > 0


@pytest.mark.parametrize("path", ["/v1/exports/ai-calls", "/v1/analytics/export"])
def test_an_export_whose_campaign_id_contains_fail_ends_failed_with_its_event(
    mock: Any, mock_api: Api, path: str
) -> None:
    started = mock_api.post(path, json={"dateFrom": "2024-01-01", "dateTo": "2024-01-31", "campaignId": "camp_fail"})
    assert started.status == 202 and started.json["status"] == "queued"
    poll = path.replace("/ai-calls", "") + "/" + started.json["jobId"]
    advance(mock_api, 5)
    assert (mock_api.get(poll).json["status"], mock_api.get(poll).json["progress"]) == ("processing", 25)
    advance(mock_api, 1)  # the failure falls at 60 % of the 10 s
    failed = mock_api.get(poll).json
    assert (failed["status"], failed["progress"]) == ("failed", 25)
    assert (failed["downloadUrl"], failed["rowCount"]) == (None, None)
    assert "campaignId contains 'fail'" in failed["error"]
    advance(mock_api, 10)  # the steps after the failure never run
    assert mock_api.get(poll).json == failed
    events = [e["event"] for e in engine_of(mock).events.recent("default") if e["event"].startswith("export.")]
    assert events == ["export.failed"]
    [event] = [e for e in engine_of(mock).events.recent("default") if e["event"] == "export.failed"]
    job_id, error = failed["jobId"], failed["error"]
    assert event["data"] == {"exportId": job_id, "jobId": job_id, "status": "failed", "error": error}
    other = mock_api.post(path, json={"dateFrom": "2024-01-01", "dateTo": "2024-01-31", "campaignId": "camp_12"}).json
    advance(mock_api, 10)
    assert mock_api.get(path.replace("/ai-calls", "") + "/" + other["jobId"]).json["status"] == "completed"


@pytest.mark.parametrize(("date_to", "ok"), [("2024-04-01", True), ("2024-04-02", False)])
def test_a_range_over_92_days_is_refused(mock_api: Api, date_to: str, ok: bool) -> None:
    r = mock_api.post("/v1/exports/ai-calls", json={"dateFrom": "2024-01-01", "dateTo": date_to})
    if ok:
        assert r.status == 202
    else:
        assert r.status == 400 and r.json["error"]["code"] == "DATE_RANGE_TOO_LONG"
        assert r.json["error"]["details"][0]["field"] == "body.dateTo"
        assert mock_api.get("/v1/exports/exp_1000").status == 404  # nothing was created


def test_a_backwards_range_and_an_unknown_timezone_are_refused(mock_api: Api) -> None:
    r = mock_api.post("/v1/exports/ai-calls", json={"dateFrom": "2024-02-01", "dateTo": "2024-01-01"})
    assert r.status == 400 and r.json["error"]["details"][0]["field"] == "body.dateTo"
    r = mock_api.post(
        "/v1/exports/ai-calls", json={"dateFrom": "2024-01-01", "dateTo": "2024-01-02", "timezone": "Mars/Base"}
    )
    assert r.status == 400 and r.json["error"]["details"][0]["field"] == "body.timezone"


def test_the_timezone_sets_the_days(mock_api: Api) -> None:
    utc = finished(mock_api, "/v1/exports/ai-calls", {"dateFrom": "2024-01-15", "dateTo": "2024-01-15"})
    local = finished(
        mock_api, "/v1/exports/ai-calls", {"dateFrom": "2024-01-15", "dateTo": "2024-01-15", "timezone": "Asia/Tokyo"}
    )
    listed = _listed(mock_api, "dateFrom=2024-01-14T15:00:00Z&dateTo=2024-01-15T14:59:59Z")
    assert local["rowCount"] == len(listed) and utc["rowCount"] == len(
        _listed(mock_api, "dateFrom=2024-01-15&dateTo=2024-01-15")
    )


def test_an_export_link_expires_after_2_hours_and_refuses_changes(mock_api: Api) -> None:
    done = finished(mock_api, "/v1/exports/ai-calls", {"dateFrom": "2024-01-01", "dateTo": "2024-01-31"})
    changed = mock_api.get(path_of(done["downloadUrl"]).replace("signature=", "signature=0"), key=None)
    assert changed.status == 403 and changed.json["error"]["code"] == "INVALID_LINK_SIGNATURE"
    other = mock_api.get(path_of(done["downloadUrl"]).replace("client_acme", "client_globex"), key=None)
    assert other.status == 403
    advance(mock_api, 7199)
    assert _download(mock_api, done["downloadUrl"]).status_code == 200
    advance(mock_api, 1)
    expired = mock_api.get(path_of(done["downloadUrl"]), key=None)
    assert expired.status == 403 and expired.json["error"]["code"] == "LINK_EXPIRED"


def test_scopes_and_tenants(mock_api: Api) -> None:
    body = {"dateFrom": "2024-01-01", "dateTo": "2024-01-31"}
    r = mock_api.post("/v1/exports/ai-calls", key=ENGAGEMENTS_ONLY, json=body)
    assert r.status == 403 and r.json["error"]["requiredScope"] == "analytics:export"
    job = mock_api.post("/v1/exports/ai-calls", json=body).json
    assert mock_api.get(f"/v1/exports/{job['jobId']}", key=OTHER).status == 404
    assert mock_api.get(f"/v1/exports/{job['jobId']}", key=ENGAGEMENTS_ONLY).status == 403
    poll = f"/v1/exports/{job['jobId']}"
    assert mock_api.get(poll, key=READ_ONLY).status == 200  # the vendor's scope: analytics:export
    analytics = mock_api.post("/v1/analytics/export", json=body).json
    assert mock_api.get(f"/v1/analytics/export/{analytics['jobId']}", key=READ_ONLY).status == 200  # analytics:read
