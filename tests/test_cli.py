"""The auralytik-mock command: check, and serve as a real process."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from auralytik_mock.cli import main
from auralytik_mock.core.spec import Spec
from tests.conftest import FIXTURES, ROOT, SPEC_PATH, read_yaml, spec_document, yaml_text
from tests.processes import call, serving


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from auralytik_mock import __version__

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"auralytik-mock {__version__}"


def _fixture_records() -> int:
    """How many records the bundled fixtures hold (a ``generate: N`` entry counts N)."""
    total = 0
    for path in FIXTURES.glob("*.yaml"):
        for client in read_yaml(path.read_text())["clients"]:
            for key, records in client.items():
                if key not in {"id", "name", "apiKeys", "plan"}:
                    total += sum(r["generate"] if "generate" in r else 1 for r in records)
    return total


def test_check_passes_on_the_bundled_spec_and_fixtures(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    operations = len(Spec.load(SPEC_PATH).operations)
    records = _fixture_records()
    assert f"{operations} operations" in out and f"2 clients, {records} records" in out


def test_check_fails_with_the_file_and_record_on_a_bad_fixture(tmp_path: Path, capsys) -> None:
    doc = read_yaml((FIXTURES / "acme.yaml").read_text())
    doc["clients"][0]["engagements"][0]["status"] = "archived"
    (tmp_path / "acme.yaml").write_text(yaml_text(doc))
    assert main(["check", "--fixtures", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "acme.yaml: clients[0].engagements[0] (id eng_456).status: must be one of" in err


def test_check_says_which_checks_ran(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "checks run:" in out and "openapi-spec-validator 0." in out
    assert "JSON Schema 2020-12" in out and "fixtures" in out


def test_check_runs_the_spec_validator_every_time(tmp_path: Path, capsys) -> None:
    # A response without description is not valid OpenAPI; only the full validation sees it.
    doc = spec_document()
    del doc["paths"]["/engagements"]["get"]["responses"]["200"]["description"]
    spec = tmp_path / "openapi.yaml"
    spec.write_text(yaml_text(doc, sort_keys=False))
    assert main(["check", "--spec", str(spec)]) == 1
    err = capsys.readouterr().err
    line = spec.read_text().split("\n").index("    get:") + 1  # first "get:" is listEngagements
    assert re.search(r"openapi\.yaml:\d+: /paths/~1engagements/get/responses/200: .description. is a required", err), (
        err
    )
    assert line > 0


TYPO = (
    "            minimum: 1\n            maximum: 9007199254740991",
    "            minimum: one\n            maximum: 9",
)


def _typo_spec(tmp_path: Path) -> tuple[Path, int]:
    text = SPEC_PATH.read_text()
    assert text.count(TYPO[0]) == 1
    broken = text.replace(TYPO[0], TYPO[1])
    spec = tmp_path / "openapi.yaml"
    spec.write_text(broken)
    return spec, broken[: broken.index("minimum: one")].count("\n") + 1


def test_check_names_file_line_and_pointer_of_a_schema_typo(tmp_path: Path, capsys) -> None:
    spec, line = _typo_spec(tmp_path)
    assert main(["check", "--spec", str(spec)]) == 1
    err = capsys.readouterr().err
    assert f"{spec}:{line}: /paths/~1engagements/get/parameters/0/schema/minimum: " in err, err
    assert "Traceback" not in err


def test_serve_names_file_line_and_pointer_of_a_schema_typo(tmp_path: Path) -> None:
    spec, line = _typo_spec(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "auralytik_mock", "serve", "--port", "0", "--spec", str(spec)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert f"{spec}:{line}: /paths/~1engagements/get/parameters/0/schema/minimum: " in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_check_takes_paths_from_the_environment(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AURALYTIK_MOCK_FIXTURES", str(tmp_path / "missing"))
    assert main(["check"]) == 1
    assert "no such fixture file or folder" in capsys.readouterr().err


def test_bad_environment_value_is_a_clear_usage_error(monkeypatch, capsys) -> None:
    monkeypatch.setenv("AURALYTIK_MOCK_LATENCY", "fast")
    with pytest.raises(SystemExit) as info:
        main(["check"])
    assert info.value.code == 2
    assert "AURALYTIK_MOCK_LATENCY" in capsys.readouterr().err


@pytest.mark.parametrize("server", ["asyncio"])
def test_serve_runs_the_seed_examples_and_stops_on_sigterm(server: str) -> None:
    with serving("--server", server, "--clock", "2024-02-01T00:00:00Z") as (base, process):
        status, body, _ = call(base + "/v1/engagements")
        assert status == 200 and body["totalCount"] == 5
        status, created, headers = call(
            base + "/v1/engagements",
            "POST",
            {
                "name": "Q1 Quality Review",
                "description": "First quarter quality evaluation project",
                "type": "quality_review",
            },
        )
        assert status == 201 and headers["Location"] == f"/v1/engagements/{created['id']}"
        status, patched, _ = call(
            base + "/v1/engagements/eng_456", "PATCH", {"name": "Q1 Quality Review - Updated", "status": "completed"}
        )
        assert status == 200 and patched["status"] == "completed"
        assert call(base + "/v1/engagements/eng_456")[1]["name"] == "Q1 Quality Review - Updated"
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=10)[0]
        assert time.monotonic() - started < 3
        assert process.returncode == 0, output
    assert "YOUR_API_KEY" in output and "engagements:read, engagements:write" in output
    assert f"{base}/v1" in output


@pytest.mark.parametrize("server", ["asyncio"])
def test_serve_writes_an_access_log_line_per_request(server: str) -> None:
    with serving("--server", server) as (base, process):
        assert call(base + "/v1/engagements/eng_456")[0] == 200
        status, _, headers = call(base + "/v1/engagements/eng_999")
        time.sleep(0.3)  # lines are written in batches, every 50 ms
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert re.search(r"\d\d:\d\d:\d\d\.\d{3} GET /v1/engagements/eng_456 200 [\d.]+ms req_[0-9a-f]{16}", output), output
    assert "GET /v1/engagements/eng_999 404" in output and headers["X-Request-Id"] in output


def test_quiet_serve_writes_no_access_log() -> None:
    with serving("--quiet") as (base, process):
        assert call(base + "/v1/engagements/eng_456")[0] == 200
        time.sleep(0.3)
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "/v1/engagements/eng_456" not in output


def test_serve_reads_flags_from_the_environment() -> None:
    with serving(
        env={"AURALYTIK_MOCK_CLOCK": "2031-01-01T00:00:00Z", "AURALYTIK_MOCK_CORS_ORIGINS": "http://localhost:3000"}
    ) as (base, _):
        status, created, _ = call(base + "/v1/engagements", "POST", {"name": "n", "type": "t"})
        assert created["createdAt"] == "2031-01-01T00:00:00Z"


def test_serve_on_a_retired_server_says_so_and_serves() -> None:
    with serving(env={"AURALYTIK_MOCK_SERVER": "werkzeug"}) as (base, process):
        with urllib.request.urlopen(base + "/__mock/health", timeout=5) as r:
            assert r.status == 200 and "Server" not in r.headers
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "--server werkzeug is retired; serving on asyncio" in output


def test_unknown_server_in_the_environment_is_a_usage_error(monkeypatch, capsys) -> None:
    monkeypatch.setenv("AURALYTIK_MOCK_SERVER", "gunicorn")
    with pytest.raises(SystemExit) as info:
        main(["serve"])
    assert info.value.code == 2 and "AURALYTIK_MOCK_SERVER" in capsys.readouterr().err


def test_serve_refuses_a_busy_port_clearly() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "auralytik_mock", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=20,
        )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_serve_with_a_bad_fixture_exits_1_naming_it(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("clients: 3\n")
    result = subprocess.run(
        [sys.executable, "-m", "auralytik_mock", "serve", "--fixtures", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 1 and "bad.yaml" in result.stderr


@pytest.mark.slow
def test_installed_wheel_serves_bundled_spec_from_another_directory(tmp_path: Path) -> None:
    wheel_dir, target = tmp_path / "wheel", tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheel_dir),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = wheel_dir.glob("auralytik_mock-*.whl")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
    )
    bundled = target / "auralytik_mock" / "_bundled"
    assert (bundled / "openapi.yaml").read_bytes() == SPEC_PATH.read_bytes()
    assert sorted(p.name for p in (bundled / "fixtures").iterdir()) == sorted(p.name for p in FIXTURES.iterdir())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with serving(env={"PYTHONPATH": str(target)}, cwd=elsewhere) as (base, _):
        assert call(base + "/v1/engagements/eng_456")[0] == 200
        where = subprocess.run(
            [sys.executable, "-c", "import auralytik_mock.config as c; print(c.bundled_spec_path())"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(target)},
            cwd=elsewhere,
            check=True,
        ).stdout
        assert str(bundled) in where


def test_serve_banner_lists_every_sandbox_option_of_serve_help(capsys) -> None:
    from auralytik_mock.cli import NOT_IN_BANNER, banner
    from auralytik_mock.http.wsgi import create_app, engine_of

    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    offered = set(re.findall(r"(--[a-z][a-z-]+)", capsys.readouterr().out)) - set(NOT_IN_BANNER)
    assert {"--watch", "--latency", "--clock", "--cors-origin"} <= offered
    engine = engine_of(create_app(latency_ms=(200, 800)))
    text = banner(engine, "http://127.0.0.1:4010")
    for flag in offered:
        assert flag in text, f"{flag} is in serve --help but not in the banner"
    assert "--latency 200-800 ms" in text and "--watch off" in text and "Prefer: code=" in text


def test_the_retired_granian_server_name_serves_on_the_default_with_a_notice() -> None:
    with serving("--server", "granian", "--quiet") as (base, process):
        assert call(base + "/v1/engagements")[0] == 200
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "--server granian is retired; serving on asyncio" in output


def test_serve_watch_says_watch_on_in_its_banner() -> None:
    # serve builds its engine with watching off and starts it once listening: the banner
    # must still say what the user asked for.
    with serving("--watch", "--quiet") as (base, process):
        assert call(base + "/health")[0] == 200
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "--watch on" in output and "--watch off" not in output


def test_the_banner_of_a_spec_served_without_fixtures_says_which_credentials_it_takes() -> None:
    from auralytik_mock import Config
    from auralytik_mock.cli import banner
    from auralytik_mock.http.wsgi import create_app, engine_of

    spec = ROOT / "tests" / "data" / "public" / "swagger-petstore3.yaml"
    text = banner(engine_of(create_app(Config(spec_path=spec))), "http://127.0.0.1:4010")
    assert "no fixtures: any well-formed credential of the spec's security schemes (api_key, petstore_auth)" in text
    assert "API keys (Authorization: Bearer <key>)" not in text
