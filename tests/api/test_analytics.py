"""Analytics computed from the state (x-mock-aggregate): they agree with the lists they summarise."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.conftest import KEY, OTHER, Api

ENGAGEMENTS_ONLY = "ENGAGEMENTS_ONLY_API_KEY"
FILTERS = [
    "",
    "dateFrom=2024-01-01&dateTo=2024-01-31",
    "engagementId=eng_456&callCenterId=cc_lyon",
    "campaignId=camp_9&dateFrom=2023-12-01",
    "campaignId=camp_789",
]


def _evaluations(api: Api, query: str, key: str = KEY) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    page = 1
    while True:
        r = api.get(f"/v1/evaluations?{query}&pageSize=100&page={page}", key=key)
        assert r.status == 200, r.json
        records += r.json["data"]
        if page * 100 >= r.json["totalCount"]:
            return records
        page += 1


def _expected(records: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(records)
    shares = {s: sum(r["sentiment"] == s for r in records) / n if n else 0 for s in ("Positive", "Neutral", "Negative")}
    return {
        "evaluationCount": n,
        "averageNote": sum(r["averageNote"] for r in records) / n if n else None,
        "sentimentShares": shares,
    }


def _agrees(summary: dict[str, Any], records: list[dict[str, Any]]) -> None:
    expected = _expected(records)
    assert summary["evaluationCount"] == expected["evaluationCount"]
    if expected["averageNote"] is None:
        assert summary["averageNote"] is None
    else:
        assert summary["averageNote"] == pytest.approx(expected["averageNote"], abs=0.005)
    for sentiment, share in expected["sentimentShares"].items():
        assert summary["sentimentShares"][sentiment] == pytest.approx(share, abs=0.00005)


@pytest.mark.parametrize("query", FILTERS)
def test_summary_agrees_with_the_evaluations_listed_with_the_same_filters(api: Api, query: str) -> None:
    summary = api.get(f"/v1/analytics/summary?{query}")
    assert summary.status == 200
    _agrees(summary.json, _evaluations(api, query))


def test_the_vendors_example_requests_answer_their_shapes(api: Api) -> None:
    summary = api.get("/v1/analytics/summary?dateFrom=2024-01-01&dateTo=2024-01-31")
    assert summary.status == 200 and summary.json["evaluationCount"] > 0
    assert set(summary.json) == {
        "evaluationCount", "averageNote", "averageDurationSeconds", "sentimentShares", "stateShares"
    }  # fmt: skip
    trends = api.get("/v1/analytics/trends?granularity=weekly&campaignId=camp_789")
    assert trends.status == 200 and trends.json == {"granularity": "weekly", "data": []}  # no calls in camp_789 yet


def test_summary_moves_after_a_data_change_and_back_after_a_reset(api: Api) -> None:
    before = api.get("/v1/analytics/summary?engagementId=eng_456").json
    state = api.get("/__mock/state", key=None).json
    acme = state["clients"][0]
    acme["evaluations"] = [e for e in acme["evaluations"] if e["sentiment"] != "Negative"]
    assert api.request("PUT", "/__mock/state", key=None, json=state).status == 200
    after = api.get("/v1/analytics/summary?engagementId=eng_456").json
    assert after["evaluationCount"] < before["evaluationCount"] and after["sentimentShares"]["Negative"] == 0
    _agrees(after, _evaluations(api, "engagementId=eng_456"))
    assert api.post("/__mock/reset", key=None).status == 200
    assert api.get("/v1/analytics/summary?engagementId=eng_456").json == before


@pytest.mark.parametrize(
    ("path", "field", "query"),
    [
        ("campaigns", "campaignId", "dateFrom=2024-01-01"),
        ("call-centers", "callCenterId", "engagementId=eng_459"),
        ("executives", "executiveName", "campaignId=camp_15"),
    ],
)
def test_each_breakdown_item_agrees_with_the_list_of_its_group(api: Api, path: str, field: str, query: str) -> None:
    r = api.get(f"/v1/analytics/{path}?{query}")
    assert r.status == 200
    records = _evaluations(api, query)
    groups = sorted({e[field] for e in records})
    assert [item[field] for item in r.json["data"]] == groups
    assert sum(item["evaluationCount"] for item in r.json["data"]) == len(records)
    for item in r.json["data"]:
        _agrees(item, [e for e in records if e[field] == item[field]])


def test_call_centers_and_executives_are_records_the_breakdowns_name(api: Api) -> None:
    state = api.get("/__mock/state", key=None).json
    acme = next(c for c in state["clients"] if c["id"] == "client_acme")
    names = {c["id"]: c["name"] for c in acme["call-centers"]}
    rows = api.get("/v1/analytics/call-centers").json["data"]
    assert [(r["callCenterId"], r["callCenterName"]) for r in rows] == sorted(names.items())
    executives = [r["executiveName"] for r in api.get("/v1/analytics/executives").json["data"]]
    assert set(executives) == {e["name"] for e in acme["executives"]}  # a team of 12, not a name per call
    # a name changed in the state shows in the next breakdown
    acme["call-centers"][0]["name"] = "Acme Paris-Est"
    assert api.request("PUT", "/__mock/state", key=None, json=state).status == 200
    rows = api.get("/v1/analytics/call-centers").json["data"]
    assert {r["callCenterId"]: r["callCenterName"] for r in rows}[acme["call-centers"][0]["id"]] == "Acme Paris-Est"


@pytest.mark.parametrize(
    ("granularity", "points", "weekday"),
    [("daily", 31, None), ("weekly", 5, 0), ("monthly", 1, None)],
)
def test_trends_give_one_point_per_period_of_the_range(
    api: Api, granularity: str, points: int, weekday: int | None
) -> None:
    query = "dateFrom=2024-01-01&dateTo=2024-01-31&engagementId=eng_456"
    r = api.get(f"/v1/analytics/trends?granularity={granularity}&{query}")
    assert r.status == 200 and r.json["granularity"] == granularity
    periods = [date.fromisoformat(p["period"]) for p in r.json["data"]]
    assert len(periods) == points and periods == sorted(periods)
    if weekday is not None:
        assert {p.weekday() for p in periods} == {weekday}
    records = _evaluations(api, query)
    assert sum(p["evaluationCount"] for p in r.json["data"]) == len(records)
    end = periods[1] if len(periods) > 1 else date(2024, 2, 1)
    _agrees(r.json["data"][0], [e for e in records if periods[0] <= date.fromisoformat(e["audioDate"][:10]) < end])


def test_trends_default_to_daily_stop_at_4000_points_and_refuse_a_bad_granularity(api: Api) -> None:
    assert api.get("/v1/analytics/trends?dateFrom=2024-01-01&dateTo=2024-01-02").json["granularity"] == "daily"
    r = api.get("/v1/analytics/trends?dateFrom=2000-01-01&dateTo=2024-01-01")  # 8,767 days
    assert r.status == 200 and len(r.json["data"]) == 4000 and r.json["data"][-1]["period"] == "2010-12-13"
    assert api.get("/v1/analytics/trends?dateFrom=2000-01-01&dateTo=2024-01-01&granularity=monthly").status == 200
    assert api.get("/v1/analytics/trends?granularity=hourly").status == 400


def test_analytics_count_only_the_callers_clients_records(api: Api) -> None:
    assert api.get("/v1/analytics/summary", key=OTHER).json["evaluationCount"] == 76
    assert api.get("/v1/analytics/summary?engagementId=eng_901").json["evaluationCount"] == 0


def test_a_key_without_analytics_read_gets_403(api: Api) -> None:
    r = api.get("/v1/analytics/summary", key=ENGAGEMENTS_ONLY)
    assert r.status == 403 and r.json["error"]["requiredScope"] == "analytics:read"
