"""The request journal tests read back, and the access log the sandbox prints.

Owns: what is kept of each answered request (bounded by ``Config.journal_size``), how
API keys are masked wherever a request is shown, and the access log, written off the
request threads.
No Flask, no IO but stderr (the access log, from its own thread).
May import: ``types``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from datetime import UTC, datetime

from .types import Json

#: How many bytes of each request body the journal keeps (the raw text, cut here).
#: Worst case for bodies: ``journal_size`` x this, per session (README "Request journal").
JOURNAL_BODY_BYTES = 16 * 1024
#: Kept for compatibility with code that imported the old name.
JOURNAL_BODY_CHARS = JOURNAL_BODY_BYTES


def mask_key(key: str) -> str:
    """Show enough of an API key to recognise it, not enough to use it."""
    return key[:3] + "..." + key[-4:] if len(key) > 10 else "***"


class Journal:
    """The last requests the mock answered, for tests to inspect.

    Each entry keeps the body as bytes, never as a parsed tree: a 1 MiB body of
    ``[{},{},...]`` parsed is about 24 MiB of Python objects. ``body_json`` says the
    kept bytes are a whole, valid JSON document (checked by ``decode_json`` when the
    request was served), so reading the journal can splice them into the answer as
    they are; anything else is shown as text, cut at ``JOURNAL_BODY_BYTES``.

    No lock of its own: ``deque(maxlen=...)`` drops the oldest entry itself, its appends
    are thread-safe, and ``copy()`` and ``clear()`` are single C calls.
    """

    def __init__(self, size: int) -> None:
        self.entries: deque[dict[str, Json]] = deque(maxlen=max(size, 0))

    def add(self, entry: dict[str, Json], body: bytes = b"", body_json: bool = False) -> None:
        """Record ``entry`` with the request ``body`` (cut to ``JOURNAL_BODY_BYTES``).

        :param body_json: ``body`` is a whole JSON document the mock accepted.
        """
        cut = len(body) > JOURNAL_BODY_BYTES
        entry["_body"] = body[:JOURNAL_BODY_BYTES] if body else b""
        entry["_json"] = body_json and not cut
        entry["bodyTruncated"] = cut
        self.entries.append(entry)

    def clear(self) -> None:
        self.entries.clear()

    def metadata(self) -> list[dict[str, Json]]:
        """The entries without their bodies, oldest first, with ``time`` as RFC 3339."""
        out = []
        for entry in self.entries.copy():
            shown = dict(entry)
            stamp = datetime.fromtimestamp(shown.pop("_at"), UTC)
            shown["time"] = stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            out.append(shown)
        return out

    def snapshot(self) -> list[dict[str, Json]]:
        """Copies of the entries, oldest first, each body decoded (for Python callers)."""
        out = []
        for shown in self.metadata():
            raw, is_json = shown.pop("_body"), shown.pop("_json")
            shown["body"] = _body_value(raw, is_json)
            out.append(shown)
        return out


def _body_value(raw: bytes, is_json: bool) -> Json:
    if not raw:
        return None
    if is_json:
        try:
            return json.loads(raw)
        except ValueError:  # never expected (only decoded bodies are marked): show the text
            pass
    return bytes(raw).decode("utf-8", "replace")


def render_entries(entries: list[dict[str, Json]]) -> bytes:
    """``entries`` (from ``Journal.metadata``) as a JSON array, bodies spliced in as kept.

    A body marked as JSON (``decode_json`` read exactly these bytes when the request was
    served) goes in verbatim, never parsed: reading the journal costs its size, not 24
    times it. Any other body goes in as a JSON string. The body is the last member of its
    entry, placed by structure (never found by searching the text), so nothing a client
    sends in a path, a query or a body can end an entry or start another.
    """
    parts = []
    for entry in entries:
        shown = dict(entry)
        raw, is_json = shown.pop("_body"), shown.pop("_json")
        shown.pop("body", None)
        head = json.dumps(shown, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")
        if not raw:
            body = b"null"
        elif is_json:
            body = bytes(raw)
        else:
            body = json.dumps(bytes(raw).decode("utf-8", "replace"), ensure_ascii=False).encode("utf-8")
        # ``head`` is a JSON object: its closing brace is its last byte.
        parts.append(head[:-1] + (b',"body":' if len(head) > 2 else b'"body":') + body + b"}")
    return b"[" + b",".join(parts) + b"]"


#: Control characters (C0, DEL, C1) as ``\\xNN``: a logged path can forge no line and
#: send no terminal escape.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_ESCAPES[ord("\\")] = "\\\\"


def escape_control(text: str) -> str:
    """``text`` with control characters and backslashes escaped, safe for one log line."""
    return text.translate(_ESCAPES)


class AccessLog:
    """One line per answered request, written by a background thread in batches.

    Requests only append a tuple: writing to stderr is a syscall, and on the event loop a
    blocked write would stall every connection (a pipe nobody reads). Lines appear at most
    ``interval`` late; the thread starts on the first line.

    Bounded: at most ``max_pending`` lines wait. When stderr is slow (a pipe nobody
    reads), the writer thread blocks, not the requests: new lines are dropped and
    counted, and the count is written as soon as stderr takes lines again.
    """

    def __init__(self, interval: float = 0.05, max_pending: int = 10_000) -> None:
        self.interval = interval
        self.max_pending = max_pending
        self.dropped = 0
        self._reported = 0
        self._pending: deque[tuple[float, str, str, int, float, str]] = deque()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()

    def add(self, method: str, path: str, status: int, elapsed_ms: float, request_id: str) -> None:
        if len(self._pending) >= self.max_pending:
            self.dropped += 1  # racy by a line or two under threads: a report, not an account
        else:
            self._pending.append((time.time(), method, path, status, elapsed_ms, request_id))
        if self._thread is None or not self._thread.is_alive():
            self._start()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="auralytik-mock-access-log", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        """Write every pending line now (from the writer thread, or at close)."""
        if not self._write_lock.acquire(blocking=False):
            return  # the writer thread is writing (maybe blocked on a full pipe)
        try:
            lines = []
            while self._pending:
                at, method, path, status, elapsed_ms, request_id = self._pending.popleft()
                stamp = datetime.fromtimestamp(at).strftime("%H:%M:%S.%f")[:-3]
                shown = escape_control(f"{method} {path}")
                lines.append(f"{stamp} {shown} {status} {elapsed_ms:.1f}ms {request_id}\n")
            dropped = self.dropped
            if dropped != self._reported:
                missed = dropped - self._reported
                lines.append(f"auralytik-mock: {missed} access log line(s) dropped (stderr is slow)\n")
                self._reported = dropped
            if lines:
                sys.stderr.write("".join(lines))
                sys.stderr.flush()
        except (OSError, ValueError):
            pass  # stderr closed or broken: the log is best effort, serving goes on
        finally:
            self._write_lock.release()

    def close(self) -> None:
        """Stop the writer thread and write what is left (unless stderr is blocked)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=1)
            if thread.is_alive():
                return  # blocked on a full pipe: do not block the shutdown too
        self.flush()
