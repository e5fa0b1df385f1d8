"""The README's Python examples run as tests, so the docs cannot rot."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(# test: (\w+)\n.*?)```", README, re.DOTALL)


def test_readme_has_runnable_examples() -> None:
    kinds = sorted(kind for _, kind in BLOCKS)
    assert kinds == ["exec", "exec", "exec", "pytest"]


@pytest.mark.parametrize("code", [code for code, kind in BLOCKS if kind == "exec"])
def test_readme_exec_example(code: str) -> None:
    exec(compile(code, "README.md", "exec"), {})


def test_readme_pytest_example_passes_in_a_fresh_project(pytester: pytest.Pytester) -> None:
    (code,) = [code for code, kind in BLOCKS if kind == "pytest"]
    pytester.makepyfile(test_readme_example=code)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_readme_lists_every_admin_route() -> None:
    from auralytik_mock.admin import ROUTES

    for parts, methods in ROUTES:
        pattern = "/__mock/" + "/".join(r"\{\w+\}" if p == "*" else re.escape(p) for p in parts)
        assert re.search(pattern + r"(?![\w.])", README), (
            f"{parts} ({', '.join(methods)}) is not documented in the README"
        )
