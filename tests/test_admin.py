"""The admin API under /__mock, forced responses (Prefer) and fault rules, isolated sessions."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests

from auralytik_mock import MockServer
from auralytik_mock.core.spec import Spec
from tests.conftest import KEY, SPEC_PATH, Api, make_config

NEW = {"name": "n", "type": "quality_review"}


# -- Prefer ------------------------------------------------------------------------------


def test_prefer_code_429_answers_the_documented_rate_limit(api: Api) -> None:
    r = api.get("/v1/engagements", headers={"Prefer": "code=429"})
    assert r.status == 429
    assert r.headers["Retry-After"] == "30"
    error = r.json["error"]
    assert error["code"] == "RATE_LIMIT_EXCEEDED" and error["retryAfter"] == 30
    assert error["requestId"] == r.headers["X-Request-Id"]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (500, "INTERNAL_ERROR"),
        (503, "SERVICE_UNAVAILABLE"),
        (404, "NOT_FOUND"),
        (401, "INVALID_API_KEY"),
        (403, "INSUFFICIENT_SCOPE"),
    ],
)
def test_prefer_code_answers_any_documented_error(api: Api, status: int, code: str) -> None:
    r = api.get("/v1/engagements/eng_456", headers={"Prefer": f"code={status}"})
    assert r.status == status and r.json["error"]["code"] == code


def test_prefer_undocumented_code_returns_400_saying_so(api: Api) -> None:
    r = api.get("/v1/engagements", headers={"Prefer": "code=418"})
    assert r.status == 400
    assert "418 is not documented for listEngagements" in r.json["error"]["message"]


def test_prefer_forced_error_changes_nothing(api: Api) -> None:
    r = api.post("/v1/engagements", json=NEW, headers={"Prefer": "code=500"})
    assert r.status == 500
    assert api.get("/v1/engagements").json["totalCount"] == 5


def test_prefer_success_code_is_the_normal_answer(api: Api) -> None:
    assert api.post("/v1/engagements", json=NEW, headers={"Prefer": "code=201"}).status == 201


def test_prefer_does_not_bypass_auth(api: Api) -> None:
    assert api.get("/v1/engagements", key=None, headers={"Prefer": "code=500"}).status == 401


def test_prefer_delay_adds_latency(api: Api) -> None:
    started = time.perf_counter()
    assert api.get("/v1/engagements", headers={"Prefer": "delay=300"}).status == 200
    assert time.perf_counter() - started >= 0.3


# -- forced errors are real errors (issue 9, problem 3) ----------------------------------
# The api fixture checks every answer against openapi.yaml, and the self-check is on.


#: YOUR_API_KEY's scopes, sorted (fixtures/acme.yaml).
KEY_SCOPES = sorted(
    "analytics:export analytics:read audio:download audio:read audio:write campaigns:read conversations:read"
    " engagements:read engagements:write evaluations:read usage:read voice:read webhooks:manage".split()
)

#: READ_ONLY_API_KEY's scopes, sorted: every read scope, no write.
READ_ONLY_SCOPES = [s for s in KEY_SCOPES if s not in {"engagements:write", "audio:write", "webhooks:manage"}]


def _challenge(header: str) -> dict[str, str]:
    import re

    return dict(re.findall(r'(\w+)="([^"]*)"', header))


@pytest.mark.parametrize(
    ("path", "key", "scope", "granted"),
    [
        ("/v1/engagements", KEY, "engagements:read", KEY_SCOPES),
        ("/v1/engagements/eng_456", "READ_ONLY_API_KEY", "engagements:read", READ_ONLY_SCOPES),
    ],
)
def test_forced_403_names_the_operations_scope_and_the_keys_scopes(
    api: Api, path: str, key: str, scope: str, granted: list[str]
) -> None:
    r = api.get(path, key=key, headers={"Prefer": "code=403"})
    error = r.json["error"]
    assert r.status == 403 and error["code"] == "INSUFFICIENT_SCOPE"
    assert error["requiredScope"] == scope and error["grantedScopes"] == granted
    challenge = _challenge(r.headers["WWW-Authenticate"])
    assert challenge["error"] == "insufficient_scope" and challenge["scope"] == scope
    assert f"'{scope}'" in error["message"] and "Prefer: code=403" in error["message"]


def test_forced_403_on_a_write_names_the_write_scope(api: Api) -> None:
    r = api.patch("/v1/engagements/eng_456", json={"name": "x"}, headers={"Prefer": "code=403"})
    assert r.json["error"]["requiredScope"] == "engagements:write"
    assert _challenge(r.headers["WWW-Authenticate"])["scope"] == "engagements:write"


@pytest.mark.parametrize("record_id", ["eng_456", "eng_457", "eng_does_not_exist"])
def test_forced_404_names_the_id_in_the_path(api: Api, record_id: str) -> None:
    r = api.get(f"/v1/engagements/{record_id}", headers={"Prefer": "code=404"})
    assert r.status == 404 and r.json["error"]["code"] == "NOT_FOUND"
    assert f"No engagement with id '{record_id}'." in r.json["error"]["message"]
    assert "eng_999" not in r.json["error"]["message"]


def test_forced_400_carries_a_violation_and_its_message_names_it(api: Api) -> None:
    r = api.post("/v1/engagements", json=NEW, headers={"Prefer": "code=400"})
    error = r.json["error"]
    assert r.status == 400 and error["code"] == "VALIDATION_ERROR"
    assert error["details"] == [{"field": "header.Prefer", "message": "forces this error"}]
    assert error["message"] == "header.Prefer forces this error. (forced by 'Prefer: code=400')"


def test_forced_401_carries_the_challenge_a_real_401_carries(api: Api) -> None:
    r = api.get("/v1/engagements", headers={"Prefer": "code=401"})
    real = api.get("/v1/engagements", key="NOT_A_KEY")
    assert r.status == real.status == 401
    assert r.json["error"]["code"] == real.json["error"]["code"] == "INVALID_API_KEY"
    assert r.headers["WWW-Authenticate"] == real.headers["WWW-Authenticate"]


@pytest.mark.parametrize("path", ["/v1/engagements", "/v1/engagements/eng_456", "/health", "/v1/health"])
def test_forced_429_retry_after_matches_its_header(api: Api, path: str) -> None:
    r = api.get(path, headers={"Prefer": "code=429"})
    assert r.status == 429 and r.json["error"]["retryAfter"] == int(r.headers["Retry-After"])


def test_fault_rule_errors_are_rendered_from_the_request(api: Api) -> None:
    api.post("/__mock/faults", key=None, json={"path": "/v1/engagements/{id}", "status": 404, "times": 1})
    r = api.get("/v1/engagements/eng_458")
    assert r.status == 404 and "No engagement with id 'eng_458'." in r.json["error"]["message"]
    assert "fault rule fault_" in r.json["error"]["message"]
    api.post("/__mock/faults", key=None, json={"path": "/v1/engagements", "status": 403, "times": 1})
    r = api.get("/v1/engagements", key="READ_ONLY_API_KEY")
    assert r.json["error"]["grantedScopes"] == READ_ONLY_SCOPES
    assert r.json["error"]["requiredScope"] == _challenge(r.headers["WWW-Authenticate"])["scope"]
    api.post("/__mock/faults", key=None, json={"path": "/v1/engagements", "status": 400, "times": 1})
    r = api.get("/v1/engagements")
    assert r.json["error"]["details"][0]["field"].startswith("faultRule.fault_")
    api.post("/__mock/faults", key=None, json={"path": "/v1/engagements", "status": 401, "times": 1})
    r = api.get("/v1/engagements", key=None)  # a rule acts before auth: no key, the no-key challenge
    assert r.status == 401 and r.headers["WWW-Authenticate"] == 'Bearer realm="auralytik"'


# -- latency on every answer (issue 9, problem 2) ----------------------------------------

LATENCY_CASES = [
    ("GET", "/v1/engagements", None, {}, 401),
    ("GET", "/v1/engagements", "NOT_A_KEY", {}, 401),
    ("POST", "/v1/engagements", "READ_ONLY_API_KEY", {}, 403),
    ("GET", "/v1/engagements?page=0", KEY, {}, 400),
    ("GET", "/v1/engagements/eng_999", KEY, {}, 404),
    ("GET", "/v1/nope", KEY, {}, 404),
    ("DELETE", "/v1/engagements/eng_456", KEY, {}, 405),
    ("GET", "/v1/engagements", KEY, {"Prefer": "code=429"}, 429),
    ("GET", "/v1/engagements", KEY, {}, 200),
]


def _timed(base: str, method: str, path: str, key: str | None, headers: dict[str, str]) -> tuple[int, float]:
    sent = {**headers, **({"Authorization": f"Bearer {key}"} if key else {})}
    started = time.perf_counter()
    status = requests.request(method, base + path, headers=sent, timeout=10).status_code
    return status, time.perf_counter() - started


def _all_timed(base: str, cases: list[tuple[str, str, str | None, dict[str, str]]]) -> list[tuple[int, float]]:
    """``_timed`` of every case at once, each on its own connection: what each one waited is
    its own (the delays overlap instead of adding up to seconds of sleep)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(cases)) as pool:
        return list(pool.map(lambda case: _timed(base, *case), cases))


def test_latency_delays_every_api_answer_errors_included_on_mock_server() -> None:
    with MockServer(latency_ms=(300, 300)) as mock:
        answers = _all_timed(mock.root_url, [case[:4] for case in LATENCY_CASES])
        for (method, path, _, _, expected), (status, took) in zip(LATENCY_CASES, answers, strict=True):
            assert status == expected and took >= 0.3, (method, path, status, took)


@pytest.mark.parametrize("server", ["asyncio"])
def test_latency_delays_every_api_answer_errors_included_on_serve(server: str) -> None:
    from tests.processes import serving

    with serving("--server", server, "--quiet", "--latency", "300") as (base, _):
        answers = _all_timed(base, [case[:4] for case in LATENCY_CASES])
        for (method, path, _, _, expected), (status, took) in zip(LATENCY_CASES, answers, strict=True):
            assert status == expected and took >= 0.3, (method, path, status, took)


def test_prefer_delay_and_fault_delay_apply_to_errors_too() -> None:
    prefer = {"Prefer": "delay=300"}
    asked = [("GET", "/v1/engagements", None, prefer), ("GET", "/v1/engagements/eng_999", KEY, prefer)]
    ruled = [("GET", "/v1/engagements/eng_999", KEY, {}), ("PATCH", "/v1/engagements/eng_456", "READ_ONLY_API_KEY", {})]
    with MockServer() as mock:
        [(unauthorized, took_401), (not_found, took_404)] = _all_timed(mock.root_url, asked)
        assert unauthorized == 401 and took_401 >= 0.3
        assert not_found == 404 and took_404 >= 0.3
        requests.post(
            mock.root_url + "/__mock/faults", json={"path": "/v1/engagements/{id}", "delayMs": 300}, timeout=5
        )
        [(not_found, took_404), (forbidden, took_403)] = _all_timed(mock.root_url, ruled)
        assert not_found == 404 and took_404 >= 0.3
        assert forbidden == 403 and took_403 >= 0.3


def test_preflights_are_not_delayed() -> None:
    with MockServer(latency_ms=(30000, 30000)) as mock:
        headers = {"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"}
        started = time.perf_counter()
        r = requests.options(f"{mock.url}/engagements", headers=headers, timeout=20)
        assert r.status_code == 204 and time.perf_counter() - started < 10


# -- admin endpoints ---------------------------------------------------------------------


def test_admin_health_is_ready_without_a_key(api: Api) -> None:
    r = api.get("/__mock/health", key=None)
    assert r.status == 200 and r.json["status"] == "ok" and r.json["operations"] == len(Spec.load(SPEC_PATH).operations)


def test_admin_reset_restores_the_fixtures(api: Api) -> None:
    api.post("/v1/engagements", json=NEW)
    api.patch("/v1/engagements/eng_456", json={"name": "changed"})
    assert api.post("/__mock/reset", key=None).json == {"status": "ok"}
    assert api.get("/v1/engagements").json["totalCount"] == 5
    assert api.get("/v1/engagements/eng_456").json["name"] == "Q1 Quality Review"


def test_admin_reset_other_method_is_405_with_allow(api: Api) -> None:
    r = api.get("/__mock/reset", key=None)
    assert r.status == 405 and r.headers["Allow"] == "POST"


def test_admin_unknown_path_is_404_envelope(api: Api) -> None:
    r = api.get("/__mock/nope", key=None)
    assert r.status == 404 and r.json["error"]["code"] == "NOT_FOUND"


def test_admin_requests_lists_and_filters_and_clears(api: Api) -> None:
    api.get("/v1/engagements")
    api.post("/v1/engagements", json=NEW)
    all_ = api.get("/__mock/requests", key=None).json
    assert [e["method"] for e in all_["requests"]] == ["GET", "POST"]
    posts = api.get("/__mock/requests?method=post", key=None).json
    assert posts["count"] == 1 and posts["requests"][0]["body"] == NEW
    assert api.request("DELETE", "/__mock/requests", key=None).status == 200
    assert api.get("/__mock/requests", key=None).json["count"] == 0


def test_admin_state_dump_and_load_round_trip(api: Api) -> None:
    state = api.get("/__mock/state", key=None).json
    assert [c["id"] for c in state["clients"]] == ["client_acme", "client_globex"]
    acme = state["clients"][0]
    acme["engagements"] = acme["engagements"][:1]
    kept = acme["engagements"][0]["id"]
    acme["evaluations"] = [e for e in acme["evaluations"] if e["engagementId"] == kept]  # each names one kept
    r = api.request("PUT", "/__mock/state", key=None, json=state)
    assert r.status == 200
    records = sum(len(v) for c in state["clients"] for k, v in c.items() if k not in {"id", "name", "apiKeys", "plan"})
    assert r.json["records"] == records and len(acme["engagements"]) == 1
    assert api.get("/v1/engagements").json["totalCount"] == 1
    assert api.post("/__mock/reset", key=None).status == 200
    assert api.get("/v1/engagements").json["totalCount"] == 5


def test_admin_state_load_rejects_invalid_records_and_keeps_the_state(api: Api) -> None:
    state = api.get("/__mock/state", key=None).json
    state["clients"][0]["engagements"][0]["status"] = "archived"
    r = api.request("PUT", "/__mock/state", key=None, json=state)
    assert r.status == 400 and "engagements[0]" in r.json["error"]["message"]
    assert api.get("/v1/engagements").json["totalCount"] == 5


def test_admin_state_load_names_the_record_that_repeats_an_id(api: Api) -> None:
    state = api.get("/__mock/state", key=None).json
    engagements = state["clients"][0]["engagements"]
    engagements[1]["status"] = "archived"
    engagements[2]["id"] = engagements[0]["id"]
    r = api.request("PUT", "/__mock/state", key=None, json=state)
    message = r.json["error"]["message"]
    assert r.status == 400 and f"engagements[2].id: '{engagements[0]['id']}' is also used at" in message, message


def test_admin_state_load_takes_records_without_optional_fields(api: Api) -> None:
    state = api.get("/__mock/state", key=None).json
    state["clients"][0]["engagements"] = [{"id": "eng_1", "name": "Bare", "type": "quality_review"}]
    state["clients"][0]["evaluations"] = []  # they name the engagements just replaced
    assert api.request("PUT", "/__mock/state", key=None, json=state).status == 200
    record = api.get("/v1/engagements/eng_1").json
    assert record["description"] is None and record["status"] == "active" and record["evaluationCount"] == 0


def test_admin_clock_pins_now(api: Api) -> None:
    assert api.request("PUT", "/__mock/clock", key=None, json={"now": "2030-01-01T00:00:00Z"}).status == 200
    assert api.post("/v1/engagements", json=NEW).json["createdAt"] == "2030-01-01T00:00:00Z"
    assert api.request("PUT", "/__mock/clock", key=None, json={"now": "tomorrow"}).status == 400


def test_admin_serves_the_spec_pointing_at_itself(api: Api) -> None:
    doc = api.get("/__mock/openapi.json", key=None).json
    assert doc["servers"][0]["url"].endswith("/v1")
    assert doc["paths"]["/health"]["servers"][0]["url"].startswith("http://")


# -- fault rules ---------------------------------------------------------------------------


def test_fault_rule_answers_503_for_the_next_n_calls_then_stops(api: Api) -> None:
    rule = {"method": "PATCH", "path": "/v1/engagements/{id}", "status": 503, "times": 2}
    created = api.post("/__mock/faults", key=None, json=rule)
    assert created.status == 201 and created.json["id"].startswith("fault_")
    statuses = [api.patch("/v1/engagements/eng_456", json={"name": "x"}).status for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert api.get("/v1/engagements/eng_456").status == 200, "other methods are untouched"
    assert api.get("/__mock/faults", key=None).json["faults"] == []


def test_fault_rule_on_a_concrete_path(api: Api) -> None:
    api.post("/__mock/faults", key=None, json={"path": "/v1/engagements/eng_457", "status": 500})
    assert api.get("/v1/engagements/eng_457").status == 500
    assert api.get("/v1/engagements/eng_456").status == 200


def test_fault_rule_delay(api: Api) -> None:
    api.post("/__mock/faults", key=None, json={"method": "GET", "path": "/v1/engagements", "delayMs": 300})
    started = time.perf_counter()
    assert api.get("/v1/engagements").status == 200
    assert time.perf_counter() - started >= 0.3


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"path": "/v1/nope", "status": 503}, "body.path"),
        ({"path": "/v1/engagements", "status": 418}, "body.status"),
        ({"path": "/v1/engagements"}, "body"),
        ({"path": "/v1/engagements", "status": 503, "times": 0}, "body.times"),
        ({"path": "/v1/engagements", "delayMs": -5}, "body.delayMs"),
        ({"path": "/v1/engagements", "status": 503, "colour": 1}, "body.colour"),
    ],
)
def test_invalid_fault_rule_returns_400(api: Api, rule: dict, field: str) -> None:
    r = api.post("/__mock/faults", key=None, json=rule)
    assert r.status == 400
    assert field in [d["field"] for d in r.json["error"]["details"]]


def test_reset_clears_fault_rules(api: Api) -> None:
    api.post("/__mock/faults", key=None, json={"path": "/v1/engagements", "status": 503})
    api.post("/__mock/reset", key=None)
    assert api.get("/v1/engagements").status == 200


def test_fault_rule_drop_closes_the_connection() -> None:
    with MockServer() as mock:
        requests.post(
            mock.root_url + "/__mock/faults", json={"path": "/v1/engagements", "drop": True, "times": 1}, timeout=5
        )
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{mock.url}/engagements", headers=mock.auth(), timeout=5)
        assert requests.get(f"{mock.url}/engagements", headers=mock.auth(), timeout=5).status_code == 200


def test_slow_call_does_not_stall_other_clients() -> None:
    with MockServer() as mock:
        requests.post(
            mock.root_url + "/__mock/faults",
            json={"method": "GET", "path": "/v1/engagements", "delayMs": 20000},
            timeout=5,
        )
        parked = threading.Event()

        def slow_call() -> None:
            parked.set()
            try:
                requests.get(f"{mock.url}/engagements", headers=mock.auth(), timeout=30)
            except requests.RequestException:
                pass  # stop() drops a call still parked in its delay

        slow = threading.Thread(target=slow_call)
        slow.start()
        parked.wait(5)
        time.sleep(0.1)
        assert requests.get(f"{mock.url}/engagements/eng_456", headers=mock.auth(), timeout=5).status_code == 200
        assert slow.is_alive(), "the other call answered while the slow one is still parked in its delay"
    slow.join(10)
    assert not slow.is_alive(), "stop() does not wait for a call parked in a delay"


# -- sessions ----------------------------------------------------------------------------


def test_sessions_are_isolated_from_each_other_and_from_the_default(api: Api) -> None:
    a = api.post("/__mock/sessions", key=None).json
    b = api.post("/__mock/sessions", key=None).json
    key_a, key_b = a["keys"][KEY], b["keys"][KEY]
    assert key_a != key_b and key_a != KEY
    created = api.post("/v1/engagements", json=NEW, key=key_a)
    assert created.status == 201
    assert api.get("/v1/engagements", key=key_a).json["totalCount"] == 6
    assert api.get("/v1/engagements", key=key_b).json["totalCount"] == 5
    assert api.get("/v1/engagements").json["totalCount"] == 5
    assert api.get(f"/v1/engagements/{created.json['id']}", key=key_b).status == 404
    assert api.patch("/v1/engagements/eng_456", key=a["keys"]["READ_ONLY_API_KEY"], json={"name": "x"}).status == 403


def test_session_delete_frees_its_keys(api: Api) -> None:
    session = api.post("/__mock/sessions", key=None).json
    assert api.request("DELETE", f"/__mock/sessions/{session['id']}", key=None).status == 200
    assert api.get("/v1/engagements", key=session["keys"][KEY]).status == 401
    assert api.request("DELETE", f"/__mock/sessions/{session['id']}", key=None).status == 404


def test_session_reset_restores_only_that_session(api: Api) -> None:
    session = api.post("/__mock/sessions", key=None).json
    key = session["keys"][KEY]
    api.post("/v1/engagements", json=NEW, key=key)
    api.post("/v1/engagements", json=NEW)
    assert api.post(f"/__mock/sessions/{session['id']}/reset", key=None).status == 200
    assert api.get("/v1/engagements", key=key).json["totalCount"] == 5
    assert api.get("/v1/engagements").json["totalCount"] == 6


def test_sessions_are_capped_with_a_clear_error() -> None:
    from auralytik_mock import create_app

    client = create_app(make_config(max_sessions=2)).test_client()
    assert [client.post("/__mock/sessions").status_code for _ in range(2)] == [201, 201]
    r = client.post("/__mock/sessions")
    assert r.status_code == 507 and "At most 2 sessions" in r.json["error"]["message"]


def test_admin_paths_never_collide_with_api_paths() -> None:
    from tests.conftest import _SPEC

    assert not [op.path for op in _SPEC.operations if op.path.startswith("/__mock")]


def test_port_is_really_free_after_stop() -> None:
    with MockServer() as mock:
        port = mock.port
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_fault_rules_can_be_removed_one_by_one(api: Api) -> None:
    first = api.post("/__mock/faults", key=None, json={"path": "/v1/engagements", "status": 503}).json
    api.post("/__mock/faults", key=None, json={"path": "/v1/engagements/eng_456", "status": 500})
    assert api.request("DELETE", f"/__mock/faults/{first['id']}", key=None).status == 200
    assert api.get("/v1/engagements").status == 200
    assert api.get("/v1/engagements/eng_456").status == 500
    assert api.request("DELETE", f"/__mock/faults/{first['id']}", key=None).status == 404
    assert api.request("DELETE", "/__mock/faults", key=None).status == 200
    assert api.get("/v1/engagements/eng_456").status == 200


def test_the_journal_counts_an_injected_delay_in_what_the_client_waited() -> None:
    from auralytik_mock import create_app

    client = create_app(make_config()).test_client()
    headers = {"Authorization": f"Bearer {KEY}", "Prefer": "delay=800"}
    assert client.get("/v1/engagements/eng_does_not_exist", headers=headers).status_code == 404
    (entry,) = client.get("/__mock/requests").json["requests"]
    assert entry["delayMs"] == 800 and entry["durationMs"] >= 800


def test_an_invalid_fault_rule_names_its_first_problem_in_the_message(api: Api) -> None:
    r = api.request("POST", "/__mock/faults", key=None, json={"path": "/v1/engagements", "times": 0})
    assert r.status == 400
    message = r.json["error"]["message"]
    assert message.startswith("The fault rule is not valid: ") and "body.times" in message, message


def test_the_banner_names_health_under_every_base_path() -> None:
    from auralytik_mock.cli import banner
    from auralytik_mock.harness.sandbox import Engine

    text = banner(Engine(make_config()), "http://127.0.0.1:4010")
    for path in ("/health", "/v1/health", "/api/v1/health"):
        assert f"http://127.0.0.1:4010{path}" in text


# -- MockServer helpers: fault rules and the clock (issue 17.16) ---------------------------


def test_mock_server_fault_returns_the_live_rule_and_it_answers() -> None:
    from auralytik_mock.core.faults import FaultRule

    with MockServer(config=make_config(port=0)) as mock:
        rule = mock.fault("/v1/engagements", method="GET", status=503, times=2)
        assert isinstance(rule, FaultRule) and rule.id and rule.status == 503
        assert mock.faults == [rule.as_json()]
        statuses = [
            requests.get(f"{mock.url}/engagements", headers=mock.auth(), timeout=5).status_code for _ in range(3)
        ]
        assert statuses == [503, 503, 200]
        assert rule.hits == 2 and mock.faults == [], "a spent rule is gone"
        assert requests.post(f"{mock.url}/engagements", headers=mock.auth(), json=NEW, timeout=5).status_code == 201
        slow = mock.fault("/v1/engagements/{id}", delay_ms=1)
        kept = mock.fault("/v1/engagements/{id}", method="PATCH", status=404)
        assert mock.remove_fault(slow) and not mock.remove_fault(slow.id)
        assert [f["id"] for f in mock.faults] == [kept.id]
        mock.clear_faults()
        assert mock.faults == []
        assert [e["status"] for e in mock.requests[:3]] == [503, 503, 200], "the journal shows the forced answers"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"path": "/v1/nowhere", "status": 503}, "body.path no operation of the spec matches"),
        ({"path": "/v1/engagements", "status": 418}, "418 is not documented for"),
        ({"path": "/v1/engagements"}, "give status, delayMs or drop"),
        ({"path": "/v1/engagements", "status": 500, "times": 0}, "body.times must be a positive integer"),
        ({"path": "/v1/engagements", "status": 500, "session": "ses_nope"}, "No session 'ses_nope'"),
    ],
)
def test_mock_server_fault_refuses_a_rule_the_admin_api_refuses(options: dict, message: str) -> None:
    from auralytik_mock.core.errors import ServerError

    mock = MockServer(config=make_config())
    path = options.pop("path")
    with pytest.raises(ServerError, match=message.replace("(", r"\(")):
        mock.fault(path, **options)
    assert mock.faults == []


def test_mock_server_fault_for_a_session_concerns_that_session_only() -> None:
    with MockServer(config=make_config(port=0)) as mock:
        session = requests.post(f"{mock.root_url}/__mock/sessions", timeout=5).json()
        mock.fault("/v1/engagements", status=500, session=session["id"])
        theirs = {"Authorization": f"Bearer {session['keys'][KEY]}"}
        assert requests.get(f"{mock.url}/engagements", headers=theirs, timeout=5).status_code == 500
        assert requests.get(f"{mock.url}/engagements", headers=mock.auth(), timeout=5).status_code == 200
        mock.clear_faults(session=session["id"])
        assert requests.get(f"{mock.url}/engagements", headers=theirs, timeout=5).status_code == 200


def test_mock_server_set_clock_and_advance_move_what_the_mock_stamps_and_signs() -> None:
    from datetime import UTC, datetime, timedelta

    from auralytik_mock.core.errors import ServerError

    with MockServer(config=make_config(port=0, clock=None)) as mock:
        with pytest.raises(ServerError, match="pin it first"):
            mock.advance(60)
        mock.set_clock("2024-01-01T00:00:00Z")
        assert mock.now == "2024-01-01T00:00:00Z"
        assert mock.advance(90) == "2024-01-01T00:01:30Z" == mock.now
        assert mock.advance(timedelta(days=1)) == "2024-01-02T00:01:30Z"
        made = requests.post(f"{mock.url}/engagements", headers=mock.auth(), json=NEW, timeout=5).json()
        assert made["createdAt"] == "2024-01-02T00:01:30Z"
        # signatures are checked at the moved clock: the helpers sign at it too
        signed = requests.get(f"{mock.signed_url}/engagements", auth=mock.requests_auth(), timeout=5)
        assert signed.status_code == 200, signed.text
        assert mock.now_seconds() == int(datetime(2024, 1, 2, 0, 1, 30, tzinfo=UTC).timestamp())
        mock.set_clock(datetime(2030, 5, 6, 7, 8, 9))  # naive: UTC
        assert mock.now == "2030-05-06T07:08:09Z"
        for bad in (-1, 1.5, "60"):
            with pytest.raises(ServerError, match="whole number of seconds"):
                mock.advance(bad)  # type: ignore[arg-type]
        with pytest.raises(ServerError, match="RFC 3339"):
            mock.set_clock("tomorrow")
        mock.set_clock(None)
        assert requests.get(f"{mock.root_url}/__mock/clock", timeout=5).json()["pinned"] is False
        mock.set_clock("2024-01-01T00:00:00Z")
        mock.reset()
        assert requests.get(f"{mock.root_url}/__mock/clock", timeout=5).json()["pinned"] is False, "reset frees it"


def test_admin_clock_moves_forward_by_advance_seconds(api: Api) -> None:
    r = api.request("PUT", "/__mock/clock", key=None, json={"advanceSeconds": 3600})
    assert r.status == 200 and r.json == {"now": "2024-06-01T13:00:00Z", "pinned": True}
    assert api.post("/v1/engagements", json=NEW).json["createdAt"] == "2024-06-01T13:00:00Z"
    both = api.request("PUT", "/__mock/clock", key=None, json={"now": "2024-01-01T00:00:00Z", "advanceSeconds": 1})
    assert both.status == 400
    typo = api.request("PUT", "/__mock/clock", key=None, json={"time": "2024-01-01T00:00:00Z"})
    assert typo.status == 400 and typo.json["error"]["details"][0]["field"] == "body.time"
    assert api.request("PUT", "/__mock/clock", key=None, json={"advanceSeconds": -5}).status == 400
    assert api.get("/__mock/clock", key=None).json["now"] == "2024-06-01T13:00:00Z", "refusals move nothing"
    assert api.request("PUT", "/__mock/clock", key=None, json={"now": None}).status == 200
    unpinned = api.request("PUT", "/__mock/clock", key=None, json={"advanceSeconds": 5})
    assert unpinned.status == 409 and unpinned.json["error"]["code"] == "CLOCK_NOT_PINNED"


def test_mock_server_auth_uses_the_first_key_of_your_own_fixtures(tmp_path) -> None:
    from tests.conftest import FIXTURES

    (tmp_path / "mine.yaml").write_text(
        (FIXTURES / "globex.yaml").read_text().replace("OTHER_CLIENT_API_KEY", "MY_KEY")
    )
    with MockServer(config=make_config(port=0, fixtures=(tmp_path,))) as mock:
        assert mock.auth() == {"Authorization": "Bearer MY_KEY"}
        assert requests.get(f"{mock.url}/engagements", headers=mock.auth(), timeout=5).status_code == 200
    bundled = MockServer(config=make_config())
    assert bundled.auth() == {"Authorization": "Bearer YOUR_API_KEY"}
    assert bundled.first_key(signing=True) == "ak_live_abc123def456ghi789jkl012mno345pq"


def test_a_sessions_signing_keys_keep_the_shape_of_the_fixtures_keys() -> None:
    # Whatever the vendor: a session's signing key and secret look like the fixture's (a target
    # may check a key's format), and never take another vendor's prefix.
    from auralytik_mock.core.seed import ApiKey

    fixture = ApiKey("whk-test-0123456789abcdef0123", ("notes:read",), "whsec_s3cr3t-value-of-some-length")
    first, again = fixture.in_session("ses_1_"), fixture.in_session("ses_1_")
    assert first == again and first.secret == again.secret  # a session's reset keeps them
    assert first.key.startswith("whk-test-") and len(first.key) == len(fixture.key) and first.key != fixture.key
    assert first.secret is not None and first.secret.startswith("whsec_s3cr3t-value-of-some-")
    assert first.secret != fixture.secret and "ak_live_" not in first.key
    assert fixture.in_session("ses_2_").key != first.key
    vendor = ApiKey("ak_live_abc123def456ghi789jkl012mno345pq", (), "YOUR_HMAC_SECRET").in_session("ses_1_")
    assert vendor.key.startswith("ak_live_") and len(vendor.key) == 40
