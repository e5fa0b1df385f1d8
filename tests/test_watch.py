"""--watch: spec and fixtures reload on change; a broken edit keeps the last good version serving."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import SPEC_PATH
from tests.processes import call as _call
from tests.processes import serving


def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _wait_for_output(process: subprocess.Popen, text: str, seen: list[str], timeout: float = 10.0) -> None:
    """Read the server's output as it comes (kept in ``seen``) until it says ``text``: the
    watcher has tried the reload, however long that took (no sleep that guesses it)."""
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while text not in "".join(seen):
        left = deadline - time.monotonic()
        assert left > 0, f"the server never said {text!r}: {''.join(seen)}"
        if select.select([process.stdout], [], [], left)[0]:
            chunk = os.read(process.stdout.fileno(), 65536)  # the raw pipe: nothing left buffered unseen
            assert chunk, f"the server ended before saying {text!r}: {''.join(seen)}"
            seen.append(chunk.decode())


@pytest.mark.parametrize("server", ["asyncio"])
def test_watch_reloads_fixtures_and_keeps_the_last_good_version(
    tmp_path: Path, server: str, small_fixtures: Path
) -> None:
    spec = tmp_path / "openapi.yaml"
    shutil.copy(SPEC_PATH, spec)
    fixtures = tmp_path / "fixtures"
    shutil.copytree(small_fixtures, fixtures)  # each reload of changed fixtures makes their records again
    acme = fixtures / "acme.yaml"
    with serving("--server", server, "--watch", "--spec", str(spec), "--fixtures", str(fixtures)) as (base, process):
        url = base + "/v1/engagements/eng_456"
        assert _call(base + "/v1/engagements", "POST", {"name": "n", "type": "t"})[0] == 201
        acme.write_text(acme.read_text().replace("name: Q1 Quality Review", "name: Q1 Quality Review (edited)"))
        _wait_for(lambda: _call(url)[1]["name"] == "Q1 Quality Review (edited)")
        assert _call(base + "/v1/engagements")[1]["totalCount"] == 5, "state was reset to the new fixtures"

        seen: list[str] = []
        acme.write_text(acme.read_text() + "\n  - id: [broken\n")
        _wait_for_output(process, "reload failed", seen)
        assert _call(url)[1]["name"] == "Q1 Quality Review (edited)", "the last good version still serves"

        spec.write_text(spec.read_text().replace("maximum: 100\n", "maximum: 10\n"))
        acme.write_text(acme.read_text().replace("\n  - id: [broken\n", "\n"))
        _wait_for(lambda: _call(base + "/v1/engagements?pageSize=50")[0] == 400)
        process.terminate()
        output = "".join(seen) + process.communicate(timeout=10)[0]
    assert "reloaded" in output and "state reset to the fixtures" in output
    assert "reload failed, still serving the last good version" in output
    assert "acme.yaml:" in output, "the error names the file and line"


def test_watch_names_file_line_and_pointer_of_a_schema_typo(tmp_path: Path) -> None:
    spec = tmp_path / "openapi.yaml"
    shutil.copy(SPEC_PATH, spec)
    with serving("--watch", "--spec", str(spec)) as (base, process):
        text = spec.read_text()
        old = "          schema:\n            type: integer\n            minimum: 1"
        broken = text.replace(old, old.replace("type: integer", "type: int"))
        line = broken[: broken.index("type: int")].count("\n") + 1
        seen: list[str] = []
        spec.write_text(broken)
        _wait_for_output(process, "reload failed", seen)
        assert _call(base + "/v1/engagements")[0] == 200, "the last good version still serves"
        process.terminate()
        output = "".join(seen) + process.communicate(timeout=10)[0]
    assert "reload failed" in output
    assert f"{spec}:{line}: /paths/~1engagements/get/parameters/0/schema/type: " in output, output
    assert "Traceback" not in output


_UNSTAMPED = """clients:
  - id: client_acme
    name: Acme
    apiKeys:
      - key: YOUR_API_KEY
        scopes: ["engagements:read", "engagements:write", "evaluations:read"]
    engagements:
      - id: eng_456
        name: No times given
        type: quality_review
        status: active
"""


def _unstamped_copy(tmp_path: Path) -> tuple[Path, Path]:
    spec = tmp_path / "openapi.yaml"
    shutil.copy(SPEC_PATH, spec)
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    (fixtures / "acme.yaml").write_text(_UNSTAMPED)  # the README allows leaving createdAt out
    return spec, fixtures


def test_a_spec_only_reload_keeps_the_data_when_fixtures_omit_created_at(tmp_path: Path) -> None:
    """Issue 17.13: records without createdAt are stamped at loading, so every reload looked
    like changed fixtures and wiped what the user had made."""
    from auralytik_mock import create_app
    from auralytik_mock.http.wsgi import engine_of
    from tests.conftest import make_config

    spec, fixtures = _unstamped_copy(tmp_path)
    client = create_app(make_config(spec_path=spec, fixtures=(fixtures,), clock=None)).test_client()
    engine = engine_of(client.application)
    auth = {"Authorization": "Bearer YOUR_API_KEY"}
    made = client.post("/v1/engagements", json={"name": "mine", "type": "t"}, headers=auth).get_json()
    stamped = client.get("/v1/engagements/eng_456", headers=auth).get_json()["createdAt"]
    time.sleep(1.1)  # the next load stamps another second
    spec.write_text(spec.read_text().replace("maximum: 100\n", "maximum: 10\n"))
    assert engine.reload()
    assert client.get("/v1/engagements?pageSize=50", headers=auth).status_code == 400, "the new spec serves"
    assert client.get(f"/v1/engagements/{made['id']}", headers=auth).status_code == 200, "the data stays"
    assert client.get("/v1/engagements/eng_456", headers=auth).get_json()["createdAt"] == stamped
    # an edit of the fixtures' content still starts from the new fixtures
    (fixtures / "acme.yaml").write_text(_UNSTAMPED.replace("No times given", "Edited"))
    assert engine.reload()
    assert client.get(f"/v1/engagements/{made['id']}", headers=auth).status_code == 404
    assert client.get("/v1/engagements/eng_456", headers=auth).get_json()["name"] == "Edited"
    engine.close()


def test_watch_keeps_the_data_on_a_spec_only_edit(tmp_path: Path) -> None:
    spec, fixtures = _unstamped_copy(tmp_path)
    with serving("--watch", "--spec", str(spec), "--fixtures", str(fixtures)) as (base, process):
        status, made, _ = _call(base + "/v1/engagements", "POST", {"name": "mine", "type": "t"})
        assert status == 201
        time.sleep(1.1)  # a reload now stamps another second
        spec.write_text(spec.read_text().replace("maximum: 100\n", "maximum: 10\n"))
        _wait_for(lambda: _call(base + "/v1/engagements?pageSize=50")[0] == 400)
        assert _call(base + f"/v1/engagements/{made['id']}")[0] == 200, "a spec-only edit keeps the data"
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "the fixtures did not change, default state kept" in output


def test_a_reload_that_hits_a_bug_in_the_mock_logs_its_traceback_and_keeps_serving(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A broken edit is the user's (one line naming file and pointer); a bug of the mock's is
    # not theirs to hunt for: its traceback goes to the log, and the last version keeps serving.
    from auralytik_mock.harness import sandbox
    from tests.conftest import make_config

    engine = sandbox.Engine(make_config())
    before = engine.world

    def broken(config: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(sandbox, "build_world", broken)
    assert engine.reload() is False
    assert engine.world is before
    (record,) = [r for r in caplog.records if "reload failed" in r.getMessage()]
    assert "a bug in auralytik-mock" in record.getMessage() and record.exc_info is not None
