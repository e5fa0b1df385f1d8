"""The request pipeline: one ``MockRequest`` in, one ``MockResponse`` out.

Owns: the order of the steps (route -> faults -> authenticate -> authorize ->
``Prefer`` -> validate -> handler -> self-check), request ids, CORS headers on every
answer, and swapping spec and fixtures on reload. Each step's work lives in its own
layer-1 module (routing, faults, auth, validation, handlers, journal); this module
only runs them in order.
No Flask: ``app.py`` adapts this to WSGI. Admin routes are mounted by ``app.py``
(``Engine.admin``); the pipeline never imports them.
May import: every layer-1 module, ``config``, ``spec``, ``errors``, ``types``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .auth import authenticate, authorize
from .config import Config
from .cors import Cors
from .errors import (
    ApiError,
    ContractViolationError,
    MethodNotAllowedError,
    NotFoundError,
    Violation,
    render_error,
)
from .faults import FaultRules, forced_error, parse_prefer
from .fixtures import FixtureLoader, fixture_files
from .handlers import Call, Handler, bind_handlers, hooked, store_rules
from .journal import JOURNAL_BODY_CHARS, AccessLog, Journal, mask_key
from .resources import Resources, build_resources
from .routing import Router
from .spec import Operation, Spec
from .store import Store
from .types import Json, MockRequest, MockResponse, Principal
from .validation import RequestValidator, ResponseChecker, SchemaSet, decode_json
from .watch import Watcher

log = logging.getLogger("auralytik_mock")

ADMIN_PREFIX = "/__mock"

#: Answers a request under ``ADMIN_PREFIX`` (``admin.handle``, mounted by ``app.py``).
AdminHandler = Callable[["Engine", MockRequest], MockResponse]


@dataclass(frozen=True)
class World:
    """Everything built from one version of the spec and fixtures (swapped whole on reload)."""

    spec: Spec
    schemas: SchemaSet
    router: Router
    validator: RequestValidator
    checker: ResponseChecker
    handlers: dict[str, Handler]
    loader: FixtureLoader
    resources: Resources
    store: Store


def build_world(config: Config) -> World:
    """Load and check spec and fixtures, compile validators, bind handlers.

    :raises SpecError: the spec cannot drive the mock.
    :raises FixtureError: a fixture is not valid.
    """
    spec = Spec.load(config.resolved_spec_path)
    schemas = SchemaSet(spec)
    resources = build_resources(spec, hooked())
    loader = FixtureLoader(
        schemas, resources.kinds(), spec.scopes, rules=store_rules(resources), extras=resources.extras()
    )
    seed = loader.load_paths(config.resolved_fixtures)
    store = Store(seed, max_sessions=config.max_sessions, rules=store_rules(resources))
    return World(
        spec=spec,
        schemas=schemas,
        router=Router(spec.operations),
        validator=RequestValidator(spec, schemas, config.max_body_bytes),
        checker=ResponseChecker(spec, schemas),
        handlers=bind_handlers(spec, resources, store),
        resources=resources,
        loader=loader,
        store=store,
    )


@dataclass
class _Seen:
    """What the pipeline learned before it answered (for the journal and the self-check)."""

    operation: Operation | None = None
    principal: Principal | None = None
    body: Json = None
    body_parsed: bool = False


def _new_request_id() -> str:
    # Not os.urandom: its getrandom() syscall releases the GIL in the middle of every
    # request, and under granian's threads each release can start a GIL convoy. A request
    # id must be unique enough to find a request in a log, not unpredictable.
    return f"req_{random.getrandbits(64):016x}"


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Engine:
    """The mock itself, without HTTP: build it from a ``Config``, feed it requests.

    Example::

        engine = Engine(Config())
        response = engine.handle(MockRequest("GET", "/v1/engagements",
                                             headers={"authorization": "Bearer YOUR_API_KEY"}))
        assert response.status == 200
    """

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.world = build_world(self.config)
        self.cors = Cors(self.config.cors_origins)
        self.journal = Journal(self.config.journal_size)
        self.access_log = AccessLog()
        self.faults = FaultRules()
        self.clock = self.config.clock
        self.admin: AdminHandler | None = None
        self._watcher = Watcher(self.watched_files, self.reload)
        if self.config.watch:
            self.start_watching()

    # -- public helpers --------------------------------------------------------------

    @property
    def spec(self) -> Spec:
        return self.world.spec

    @property
    def store(self) -> Store:
        return self.world.store

    def now(self) -> str:
        """Now, as the handlers see it: the pinned clock or the real UTC time, to the second."""
        return self.clock or _now_text()

    def reset(self) -> None:
        """Back to the fixtures: default dataset, journal and fault rules (sessions stay)."""
        self.world.store.reset()
        self.journal.clear()
        self.faults.remove()

    def render(self, error: ApiError) -> MockResponse:
        """An error answer with a fresh request id (for errors found outside ``handle``)."""
        request_id = _new_request_id()
        response = render_error(error, request_id)
        response.headers["X-Request-Id"] = request_id
        return response

    # -- the pipeline ----------------------------------------------------------------

    def handle(self, request: MockRequest) -> MockResponse:
        """Answer one request. Never raises: every error is rendered in the envelope."""
        started = time.perf_counter()
        request_id = _new_request_id()
        world = self.world
        seen = _Seen()
        details: tuple[Violation, ...] = ()
        try:
            if request.path == ADMIN_PREFIX or request.path.startswith(ADMIN_PREFIX + "/"):
                if self.admin is None:
                    raise NotFoundError(f"No route matches {request.method} {request.path}.")
                response = self.admin(self, request)
            elif request.method == "OPTIONS":
                response = self._options(world, request)
            else:
                response = self._api(world, request, seen, request_id)
        except ApiError as error:
            details = error.details
            response = render_error(error, request_id)
        except Exception:  # a bug in the mock: answer 500 in the envelope, and say so in the log
            log.exception("unexpected error answering %s %s (request %s)", request.method, request.path, request_id)
            response = render_error(ApiError("An unexpected error occurred in the mock."), request_id)
        op = seen.operation
        if op is not None and self.config.validate_responses and not response.drop_connection:
            response = self._self_check(world, op, response, request_id)
        response.headers["X-Request-Id"] = request_id
        if isinstance(response.body, dict) and isinstance(response.body.get("error"), dict):
            response.body["error"]["requestId"] = request_id
        origin = request.header("Origin")
        if origin is not None:
            for name, value in self.cors.headers(origin).items():
                response.headers.setdefault(name, value)
        if not request.path.startswith(ADMIN_PREFIX):
            self._record(request, response, request_id, seen, details, started)
        return response

    def _options(self, world: World, request: MockRequest) -> MockResponse:
        allowed = world.router.allowed_methods(request.path)
        if allowed is None:
            raise NotFoundError(f"No route matches OPTIONS {request.path}.")
        origin = request.header("Origin")
        method = request.header("Access-Control-Request-Method")
        if origin is not None and method is not None:
            if not self.cors.allows(origin):
                return render_error(
                    ApiError(
                        f"CORS: origin {origin!r} may not call this mock; "
                        "allow it with --cors-origin or AURALYTIK_MOCK_CORS_ORIGINS.",
                        code="CORS_ORIGIN_NOT_ALLOWED",
                    ),
                    "",
                    status=403,
                )
            answer = self.cors.preflight(origin, method, request.header("Access-Control-Request-Headers"), allowed)
            if answer is None:
                raise MethodNotAllowedError(
                    f"CORS: {method} is not allowed on {request.path}; allowed: {', '.join(allowed)}.",
                    allowed=allowed,
                )
            return answer
        return MockResponse(204, None, {"Allow": ", ".join(allowed)})

    def _api(self, world: World, request: MockRequest, seen: _Seen, request_id: str = "") -> MockResponse:
        match = world.router.match(request.method, request.path)
        op = seen.operation = match.operation
        delay = self._latency()
        fault = self.faults.take(request.method, op, request.path)
        if fault is not None:
            delay += fault.delay_ms / 1000
            if fault.drop:
                return MockResponse(0, None, delay=delay, drop_connection=True)
            if fault.status is not None:
                raise forced_error(op, fault.status, f"Forced by fault rule {fault.id}.", delay)
        principal: Principal | None = None
        if op.security:
            if self.config.enforce_auth:
                principal = seen.principal = authenticate(request.header("Authorization"), world.store.lookup_key)
                authorize(op, principal)
            else:
                principal = seen.principal = self._lenient_principal(world, request)
        prefer = request.header("Prefer")
        if prefer:
            status, prefer_delay = parse_prefer(op, prefer)
            delay += prefer_delay
            if status is not None:
                raise forced_error(op, status, f"Forced by 'Prefer: code={status}'.", delay)
        valid = world.validator.validate(op, request, match.path_params)
        seen.body, seen.body_parsed = valid.body, True
        handler = world.handlers[op.operation_id]
        if principal is None:
            principal = world.store.first_principal()
        response = handler(Call(op, principal, valid, self.now(), request_id))
        response.delay += delay
        return response

    def _lenient_principal(self, world: World, request: MockRequest) -> Principal:
        header = request.header("Authorization") or ""
        token = header.partition(" ")[2].strip()
        known = world.store.lookup_key(token) if token else None
        base = known or world.store.first_principal()
        return Principal(base.key, base.client_id, frozenset({"*"}), base.namespace)

    def _latency(self) -> float:
        low, high = self.config.latency_ms
        if high <= 0:
            return 0.0
        return random.uniform(low, high) / 1000

    def _self_check(self, world: World, op: Operation, response: MockResponse, request_id: str) -> MockResponse:
        headers = {**response.headers, "X-Request-Id": request_id}
        problems = world.checker.violations(op, response.status, response.body, headers)
        if not problems:
            return response
        log.error("contract violation in %s %s: %s", op.method, op.path, "; ".join(problems))
        error = ContractViolationError(
            f"The mock was about to answer outside openapi.yaml ({op.operation_id}, {response.status}).",
            details=[Violation("response", p) for p in problems],
        )
        return render_error(error, request_id)

    def _record(
        self,
        request: MockRequest,
        response: MockResponse,
        request_id: str,
        seen: _Seen,
        details: tuple[Violation, ...],
        started: float,
    ) -> None:
        op, principal = seen.operation, seen.principal
        elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
        if self.config.access_log:
            self.access_log.add(request.method, request.path, response.status, elapsed_ms, request_id)
        # The body as the handler saw it; one that was not validated is decoded strictly
        # here (JSON), or kept as text when it is not JSON.
        body: Json = seen.body
        if not seen.body_parsed and request.body:
            try:
                body = decode_json(request.body)  # strict and depth-safe: never raises anything else
            except ApiError:
                body = request.body[:JOURNAL_BODY_CHARS].decode("utf-8", "replace")
        authorization = request.header("Authorization")
        self.journal.add(
            {
                "id": request_id,
                "_at": time.time(),
                "method": request.method,
                "path": request.path,
                "query": {k: list(v) for k, v in request.query.items()},
                "operationId": op.operation_id if op else None,
                "apiKey": mask_key(authorization.partition(" ")[2].strip()) if authorization else None,
                "clientId": principal.client_id if principal else None,
                "session": principal.namespace if principal else None,
                "body": body,
                "status": response.status,
                "errorCode": response.body["error"].get("code")
                if isinstance(response.body, dict) and isinstance(response.body.get("error"), dict)
                else None,
                "validationErrors": [v.as_json() for v in details],
                "durationMs": elapsed_ms,
            }
        )

    # -- hot reload ------------------------------------------------------------------

    def watched_files(self) -> list[Path]:
        """The spec and every fixture file (what ``--watch`` polls)."""
        files = [self.config.resolved_spec_path]
        try:
            files += fixture_files(self.config.resolved_fixtures)
        except Exception:  # a folder vanished mid-edit: watch what is left
            pass
        return files

    def reload(self) -> bool:
        """Rebuild from spec and fixtures; on any error keep serving the last good version.

        :return: whether the new version is now served.
        """
        try:
            world = build_world(self.config)
        except Exception as exc:
            log.error("reload failed, still serving the last good version: %s", exc)
            return False
        self.world = world
        self.journal.clear()
        log.warning("reloaded %s and fixtures: state reset to the fixtures", self.config.resolved_spec_path)
        return True

    def start_watching(self, interval: float = 0.5) -> None:
        """Poll the watched files every ``interval`` seconds and reload on change."""
        self._watcher.interval = interval
        self._watcher.start()

    def close(self) -> None:
        """Stop the watcher and access-log threads, if any, and write pending log lines."""
        self._watcher.stop()
        self.access_log.close()
