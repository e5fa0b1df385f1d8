"""What the repository tracks: nothing that belongs to one checkout."""

from __future__ import annotations

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
