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
import yaml

from auralytik_mock.core.spec import Spec
from tests.conftest import FIXTURES, ROOT, SPEC_PATH
from tests.processes import serving

pytestmark = pytest.mark.slow

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
#: What only a signed link reaches, never a key alone: the recording (recording-url), the blob
#: store (upload-url, download-url) and an export's file (its job's downloadUrl). Called on its
#: own each answers 403 whatever the key, which is not what these runs check.
LINKED_PATHS = [
    "/voice-calls/{id}/recording",
    "/audio-files/{id}/blob",
    "/exports/{jobId}/download",
    "/analytics/export/{jobId}/download",
]
SIGNED_LINK = [arg for path in LINKED_PATHS for arg in ("--exclude-path", path)]
COMMON = ["--seed", "1", "--max-examples", "30", "--no-color", "--request-timeout", "10"]
#: The three operations whose bodies have rules a schema cannot say (a record that must exist, the
#: 92-day range, an IANA zone): their documented 400 is expected for schema-valid data too.
CONFIG = ["--config-file", str(ROOT / "tests" / "data" / "auralytik-schemathesis.toml")]


def _run(args: list[str], env: dict[str, str] | None = None, common: list[str] = COMMON) -> str:
    config = CONFIG if common else []  # every default: no settings file either
    with tempfile.TemporaryDirectory() as scratch:  # schemathesis keeps a cache in its working directory
        result = subprocess.run(
            [SCHEMATHESIS, *config, "run", str(SPEC_PATH), *common, *args],
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


def _forbidden(key: str) -> int:
    """How many operations the key lacks a scope of: each answers it 403 (the runs leave out
    /health and the signed-link paths, which need no scope)."""
    scopes = {
        scope
        for path in sorted(FIXTURES.glob("*.yaml"))
        for client in yaml.safe_load(path.read_text()).get("clients", [])
        for entry in client.get("apiKeys", [])
        if entry["key"] == key
        for scope in entry.get("scopes", [])
    }
    operations = Spec.load(SPEC_PATH).operations
    return sum(1 for op in operations if op.spec_path not in LINKED_PATHS and not set(op.required_scopes) <= scopes)


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
    # 10: the 2 engagement writes, upload-url and process (audio:write) and the 6 webhook
    # operations (webhooks:manage), the scopes it lacks.
    assert f"403 Forbidden ({_forbidden('READ_ONLY_API_KEY')} operations)" in output


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
    # The same 10 operations as READ_ONLY_API_KEY's run: the signing key has the same scopes.
    assert f"403 Forbidden ({_forbidden('ak_live_readonly000000000000000000000000')} operations)" in output
