"""CORS at the HTTP level (the browser proof is tests/browser): preflights, errors, origins."""

from __future__ import annotations

import time

import pytest

from auralytik_mock import MockServer, create_app
from tests.conftest import Api, make_config

ORIGIN = "http://localhost:5173"


def _preflight(api: Api, path: str, method: str, origin: str = ORIGIN, headers: str = "authorization,content-type"):
    return api.request(
        "OPTIONS",
        path,
        key=None,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
        check=False,
    )


@pytest.mark.parametrize(
    ("path", "method"),
    [("/v1/engagements", "GET"), ("/v1/engagements", "POST"), ("/v1/engagements/eng_456", "PATCH")],
)
def test_preflight_allows_the_route_methods_and_headers(api: Api, path: str, method: str) -> None:
    r = _preflight(api, path, method)
    assert r.status == 204
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert method in r.headers["Access-Control-Allow-Methods"]
    assert r.headers["Access-Control-Allow-Headers"] == "authorization,content-type"
    assert "Origin" in r.headers["Vary"]


def test_preflight_for_a_method_the_route_lacks_is_405_with_allow(api: Api) -> None:
    r = _preflight(api, "/v1/engagements", "DELETE")
    assert r.status == 405 and r.json["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert "DELETE is not allowed" in r.json["error"]["message"] and "POST" in r.headers["Allow"]
    assert "Access-Control-Allow-Methods" not in r.headers


def test_preflight_for_an_unknown_path_is_404(api: Api) -> None:
    assert _preflight(api, "/v1/nope", "GET").status == 404


@pytest.mark.parametrize(
    ("method", "path", "key", "headers", "status"),
    [
        ("GET", "/v1/engagements", None, {}, 401),
        ("PATCH", "/v1/engagements/eng_456", "READ_ONLY_API_KEY", {}, 403),
        ("GET", "/v1/engagements/eng_999", "YOUR_API_KEY", {}, 404),
        ("GET", "/v1/engagements?page=0", "YOUR_API_KEY", {}, 400),
        ("GET", "/v1/engagements", "YOUR_API_KEY", {"Prefer": "code=429"}, 429),
        ("GET", "/v1/engagements", "YOUR_API_KEY", {}, 200),
    ],
)
def test_answers_and_errors_carry_cors_headers(api: Api, method, path, key, headers, status) -> None:
    r = api.request(method, path, key=key, json={"name": "x"} if method == "PATCH" else None,
                    headers={"Origin": ORIGIN, **headers})  # fmt: skip
    assert r.status == status
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    exposed = r.headers["Access-Control-Expose-Headers"]
    for name in ("Location", "X-Request-Id", "Retry-After", "WWW-Authenticate"):
        assert name in exposed


def test_configured_origins_only() -> None:
    client = create_app(make_config(cors_origins=("http://app.test:3000",))).test_client()
    allowed = client.get("/v1/engagements", headers={"Origin": "http://app.test:3000"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://app.test:3000"
    other = client.get("/v1/engagements", headers={"Origin": "http://evil.test"})
    assert "Access-Control-Allow-Origin" not in other.headers and other.headers["Vary"] == "Origin"
    preflight = client.options(
        "/v1/engagements", headers={"Origin": "http://evil.test", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 403 and preflight.json["error"]["code"] == "CORS_ORIGIN_NOT_ALLOWED"


def test_no_origin_no_cors_headers(api: Api) -> None:
    r = api.get("/v1/engagements")
    assert "Access-Control-Allow-Origin" not in r.headers


def test_global_latency_delays_api_calls_not_the_admin_api() -> None:
    with MockServer(latency_ms=(250, 300)) as mock:
        import requests

        started = time.perf_counter()
        assert requests.get(f"{mock.url}/engagements/eng_456", headers=mock.auth(), timeout=5).status_code == 200
        assert 0.25 <= time.perf_counter() - started < 2
        started = time.perf_counter()
        assert requests.get(mock.root_url + "/__mock/health", timeout=5).status_code == 200
        assert time.perf_counter() - started < 0.2
