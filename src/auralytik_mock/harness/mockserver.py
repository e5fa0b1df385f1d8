"""``MockServer``: the mock on a real socket, in a background thread, for tests.

Owns: running the mock's own HTTP server (``http.server``, the one ``serve`` runs, with
keep-alive) in a background thread on a free port, started in milliseconds and stopped
without leaking threads or sockets and without waiting for injected delays; the
conveniences tests use (url, reset, journal, keys, signing, fault rules, the clock, the
webhook receiver).
May import: ``config``, ``core``, ``http``, ``signing``, ``harness.guard``, ``harness.admin``,
``harness.receiver``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..core.errors import ApiError, ServerError
from ..core.faults import FaultRule
from ..core.handlers import HookRegistry
from ..core.spec import HMAC
from ..core.store import DEFAULT_NAMESPACE, timestamp
from ..core.types import Json
from ..http.server import HttpServer
from ..http.wsgi import create_app, engine_of, stopping_event
from ..signing import httpx_auth, requests_auth, signed_headers
from .admin import fault_rule
from .guard import ADMIN_TOKEN_HEADER
from .receiver import Receiver
from .sandbox import Engine, SessionState

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
    :param hooks: a ``HookRegistry`` of its own; ``None``: the one ``@handles`` fills.
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
        hooks: HookRegistry | None = None,
        **options: Any,
    ) -> None:
        changes: dict[str, Any] = {"host": host, "port": port, **options}
        if spec is not None:
            changes["spec_path"] = spec
        if fixtures is not None:
            changes["fixtures"] = fixtures
        self.config = (config or Config()).with_options(**changes)
        self.app = create_app(self.config, hooks=hooks)
        self.engine: Engine = engine_of(self.app)
        self._server: HttpServer | None = None
        self.port = self.config.port
        self._receiver = Receiver()

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
            self._receiver.close()

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
        """Back to the fixtures: data, journal, fault rules, clock, webhooks and pending tasks;
        the webhook receiver forgets what it received."""
        self.engine.reset()
        self._receiver.clear()

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

    def auth(self, key: str | None = None) -> dict[str, str]:
        """The ``Authorization`` header for ``key``; by default the fixtures' first key
        (``YOUR_API_KEY`` with the bundled ones; with your own fixtures, your first key
        that does not sign its requests)."""
        return {"Authorization": f"Bearer {key if key is not None else self.first_key()}"}

    def first_key(self, signing: bool = False) -> str:
        """The fixtures' first API key (``signing``: the first one with an HMAC secret;
        else the first one without, or the first of all).

        :raises ServerError: the fixtures have no such key.
        """
        keys = [k for client in self.engine.store.seed for k in client.api_keys]
        wanted = [k for k in keys if (k.secret is not None) == signing]
        if not signing:
            wanted += keys  # only signing keys: the first of them, as a Bearer token
        if not wanted:
            raise ServerError(f"the fixtures have no {'signing ' if signing else ''}API key")
        return wanted[0].key

    # -- fault rules and the clock ---------------------------------------------------

    def fault(
        self,
        path: str,
        *,
        method: str = "*",
        status: int | None = None,
        delay_ms: int = 0,
        drop: bool = False,
        times: int | None = None,
        session: str | None = None,
    ) -> FaultRule:
        """Add a fault rule, as ``POST /__mock/faults`` does, and return it (live: its
        ``hits`` and ``times`` follow the calls it answers)::

            rule = mock.fault("/v1/engagements", method="GET", status=503, times=1)
            assert requests.get(f"{mock.url}/engagements", headers=mock.auth()).status_code == 503
            assert rule.hits == 1

        :param path: an API path (``/v1/engagements/eng_456``) or template (``/v1/engagements/{id}``).
        :param status: answer this documented status; ``delay_ms``: wait first; ``drop``: close
            the connection with no answer. At least one of the three.
        :param times: for the next ``times`` matching calls only (``None``: until removed).
        :param session: the session whose calls it concerns (default: the default dataset).
        :raises ServerError: the rule is not valid (the message names each problem), the
            session does not exist, or the rule cap is reached.
        """
        body: dict[str, Json] = {"method": method, "path": path, "delayMs": delay_ms, "drop": drop, "times": times}
        if status is not None:
            body["status"] = status
        try:
            rules = self.engine.session(session or DEFAULT_NAMESPACE).faults
            return rules.add(fault_rule(self.engine, body))
        except ApiError as error:
            raise ServerError(error.message) from None

    @property
    def faults(self) -> list[dict[str, Json]]:
        """The default dataset's fault rules in force (what ``GET /__mock/faults`` lists)."""
        return self.engine.faults.as_json()

    def remove_fault(self, rule: FaultRule | str, session: str | None = None) -> bool:
        """Remove one rule (the rule ``fault()`` returned, or its id); returns whether it was there."""
        rule_id = rule if isinstance(rule, str) else rule.id
        return self._session_state(session).faults.remove(rule_id)

    def clear_faults(self, session: str | None = None) -> None:
        """Remove every fault rule (of the default dataset, or of ``session``)."""
        self._session_state(session).faults.remove()

    def set_clock(self, now: str | datetime | None, session: str | None = None) -> None:
        """Pin "now" (an RFC 3339 UTC string or a ``datetime``; naive means UTC), or free it (``None``).

        :raises ServerError: ``now`` is not such a time, or no such session.
        """
        if isinstance(now, datetime):
            moment = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
            now = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
        try:
            self.engine.set_clock(now, session or DEFAULT_NAMESPACE)
        except ApiError as error:
            raise ServerError(error.message) from None

    def advance(self, seconds: int | float | timedelta, session: str | None = None) -> str:
        """Move the pinned clock ``seconds`` forward (whole seconds); returns the new now.

        The harness moves time only through here (and ``PUT /__mock/clock``): what waits on
        the mock's time sees every move.

        :raises ServerError: the clock is not pinned (``set_clock`` first), ``seconds`` is
            negative or not whole, or no such session.
        """
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        if isinstance(seconds, float) and seconds.is_integer():
            seconds = int(seconds)
        try:
            return self.engine.advance_clock(seconds, session or DEFAULT_NAMESPACE)  # type: ignore[arg-type]
        except ApiError as error:
            raise ServerError(error.message) from None

    @property
    def now(self) -> str:
        """The mock's now (its pinned clock, else the real time), RFC 3339 UTC."""
        return self.engine.now()

    def _session_state(self, session: str | None) -> SessionState:
        try:
            return self.engine.session(session or DEFAULT_NAMESPACE)
        except ApiError as error:
            raise ServerError(error.message) from None

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

    def secret(self, key: str | None = None) -> str:
        """The HMAC secret of ``key`` (a fixture key, or a session's; by default the fixtures'
        first signing key, ``DEFAULT_SIGNING_KEY`` with the bundled ones).

        :raises ServerError: no such key, or it does not sign.
        """
        key = key if key is not None else self.first_key(signing=True)
        principal = self.engine.store.lookup_key(key)
        if principal is None or principal.secret is None:
            raise ServerError(f"{key[:12]}... is not a signing key of this mock")
        return principal.secret

    def now_seconds(self) -> int:
        """The mock's now in Unix seconds (its pinned clock, if any): what signatures must use."""
        return int(timestamp(self.engine.now())) if self.engine.clock else int(time.time())

    def sign(self, method: str, path: str, body: bytes | str = b"", key: str | None = None) -> dict[str, str]:
        """The ``X-Api-Key``, ``X-Timestamp`` and ``X-Signature`` headers for one request,
        signed with ``key``'s secret at the mock's now (default: the first signing key).

        :param path: the request path (``/api/v1/engagements``) or a full URL.
        :param body: the exact bytes the request will send.
        """
        key = key if key is not None else self.first_key(signing=True)
        return signed_headers(method, path, body, key=key, secret=self.secret(key), timestamp=self.now_seconds())

    def requests_auth(self, key: str | None = None) -> AuthBase:
        """A ``requests`` auth that signs every request with ``key`` (default: the first
        signing key) at the mock's now."""
        key = key if key is not None else self.first_key(signing=True)
        return requests_auth(key, self.secret(key), clock=self.now_seconds)

    def httpx_auth(self, key: str | None = None) -> httpx.Auth:
        """An ``httpx`` auth that signs every request with ``key`` (default: the first
        signing key) at the mock's now."""
        key = key if key is not None else self.first_key(signing=True)
        return httpx_auth(key, self.secret(key), clock=self.now_seconds)

    def state(self) -> dict[str, Json]:
        """The whole default dataset, in the fixtures' format."""
        return self.engine.store.dump()

    # -- webhooks ------------------------------------------------------------------

    def webhook_url(self, name: str = "default", answers: Sequence[int | None] = ()) -> str:
        """The URL of a built-in webhook receiver called ``name`` (on 127.0.0.1; register it
        with ``POST /webhooks``). ``answers``: the status codes it gives its next deliveries,
        in order (``[500, 500]``: fail twice), then 200; ``None`` gives no answer at all (the
        delivery times out after 10 s and is retried)."""
        return self._receiver.url(name, answers)

    def received_webhooks(self, name: str = "default", count: int = 0, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The deliveries receiver ``name`` got, oldest first: each a dict of ``method``,
        ``path``, ``headers``, ``body`` (the raw bytes, what a signature covers), ``json`` (the
        parsed envelope) and ``status`` (what it answered). Waits up to ``timeout`` seconds for
        at least ``count`` of them (deliveries run in the background)."""
        return self._receiver.received(name, count, timeout)

    def deliveries(self, session: str | None = None) -> list[dict[str, Json]]:
        """Every delivery attempt of the default dataset (or ``session``), newest first."""
        return self.engine.webhooks.all_attempts(session or DEFAULT_NAMESPACE)

    @contextmanager
    def auth_disabled(self) -> Iterator[None]:
        """Within the block, API keys and scopes are not checked."""
        with self.engine.auth_disabled():
            yield
