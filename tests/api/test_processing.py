"""Processing on the mock's clock: process -> queued -> transcribing -> evaluating -> processed,
the transcript, the new evaluation and its engagement's count, the events; a failing test file."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from auralytik_mock import create_app
from auralytik_mock.http.wsgi import engine_of
from tests.api.support import advance
from tests.audio_support import BLOCK, wav
from tests.conftest import KEY, OTHER, Api, make_config


def _events(mock: Any) -> list[dict[str, Any]]:
    return list(engine_of(mock).events.recent("default"))


def uploaded(api: Api, name: str = "call-2026-03-30.wav", seconds: float = 3.0) -> str:
    made = api.post("/v1/audio-files/upload-url", json={"fileName": name, "engagementId": "eng_457"}).json
    parts = urlsplit(made["uploadUrl"])
    put = api.request("PUT", f"{parts.path}?{parts.query}", key=None, data=wav(seconds), headers=BLOCK, check=False)
    assert put.status == 201
    return str(made["audioFileId"])


def test_processing_runs_on_the_clock_and_makes_a_transcript_and_an_evaluation(mock: Any, mock_api: Api) -> None:
    audio = uploaded(mock_api)
    count = mock_api.get("/v1/engagements/eng_457").json["evaluationCount"]
    summary = mock_api.get("/v1/analytics/summary?engagementId=eng_457").json
    started = mock_api.post(f"/v1/audio-files/{audio}/process")
    assert started.status == 202
    assert started.json == {
        "audioFileId": audio, "status": "queued", "progress": 0, "processingStartedAt": "2024-06-01T12:00:00Z",
        "processedAt": None, "evaluationId": None, "error": None,
    }  # fmt: skip
    assert mock_api.get(f"/v1/audio-files/{audio}/transcript").status == 404
    advance(mock_api, 3)
    assert mock_api.get(f"/v1/audio-files/{audio}/processing-status").json["status"] == "transcribing"
    advance(mock_api, 12)
    status = mock_api.get(f"/v1/audio-files/{audio}/processing-status").json
    assert (status["status"], status["progress"]) == ("evaluating", 50)
    transcript = mock_api.get(f"/v1/audio-files/{audio}/transcript")
    assert transcript.status == 200 and transcript.json["segments"]
    assert transcript.json["segments"][-1]["endSeconds"] <= 3.0
    assert [e["event"] for e in _events(mock)] == ["audio.transcribed"]
    assert mock_api.get("/v1/engagements/eng_457").json["evaluationCount"] == count  # not evaluated yet
    advance(mock_api, 15)
    done = mock_api.get(f"/v1/audio-files/{audio}").json
    assert (done["status"], done["progress"], done["processedAt"]) == ("processed", 100, "2024-06-01T12:00:30Z")
    evaluation = mock_api.get(f"/v1/evaluations/{done['evaluationId']}").json
    assert {k: evaluation[k] for k in ("engagementId", "audioFileName", "state", "durationInSeconds", "audioDate")} == {
        "engagementId": "eng_457", "audioFileName": "call-2026-03-30.wav", "state": "Completed",
        "durationInSeconds": 3.0, "audioDate": "2024-06-01T12:00:00Z",
    }  # fmt: skip
    assert mock_api.get(f"/v1/evaluations/{evaluation['id']}/transcript").json == transcript.json
    assert mock_api.get("/v1/engagements/eng_457").json["evaluationCount"] == count + 1
    listed = mock_api.get("/v1/evaluations?engagementId=eng_457").json["data"]
    assert listed[0]["id"] == evaluation["id"]  # newest first
    after = mock_api.get("/v1/analytics/summary?engagementId=eng_457").json
    assert after != summary  # computed from the state: the new evaluation counts
    events = _events(mock)
    assert [e["event"] for e in events] == ["audio.transcribed", "evaluation.completed", "audio.processed"]
    assert events[1]["data"]["evaluationId"] == evaluation["id"] and events[1]["timestamp"] == "2024-06-01T12:00:30Z"
    assert events[2]["data"] == {
        "audioFileId": audio, "engagementId": "eng_457", "evaluationId": evaluation["id"], "status": "processed",
    }  # fmt: skip


def test_a_test_file_named_fail_fails_with_its_status_and_event(mock: Any, mock_api: Api) -> None:
    audio = uploaded(mock_api, "agent-fail.wav")
    mock_api.post(f"/v1/audio-files/{audio}/process")
    advance(mock_api, 60)
    status = mock_api.get(f"/v1/audio-files/{audio}/processing-status").json
    assert status["status"] == "failed" and status["error"] and status["evaluationId"] is None
    assert mock_api.get(f"/v1/audio-files/{audio}/transcript").status == 404
    events = _events(mock)
    assert [e["event"] for e in events] == ["audio.failed"]
    assert events[0]["data"]["status"] == "failed" and events[0]["data"]["error"] == status["error"]


def test_process_needs_an_uploaded_file_and_is_not_started_twice(mock_api: Api) -> None:
    made = mock_api.post("/v1/audio-files/upload-url", json={"fileName": "a.wav", "engagementId": "eng_456"}).json
    r = mock_api.post(f"/v1/audio-files/{made['audioFileId']}/process")
    assert r.status == 409 and r.json["error"]["code"] == "INVALID_STATE"
    audio = uploaded(mock_api)
    assert mock_api.post(f"/v1/audio-files/{audio}/process").status == 202
    assert mock_api.post(f"/v1/audio-files/{audio}/process").json["error"]["code"] == "INVALID_STATE"
    advance(mock_api, 30)
    assert mock_api.post(f"/v1/audio-files/{audio}/process").status == 202  # processed: again
    assert mock_api.post("/v1/audio-files/af_999/process").status == 404
    assert mock_api.post(f"/v1/audio-files/{audio}/process", key=OTHER).status == 404


def test_job_seconds_sets_the_processing_time(mock_api: Api) -> None:
    quick = Api("flask", flask_client=create_app(make_config(job_seconds=2)).test_client())
    audio = uploaded(quick)
    quick.post(f"/v1/audio-files/{audio}/process")
    advance(quick, 2)
    assert quick.get(f"/v1/audio-files/{audio}").json["status"] == "processed"


def test_a_reset_drops_the_pending_steps(mock: Any, mock_api: Api) -> None:
    audio = uploaded(mock_api)
    mock_api.post(f"/v1/audio-files/{audio}/process")
    assert mock_api.request("POST", "/__mock/reset", key=None).status in (200, 204)
    advance(mock_api, 60)
    assert mock_api.get(f"/v1/audio-files/{audio}").status == 404 and _events(mock) == []


def test_real_time_processing_completes_by_itself() -> None:
    import time

    app = create_app(make_config(clock=None, job_seconds=1))
    real = Api("flask", flask_client=app.test_client())
    audio = uploaded(real)
    real.post(f"/v1/audio-files/{audio}/process")
    deadline = time.monotonic() + 10
    while real.get(f"/v1/audio-files/{audio}").json["status"] != "processed":
        assert time.monotonic() < deadline, "processing did not end within 10 s of a 1 s job"
        time.sleep(0.1)
    engine_of(app).close()


def test_the_signed_base_path_serves_the_same_flow(mock_api: Api) -> None:
    import json

    from auralytik_mock.signing import signed_headers

    stamp = 1717243200  # the pinned clock, 2024-06-01T12:00:00Z
    key, secret = "ak_live_abc123def456ghi789jkl012mno345pq", "YOUR_HMAC_SECRET"
    body = json.dumps({"fileName": "signed.wav", "engagementId": "eng_456"}).encode()
    path = "/api/v1/audio-files/upload-url"
    headers = {**signed_headers("POST", path, body, key=key, secret=secret, timestamp=stamp)}
    made = mock_api.request("POST", path, key=None, data=body, headers={**headers, "Content-Type": "application/json"})
    assert made.status == 201 and "/audio-files/" in made.json["uploadUrl"]  # a blob path needs no key
    parts = urlsplit(made.json["uploadUrl"])
    put = mock_api.request("PUT", f"{parts.path}?{parts.query}", key=None, data=wav(), headers=BLOCK, check=False)
    assert put.status == 201
    path = f"/api/v1/audio-files/{made.json['audioFileId']}/process"
    started = mock_api.request(
        "POST", path, key=None, headers=signed_headers("POST", path, b"", key=key, secret=secret, timestamp=stamp)
    )
    assert started.status == 202 and mock_api.get(f"/v1/audio-files/{made.json['audioFileId']}", key=KEY).status == 200
