"""What the repository tracks: nothing that belongs to one checkout; how its code and tests
are put together."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_no_checkout_local_folder_is_tracked() -> None:
    """``.cache`` (the npm tools, or a worktree's symlink to them) and ``.venv`` stay untracked:
    landing a tracked ``.cache`` symlink replaced the main checkout's tools with a link to itself."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        ["git", "ls-files", "--", ".cache", ".venv"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked == [], f"untrack them: git rm --cached {' '.join(tracked)}"


def test_the_engine_is_built_from_its_configuration_and_never_set_from_outside() -> None:
    """``Engine(config, hooks, admin=...)`` is the whole of its set-up: no server, adapter or
    plugin assigns an attribute of an engine after building it (``engine.config = ...``)."""
    import re

    setter = re.compile(r"\bengine\.[a-z_]+\s*=(?!=)")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "src" / "auralytik_mock").rglob("*.py"))
        if path.name != "sandbox.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if setter.search(line)
    ]
    assert offenders == []


def test_the_package_has_no_import_cycles() -> None:
    # scripts/import_cycles.py reads every module's imports with ast; a cycle fails here first.
    import runpy
    import sys

    root = Path(__file__).resolve().parents[1]
    script = runpy.run_path(str(root / "scripts" / "import_cycles.py"))
    assert script["cycles"]({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    graph = script["graph_of"](nested=True)
    assert "auralytik_mock.core.auth" in graph["auralytik_mock.core.pipeline"]
    assert script["cycles"](graph) == []
    done = subprocess.run([sys.executable, str(root / "scripts" / "import_cycles.py")], capture_output=True, text=True)
    assert done.returncode == 0 and "0 cycle(s)" in done.stdout, done.stdout + done.stderr


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (functions too), as dotted names; for
    ``from X import Y`` both ``X`` and ``X.Y`` (``Y`` may be a module)."""
    package = list(path.parent.relative_to(ROOT).parts)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            anchor = package[: len(package) - node.level + 1] if node.level else []
            base = ".".join([*anchor, *([node.module] if node.module else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_no_test_module_imports_another_test_module() -> None:
    """What test modules share lives in a ``conftest.py`` (fixtures) or a support module
    (``tests/*_support.py``, ``tests/api/support.py``): a test module that imports another runs
    the other's module code in its own collection, and ties the two together for good."""
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted((ROOT / "tests").rglob("test_*.py"))
        for module in sorted(_imported_modules(path))
        if module.split(".")[0] == "tests" and module.rsplit(".", 1)[-1].startswith("test_")
    ]
    assert offenders == []
