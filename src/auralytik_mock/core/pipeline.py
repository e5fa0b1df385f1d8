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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..config import Config
from ..harness.guard import Guard
from ..harness.persist import Persister
from ..harness.watch import Watcher, files_digest
from .auth import Authenticator, authorize, bearer_token
from .cors import Cors
from .errors import (
    ApiError,
    ConflictError,
    ContractViolationError,
    InvalidRequestError,
    MethodNotAllowedError,
    NotFoundError,
    Violation,
    render_error,
)
from .faults import FaultRules, forced_error, read_prefer
from .fixtures import FixtureLoader, fixture_files
from .handlers import Call, Handler, bind_handlers, hooked, store_rules
from .journal import JOURNAL_BODY_BYTES, AccessLog, Journal, escape_control, mask_key
from .resources import Resources, build_resources
from .routing import Match, Router
from .spec import Operation, Spec
from .store import DEFAULT_NAMESPACE, Store, timestamp
from .types import Json, MockRequest, MockResponse, Principal
from .validation import RequestValidator, ResponseChecker, SchemaSet, decode_json, is_rfc3339

log = logging.getLogger("auralytik_mock")

ADMIN_PREFIX = "/__mock"
#: The furthest one ``advance_clock`` call moves a pinned clock (ten years).
MAX_ADVANCE_SECONDS = 10 * 366 * 24 * 3600
_READS = frozenset({"GET", "HEAD", "OPTIONS"})

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
    auth: Authenticator
    #: The fixture files' digest when they were loaded (``reload`` compares it, not the seed).
    fixtures_digest: str = ""


def build_world(config: Config) -> World:
    """Load and check spec and fixtures, compile validators, bind handlers.

    :raises SpecError: the spec cannot drive the mock.
    :raises FixtureError: a fixture is not valid.
    """
    spec = Spec.load(config.resolved_spec_path)
    schemas = SchemaSet(spec)
    resources = build_resources(spec, hooked())
    loader = FixtureLoader(
        schemas,
        resources.kinds(),
        spec.scopes,
        rules=store_rules(resources),
        extras=resources.extras(),
        now=config.clock,
    )
    # Taken before the files are read: an edit made meanwhile shows as a change next time.
    digest = files_digest(fixture_files(config.resolved_fixtures))
    seed = loader.load_paths(config.resolved_fixtures)
    store = Store(seed, max_sessions=config.max_sessions, rules=store_rules(resources))
    return World(
        spec=spec,
        schemas=schemas,
        router=Router(spec.served, spec.base_paths),
        validator=RequestValidator(spec, schemas, config.max_body_bytes),
        checker=ResponseChecker(spec, schemas),
        handlers=bind_handlers(spec, resources, store),
        resources=resources,
        loader=loader,
        store=store,
        auth=Authenticator(spec, window=config.signature_window, reject_replays=config.reject_replays),
        fixtures_digest=digest,
    )


@dataclass
class _Seen:
    """What the pipeline learned before it answered (for the journal and the self-check)."""

    operation: Operation | None = None
    principal: Principal | None = None
    body: Json = None
    body_parsed: bool = False
    #: Seconds every answer to this API call waits (latency, ``Prefer: delay=``, fault rules).
    delay: float = 0.0
    namespace: str = DEFAULT_NAMESPACE


class SessionState:
    """What the admin API sets for one dataset (the default one or a session): its
    journal, its fault rules and its pinned clock. What one session sets, consumes or
    clears never touches another."""

    def __init__(self, config: Config) -> None:
        self.journal = Journal(config.journal_size)
        self.faults = FaultRules(config.max_fault_rules)
        self.clock: str | None = config.clock


def _new_request_id() -> str:
    # Not os.urandom: a getrandom() syscall per request for nothing. A request id must be
    # unique enough to find a request in a log, not unpredictable.
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
        self.guard = Guard(self.config)
        self.access_log = AccessLog()
        self._sessions: dict[str, SessionState] = {DEFAULT_NAMESPACE: SessionState(self.config)}
        self._clock_lock = threading.Lock()  # two advances at once both count
        self.admin: AdminHandler | None = None
        self.persister: Persister | None = None
        if self.config.persist is not None:
            self.persister = Persister(self, self.config.persist)
            self.persister.load()
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

    def session(self, namespace: str = DEFAULT_NAMESPACE) -> SessionState:
        """The journal, fault rules and clock of ``namespace`` (the default dataset or a session).

        :raises NotFoundError: no such session.
        """
        found = self._sessions.get(namespace)
        if found is None:
            if namespace not in self.store.sessions():
                raise NotFoundError(f"No session {namespace!r}.")
            found = self._sessions.setdefault(namespace, SessionState(self.config))
        return found

    def drop_session(self, namespace: str) -> None:
        """Delete session ``namespace``: its data, keys, journal, rules and clock.

        :raises NotFoundError: no such session.
        """
        self.store.delete_session(namespace)
        self._sessions.pop(namespace, None)

    @property
    def journal(self) -> Journal:
        """The default dataset's journal."""
        return self._sessions[DEFAULT_NAMESPACE].journal

    @property
    def faults(self) -> FaultRules:
        """The default dataset's fault rules."""
        return self._sessions[DEFAULT_NAMESPACE].faults

    @property
    def clock(self) -> str | None:
        """The default dataset's pinned clock (``None``: real time)."""
        return self._sessions[DEFAULT_NAMESPACE].clock

    @clock.setter
    def clock(self, value: str | None) -> None:
        self._sessions[DEFAULT_NAMESPACE].clock = value

    def now(self, namespace: str = DEFAULT_NAMESPACE) -> str:
        """Now, as the handlers of ``namespace`` see it: its pinned clock or the real UTC time, to the second."""
        state = self._sessions.get(namespace)
        return (state.clock if state is not None else self.config.clock) or _now_text()

    def set_clock(self, now: str | None, namespace: str = DEFAULT_NAMESPACE) -> None:
        """Pin ``namespace``'s clock at ``now`` (RFC 3339 in UTC, ending in ``Z``), or free it (``None``).

        :raises InvalidRequestError: ``now`` is not such a time.
        :raises NotFoundError: no such session.
        """
        if now is not None and not (isinstance(now, str) and now.endswith("Z") and is_rfc3339(now)):
            raise InvalidRequestError(
                "The clock takes an RFC 3339 UTC time such as 2024-01-01T00:00:00Z, or null.",
                details=[Violation("body.now", "must be an RFC 3339 time in UTC (ending in Z), or null")],
            )
        self.session(namespace).clock = now

    def advance_clock(self, seconds: int, namespace: str = DEFAULT_NAMESPACE) -> str:
        """Move ``namespace``'s pinned clock ``seconds`` forward; returns the new now.

        The one place the harness moves time (``PUT /__mock/clock {"advanceSeconds": N}``,
        ``MockServer.advance``): work that waits on the mock's time hooks in here.

        :raises InvalidRequestError: ``seconds`` is not a whole number from 0 to
            ``MAX_ADVANCE_SECONDS``.
        :raises ConflictError: the clock is not pinned (409 ``CLOCK_NOT_PINNED``).
        :raises NotFoundError: no such session.
        """
        if not isinstance(seconds, int) or isinstance(seconds, bool) or not 0 <= seconds <= MAX_ADVANCE_SECONDS:
            raise InvalidRequestError(
                f"The clock moves forward by a whole number of seconds, 0 to {MAX_ADVANCE_SECONDS}.",
                details=[Violation("body.advanceSeconds", f"must be an integer from 0 to {MAX_ADVANCE_SECONDS}")],
            )
        state = self.session(namespace)
        with self._clock_lock:
            if state.clock is None:
                raise ConflictError(
                    'The clock runs in real time; pin it first (PUT /__mock/clock {"now": "2024-01-01T00:00:00Z"}'
                    ", MockServer.set_clock), then move it forward.",
                    code="CLOCK_NOT_PINNED",
                )
            moved = datetime.fromisoformat(state.clock.upper().replace("Z", "+00:00")) + timedelta(seconds=seconds)
            state.clock = moved.astimezone(UTC).isoformat().replace("+00:00", "Z")
            return state.clock

    def reset(self, namespace: str = DEFAULT_NAMESPACE) -> None:
        """Back to the fixtures for ``namespace`` only: data, journal, fault rules and clock.

        :raises NotFoundError: no such session.
        """
        state = self.session(namespace)
        world = self.world  # once: a reload meanwhile must not split the reset between two worlds
        world.store.reset(namespace)
        world.auth.replays.clear(namespace)
        state.journal.clear()
        state.faults.remove()
        state.clock = self.config.clock
        if self.persister is not None:
            self.persister.changed()

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
        is_admin = request.path == ADMIN_PREFIX or request.path.startswith(ADMIN_PREFIX + "/")
        if self.persister is not None:
            self.persister.ensure_running()
        try:
            self.guard.check_host(request)
            if is_admin:
                if self.admin is None:
                    raise NotFoundError(f"No route matches {request.method} {request.path}.")
                self.guard.check_admin(request)
                preflight = self._admin_preflight(request)
                response = preflight if preflight is not None else self.admin(self, request)
            elif request.method == "OPTIONS":
                response = self._options(world, request)
            else:
                response = self._api(world, request, seen, request_id)
        except ApiError as error:
            details = error.details
            response = render_error(error, request_id)
        except Exception:  # a bug in the mock: answer 500 in the envelope, and say so in the log
            log.exception(
                "unexpected error answering %s %s (request %s)",
                escape_control(request.method),
                escape_control(request.path),
                request_id,
            )
            response = render_error(ApiError("An unexpected error occurred in the mock."), request_id)
        # Every API answer waits the same (errors too); preflights and /__mock never do.
        response.delay += seen.delay
        op = seen.operation
        if op is not None and self.config.validate_responses and not response.drop_connection:
            response = self._self_check(world, op, response, request_id)
        response.headers["X-Request-Id"] = request_id
        if isinstance(response.body, dict) and isinstance(response.body.get("error"), dict):
            response.body["error"]["requestId"] = request_id
        origin = request.header("Origin")
        if origin is not None:
            cors = self.guard.admin_cors if is_admin else self.cors
            for name, value in cors.headers(origin).items():
                response.headers.setdefault(name, value)
        if self.persister is not None and request.method not in _READS and 200 <= response.status < 300:
            self.persister.changed()  # a success that may have written: save within a second
        if not is_admin:
            self._record(request, response, request_id, seen, details, started)
        return response

    def _admin_preflight(self, request: MockRequest) -> MockResponse | None:
        """A preflight from an origin named with ``--cors-origin`` (``check_admin`` let it through)."""
        origin = request.header("Origin")
        method = request.header("Access-Control-Request-Method")
        if request.method != "OPTIONS" or origin is None or method is None:
            return None
        if not self.guard.admin_cors.allows(origin):
            return None  # same origin: browsers do not preflight, so this is no preflight
        allowed = ["GET", "POST", "PUT", "DELETE"]
        return self.guard.admin_cors.preflight(
            origin, method, request.header("Access-Control-Request-Headers"), allowed
        ) or render_error(MethodNotAllowedError(f"CORS: {method} is not used on /__mock.", allowed=allowed), "")

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
        # Latency first, so that every answer waits alike: 404, 405, 401, 403 and 400
        # included (a client's loading state shows on its error paths too).
        seen.delay = self._latency()
        prefer_text = request.header("Prefer")
        prefer = read_prefer(prefer_text) if prefer_text else None
        if prefer is not None:
            seen.delay += prefer.delay
        match = world.router.match(request.method, request.path)
        op = seen.operation = match.operation
        fault = None
        if len(self._sessions) > 1 or self.faults:  # no rule anywhere: no key lookup either
            seen.namespace = self._namespace_of(world, request)
            state = self._sessions.get(seen.namespace)
            fault = state.faults.take(request.method, op, request.path) if state is not None else None
        if fault is not None:
            seen.delay += fault.delay_ms / 1000
            if fault.drop:
                return MockResponse(0, None, drop_connection=True)
            if fault.status is not None:
                raise world.auth.forced(
                    op, self._forced(world, request, match, fault.status, f"faultRule.{fault.id}", None)
                )
        principal: Principal | None = None
        if op.security:
            if self.config.enforce_auth:
                principal = seen.principal = world.auth.authenticate(
                    op, request, world.store.lookup_key, self._now_seconds
                )
                authorize(op, principal, lambda scope: world.auth.forbidden_challenge(op, scope))
            else:
                principal = seen.principal = self._lenient_principal(world, request)
        if prefer is not None:
            status = prefer.forced_status(op)
            if status is not None:
                raise world.auth.forced(op, self._forced(world, request, match, status, "header.Prefer", principal))
        valid = world.validator.validate(op, request, match.path_params)
        seen.body, seen.body_parsed = valid.body, True
        handler = world.handlers[op.operation_id]
        if principal is None:
            principal = world.store.first_principal()
        return handler(Call(op, principal, valid, self.now(principal.namespace), request_id))

    def _forced(
        self, world: World, request: MockRequest, match: Match, status: int, source: str, principal: Principal | None
    ) -> ApiError:
        """A forced error, rendered from this request as a real one would be (``source``:
        ``header.Prefer`` or ``faultRule.<id>``, what forced it)."""
        authorization = request.header("Authorization")
        if principal is None or "*" in principal.scopes:  # a rule acts before auth; --no-auth grants "*"
            token = bearer_token(authorization) or (request.header("X-Api-Key") or "").strip()
            principal = world.store.lookup_key(token) if token else None
        rule = source.removeprefix("faultRule.")
        why = f"forced by fault rule {rule}" if rule != source else f"forced by 'Prefer: code={status}'"
        return forced_error(
            match.operation,
            status,
            why,
            source=source,
            principal=principal,
            authorization=authorization,
            unauthenticated=world.auth.unauthenticated(match.operation, request) if status == 401 else None,
            path_params=match.path_params,
            max_body_bytes=self.config.max_body_bytes,
        )

    def _now_seconds(self, principal: Principal) -> int:
        """Now in Unix seconds for a signed request's timestamp window (its dataset's pinned clock, if any)."""
        state = self._sessions.get(principal.namespace)
        pinned = state.clock if state is not None else self.config.clock
        return int(timestamp(pinned)) if pinned else int(time.time())

    @staticmethod
    def _namespace_of(world: World, request: MockRequest) -> str:
        """The dataset a request's API key leads into (the default one for no or an unknown key)."""
        header = request.header("Authorization")
        token = header.partition(" ")[2].strip() if header else (request.header("X-Api-Key") or "").strip()
        if not token:
            return DEFAULT_NAMESPACE
        known = world.store.lookup_key(token)
        return known.namespace if known is not None else DEFAULT_NAMESPACE

    def _lenient_principal(self, world: World, request: MockRequest) -> Principal:
        header = request.header("Authorization") or ""
        token = header.partition(" ")[2].strip() or (request.header("X-Api-Key") or "").strip()
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
        # What the client waits: the mock's own time and the delay injected after it.
        delay_ms = round(response.delay * 1000, 3)
        elapsed_ms = round((time.perf_counter() - started) * 1000 + delay_ms, 3)
        if self.config.access_log:
            self.access_log.add(request.method, request.path, response.status, elapsed_ms, request_id)
        # The body is kept as bytes (cut at JOURNAL_BODY_BYTES), never as a parsed tree;
        # whether it is a whole JSON document is decided here, once. Only bytes that
        # ``decode_json`` read are marked as JSON: the journal splices them in verbatim, so a
        # body nobody decoded (a GET's, an operation without a request body) must never be
        # (it forged journal entries and broke the journal's JSON).
        raw = request.body
        body_json = bool(raw) and seen.body_parsed and seen.body is not None
        if raw and not body_json and len(raw) <= JOURNAL_BODY_BYTES:
            try:
                decode_json(raw)  # strict and depth-safe: never raises anything else
                body_json = True
            except ApiError:
                pass
        namespace = principal.namespace if principal else self._namespace_of(self.world, request)
        # A session's journal from its first request on (its state is made on first use).
        try:
            state = self.session(namespace)
        except NotFoundError:  # deleted meanwhile: the call is the default dataset's to show
            state = self._sessions[DEFAULT_NAMESPACE]
        authorization = request.header("Authorization")
        api_key = request.header("X-Api-Key")
        state.journal.add(
            {
                "id": request_id,
                "_at": time.time(),
                "method": request.method,
                "path": request.path,
                "query": {k: list(v) for k, v in request.query.items()},
                "operationId": op.operation_id if op else None,
                "apiKey": mask_key(authorization.partition(" ")[2].strip())
                if authorization
                else (mask_key(api_key.strip()) if api_key else None),
                "clientId": principal.client_id if principal else None,
                "session": namespace,
                "status": response.status,
                "errorCode": response.body["error"].get("code")
                if isinstance(response.body, dict) and isinstance(response.body.get("error"), dict)
                else None,
                "validationErrors": [v.as_json() for v in details],
                "durationMs": elapsed_ms,
                "delayMs": delay_ms,
            },
            raw,
            body_json,
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

        Every session keeps its data, keys, journal, fault rules and clock; the new spec
        applies to them. The default dataset keeps its data too unless the fixture files'
        content changed (then it starts from the new fixtures): a spec-only edit, or a
        touch, never resets data.

        :return: whether the new version is now served.
        """
        try:
            world = build_world(self.config)
        except Exception as exc:
            log.error("reload failed, still serving the last good version: %s", exc)
            return False
        old = self.world
        # The fixture files' bytes decide, not the seeds: records that omit ``createdAt`` are
        # stamped at loading, so two loads of the same files never give equal seeds (a
        # spec-only edit used to wipe the data).
        fixtures_changed = world.fixtures_digest != old.fixtures_digest
        kept = world.store.adopt(old.store, keep_default=not fixtures_changed)
        self.world = world
        log.info(
            "reloaded %s and fixtures: %s; %d session(s) kept with their data (the new spec applies)",
            self.config.resolved_spec_path,
            "the fixtures changed, default state reset to the fixtures"
            if fixtures_changed
            else "the fixtures did not change, default state kept",
            kept,
        )
        if self.persister is not None:
            self.persister.changed()
        return True

    def start_watching(self, interval: float = 0.5) -> None:
        """Poll the watched files every ``interval`` seconds and reload on change."""
        self._watcher.interval = interval
        self._watcher.start()

    def close(self) -> None:
        """Stop the watcher and access-log threads, if any, and write pending log lines."""
        self._watcher.stop()
        if self.persister is not None:
            self.persister.close()
        self.access_log.close()
