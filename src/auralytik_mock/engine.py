"""The request pipeline: one ``MockRequest`` in, one ``MockResponse`` out.

Owns: the order of the steps (route -> faults -> authenticate -> authorize ->
``Prefer`` -> validate -> handler -> self-check), rendering every error in the
vendor's envelope, request ids, CORS headers, latency, the request journal, fault
rules, and hot reload of spec and fixtures.
No Flask: ``app.py`` adapts this to WSGI.
May import: every layer-1 module, ``config``, ``spec``, ``errors``, ``types``.
"""

from __future__ import annotations

import logging
import random
import re
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import admin
from .auth import authenticate, authorize, challenge
from .config import Config
from .cors import Cors
from .errors import (
    ApiError,
    ContractViolationError,
    ForcedError,
    InvalidRequestError,
    MethodNotAllowedError,
    NotFoundError,
    Violation,
)
from .fixtures import FixtureLoader, fixture_files
from .handlers import Call, Handler, bind_handlers, resource_kinds
from .routing import Router
from .spec import Operation, Spec
from .store import Store
from .types import Json, MockRequest, MockResponse, Principal
from .validation import RequestValidator, ResponseChecker, SchemaSet, decode_json

log = logging.getLogger("auralytik_mock")

ADMIN_PREFIX = "/__mock"
#: How much of a body that did not validate the journal keeps.
JOURNAL_BODY_CHARS = 65536
#: ``Retry-After`` when a 429 is forced without one.
DEFAULT_RETRY_AFTER = 30
#: Longest delay a ``Prefer: delay=`` or a rule may add, in milliseconds.
MAX_DELAY_MS = 60_000
_PREFER = re.compile(r"\s*([A-Za-z-]+)\s*=\s*\"?([^\",;]*)\"?\s*")


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
    store: Store


def build_world(config: Config) -> World:
    """Load and check spec and fixtures, compile validators, bind handlers.

    :raises SpecError: the spec cannot drive the mock.
    :raises FixtureError: a fixture is not valid.
    """
    spec = Spec.load(config.resolved_spec_path)
    schemas = SchemaSet(spec)
    loader = FixtureLoader(schemas, resource_kinds(), spec.scopes)
    seed = loader.load_paths(config.resolved_fixtures)
    store = Store(seed, max_sessions=config.max_sessions)
    return World(
        spec=spec,
        schemas=schemas,
        router=Router(spec.operations),
        validator=RequestValidator(spec, schemas, config.max_body_bytes),
        checker=ResponseChecker(spec, schemas),
        handlers=bind_handlers(spec, store),
        loader=loader,
        store=store,
    )


@dataclass
class FaultRule:
    """A fault the admin API set up: answer ``status``, add ``delay_ms``, or drop the connection,
    for the next ``times`` matching calls (``None``: until removed)."""

    id: str
    method: str
    path: str
    status: int | None = None
    delay_ms: int = 0
    drop: bool = False
    times: int | None = None
    hits: int = 0

    def matches(self, method: str, op: Operation, path: str) -> bool:
        return (self.method in {"*", method}) and self.path in {op.path, path}

    def as_json(self) -> dict[str, Json]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "delayMs": self.delay_ms,
            "drop": self.drop,
            "times": self.times,
            "hits": self.hits,
        }


@dataclass
class _Seen:
    """What the pipeline learned before it answered (for the journal and the self-check)."""

    operation: Operation | None = None
    principal: Principal | None = None
    body: Json = None
    body_parsed: bool = False


class Journal:
    """The last requests the mock answered, for tests to inspect.

    No lock of its own: ``deque(maxlen=...)`` drops the oldest entry itself, its appends
    are thread-safe, and ``copy()`` and ``clear()`` are single C calls.
    """

    def __init__(self, size: int) -> None:
        self.entries: deque[dict[str, Json]] = deque(maxlen=max(size, 0))

    def add(self, entry: dict[str, Json]) -> None:
        self.entries.append(entry)

    def clear(self) -> None:
        self.entries.clear()

    def snapshot(self) -> list[dict[str, Json]]:
        """Copies of the entries, oldest first, with ``time`` as RFC 3339 (formatted here, not per request)."""
        out = []
        for entry in self.entries.copy():
            shown = dict(entry)
            stamp = datetime.fromtimestamp(shown.pop("_at"), UTC)
            shown["time"] = stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            out.append(shown)
        return out


class AccessLog:
    """One line per answered request, written by a background thread in batches.

    Request threads only append a tuple: writing to stderr is a syscall that releases the
    GIL mid-request, and under granian's threads every release can start a GIL convoy
    (it halved throughput with the log on). Lines appear at most ``interval`` late; the
    thread starts on the first line, so it is born in the process that serves (granian
    forks its worker after the app is built).
    """

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self._pending: deque[tuple[float, str, str, int, float, str]] = deque()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._stop = threading.Event()

    def add(self, method: str, path: str, status: int, elapsed_ms: float, request_id: str) -> None:
        self._pending.append((time.time(), method, path, status, elapsed_ms, request_id))
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="auralytik-mock-access-log", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        """Write every pending line now."""
        lines = []
        while self._pending:
            at, method, path, status, elapsed_ms, request_id = self._pending.popleft()
            stamp = datetime.fromtimestamp(at).strftime("%H:%M:%S.%f")[:-3]
            lines.append(f"{stamp} {method} {path} {status} {elapsed_ms:.1f}ms {request_id}\n")
        if lines:
            sys.stderr.write("".join(lines))
            sys.stderr.flush()

    def close(self) -> None:
        """Stop the writer thread and write what is left."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=2)
        self.flush()


def mask_key(key: str) -> str:
    """Show enough of an API key to recognise it, not enough to use it."""
    return key[:3] + "..." + key[-4:] if len(key) > 10 else "***"


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
        self.faults: list[FaultRule] = []
        self._faults_lock = threading.Lock()
        self._fault_ids = 0
        self.clock = self.config.clock
        self._watcher: threading.Thread | None = None
        self._stop_watch = threading.Event()
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
        self.remove_faults()

    def add_fault(self, rule: FaultRule) -> FaultRule:
        """Add a fault rule; it gets the next ``fault_N`` id."""
        with self._faults_lock:
            self._fault_ids += 1
            rule.id = f"fault_{self._fault_ids}"
            self.faults.append(rule)
        return rule

    def remove_faults(self, rule_id: str | None = None) -> bool:
        """Remove the rule ``rule_id``, or every rule; returns whether anything was removed."""
        with self._faults_lock:
            before = len(self.faults)
            self.faults[:] = [r for r in self.faults if rule_id is not None and r.id != rule_id]
            return len(self.faults) != before

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
                response = admin.handle(self, request)
            elif request.method == "OPTIONS":
                response = self._options(world, request)
            else:
                response = self._api(world, request, seen)
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

    def _api(self, world: World, request: MockRequest, seen: _Seen) -> MockResponse:
        match = world.router.match(request.method, request.path)
        op = seen.operation = match.operation
        delay = self._latency()
        fault = self._fault(request, op)
        if fault is not None:
            delay += fault.delay_ms / 1000
            if fault.drop:
                return MockResponse(0, None, delay=delay, drop_connection=True)
            if fault.status is not None:
                raise self._forced(op, fault.status, f"Forced by fault rule {fault.id}.", delay)
        principal: Principal | None = None
        if op.security:
            if self.config.enforce_auth:
                principal = seen.principal = authenticate(request.header("Authorization"), world.store.lookup_key)
                authorize(op, principal)
            else:
                principal = seen.principal = self._lenient_principal(world, request)
        prefer = request.header("Prefer")
        if prefer:
            status, prefer_delay = self._prefer(op, prefer)
            delay += prefer_delay
            if status is not None:
                raise self._forced(op, status, f"Forced by 'Prefer: code={status}'.", delay)
        valid = world.validator.validate(op, request, match.path_params)
        seen.body, seen.body_parsed = valid.body, True
        handler = world.handlers[op.operation_id]
        if principal is None:
            principal = world.store.first_principal()
        response = handler(Call(op, principal, valid, self.now()))
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

    def _fault(self, request: MockRequest, op: Operation) -> FaultRule | None:
        if not self.faults:
            return None
        with self._faults_lock:
            for rule in self.faults:
                if rule.matches(request.method, op, request.path):
                    rule.hits += 1
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self.faults.remove(rule)
                    return rule
        return None

    def _prefer(self, op: Operation, prefer: str) -> tuple[int | None, float]:
        status: int | None = None
        delay = 0.0
        for part in re.split(r"[,;]", prefer):
            found = _PREFER.fullmatch(part)
            if not found:
                continue
            name, value = found.group(1).lower(), found.group(2).strip()
            if name == "code":
                if not value.isdigit() or not op.documents(int(value)):
                    documented = ", ".join(sorted(op.responses))
                    raise InvalidRequestError(
                        f"Prefer: code={value} is not documented for {op.operation_id}; documented: {documented}.",
                        details=[Violation("header.Prefer", f"code must be one of {documented}")],
                    )
                status = int(value)
            elif name == "delay":
                if not value.isdigit() or int(value) > MAX_DELAY_MS:
                    raise InvalidRequestError(
                        f"Prefer: delay={value} must be a whole number of milliseconds up to {MAX_DELAY_MS}.",
                        details=[Violation("header.Prefer", f"delay must be 0..{MAX_DELAY_MS} milliseconds")],
                    )
                delay = int(value) / 1000
        if status is not None and 200 <= status < 300:
            status = None  # the success answer is what the handler gives anyway
        return status, delay

    def _forced(self, op: Operation, status: int, why: str, delay: float) -> ForcedError:
        """An error of ``status`` shaped as ``op`` documents it (example code and message, headers)."""
        documented = op.response_for(status)
        example = documented.example if documented is not None and documented.has_example else None
        fields = example.get("error") if isinstance(example, dict) else None
        message = why
        extra: dict[str, Json] = {}
        headers: dict[str, str] = {}
        code = None
        if isinstance(fields, dict):
            code = fields.get("code")
            if isinstance(fields.get("message"), str):
                message = f"{fields['message']} ({why})"
            extra = {k: v for k, v in fields.items() if k not in {"code", "message", "requestId", "details"}}
        if status == 429:
            retry = extra.get("retryAfter", DEFAULT_RETRY_AFTER)
            extra["retryAfter"] = retry
            headers["Retry-After"] = str(retry)
        if status == 401:
            headers["WWW-Authenticate"] = challenge("invalid_token")
        if status == 403:
            headers["WWW-Authenticate"] = challenge("insufficient_scope", scope=" ".join(op.required_scopes))
        error = ForcedError(status, message, headers=headers, extra=extra)
        if isinstance(code, str):
            error.code = code
        error.delay = delay
        return error

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
        if self._watcher is not None:
            return

        def stamps() -> dict[Path, float]:
            out = {}
            for path in self.watched_files():
                try:
                    out[path] = path.stat().st_mtime
                except OSError:
                    out[path] = -1.0
            return out

        def loop() -> None:
            last = stamps()
            while not self._stop_watch.wait(interval):
                current = stamps()
                if current != last:
                    last = current
                    self.reload()

        self._watcher = threading.Thread(target=loop, name="auralytik-mock-watch", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        """Stop the watcher and access-log threads, if any, and write pending log lines."""
        self._stop_watch.set()
        if self._watcher is not None:
            self._watcher.join(timeout=2)
            self._watcher = None
        self.access_log.close()


def render_error(error: ApiError, request_id: str, status: int | None = None) -> MockResponse:
    """The one place an error becomes an answer: the vendor's envelope and the error's headers."""
    envelope: dict[str, Json] = {"code": error.code, "message": error.message, "requestId": request_id}
    if error.details:
        envelope["details"] = [v.as_json() for v in error.details]
    envelope.update(error.extra)
    headers = dict(error.headers)
    if isinstance(error, MethodNotAllowedError):
        headers["Allow"] = ", ".join(error.allowed)
    response = MockResponse(status or error.status, {"error": envelope}, headers)
    response.delay = error.delay
    return response
