"""Sending verify's calls: to the target over HTTP(S), to the mock in process.

Owns: ``HttpTransport`` (one origin, one call at a time, no redirect followed) and what
bounds a hostile or broken target: each call ends within ``Limits.timeout`` seconds from
connect to last byte (a watchdog shuts the socket down, so a target that sends a byte
every few seconds cannot hold it), an answer larger than ``Limits.max_body`` is refused
(from its ``Content-Length`` before reading, else as it arrives), JSON nested deeper than
``MAX_DEPTH`` is refused, and 429s are waited out as ``Retry-After`` says within
``max_wait`` per wait and ``max_total_wait`` over the run. Each of these ends the run
with a ``VerifyError`` that says, on one line, what the target did.
``EngineTransport`` sends to the mock in process (the pipeline ``serve`` runs).

Does network IO (``http.client``). May import: ``answer``, ``options``, ``harness.sandbox``,
``core.types``.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import math
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

from ..core.types import Json, MockRequest
from ..harness.sandbox import Engine
from .answer import Answer
from .options import Options, VerifyError

#: The deepest JSON answer read (arrays and objects inside each other). Real answers stay
#: far below it; the comparison of deeper ones would exhaust Python's stack.
MAX_DEPTH = 100
_READ = 64 * 1024
_MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """How long and how much verify gives a target (the options of the same names).

    :param timeout: seconds per call, from connect to the answer's last byte.
    :param max_body: the largest answer read, in bytes.
    :param max_wait: the longest single ``Retry-After`` waited out; longer stops the run.
    :param max_total_wait: the most seconds waited on 429s over the run; more stops it.
    :param max_retries: how many 429s in a row are waited out per call.
    """

    timeout: float = 30.0
    max_body: int = 8 * _MIB
    max_wait: float = 120.0
    max_total_wait: float = 300.0
    max_retries: int = 3

    def __post_init__(self) -> None:
        for name, flag in (("timeout", "--timeout"), ("max_body", "--max-body")):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise VerifyError(f"{flag} must be a number above 0, got {value}")
        for name, flag in (("max_wait", "--max-wait"), ("max_total_wait", "--max-total-wait")):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise VerifyError(f"{flag} must be a number of seconds, 0 or more, got {value}")

    @classmethod
    def of(cls, options: Options) -> Limits:
        """The limits ``options`` ask for (``max_body`` there is in MiB).

        :raises VerifyError: a limit that is not a positive number.
        """
        if not math.isfinite(options.max_body) or options.max_body <= 0:
            raise VerifyError(f"--max-body must be a number of MiB above 0, got {options.max_body}")
        return cls(
            timeout=options.timeout,
            max_body=max(1, round(options.max_body * _MIB)),
            max_wait=options.max_wait,
            max_total_wait=options.max_total_wait,
        )

    def as_json(self) -> dict[str, Json]:
        return {
            "timeoutSeconds": self.timeout,
            "maxBodyBytes": self.max_body,
            "maxWaitSeconds": self.max_wait,
            "maxTotalWaitSeconds": self.max_total_wait,
            "maxRetries": self.max_retries,
        }

    def describe(self) -> str:
        """The limits as the report states them."""
        return (
            f"{self.timeout:g} s per call (--timeout), answers up to {_size(self.max_body)} (--max-body), "
            f"at most {self.max_total_wait:g} s waiting on 429s (--max-total-wait)"
        )


def _size(count: int) -> str:
    return f"{count / _MIB:g} MiB" if count >= _MIB else f"{count:,} bytes"


class HttpTransport:
    """Calls one origin over HTTP(S), one call at a time, never following a redirect.

    :param base_url: the target, e.g. ``https://api.auralytik.com/v1``.
    :param limits: how long and how much a call may take (see ``Limits``).
    """

    def __init__(
        self,
        base_url: str,
        *,
        limits: Limits | None = None,
        sleep: Callable[[float], None] = time.sleep,
        say: Callable[[str], None] = print,
    ) -> None:
        parts = urlsplit(base_url)
        try:
            port = parts.port
        except ValueError:
            raise VerifyError(f"--base-url has a port that is not a number: {base_url!r}") from None
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise VerifyError(f"--base-url must be an http:// or https:// URL, got {base_url!r}")
        if parts.query or parts.fragment:
            raise VerifyError("--base-url takes no query string or fragment")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = port or (443 if parts.scheme == "https" else 80)
        self.base_path = parts.path.rstrip("/")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.limits = limits or Limits()
        self.sleep = sleep
        self.say = say
        self.calls = 0
        self.waits: list[float] = []

    @property
    def waited(self) -> float:
        """Seconds waited on 429s so far."""
        return sum(self.waits)

    def _connection(self) -> http.client.HTTPConnection:
        timeout = self.limits.timeout
        if self.scheme == "https":
            context = ssl.create_default_context()
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=context)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def send(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """One call, 429s waited out.

        :raises VerifyError: the target cannot be reached, breaks HTTP, takes longer than
            the limits allow, or rate-limits for longer than they allow.
        """
        target = quote(path, safe="/%:@!$&'()*+,;=-._~") + (f"?{query}" if query else "")
        limits = self.limits
        for attempt in range(limits.max_retries + 1):
            self.calls += 1
            answer = self._call(method, target, headers, body)
            if answer.status != 429 or attempt == limits.max_retries:
                return answer
            wait = retry_after(answer.headers.get("retry-after"))
            if wait > limits.max_wait:
                raise VerifyError(
                    f"the target rate-limits for {wait:.0f} s (Retry-After), more than --max-wait {limits.max_wait:g} s"
                )
            if self.waited + wait > limits.max_total_wait:
                raise VerifyError(
                    f"the target keeps answering 429: waiting {wait:.0f} s more (Retry-After) would pass "
                    f"--max-total-wait {limits.max_total_wait:g} s ({self.waited:.0f} s waited over "
                    f"{len(self.waits)} 429s so far)"
                )
            self.say(f"  429 from the target: waiting {wait:.0f} s as Retry-After says")
            self.waits.append(wait)
            self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _call(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """One request and its whole answer, within the limits."""
        what = f"{method} {target.split('?', 1)[0]}"
        connection = self._connection()
        try:
            connection.connect()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            connection.close()
            if isinstance(exc, TimeoutError):
                raise VerifyError(
                    f"cannot reach {self.origin}: no connection within {self.limits.timeout:g} s"
                ) from None
            raise VerifyError(f"cannot reach {self.origin}: {exc}") from None
        sock = connection.sock
        expired = threading.Event()

        def cut() -> None:  # the deadline: whatever the read is waiting on, it ends now
            expired.set()
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass

        watchdog = threading.Timer(self.limits.timeout, cut)
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.request(method, target, body=body or None, headers=dict(headers))
            response = connection.getresponse()
            raw = self._read(response, what)
            answer = Answer.make(response.status, response.getheaders(), raw)
        except VerifyError:
            if expired.is_set():
                raise self._late(what) from None
            raise
        except RecursionError:
            raise VerifyError(f"the target's answer to {what} is JSON nested too deep to read") from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if expired.is_set() or isinstance(exc, TimeoutError):
                raise self._late(what) from None
            raise VerifyError(f"the target's answer to {what} is not usable HTTP: {_why(exc)}") from None
        finally:
            watchdog.cancel()
            connection.close()
        if answer.is_json and _deeper_than(answer.body, MAX_DEPTH):
            raise VerifyError(f"the target's answer to {what} is JSON nested deeper than {MAX_DEPTH} levels")
        return answer

    def _late(self, what: str) -> VerifyError:
        return VerifyError(f"the target did not answer {what} within {self.limits.timeout:g} s (--timeout)")

    def _read(self, response: http.client.HTTPResponse, what: str) -> bytes:
        """The body, refused as soon as it is known to pass ``max_body``."""
        cap = self.limits.max_body
        chunked = "chunked" in (response.getheader("Transfer-Encoding") or "").lower()
        declared = (response.getheader("Content-Length") or "").strip()
        expected = int(declared) if declared.isdigit() and not chunked else None
        too_big = f"the target's answer to {what} is larger than --max-body {_size(cap)}"
        if expected is not None and expected > cap:
            raise VerifyError(f"{too_big} (Content-Length: {expected:,} bytes)")
        parts: list[bytes] = []
        size = 0
        while True:
            try:
                part = response.read(_READ)
            except http.client.IncompleteRead:  # also a chunk size that is not hexadecimal
                if not chunked:
                    raise
                broken = f"the target's answer to {what} has a broken chunked body ({size:,} bytes read)"
                raise VerifyError(broken) from None
            if not part:
                break
            size += len(part)
            if size > cap:
                raise VerifyError(f"{too_big} (more than {size:,} bytes sent)")
            parts.append(part)
        if expected is not None and size < expected:
            raise VerifyError(f"the target's answer to {what} ended after {size:,} of {expected:,} bytes")
        return b"".join(parts)


def _why(exc: BaseException) -> str:
    """What a broken answer did, in words."""
    if isinstance(exc, http.client.RemoteDisconnected):
        return "it closed the connection without answering"
    if isinstance(exc, http.client.IncompleteRead):
        return f"the body ended early ({len(exc.partial):,} bytes read)"
    if isinstance(exc, http.client.BadStatusLine):
        return f"not an HTTP status line: {str(exc)[:80]!r}"
    if isinstance(exc, ValueError) and not isinstance(exc, UnicodeError):
        return "a malformed chunk size or header"
    text = str(exc) or type(exc).__name__
    return text[:200]


def _deeper_than(value: Json, limit: int) -> bool:
    """Whether ``value`` nests arrays and objects more than ``limit`` deep (no recursion; the
    stack holds one iterator per level, never a wide list's items)."""
    if not isinstance(value, dict | list):
        return False
    stack = [iter(value.values() if isinstance(value, dict) else value)]
    while stack:
        for child in stack[-1]:
            if isinstance(child, dict | list):
                if len(stack) >= limit:
                    return True
                stack.append(iter(child.values() if isinstance(child, dict) else child))
                break
        else:
            stack.pop()
    return False


def retry_after(value: str | None) -> float:
    """Seconds from a ``Retry-After`` (delta-seconds or an HTTP date); 1 when absent or unreadable."""
    if value is None:
        return 1.0
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return 1.0
    return max(0.0, when.timestamp() - time.time())


class EngineTransport:
    """The mock in process: the same pipeline ``serve`` runs, without a socket."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def send(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Answer:
        request = MockRequest(
            method=method,
            path=path,
            query=parse_qs(query, keep_blank_values=True) if query else {},
            headers=dict(headers),
            body=body,
        )
        response = self.engine.handle(request)
        raw = b"" if response.body is None else json.dumps(response.body).encode("utf-8")
        if response.raw is not None:
            raw = response.raw
        return Answer.make(response.status, response.headers.items(), raw)
