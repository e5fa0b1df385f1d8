"""The sandbox around the pipeline: the ``Engine`` a server, ``MockServer``, ``create_app``
and ``verify`` drive.

Owns: the ``Engine`` (``auralytik_mock.Engine``): the current ``World`` and swapping it on
reload (``--watch``), the datasets' state that outlives a world (sessions, their journals,
fault rules and pinned clocks), mounting the admin API under ``/__mock``, the Host/Origin
guard, ``--persist``; the engine's ``events`` (``core/events.py``), ``webhooks`` and
``deliverer``, and the order of what ``handle`` does around the pipeline. When the
``scheduler``'s tasks run (a pinned clock set or advanced, the ticker thread) is
``harness.timekeeper``'s; the journal entry and access-log line of every API call,
``harness.recording``'s.
No Flask, no socket.
May import: ``core`` (pipeline, cors, errors, events, journal, faults, fixtures, handlers,
scheduler, spec, store, types, webhooks), ``config``, ``harness.deliveries``, ``harness.guard``,
``harness.persist``, ``harness.recording``, ``harness.timekeeper``, ``harness.watch``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..config import Config
from ..core.cors import Cors
from ..core.errors import (
    ApiError,
    AuralytikMockError,
    FixtureError,
    MethodNotAllowedError,
    NotFoundError,
    Violation,
    render_error,
)
from ..core.events import Events
from ..core.faults import FaultRules
from ..core.fixtures import fixture_files
from ..core.handlers import HookRegistry
from ..core.journal import AccessLog, Journal, escape_control
from ..core.pipeline import Pipeline, Seen, build_world, new_request_id, now_text
from ..core.scheduler import Scheduler
from ..core.spec import Spec
from ..core.store import DEFAULT_NAMESPACE, Store
from ..core.types import MockRequest, MockResponse
from ..core.webhooks import WebhookRegistry
from .deliveries import Deliverer
from .guard import Guard
from .persist import Persister
from .recording import record
from .timekeeper import Timekeeper
from .watch import Watcher

log = logging.getLogger("auralytik_mock")

ADMIN_PREFIX = "/__mock"
_READS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Answers a request under ``ADMIN_PREFIX`` (``admin.handle``, mounted by ``create_app``).
AdminHandler = Callable[["Engine", MockRequest], MockResponse]


class SessionState:
    """What the admin API sets for one dataset (the default one or a session): its
    journal, its fault rules and its pinned clock. What one session sets, consumes or
    clears never touches another."""

    def __init__(self, config: Config) -> None:
        self.journal = Journal(config.journal_size)
        self.faults = FaultRules(config.max_fault_rules)
        self.clock: str | None = config.clock


class Engine:
    """The mock itself, without HTTP: build it from a ``Config``, feed it requests.

    Example::

        engine = Engine(Config())
        response = engine.handle(MockRequest("GET", "/v1/engagements",
                                             headers={"authorization": "Bearer YOUR_API_KEY"}))
        assert response.status == 200
    """

    def __init__(
        self, config: Config | None = None, hooks: HookRegistry | None = None, *, admin: AdminHandler | None = None
    ) -> None:
        """:param admin: answers ``/__mock`` (``admin.handle``; ``create_app`` passes it); ``None``: 404."""
        self.config = config or Config()
        #: The hooks this engine binds (``None``: ``@handles``' default registry), at start
        #: and on every reload.
        self.hooks = hooks
        self.world = build_world(self.config, hooks)
        self.pipeline = Pipeline(self.config, self)
        self.guard = Guard(self.config)
        self.access_log = AccessLog()
        self._sessions: dict[str, SessionState] = {DEFAULT_NAMESPACE: SessionState(self.config)}
        #: When the scheduler's tasks run: pinned clocks set and advanced, the ticker thread.
        self.timekeeper = Timekeeper(self)
        #: Work that waits on the clock (``engine.scheduler.register/schedule``, ``call.scheduler``).
        self.scheduler: Scheduler = self.timekeeper.scheduler
        #: What happened (``engine.events.emit``, ``call.events``); webhooks listen.
        self.events: Events = Events(self.now)
        #: Each dataset's webhooks (``x-mock-webhooks``); it hears every event.
        self.webhooks: WebhookRegistry = WebhookRegistry(self.scheduler)
        self.events.listen(self.webhooks.hear)
        #: Sends the webhooks' deliveries (its worker pool starts with the first one).
        self.deliverer = Deliverer(self)
        self.admin = admin
        self.persister: Persister | None = None
        if self.config.persist is not None:
            self.persister = Persister(self, self.config.persist)
            self.persister.load()
            for namespace in self.scheduler.namespaces():  # tasks saved before the restart
                self.timekeeper.task_scheduled(namespace)
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

    @property
    def config(self) -> Config:
        """The settings the engine was built from."""
        return self._config

    @config.setter
    def config(self, config: Config) -> None:
        self._config = config
        if hasattr(self, "pipeline"):
            self.pipeline.config = config

    @property
    def settlers(self) -> list[Callable[[str], object]]:
        """What an advance waits for after each task it runs (``timekeeper.settlers``: a
        webhook delivery's attempts); append to it."""
        return self.timekeeper.settlers

    @property
    def cors(self) -> Cors:
        """The CORS policy of the spec's paths."""
        return self.pipeline.cors

    # -- what the pipeline asks (``core.pipeline.Datasets``) ------------------------------

    def has_fault_rules(self) -> bool:
        return len(self._sessions) > 1 or bool(self.faults)

    def fault_rules(self, namespace: str) -> FaultRules | None:
        state = self._sessions.get(namespace)
        return state.faults if state is not None else None

    def pinned_clock(self, namespace: str) -> str | None:
        state = self._sessions.get(namespace)
        return state.clock if state is not None else self.config.clock

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
        self.scheduler.drop(namespace)
        self.events.drop(namespace)
        self.webhooks.drop(namespace)

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
        return self.pinned_clock(namespace) or now_text()

    def set_clock(self, now: str | None, namespace: str = DEFAULT_NAMESPACE) -> None:
        """Pin ``namespace``'s clock at ``now`` (RFC 3339 in UTC, ending in ``Z``), or free it (``None``).

        :raises InvalidRequestError: ``now`` is not such a time.
        :raises NotFoundError: no such session.
        """
        self.timekeeper.set_clock(now, namespace)

    def advance_clock(self, seconds: int, namespace: str = DEFAULT_NAMESPACE) -> str:
        """Move ``namespace``'s pinned clock ``seconds`` forward; returns the new now.

        The one place the harness moves time (``PUT /__mock/clock {"advanceSeconds": N}``,
        ``MockServer.advance``): work that waits on the mock's time hooks in here.

        :raises InvalidRequestError: ``seconds`` is not a whole number from 0 to
            ``MAX_ADVANCE_SECONDS`` (``harness/timekeeper.py``).
        :raises ConflictError: the clock is not pinned (409 ``CLOCK_NOT_PINNED``).
        :raises NotFoundError: no such session.
        """
        return self.timekeeper.advance_clock(seconds, namespace)

    def run_due_tasks(self, namespace: str = DEFAULT_NAMESPACE) -> int:
        """Run ``namespace``'s due tasks now, without waiting for the ticker; returns how many ran."""
        return self.timekeeper.run_due_tasks(namespace)

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
        self.scheduler.drop(namespace)
        self.events.drop(namespace)
        self.webhooks.drop(namespace)
        if self.persister is not None:
            self.persister.changed()

    def render(self, error: ApiError) -> MockResponse:
        """An error answer with a fresh request id (for errors found outside ``handle``)."""
        request_id = new_request_id()
        response = self.world.errors.render(error, request_id)
        response.headers["X-Request-Id"] = request_id
        return response

    # -- the pipeline ----------------------------------------------------------------

    def handle(self, request: MockRequest) -> MockResponse:
        """Answer one request. Never raises: every error is rendered in the envelope."""
        started = time.perf_counter()
        request_id = new_request_id()
        world = self.world
        seen = Seen()
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
            else:
                response = self.pipeline.answer(world, request, seen, request_id)
        except ApiError as error:
            details, seen.error_code = error.details, error.code
            response = world.errors.render(error, request_id, seen.operation)
        except Exception:  # a bug in the mock: answer 500 in the envelope, and say so in the log
            log.exception(
                "unexpected error answering %s %s (request %s)",
                escape_control(request.method),
                escape_control(request.path),
                request_id,
            )
            response = world.errors.render(
                ApiError("An unexpected error occurred in the mock."), request_id, seen.operation
            )
        # Every API answer waits the same (errors too); preflights and /__mock never do.
        response.delay += seen.delay
        op = seen.operation
        if op is not None and self.config.validate_responses and not response.drop_connection:
            response = self.pipeline.self_check(world, op, response, request_id)
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
            record(self, request, response, request_id, seen, details, started)
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

    # -- hot reload ------------------------------------------------------------------

    def watched_files(self) -> list[Path]:
        """The spec and every fixture file (what ``--watch`` polls)."""
        files = [self.config.resolved_spec_path]
        try:
            files += fixture_files(self.world.fixture_paths)
        except (OSError, FixtureError):  # a folder vanished mid-edit: watch what is left
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
            world = build_world(self.config, self.hooks)
        except (AuralytikMockError, OSError) as exc:  # the user's edit: say what and where
            log.error("reload failed, still serving the last good version: %s", exc)
            return False
        except Exception:  # a bug in the mock: its traceback, and the sandbox keeps serving
            log.exception("reload failed (a bug in auralytik-mock), still serving the last good version")
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
        if not self.config.watch:
            self.config = self.config.with_options(watch=True)
        self._watcher.interval = interval
        self._watcher.start()

    @contextmanager
    def auth_disabled(self) -> Iterator[None]:
        """Within the block, API keys and scopes are not checked (``MockServer.auth_disabled``)."""
        previous = self.config
        self.config = previous.with_options(enforce_auth=False)
        try:
            yield
        finally:
            self.config = previous

    def close(self) -> None:
        """Stop the watcher and access-log threads, if any, and write pending log lines."""
        self._watcher.stop()
        self.timekeeper.close()
        self.deliverer.close()
        if self.persister is not None:
            self.persister.close()
        self.access_log.close()
