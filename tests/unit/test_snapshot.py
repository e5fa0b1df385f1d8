"""A dump (``/__mock/state``, ``--persist``) is the state of one instant, taken under the
dataset's lock only for a copy: writes go on while it is written out."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from auralytik_mock.core import snapshot
from auralytik_mock.core.pipeline import build_world
from auralytik_mock.core.store import Store
from auralytik_mock.core.types import Principal
from tests.conftest import make_config


def _store(small_fixtures: Path) -> tuple[Store, Principal]:
    store = build_world(make_config(fixtures=(small_fixtures,))).store
    principal = store.lookup_key("YOUR_API_KEY")
    assert principal is not None
    return store, principal


def _acme(dumped: dict[str, Any], principal: Principal) -> dict[str, Any]:
    return next(c for c in dumped["clients"] if c["id"] == principal.client_id)


def _consistent(client: dict[str, Any]) -> None:
    """Every engagement's evaluationCount counts the evaluations of the same dump that name it."""
    named: dict[str, int] = {}
    for evaluation in client["evaluations"]:
        named[evaluation["engagementId"]] = named.get(evaluation["engagementId"], 0) + 1
    for engagement in client["engagements"]:
        assert engagement["evaluationCount"] == named.get(engagement["id"], 0), engagement["id"]


def test_a_dump_is_the_state_when_it_was_taken_not_what_came_after(small_fixtures: Path) -> None:
    store, principal = _store(small_fixtures)
    dataset = store._dataset(principal.namespace)
    frozen = snapshot.take(dataset)
    before = _acme(snapshot.render(frozen), principal)
    created = store.create(principal, "evaluations", "eval_", {"engagementId": "eng_456", "state": "Pending"})
    store.update(principal, "engagements", "eng_456", {"name": "Renamed meanwhile"})
    later = _acme(snapshot.render(frozen), principal)
    assert later == before
    assert created["id"] not in {e["id"] for e in later["evaluations"]}
    assert "Renamed meanwhile" not in {e["name"] for e in later["engagements"]}
    now = _acme(store.dump(principal.namespace), principal)
    assert created["id"] in {e["id"] for e in now["evaluations"]}
    _consistent(later)
    _consistent(now)


def test_writes_are_answered_while_a_dump_is_written_out(small_fixtures: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, principal = _store(small_fixtures)
    written = threading.Event()
    render = snapshot.render

    def render_after_a_write(frozen: snapshot.Frozen) -> dict[str, Any]:
        # A write from another thread, while the dump is being rendered: it needs the lock.
        writer = threading.Thread(
            target=lambda: (store.update(principal, "engagements", "eng_456", {"name": "During"}), written.set())
        )
        writer.start()
        writer.join(timeout=30)
        return render(frozen)

    monkeypatch.setattr(snapshot, "render", render_after_a_write)
    dumped = _acme(store.dump(principal.namespace), principal)
    assert written.is_set(), "the write waited for the whole dump: the lock was held while rendering"
    assert "During" not in {e["name"] for e in dumped["engagements"]}
    assert store.get(principal, "engagements", "eng_456")["name"] == "During"


def test_every_dump_is_consistent_while_writes_continue(small_fixtures: Path) -> None:
    store, principal = _store(small_fixtures)
    stop = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            made: list[str] = []
            n = 0
            while not stop.is_set():
                n += 1
                engagement = ("eng_456", "eng_457")[n % 2]
                record = store.create(principal, "evaluations", "eval_", {"engagementId": engagement})
                made.append(str(record["id"]))
                if n % 3 == 0:
                    store.update(principal, "evaluations", made[0], {"engagementId": engagement})
                if n % 5 == 0:
                    store.delete(principal, "evaluations", made.pop(0))
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        sizes = set()
        for _ in range(30):
            client = _acme(store.dump(principal.namespace), principal)
            _consistent(client)
            sizes.add(len(client["evaluations"]))
    finally:
        stop.set()
        writer.join(timeout=30)
    assert errors == []
    assert len(sizes) > 1, "the writer made no change between dumps: nothing was tested"


def test_a_saved_state_is_the_bytes_json_dumps_writes_though_written_a_record_at_a_time() -> None:
    # --persist writes the state piecewise (so the server's loop runs between records);
    # the file must be what `json.dumps` wrote before, byte for byte, for every shape it holds.
    import io
    import json

    from auralytik_mock.harness.persist import write_json

    world = build_world(make_config())
    state = {"format": "auralytik-mock-state/1", **world.store.dump_all(), "usage": {}, "tasks": {}}
    odd = {
        "ünï": ["çà", "\u2028", "emoji \U0001f600", 'quote " and \\'],
        "numbers": [0, -1, 1.5, 1e300, True, False, None],
        "empty": [{}, [], "", {"a": []}],
        "nested": {"deep": [[[[[[[[{"x": list(range(10))}]]]]]]]]},
        "records": [{"id": f"r{i}", "tags": list(range(i % 7)), "data": {"n": i}} for i in range(50)],
        "many records": [{"id": f"r{i}", "transcript": [{"at": i}] * (i % 9)} for i in range(1000)],
        "int keys are written as json.dumps writes them": {1: "one", 2: ["two"] * 6},
    }
    for document in (state, odd, [], {}, "text", 3):
        out = io.BytesIO()
        write_json(document, out)  # type: ignore[arg-type]
        assert out.getvalue() == json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    assert len(state["default"]["clients"][0]["evaluations"]) > 50  # the bundled world: generated records too
