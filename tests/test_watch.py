"""--watch: spec and fixtures reload on change; a broken edit keeps the last good version serving."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, SPEC_PATH
from tests.test_cli import _call, serving


def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.parametrize("server", ["asyncio"])
def test_watch_reloads_fixtures_and_keeps_the_last_good_version(tmp_path: Path, server: str) -> None:
    spec = tmp_path / "openapi.yaml"
    shutil.copy(SPEC_PATH, spec)
    fixtures = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, fixtures)
    acme = fixtures / "acme.yaml"
    with serving("--server", server, "--watch", "--spec", str(spec), "--fixtures", str(fixtures)) as (base, process):
        url = base + "/v1/engagements/eng_456"
        assert _call(base + "/v1/engagements", "POST", {"name": "n", "type": "t"})[0] == 201
        acme.write_text(acme.read_text().replace("name: Q1 Quality Review", "name: Q1 Quality Review (edited)"))
        _wait_for(lambda: _call(url)[1]["name"] == "Q1 Quality Review (edited)")
        assert _call(base + "/v1/engagements")[1]["totalCount"] == 5, "state was reset to the new fixtures"

        acme.write_text(acme.read_text() + "\n  - id: [broken\n")
        time.sleep(1.5)
        assert _call(url)[1]["name"] == "Q1 Quality Review (edited)", "the last good version still serves"

        spec.write_text(spec.read_text().replace("maximum: 100\n", "maximum: 10\n"))
        acme.write_text(acme.read_text().replace("\n  - id: [broken\n", "\n"))
        _wait_for(lambda: _call(base + "/v1/engagements?pageSize=50")[0] == 400)
        process.terminate()
        output = process.communicate(timeout=10)[0]
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
        spec.write_text(broken)
        time.sleep(1.5)
        assert _call(base + "/v1/engagements")[0] == 200, "the last good version still serves"
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "reload failed" in output
    assert f"{spec}:{line}: /paths/~1engagements/get/parameters/0/schema/type: " in output, output
    assert "Traceback" not in output
