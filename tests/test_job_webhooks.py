"""The asynchronous flows deliver their events as webhooks (issue 21's "done when"): an uploaded
WAV processed on the clock sends audio.transcribed, evaluation.completed and audio.processed,
signed, to a real receiver; a failing one is retried; a failed file sends audio.failed; an export
sends export.ready. Every body passes the spec's ``webhooks`` section, or it would not be sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from auralytik_mock import MockServer
from auralytik_mock.harness.deliveries import RETRY_DELAYS
from auralytik_mock.webhooks import verify_signature
from tests.audio_support import BLOCK, wav
from tests.conftest import CLOCK, make_config

AUDIO_EVENTS = ["audio.transcribed", "evaluation.completed", "audio.processed"]


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(config=make_config()) as mock:
        yield mock


@pytest.fixture
def mock(server: MockServer) -> MockServer:
    server.reset()
    server.set_clock(CLOCK)
    return server


def _hook(mock: MockServer, url: str, events: list[str]) -> dict[str, Any]:
    r = requests.post(f"{mock.url}/webhooks", headers=mock.auth(), json={"url": url, "events": events})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _uploaded(mock: MockServer, name: str) -> str:
    made = requests.post(
        f"{mock.url}/audio-files/upload-url", headers=mock.auth(), json={"fileName": name, "engagementId": "eng_456"}
    ).json()
    refused = requests.put(made["uploadUrl"], data=wav(), headers={"Content-Type": "audio/wav"})
    assert refused.status_code == 400 and "<Code>MissingRequiredHeader</Code>" in refused.text
    assert requests.put(made["uploadUrl"], data=wav(), headers=BLOCK).status_code == 201
    assert (
        requests.post(f"{mock.url}/audio-files/{made['audioFileId']}/process", headers=mock.auth()).status_code == 202
    )
    return str(made["audioFileId"])


def test_processing_delivers_its_three_events_signed_and_retries_a_failing_receiver(mock: MockServer) -> None:
    hook = _hook(mock, mock.webhook_url("events"), AUDIO_EVENTS)
    _hook(mock, mock.webhook_url("flaky", answers=[500, 500]), ["audio.transcribed"])
    audio = _uploaded(mock, "call.wav")
    mock.advance(30)  # processing takes 30 s of the mock's clock
    received = mock.received_webhooks("events", count=3)
    assert sorted(r["json"]["event"] for r in received) == sorted(AUDIO_EVENTS)
    assert all(r["status"] == 200 for r in received)
    now = mock.now_seconds()
    assert all(verify_signature(r["headers"], r["body"], hook["signing_secret"], now=now) for r in received)
    data = {r["json"]["event"]: r["json"]["data"] for r in received}
    status = requests.get(f"{mock.url}/audio-files/{audio}/processing-status", headers=mock.auth()).json()
    assert data["audio.processed"]["evaluationId"] == data["evaluation.completed"]["evaluationId"]
    assert status["status"] == "processed" and status["evaluationId"] == data["audio.processed"]["evaluationId"]
    evaluation = requests.get(f"{mock.url}/evaluations/{status['evaluationId']}", headers=mock.auth())
    assert evaluation.status_code == 200 and evaluation.json()["audioFileName"] == "call.wav"
    assert requests.get(f"{mock.url}/audio-files/{audio}/transcript", headers=mock.auth()).json()["segments"]
    listed = requests.get(f"{mock.url}/webhooks/{hook['id']}/deliveries", headers=mock.auth()).json()
    assert sorted(d["event"] for d in listed["data"]) == sorted(AUDIO_EVENTS)
    assert all(d["status"] == "delivered" for d in listed["data"])

    mock.advance(RETRY_DELAYS[0] + RETRY_DELAYS[1])  # the two retries after the two 500s
    flaky = mock.received_webhooks("flaky", count=3)
    assert [h["status"] for h in flaky] == [500, 500, 200]
    assert len({h["json"]["id"] for h in flaky}) == 1 and flaky[0]["json"]["event"] == "audio.transcribed"


def test_a_failed_file_delivers_audio_failed(mock: MockServer) -> None:
    _hook(mock, mock.webhook_url("failures"), ["audio.failed", "audio.processed"])
    audio = _uploaded(mock, "call-fail.wav")
    mock.advance(30)
    [hit] = mock.received_webhooks("failures", count=1)
    assert hit["status"] == 200 and hit["json"]["event"] == "audio.failed"
    assert hit["json"]["data"]["audioFileId"] == audio and hit["json"]["data"]["error"]


def test_an_export_delivers_export_ready_with_its_link(mock: MockServer) -> None:
    _hook(mock, mock.webhook_url("exports"), ["export.ready"])
    body = {"dateFrom": "2024-01-01", "dateTo": "2024-01-31", "format": "csv"}
    job = requests.post(f"{mock.url}/exports/ai-calls", headers=mock.auth(), json=body).json()
    mock.advance(10)
    [hit] = mock.received_webhooks("exports", count=1)
    done = requests.get(f"{mock.url}/exports/{job['jobId']}", headers=mock.auth()).json()
    assert hit["status"] == 200 and hit["json"]["event"] == "export.ready"
    assert hit["json"]["data"]["exportId"] == job["jobId"] and hit["json"]["data"]["downloadUrl"] == done["downloadUrl"]
    assert requests.get(done["downloadUrl"]).status_code == 200
