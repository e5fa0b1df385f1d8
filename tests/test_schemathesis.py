"""Schemathesis (a tool nobody here wrote) against the running mock and openapi.yaml.

Every check schemathesis 4 runs by default (all of them: not_a_server_error,
status_code_conformance, content_type_conformance, response_schema_conformance,
response_headers_conformance, negative_data_rejection, positive_data_acceptance,
ignored_auth, use_after_free, ensure_resource_availability, unsupported_method, ...),
in the examples, coverage, fuzzing and stateful phases (the spec's links chain create
-> get -> patch), with a fixed seed and a bounded example count. The mock runs as users
run it (the default asyncio server) with its response self-check on, so any drift is a 500 that fails here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, SPEC_PATH
from tests.processes import serving

pytestmark = pytest.mark.slow

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
#: The recording is reached through a signed link (recording-url), never with a key alone:
#: called on its own it answers 403 whatever the key, which is not what these runs check.
SIGNED_LINK = ["--exclude-path", "/voice-calls/{id}/recording"]
COMMON = ["--seed", "1", "--max-examples", "30", "--no-color", "--request-timeout", "10"]


def _run(args: list[str], env: dict[str, str] | None = None, common: list[str] = COMMON) -> str:
    with tempfile.TemporaryDirectory() as scratch:  # schemathesis keeps a cache in its working directory
        result = subprocess.run(
            [SCHEMATHESIS, "run", str(SPEC_PATH), *common, *args],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=scratch,
            env={**os.environ, **env} if env else None,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "No issues found" in output or "passed" in output, output[-3000:]
    return output


def _engagements(key: str) -> str:
    with serving("--quiet", "--validate-responses") as (base, _):
        return _run(
            [
                "--url",
                base + "/v1",
                "--exclude-path",
                "/health",
                *SIGNED_LINK,
                "--header",
                f"Authorization: Bearer {key}",
                "--phases",
                "examples,coverage,fuzzing,stateful",
            ]
        )


def test_engagements_conform_with_a_full_key() -> None:
    output = _engagements("YOUR_API_KEY")
    assert "Stateful" in output and "API Links" in output


def test_write_operations_answer_the_documented_403_with_a_read_only_key() -> None:
    output = _engagements("READ_ONLY_API_KEY")
    # The 2 engagement writes, and the 6 webhook operations (webhooks:manage, which it lacks).
    assert "403 Forbidden (8 operations)" in output


def test_health_at_the_root_conforms() -> None:
    # /health lives outside /v1 (its path-level servers say so); schemathesis ignores
    # path-level servers, so it gets its own run against the root URL.
    with serving("--quiet", "--validate-responses") as (base, _):
        _run(["--url", base, "--include-path", "/health", "--phases", "examples,coverage,fuzzing"])


def test_whole_spec_with_default_settings_against_the_base_url() -> None:
    # Exactly as schemathesis' docs show it: one command, the whole spec, the API's base
    # URL, every default (all checks, all phases, random seed). Tools that ignore
    # path-level servers call /v1/health: it answers like /health (issue 9, problem 5).
    with serving() as (base, _):
        output = _run(["--url", base + "/v1"], common=[])
    assert re.search(r"(\d+) selected / \1 total", output) and "Stateful" in output


def test_whole_spec_with_a_key_and_the_self_check_on() -> None:
    with serving("--quiet", "--validate-responses") as (base, _):
        output = _run(["--url", base + "/v1", "--header", "Authorization: Bearer YOUR_API_KEY"])
    assert re.search(r"(\d+) selected / \1 total", output)


def _signed(key: str, secret: str) -> str:
    # The documented hook mechanism: SCHEMATHESIS_HOOKS names a module whose before_call
    # hook signs every request (tests/schemathesis_signing_hooks.py).
    hooks = {
        "SCHEMATHESIS_HOOKS": "tests.schemathesis_signing_hooks",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "AURALYTIK_SIGNING_SECRET": secret,
        "AURALYTIK_BASE_PATH": "/api/v1",
    }
    with serving("--quiet", "--validate-responses") as (base, _):
        return _run(
            [
                "--url",
                base + "/api/v1",
                "--exclude-path",
                "/health",
                *SIGNED_LINK,
                "--header",
                f"X-Api-Key: {key}",
                "--phases",
                "examples,coverage,fuzzing,stateful",
            ],
            env=hooks,
        )


def test_signed_engagements_on_api_v1_conform_with_a_full_key() -> None:
    output = _signed("ak_live_abc123def456ghi789jkl012mno345pq", "YOUR_HMAC_SECRET")
    assert "Stateful" in output and "API Links" in output


def test_signed_write_operations_answer_403_with_the_read_only_signing_key() -> None:
    output = _signed("ak_live_readonly000000000000000000000000", "READ_ONLY_HMAC_SECRET")
    # The 2 engagement writes, and the 6 webhook operations (webhooks:manage, which it lacks).
    assert "403 Forbidden (8 operations)" in output
