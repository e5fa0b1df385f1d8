"""The vendor's Evaluations, served from openapi.yaml and fixtures alone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import KEY, NO_SCOPE, OTHER, READ_ONLY, Api

ENGAGEMENTS_ONLY = "ENGAGEMENTS_ONLY_API_KEY"
EXPECTED_COUNTS = {
    KEY: {"eng_456": 142, "eng_457": 58, "eng_458": 17, "eng_459": 230, "eng_460": 0},
    OTHER: {"eng_901": 12, "eng_902": 64},
}


def _all(api: Api, query: str = "", key: str = KEY) -> list[dict[str, Any]]:
    """Every evaluation the query selects, page by page (100 a page)."""
    records: list[dict[str, Any]] = []
    page = 1
    while True:
        sep = "&" if query else ""
        r = api.get(f"/v1/evaluations?{query}{sep}pageSize=100&page={page}", key=key)
        assert r.status == 200, r.json
        records += r.json["data"]
        if page * 100 >= r.json["totalCount"]:
            assert len(records) == r.json["totalCount"]
            return records
        page += 1


def test_list_evaluations_of_eng_456_counts_142_like_the_engagement(api: Api) -> None:
    listed = api.get("/v1/evaluations?engagementId=eng_456")
    engagement = api.get("/v1/engagements/eng_456")
    assert listed.status == 200
    assert listed.json["totalCount"] == 142 == engagement.json["evaluationCount"]
    assert listed.json["page"] == 1 and listed.json["pageSize"] == 25 and len(listed.json["data"]) == 25
    assert {e["engagementId"] for e in listed.json["data"]} == {"eng_456"}
    assert {e["engagementName"] for e in listed.json["data"]} == {"Q1 Quality Review"}


@pytest.mark.parametrize("key", [KEY, OTHER])
def test_every_engagement_count_is_backed_by_its_evaluations(api: Api, key: str) -> None:
    engagements = api.get("/v1/engagements?pageSize=100", key=key).json["data"]
    counts = {e["id"]: e["evaluationCount"] for e in engagements}
    assert counts == EXPECTED_COUNTS[key]
    for engagement_id, count in counts.items():
        assert api.get(f"/v1/evaluations?engagementId={engagement_id}", key=key).json["totalCount"] == count


def test_list_evaluations_is_newest_first_and_pages_visit_each_once(api: Api) -> None:
    records = _all(api)
    assert len(records) == sum(EXPECTED_COUNTS[KEY].values())
    assert len({r["id"] for r in records}) == len(records)
    created = [r["createdAt"] for r in records]
    assert created == sorted(created, reverse=True)


@pytest.mark.parametrize(
    ("query", "field", "value"),
    [
        ("state=Completed", "state", "Completed"),
        ("state=Failed", "state", "Failed"),
        ("sentiment=Negative", "sentiment", "Negative"),
        ("isAICall=true", "isAICall", True),
        ("isAICall=false", "isAICall", False),
        ("campaignId=camp_12", "campaignId", "camp_12"),
        ("callCenterId=cc_lyon", "callCenterId", "cc_lyon"),
        ("engagementId=eng_458", "engagementId", "eng_458"),
    ],
)
def test_list_evaluations_equality_filter_selects_exactly_the_matching_records(
    api: Api, query: str, field: str, value: Any
) -> None:
    everything = _all(api)
    selected = _all(api, query)
    assert selected, "the fixtures hold matching evaluations"
    assert [r["id"] for r in selected] == [r["id"] for r in everything if r[field] == value]


def test_list_evaluations_combines_filters_as_and(api: Api) -> None:
    everything = _all(api)
    selected = _all(api, "state=Completed&sentiment=Positive&engagementId=eng_459")
    expected = [
        r["id"]
        for r in everything
        if r["state"] == "Completed" and r["sentiment"] == "Positive" and r["engagementId"] == "eng_459"
    ]
    assert selected and [r["id"] for r in selected] == expected


def test_list_evaluations_date_range_bounds_audio_date_inclusively(api: Api) -> None:
    everything = _all(api)
    days = sorted(r["audioDate"][:10] for r in everything)
    start, end = days[len(days) // 3], days[len(days) // 2]
    selected = _all(api, f"dateFrom={start}&dateTo={end}")
    expected = [r["id"] for r in everything if f"{start}T00:00:00Z" <= r["audioDate"] <= f"{end}T23:59:59Z"]
    assert selected and [r["id"] for r in selected] == expected
    assert any(r["audioDate"].startswith(end) for r in selected), "a date-only dateTo covers its whole day"
    one = everything[0]["audioDate"]
    exact = _all(api, f"dateFrom={one}&dateTo={one}")
    assert everything[0]["id"] in {r["id"] for r in exact}
    assert all(r["audioDate"] == one for r in exact)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("pageSize=101", "query.pageSize"),
        ("pageSize=0", "query.pageSize"),
        ("state=Done", "query.state"),
        ("sentiment=positive", "query.sentiment"),
        ("isAICall=yes", "query.isAICall"),
        ("dateFrom=yesterday", "query.dateFrom"),
        ("status=active", "query.status"),
    ],
)
def test_list_evaluations_with_bad_query_returns_400_naming_it(api: Api, query: str, field: str) -> None:
    r = api.get(f"/v1/evaluations?{query}")
    assert r.status == 400 and r.json["error"]["code"] == "VALIDATION_ERROR"
    assert field in {d["field"] for d in r.json["error"]["details"]}


def test_get_evaluation_and_its_transcript_and_results(api: Api) -> None:
    first = api.get("/v1/evaluations?engagementId=eng_457&pageSize=1").json["data"][0]
    one = api.get(f"/v1/evaluations/{first['id']}")
    assert one.status == 200 and one.json == first
    transcript = api.get(f"/v1/evaluations/{first['id']}/transcript")
    assert transcript.status == 200 and transcript.json["segments"]
    assert {s["speaker"] for s in transcript.json["segments"]} <= {"agent", "customer"}
    results = api.get(f"/v1/evaluations/{first['id']}/results")
    assert results.status == 200 and results.json == first["results"]


@pytest.mark.parametrize("suffix", ["", "/transcript", "/results"])
def test_another_clients_evaluation_is_404(api: Api, suffix: str) -> None:
    theirs = api.get("/v1/evaluations?pageSize=1", key=OTHER).json["data"][0]["id"]
    r = api.get(f"/v1/evaluations/{theirs}{suffix}")
    assert r.status == 404 and r.json["error"]["code"] == "NOT_FOUND"
    assert theirs in r.json["error"]["message"]


@pytest.mark.parametrize("suffix", ["", "/transcript", "/results"])
@pytest.mark.parametrize("bad_id", ["eng_456", "eval_does_not_exist", "EVAL-1", "123"])
def test_an_evaluation_id_of_any_spelling_that_is_not_there_is_404(api: Api, suffix: str, bad_id: str) -> None:
    # Only what the vendor documents is constrained: an id that is not found is a 404, whatever its spelling.
    r = api.get(f"/v1/evaluations/{bad_id}{suffix}")
    assert r.status == 404 and r.json["error"]["code"] == "NOT_FOUND" and bad_id in r.json["error"]["message"]


@pytest.mark.parametrize("query", ["engagementId=456", "campaignId=nope", "callCenterId=CC-9"])
def test_a_filter_value_no_record_has_matches_nothing(api: Api, query: str) -> None:
    r = api.get(f"/v1/evaluations?{query}")
    assert r.status == 200 and r.json["data"] == [] and r.json["totalCount"] == 0


@pytest.mark.parametrize(
    ("key", "status"),
    [(KEY, 200), (READ_ONLY, 200), (OTHER, 200), (ENGAGEMENTS_ONLY, 403), (NO_SCOPE, 403), (None, 401)],
)
@pytest.mark.parametrize("path", ["/v1/evaluations", "/v1/evaluations/{acme}", "/v1/evaluations/{acme}/results"])
def test_evaluations_need_the_evaluations_read_scope(api: Api, key: str | None, status: int, path: str) -> None:
    acme = api.get("/v1/evaluations?pageSize=1").json["data"][0]["id"]
    r = api.get(path.format(acme=acme), key=key)
    if key == OTHER and path != "/v1/evaluations":
        status = 404  # Acme's evaluation: not revealed to Globex
    assert r.status == status
    if status == 403:
        assert r.json["error"]["requiredScope"] == "evaluations:read"


def test_engagements_only_key_still_manages_engagements(api: Api) -> None:
    assert api.get("/v1/engagements", key=ENGAGEMENTS_ONLY).status == 200
    created = api.post("/v1/engagements", key=ENGAGEMENTS_ONLY, json={"name": "X", "type": "quality_review"})
    assert created.status == 201


def test_engagement_name_in_evaluations_follows_a_rename(api: Api) -> None:
    assert api.patch("/v1/engagements/eng_458", json={"name": "Disputes, renamed"}).status == 200
    listed = api.get("/v1/evaluations?engagementId=eng_458").json["data"]
    assert listed and {e["engagementName"] for e in listed} == {"Disputes, renamed"}


def test_other_clients_filter_by_my_engagement_finds_nothing(api: Api) -> None:
    r = api.get("/v1/evaluations?engagementId=eng_456", key=OTHER)
    assert r.status == 200 and r.json["totalCount"] == 0 and r.json["data"] == []


def test_a_state_load_that_adds_an_evaluation_moves_the_count(api: Api) -> None:
    state = api.get("/__mock/state", key=None).json
    acme = next(c for c in state["clients"] if c["id"] == "client_acme")
    assert next(e for e in acme["engagements"] if e["id"] == "eng_456")["evaluationCount"] == 142
    extra = dict(next(e for e in acme["evaluations"] if e["engagementId"] == "eng_457"))
    extra.update(id="eval_9999", engagementId="eng_456", engagementName="stale name, recomputed")
    acme["evaluations"].append(extra)
    # JSON: the ~5 MB state through YAML took 10-13 s a call (YAML state loads are pinned in
    # tests/test_hardening.py with a smaller state).
    loaded = api.request("PUT", "/__mock/state", key=None, json=state)
    assert loaded.status == 200, loaded.json
    assert api.get("/v1/engagements/eng_456").json["evaluationCount"] == 143
    assert api.get("/v1/evaluations?engagementId=eng_456").json["totalCount"] == 143
    assert api.get("/v1/evaluations/eval_9999").json["engagementName"] == "Q1 Quality Review"
    assert api.get("/v1/evaluations/eval_9999/transcript").status == 200


def test_a_state_load_naming_a_missing_engagement_is_refused(api: Api) -> None:
    state = api.get("/__mock/state", key=None).json
    acme = next(c for c in state["clients"] if c["id"] == "client_acme")
    acme["evaluations"][0]["engagementId"] = "eng_999"
    loaded = api.request("PUT", "/__mock/state", key=None, json=state)
    assert loaded.status == 400
    assert "engagementId: no engagements record 'eng_999'" in str(loaded.json)
    assert api.get("/v1/engagements/eng_456").json["evaluationCount"] == 142
