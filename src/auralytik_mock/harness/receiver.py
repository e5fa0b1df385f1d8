"""A webhook receiver for tests: ``MockServer.webhook_url(name)`` points at it.

Owns: a small HTTP server on 127.0.0.1 in a daemon thread (started on first use), one
path per receiver name (``/<name>``); what each received (method, path, headers, raw body,
parsed JSON, when), at most ``MAX_KEPT`` requests a name and ``MAX_BODY`` bytes a body;
the answers each name gives (``answers=[500, 500]``: those first, then 200; ``None``: no
answer at all, the connection held until the sender gives up); waiting for requests
(``received(name, count, timeout)``).
May import: the standard library.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote

#: Requests kept per receiver name (the oldest go first).
MAX_KEPT = 1000
#: The largest body a receiver reads.
MAX_BODY = 1024 * 1024
#: How long a receiver told to stay silent (``answers=[None]``) holds a connection at most.
SILENT_HOLD = 30.0


class Receiver:
    """Records the webhooks the mock delivers to it."""

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Condition()
        self._received: dict[str, deque[dict[str, Any]]] = {}
        self._answers: dict[str, deque[int | None]] = {}

    def url(self, name: str, answers: Sequence[int | None] = ()) -> str:
        """The URL of receiver ``name`` (started on first use); ``answers``: the status codes
        its next requests get, in order (then 200); ``None`` for one that gets no answer."""
        if not name or "/" in name:
            raise ValueError("a receiver's name is a non-empty string without '/'")
        for status in answers:
            if status is not None and not (isinstance(status, int) and 100 <= status <= 599):
                raise ValueError(f"an answer is an HTTP status code or None (no answer), got {status!r}")
        server = self._start()
        with self._lock:
            self._received.setdefault(name, deque(maxlen=MAX_KEPT))
            self._answers[name] = deque(answers)
        return f"http://127.0.0.1:{server.server_address[1]}/{quote(name)}"

    def received(self, name: str, count: int = 0, timeout: float = 5.0) -> list[dict[str, Any]]:
        """What ``name`` received, oldest first; waits up to ``timeout`` s for ``count`` requests."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._received.get(name, ())) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(left)
            return [dict(hit) for hit in self._received.get(name, ())]

    def clear(self) -> None:
        """Forget what every receiver received and the answers set."""
        with self._lock:
            self._received.clear()
            self._answers.clear()

    def _answer(self, name: str) -> int | None:
        with self._lock:
            queued = self._answers.get(name)
            return queued.popleft() if queued else 200

    def _keep(self, name: str, hit: dict[str, Any]) -> None:
        with self._lock:
            self._received.setdefault(name, deque(maxlen=MAX_KEPT)).append(hit)
            self._lock.notify_all()

    def _start(self) -> ThreadingHTTPServer:
        with self._lock:
            if self._server is None:
                receiver = self

                class Handler(BaseHTTPRequestHandler):
                    def do_POST(self) -> None:  # noqa: N802 - http.server's name
                        name = unquote(self.path.split("?")[0].lstrip("/"))
                        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
                        body = self.rfile.read(length)
                        try:
                            parsed = json.loads(body)
                        except ValueError:
                            parsed = None
                        status = receiver._answer(name)
                        receiver._keep(
                            name,
                            {
                                "method": self.command,
                                "path": self.path,
                                "headers": dict(self.headers.items()),
                                "body": body,
                                "json": parsed,
                                "status": status,
                                "at": time.time(),
                            },
                        )
                        if status is None:  # silent: hold the connection until the sender gives up
                            self.connection.settimeout(SILENT_HOLD)
                            try:
                                while self.connection.recv(4096):
                                    pass
                            except OSError:
                                pass
                            self.close_connection = True
                            return
                        self.send_response(status)
                        self.send_header("Content-Length", "0")
                        self.end_headers()

                    def log_message(self, format: str, *args: Any) -> None:  # quiet
                        pass

                server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
                server.daemon_threads = True
                self._server = server
                self._thread = threading.Thread(
                    target=server.serve_forever, name="auralytik-mock-receiver", daemon=True
                )
                self._thread.start()
            return self._server

    def close(self) -> None:
        """Stop the server (if it started)."""
        with self._lock:
            server, self._server = self._server, None
            thread, self._thread = self._thread, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)
