"""A hostile or broken HTTP target on 127.0.0.1, for ``verify``'s tests: raw sockets, no library.

Every request it reads gets the same misbehaviour (``BEHAVIOURS``). It is bounded on its
side too: each connection stops after ``time_cap`` seconds or ``send_cap`` bytes, sends
time out after a second, and ``stop()`` closes every socket it opened.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

#: The most bytes one connection sends, and for how long it may go on.
SEND_CAP = 256 * 1024 * 1024
TIME_CAP = 90.0
_CHUNK = b"x" * 65536
_INVALID = b'{"data": [' + b",".join(b'{"id": %d, "name": 5}' % n for n in range(60_000)) + b"]}"


def _head(status: str, *headers: str) -> bytes:
    return ("\r\n".join([f"HTTP/1.1 {status}", *headers, "Connection: close"]) + "\r\n\r\n").encode()


class HostileTarget:
    """``with HostileTarget("trickle") as target: ... target.url``.

    :param behaviour: one of ``BEHAVIOURS``.
    :param interval: seconds between bytes (``trickle``, ``trickle_body``).
    :param retry_after: the ``Retry-After`` of ``always_429``.
    """

    def __init__(self, behaviour: str, *, interval: float = 0.5, retry_after: str = "119") -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}")
        self.behaviour = behaviour
        self.interval = interval
        self.retry_after = retry_after
        self.requests = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/v1"

    def __enter__(self) -> HostileTarget:
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            for sock in [self._listener, *self._sockets]:
                try:
                    sock.close()
                except OSError:
                    pass
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(1.0)
            with self._lock:
                self._sockets.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        started = time.monotonic()
        try:
            if not self._read_request(conn):
                return
            self.requests += 1
            BEHAVIOURS[self.behaviour](self, conn, started)
        except OSError:
            pass  # the client went away: what a hostile target hopes for
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _read_request(self, conn: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            try:
                part = conn.recv(65536)
            except TimeoutError:
                continue
            if not part:
                return False
            data += part
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
        lengths = [int(line.split(":", 1)[1]) for line in head.split("\r\n") if line.startswith("content-length:")]
        length = lengths[0] if lengths else 0
        body = len(data.split(b"\r\n\r\n", 1)[1]) if b"\r\n\r\n" in data else 0
        while body < length:
            part = conn.recv(65536)
            if not part:
                return False
            body += len(part)
        return True

    def _going(self, started: float, sent: int) -> bool:
        return not self._stopping.is_set() and sent < SEND_CAP and time.monotonic() - started < TIME_CAP

    # -- the misbehaviours

    def endless_chunked(self, conn: socket.socket, started: float) -> None:
        """200 with a chunked body that never ends (2.5 GB in 3.3 s against the old verify)."""
        conn.sendall(_head("200 OK", "Content-Type: application/json", "Transfer-Encoding: chunked"))
        sent = 0
        chunk = b"%x\r\n%s\r\n" % (len(_CHUNK), _CHUNK)
        while self._going(started, sent):
            conn.sendall(chunk)
            sent += len(chunk)

    def huge_length(self, conn: socket.socket, started: float) -> None:
        """``Content-Length: 10^12`` (a ``MemoryError`` in the old verify), then a trickle of body."""
        conn.sendall(_head("200 OK", "Content-Type: application/json", "Content-Length: 1000000000000"))
        sent = 0
        while self._going(started, sent):
            conn.sendall(_CHUNK)
            sent += len(_CHUNK)
            time.sleep(0.05)

    def deep_json(self, conn: socket.socket, started: float) -> None:
        """200 with 200,000 nested arrays (a ``RecursionError`` in the old verify)."""
        body = b"[" * 200_000 + b"]" * 200_000
        conn.sendall(_head("200 OK", "Content-Type: application/json", f"Content-Length: {len(body)}") + body)

    def trickle(self, conn: socket.socket, started: float) -> None:
        """The status line and headers one byte at a time, every ``interval`` seconds, never done."""
        head = _head("200 OK", *(f"X-Filler-{n}: {'y' * 50}" for n in range(90)))
        for byte in head:
            if not self._going(started, 0):
                return
            conn.sendall(bytes([byte]))
            time.sleep(self.interval)

    def trickle_body(self, conn: socket.socket, started: float) -> None:
        """Headers at once, then a body one byte every ``interval`` seconds."""
        conn.sendall(_head("200 OK", "Content-Type: application/json", "Content-Length: 100000"))
        while self._going(started, 0):
            conn.sendall(b" ")
            time.sleep(self.interval)

    def always_429(self, conn: socket.socket, started: float) -> None:
        """Every call rate-limited with the same ``Retry-After`` (about 7 hours against the old verify)."""
        body = b'{"error": {"code": "RATE_LIMITED", "message": "Too many requests.", "requestId": "req_1"}}'
        headers = ("Content-Type: application/json", f"Retry-After: {self.retry_after}", f"Content-Length: {len(body)}")
        conn.sendall(_head("429 Too Many Requests", *headers) + body)

    def huge_invalid(self, conn: socket.socket, started: float) -> None:
        """200 with a list of 60,000 records that break the schema (describing every
        violation took minutes against the old verify)."""
        conn.sendall(_head("200 OK", "Content-Type: application/json", f"Content-Length: {len(_INVALID)}") + _INVALID)

    def garbage(self, conn: socket.socket, started: float) -> None:
        """Something that is not HTTP."""
        conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")

    def hang_up(self, conn: socket.socket, started: float) -> None:
        """Reads the request, answers nothing, closes."""

    def short_body(self, conn: socket.socket, started: float) -> None:
        """Promises 1,000 bytes, sends 10, closes."""
        conn.sendall(_head("200 OK", "Content-Type: application/json", "Content-Length: 1000") + b'{"data": [')

    def endless_continue(self, conn: socket.socket, started: float) -> None:
        """``100 Continue`` after ``100 Continue``, never a final status."""
        sent = 0
        while self._going(started, sent):
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n" * 100)
            sent += 2500
            time.sleep(0.01)

    def bad_chunk(self, conn: socket.socket, started: float) -> None:
        """A chunk size that is not hexadecimal."""
        conn.sendall(_head("200 OK", "Content-Type: application/json", "Transfer-Encoding: chunked") + b"zz\r\n{}\r\n")

    def many_headers(self, conn: socket.socket, started: float) -> None:
        """Two hundred headers (``http.client`` takes at most 100)."""
        conn.sendall(_head("200 OK", *(f"X-H{n}: v" for n in range(200)), "Content-Length: 2") + b"{}")


BEHAVIOURS: dict[str, Callable[[HostileTarget, socket.socket, float], None]] = {
    name: getattr(HostileTarget, name)
    for name in (
        "endless_chunked",
        "huge_length",
        "deep_json",
        "trickle",
        "trickle_body",
        "always_429",
        "huge_invalid",
        "garbage",
        "hang_up",
        "short_body",
        "endless_continue",
        "bad_chunk",
        "many_headers",
    )
}
