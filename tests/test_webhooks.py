"""Webhooks: registrations, signed deliveries to a real receiver, retries on the mock's clock."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from auralytik_mock import MockServer
from auralytik_mock.core.store import DEFAULT_NAMESPACE
from auralytik_mock.harness.deliveries import RETRY_DELAYS, TIMEOUT
from auralytik_mock.webhooks import address_refusal, sign, verify_signature

from .conftest import make_config

START = "2024-01-01T00:00:00Z"
START_SECONDS = 1704067200


@pytest.fixture(scope="module")
def server(small_fixtures: Path) -> Iterator[MockServer]:
    with MockServer(config=make_config(fixtures=(small_fixtures,), clock=START)) as mock:
        yield mock


@pytest.fixture
def mock(server: MockServer) -> MockServer:
    server.reset()
    return server


def _create(mock: MockServer, url: str, events: list[str], key: str = "YOUR_API_KEY", **more: Any) -> Any:
    r = requests.post(f"{mock.url}/webhooks", json={"url": url, "events": events, **more}, headers=mock.auth(key))
    assert r.status_code == 201, r.text
    return r.json()


def test_create_shows_the_secret_once_and_the_list_never(mock: MockServer) -> None:
    created = _create(mock, mock.webhook_url("a"), ["evaluation.completed"], description="mine")
    assert created["id"].startswith("wh_") and created["signing_secret"].startswith("whsec_")
    assert created["active"] is True and created["created_at"] == START
    listed = requests.get(f"{mock.url}/webhooks", headers=mock.auth()).json()
    assert listed["totalCount"] == 1 and "signing_secret" not in listed["data"][0]
    assert listed["data"][0] == {k: v for k, v in created.items() if k != "signing_secret"}
    other = requests.get(f"{mock.url}/webhooks", headers=mock.auth("OTHER_CLIENT_API_KEY")).json()
    assert other["totalCount"] == 0, "another client never sees them"


def test_managing_webhooks_needs_the_scope(mock: MockServer) -> None:
    r = requests.get(f"{mock.url}/webhooks", headers=mock.auth("READ_ONLY_API_KEY"))
    assert r.status_code == 403 and r.json()["error"]["requiredScope"] == "webhooks:manage"


def test_the_test_event_is_delivered_signed_with_the_secret_from_create(mock: MockServer) -> None:
    created = _create(mock, mock.webhook_url("signed"), ["audio.processed"])
    r = requests.post(f"{mock.url}/webhooks/{created['id']}/test", headers=mock.auth())
    assert r.status_code == 202 and r.json()["event"] == "webhook.test"
    [hit] = mock.received_webhooks("signed", count=1)
    assert hit["json"]["id"] == r.json()["eventId"] and hit["json"]["event"] == "webhook.test"
    assert hit["json"]["timestamp"] == START and hit["json"]["data"]["webhookId"] == created["id"]
    headers = hit["headers"]
    assert headers["X-Auralytik-Event"] == "webhook.test" and headers["X-Auralytik-Delivery"].startswith("dlv_")
    assert headers["X-Auralytik-Timestamp"] == str(START_SECONDS)
    assert headers["X-Auralytik-Signature"] == sign(created["signing_secret"], START_SECONDS, hit["body"])
    assert verify_signature(headers, hit["body"], created["signing_secret"], now=mock.now_seconds())
    assert not verify_signature(headers, hit["body"], "whsec_" + "x" * 32, now=mock.now_seconds())
    assert not verify_signature(headers, hit["body"] + b" ", created["signing_secret"], now=mock.now_seconds())
    assert not verify_signature(headers, hit["body"], created["signing_secret"], now=START_SECONDS + 301)


def test_a_receiver_that_fails_twice_is_retried_on_the_clock_and_every_attempt_listed(mock: MockServer) -> None:
    created = _create(mock, mock.webhook_url("flaky", answers=[500, 500]), ["evaluation.completed"])
    mock.engine.events.emit(DEFAULT_NAMESPACE, "client_acme", "evaluation.completed", {"evaluationId": "eval_1"})
    mock.advance(RETRY_DELAYS[0] + RETRY_DELAYS[1])
    hits = mock.received_webhooks("flaky", count=3)
    assert [h["status"] for h in hits] == [500, 500, 200]
    assert len({h["json"]["id"] for h in hits}) == 1, "every retry carries the same event"
    assert len({h["headers"]["X-Auralytik-Delivery"] for h in hits}) == 3
    assert [h["headers"]["X-Auralytik-Timestamp"] for h in hits] == [
        str(START_SECONDS),
        str(START_SECONDS + RETRY_DELAYS[0]),
        str(START_SECONDS + RETRY_DELAYS[0] + RETRY_DELAYS[1]),
    ]
    listed = requests.get(f"{mock.url}/webhooks/{created['id']}/deliveries", headers=mock.auth()).json()
    rows = [(d["attempt"], d["status"], d["responseStatus"], d["nextRetryAt"]) for d in listed["data"]]
    assert rows == [
        (3, "delivered", 200, None),
        (2, "failed", 500, "2024-01-01T00:02:30Z"),
        (1, "failed", 500, "2024-01-01T00:00:30Z"),
    ]
    assert all(d["durationMs"] >= 0 for d in listed["data"])
    assert mock.engine.scheduler.pending(DEFAULT_NAMESPACE) == []


@pytest.mark.slow
def test_a_receiver_silent_for_10_seconds_fails_the_attempt_and_is_retried(mock: MockServer) -> None:
    created = _create(mock, mock.webhook_url("silent", answers=[None]), ["export.ready"])
    started = time.monotonic()
    mock.engine.events.emit(DEFAULT_NAMESPACE, "client_acme", "export.ready", {"exportId": "exp_1"})
    mock.advance(0)  # runs what is due now and waits for the attempts it started
    waited = time.monotonic() - started
    assert TIMEOUT - 0.5 <= waited <= TIMEOUT + 4, f"the mock gave up after {waited:.1f} s, not {TIMEOUT:g} s"
    [first] = requests.get(f"{mock.url}/webhooks/{created['id']}/deliveries", headers=mock.auth()).json()["data"]
    assert (first["status"], first["responseStatus"], first["nextRetryAt"]) == ("failed", None, "2024-01-01T00:00:30Z")
    assert first["error"] == "no answer within 10 s" and first["durationMs"] >= (TIMEOUT - 0.5) * 1000
    mock.advance(RETRY_DELAYS[0])
    hits = mock.received_webhooks("silent", count=2)
    assert [h["status"] for h in hits] == [None, 200] and hits[0]["json"]["id"] == hits[1]["json"]["id"]
    listed = requests.get(f"{mock.url}/webhooks/{created['id']}/deliveries", headers=mock.auth()).json()["data"]
    assert [(d["attempt"], d["status"]) for d in listed] == [(2, "delivered"), (1, "failed")]


def test_a_receiver_that_always_fails_gets_every_attempt_then_none(mock: MockServer) -> None:
    created = _create(mock, mock.webhook_url("down", answers=[503] * 10), ["export.ready"])
    mock.engine.events.emit(DEFAULT_NAMESPACE, "client_acme", "export.ready", {"exportId": "exp_1"})
    mock.advance(sum(RETRY_DELAYS) + 1)
    assert len(mock.received_webhooks("down", count=len(RETRY_DELAYS) + 1)) == len(RETRY_DELAYS) + 1
    listed = requests.get(f"{mock.url}/webhooks/{created['id']}/deliveries", headers=mock.auth()).json()
    assert listed["totalCount"] == len(RETRY_DELAYS) + 1 and listed["data"][0]["nextRetryAt"] is None


def test_an_inactive_webhook_receives_nothing(mock: MockServer) -> None:
    created = _create(mock, mock.webhook_url("off"), ["audio.processed"], active=False)
    subscribed = _create(mock, mock.webhook_url("on"), ["audio.processed"])
    mock.engine.events.emit(DEFAULT_NAMESPACE, "client_acme", "audio.processed", {"audioFileId": "af_1"})
    mock.advance(1)
    assert len(mock.received_webhooks("on", count=1)) == 1
    assert mock.received_webhooks("off", timeout=0.3) == []
    r = requests.post(f"{mock.url}/webhooks/{created['id']}/test", headers=mock.auth())
    assert r.status_code == 409 and r.json()["error"]["code"] == "WEBHOOK_INACTIVE"
    patched = requests.patch(f"{mock.url}/webhooks/{subscribed['id']}", json={"active": False}, headers=mock.auth())
    assert patched.status_code == 200 and patched.json()["active"] is False
    mock.engine.events.emit(DEFAULT_NAMESPACE, "client_acme", "audio.processed", {"audioFileId": "af_2"})
    mock.advance(1)
    assert len(mock.received_webhooks("on", timeout=0.3)) == 1, "made inactive: nothing more"


def test_only_subscribed_events_are_delivered_and_a_deleted_webhook_gets_nothing(mock: MockServer) -> None:
    created = _create(mock, mock.webhook_url("some"), ["audio.transcribed"])
    mock.engine.events.emit(DEFAULT_NAMESPACE, "client_acme", "audio.processed", {"audioFileId": "af_1"})
    mock.engine.events.emit(DEFAULT_NAMESPACE, "client_globex", "audio.transcribed", {"audioFileId": "af_1"})
    mock.advance(1)
    assert mock.received_webhooks("some", timeout=0.3) == []
    assert requests.delete(f"{mock.url}/webhooks/{created['id']}", headers=mock.auth()).status_code == 204
    mock.engine.events.emit(DEFAULT_NAMESPACE, "client_acme", "audio.transcribed", {"audioFileId": "af_1"})
    mock.advance(1)
    assert mock.received_webhooks("some", timeout=0.3) == []
    gone = requests.get(f"{mock.url}/webhooks/{created['id']}/deliveries", headers=mock.auth())
    assert gone.status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:169.254.169.254]/",
        "ftp://127.0.0.1/hook",
    ],
)
def test_a_metadata_or_non_http_url_is_refused_at_create(mock: MockServer, url: str) -> None:
    r = requests.post(f"{mock.url}/webhooks", json={"url": url, "events": ["audio.processed"]}, headers=mock.auth())
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "body.url"
    assert requests.get(f"{mock.url}/webhooks", headers=mock.auth()).json()["totalCount"] == 0


def test_a_host_the_option_does_not_allow_is_refused_at_delivery_and_not_retried(mock: MockServer) -> None:
    created = _create(mock, "http://hooks.example.com/in", ["audio.processed"])
    mock.engine.events.emit(DEFAULT_NAMESPACE, "client_acme", "audio.processed", {"audioFileId": "af_1"})
    mock.advance(sum(RETRY_DELAYS))
    [attempt] = mock.deliveries()
    assert attempt["webhookId"] == created["id"] and attempt["status"] == "failed"
    assert attempt["error"].startswith("refused: hooks.example.com is not among the hosts")
    assert attempt["responseStatus"] is None and attempt["nextRetryAt"] is None


def test_metadata_addresses_are_refused_whatever_the_hosts_allowed() -> None:
    assert address_refusal("169.254.169.254", ["*"]) is not None
    assert address_refusal("metadata.google.internal.", ["*"]) is not None
    assert address_refusal("fd00:ec2::254", ["*"]) is not None
    assert address_refusal("example.com", ["*"]) is None
    assert address_refusal("hooks.example.com", ["*.example.com"]) is None
    assert address_refusal("10.1.2.3", ["10.0.0.0/8"]) is None
    assert address_refusal("10.1.2.3", []) is not None
    assert address_refusal("localhost", []) is None and address_refusal("127.0.0.5", []) is None


def test_a_name_that_resolves_to_a_metadata_address_is_refused_at_delivery(monkeypatch: Any) -> None:
    from auralytik_mock.harness import deliveries

    monkeypatch.setattr(deliveries.socket, "getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("169.254.169.254", 80))])
    status, error = deliveries.post("http://rebind.example/", {}, b"{}", ("*",))
    assert status is None and error is not None and "metadata" in error


def test_sessions_isolate_webhooks_events_deliveries_and_tasks(mock: MockServer) -> None:
    session = requests.post(f"{mock.root_url}/__mock/sessions").json()
    namespace, key = session["id"], session["keys"]["YOUR_API_KEY"]
    mock.set_clock(START, session=namespace)
    r = requests.post(
        f"{mock.url}/webhooks",
        json={"url": mock.webhook_url("ses", answers=[500]), "events": ["audio.processed"]},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 201
    assert requests.get(f"{mock.url}/webhooks", headers=mock.auth()).json()["totalCount"] == 0
    mock.engine.events.emit(namespace, "client_acme", "audio.processed", {"audioFileId": "af_1"})
    mock.engine.events.emit(DEFAULT_NAMESPACE, "client_acme", "audio.processed", {"audioFileId": "af_1"})
    mock.advance(1, session=namespace)
    assert len(mock.received_webhooks("ses", count=1)) == 1
    assert len(mock.engine.scheduler.pending(namespace)) == 1, "the retry waits on the session's clock"
    assert mock.deliveries() == [] and len(mock.deliveries(namespace)) == 1
    admin = requests.get(f"{mock.root_url}/__mock/deliveries", params={"session": namespace}).json()
    assert [d["status"] for d in admin["deliveries"]] == ["failed"]
    assert requests.delete(f"{mock.root_url}/__mock/sessions/{namespace}").status_code in (200, 204)
    assert mock.engine.scheduler.pending(namespace) == [] and mock.deliveries(namespace) == []


def test_webhooks_and_pending_retries_survive_a_restart(tmp_path: Path, small_fixtures: Path) -> None:
    config = make_config(fixtures=(small_fixtures,), clock=START, persist=tmp_path / "state.json")
    with MockServer(config=config) as first:
        created = _create(first, first.webhook_url("p", answers=[500]), ["audio.processed"])
        first.engine.events.emit(DEFAULT_NAMESPACE, "client_acme", "audio.processed", {"audioFileId": "af_1"})
        first.advance(1)
        assert len(first.received_webhooks("p", count=1)) == 1
    saved = json.loads((tmp_path / "state.json").read_text())
    assert saved["tasks"][DEFAULT_NAMESPACE][0]["kind"] == "webhook.deliver"
    with MockServer(config=config) as second:
        listed = requests.get(f"{second.url}/webhooks", headers=second.auth()).json()
        assert [w["id"] for w in listed["data"]] == [created["id"]]
        # The restarted mock delivers the retry to the URL the webhook was registered with.
        assert second.engine.webhooks.get(DEFAULT_NAMESPACE, "client_acme", created["id"]) is not None
        assert len(second.engine.scheduler.pending(DEFAULT_NAMESPACE)) == 1
