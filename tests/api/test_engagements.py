"""The four Engagements operations, through the Flask test client and a real socket."""

from __future__ import annotations

import pytest

from tests.conftest import CLOCK, KEY, NO_SCOPE, OTHER, READ_ONLY, Api

SEED_ENGAGEMENT = {
    "id": "eng_456",
    "name": "Q1 Quality Review",
    "description": "First quarter quality evaluation project",
    "type": "quality_review",
    "status": "active",
    "evaluationCount": 142,
    "createdAt": "2024-01-10T09:00:00Z",
    "updatedAt": "2024-01-15T14:30:00Z",
}
NEW = {"name": "Q1 Quality Review", "description": "First quarter quality evaluation project", "type": "quality_review"}


# -- list ------------------------------------------------------------------------------


def test_list_engagements_returns_the_seed_page(api: Api) -> None:
    r = api.get("/v1/engagements")
    assert r.status == 200
    assert (r.json["page"], r.json["pageSize"], r.json["totalCount"]) == (1, 25, 5)
    assert SEED_ENGAGEMENT in r.json["data"]


def test_list_engagements_is_newest_first_and_stable(api: Api) -> None:
    ids = [e["id"] for e in api.get("/v1/engagements").json["data"]]
    assert ids == ["eng_460", "eng_458", "eng_457", "eng_456", "eng_459"]
    assert ids == [e["id"] for e in api.get("/v1/engagements").json["data"]]


def test_list_engagements_pages_visit_every_engagement_once(api: Api) -> None:
    seen = []
    for page in (1, 2, 3):
        r = api.get(f"/v1/engagements?page={page}&pageSize=2")
        assert r.json["totalCount"] == 5 and r.json["page"] == page and r.json["pageSize"] == 2
        seen += [e["id"] for e in r.json["data"]]
    assert sorted(seen) == ["eng_456", "eng_457", "eng_458", "eng_459", "eng_460"]
    assert len(seen) == 5


def test_list_engagements_past_the_end_is_empty_not_an_error(api: Api) -> None:
    r = api.get("/v1/engagements?page=100&pageSize=100")
    assert r.status == 200
    assert r.json == {"data": [], "page": 100, "pageSize": 100, "totalCount": 5}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "query.page"),
        ("page=-1", "query.page"),
        ("page=abc", "query.page"),
        ("page=1000000000000000000000000000000", "query.page"),
        ("page=9007199254740992", "query.page"),
        ("pageSize=0", "query.pageSize"),
        ("pageSize=101", "query.pageSize"),
        ("pageSize=2.5", "query.pageSize"),
        ("page_size=10", "query.page_size"),
        ("page=1&page=2", "query.page"),
    ],
)
def test_list_engagements_with_bad_query_returns_400_naming_the_field(api: Api, query: str, field: str) -> None:
    r = api.get(f"/v1/engagements?{query}")
    assert r.status == 400
    assert r.json["error"]["code"] == "VALIDATION_ERROR"
    assert field in [d["field"] for d in r.json["error"]["details"]]


def test_list_engagements_lists_every_violation_at_once(api: Api) -> None:
    r = api.get("/v1/engagements?page=0&pageSize=500")
    assert [d["field"] for d in r.json["error"]["details"]] == ["query.page", "query.pageSize"]


# -- get -------------------------------------------------------------------------------


def test_get_engagement_returns_the_seed_example(api: Api) -> None:
    r = api.get("/v1/engagements/eng_456")
    assert r.status == 200
    assert r.json == SEED_ENGAGEMENT


def test_get_engagement_unknown_id_returns_404(api: Api) -> None:
    r = api.get("/v1/engagements/eng_999")
    assert r.status == 404
    assert r.json["error"]["code"] == "NOT_FOUND"
    assert "eng_999" in r.json["error"]["message"]


@pytest.mark.parametrize(
    "unknown_id",
    ["eng_does_not_exist", "456", "eng_", "eng_4-5", "ENG_456", "eng_" + "9" * 61, "eng_456%0A", "%C3%A9t%C3%A9"],
)
def test_get_engagement_unknown_id_of_any_spelling_returns_404_naming_it(api: Api, unknown_id: str) -> None:
    # The vendor states no id format: a client that handles "not found" must see a 404,
    # not a validation error, whatever it asked for (issue 9, problem 4).
    from urllib.parse import unquote

    r = api.get(f"/v1/engagements/{unknown_id}")
    assert r.status == 404 and r.json["error"]["code"] == "NOT_FOUND"
    assert repr(unquote(unknown_id)) in r.json["error"]["message"]


def test_patch_engagement_unknown_id_of_any_spelling_returns_404(api: Api) -> None:
    r = api.patch("/v1/engagements/eng_does_not_exist", json={"name": "x"})
    assert r.status == 404 and r.json["error"]["code"] == "NOT_FOUND"


def test_list_engagements_page_far_past_the_end_is_empty_not_an_error(api: Api) -> None:
    r = api.get("/v1/engagements?page=100001")
    assert r.status == 200 and r.json["data"] == [] and r.json["totalCount"] == 5


# -- create ----------------------------------------------------------------------------


def test_create_engagement_returns_201_with_location_and_server_fields(api: Api) -> None:
    r = api.post("/v1/engagements", json=NEW)
    assert r.status == 201
    body = r.json
    assert body["id"].startswith("eng_")
    assert r.headers["Location"] == f"/v1/engagements/{body['id']}"
    assert body == {
        **NEW,
        "id": body["id"],
        "status": "active",
        "evaluationCount": 0,
        "createdAt": CLOCK,
        "updatedAt": CLOCK,
    }
    assert list(body) == list(SEED_ENGAGEMENT), "fields come in the seed's order"


def test_create_engagement_without_description_stores_null(api: Api) -> None:
    r = api.post("/v1/engagements", json={"name": "n", "type": "quality_review"})
    assert r.status == 201 and r.json["description"] is None


def test_create_engagement_ids_are_unique_and_deterministic(api: Api) -> None:
    ids = [api.post("/v1/engagements", json=NEW).json["id"] for _ in range(3)]
    assert ids == ["eng_1000", "eng_1001", "eng_1002"]


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"type": "quality_review"}, "body.name", "is required"),
        ({"name": "n"}, "body.type", "is required"),
        ({"name": None, "type": "quality_review"}, "body.name", "must be a string"),
        ({"name": 42, "type": "quality_review"}, "body.name", "must be a string"),
        ({"name": "", "type": "quality_review"}, "body.name", "must not be blank"),
        ({"name": "   ", "type": "quality_review"}, "body.name", "must not be blank"),
        ({"name": "n", "type": " \t"}, "body.type", "must not be blank"),
        ({"name": "n", "type": "quality_review", "colour": "red"}, "body.colour", "not an allowed field"),
        ({"name": "n", "type": "quality_review", "status": "active"}, "body.status", "not an allowed field"),
        ({"name": "n", "type": "quality_review", "id": "eng_1"}, "body.id", "read-only"),
        ({"name": "n", "type": "quality_review", "evaluationCount": 3}, "body.evaluationCount", "read-only"),
        ({"name": "n", "type": "quality_review", "createdAt": CLOCK}, "body.createdAt", "read-only"),
        ([NEW], "body", "must be an object"),
    ],
)
def test_create_engagement_invalid_body_returns_400_naming_the_field(api: Api, body, field, fragment) -> None:
    r = api.post("/v1/engagements", json=body)
    assert r.status == 400
    assert r.json["error"]["code"] == "VALIDATION_ERROR"
    messages = [d["message"] for d in r.json["error"]["details"] if d["field"] == field]
    assert any(fragment in m for m in messages), messages
    assert api.get("/v1/engagements").json["totalCount"] == 5, "nothing was created"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("page=0", "query.page must be at least 1, got 0."),
        ("pageSize=101", "query.pageSize must be at most 100, got 101."),
        ("pageSize=abc", "query.pageSize must be an integer, got 'abc'."),
        ("page_size=10", "query.page_size is not a parameter of this operation (allowed: page, pageSize)."),
    ],
)
def test_query_violations_read_as_sentences(api: Api, query: str, message: str) -> None:
    assert api.get(f"/v1/engagements?{query}").json["error"]["message"] == message


def test_invalid_body_message_names_the_first_violation_and_counts_the_rest(api: Api) -> None:
    r = api.post("/v1/engagements", json={})
    assert r.json["error"]["message"] == "body.name is required (and 1 more)."
    r = api.post("/v1/engagements", json={"name": " ", "type": "quality_review"})
    assert r.json["error"]["message"] == "body.name must not be blank."


@pytest.mark.parametrize(
    "body",
    [
        {"name": "n", "type": "Quality Review"},  # the vendor lists no types and no type format
        {"name": "n", "type": "quality_review\n"},
        {"name": "x" * 5000, "type": "quality_review"},  # the vendor states no length
        {"name": "n", "type": "quality_review", "description": "d" * 5000},
    ],
)
def test_create_engagement_accepts_what_the_vendor_does_not_forbid(api: Api, body) -> None:
    r = api.post("/v1/engagements", json=body)
    assert r.status == 201, r.json
    assert api.get(f"/v1/engagements/{r.json['id']}").json == r.json


def test_create_engagement_malformed_json_returns_400_invalid_json(api: Api) -> None:
    r = api.post("/v1/engagements", data='{"name": "n",', headers={"Content-Type": "application/json"})
    assert r.status == 400
    assert r.json["error"]["code"] == "INVALID_JSON"
    assert "line 1" in r.json["error"]["message"]


def test_create_engagement_form_body_returns_415(api: Api) -> None:
    r = api.post("/v1/engagements", data="name=n&type=t", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 415
    assert r.json["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_create_engagement_over_1_mib_returns_413(api: Api) -> None:
    big = '{"name": "' + "x" * (1024 * 1024) + '", "type": "t"}'
    r = api.post("/v1/engagements", data=big, headers={"Content-Type": "application/json"})
    assert r.status == 413
    assert r.json["error"]["code"] == "PAYLOAD_TOO_LARGE"


# -- update ----------------------------------------------------------------------------


def test_update_engagement_changes_only_given_fields_and_bumps_updated_at(api: Api) -> None:
    r = api.patch("/v1/engagements/eng_456", json={"name": "Q1 Quality Review - Updated", "status": "completed"})
    assert r.status == 200
    assert r.json == {
        **SEED_ENGAGEMENT,
        "name": "Q1 Quality Review - Updated",
        "status": "completed",
        "updatedAt": CLOCK,
    }
    assert api.get("/v1/engagements/eng_456").json == r.json


def test_update_engagement_empty_body_changes_nothing(api: Api) -> None:
    r = api.patch("/v1/engagements/eng_456", json={})
    assert r.status == 200 and r.json == SEED_ENGAGEMENT


def test_update_engagement_null_description_clears_it(api: Api) -> None:
    r = api.patch("/v1/engagements/eng_456", json={"description": None})
    assert r.status == 200 and r.json["description"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "archived"}, "body.status"),
        ({"type": "other"}, "body.type"),
        ({"id": "eng_1"}, "body.id"),
        ({"updatedAt": CLOCK}, "body.updatedAt"),
        ({"name": ""}, "body.name"),
    ],
)
def test_update_engagement_invalid_body_returns_400_and_changes_nothing(api: Api, body, field) -> None:
    r = api.patch("/v1/engagements/eng_456", json=body)
    assert r.status == 400
    assert field in [d["field"] for d in r.json["error"]["details"]]
    assert api.get("/v1/engagements/eng_456").json == SEED_ENGAGEMENT


def test_update_engagement_unknown_id_returns_404(api: Api) -> None:
    r = api.patch("/v1/engagements/eng_999", json={"name": "n"})
    assert r.status == 404 and r.json["error"]["code"] == "NOT_FOUND"


# -- stateful flows and tenants ----------------------------------------------------------


def test_create_then_list_get_patch_get(api: Api) -> None:
    created = api.post("/v1/engagements", json=NEW).json
    listed = api.get("/v1/engagements").json
    assert listed["totalCount"] == 6 and listed["data"][0]["id"] == created["id"], "newest first"
    assert api.get(f"/v1/engagements/{created['id']}").json == created
    patched = api.patch(f"/v1/engagements/{created['id']}", json={"status": "paused"}).json
    assert patched == {**created, "status": "paused"}
    assert api.get(f"/v1/engagements/{created['id']}").json == patched


def test_other_client_never_sees_acme_engagements(api: Api) -> None:
    ids = [e["id"] for e in api.get("/v1/engagements", key=OTHER).json["data"]]
    assert ids == ["eng_901", "eng_902"]
    assert api.get("/v1/engagements/eng_456", key=OTHER).status == 404
    assert api.patch("/v1/engagements/eng_456", key=OTHER, json={"name": "x"}).status == 404
    assert api.get("/v1/engagements/eng_456").json == SEED_ENGAGEMENT


def test_created_engagement_is_private_to_its_client(api: Api) -> None:
    created = api.post("/v1/engagements", json=NEW, key=OTHER).json
    assert api.get(f"/v1/engagements/{created['id']}", key=OTHER).status == 200
    assert api.get(f"/v1/engagements/{created['id']}").status == 404
    assert api.get("/v1/engagements").json["totalCount"] == 5


# -- auth: the whole scope matrix --------------------------------------------------------

OPERATIONS = {
    "list": ("GET", "/v1/engagements", None),
    "get": ("GET", "/v1/engagements/eng_456", None),
    "create": ("POST", "/v1/engagements", NEW),
    "update": ("PATCH", "/v1/engagements/eng_456", {"status": "completed"}),
}
EXPECTED = {
    KEY: {"list": 200, "get": 200, "create": 201, "update": 200},
    READ_ONLY: {"list": 200, "get": 200, "create": 403, "update": 403},
    NO_SCOPE: {"list": 403, "get": 403, "create": 403, "update": 403},
    OTHER: {"list": 200, "get": 404, "create": 201, "update": 404},
    "UNKNOWN_KEY": {"list": 401, "get": 401, "create": 401, "update": 401},
    None: {"list": 401, "get": 401, "create": 401, "update": 401},
}


@pytest.mark.parametrize(("key", "operation"), [(k, o) for k in EXPECTED for o in OPERATIONS])
def test_scope_matrix(api: Api, key: str | None, operation: str) -> None:
    method, path, body = OPERATIONS[operation]
    r = api.request(method, path, key=key, json=body)
    assert r.status == EXPECTED[key][operation]


def test_missing_key_returns_401_with_bearer_challenge(api: Api) -> None:
    r = api.get("/v1/engagements", key=None)
    assert r.status == 401
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="auralytik"'
    assert r.json["error"]["code"] == "UNAUTHORIZED"


def test_unknown_key_returns_401_invalid_token(api: Api) -> None:
    r = api.get("/v1/engagements", key="sk_nope")
    assert r.status == 401
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    assert r.json["error"]["code"] == "INVALID_API_KEY"


def test_read_only_key_patch_returns_403_naming_the_scope(api: Api) -> None:
    r = api.patch("/v1/engagements/eng_456", key=READ_ONLY, json={"name": "x"})
    assert r.status == 403
    challenge = r.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="engagements:write"' in challenge
    assert r.json["error"]["code"] == "INSUFFICIENT_SCOPE"
    assert r.json["error"]["requiredScope"] == "engagements:write"
    granted = r.json["error"]["grantedScopes"]
    assert "engagements:write" not in granted and {"engagements:read", "evaluations:read"} <= set(granted)
    assert api.get("/v1/engagements/eng_456").json == SEED_ENGAGEMENT


def test_auth_is_checked_before_the_body(api: Api) -> None:
    r = api.post("/v1/engagements", key=READ_ONLY, json={"bogus": 1})
    assert r.status == 403


# -- routing and the envelope -------------------------------------------------------------


def test_unknown_path_returns_404_envelope(api: Api) -> None:
    r = api.get("/v1/engagement")
    assert r.status == 404 and r.json["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "TRACE"])
@pytest.mark.parametrize("path", ["/v1/engagements", "/v1/engagements/eng_456", "/health"])
def test_other_method_returns_405_with_allow(api: Api, method: str, path: str) -> None:
    r = api.request(method, path)
    assert r.status == 405
    assert r.json["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in r.headers["Allow"] and method not in r.headers["Allow"]


def test_every_error_has_request_id_matching_the_header(api: Api) -> None:
    r = api.get("/v1/engagements/eng_999")
    assert r.json["error"]["requestId"] == r.headers["X-Request-Id"]
    assert r.headers["X-Request-Id"].startswith("req_")


def test_head_answers_like_get_without_a_body(api: Api) -> None:
    r = api.request("HEAD", "/v1/engagements/eng_456")
    assert r.status == 200 and r.text == ""


def test_health_needs_no_key_and_lives_outside_v1_and_under_it_too(api: Api) -> None:
    # The vendor's /health is at the root; tools that ignore path-level servers call the
    # base URL + /health, so /v1/health gives the same answer (issue 9, problem 5).
    root = api.get("/health", key=None)
    under = api.get("/v1/health", key=None)
    assert root.status == under.status == 200 and root.json == under.json == {"status": "ok"}
    r = api.request("TRACE", "/v1/health", key=None)
    assert r.status == 405 and r.json["error"]["code"] == "METHOD_NOT_ALLOWED"
