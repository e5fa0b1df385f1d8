"""The README's Python examples run as tests, so the docs cannot rot."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(# test: (\w+)\n.*?)```", README, re.DOTALL)


def test_readme_has_runnable_examples() -> None:
    kinds = sorted(kind for _, kind in BLOCKS)
    assert kinds == ["exec", "exec", "exec", "exec", "pytest"]


@pytest.mark.parametrize("code", [code for code, kind in BLOCKS if kind == "exec"])
def test_readme_exec_example(code: str) -> None:
    exec(compile(code, "README.md", "exec"), {})


def test_readme_pytest_example_passes_in_a_fresh_project(pytester: pytest.Pytester) -> None:
    (code,) = [code for code, kind in BLOCKS if kind == "pytest"]
    pytester.makepyfile(test_readme_example=code)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_readme_lists_every_admin_route() -> None:
    from auralytik_mock.harness.admin import ROUTES

    for parts, methods in ROUTES:
        pattern = "/__mock/" + "/".join(r"\{\w+\}" if p == "*" else re.escape(p) for p in parts)
        assert re.search(pattern + r"(?![\w.])", README), (
            f"{parts} ({', '.join(methods)}) is not documented in the README"
        )


def _block_after(marker: str, fence: str) -> str:
    start = README.index(marker)
    found = re.search(rf"```{fence}\n(.*?)```", README[start:], re.DOTALL)
    assert found, f"no {fence} block after {marker!r}"
    return found.group(1)


@pytest.mark.slow
def test_readme_curl_and_openssl_recipe_works_as_pasted() -> None:
    import json
    import shutil
    import subprocess

    from tests.test_cli import serving

    script = _block_after("**curl and openssl**", "sh")
    assert "BASE=http://127.0.0.1:4010" in script
    for tool in ("bash", "curl", "openssl"):
        assert shutil.which(tool), f"{tool} is needed to run the README's recipe"
    with serving("--quiet") as (base, _):
        # Only the port differs from what a reader pastes.
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script.replace("http://127.0.0.1:4010", base)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    listed, created = (json.loads(line) for line in result.stdout.replace("}{", "}\n{").splitlines())
    assert listed["totalCount"] == 5 and len(listed["data"]) == 2
    assert created["name"] == "Signed with openssl" and created["id"].startswith("eng_")


def test_readme_browser_snippet_is_the_one_the_browser_test_runs() -> None:
    from tests.browser.test_browser import readme_signing_snippet

    snippet = readme_signing_snippet()
    assert "crypto.subtle.sign" in snippet and "async function signedFetch" in snippet
