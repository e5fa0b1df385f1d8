"""pytest fixtures for tests that call the Auralytik API (registered through ``pytest11``).

Fixtures:

- ``auralytik_mock_config`` (session): the ``Config``; override it in ``conftest.py``
  for your own spec, fixtures or a pinned clock. Relative paths in it are resolved
  against pytest's rootdir, so the same ``conftest.py`` works from any working folder.
- ``auralytik_mock_server`` (session): one running ``MockServer`` per test session
  (per xdist worker), on a free port.
- ``auralytik_mock`` (function): that server, reset to the fixtures before the test
  (data, journal, fault rules, clock). Its helpers steer it without HTTP:
  ``fault(path, status=..., times=...)`` returns the rule, ``clear_faults()``,
  ``set_clock(now)``, ``advance(seconds)``, ``auth()`` (your fixtures' first key),
  ``requests``, ``state()``, and the webhook receiver: ``webhook_url(name)``,
  ``received_webhooks(name, count=N)``, ``deliveries()``.
- ``auralytik_mock_client`` (function): a Flask test client of a fresh app, no socket.

With ``AURALYTIK_MOCK_ADMIN_TOKEN`` set, the server requires it on ``/__mock/*``: the
fixtures' own helpers (``reset()``, ``requests``, ``state()``) need nothing, and
``auralytik_mock.admin_headers()`` gives the header for your own HTTP calls.

May import: ``mockserver``, ``http.wsgi``, ``config``, pytest.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from ..config import Config
from ..http.wsgi import create_app
from .mockserver import MockServer


@pytest.fixture(scope="session")
def auralytik_mock_config() -> Config:
    """The mock's configuration: ``AURALYTIK_MOCK_*`` variables over the defaults.

    Override in ``conftest.py``::

        @pytest.fixture(scope="session")
        def auralytik_mock_config():
            return Config(fixtures=("tests/fixtures",), clock="2024-01-01T00:00:00Z")

    ``tests/fixtures`` is read from pytest's rootdir (the folder of ``pyproject.toml``,
    ``pytest.ini`` ...), whatever folder pytest runs from.
    """
    return Config.from_env()


def _rooted(request: pytest.FixtureRequest, config: Config) -> Config:
    """``config`` with relative paths resolved against pytest's rootdir, not the working folder."""
    return config.relative_to(request.config.rootpath)


@pytest.fixture(scope="session")
def auralytik_mock_server(request: pytest.FixtureRequest, auralytik_mock_config: Config) -> Iterator[MockServer]:
    """One running mock for the whole session (one per xdist worker), on a free port."""
    with MockServer(config=_rooted(request, auralytik_mock_config).with_options(port=0)) as server:
        yield server


@pytest.fixture
def auralytik_mock(auralytik_mock_server: MockServer) -> MockServer:
    """The running mock, reset to the fixtures (data, journal, fault rules) before each test."""
    auralytik_mock_server.reset()
    return auralytik_mock_server


@pytest.fixture
def auralytik_mock_client(request: pytest.FixtureRequest, auralytik_mock_config: Config) -> FlaskClient:
    """A Flask test client of a fresh mock: no socket, state private to the test."""
    return create_app(_rooted(request, auralytik_mock_config)).test_client()
