"""Concurrent clients over a real socket: no lost write, no duplicate id, nothing in the logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from auralytik_mock import MockServer
from tests.processes import serving

THREADS, CALLS = 8, 100
AUTH = {"Authorization": "Bearer YOUR_API_KEY"}


@pytest.fixture(params=["mockserver", "serve"])
def target(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Iterator[str]:
    caplog.set_level(logging.WARNING)
    if request.param == "mockserver":
        with MockServer(validate_responses=True) as mock:
            yield mock.root_url
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    else:
        with serving("--quiet", "--validate-responses") as (base, process):
            yield base
            process.terminate()
            output = process.communicate(timeout=10)[0]
        assert "Traceback" not in output and "ERROR" not in output, output


def _worker(base: str, worker: int) -> dict[str, list]:
    session = requests.Session()
    session.headers.update(AUTH)
    created, statuses = [], []
    for i in range(CALLS):
        kind = i % 4
        if kind == 0:
            r = session.post(f"{base}/v1/engagements", json={"name": f"w{worker}-{i}", "type": "t"}, timeout=10)
            if r.status_code == 201:
                created.append(r.json()["id"])
        elif kind == 1 and created:
            r = session.patch(f"{base}/v1/engagements/{created[-1]}", json={"status": "paused"}, timeout=10)
        elif kind == 2:
            r = session.get(f"{base}/v1/engagements?pageSize=100", timeout=10)
        else:
            r = session.get(f"{base}/v1/engagements/eng_456", timeout=10)
        statuses.append(r.status_code)
    return {"created": created, "statuses": statuses}


def test_mixed_load_loses_nothing_and_reuses_no_id(target: str) -> None:
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(_worker, [target] * THREADS, range(THREADS)))
    statuses = [s for r in results for s in r["statuses"]]
    assert set(statuses) <= {200, 201}, sorted(set(statuses))
    ids = [i for r in results for i in r["created"]]
    assert len(ids) == THREADS * CALLS // 4
    assert len(set(ids)) == len(ids), "every id is unique"
    listed = requests.get(f"{target}/v1/engagements?pageSize=1", headers=AUTH, timeout=10).json()
    assert listed["totalCount"] == 5 + len(ids)
    for engagement_id in ids[:: len(ids) // 10]:
        r = requests.get(f"{target}/v1/engagements/{engagement_id}", headers=AUTH, timeout=10)
        assert r.status_code == 200 and r.json()["status"] == "paused"


def test_concurrent_patches_of_different_fields_each_apply_whole(target: str) -> None:
    bodies = [
        {"name": "by-name-writer"},
        {"description": "by-description-writer"},
        {"status": "completed"},
        {"name": "by-name-writer", "description": "by-description-writer"},
    ]

    def patch(i: int) -> int:
        r = requests.patch(f"{target}/v1/engagements/eng_457", json=bodies[i % 4], headers=AUTH, timeout=10)
        body = r.json()
        # Each answer holds at least its own change, whole.
        assert all(body[k] == v for k, v in bodies[i % 4].items())
        return r.status_code

    with ThreadPoolExecutor(THREADS) as pool:
        assert set(pool.map(patch, range(THREADS * 25))) == {200}
    final = requests.get(f"{target}/v1/engagements/eng_457", headers=AUTH, timeout=10).json()
    assert (final["name"], final["description"], final["status"]) == (
        "by-name-writer",
        "by-description-writer",
        "completed",
    )
