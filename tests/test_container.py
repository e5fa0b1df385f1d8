"""The container, built from the Dockerfile unchanged and run with podman (scripts/container-smoke.sh)."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_container_builds_gets_healthy_serves_the_seed_examples_and_stops_within_a_second() -> None:
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "container-smoke.sh")], capture_output=True, text=True, timeout=900
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    found = re.search(r"container-smoke: OK build=([\d.]+)s start-to-healthy=([\d.]+)s stop=([\d.]+)s exit=0", output)
    assert found, output[-2000:]
    print(found.group(0))  # the numbers, in the test log
    assert float(found.group(3)) < 1.0
