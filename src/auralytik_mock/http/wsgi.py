"""The Flask adapter: ``create_app()`` turns the engine into a WSGI app (for Flask's test
client, and for mounting the mock in a WSGI server of yours).

Owns: the one WSGI request adapter (``EngineWSGI``: environ in, ``MockResponse`` out),
translating a ``MockResponse`` into Flask's response; latency and dropped connections
under WSGI; making sure no HTML error page ever reaches a client; the envelopes of
refusals made before the engine (413, 414, 431...). The only module that imports Flask.
May import: ``config``, ``core``, ``harness.admin``, ``http.protocol``, flask, werkzeug.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from typing import Any
from urllib.parse import parse_qs

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from ..config import Config
from ..core.errors import ApiError, PayloadTooLargeError
from ..core.handlers import HookRegistry
from ..core.types import MockRequest, MockResponse
from ..harness import admin
from ..harness.sandbox import ADMIN_PREFIX, Engine
from .protocol import DRAIN_LIMIT, REASONS

log = logging.getLogger("auralytik_mock")

EXTENSION = "auralytik_mock"
#: ``app.extensions[STOPPING]``: a ``threading.Event`` set when the server stops; calls
#: parked in an injected delay wake up and drop their connection (stop never waits for them).
STOPPING = "auralytik_mock.stopping"
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"]


def payload(response: MockResponse) -> bytes:
    """The bytes of an engine response's body: ``raw`` as is, JSON compact, or nothing."""
    if response.raw is not None:
        return response.raw
    if response.body is None:
        return b""
    return json.dumps(response.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def to_flask(response: MockResponse) -> Response:
    """Build Flask's response from the engine's."""
    data = payload(response)
    flask_response = Response(data, status=response.status, headers=response.headers)
    if data:
        flask_response.content_type = response.content_type
    else:
        del flask_response.headers["Content-Type"]
    return flask_response


class _DroppedConnection(Response):
    """Answers nothing: the socket is shut before any byte is written (fault injection)."""

    def __call__(self, environ: Any, start_response: Any) -> Any:
        sock = environ.get("werkzeug.socket")
        if isinstance(sock, socket.socket):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            # Werkzeug treats a ConnectionError as a client gone: no answer, nothing logged.
            raise ConnectionAbortedError("connection dropped by a fault rule")
        # A WSGI server that hides its socket (the Flask test client, a server of your own):
        # promise a body and end early, so at least the body cannot be read.
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", "1048576"), ("Connection", "close")]
        )
        return [b"{"]


def is_admin_path(path: str) -> bool:
    """``/__mock`` and below: the admin API (its own body limit; never journaled)."""
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


def admin_body_limit(engine: Engine, method: str = "PUT", path: str = "/__mock/state") -> int:
    """The body limit of the admin call ``method path`` (``admin.body_limit``: small but for
    state loads, which take ``Config.max_admin_body_bytes``)."""
    return admin.body_limit(engine.config.max_admin_body_bytes, method, path)


def too_large(engine: Engine, limit: int) -> MockResponse:
    """The 413 envelope for a body over ``limit`` bytes."""
    return engine.render(PayloadTooLargeError(f"The request body is larger than the limit of {limit} bytes."))


#: Error codes of refusals made before a request reaches the engine (HTTP-level problems).
PROTOCOL_CODES = {
    408: "REQUEST_TIMEOUT",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    431: "REQUEST_HEADER_FIELDS_TOO_LARGE",
    503: "SERVICE_UNAVAILABLE",
}


def protocol_error(engine: Engine, status: int, message: str) -> MockResponse:
    """The envelope for a request refused at the HTTP level (malformed, too long, too large)."""
    error = ApiError(message)
    error.status = status
    error.code = PROTOCOL_CODES.get(status, "BAD_REQUEST")
    return engine.render(error)


def _wait(stopping: threading.Event, delay: float) -> bool:
    """Wait out an injected delay; ``True`` when the server stopped meanwhile."""
    return stopping.wait(delay)


def _headers(environ: Any) -> dict[str, str]:
    """The request headers from the WSGI environ, names lower-cased (cheaper than werkzeug's view)."""
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
    if "CONTENT_TYPE" in environ:
        headers["content-type"] = environ["CONTENT_TYPE"]
    if "CONTENT_LENGTH" in environ:
        headers["content-length"] = environ["CONTENT_LENGTH"]
    return headers


def _status_line(status: int) -> str:
    return f"{status} {REASONS.get(status, 'Unknown')}"


#: The endpoint of the Flask rule that sends every path no route of yours takes to the engine.
CATCH_ALL = "dispatch"


class EngineWSGI:
    """The engine as WSGI, in front of Flask (``app.wsgi_app``): how the Flask test client
    and any WSGI server you mount the app in reach the engine (the mock's own server calls
    the engine directly and sends only your own routes here).

    Paths of the spec and ``/__mock`` go straight to the engine; anything else goes on
    to Flask's own dispatch (your own ``@app.route``s, else ``CATCH_ALL``: the engine's
    404). Measured in-process, Flask's request context, URL map and Response cost about
    as much as the whole engine pipeline for a GET, so the routed paths skip them.
    """

    def __init__(self, engine: Engine, flask_wsgi: Any, stopping: threading.Event) -> None:
        self.engine = engine
        self.flask_wsgi = flask_wsgi
        self.stopping = stopping

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = _path(environ)
        if not is_admin_path(path) and self.engine.world.router.route(path) is None:
            return self.flask_wsgi(environ, start_response)
        response = self.handle(environ)
        if response.drop_connection:
            return _DroppedConnection()(environ, start_response)
        data = payload(response)
        headers = list(response.headers.items())
        if data:
            headers.append(("Content-Type", response.content_type))
        headers.append(("Content-Length", str(len(data))))
        start_response(_status_line(response.status), headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [data]

    def handle(self, environ: dict[str, Any]) -> MockResponse:
        """The engine's answer to the request in ``environ``, its injected delay waited out
        (a stop meanwhile turns it into a dropped connection). Never raises."""
        engine = self.engine
        path = _path(environ)
        admin = is_admin_path(path)
        try:
            limit = admin_body_limit(engine, environ["REQUEST_METHOD"], path) if admin else engine.config.max_body_bytes
            try:
                body, oversized = _read_wsgi_body(environ, limit)
            except (OSError, ValueError):  # a malformed chunked body
                return protocol_error(engine, 400, "The chunked request body is malformed.")
            if oversized and admin:
                return too_large(engine, limit)
            query = environ.get("QUERY_STRING", "")
            response = engine.handle(
                MockRequest(
                    method=environ["REQUEST_METHOD"].upper(),
                    path=path,
                    query=parse_qs(query, keep_blank_values=True, encoding="utf-8", errors="replace") if query else {},
                    headers=_headers(environ),
                    body=body,
                    oversized=oversized,
                )
            )
        except Exception:  # never Werkzeug's HTML 500 page
            log.exception("unexpected error serving %s", path[:200])
            return engine.render(ApiError("An unexpected error occurred in the mock."))
        if response.delay > 0 and _wait(self.stopping, response.delay):
            response.drop_connection = True
        return response


def _path(environ: dict[str, Any]) -> str:
    raw_path = environ.get("PATH_INFO", "") or "/"
    return str(raw_path.encode("latin-1").decode("utf-8", "replace"))


def _read_wsgi_body(environ: dict[str, Any], limit: int) -> tuple[bytes, bool]:
    """The body, or ``(b"", True)`` when over ``limit`` (read and dropped, up to ``DRAIN_LIMIT``)."""
    stream = environ.get("wsgi.input")
    length_text = environ.get("CONTENT_LENGTH")
    if stream is None:
        return b"", False
    if length_text:
        try:
            length = int(length_text)
        except ValueError:
            return b"", False
        if length > limit:
            left = min(length, DRAIN_LIMIT)
            while left > 0:
                chunk = stream.read(min(left, 1 << 16))
                if not chunk:
                    break
                left -= len(chunk)
            return b"", True
        return stream.read(length) if length > 0 else b"", False
    # RFC 9112: without Content-Length or Transfer-Encoding a request has no body, so a GET
    # never reads its input. A chunked body is read whole only when the server says the
    # input ends (``wsgi.input_terminated``); otherwise it cannot be read safely.
    if "HTTP_TRANSFER_ENCODING" in environ and environ.get("wsgi.input_terminated"):  # chunked
        data = stream.read(limit + 1)
        return (b"", True) if len(data) > limit else (data, False)
    return b"", False


def create_app(config: Config | None = None, *, hooks: HookRegistry | None = None, **options: Any) -> Flask:
    """Create the mock as a Flask app.

    :param config: the configuration; ``None`` for the defaults (bundled spec and fixtures).
    :param hooks: the app's own ``HookRegistry``; ``None``: the one ``@handles`` fills.
    :param options: ``Config`` fields to change, e.g. ``clock="2024-01-01T00:00:00Z"``.
    :raises SpecError: the spec cannot drive the mock.
    :raises FixtureError: a fixture is not valid.

    Example::

        client = create_app(validate_responses=True).test_client()
        r = client.get("/v1/engagements", headers={"Authorization": "Bearer YOUR_API_KEY"})
        assert r.json["totalCount"] == 5
    """
    config = (config or Config()).with_options(**options) if options else (config or Config())
    engine = Engine(config, hooks, admin=admin.handle)
    app = Flask(__name__, static_folder=None)
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    app.extensions[EXTENSION] = engine
    stopping = threading.Event()
    app.extensions[STOPPING] = stopping

    adapter = EngineWSGI(engine, app.wsgi_app, stopping)

    def dispatch(path: str = "") -> Response:
        # Reached for paths outside the spec that no route of yours takes: the engine's 404.
        response = adapter.handle(request.environ)
        return _DroppedConnection() if response.drop_connection else to_flask(response)

    app.wsgi_app = adapter  # type: ignore[method-assign]
    app.add_url_rule("/", CATCH_ALL, dispatch, methods=_METHODS, provide_automatic_options=False)
    app.add_url_rule("/<path:path>", CATCH_ALL, dispatch, methods=_METHODS, provide_automatic_options=False)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        # Werkzeug's own errors (an unknown method, a body over the limit...) keep their
        # status and headers (Allow on 405) but never their HTML body.
        status = error.code or 500
        api_error = ApiError(error.description or "The request could not be served.")
        api_error.status = status
        api_error.code = {405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}.get(status, "BAD_REQUEST")
        response = to_flask(engine.render(api_error))
        for name, value in error.get_headers():
            if name.lower() not in {"content-type", "content-length"}:
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unexpected error in the Flask adapter")
        return to_flask(engine.render(ApiError("An unexpected error occurred in the mock.")))

    return app


def stopping_event(app: Flask) -> threading.Event:
    """The event a server sets when it stops (see ``STOPPING``)."""
    event = app.extensions[STOPPING]
    assert isinstance(event, threading.Event)
    return event


def engine_of(app: Flask) -> Engine:
    """The engine behind an app made by ``create_app``."""
    engine = app.extensions[EXTENSION]
    assert isinstance(engine, Engine)
    return engine
