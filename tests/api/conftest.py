"""Fixtures of the API tests that reach the engine behind the app they call (jobs, exports).

``api`` (``tests/conftest.py``) runs a test in-process and over a socket; these give one
in-process app and its engine (``engine_of(mock)``), for tests that read its events.
"""

from __future__ import annotations

from typing import Any

import pytest

from auralytik_mock import create_app
from tests.conftest import Api, make_config


@pytest.fixture
def mock() -> Any:
    """A fresh Flask app of the mock: the repository's spec and fixtures, the pinned clock."""
    return create_app(make_config())


@pytest.fixture
def mock_api(mock: Any) -> Api:
    """``mock`` through Flask's test client."""
    return Api("flask", flask_client=mock.test_client())
