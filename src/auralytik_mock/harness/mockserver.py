"""``MockServer``: the mock on a real socket, in a background thread, for tests.

Owns: running the mock's own HTTP server (``http.server``, the one ``serve`` runs, with
keep-alive) in a background thread on a free port, started in milliseconds and stopped
without leaking threads or sockets and without waiting for injected delays; the
conveniences tests use (url, reset, journal, keys, signing).
May import: ``config``, ``core``, ``http``, ``signing``, ``harness.guard``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..core.errors import ServerError
from ..core.pipeline import Engine
from ..core.spec import HMAC
from ..core.store import timestamp
from ..core.types import Json
from ..http.server import HttpServer
from ..http.wsgi import create_app, engine_of, stopping_event
from ..signing import httpx_auth, requests_auth, signed_headers
from .guard import ADMIN_TOKEN_HEADER

if TYPE_CHECKING:
    import httpx
    from requests.auth import AuthBase

#: The bundled key of the vendor's Authentication page (full scopes, signs its requests).
DEFAULT_SIGNING_KEY = "ak_live_abc123def456ghi789jkl012mno345pq"


class MockServer:
    """The mock as a real HTTP server in a daemon thread.

    :param spec: an OpenAPI document to serve instead of the bundled one.
    :param fixtures: fixture files or folders instead of the bundled ones.
    :param host: the address to listen on.
    :param port: the port; 0 (the default) takes a free one.
    :param config: a whole ``Config`` (``spec``, ``fixtures`` and ``options`` apply on top).
    :param options: any other ``Config`` field, e.g. ``clock="2024-01-01T00:00:00Z"``.

    Example::

        with MockServer(clock="2024-01-01T00:00:00Z") as mock:
            r = requests.post(f"{mock.url}/engagements", json={"name": "n", "type": "t"},
                              headers=mock.auth())
            assert mock.requests[-1]["status"] == 201
    """

    def __init__(
        self,
        spec: str | None = None,
        fixtures: Any = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        config: Config | None = None,
        **options: Any,
    ) -> None:
        changes: dict[str, Any] = {"host": host, "port": port, **options}
        if spec is not None:
            changes["spec_path"] = spec
        if fixtures is not None:
            changes["fixtures"] = fixtures
        self.config = (config or Config()).with_options(**changes)
        self.app = create_app(self.config)
        self.engine: Engine = engine_of(self.app)
        self._server: HttpServer | None = None
        self.port = self.config.port

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> MockServer:
        """Listen and serve in a daemon thread; returns once the socket accepts.

        :raises ServerError: already started.
        """
        if self._server is not None:
            raise ServerError("this MockServer is already running; stop() it first")
        config = self.config
        server = HttpServer(self.app, self.engine, threads=config.threads, max_connections=config.max_connections)
        stopping_event(self.app).clear()
        self._server = server.start_in_thread(config.host, config.port)
        self.port = server.port
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (a no-op when not running).

        Returns at once: calls waiting in an injected delay are dropped (their connection
        closes with no answer), never waited for.
        """
        server = self._server
        if server is None:
            return
        stopping_event(self.app).set()
        self._server = None
        try:
            server.stop_thread(timeout=5)
        finally:
            self.engine.close()

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what tests use ------------------------------------------------------------

    @property
    def root_url(self) -> str:
        """``http://host:port``, without the API's base path (``/health`` and ``/__mock`` live here)."""
        if self._server is None:
            raise ServerError("the MockServer is not running; use it as a context manager or call start()")
        host = self.config.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The API's base URL, e.g. ``http://127.0.0.1:54321/v1``."""
        return self.root_url + self.engine.spec.base_path

    def reset(self) -> None:
        """Back to the fixtures: data, journal and fault rules."""
        self.engine.reset()

    @property
    def requests(self) -> list[dict[str, Json]]:
        """The request journal, oldest first (what ``GET /__mock/requests`` shows)."""
        return self.engine.journal.snapshot()

    @property
    def keys(self) -> dict[str, list[str]]:
        """The default dataset's API keys and their scopes."""
        return {k.key: list(k.scopes) for c in self.engine.store.seed for k in c.api_keys}

    def admin_headers(self) -> dict[str, str]:
        """The header ``/__mock/*`` calls need when ``admin_token`` is set (empty otherwise)::

        requests.get(f"{mock.root_url}/__mock/state", headers=mock.admin_headers())
        """
        token = self.config.admin_token
        return {ADMIN_TOKEN_HEADER: token} if token else {}

    def auth(self, key: str = "YOUR_API_KEY") -> dict[str, str]:
        """The ``Authorization`` header for ``key``."""
        return {"Authorization": f"Bearer {key}"}

    @property
    def signed_url(self) -> str:
        """The base URL of signed requests, e.g. ``http://127.0.0.1:54321/api/v1``.

        :raises ServerError: the spec binds no base path to a signing scheme.
        """
        spec = self.engine.spec
        names = {name for name, scheme in spec.schemes.items() if scheme.kind == HMAC}
        for base, accepted in spec.base_paths.items():
            if accepted is not None and accepted & names:
                return self.root_url + base
        raise ServerError("the spec has no base path for signed requests (x-mock-security on a server)")

    def secret(self, key: str = DEFAULT_SIGNING_KEY) -> str:
        """The HMAC secret of ``key`` (a fixture key, or a session's).

        :raises ServerError: no such key, or it does not sign.
        """
        principal = self.engine.store.lookup_key(key)
        if principal is None or principal.secret is None:
            raise ServerError(f"{key[:12]}... is not a signing key of this mock")
        return principal.secret

    def now_seconds(self) -> int:
        """The mock's now in Unix seconds (its pinned clock, if any): what signatures must use."""
        return int(timestamp(self.engine.now())) if self.engine.clock else int(time.time())

    def sign(self, method: str, path: str, body: bytes | str = b"", key: str = DEFAULT_SIGNING_KEY) -> dict[str, str]:
        """The ``X-Api-Key``, ``X-Timestamp`` and ``X-Signature`` headers for one request,
        signed with ``key``'s secret at the mock's now.

        :param path: the request path (``/api/v1/engagements``) or a full URL.
        :param body: the exact bytes the request will send.
        """
        return signed_headers(method, path, body, key=key, secret=self.secret(key), timestamp=self.now_seconds())

    def requests_auth(self, key: str = DEFAULT_SIGNING_KEY) -> AuthBase:
        """A ``requests`` auth that signs every request with ``key`` at the mock's now."""
        return requests_auth(key, self.secret(key), clock=self.now_seconds)

    def httpx_auth(self, key: str = DEFAULT_SIGNING_KEY) -> httpx.Auth:
        """An ``httpx`` auth that signs every request with ``key`` at the mock's now."""
        return httpx_auth(key, self.secret(key), clock=self.now_seconds)

    def state(self) -> dict[str, Json]:
        """The whole default dataset, in the fixtures' format."""
        return self.engine.store.dump()

    @contextmanager
    def auth_disabled(self) -> Iterator[None]:
        """Within the block, API keys and scopes are not checked."""
        engine = self.engine
        previous = engine.config
        engine.config = previous.with_options(enforce_auth=False)
        try:
            yield
        finally:
            engine.config = previous
