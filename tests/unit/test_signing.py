"""The signing helpers: the vendor's recipe as a function, and adapters for requests and httpx."""

from __future__ import annotations

import base64
import hashlib
import hmac
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
import requests

from auralytik_mock import MockServer
from auralytik_mock.signing import EMPTY_BODY_HASH, canonical_string, httpx_auth, requests_auth, signed_headers
from tests.conftest import CLOCK, make_config

KEY = "ak_live_abc123def456ghi789jkl012mno345pq"
SECRET = "YOUR_HMAC_SECRET"


def test_the_empty_body_hash_is_the_documented_value() -> None:
    assert EMPTY_BODY_HASH == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


def test_signed_headers_follow_the_vendor_recipe() -> None:
    body = b'{"name":"Q1"}'
    headers = signed_headers("post", "/api/v1/engagements", body, key=KEY, secret=SECRET, timestamp=1717243200)
    body_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
    canonical = f"1717243200.POST./api/v1/engagements.{body_hash}"
    expected = base64.b64encode(hmac.new(SECRET.encode(), canonical.encode(), hashlib.sha256).digest()).decode()
    assert headers == {"X-Api-Key": KEY, "X-Timestamp": "1717243200", "X-Signature": expected}


@pytest.mark.parametrize(
    "path",
    ["/api/v1/engagements", "/api/v1/engagements?page=2", "http://127.0.0.1:4010/api/v1/engagements?page=2#top"],
)
def test_only_the_path_is_signed(path: str) -> None:
    assert canonical_string(1, "get", path) == f"1.GET./api/v1/engagements.{EMPTY_BODY_HASH}"


def test_a_str_body_is_signed_as_its_utf8_bytes() -> None:
    assert canonical_string(1, "POST", "/p", "é") == canonical_string(1, "POST", "/p", "é".encode())


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    with MockServer(config=make_config(port=0)) as server:
        yield server


def test_mock_server_signs_at_its_pinned_clock(mock: MockServer) -> None:
    mock.reset()
    assert mock.signed_url.endswith("/api/v1")
    headers = mock.sign("GET", "/api/v1/engagements")
    assert headers["X-Timestamp"] == "1717243200"  # CLOCK, not the real time
    assert CLOCK == "2024-06-01T12:00:00Z"
    r = requests.get(f"{mock.signed_url}/engagements", headers=headers, timeout=10)
    assert r.status_code == 200 and r.json()["totalCount"] == 5


def test_the_requests_adapter_signs_get_and_post(mock: MockServer) -> None:
    mock.reset()
    session = requests.Session()
    session.auth = mock.requests_auth()
    created = session.post(f"{mock.signed_url}/engagements?x=", json={"name": "Via requests", "type": "t"}, timeout=10)
    assert created.status_code == 400  # the unknown query parameter: signed fine, then validated
    created = session.post(f"{mock.signed_url}/engagements", json={"name": "Via requests", "type": "t"}, timeout=10)
    assert created.status_code == 201, created.text
    listed = session.get(f"{mock.signed_url}/engagements", params={"pageSize": 1}, timeout=10)
    assert listed.status_code == 200 and listed.json()["data"][0]["name"] == "Via requests"


def test_the_requests_adapter_with_the_real_clock_is_refused_by_a_pinned_mock(mock: MockServer) -> None:
    r = requests.get(f"{mock.signed_url}/engagements", auth=requests_auth(KEY, SECRET), timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "FUTURE_TIMESTAMP"


def test_the_httpx_adapter_signs_get_and_patch(mock: MockServer) -> None:
    mock.reset()
    with httpx.Client(auth=mock.httpx_auth(), timeout=10) as client:
        patched = client.patch(f"{mock.signed_url}/engagements/eng_456", json={"status": "paused"})
        assert patched.status_code == 200 and patched.json()["status"] == "paused"
        assert client.get(f"{mock.signed_url}/engagements/eng_456").json()["status"] == "paused"
    r = httpx.get(f"{mock.signed_url}/engagements", auth=httpx_auth(KEY, "wrong"), timeout=10)
    assert r.status_code == 401


def test_the_read_only_key_through_the_helper_gets_403(mock: MockServer) -> None:
    key = "ak_live_readonly000000000000000000000000"
    r = requests.post(
        f"{mock.signed_url}/engagements", json={"name": "n", "type": "t"}, auth=mock.requests_auth(key), timeout=10
    )
    assert r.status_code == 403


def test_requests_and_httpx_are_imported_only_when_used() -> None:
    code = (
        "import sys, auralytik_mock, auralytik_mock.signing as s;"
        "from auralytik_mock import MockServer;"
        "assert 'httpx' not in sys.modules, 'httpx imported';"
        "s.httpx_auth('k', 's'); assert 'httpx' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("secret", ["", "YOUR_HMAC_SECRET", "k" * 64, "long" * 40, "sécret"])
def test_the_prepared_signer_equals_hmac(secret: str) -> None:
    from auralytik_mock.signing import Signer

    message = "1717243200.GET./api/v1/engagements." + EMPTY_BODY_HASH
    expected = base64.b64encode(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()).decode()
    signer = Signer(secret)
    assert signer.sign(message) == expected and signer.sign(message) == expected  # reusable
