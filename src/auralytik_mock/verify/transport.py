"""Sending verify's calls: to the target over HTTP(S), to the mock in process.

Owns: ``HttpTransport`` (one origin, one call at a time, no redirect followed, a 429
waited out as ``Retry-After`` says within ``max_wait``) and ``EngineTransport`` (the same
pipeline ``serve`` runs, without a socket).

Does network IO (``http.client``). May import: ``answer``, ``options``, ``core.pipeline``,
``core.types``.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import ssl
import time
from collections.abc import Callable, Mapping
from urllib.parse import parse_qs, quote, urlsplit

from ..core.pipeline import Engine
from ..core.types import MockRequest
from .answer import Answer
from .options import VerifyError


class HttpTransport:
    """Calls one origin over HTTP(S), one call at a time, never following a redirect.

    :param base_url: the target, e.g. ``https://api.auralytik.com/v1``.
    :param max_wait: the longest ``Retry-After`` waited out; longer stops the run.
    :param max_retries: how many 429s in a row are waited out per call.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        max_wait: float = 120.0,
        max_retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        say: Callable[[str], None] = print,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise VerifyError(f"--base-url must be an http:// or https:// URL, got {base_url!r}")
        if parts.query or parts.fragment:
            raise VerifyError("--base-url takes no query string or fragment")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.base_path = parts.path.rstrip("/")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.timeout = timeout
        self.max_wait = max_wait
        self.max_retries = max_retries
        self.sleep = sleep
        self.say = say
        self.calls = 0
        self.waits: list[float] = []

    def _connection(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def send(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Answer:
        target = quote(path, safe="/%:@!$&'()*+,;=-._~") + (f"?{query}" if query else "")
        for attempt in range(self.max_retries + 1):
            self.calls += 1
            connection = self._connection()
            try:
                connection.request(method, target, body=body or None, headers=dict(headers))
                response = connection.getresponse()
                answer = Answer.make(response.status, response.getheaders(), response.read())
            except (OSError, http.client.HTTPException) as exc:
                raise VerifyError(f"cannot reach {self.origin}: {exc}") from None
            finally:
                connection.close()
            if answer.status != 429 or attempt == self.max_retries:
                return answer
            wait = retry_after(answer.headers.get("retry-after"))
            if wait > self.max_wait:
                raise VerifyError(
                    f"the target rate-limits for {wait:.0f} s (Retry-After), more than --max-wait {self.max_wait:.0f} s"
                )
            self.say(f"  429 from the target: waiting {wait:.0f} s as Retry-After says")
            self.waits.append(wait)
            self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover


def retry_after(value: str | None) -> float:
    """Seconds from a ``Retry-After`` (delta-seconds or an HTTP date); 1 when absent or unreadable."""
    if value is None:
        return 1.0
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
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
