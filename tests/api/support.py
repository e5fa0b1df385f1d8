"""What several API test modules do alike: move the mock's clock, call a link the mock signed."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.conftest import Api


def advance(api: Api, seconds: int) -> None:
    """Move the pinned clock ``seconds`` forward (``PUT /__mock/clock``): the tasks due meanwhile run."""
    assert api.request("PUT", "/__mock/clock", key=None, json={"advanceSeconds": seconds}).status == 200


def path_of(url: str) -> str:
    """A signed link's path and query (what Flask's test client and ``Api`` are called with)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"
