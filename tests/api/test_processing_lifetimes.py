"""A job's life beyond one request: pending steps survive a restart with --persist, and each
session has its own files, jobs, clock and events."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from auralytik_mock.core.store import DEFAULT_NAMESPACE
from auralytik_mock.core.types import MockRequest
from auralytik_mock.harness.sandbox import Engine
from tests.audio_support import BLOCK, wav
from tests.conftest import make_config

START = "2024-06-01T12:00:00Z"


def _call(engine: Engine, method: str, path: str, key: str | None = "YOUR_API_KEY", **kw: Any) -> Any:
    parts = urlsplit(path)
    query: dict[str, list[str]] = {}
    for name, value in parse_qsl(parts.query):
        query.setdefault(name, []).append(value)
    headers = dict(kw.pop("headers", {}))
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    body = kw.pop("body", b"")
    if "json" in kw:
        import json

        body, headers["Content-Type"] = json.dumps(kw.pop("json")).encode(), "application/json"
    return engine.handle(MockRequest(method, parts.path, query=query, headers=headers, body=body))


def _processing(engine: Engine, key: str = "YOUR_API_KEY") -> str:
    body = {"fileName": "a.wav", "engagementId": "eng_456"}
    made = _call(engine, "POST", "/v1/audio-files/upload-url", key, json=body)
    assert made.status == 201, made.body
    put = _call(engine, "PUT", made.body["uploadUrl"], None, headers=BLOCK, body=wav())
    assert put.status == 201, put.raw
    audio = str(made.body["audioFileId"])
    assert _call(engine, "POST", f"/v1/audio-files/{audio}/process", key).status == 202
    return audio


def test_pending_processing_survives_a_restart_with_persist(tmp_path: Path) -> None:
    config = make_config(clock=START, persist=tmp_path / "state.json")
    first = Engine(config)
    audio = _processing(first)
    first.advance_clock(10)  # transcribing
    first.close()
    second = Engine(config)
    try:
        record = _call(second, "GET", f"/v1/audio-files/{audio}").body
        assert record["status"] == "transcribing" and record["sizeBytes"] == len(wav())
        second.set_clock("2024-06-01T12:00:10Z")
        second.advance_clock(30)
        done = _call(second, "GET", f"/v1/audio-files/{audio}").body
        assert done["status"] == "processed" and done["evaluationId"]
        assert _call(second, "GET", f"/v1/audio-files/{audio}/transcript").status == 200
    finally:
        second.close()


def test_each_session_has_its_own_files_jobs_clock_and_events() -> None:
    engine = Engine(make_config(clock=START))
    try:
        session, keys = engine.store.create_session()
        engine.set_clock(START, session)
        theirs = keys["YOUR_API_KEY"].key
        audio = _processing(engine, theirs)
        assert _call(engine, "GET", f"/v1/audio-files/{audio}").status == 404  # not in the default dataset
        assert _call(engine, "GET", "/v1/audio-files").body["totalCount"] == 0
        engine.advance_clock(60)  # the default clock: the session's job does not move
        assert _call(engine, "GET", f"/v1/audio-files/{audio}", theirs).body["status"] == "queued"
        engine.advance_clock(60, session)
        assert _call(engine, "GET", f"/v1/audio-files/{audio}", theirs).body["status"] == "processed"
        assert engine.events.recent(DEFAULT_NAMESPACE) == []
        assert [e["event"] for e in engine.events.recent(session)][-1] == "audio.processed"
        link = _call(engine, "GET", f"/v1/audio-files/{audio}/download-url", theirs).body["url"]
        assert "session=" in link and _call(engine, "GET", link, None).raw == wav()  # byte for byte
    finally:
        engine.close()
