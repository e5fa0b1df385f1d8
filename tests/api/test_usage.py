"""Usage counted from the calls the mock answered (x-mock-usage)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from auralytik_mock import FixtureError, create_app
from auralytik_mock.http.wsgi import engine_of
from tests.conftest import OTHER, Api, make_config

ENGAGEMENTS_ONLY = "ENGAGEMENTS_ONLY_API_KEY"
PERIOD = "2024-06"  # the tests' pinned clock is 2024-06-01


def _calls(api: Api, key_id: str) -> int:
    keys = api.get(f"/v1/usage/by-key?billingPeriod={PERIOD}").json["keys"]
    return next(k["calls"] for k in keys if k["keyId"] == key_id)


def test_n_calls_with_a_key_show_as_n_more_in_by_key(api: Api) -> None:
    before = _calls(api, "REA..._KEY")
    for _ in range(5):
        assert api.get("/v1/engagements", key="READ_ONLY_API_KEY").status == 200
    api.get("/v1/engagements/eng_nope", key="READ_ONLY_API_KEY")  # a 404 is a call answered too
    assert _calls(api, "REA..._KEY") == before + 6


def test_by_key_lists_every_key_of_the_client_masked_as_the_journal_masks_them(api: Api) -> None:
    r = api.get("/v1/usage/by-key")
    assert r.status == 200 and r.json["billingPeriod"] == PERIOD
    ids = [k["keyId"] for k in r.json["keys"]]
    assert ids == ["YOU..._KEY", "REA..._KEY", "ENG..._KEY", "NO_..._KEY", "ak_...45pq", "ak_...0000"]
    assert all("API_KEY" not in i for i in ids)
    assert api.get("/__mock/requests", key=None).json["requests"][-1]["apiKey"] == "YOU..._KEY"


def test_summary_counts_the_clients_calls_against_the_tier(api: Api) -> None:
    first = api.get("/v1/usage/summary").json
    assert first["tier"] == "professional" and set(first["usage"]) == {"calls", "webhooks", "storage_gb"}
    second = api.get("/v1/usage/summary").json
    assert second["usage"]["calls"]["used"] == first["usage"]["calls"]["used"] + 1
    assert second["usage"]["calls"]["included"] == 10000 and second["usage"]["calls"]["overage"] == 0
    assert api.get("/v1/usage/summary?billingPeriod=2024-01").json["usage"]["calls"]["used"] == 0


def test_the_tier_and_its_included_amounts_are_the_clients_plan_in_the_fixtures(api: Api, tmp_path: Path) -> None:
    other = api.get("/v1/usage/summary", key=OTHER).json
    assert other["tier"] == "starter" and other["usage"]["calls"]["included"] == 2000
    assert other["usage"]["storage_gb"] == {"used": 0, "included": 5.0, "overage": 0}
    # a client without a plan is on tier "none": every call is overage
    planless = {"id": "c", "apiKeys": [{"key": "K", "scopes": ["usage:read"]}]}
    path = tmp_path / "planless.yaml"
    path.write_text(json.dumps({"clients": [planless]}))
    client = create_app(make_config(fixtures=(path,))).test_client()
    summary = client.get("/v1/usage/summary", headers={"Authorization": "Bearer K"}).get_json()
    assert summary["tier"] == "none" and summary["usage"] == {"calls": {"used": 0, "included": 0, "overage": 0}}
    again = client.get("/v1/usage/summary", headers={"Authorization": "Bearer K"}).get_json()
    assert again["usage"]["calls"] == {"used": 1, "included": 0, "overage": 1}


def test_a_malformed_plan_stops_start_up_naming_it(tmp_path: Path) -> None:
    bad = {"id": "c", "plan": {"tier": "pro", "included": {"calls": "lots"}}, "apiKeys": []}
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps({"clients": [bad]}))
    with pytest.raises(FixtureError, match=r"clients\[0\]\.plan\.included: must map each meter"):
        create_app(make_config(fixtures=(path,)))


def test_details_itemise_calls_per_key_and_day(api: Api) -> None:
    api.get("/v1/engagements")
    r = api.get(f"/v1/usage/details?billingPeriod={PERIOD}&page=1&pageSize=50")
    assert r.status == 200 and r.json["page"] == 1 and r.json["pageSize"] == 50
    mine = [d for d in r.json["data"] if d["keyId"] == "YOU..._KEY"]
    assert mine and mine[0]["date"] == "2024-06-01" and mine[0]["calls"] >= 1


def test_usage_is_per_client_and_needs_its_scope(api: Api) -> None:
    other = api.get("/v1/usage/by-key", key=OTHER).json["keys"]
    assert [k["keyId"] for k in other] == ["OTH..._KEY"]
    r = api.get("/v1/usage/summary", key=ENGAGEMENTS_ONLY)
    assert r.status == 403 and r.json["error"]["requiredScope"] == "usage:read"
    assert api.get("/v1/usage/summary?billingPeriod=2024-13").status == 400


def test_the_counts_survive_a_restart_with_persist(tmp_path: Path, small_fixtures: Path) -> None:
    path = tmp_path / "state.json"
    persisting = make_config(persist=path, fixtures=(small_fixtures,))  # each save writes the whole state
    client = create_app(persisting).test_client()
    auth = {"Authorization": "Bearer YOUR_API_KEY"}
    for _ in range(3):
        client.get("/v1/engagements", headers=auth)
    client.post("/v1/engagements", json={"name": "kept", "type": "quality_review"}, headers=auth)  # a write saves
    engine_of(client.application).close()  # the last save
    saved = json.loads(path.read_text())
    assert sum(row[3] for row in saved["usage"]["default"] if row[1] == "YOUR_API_KEY") == 4

    again = create_app(persisting).test_client()
    keys = again.get(f"/v1/usage/by-key?billingPeriod={PERIOD}", headers=auth).get_json()["keys"]
    assert keys[0] == {"keyId": "YOU..._KEY", "name": "API key 1", "calls": 4, "lastUsedAt": "2024-06-01T12:00:00Z"}
    engine_of(again.application).close()


def test_calls_that_change_nothing_are_saved_too_at_shutdown_and_within_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_fixtures: Path
) -> None:
    # Reads alone once left the state file unwritten: a restart lost every count.
    from auralytik_mock.harness import persist

    path = tmp_path / "state.json"
    auth = {"Authorization": "Bearer YOUR_API_KEY"}
    persisting = make_config(persist=path, fixtures=(small_fixtures,))  # each save writes the whole state
    client = create_app(persisting).test_client()
    for _ in range(3):
        assert client.get("/v1/engagements", headers=auth).status_code == 200
    engine_of(client.application).close()  # a clean shutdown (SIGTERM) saves the counts
    again = create_app(persisting).test_client()
    keys = again.get(f"/v1/usage/by-key?billingPeriod={PERIOD}", headers=auth).get_json()["keys"]
    assert keys[0]["calls"] == 3

    # While it runs, a read's count is on disk within USAGE_LAG seconds, no write needed.
    monkeypatch.setattr(persist, "USAGE_LAG", 0.3)
    before = path.stat().st_mtime_ns
    assert again.get("/v1/engagements", headers=auth).status_code == 200  # the 5th call: by-key was the 4th
    deadline = time.monotonic() + 10
    while path.stat().st_mtime_ns == before and time.monotonic() < deadline:
        time.sleep(0.05)
    saved = json.loads(path.read_text())
    assert sum(row[3] for row in saved["usage"]["default"] if row[1] == "YOUR_API_KEY") == 5
    engine_of(again.application).close()
