"""``--persist``'s writer: a save renders and writes the state in a forked child (the server's
threads never wait on the interpreter lock while records are encoded), the same bytes as in
the writer thread, and a save that fails leaves the last good file and is tried again."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from auralytik_mock import Engine
from auralytik_mock.core.types import MockRequest
from auralytik_mock.harness import persist

from .conftest import KEY, make_config

NEW = {"name": "Saved", "type": "quality_review"}
forks = pytest.mark.skipif(not persist.FORK_SAVES, reason="this OS cannot fork")


def _engine(path: Path) -> Engine:
    engine = Engine(make_config(persist=path))
    answer = engine.handle(
        MockRequest(
            "POST",
            "/v1/engagements",
            headers={"authorization": f"Bearer {KEY}", "content-type": "application/json"},
            body=json.dumps(NEW).encode(),
        )
    )
    assert answer.status == 201
    return engine


@forks
def test_a_save_in_the_child_writes_the_bytes_the_writer_thread_writes(tmp_path: Path, monkeypatch: Any) -> None:
    engine = _engine(tmp_path / "state.json")
    try:
        assert engine.persister is not None
        engine.persister.write()
        forked = (tmp_path / "state.json").read_bytes()
        monkeypatch.setattr(persist, "FORK_SAVES", False)
        engine.persister.write()
        assert (tmp_path / "state.json").read_bytes() == forked
        assert "Saved" in {e["name"] for e in json.loads(forked)["default"]["clients"][0]["engagements"]}
    finally:
        engine.close()


@forks
def test_the_child_does_the_encoding_so_the_parent_never_runs_it(tmp_path: Path, monkeypatch: Any) -> None:
    engine = _engine(tmp_path / "state.json")
    encoded_in: list[int] = []
    real = persist.write_json

    def spy(document: Any, out: Any) -> None:
        encoded_in.append(os.getpid())
        real(document, out)

    monkeypatch.setattr(persist, "write_json", spy)
    try:
        assert engine.persister is not None
        engine.persister.write()
        assert encoded_in == [], "the encoding ran in this process"
        assert json.loads((tmp_path / "state.json").read_text())["format"] == persist.FORMAT
    finally:
        engine.close()


@forks
def test_a_save_that_fails_in_the_child_keeps_the_last_good_file_and_is_tried_again(
    tmp_path: Path, monkeypatch: Any, caplog: Any
) -> None:
    path = tmp_path / "state.json"
    engine = _engine(path)
    try:
        assert engine.persister is not None
        engine.persister.write()
        good = path.read_bytes()
        real = persist.write_json

        def broken(document: Any, out: Any) -> None:
            out.write(b'{"format": "half a fi')
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(persist, "write_json", broken)
        with caplog.at_level(logging.ERROR, logger="auralytik_mock"):
            engine.persister.write()
        assert path.read_bytes() == good, "a failed save never replaces the file"
        assert not list(tmp_path.glob(".state.json.*")), "no temporary file is left"
        assert "cannot save the state" in caplog.text and "ended with 1" in caplog.text
        assert engine.persister._dirty.is_set(), "the next round tries again"
        monkeypatch.setattr(persist, "write_json", real)
        engine.persister.write()
        assert json.loads(path.read_text())["format"] == persist.FORMAT
    finally:
        engine.close()


def test_a_still_store_holds_writes_until_the_block_ends(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "state.json")
    try:
        request = MockRequest(
            "POST",
            "/v1/engagements",
            headers={"authorization": f"Bearer {KEY}", "content-type": "application/json"},
            body=json.dumps({**NEW, "name": "Later"}).encode(),
        )
        answers: list[int] = []
        writer = threading.Thread(target=lambda: answers.append(engine.handle(request).status))
        with engine.store.still() as records:
            writer.start()
            writer.join(timeout=0.3)
            assert writer.is_alive() and answers == [], "the write waits while the store is still"
            names = {e["name"] for e in records()["default"]["clients"][0]["engagements"]}
            assert "Saved" in names and "Later" not in names
        writer.join(timeout=5)
        assert answers == [201]
    finally:
        engine.close()


@forks
def test_the_save_child_holds_none_of_the_servers_connections(tmp_path: Path, monkeypatch: Any) -> None:
    engine = _engine(tmp_path / "state.json")
    ours, theirs = socket.socketpair()  # a client's connection, as the server holds it
    real = persist.write_json

    def slow(document: Any, out: Any) -> None:
        time.sleep(1.5)  # a long save: the child lives on while the server closes the connection
        real(document, out)

    monkeypatch.setattr(persist, "write_json", slow)
    saving = threading.Thread(target=engine.persister.write)  # type: ignore[union-attr]
    try:
        saving.start()
        time.sleep(0.3)  # the child is forked and writing
        ours.close()  # the server closes it: the client must see the end now, not when the save ends
        theirs.settimeout(1.0)
        assert theirs.recv(1) == b"", "the connection ended at once"
    finally:
        saving.join(timeout=10)
        theirs.close()
        engine.close()


@forks
def test_a_fork_the_os_refuses_saves_from_the_thread_and_leaks_no_descriptor(tmp_path: Path, monkeypatch: Any) -> None:
    engine = _engine(tmp_path / "state.json")

    def refused() -> int:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(persist.os, "fork", refused)
    try:
        assert engine.persister is not None
        engine.persister.write()  # the first write opens what a write keeps open
        before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
        for _ in range(5):
            engine.persister.write()
        assert json.loads((tmp_path / "state.json").read_text())["format"] == persist.FORMAT
        if before is not None:
            assert len(os.listdir("/proc/self/fd")) == before, "every refused fork's file was closed"
    finally:
        engine.close()
