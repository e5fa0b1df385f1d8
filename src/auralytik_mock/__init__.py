"""auralytik-mock: a stateful, contract-checking mock of the Auralytik REST API.

Three ways to run the same app::

    from auralytik_mock import MockServer, create_app

    with MockServer() as mock:                      # a real server on a free port
        requests.get(f"{mock.url}/engagements", headers=mock.auth("YOUR_API_KEY"))

    client = create_app().test_client()             # Flask's test client, no socket

    $ auralytik-mock serve                          # the sandbox, on :4010
"""

from __future__ import annotations

import gc as _gc

# Importing the package (Flask and ours) makes some 100,000 objects and no garbage: the
# cyclic collector, run meanwhile, would walk them again and again (a tenth of the import).
_collecting = _gc.isenabled()
_gc.disable()
try:
    from .config import Config
    from .core.errors import (
        ApiError,
        AuralytikMockError,
        FixtureError,
        ServerError,
        SpecError,
    )
    from .core.handlers import Call, Context, HookRegistry, handles, unregister
    from .core.types import MockResponse
    from .harness.mockserver import MockServer
    from .harness.sandbox import Engine
    from .http.wsgi import create_app
finally:
    if _collecting:
        _gc.enable()
    del _collecting
del _gc

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "AuralytikMockError",
    "Call",
    "Config",
    "Context",
    "Engine",
    "FixtureError",
    "HookRegistry",
    "MockResponse",
    "MockServer",
    "ServerError",
    "SpecError",
    "__version__",
    "create_app",
    "handles",
    "unregister",
]
