"""The vendor's Campaigns: read-only records that every evaluation's campaignId names."""

from __future__ import annotations

import pytest

from auralytik_mock import create_app
from tests.conftest import KEY, OTHER, Api, make_config

ENGAGEMENTS_ONLY = "ENGAGEMENTS_ONLY_API_KEY"


def test_the_vendors_example_request_answers_its_documented_shape(api: Api) -> None:
    r = api.get("/v1/campaigns?status=Running&page=1&pageSize=10")
    assert r.status == 200
    assert set(r.json) == {"data", "page", "pageSize", "totalCount"}
    assert r.json["page"] == 1 and r.json["pageSize"] == 10
    assert r.json["totalCount"] == 3 and {c["status"] for c in r.json["data"]} == {"Running"}
    one = api.get("/v1/campaigns/camp_789")
    assert one.status == 200 and one.json["name"] == "Q1 Outbound Sales" and one.json["type"] == "VoiceBot"


def test_every_campaign_an_evaluation_names_resolves(api: Api) -> None:
    for key in (KEY, OTHER):
        named = set()
        page = 1
        while True:
            r = api.get(f"/v1/evaluations?pageSize=100&page={page}", key=key)
            named |= {e["campaignId"] for e in r.json["data"]}
            if page * 100 >= r.json["totalCount"]:
                break
            page += 1
        for campaign_id in named:
            assert api.get(f"/v1/campaigns/{campaign_id}", key=key).status == 200, campaign_id


def test_every_reference_of_every_fixture_collection_resolves() -> None:
    """Referential integrity of the bundled data, every collection: a campaignId, callCenterId
    or engagementId names a record of the same client, and an evaluation's executive is one of
    its call center's executives."""
    state = create_app(make_config()).test_client().get("/__mock/state").get_json()
    for client in state["clients"]:
        ids = {
            kind: {r["id"] for r in records}
            for kind, records in client.items()
            if isinstance(records, list) and kind != "apiKeys"
        }
        assert ids["call-centers"] and ids["executives"] and ids["campaigns"]
        team = {(e["callCenterId"], e["name"]) for e in client["executives"]}
        checked = 0
        for kind, records in client.items():
            if kind == "apiKeys" or not isinstance(records, list):
                continue
            for record in records:
                for field, target in (("campaignId", "campaigns"), ("callCenterId", "call-centers"),
                                      ("engagementId", "engagements")):  # fmt: skip
                    if field in record:
                        assert record[field] in ids[target], (client["id"], kind, record["id"], field)
                        checked += 1
                if kind == "evaluations":
                    assert (record["callCenterId"], record["executiveName"]) in team, record["id"]
        assert checked > len(client["evaluations"]) * 3


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("channelType=WhatsApp", {"camp_456", "camp_15"}),
        ("status=Completed", {"camp_9", "camp_15"}),
        # Campaigns running at some point of the range: ended on or after dateFrom, started by dateTo.
        ("dateFrom=2024-01-21&dateTo=2024-01-21", {"camp_789", "camp_456", "camp_12", "camp_14", "camp_15"}),
        ("dateTo=2023-12-31", {"camp_9"}),
        ("dateFrom=2024-04-01", {"camp_456", "camp_14"}),
        ("status=Running&channelType=Voice", {"camp_789", "camp_12"}),
    ],
)
def test_filters_select_the_campaigns_they_name(api: Api, query: str, expected: set[str]) -> None:
    r = api.get(f"/v1/campaigns?{query}")
    assert r.status == 200 and {c["id"] for c in r.json["data"]} == expected


def test_list_is_newest_first(api: Api) -> None:
    created = [c["createdAt"] for c in api.get("/v1/campaigns").json["data"]]
    assert len(created) == 6 and created == sorted(created, reverse=True)


def test_another_clients_campaign_is_a_404_and_a_bad_filter_a_400(api: Api) -> None:
    assert api.get("/v1/campaigns/camp_3").status == 404
    assert api.get("/v1/campaigns/camp_3", key=OTHER).status == 200
    r = api.get("/v1/campaigns?status=running")
    assert r.status == 400 and r.json["error"]["details"][0]["field"] == "query.status"


def test_a_key_without_campaigns_read_gets_403(api: Api) -> None:
    r = api.get("/v1/campaigns", key=ENGAGEMENTS_ONLY)
    assert r.status == 403 and r.json["error"]["requiredScope"] == "campaigns:read"
