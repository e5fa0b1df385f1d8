"""Work that waits on the mock's clock: tasks as data, due at a time, per dataset.

Owns: the ``Scheduler`` every ``Engine`` has (``engine.scheduler``; a handler reaches it as
``call.scheduler``): the kinds of task and their functions (``register``), the pending
tasks of each namespace (the default dataset and each session) in due order, bounded
(``MAX_PENDING_TASKS`` a namespace: 507 ``MOCK_CAPACITY_EXCEEDED`` past it), their
saving and loading for ``--persist`` (``dump``/``restore``), dropping a namespace's tasks
(a session deleted or reset), and running what is due (``run_due``).

A task is data, never a closure: a registered ``kind`` and a JSON ``payload``, so pending
ones survive a restart. Its function is called as ``fn(namespace, payload)`` when its time
comes, on that namespace's clock:

- a pinned clock: when it is set or advanced (``PUT /__mock/clock``,
  ``MockServer.advance``); the engine's timekeeper (``harness/timekeeper.py``) steps the
  clock to each task's due time in turn, so ``scheduler.now(namespace)`` inside a task is
  its due time, and a task that schedules another one due before the advance's end sees it
  run in the same advance;
- the real clock (and a pinned one for what is due at its current time): from one
  background thread, every ``TICK`` seconds (the timekeeper's ticker).

Example (the engine's timekeeper builds the scheduler; handlers and task functions use it)::

    def finish(namespace: str, payload: dict) -> None:
        ...  # e.g. mark payload["id"] done, then engine.events.emit(...)

    engine.scheduler.register("audio.finish", finish)
    engine.scheduler.schedule(namespace, "2024-01-01T00:00:30Z", "audio.finish", {"id": "af_1"})
    engine.scheduler.after(namespace, 30, "audio.finish", {"id": "af_1"})  # 30 s from its now

A task function that raises is logged and dropped (never retried by the scheduler: retry
by scheduling again). No IO, no threads.
May import: ``errors``, ``types``.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .errors import InsufficientStorageError
from .types import Json

log = logging.getLogger("auralytik_mock")

#: Pending tasks a namespace may hold (the default dataset and each session alike).
MAX_PENDING_TASKS = 10_000
#: Tasks one ``run_due`` call runs at most (a task that reschedules itself at the same time
#: forever would otherwise never let the call end); what is left runs on the next call.
MAX_RUNS_PER_CALL = 100_000
#: The ticker's period, in seconds (real-time namespaces see their tasks run this late at most).
TICK = 0.15
#: The largest payload a task may carry, as JSON bytes.
MAX_PAYLOAD_BYTES = 64 * 1024

#: A task's function: ``fn(namespace, payload)``.
TaskFunction = Callable[[str, dict[str, Json]], None]


def parse_time(moment: str) -> datetime:
    """An RFC 3339 time (``Z`` or an offset) as an aware UTC datetime. :raises ValueError: not one."""
    try:
        parsed = datetime.fromisoformat(moment.upper().replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise ValueError(f"not an RFC 3339 time: {moment!r}") from None
    if parsed.tzinfo is None or "T" not in moment.upper():
        raise ValueError(f"an RFC 3339 time needs Z or an offset: {moment!r}")
    return parsed.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """``moment`` in RFC 3339 UTC (``...Z``), to the microsecond only when it has some."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def later(moment: str, seconds: float) -> str:
    """``moment`` plus ``seconds``, in RFC 3339 UTC."""
    return format_time(parse_time(moment) + timedelta(seconds=seconds))


@dataclass(order=True)
class Task:
    """One pending task. Ordered by due time, then by the order it was scheduled in."""

    due_at: float
    seq: int
    id: str = field(compare=False)
    due: str = field(compare=False)
    kind: str = field(compare=False)
    payload: dict[str, Json] = field(compare=False)

    def as_json(self) -> dict[str, Json]:
        return {"id": self.id, "due": self.due, "kind": self.kind, "payload": self.payload}


class Scheduler:
    """Pending tasks per namespace, and the functions that run them.

    :param now: the namespace's now (its pinned clock or the real time), RFC 3339 UTC.
    :param max_pending: the cap of pending tasks per namespace.
    """

    def __init__(self, now: Callable[[str], str], max_pending: int = MAX_PENDING_TASKS) -> None:
        self._now = now
        self.max_pending = max_pending
        self._kinds: dict[str, TaskFunction] = {}
        self._pending: dict[str, list[Task]] = {}
        self._ids: dict[str, set[str]] = {}  # namespace -> ids pending (``cancel``)
        self._lock = threading.Lock()
        self._running: dict[str, threading.Lock] = {}
        self._seq = itertools.count()
        #: Called (with the namespace) after each task scheduled: the ``Engine`` starts its ticker.
        self.on_schedule: Callable[[str], None] | None = None

    # -- kinds ---------------------------------------------------------------------

    def register(self, kind: str, fn: TaskFunction) -> None:
        """Run ``fn(namespace, payload)`` for every task of ``kind`` (a later call replaces it)."""
        if not isinstance(kind, str) or not kind:
            raise ValueError("a task kind is a non-empty string")
        self._kinds[kind] = fn

    def kinds(self) -> list[str]:
        return sorted(self._kinds)

    # -- scheduling ----------------------------------------------------------------

    def now(self, namespace: str) -> str:
        """``namespace``'s now (inside a task run by an advance: the task's due time)."""
        return self._now(namespace)

    def schedule(self, namespace: str, due: str, kind: str, payload: dict[str, Json]) -> str:
        """Run task ``kind`` with ``payload`` in ``namespace`` at ``due`` (RFC 3339); returns its id.

        A time already past is due at once (the ticker, or the next set/advance of a pinned clock).

        :raises ValueError: ``kind`` is not registered, ``due`` is not an RFC 3339 time, or
            ``payload`` is not a JSON object of at most ``MAX_PAYLOAD_BYTES``.
        :raises InsufficientStorageError: ``namespace`` holds ``max_pending`` tasks already
            (507 ``MOCK_CAPACITY_EXCEEDED``).
        """
        if kind not in self._kinds:
            raise ValueError(f"no task kind {kind!r} is registered (scheduler.register)")
        if not isinstance(payload, dict):
            raise ValueError("a task's payload is a JSON object")
        try:
            size = len(json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8"))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"a task's payload must be JSON: {exc}") from None
        if size > MAX_PAYLOAD_BYTES:
            raise ValueError(f"a task's payload is at most {MAX_PAYLOAD_BYTES} bytes of JSON ({size} given)")
        moment = parse_time(due)
        task = Task(moment.timestamp(), 0, "task_" + secrets.token_hex(8), format_time(moment), kind, payload)
        self._push(namespace, task)
        hook = self.on_schedule
        if hook is not None:
            hook(namespace)
        return task.id

    def after(self, namespace: str, seconds: float, kind: str, payload: dict[str, Json]) -> str:
        """``schedule`` at ``namespace``'s now plus ``seconds``."""
        return self.schedule(namespace, later(self.now(namespace), seconds), kind, payload)

    def _push(self, namespace: str, task: Task) -> None:
        with self._lock:
            heap = self._pending.setdefault(namespace, [])
            if len(heap) >= self.max_pending:
                raise InsufficientStorageError(
                    f"This dataset has {self.max_pending} pending tasks (processing, exports, webhook "
                    "deliveries) already; let the clock run, or reset the dataset."
                )
            task.seq = next(self._seq)
            heapq.heappush(heap, task)
            self._ids.setdefault(namespace, set()).add(task.id)

    def cancel(self, namespace: str, task_id: str) -> bool:
        """Drop one pending task; returns whether it was pending."""
        with self._lock:
            heap = self._pending.get(namespace)
            if not heap or task_id not in self._ids.get(namespace, ()):
                return False
            heap[:] = [t for t in heap if t.id != task_id]
            heapq.heapify(heap)
            self._ids[namespace].discard(task_id)
            return True

    def drop(self, namespace: str) -> int:
        """Drop every pending task of ``namespace`` (deleted or reset); returns how many."""
        with self._lock:
            self._ids.pop(namespace, None)
            return len(self._pending.pop(namespace, []))

    # -- reading -------------------------------------------------------------------

    def pending(self, namespace: str) -> list[dict[str, Json]]:
        """``namespace``'s pending tasks in due order (id, due, kind, payload)."""
        with self._lock:
            tasks = sorted(self._pending.get(namespace, []))
        return [t.as_json() for t in tasks]

    def namespaces(self) -> list[str]:
        """The namespaces that have pending tasks."""
        with self._lock:
            return [ns for ns, heap in self._pending.items() if heap]

    def next_due(self, namespace: str) -> float | None:
        """The Unix time of ``namespace``'s next task (``None``: none pending)."""
        with self._lock:
            heap = self._pending.get(namespace)
            return heap[0].due_at if heap else None

    # -- running -------------------------------------------------------------------

    @contextmanager
    def running(self, namespace: str, wait: bool = True) -> Iterator[bool]:
        """Hold ``namespace``'s run lock (one runner at a time: the ticker or an advance).
        Yields whether it is held (``wait=False``: ``False`` when another runner has it)."""
        with self._lock:
            lock = self._running.setdefault(namespace, threading.Lock())
        got = lock.acquire(blocking=wait)
        try:
            yield got
        finally:
            if got:
                lock.release()

    def pop_due(self, namespace: str, until: float) -> Task | None:
        """Take ``namespace``'s next task if it is due at or before ``until`` (Unix time)."""
        with self._lock:
            heap = self._pending.get(namespace)
            if not heap or heap[0].due_at > until:
                return None
            task = heapq.heappop(heap)
            self._ids[namespace].discard(task.id)
            return task

    def run(self, namespace: str, task: Task) -> None:
        """Run one task taken with ``pop_due``: its function, errors logged, never raised."""
        fn = self._kinds.get(task.kind)
        if fn is None:
            log.error("task %s of kind %r dropped: no function is registered for it", task.id, task.kind)
            return
        try:
            fn(namespace, task.payload)
        except Exception:
            log.exception("task %s (%s) in %s failed; it is dropped", task.id, task.kind, namespace)

    def run_due(
        self,
        namespace: str,
        until: float | None = None,
        before: Callable[[Task], None] | None = None,
        after: Callable[[Task], None] | None = None,
    ) -> int:
        """Run ``namespace``'s tasks due at or before ``until`` (Unix time; default: its now),
        in due order, the tasks they schedule included; returns how many ran.

        :param before: called before each task (the ``Engine`` moves a pinned clock to its due time).
        :param after: called after each task (the ``Engine`` waits for what it started elsewhere).
        """
        limit = parse_time(self.now(namespace)).timestamp() if until is None else until
        ran = 0
        while ran < MAX_RUNS_PER_CALL:
            task = self.pop_due(namespace, limit)
            if task is None:
                break
            if before is not None:
                before(task)
            self.run(namespace, task)
            if after is not None:
                after(task)
            ran += 1
        else:
            log.warning("%s: %d tasks ran in one go; the rest wait for the next tick", namespace, ran)
        return ran

    # -- --persist -----------------------------------------------------------------

    def dump(self) -> dict[str, list[dict[str, Json]]]:
        """Every namespace's pending tasks (what ``--persist`` saves)."""
        with self._lock:
            namespaces = list(self._pending)
        return {ns: self.pending(ns) for ns in namespaces if self._pending.get(ns)}

    def restore(self, document: object, where: str = "tasks") -> None:
        """Load tasks ``dump`` wrote (kinds may be registered later: they run once they are).

        :raises ValueError: the document is not such a mapping (the message says where).
        """
        if document is None:
            return
        if not isinstance(document, dict):
            raise ValueError(f"{where}: must be a mapping of dataset to its pending tasks")
        for namespace, tasks in document.items():
            if not isinstance(tasks, list):
                raise ValueError(f"{where}.{namespace}: must be a list of tasks")
            for i, item in enumerate(tasks):
                if not (
                    isinstance(item, dict)
                    and isinstance(item.get("id"), str)
                    and isinstance(item.get("kind"), str)
                    and isinstance(item.get("payload"), dict)
                    and isinstance(item.get("due"), str)
                ):
                    raise ValueError(f"{where}.{namespace}[{i}]: a task has id, due, kind and payload")
                moment = parse_time(item["due"])
                self._push(
                    str(namespace),
                    Task(moment.timestamp(), 0, item["id"], format_time(moment), item["kind"], item["payload"]),
                )
