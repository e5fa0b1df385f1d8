"""The request journal tests read back, and the access log the sandbox prints.

Owns: what is kept of each answered request (bounded by ``Config.journal_size``), how
API keys are masked wherever a request is shown, and the access log, written off the
request threads.
No Flask, no IO but stderr (the access log, from its own thread).
May import: ``types``.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from datetime import UTC, datetime

from .types import Json

#: How much of a body that did not validate the journal keeps.
JOURNAL_BODY_CHARS = 65536


def mask_key(key: str) -> str:
    """Show enough of an API key to recognise it, not enough to use it."""
    return key[:3] + "..." + key[-4:] if len(key) > 10 else "***"


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
