"""Work that waits on the mock's clock (``engine.scheduler``) and what happened (``engine.events``)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from auralytik_mock import HookRegistry
from auralytik_mock.core.errors import InsufficientStorageError
from auralytik_mock.core.store import DEFAULT_NAMESPACE
from auralytik_mock.core.types import MockRequest, MockResponse
from auralytik_mock.harness.sandbox import Engine

from .conftest import make_config

START = "2024-01-01T00:00:00Z"


@pytest.fixture
def engine(small_fixtures: Path) -> Any:
    built = Engine(make_config(fixtures=(small_fixtures,), clock=START))
    yield built
    built.close()


def _recorder(engine: Engine, kind: str = "note") -> list[tuple[str, str, Any]]:
    """Register ``kind``: each run notes (namespace, the namespace's now, payload)."""
    seen: list[tuple[str, str, Any]] = []
    engine.scheduler.register(kind, lambda ns, payload: seen.append((ns, engine.now(ns), payload)))
    return seen


def test_advancing_a_pinned_clock_runs_what_falls_due_in_due_order_at_its_time(engine: Engine) -> None:
    seen = _recorder(engine)
    engine.scheduler.schedule(DEFAULT_NAMESPACE, "2024-01-01T00:00:30Z", "note", {"n": 2})
    engine.scheduler.schedule(DEFAULT_NAMESPACE, "2024-01-01T00:00:10Z", "note", {"n": 1})
    engine.scheduler.after(DEFAULT_NAMESPACE, 120, "note", {"n": 3})
    engine.advance_clock(5)
    assert seen == [], "nothing is due 5 s in"
    assert engine.advance_clock(55) == "2024-01-01T00:01:00Z"
    assert seen == [
        (DEFAULT_NAMESPACE, "2024-01-01T00:00:10Z", {"n": 1}),
        (DEFAULT_NAMESPACE, "2024-01-01T00:00:30Z", {"n": 2}),
    ], "each task sees the clock at its own due time"
    assert [t["payload"] for t in engine.scheduler.pending(DEFAULT_NAMESPACE)] == [{"n": 3}]
    assert engine.now() == "2024-01-01T00:01:00Z"


def test_a_task_scheduled_by_a_due_task_runs_in_the_same_advance(engine: Engine) -> None:
    runs: list[str] = []

    def retry(namespace: str, payload: dict[str, Any]) -> None:
        runs.append(engine.now(namespace))
        if payload["left"]:
            engine.scheduler.after(namespace, 30, "retry", {"left": payload["left"] - 1})

    engine.scheduler.register("retry", retry)
    engine.scheduler.after(DEFAULT_NAMESPACE, 10, "retry", {"left": 3})
    engine.advance_clock(75)
    assert runs == ["2024-01-01T00:00:10Z", "2024-01-01T00:00:40Z", "2024-01-01T00:01:10Z"]
    assert [t["due"] for t in engine.scheduler.pending(DEFAULT_NAMESPACE)] == ["2024-01-01T00:01:40Z"]


def test_setting_a_pinned_clock_forward_runs_what_is_due_and_backward_runs_nothing(engine: Engine) -> None:
    seen = _recorder(engine)
    engine.scheduler.schedule(DEFAULT_NAMESPACE, "2024-01-01T01:00:00Z", "note", {})
    engine.set_clock("2023-12-31T00:00:00Z")
    assert seen == []
    engine.set_clock("2024-01-02T00:00:00Z")
    assert seen == [(DEFAULT_NAMESPACE, "2024-01-01T01:00:00Z", {})]
    assert engine.now() == "2024-01-02T00:00:00Z"


def test_the_ticker_runs_what_is_due_on_the_real_clock(engine: Engine) -> None:
    done = threading.Event()
    engine.scheduler.register("ping", lambda ns, payload: done.set())
    engine.set_clock(None)
    engine.scheduler.after(DEFAULT_NAMESPACE, 0, "ping", {})
    assert done.wait(3), "a task due now runs within a tick or so"
    assert engine.scheduler.pending(DEFAULT_NAMESPACE) == []


def test_the_ticker_runs_what_is_due_at_a_pinned_clocks_current_time(engine: Engine) -> None:
    done = threading.Event()
    engine.scheduler.register("ping", lambda ns, payload: done.set())
    engine.scheduler.schedule(DEFAULT_NAMESPACE, START, "ping", {})
    assert done.wait(3)


def test_sessions_have_their_own_tasks_and_lose_them_when_deleted_or_reset(engine: Engine) -> None:
    seen = _recorder(engine)
    one, _ = engine.store.create_session()
    two, _ = engine.store.create_session()
    for namespace in (one, two):
        engine.set_clock(START, namespace)
        engine.scheduler.after(namespace, 10, "note", {"in": namespace})
    engine.advance_clock(60, one)
    assert seen == [(one, "2024-01-01T00:00:10Z", {"in": one})], "another session's advance runs none of its tasks"
    assert len(engine.scheduler.pending(two)) == 1
    engine.reset(two)
    assert engine.scheduler.pending(two) == []
    engine.scheduler.after(one, 10, "note", {})
    engine.drop_session(one)
    assert engine.scheduler.pending(one) == [] and engine.scheduler.namespaces() == []


def test_pending_tasks_are_bounded_with_a_clear_error(engine: Engine) -> None:
    _recorder(engine)
    engine.scheduler.max_pending = 3
    for _ in range(3):
        engine.scheduler.after(DEFAULT_NAMESPACE, 60, "note", {})
    with pytest.raises(InsufficientStorageError, match="3 pending tasks") as caught:
        engine.scheduler.after(DEFAULT_NAMESPACE, 60, "note", {})
    assert caught.value.status == 507 and caught.value.code == "MOCK_CAPACITY_EXCEEDED"
    assert len(engine.scheduler.pending(DEFAULT_NAMESPACE)) == 3


def test_a_task_is_data_of_a_registered_kind(engine: Engine) -> None:
    _recorder(engine)
    with pytest.raises(ValueError, match="no task kind 'nope'"):
        engine.scheduler.after(DEFAULT_NAMESPACE, 1, "nope", {})
    with pytest.raises(ValueError, match="JSON"):
        engine.scheduler.after(DEFAULT_NAMESPACE, 1, "note", {"f": object()})
    with pytest.raises(ValueError, match="RFC 3339"):
        engine.scheduler.schedule(DEFAULT_NAMESPACE, "tomorrow", "note", {})
    assert engine.scheduler.pending(DEFAULT_NAMESPACE) == []


def test_a_failing_task_is_logged_and_the_next_ones_still_run(engine: Engine, caplog: Any) -> None:
    seen = _recorder(engine)

    def boom(namespace: str, payload: dict[str, Any]) -> None:
        raise RuntimeError("broken task")

    engine.scheduler.register("boom", boom)
    engine.scheduler.after(DEFAULT_NAMESPACE, 1, "boom", {})
    engine.scheduler.after(DEFAULT_NAMESPACE, 2, "note", {})
    engine.advance_clock(5)
    assert len(seen) == 1 and "broken task" in caplog.text


def test_pending_tasks_survive_a_restart_with_persist(tmp_path: Path, small_fixtures: Path) -> None:
    config = make_config(fixtures=(small_fixtures,), clock=START, persist=tmp_path / "state.json")
    first = Engine(config)
    first.scheduler.register("note", lambda ns, payload: None)
    first.scheduler.schedule(DEFAULT_NAMESPACE, "2024-01-01T00:10:00Z", "note", {"id": "af_1"})
    first.close()
    second = Engine(config)
    try:
        seen = _recorder(second)
        assert [(t["due"], t["payload"]) for t in second.scheduler.pending(DEFAULT_NAMESPACE)] == [
            ("2024-01-01T00:10:00Z", {"id": "af_1"})
        ]
        second.advance_clock(600)
        assert seen == [(DEFAULT_NAMESPACE, "2024-01-01T00:10:00Z", {"id": "af_1"})]
    finally:
        second.close()


def test_events_are_enveloped_at_the_namespaces_now_logged_and_heard(engine: Engine) -> None:
    heard: list[tuple[str, str, Any]] = []
    engine.events.listen(lambda ns, client, envelope, only: heard.append((ns, client, envelope)))
    event_id = engine.events.emit(DEFAULT_NAMESPACE, "client_a", "audio.transcribed", {"audioFileId": "af_1"})
    envelope = {"id": event_id, "event": "audio.transcribed", "timestamp": START, "data": {"audioFileId": "af_1"}}
    assert event_id.startswith("evt_")
    assert heard == [(DEFAULT_NAMESPACE, "client_a", envelope)]
    assert engine.events.recent(DEFAULT_NAMESPACE) == [envelope]
    assert engine.events.recent(DEFAULT_NAMESPACE, "client_b") == []
    engine.reset()
    assert engine.events.recent(DEFAULT_NAMESPACE) == []


def test_the_event_log_is_bounded(engine: Engine) -> None:
    engine.events.max_events = 5
    for i in range(8):
        engine.events.emit(DEFAULT_NAMESPACE, "c", "test", {"i": i})
    assert [e["data"] for e in engine.events.recent(DEFAULT_NAMESPACE)] == [{"i": i} for i in range(3, 8)]


def test_a_handler_reaches_the_scheduler_and_events_through_its_call(small_fixtures: Path) -> None:
    hooks = HookRegistry()

    @hooks.handles("listEngagements")
    def later(call: Any, ctx: Any) -> MockResponse:
        namespace = call.principal.namespace
        call.scheduler.after(namespace, 30, "note", {"by": call.principal.client_id})
        call.events.emit(namespace, call.principal.client_id, "test", {})
        return ctx.default(call)

    engine = Engine(make_config(fixtures=(small_fixtures,), clock=START), hooks)
    try:
        seen = _recorder(engine)
        answer = engine.handle(MockRequest("GET", "/v1/engagements", headers={"authorization": "Bearer YOUR_API_KEY"}))
        assert answer.status == 200
        assert [e["event"] for e in engine.events.recent(DEFAULT_NAMESPACE)] == ["test"]
        engine.advance_clock(30)
        principal = engine.store.lookup_key("YOUR_API_KEY")
        assert principal is not None
        assert seen == [(DEFAULT_NAMESPACE, "2024-01-01T00:00:30Z", {"by": principal.client_id})]
    finally:
        engine.close()


def test_closing_the_engine_stops_its_ticker(engine: Engine) -> None:
    _recorder(engine)
    engine.scheduler.after(DEFAULT_NAMESPACE, 3600, "note", {})
    ticker = next(t for t in threading.enumerate() if t is engine.timekeeper._ticker)
    engine.close()
    ticker.join(5)
    assert not ticker.is_alive()
