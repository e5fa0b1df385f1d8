"""Resources seen the way a person sees them, from specs the mock has never seen:
bare arrays, natural keys, ids in their format and in the body, wrappers, nested
collections, envelopes to fill, cursors and Link headers (``tests/data/shapes/``)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from auralytik_mock.core.resources import build_resources
from auralytik_mock.core.spec import Spec

from .shapes_support import SHAPES, client

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _table(name: str) -> dict[str, tuple[str, str, str, str, str]]:
    return {row[2]: row for row in build_resources(Spec.load(SHAPES / name)).table()}


@pytest.fixture
def pets() -> Any:
    return client("petstore.yaml")


@pytest.fixture
def nested() -> Any:
    return client("nested.yaml")


def test_bare_array_lists_and_integer_ids_in_their_format(pets: Any) -> None:
    made = pets.post("/api/pet", json={"name": "Rex", "photoUrls": []})
    assert made.status_code == 200 and made.json == {"id": 1000, "name": "Rex", "photoUrls": []}
    assert made.headers["Location"] == "/api/pet/1000"
    assert pets.post("/api/pet", json={"name": "Tom", "photoUrls": []}).json["id"] == 1001
    assert [p["name"] for p in pets.get("/api/pet").json] == ["Tom", "Rex"]
    assert pets.get("/api/pet/1000").json["name"] == "Rex"


def test_an_id_given_in_the_body_is_kept_and_put_on_the_collection_replaces_by_it(pets: Any) -> None:
    assert pets.post("/api/pet", json={"id": 7, "name": "Tom", "photoUrls": ["x"], "status": "sold"}).json["id"] == 7
    replaced = pets.put("/api/pet", json={"id": 7, "name": "Tim", "photoUrls": []})
    assert replaced.status_code == 200 and replaced.json == {"id": 7, "name": "Tim", "photoUrls": []}
    assert pets.get("/api/pet/7").json == {"id": 7, "name": "Tim", "photoUrls": []}
    assert _table("petstore.yaml")["updatePet"][3:] == ("stateful", "replaces the pet its body names (id)")


def test_unknown_id_in_the_body_is_404_and_changes_nothing() -> None:
    pets = client("petstore.yaml", validate=False)  # the spec's 404 documents no body
    assert pets.put("/api/pet", json={"id": 99, "name": "Tim", "photoUrls": []}).status_code == 404
    assert pets.get("/api/pet").json == []


def test_a_search_under_the_collection_lists_the_records_filtered(pets: Any) -> None:
    pets.post("/api/pet", json={"name": "Tom", "photoUrls": [], "status": "sold"})
    pets.post("/api/pet", json={"name": "Rex", "photoUrls": [], "status": "available"})
    assert [p["name"] for p in pets.get("/api/pet/findByStatus?status=sold").json] == ["Tom"]
    assert _table("petstore.yaml")["findPetsByStatus"][3] == "stateful"


def test_a_natural_key_is_the_property_the_path_parameter_names(pets: Any) -> None:
    made = pets.post("/api/user", json={"username": "ada", "email": "a@example.com"})
    assert made.status_code == 201 and made.headers["Location"] == "/api/user/ada"
    assert pets.get("/api/user/ada").json == {"username": "ada", "email": "a@example.com"}
    assert pets.put("/api/user/ada", json={"username": "ada", "email": "b@example.com"}).json["email"] == (
        "b@example.com"
    )
    taken = client("petstore.yaml", validate=False)
    taken.post("/api/user", json={"username": "ada"})
    assert taken.post("/api/user", json={"username": "ada"}).status_code == 409


def test_delete_answers_its_documented_body_not_the_record(pets: Any) -> None:
    pets.post("/api/pet", json={"id": 3, "name": "Rex", "photoUrls": []})
    gone = pets.delete("/api/pet/3")
    assert gone.status_code == 200 and gone.json == {"code": 0, "message": ""}
    assert pets.get("/api/pet").json == []


def test_a_key_named_by_a_suffix_of_the_parameter(nested: Any) -> None:
    made = nested.post("/api/systems", json={"symbol": "X1", "sector": "S"})
    assert made.status_code == 201 and nested.get("/api/systems/X1").json == {"symbol": "X1", "sector": "S"}
    assert "ends with its name" in _table("nested.yaml")["getSystem"][4]


def test_the_last_path_segment_does_not_make_a_resource(nested: Any) -> None:
    """``POST /ships/{s}/scan/systems`` answers the scan the spec documents; it creates no system."""
    scan = nested.post("/api/ships/S1/scan/systems")
    assert scan.status_code == 201 and set(scan.json) == {"cooldown", "systems"}  # generated from its schema
    assert scan.json["cooldown"] >= 5 and isinstance(scan.json["systems"], list)
    assert nested.get("/api/systems/S1").status_code == 404
    assert _table("nested.yaml")["scanSystems"][3] == "spec"


def _project(nested: Any, name: str) -> str:
    made = nested.post("/api/projects", json={"name": name})
    assert made.status_code == 201
    return str(made.json["id"])


def test_uuid_ids_allof_records_and_integer_seconds(nested: Any) -> None:
    made = nested.post("/api/projects", json={"name": "A"})
    assert UUID.match(made.json["id"]) and made.json["name"] == "A"
    assert made.json["created"] == 1717243200  # integer seconds, as the schema says
    assert nested.get(f"/api/projects/{made.json['id']}").json == made.json


def test_an_envelope_gets_its_constants_first_and_last_ids_and_cursor_paging(nested: Any) -> None:
    a, b, c = (_project(nested, n) for n in "ABC")
    page = nested.get("/api/projects").json
    assert page == {
        "object": "list",
        "data": [nested.get(f"/api/projects/{c}").json, nested.get(f"/api/projects/{b}").json],
        "first_id": c,
        "last_id": b,
        "has_more": True,
    }
    rest = nested.get(f"/api/projects?after={page['last_id']}").json
    assert [p["id"] for p in rest["data"]] == [a] and rest["has_more"] is False
    assert nested.get(f"/api/projects?after={a}").json == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }


def test_nested_collections_are_scoped_to_their_parent(nested: Any) -> None:
    one, two = _project(nested, "one"), _project(nested, "two")
    made = nested.post(f"/api/projects/{one}/tasks", json={"task": {"title": "write"}})
    assert made.status_code == 201
    task = made.json["task"]
    assert task == {"id": 1000, "title": "write", "done": False, "projectId": one}
    assert made.headers["Location"] == f"/api/projects/{one}/tasks/1000"
    assert nested.get(f"/api/projects/{one}/tasks/1000").json == {"task": task}
    assert nested.get(f"/api/projects/{two}/tasks/1000").status_code == 404
    assert nested.get(f"/api/projects/{two}/tasks").json == []
    assert nested.get(f"/api/projects/{one}/tasks").json == [task]
    changed = nested.patch(f"/api/projects/{one}/tasks/1000", json={"task": {"done": True}})
    assert changed.json == {"task": {**task, "done": True}}
    assert nested.patch(f"/api/projects/{two}/tasks/1000", json={"task": {"done": False}}).status_code == 404


def test_an_unknown_parent_is_404(nested: Any) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert nested.get(f"/api/projects/{missing}/tasks").status_code == 404
    assert nested.post(f"/api/projects/{missing}/tasks", json={"task": {"title": "x"}}).status_code == 404


def test_link_headers_where_the_spec_declares_them(nested: Any) -> None:
    one = _project(nested, "one")
    for title in "abc":
        nested.post(f"/api/projects/{one}/tasks", json={"task": {"title": title}})
    first = nested.get(f"/api/projects/{one}/tasks")
    assert [t["title"] for t in first.json] == ["c", "b"]
    assert first.headers["Link"] == f'</api/projects/{one}/tasks?page=2&per_page=2>; rel="next"'
    second = nested.get(f"/api/projects/{one}/tasks?page=2")
    assert [t["title"] for t in second.json] == ["a"]
    assert second.headers["Link"] == f'</api/projects/{one}/tasks?page=1&per_page=2>; rel="prev"'


def test_fixture_records_of_a_nested_collection_sit_under_the_parent_they_name() -> None:
    seeded = client("nested.yaml", fixtures="nested-fixtures.yaml")
    one, two = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
    assert [t["title"] for t in seeded.get(f"/api/projects/{one}/tasks").json] == ["seeded"]
    assert seeded.get(f"/api/projects/{one}/tasks/1").json["task"]["title"] == "seeded"
    assert seeded.get(f"/api/projects/{two}/tasks").json == []
    assert seeded.get(f"/api/projects/{two}/tasks/1").status_code == 404


def test_a_body_field_of_another_shape_than_the_record_is_stored_as_the_record_documents() -> None:
    evals = client("misfits.yaml")  # every answer checked against the spec
    made = evals.post("/evals", json={"name": "Tone", "label": "qa", "config": "template-1"})
    assert made.status_code == 201, made.json
    assert made.json["config"] == {"kind": "template"}, "the record's own example, not the body's string"
    assert (made.json["name"], made.json["label"]) == ("Tone", "qa"), "fields that fit are kept"
    assert evals.get(f"/evals/{made.json['id']}").json == made.json
    assert made.json["object"] == "eval"
    gone = evals.delete(f"/evals/{made.json['id']}")
    assert gone.status_code == 200 and gone.json == {"id": made.json["id"], "object": "eval.deleted", "deleted": True}
    assert evals.get(f"/evals/{made.json['id']}").status_code == 404


def test_an_all_of_record_judges_body_fields_with_the_whole_schema() -> None:
    notes = client("misfits.yaml")
    made = notes.post("/notes", json={"text": 5})
    assert made.status_code == 201, made.json
    assert made.json["text"] == "hello"
    assert notes.get(f"/notes/{made.json['id']}").json == made.json


def test_a_path_that_names_a_query_value_is_the_operation_for_calls_that_send_it() -> None:
    api = client("query-paths.yaml")  # every answer checked against the operation routed to
    assert api.get("/responses").json == {"api": "stable"}
    assert api.get("/responses?beta=true").json == {"api": "beta"}
    assert api.get("/responses?beta=true&limit=3").json == {"api": "beta"}, "its own parameters too"
    unchecked = client("query-paths.yaml", validate=False)  # the 400 is one the spec does not document
    refused = unchecked.get("/responses?beta=false")
    assert refused.status_code == 400 and "query.beta" in refused.text, "beta is not a parameter of the stable one"
    assert api.get("/only?beta=true").json == {"api": "beta"}
    assert api.get("/only").json == {"api": "beta"}, "a path only named with its query value is still served"
