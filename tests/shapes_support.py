"""Serve a spec of ``tests/data/shapes/`` in-process (one client, no records, no auth)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auralytik_mock import Config, create_app

SHAPES = Path(__file__).resolve().parent / "data" / "shapes"


def client(name: str, *, validate: bool = True, fixtures: str = "empty-fixtures.yaml") -> Any:
    """A Flask test client for ``tests/data/shapes/<name>`` with its answers checked
    against the spec (``validate``) and the clock pinned to 2024-06-01T12:00:00Z."""
    config = Config(
        spec_path=SHAPES / name,
        fixtures=(SHAPES / fixtures,),
        enforce_auth=False,
        validate_responses=validate,
        clock="2024-06-01T12:00:00Z",
    )
    return create_app(config).test_client()
