"""Public OpenAPI documents nobody here wrote (tests/data/public/README.md), served as they
are: each starts, every operation answers a documented status with a body the spec
accepts, and the resources a person would name round-trip.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from auralytik_mock import MockServer
from auralytik_mock.core.validation import ResponseChecker, SchemaSet
from tests.public_specs import DOCUMENTS, KEY, PUBLIC, body_is_valid, request_for, sign_in

FAST = [name for name in DOCUMENTS if name != "openai"]


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    """``serve --spec X`` alone: no fixtures, the spec's security enforced."""
    with MockServer(spec=str(PUBLIC / DOCUMENTS[request.param])) as server:
        yield server


def _every_operation_answers_as_documented(server: MockServer) -> None:
    spec = server.engine.spec
    schemas = SchemaSet(spec)
    checker = ResponseChecker(spec, schemas)
    problems = []
    for op in spec.operations:
        sent = request_for(spec, op)
        sign_in(spec, sent)
        answer = requests.request(
            op.method, server.root_url + sent.path, params=sent.query, headers=sent.headers, data=sent.body, timeout=30
        )
        where = f"{op.method} {sent.path} ({op.operation_id}) -> {answer.status_code}"
        if answer.status_code == 400 and not body_is_valid(schemas, op, sent):
            continue  # the data made for the request missed its schema (oneOf, not): the mock is right
        if answer.status_code >= 500 or not op.documents(answer.status_code):
            problems.append(f"{where}: not a documented status ({', '.join(op.responses)}): {answer.text[:200]}")
            continue
        if answer.status_code >= 300:
            continue  # the spec's own error shapes: issue 19 item 6
        media = answer.headers.get("Content-Type", "").split(";", 1)[0]
        response = op.response_for(answer.status_code)
        if "json" in media and answer.content:
            found = checker.violations(op, answer.status_code, answer.json(), dict(answer.headers))
            problems += [f"{where}: {p}" for p in found]
        elif response is not None and response.media_types and answer.content:
            declared = {m.split(";", 1)[0] for m in response.media_types}
            if media not in declared and not any(d.endswith("/*") or d == "*/*" for d in declared):
                problems.append(f"{where}: Content-Type {media!r} is not one of {sorted(declared)}")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("served", FAST, indirect=True)
def test_every_operation_answers_a_documented_status_and_body(served: MockServer) -> None:
    _every_operation_answers_as_documented(served)


@pytest.mark.slow
@pytest.mark.parametrize("served", ["openai"], indirect=True)
def test_the_big_document_answers_every_operation_as_documented(served: MockServer) -> None:
    _every_operation_answers_as_documented(served)


@pytest.mark.parametrize("served", ["oai-petstore-expanded"], indirect=True)
def test_pets_round_trip(served: MockServer) -> None:
    base = served.url
    created = requests.post(f"{base}/pets", json={"name": "Rex", "tag": "dog"}, timeout=10)
    assert created.status_code == 200, created.text
    pet = created.json()
    assert pet["name"] == "Rex" and isinstance(pet["id"], int)
    assert requests.get(f"{base}/pets/{pet['id']}", timeout=10).json() == pet
    assert [p["name"] for p in requests.get(f"{base}/pets", timeout=10).json()] == ["Rex"]
    assert requests.delete(f"{base}/pets/{pet['id']}", timeout=10).status_code == 204
    assert requests.get(f"{base}/pets/{pet['id']}", timeout=10).status_code == 404
    assert requests.get(f"{base}/pets", timeout=10).json() == []


@pytest.mark.parametrize("served", ["oai-api-with-examples"], indirect=True)
def test_an_operation_without_state_answers_its_documented_example(served: MockServer) -> None:
    answer = requests.get(served.root_url + "/", timeout=10)
    assert answer.status_code == 200
    assert [v["id"] for v in answer.json()["versions"]] == ["v2.0", "v3.0"]
    assert json.loads(answer.text) == answer.json()


@pytest.mark.parametrize("served", ["oai-petstore-expanded"], indirect=True)
def test_an_array_query_parameter_is_repeated_and_int32_is_held_to_32_bits(served: MockServer) -> None:
    listed = requests.get(f"{served.url}/pets", params=[("tags", "dog"), ("tags", "cat"), ("limit", "2")], timeout=10)
    assert listed.status_code == 200, listed.text
    too_big = requests.get(f"{served.url}/pets", params={"limit": str(1 << 31)}, timeout=10)
    assert too_big.status_code == 400 and "32-bit" in too_big.text


@pytest.mark.parametrize("served", ["train-travel"], indirect=True)
def test_bookings_round_trip_through_an_allof_wrapped_list(served: MockServer) -> None:
    # GET /bookings answers allOf [Wrapper-Collection (data: array of object), data: array of
    # Booking, links]: the later part refines the wrapper, so the list shows what was created.
    base = served.url  # MockServer.url includes the first server's base path
    auth = {"Authorization": f"Bearer {KEY}"}
    trip = "4f4e4e1c-c824-4d63-b37a-d8d698862f1d"
    body = {"trip_id": trip, "passenger_name": "Ann Lee"}
    made = requests.post(f"{base}/bookings", json=body, headers=auth, timeout=10)
    assert made.status_code == 201, made.text
    booking = made.json()
    assert booking["passenger_name"] == "Ann Lee"
    listed = requests.get(f"{base}/bookings", headers=auth, timeout=10).json()
    assert [b["id"] for b in listed["data"]] == [booking["id"]]
    assert requests.delete(f"{base}/bookings/{booking['id']}", headers=auth, timeout=10).status_code == 204
    assert requests.get(f"{base}/bookings", headers=auth, timeout=10).json()["data"] == []


@pytest.mark.parametrize("served", ["openai"], indirect=True)
def test_a_create_answers_its_documented_shape_and_keeps_the_record(served: MockServer) -> None:
    # POST answers AdminApiKeyCreateResponse (allOf [AdminApiKey, {value (required)}]);
    # the record kept is an AdminApiKey with every required field, and GET reads it back.
    auth = {"Authorization": f"Bearer {KEY}"}
    made = requests.post(f"{served.url}/organization/admin_api_keys", json={"name": "ci"}, headers=auth, timeout=10)
    assert made.status_code == 200, made.text
    key = made.json()
    assert key["name"] == "ci" and isinstance(key["value"], str) and key["value"]
    assert isinstance(key["created_at"], int) and key["object"] == "organization.admin_api_key"
    read = requests.get(f"{served.url}/organization/admin_api_keys/{key['id']}", headers=auth, timeout=10).json()
    assert read["name"] == "ci" and "value" not in read
    assert {k: v for k, v in key.items() if k != "value"} == read
    listed = requests.get(f"{served.url}/organization/admin_api_keys", headers=auth, timeout=10).json()
    assert [k["id"] for k in listed["data"]] == [key["id"]]


@pytest.mark.parametrize("served", ["train-travel"], indirect=True)
def test_prefer_example_picks_the_named_example_of_an_answer_from_the_spec(served: MockServer) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    url = f"{served.url}/bookings/1725ff48-ab45-4bb5-9d02-88745177dedb/payment"
    card = {"amount": 49.99, "currency": "gbp", "source": {"object": "card", "name": "J. Doe"}}
    card["source"] |= {"number": "4242424242424242", "cvc": "123", "exp_month": 12, "exp_year": 2025}
    card["source"] |= {"address_country": "gb"}
    plain = requests.post(url, json=card, headers=auth, timeout=10)
    assert plain.status_code == 200, plain.text
    assert plain.json()["source"]["object"] == "card"  # the first named example
    bank = requests.post(url, json=card, headers={**auth, "Prefer": "example=Bank"}, timeout=10)
    assert bank.status_code == 200 and bank.json()["source"]["object"] == "bank_account"


@pytest.mark.parametrize("served", ["train-travel"], indirect=True)
def test_a_uuid_path_parameter_that_is_no_uuid_is_a_400(served: MockServer) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    answer = requests.get(f"{served.url}/bookings/not-a-uuid", headers=auth, timeout=10)
    assert answer.status_code == 400, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert "must be a UUID" in answer.text
    unknown = requests.get(f"{served.url}/bookings/1725ff48-ab45-4bb5-9d02-88745177dedb", headers=auth, timeout=10)
    assert unknown.status_code == 404


def test_the_operations_table_says_computed_for_the_bundled_aggregates() -> None:
    from auralytik_mock import Config
    from auralytik_mock.core.pipeline import build_world

    rows = {row[2]: row for row in build_world(Config()).resources.table()}
    computed = {op_id: row[4] for op_id, row in rows.items() if row[3] == "computed"}
    assert computed, "the bundled spec's analytics and usage are computed from the state"
    assert all(reason.startswith("x-mock-") for reason in computed.values())
    assert any("x-mock-aggregate" in reason for reason in computed.values())
    assert any("x-mock-usage" in reason for reason in computed.values())
    webhooks = [row for op_id, row in rows.items() if "Webhook" in op_id]
    assert webhooks and all(row[3] == "stateful" and "x-mock-webhooks" in row[4] for row in webhooks)
