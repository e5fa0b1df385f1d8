"""Resources inferred from a spec the mock has never seen: shapes, x-mock-* extensions, hooks."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from auralytik_mock import Config, FixtureError, SpecError, create_app
from auralytik_mock.core.handlers import handles, unregister
from auralytik_mock.core.resources import build_resources
from auralytik_mock.core.spec import Spec
from auralytik_mock.core.types import MockResponse

SPEC: dict[str, Any] = yaml.safe_load(
    """
openapi: 3.1.0
info: {title: Kennel, version: "1"}
servers: [{url: /api}]
security: [{bearer: [kennel]}]
paths:
  /owners:
    get:
      operationId: listOwners
      responses:
        "200":
          description: owners
          content:
            application/json:
              schema:
                type: object
                required: [data, meta, pagination]
                properties:
                  data: {type: array, items: {$ref: "#/components/schemas/Owner"}}
                  meta:
                    type: object
                    required: [requestId, timestamp]
                    properties: {requestId: {type: string}, timestamp: {type: string}}
                  pagination:
                    type: object
                    required: [page, pageSize, totalCount, totalPages]
                    properties:
                      page: {type: integer}
                      pageSize: {type: integer}
                      totalCount: {type: integer}
                      totalPages: {type: integer}
      parameters:
        - {name: page, in: query, schema: {type: integer, minimum: 1, default: 1}}
        - {name: pageSize, in: query, schema: {type: integer, minimum: 1, maximum: 50, default: 2}}
        - {name: q, in: query, x-mock-filter: {field: name, op: contains}, schema: {type: string}}
    post:
      operationId: createOwner
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [name]
              properties: {name: {type: string}}
      responses:
        "201":
          description: created
          content: {application/json: {schema: {$ref: "#/components/schemas/Owner"}}}
  /owners/{ownerId}:
    parameters: [{name: ownerId, in: path, required: true, schema: {type: string}}]
    get:
      operationId: getOwner
      responses:
        "200":
          description: one
          content: {application/json: {schema: {$ref: "#/components/schemas/Owner"}}}
        "404": {description: missing}
    delete:
      operationId: deleteOwner
      responses:
        "204": {description: gone}
        "404": {description: missing}
        "409": {description: still used}
  /pets:
    get:
      operationId: listPets
      parameters:
        - {name: offset, in: query, schema: {type: integer, minimum: 0, default: 0}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 10, default: 10}}
        - {name: ownerId, in: query, schema: {type: string}}
        - {name: species, in: query, schema: {type: string}}
        - {name: minAge, in: query, x-mock-filter: {field: age, op: gte}, schema: {type: integer}}
      responses:
        "200":
          description: pets
          content:
            application/json:
              schema:
                type: object
                required: [items, total]
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/Pet"}}
                  total: {type: integer}
                  offset: {type: integer}
                  limit: {type: integer}
    post:
      operationId: createPet
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: "#/components/schemas/PetWrite"}}}
      responses:
        "201":
          description: created
          content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}
        "400": {description: bad}
  /pets/{petId}:
    parameters: [{name: petId, in: path, required: true, schema: {type: string, pattern: "^pet_"}}]
    get:
      operationId: getPet
      responses:
        "200":
          description: one
          content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}
        "404": {description: missing}
    patch:
      operationId: updatePet
      requestBody:
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              properties: {name: {type: string}, ownerId: {type: string}, species: {type: string}}
      responses:
        "200":
          description: changed
          content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}
        "400": {description: bad}
        "404": {description: missing}
    put:
      operationId: replacePet
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: "#/components/schemas/PetWrite"}}}
      responses:
        "200":
          description: replaced
          content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}
        "400": {description: bad}
        "404": {description: missing}
    delete:
      operationId: deletePet
      responses:
        "204": {description: gone}
        "404": {description: missing}
  /pets/{petId}/medical:
    parameters: [{name: petId, in: path, required: true, schema: {type: string}}]
    get:
      operationId: getPetMedical
      responses:
        "200":
          description: the record
          content:
            application/json:
              schema:
                type: object
                additionalProperties: false
                required: [vaccinated]
                properties: {vaccinated: {type: boolean}}
        "404": {description: missing}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  schemas:
    Owner:
      type: object
      x-mock-id-prefix: own_
      additionalProperties: false
      required: [id, name, petCount]
      properties:
        id: {type: string, readOnly: true}
        name: {type: string}
        petCount: {type: integer, readOnly: true, x-mock-count: {of: Pet, by: ownerId}}
    PetWrite:
      type: object
      additionalProperties: false
      required: [name, ownerId, species]
      properties:
        name: {type: string}
        ownerId: {type: string}
        species: {type: string}
        age: {type: integer}
    Pet:
      type: object
      x-mock-id-prefix: pet_
      additionalProperties: false
      required: [id, name, ownerId, ownerName, species, createdAt]
      properties:
        id: {type: string, readOnly: true}
        name: {type: string}
        ownerId: {type: string, x-mock-ref: Owner}
        ownerName: {type: string, readOnly: true, x-mock-copy: {ref: ownerId, field: name}}
        species: {type: string}
        age: {type: integer}
        createdAt: {type: string, format: date-time, readOnly: true}
"""
)

FIXTURES: dict[str, Any] = {
    "clients": [
        {
            "id": "c1",
            "apiKeys": [{"key": "K1", "scopes": ["kennel"]}],
            "owners": [{"id": "own_1", "name": "Ada"}, {"id": "own_2", "name": "Bob", "petCount": 1}],
            "pets": [
                {
                    "id": "pet_1",
                    "name": "Rex",
                    "ownerId": "own_1",
                    "species": "dog",
                    "age": 3,
                    "createdAt": "2024-01-01T00:00:00Z",
                    "medical": {"vaccinated": True},
                },
                {
                    "id": "pet_2",
                    "name": "Tom",
                    "ownerId": "own_1",
                    "species": "cat",
                    "createdAt": "2024-01-02T00:00:00Z",
                },
                {
                    "id": "pet_3",
                    "name": "Kit",
                    "ownerId": "own_2",
                    "species": "cat",
                    "age": 9,
                    "createdAt": "2024-01-03T00:00:00Z",
                },
            ],
        },
        {"id": "c2", "apiKeys": [{"key": "K2", "scopes": ["kennel"]}], "owners": [{"id": "own_9", "name": "Eve"}]},
    ]
}


@pytest.fixture(autouse=True)
def _no_hooks() -> Iterator[None]:
    unregister()
    yield
    unregister()


def _config(tmp_path: Path, spec: dict[str, Any] | None = None, fixtures: dict[str, Any] | None = None) -> Config:
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec or SPEC, sort_keys=False))
    folder = tmp_path / "fixtures"
    folder.mkdir(exist_ok=True)
    (folder / "kennel.yaml").write_text(yaml.safe_dump(fixtures or FIXTURES, sort_keys=False))
    return Config(spec_path=tmp_path / "spec.yaml", fixtures=(folder,), clock="2024-06-01T12:00:00Z")


@pytest.fixture
def kennel(tmp_path: Path) -> Any:
    client = create_app(_config(tmp_path)).test_client()

    def call(method: str, path: str, key: str = "K1", **kw: Any) -> Any:
        return client.open(path, method=method, headers={"Authorization": f"Bearer {key}"}, **kw)

    return call


def test_list_with_meta_and_pagination_envelope_fills_every_field(kennel: Any) -> None:
    r = kennel("GET", "/api/owners")
    assert r.status_code == 200, r.json
    assert [o["id"] for o in r.json["data"]] == ["own_2", "own_1"]  # no createdAt: the later one first
    assert r.json["pagination"] == {"page": 1, "pageSize": 2, "totalCount": 2, "totalPages": 1}
    assert r.json["meta"] == {"requestId": r.headers["X-Request-Id"], "timestamp": "2024-06-01T12:00:00Z"}


def test_list_with_offset_limit_and_a_differently_named_items_field(kennel: Any) -> None:
    r = kennel("GET", "/api/pets?offset=1&limit=1")
    assert r.json == {"items": [kennel("GET", "/api/pets/pet_2").json], "total": 3, "offset": 1, "limit": 1}


def test_count_and_copy_are_current_and_isolated_per_client(kennel: Any) -> None:
    assert kennel("GET", "/api/owners/own_1").json["petCount"] == 2
    assert kennel("GET", "/api/pets/pet_1").json["ownerName"] == "Ada"
    assert kennel("GET", "/api/owners/own_9", key="K2").json["petCount"] == 0
    assert kennel("GET", "/api/owners/own_1", key="K2").status_code == 404


def test_create_with_a_reference_to_a_missing_record_is_400_naming_the_field(kennel: Any) -> None:
    for owner in ("own_404", "own_9"):  # own_9 exists, but in another client
        r = kennel("POST", "/api/pets", json={"name": "Zed", "ownerId": owner, "species": "dog"})
        assert r.status_code == 400
        assert r.json["error"]["details"] == [
            {"field": "body.ownerId", "message": f"no owner with id {owner!r} exists"}
        ]
    assert kennel("GET", "/api/pets").json["total"] == 3


def test_create_moves_the_parents_count_and_filters_find_it(kennel: Any) -> None:
    r = kennel("POST", "/api/pets", json={"name": "Zed", "ownerId": "own_2", "species": "dog", "age": 1})
    assert r.status_code == 201 and r.json["id"] == "pet_1000" and r.json["ownerName"] == "Bob"
    assert r.json["createdAt"] == "2024-06-01T12:00:00Z"
    assert r.headers["Location"] == "/api/pets/pet_1000"
    assert kennel("GET", "/api/owners/own_2").json["petCount"] == 2
    listed = kennel("GET", "/api/pets?ownerId=own_2").json
    assert listed["total"] == 2 and listed["items"][0]["id"] == "pet_1000"


def test_update_moves_a_record_between_parents_and_indexes(kennel: Any) -> None:
    assert kennel("GET", "/api/pets?species=cat").json["total"] == 2  # builds the index on species
    r = kennel("PATCH", "/api/pets/pet_2", json={"ownerId": "own_2", "species": "dog"})
    assert r.status_code == 200 and r.json["ownerName"] == "Bob"
    assert kennel("GET", "/api/owners/own_1").json["petCount"] == 1
    assert kennel("GET", "/api/owners/own_2").json["petCount"] == 2
    assert [p["id"] for p in kennel("GET", "/api/pets?species=cat").json["items"]] == ["pet_3"]
    assert [p["id"] for p in kennel("GET", "/api/pets?species=dog&ownerId=own_2").json["items"]] == ["pet_2"]
    bad = kennel("PATCH", "/api/pets/pet_2", json={"ownerId": "own_404"})
    assert bad.status_code == 400 and bad.json["error"]["details"][0]["field"] == "body.ownerId"
    assert kennel("GET", "/api/pets/pet_2").json["ownerId"] == "own_2"


def test_x_mock_filter_ops_contains_and_gte(kennel: Any) -> None:
    assert [o["name"] for o in kennel("GET", "/api/owners?q=AD").json["data"]] == ["Ada"]
    assert [p["id"] for p in kennel("GET", "/api/pets?minAge=3").json["items"]] == ["pet_3", "pet_1"]


def test_put_replaces_and_keeps_id_creation_time_and_sub_resource_data(kennel: Any) -> None:
    r = kennel("PUT", "/api/pets/pet_1", json={"name": "Rex II", "ownerId": "own_2", "species": "dog"})
    assert r.status_code == 200
    assert r.json == {
        "id": "pet_1",
        "name": "Rex II",
        "ownerId": "own_2",
        "ownerName": "Bob",
        "species": "dog",
        "createdAt": "2024-01-01T00:00:00Z",
    }
    assert kennel("GET", "/api/pets/pet_1/medical").json == {"vaccinated": True}
    assert kennel("GET", "/api/pets?minAge=0").json["total"] == 1  # pet_1 lost its age


def test_delete_a_record_and_refuse_to_delete_a_parent_still_named(kennel: Any) -> None:
    refused = kennel("DELETE", "/api/owners/own_2")
    assert refused.status_code == 409 and "still named by 1 pets" in refused.json["error"]["message"]
    assert kennel("DELETE", "/api/pets/pet_3").status_code == 204
    assert kennel("GET", "/api/pets/pet_3").status_code == 404
    assert kennel("GET", "/api/owners/own_2").json["petCount"] == 0
    assert kennel("GET", "/api/pets?species=cat").json["total"] == 1
    assert kennel("DELETE", "/api/owners/own_2").status_code == 204
    assert kennel("GET", "/api/owners").json["pagination"]["totalCount"] == 1


def test_sub_resource_answers_the_parents_fixture_data_or_404(kennel: Any) -> None:
    assert kennel("GET", "/api/pets/pet_1/medical").json == {"vaccinated": True}
    assert "medical" not in kennel("GET", "/api/pets/pet_1").json
    missing_data = kennel("GET", "/api/pets/pet_2/medical")
    assert missing_data.status_code == 404 and "has no medical" in missing_data.json["error"]["message"]
    missing_parent = kennel("GET", "/api/pets/pet_77/medical")
    assert missing_parent.status_code == 404 and "No pet with id 'pet_77'" in missing_parent.json["error"]["message"]


def _broken_fixtures(change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(FIXTURES)
    change(doc["clients"][0])
    return doc


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: c["pets"][1].update(ownerId="own_9"),
            "clients[0].pets[1].ownerId: no owners record 'own_9' in this client",
        ),
        (
            lambda c: c["owners"][1].update(petCount=5),
            "clients[0].owners[1].petCount: is 5 but 1 pets record(s) name 'own_2'",
        ),
        (lambda c: c["pets"][0].update(medical={"vaccinated": "yes"}), "clients[0].pets[0].medical.vaccinated"),
    ],
)
def test_a_fixture_breaking_a_relation_stops_start_up(tmp_path: Path, change: Any, message: str) -> None:
    with pytest.raises(FixtureError) as caught:
        create_app(_config(tmp_path, fixtures=_broken_fixtures(change)))
    assert message in str(caught.value)


def _spec_with(change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SPEC)
    change(doc)
    return doc


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["components"]["schemas"]["Pet"].update({"x-mock-id-prefx": "p_"}),
            "unknown extension 'x-mock-id-prefx'",
        ),
        (
            lambda d: next(iter(d["paths"].values()))["get"].update({"x-mock-acton": {}}),
            "/paths/~1",  # the pointer escapes the path's slashes (RFC 6901)
        ),
        (
            lambda d: d["components"]["schemas"]["Pet"]["properties"]["ownerId"].update({"x-mock-ref": "Person"}),
            "'Person' is not the record schema of a resource",
        ),
        (
            lambda d: d["components"]["schemas"]["Owner"]["properties"]["petCount"].update(
                {"x-mock-count": {"of": "Pet", "by": "owner"}}
            ),
            "Pet records have no field 'owner'",
        ),
        (
            lambda d: d["paths"]["/pets"]["get"]["parameters"][4].update(
                {"x-mock-filter": {"field": "age", "op": "gt"}}
            ),
            "x-mock-filter op 'gt' is not one of eq, gte, lte, contains",
        ),
    ],
)
def test_a_spec_the_mock_cannot_serve_stops_start_up(tmp_path: Path, change: Any, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        create_app(_config(tmp_path, spec=_spec_with(change)))
    assert message in str(caught.value)


def _with_archive(doc: dict[str, Any]) -> None:
    doc["paths"]["/pets/{petId}/archive"] = {
        "parameters": [{"name": "petId", "in": "path", "required": True, "schema": {"type": "string"}}],
        "post": {
            "operationId": "archivePet",
            "responses": {
                "200": {
                    "description": "archived",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}},
                }
            },
        },
    }


def test_an_operation_fitting_no_shape_answers_from_the_spec_and_the_table_says_why(tmp_path: Path) -> None:
    """Never refused: an action on a record answers its documented 2xx; the table names it."""
    doc = _spec_with(_with_archive)
    doc["paths"]["/pets/{petId}/archive"]["post"]["responses"]["200"]["content"]["application/json"]["example"] = {
        "id": "pet_1",
        "name": "Rex",
        "ownerId": "own_1",
        "ownerName": "Ada",
        "species": "dog",
        "createdAt": "2024-01-01T00:00:00Z",
    }
    client = create_app(_config(tmp_path, spec=doc)).test_client()
    r = client.post("/api/pets/pet_1/archive", headers={"Authorization": "Bearer K1"})
    assert r.status_code == 200 and r.json["name"] == "Rex"
    assert client.get("/api/pets/pet_1", headers={"Authorization": "Bearer K1"}).json["species"] == "dog"
    table = {row[2]: row for row in build_resources(Spec(doc)).table()}
    assert table["archivePet"][3] == "spec" and "x-mock-action" in table["archivePet"][4]
    assert table["getPet"][:4] == ("GET", "/pets/{petId}", "getPet", "stateful")


def test_a_query_parameter_that_is_neither_paging_nor_a_field_is_ignored_and_named(tmp_path: Path) -> None:
    doc = _spec_with(
        lambda d: d["paths"]["/pets"]["get"]["parameters"].append(
            {"name": "sort", "in": "query", "schema": {"type": "string"}}
        )
    )
    client = create_app(_config(tmp_path, spec=doc)).test_client()
    assert client.get("/api/pets?sort=name", headers={"Authorization": "Bearer K1"}).json["total"] == 3
    reason = {row[2]: row[4] for row in build_resources(Spec(doc)).table()}["listPets"]
    assert reason == "lists pets (ignores sort)"


def test_a_hook_serves_an_operation_no_shape_fits(tmp_path: Path) -> None:
    @handles("archivePet")
    def archive_pet(call: Any, ctx: Any) -> MockResponse:
        pet = ctx.store.update(call.principal, "pets", call.request.path["petId"], {"species": "archived"})
        return MockResponse(200, pet)

    client = create_app(_config(tmp_path, spec=_spec_with(_with_archive))).test_client()
    r = client.post("/api/pets/pet_1/archive", headers={"Authorization": "Bearer K1"})
    assert r.status_code == 200 and r.json["species"] == "archived" and r.json["ownerName"] == "Ada"


def test_a_hook_can_wrap_the_generic_behaviour(tmp_path: Path) -> None:
    @handles("createOwner")
    def create_owner(call: Any, ctx: Any) -> MockResponse:
        response = ctx.default(call)
        response.headers["X-Hooked"] = "yes"
        return response

    client = create_app(_config(tmp_path)).test_client()
    r = client.post("/api/owners", json={"name": "Cy"}, headers={"Authorization": "Bearer K1"})
    assert (
        r.status_code == 201
        and r.headers["X-Hooked"] == "yes"
        and r.json == {"id": "own_1000", "name": "Cy", "petCount": 0}
    )


def test_a_hook_for_an_operation_the_spec_lacks_stops_start_up(tmp_path: Path) -> None:
    handles("listCats")(lambda call, ctx: MockResponse(200, []))
    with pytest.raises(SpecError, match="@handles hook.*listCats"):
        create_app(_config(tmp_path))


def test_the_readme_example_spec_and_fixtures_serve_what_the_readme_says(tmp_path: Path) -> None:
    import re

    readme = (Path(__file__).resolve().parents[2] / "docs" / "how-to" / "own-spec.md").read_text()
    blocks = dict(re.findall(r"```yaml\n# (kennel(?:-fixtures)?\.yaml)\n(.*?)```", readme, re.DOTALL))
    assert set(blocks) == {"kennel.yaml", "kennel-fixtures.yaml"}
    (tmp_path / "kennel.yaml").write_text(blocks["kennel.yaml"])
    (tmp_path / "kennel-fixtures.yaml").write_text(blocks["kennel-fixtures.yaml"])
    config = Config(
        spec_path=tmp_path / "kennel.yaml", fixtures=(tmp_path / "kennel-fixtures.yaml",), validate_responses=True
    )
    client = create_app(config).test_client()
    auth = {"Authorization": "Bearer KENNEL_KEY"}
    pets = client.get("/api/pets?nameContains=rex&ownerId=own_1", headers=auth)
    assert pets.status_code == 200 and pets.json["totalCount"] == 2
    assert {p["ownerName"] for p in pets.json["data"]} == {"Ada"}
    assert client.get("/api/owners/own_1", headers=auth).json["petCount"] == 2
    bad = client.post("/api/pets", json={"name": "Bo", "ownerId": "own_2"}, headers=auth)
    assert bad.status_code == 400 and bad.json["error"]["details"][0]["field"] == "body.ownerId"
    assert client.get("/api/pets/pet_1/vaccinations", headers=auth).json == ["2024-03-01"]
    made = client.post("/api/pets", json={"name": "Bo", "ownerId": "own_1"}, headers=auth)
    assert made.status_code == 201 and made.json["id"] == "pet_1000"
    assert client.get("/api/owners/own_1", headers=auth).json["petCount"] == 3


@pytest.mark.parametrize(
    ("kind", "noun"),
    [
        ("pets", "pet"),
        ("batches", "batch"),
        ("categories", "category"),
        ("boxes", "box"),
        ("owners.addresses", "address"),
        ("status", "status"),
        ("movies", "movie"),
        ("caches", "cache"),
        ("matches", "match"),
    ],
)
def test_a_resource_is_named_in_the_singular_in_messages(kind: str, noun: str) -> None:
    from auralytik_mock.core.discover import Resource

    assert Resource(kind, "/components/schemas/X", "X", "/x").noun() == noun
