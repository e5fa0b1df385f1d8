"""When the scheduler's tasks run: pinned clocks set and advanced, and the ticker.

Owns: the ``Timekeeper`` an ``Engine`` builds once (``engine.timekeeper``): the engine's
``scheduler`` (``core/scheduler.py``), with the ``x-mock-job`` step registered on it (run by
the world being served); setting and advancing a dataset's pinned clock (``Engine.set_clock``,
``Engine.advance_clock``, at most ``MAX_ADVANCE_SECONDS`` a call), which steps through the
tasks due meanwhile (the clock at each task's due time, in due order, waiting after each for
the work it started elsewhere: the ``settlers``); running a dataset's due tasks at once
(``Engine.run_due_tasks``); and one ticker thread (started with the first task, stopped by
``close``) that runs what is due on every other clock every ``TICK`` seconds.
No Flask, no socket.
May import: ``core`` (errors, jobs, pipeline, scheduler, store, types, validation); the engine
is passed in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ..core.errors import ConflictError, InvalidRequestError, Violation
from ..core.jobs import TASK as JOB_TASK
from ..core.pipeline import now_text
from ..core.scheduler import TICK, Scheduler, Task, parse_time
from ..core.store import DEFAULT_NAMESPACE
from ..core.types import Json
from ..core.validation import is_rfc3339

if TYPE_CHECKING:
    from .sandbox import Engine, SessionState

#: The furthest one ``advance_clock`` call moves a pinned clock (ten years).
MAX_ADVANCE_SECONDS = 10 * 366 * 24 * 3600


class Timekeeper:
    """Runs ``engine``'s scheduled tasks on its datasets' clocks (built once by the engine;
    ``close`` stops the ticker)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        #: Work that waits on the clock (``engine.scheduler``, ``call.scheduler``).
        self.scheduler = Scheduler(engine.now)
        self.scheduler.on_schedule = self.task_scheduled
        self.scheduler.register(JOB_TASK, self._job_step)  # x-mock-job's steps, on the current world
        #: Called with the namespace after each task an advance runs: waits for the work the
        #: task started elsewhere (a webhook delivery on its pool), so that its follow-up
        #: (a retry) is scheduled before the advance goes on.
        self.settlers: list[Callable[[str], object]] = []
        self._clock_lock = threading.Lock()
        self._ticker: threading.Thread | None = None
        self._ticker_stop = threading.Event()
        self._ticker_lock = threading.Lock()

    # -- pinned clocks ---------------------------------------------------------------

    def set_clock(self, now: str | None, namespace: str = DEFAULT_NAMESPACE) -> None:
        """``Engine.set_clock``: pin ``namespace``'s clock at ``now``, or free it (``None``)."""
        if now is not None and not (isinstance(now, str) and now.endswith("Z") and is_rfc3339(now)):
            raise InvalidRequestError(
                "The clock takes an RFC 3339 UTC time such as 2024-01-01T00:00:00Z, or null.",
                details=[Violation("body.now", "must be an RFC 3339 time in UTC (ending in Z), or null")],
            )
        state = self._engine.session(namespace)
        with self.scheduler.running(namespace):
            if now is None:
                state.clock = None  # the ticker runs what is due from now on
                return
            target = parse_time(now)
            with self._clock_lock:
                current = state.clock or now_text()
            if parse_time(current) < target:
                state.clock = current
                self._run_until(namespace, state, target.timestamp())
            state.clock = now

    def advance_clock(self, seconds: int, namespace: str = DEFAULT_NAMESPACE) -> str:
        """``Engine.advance_clock``: move ``namespace``'s pinned clock ``seconds`` forward; returns the new now."""
        if not isinstance(seconds, int) or isinstance(seconds, bool) or not 0 <= seconds <= MAX_ADVANCE_SECONDS:
            raise InvalidRequestError(
                f"The clock moves forward by a whole number of seconds, 0 to {MAX_ADVANCE_SECONDS}.",
                details=[Violation("body.advanceSeconds", f"must be an integer from 0 to {MAX_ADVANCE_SECONDS}")],
            )
        state = self._engine.session(namespace)
        with self.scheduler.running(namespace):  # two advances at once both count
            with self._clock_lock:
                if state.clock is None:
                    raise ConflictError(
                        'The clock runs in real time; pin it first (PUT /__mock/clock {"now": "2024-01-01T00:00:00Z"}'
                        ", MockServer.set_clock), then move it forward.",
                        code="CLOCK_NOT_PINNED",
                    )
                start = state.clock
            moved = datetime.fromisoformat(start.upper().replace("Z", "+00:00")) + timedelta(seconds=seconds)
            self._run_until(namespace, state, moved.timestamp())
            state.clock = moved.astimezone(UTC).isoformat().replace("+00:00", "Z")
            return state.clock

    # -- the scheduler's tasks -------------------------------------------------------

    def _run_until(self, namespace: str, state: SessionState, until: float) -> None:
        """Run ``namespace``'s tasks due by ``until``, the pinned clock at each one's due time
        (the caller holds the namespace's run lock)."""
        for settler in self.settlers:  # what started before the clock moves (a ticker's delivery)
            settler(namespace)

        def step(task: Task) -> None:
            clock = state.clock
            if clock is None or parse_time(clock).timestamp() < task.due_at:
                state.clock = task.due

        def settle(task: Task) -> None:
            for settler in self.settlers:
                settler(namespace)

        if self.scheduler.run_due(namespace, until, step, settle) and self._engine.persister is not None:
            self._engine.persister.changed()

    def _job_step(self, namespace: str, payload: dict[str, Json]) -> None:
        """One step of an ``x-mock-job`` (``core/jobs.py``), run by the world being served."""
        jobs = self._engine.world.jobs
        if jobs is not None:
            jobs.run_step(self._engine, namespace, payload)

    def task_scheduled(self, namespace: str) -> None:
        """A task was scheduled: make sure the ticker runs (and ``--persist`` saves it)."""
        if self._engine.persister is not None:
            self._engine.persister.changed()
        if self._ticker is None or not self._ticker.is_alive():
            with self._ticker_lock:
                if (self._ticker is None or not self._ticker.is_alive()) and not self._ticker_stop.is_set():
                    self._ticker = threading.Thread(target=self._tick, name="auralytik-mock-ticker", daemon=True)
                    self._ticker.start()

    def _tick(self) -> None:
        """Every ``TICK`` seconds: run what is due on each namespace's clock as it stands (a
        namespace an advance is running is left to it)."""
        while not self._ticker_stop.wait(TICK):
            for namespace in self.scheduler.namespaces():
                with self.scheduler.running(namespace, wait=False) as held:
                    if not held:
                        continue
                    pinned = self._engine.pinned_clock(namespace)
                    until = parse_time(pinned).timestamp() if pinned else time.time()
                    if self.scheduler.run_due(namespace, until) and self._engine.persister is not None:
                        self._engine.persister.changed()

    def run_due_tasks(self, namespace: str = DEFAULT_NAMESPACE) -> int:
        """``Engine.run_due_tasks``: run ``namespace``'s due tasks now; returns how many ran."""
        with self.scheduler.running(namespace):
            pinned = self._engine.pinned_clock(namespace)
            return self.scheduler.run_due(namespace, parse_time(pinned).timestamp() if pinned else time.time())

    def close(self) -> None:
        """Stop the ticker (and start none again): a tick under way finishes first."""
        self._ticker_stop.set()
        ticker, self._ticker = self._ticker, None
        if ticker is not None and ticker is not threading.current_thread():
            ticker.join(timeout=5)
