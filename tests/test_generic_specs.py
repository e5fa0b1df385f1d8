"""Proof that the engine is generic: two specs it was never written for, served with no Python.

``tests/data/helpdesk`` is OpenAPI 3.0.3 JSON in the form a Swashbuckle Swagger UI publishes
(customers own tickets; id parameters ``customerId`` / ``ticketId``; a ``{data, meta,
pagination}`` list; ``/tickets/{ticketId}/messages``). ``tests/data/fleet`` is OpenAPI 3.1
YAML (depots hold vehicles; ``depotCode`` / ``vehicleId``; the flat list envelope;
``/vehicles/{vehicleId}/service-history``). Each is driven through the whole pipeline with
the response self-check on: auth, scopes, tenants, validation, state, relations
(``x-mock-ref``, ``x-mock-count``, ``x-mock-copy``), filters, sub-resources, generated
fixtures. Schemathesis runs against each in ``test_schemathesis.py``.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from auralytik_mock import Config, create_app
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data"


@dataclass(frozen=True)
class House:
    """What a test needs to know about one test spec (all of it read from the spec's own text)."""

    name: str
    spec: Path
    fixtures: Path
    base: str
    key: str
    read_key: str
    other_key: str
    parents: str  # collection of the referenced records
    children: str  # collection of the referencing records
    parent_id: str  # a parent with generated children
    parent_name_field: str
    ref_field: str  # the child's x-mock-ref field
    copy_field: str  # the child's x-mock-copy field
    count_field: str  # the parent's x-mock-count field
    generated: int  # generated children of parent_id
    child_id: str  # a written child with sub-resource data
    sub: str  # the sub-resource's last segment
    new_child: dict[str, Any]
    write_scope: str
    paging: str  # "flat" or "pagination"


HELPDESK = House(
    name="helpdesk",
    spec=DATA / "helpdesk" / "openapi.json",
    fixtures=DATA / "helpdesk" / "fixtures.yaml",
    base="/api/v2",
    key="HELPDESK_KEY",
    read_key="HELPDESK_READ_KEY",
    other_key="OTHER_HELPDESK_KEY",
    parents="customers",
    children="tickets",
    parent_id="cus_1002",
    parent_name_field="name",
    ref_field="customerId",
    copy_field="customerName",
    count_field="ticketCount",
    generated=12,
    child_id="tkt_20001",
    sub="messages",
    new_child={"customerId": "cus_1002", "subject": "Delivery arrived damaged", "priority": "high"},
    write_scope="tickets.write",
    paging="pagination",
)
FLEET = House(
    name="fleet",
    spec=DATA / "fleet" / "openapi.yaml",
    fixtures=DATA / "fleet" / "fixtures.yaml",
    base="/v1",
    key="FLEET_KEY",
    read_key="FLEET_READ_KEY",
    other_key="OTHER_FLEET_KEY",
    parents="depots",
    children="vehicles",
    parent_id="dep_102",
    parent_name_field="name",
    ref_field="depotId",
    copy_field="depotName",
    count_field="vehicleCount",
    generated=30,
    child_id="veh_5001",
    sub="service-history",
    new_child={
        "depotId": "dep_102",
        "plate": "ZZ-999-ZZ",
        "model": "Solaris Urbino 12",
        "electric": True,
        "status": "in_service",
        "mileageKm": 12,
    },
    write_scope="fleet:write",
    paging="flat",
)
HOUSES = [HELPDESK, FLEET]


class Client:
    def __init__(self, house: House) -> None:
        self.house = house
        app = create_app(Config(spec_path=house.spec, fixtures=(house.fixtures,), validate_responses=True))
        self.http = app.test_client()

    def call(self, method: str, path: str, key: str | None = "", **kw: Any) -> tuple[int, Any]:
        headers = {} if key is None else {"Authorization": f"Bearer {key or self.house.key}"}
        answer = self.http.open(self.house.base + path, method=method, headers=headers, **kw)
        assert answer.status_code != 500, answer.get_json()  # the self-check found the answer off-contract
        return answer.status_code, answer.get_json(silent=True)

    def total(self, body: dict[str, Any]) -> int:
        return int(body["pagination"]["totalCount"] if self.house.paging == "pagination" else body["totalCount"])

    def everything(self, collection: str, query: str = "", key: str = "") -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        page = 1
        while True:
            status, body = self.call("GET", f"/{collection}?pageSize=50&page={page}{query}", key)
            assert status == 200, body
            records += body["data"]
            if not body["data"] or len(records) >= self.total(body):
                return records
            page += 1


@pytest.fixture(params=HOUSES, ids=[h.name for h in HOUSES])
def house(request: pytest.FixtureRequest) -> Client:
    return Client(request.param)


@pytest.mark.parametrize("house_", HOUSES, ids=[h.name for h in HOUSES])
def test_check_accepts_the_spec_and_fixtures_with_no_python(house_: House) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "auralytik_mock",
            "check",
            "--spec",
            str(house_.spec),
            "--fixtures",
            str(house_.fixtures),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_auth_and_scopes(house: Client) -> None:
    h = house.house
    status, body = house.call("GET", f"/{h.children}", key=None)
    assert status == 401 and body["error"]["requestId"]
    status, body = house.call("GET", f"/{h.children}", key="NOT_A_KEY")
    assert status == 401
    status, body = house.call("POST", f"/{h.children}", key=h.read_key, json=h.new_child)
    assert status == 403 and h.write_scope in body["error"]["message"]


def test_tenants_see_only_their_records(house: Client) -> None:
    h = house.house
    status, _ = house.call("GET", f"/{h.parents}/{h.parent_id}", key=h.other_key)
    assert status == 404, "another client's record does not exist for this key (404, not 403)"
    theirs = house.everything(h.children, key=h.other_key)
    ours = house.everything(h.children)
    assert not {r["id"] for r in theirs} & {r["id"] for r in ours}
    status, body = house.call("POST", f"/{h.children}", key=h.other_key, json=h.new_child)
    assert status == 400 and any(d["field"] == f"body.{h.ref_field}" for d in body["error"]["details"]), body


def test_validation_names_the_field(house: Client) -> None:
    h = house.house
    bad = {**h.new_child, "status": "exploded"}
    status, body = house.call("POST", f"/{h.children}", json=bad)
    assert status == 400 and [d["field"] for d in body["error"]["details"]] == ["body.status"], body
    status, body = house.call("GET", f"/{h.children}?pageSize=1000")
    assert status == 400 and body["error"]["details"][0]["field"] == "query.pageSize"
    status, body = house.call("POST", f"/{h.children}", json={**h.new_child, h.ref_field: h.parent_id[:4] + "404404"})
    assert status == 400 and body["error"]["details"][0]["field"] == f"body.{h.ref_field}", (
        "x-mock-ref: a missing parent"
    )


def test_counts_follow_the_records_and_copies_follow_the_parent(house: Client) -> None:
    h = house.house
    status, parent = house.call("GET", f"/{h.parents}/{h.parent_id}")
    assert status == 200
    children = house.everything(h.children, f"&{h.ref_field}={h.parent_id}")
    assert parent[h.count_field] == len(children) == h.generated, "generated fixtures back the count"
    assert all(c[h.copy_field] == parent[h.parent_name_field] for c in children)

    status, created = house.call("POST", f"/{h.children}", json=h.new_child)
    assert status == 201, created
    assert created["id"].startswith(h.child_id[:4])
    assert house.call("GET", f"/{h.parents}/{h.parent_id}")[1][h.count_field] == h.generated + 1
    assert house.call("GET", f"/{h.children}/{created['id']}")[1] == created

    rename = {"name": "Renamed Again"}
    method = "PATCH" if h is FLEET else "PUT"
    if method == "PUT":
        rename = {"name": "Renamed Again", "email": "thomas.hardy@example.com", "plan": "free"}
    status, _ = house.call(method, f"/{h.parents}/{h.parent_id}", json=rename)
    assert status == 200
    assert house.call("GET", f"/{h.children}/{created['id']}")[1][h.copy_field] == "Renamed Again"

    status, _ = house.call("DELETE", f"/{h.children}/{created['id']}")
    assert status == 204
    assert house.call("GET", f"/{h.children}/{created['id']}")[0] == 404
    assert house.call("GET", f"/{h.parents}/{h.parent_id}")[1][h.count_field] == h.generated


def test_sub_resource_answers_the_parents_fixture_data(house: Client) -> None:
    h = house.house
    status, body = house.call("GET", f"/{h.children}/{h.child_id}/{h.sub}")
    assert status == 200, body
    assert next(iter(body.values())) == h.child_id
    status, body = house.call("GET", f"/{h.children}/{h.child_id[:4]}404404/{h.sub}")
    assert status == 404 and body["error"]["code"]
    status, _ = house.call("GET", f"/{h.children}/{h.child_id}/{h.sub}", key=h.other_key)
    assert status == 404, "another tenant's sub-resource is not found either"


def test_paging_uses_the_specs_envelope(house: Client) -> None:
    h = house.house
    status, body = house.call("GET", f"/{h.children}?pageSize=5&page=2")
    assert status == 200 and len(body["data"]) == 5
    if h.paging == "pagination":
        assert body["pagination"]["page"] == 2 and body["pagination"]["pageSize"] == 5
        assert body["pagination"]["totalPages"] == -(-body["pagination"]["totalCount"] // 5)
    else:
        assert (body["page"], body["pageSize"]) == (2, 5)


def test_helpdesk_filters() -> None:
    house = Client(HELPDESK)
    every = house.everything("tickets")
    open_high = house.everything("tickets", "&status=open&priority=high")
    assert open_high and open_high == [t for t in every if t["status"] == "open" and t["priority"] == "high"]
    since = house.everything("tickets", "&openedFrom=2024-03-01T00:00:00Z&openedTo=2024-03-31T23:59:59Z")
    assert since == [t for t in every if "2024-03-01T00:00:00Z" <= t["createdAt"] <= "2024-03-31T23:59:59Z"]
    assert 0 < len(since) < len(every)
    assert house.everything("tickets", "&q=VAT") == [t for t in every if "VAT" in t["subject"]] != []


def test_fleet_filters() -> None:
    house = Client(FLEET)
    every = house.everything("vehicles")
    heavy = house.everything("vehicles", "&minMileageKm=100000&maxMileageKm=350000")
    assert heavy == [v for v in every if 100000 <= v["mileageKm"] <= 350000]
    assert 0 < len(heavy) < len(every)
    electric = house.everything("vehicles", "&electric=true&depotId=dep_101")
    assert [v["id"] for v in electric] == ["veh_5001"]
    assert house.everything("vehicles", "&model=Citaro") == [v for v in every if "Citaro" in v["model"]] != []


# -- schemathesis, run as its docs show: `schemathesis run <spec> --url ... --header ...` ----------------


@pytest.mark.slow
@pytest.mark.parametrize("house_", HOUSES, ids=[h.name for h in HOUSES])
def test_schemathesis_finds_no_issue(house_: House, tmp_path: Path) -> None:
    from tests.processes import serving

    schemathesis = str(Path(sys.executable).with_name("schemathesis"))
    spec_args = ("--spec", str(house_.spec), "--fixtures", str(house_.fixtures))
    with serving("--quiet", "--validate-responses", *spec_args) as (base, _):
        result = subprocess.run(
            [
                schemathesis,
                "--config-file",
                str(DATA / "schemathesis.toml"),
                "run",
                str(house_.spec),
                "--url",
                base + house_.base,
                "--header",
                f"Authorization: Bearer {house_.key}",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--seed",
                "1",
                "--max-examples",
                "30",
                "--no-color",
                "--request-timeout",
                "10",
            ],
            capture_output=True,
            text=True,
            timeout=900,
            cwd=tmp_path,  # schemathesis keeps a cache in its working directory
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "No issues found" in output, output[-3000:]
