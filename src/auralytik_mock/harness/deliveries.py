"""Webhook deliveries: real HTTP POSTs, signed, retried on the mock's clock.

Owns: the ``webhook.deliver`` task (``core/webhooks.py`` schedules one per event and
webhook): the envelope checked against the spec's top-level ``webhooks`` section before it
is sent (a body outside it is never sent: the attempt is listed ``failed`` with
``MOCK_CONTRACT_VIOLATION``), signed (``auralytik_mock.webhooks.sign``), POSTed from a
bounded worker pool (``WORKERS`` threads, at most ``MAX_IN_FLIGHT`` waiting: request
handling never waits for a receiver), with a ``TIMEOUT``-second deadline, redirects never
followed, and the address checked again after DNS resolution (a name that resolves to a
cloud metadata address is refused; a host ``--webhook-hosts`` does not allow is refused
before any lookup). Every attempt is recorded; a failed one is retried ``RETRY_DELAYS``
later on the dataset's clock, ``len(RETRY_DELAYS) + 1`` attempts in all (a refused one is not).
Advancing a pinned clock waits for the attempts it started (``settle``), so one advance
runs a whole retry schedule.
May import: ``core`` (errors, scheduler, store, types, webhooks), ``webhooks`` (signing, the
address policy); the engine is passed in.
"""

from __future__ import annotations

import http.client
import json
import logging
import secrets
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..core.scheduler import later, parse_time
from ..core.types import Json
from ..core.webhooks import DELIVER
from ..webhooks import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, address_refusal, sign
from ..webhooks import is_metadata as metadata_address

if TYPE_CHECKING:
    from .sandbox import Engine

log = logging.getLogger("auralytik_mock")

#: Seconds after a failed attempt the next one is due (then no more): 6 attempts over ~7 h.
RETRY_DELAYS = (30, 120, 600, 3600, 21600)
#: A receiver that has not answered within this many seconds has failed the attempt.
TIMEOUT = 10.0
#: Threads that POST.
WORKERS = 4
#: Attempts waiting for a thread at most; past it an attempt fails at once (and is retried).
MAX_IN_FLIGHT = 1000
#: The most of a receiver's answer read (the rest is dropped).
MAX_ANSWER_BYTES = 64 * 1024
#: How long an advance waits for the attempts it started, in seconds.
SETTLE_TIMEOUT = TIMEOUT + 5
USER_AGENT = "auralytik-mock-webhooks/1"


class Deliverer:
    """Runs ``engine``'s webhook deliveries (built once by the engine; ``close`` stops it)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        self._done = threading.Condition()
        engine.scheduler.register(DELIVER, self.deliver)
        engine.timekeeper.settlers.append(self.settle)

    # -- the task ------------------------------------------------------------------

    def deliver(self, namespace: str, payload: dict[str, Json]) -> None:
        """One attempt (the ``webhook.deliver`` task): check, sign, hand to the pool."""
        webhook_id, client = str(payload.get("webhookId")), str(payload.get("clientId"))
        envelope = payload.get("envelope")
        attempt = payload.get("attempt")
        hook = self.engine.webhooks.get(namespace, client, webhook_id)
        if hook is None or not hook.get("active") or not isinstance(envelope, dict) or not isinstance(attempt, int):
            return  # deleted or made inactive meanwhile: it receives nothing
        now = self.engine.now(namespace)
        problems = self._violations(envelope)
        if problems:
            log.error("webhook %s: event %s not sent, outside the spec: %s", webhook_id, envelope.get("id"), problems)
            self._record(namespace, client, webhook_id, envelope, attempt, now, None, 0.0, problems, retry=False)
            return
        body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        stamp = str(int(parse_time(now).timestamp()))
        delivery_id = "dlv_" + secrets.token_hex(8)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: str(envelope.get("event")),
            DELIVERY_HEADER: delivery_id,
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(str(hook["signing_secret"]), stamp, body),
        }
        with self._done:
            if sum(self._in_flight.values()) >= MAX_IN_FLIGHT:
                busy = True
            else:
                busy = False
                self._in_flight[namespace] = self._in_flight.get(namespace, 0) + 1
        if busy:
            self._record(namespace, client, webhook_id, envelope, attempt, now, None, 0.0, "delivery queue full")
            return
        job = (namespace, client, webhook_id, envelope, attempt, now, str(hook["url"]), headers, body, delivery_id)
        try:
            self._executor().submit(self._send, *job)
        except RuntimeError:  # closed
            self._finished(namespace)

    def _violations(self, envelope: dict[str, Json]) -> str | None:
        world = self.engine.world
        event = str(envelope.get("event"))
        name = event.replace("~", "~0").replace("/", "~1")
        for pointer in (
            f"/webhooks/{name}/post/requestBody/content/application~1json/schema",
            "/components/schemas/WebhookEnvelope",
        ):
            try:
                world.spec.lookup(pointer)
            except (KeyError, IndexError, TypeError):
                continue
            found = world.schemas.check(pointer, envelope, "body", strict=True)
            if found:
                return "MOCK_CONTRACT_VIOLATION: " + "; ".join(f"{v.field} {v.message}" for v in found)
            return None
        return None

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="auralytik-mock-webhook")
            return self._pool

    def _send(
        self,
        namespace: str,
        client: str,
        webhook_id: str,
        envelope: dict[str, Json],
        attempt: int,
        attempted_at: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
        delivery_id: str,
    ) -> None:
        started = time.perf_counter()
        try:
            status, error = post(url, headers, body, self.engine.config.webhook_hosts)
        except Exception as exc:  # a bug here must not lose the attempt
            log.exception("webhook %s: delivery failed unexpectedly", webhook_id)
            status, error = None, f"unexpected error: {exc}"
        duration = round((time.perf_counter() - started) * 1000, 3)
        refused = error is not None and error.startswith("refused:")  # retrying cannot help
        try:
            self._record(
                namespace,
                client,
                webhook_id,
                envelope,
                attempt,
                attempted_at,
                status,
                duration,
                error,
                delivery_id,
                retry=not refused,
            )
        finally:
            self._finished(namespace)

    def _record(
        self,
        namespace: str,
        client: str,
        webhook_id: str,
        envelope: dict[str, Json],
        attempt: int,
        attempted_at: str,
        status: int | None,
        duration: float,
        error: str | None,
        delivery_id: str | None = None,
        retry: bool = True,
    ) -> None:
        delivered = status is not None and 200 <= status < 300 and error is None
        next_retry: str | None = None
        if not delivered and retry and attempt <= len(RETRY_DELAYS):
            # The dataset's clock now: an advance waiting in ``settle`` holds it at the attempt's time.
            next_retry = later(self.engine.now(namespace), RETRY_DELAYS[attempt - 1])
        if error is None and not delivered:
            error = f"the receiver answered {status}"
        self.engine.webhooks.record_attempt(
            namespace,
            client,
            webhook_id,
            {
                "id": delivery_id or "dlv_" + secrets.token_hex(8),
                "webhookId": webhook_id,
                "eventId": envelope.get("id"),
                "event": envelope.get("event"),
                "attempt": attempt,
                "status": "delivered" if delivered else "failed",
                "responseStatus": status,
                "durationMs": duration,
                "error": None if delivered else error,
                "attemptedAt": attempted_at,
                "nextRetryAt": next_retry,
            },
        )
        if next_retry is not None:
            payload: dict[str, Json] = {
                "webhookId": webhook_id,
                "clientId": client,
                "attempt": attempt + 1,
                "envelope": envelope,
            }
            try:
                self.engine.scheduler.schedule(namespace, next_retry, DELIVER, payload)
            except Exception:
                log.exception("webhook %s: the retry could not be scheduled", webhook_id)

    def _finished(self, namespace: str) -> None:
        with self._done:
            left = self._in_flight.get(namespace, 1) - 1
            if left > 0:
                self._in_flight[namespace] = left
            else:
                self._in_flight.pop(namespace, None)
            self._done.notify_all()

    # -- waiting and stopping ------------------------------------------------------

    def settle(self, namespace: str, timeout: float = SETTLE_TIMEOUT) -> bool:
        """Wait until ``namespace`` has no attempt in flight; returns whether it has none."""
        deadline = time.monotonic() + timeout
        with self._done:
            while self._in_flight.get(namespace):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._done.wait(left)
        return True

    def close(self) -> None:
        """Stop the pool (attempts in flight finish)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def post(url: str, headers: dict[str, str], body: bytes, allowed: tuple[str, ...]) -> tuple[int | None, str | None]:
    """POST ``body`` to ``url``: ``(status, None)`` on an answer, ``(None, why)`` otherwise.

    The host must pass ``address_refusal`` and every address it resolves to must not be a
    cloud metadata address; the connection goes to the address checked (no second lookup).
    Redirects are answers like any other (not followed).
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        given_port = parts.port
    except ValueError as exc:
        return None, f"refused: not a URL ({exc})"
    refusal = address_refusal(host, allowed)
    if refusal is not None:
        return None, f"refused: {refusal}"
    secure = parts.scheme == "https"
    port = given_port or (443 if secure else 80)
    deadline = time.monotonic() + TIMEOUT
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return None, f"cannot resolve {host}: {exc}"
    addresses = [info[4][0] for info in infos]
    for address in addresses:
        if metadata_address(str(address)):
            return None, f"refused: {host} resolves to {address}, a cloud metadata address"
    if not addresses:
        return None, f"cannot resolve {host}"
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            sock.connect(sockaddr)
        except TimeoutError:
            return None, f"no answer within {TIMEOUT:g} s (connect)"
        except OSError as exc:
            return None, f"cannot connect to {host}:{port}: {exc.strerror or exc}"
        if secure:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        connection = http.client.HTTPConnection(host, port, timeout=max(0.1, deadline - time.monotonic()))
        connection.sock = sock
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", path, body=body, headers=headers)
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            answer = connection.getresponse()
            answer.read(MAX_ANSWER_BYTES)
            return answer.status, None
        except TimeoutError:
            return None, f"no answer within {TIMEOUT:g} s"
        except (OSError, http.client.HTTPException) as exc:
            return None, f"the connection failed: {exc}"
        finally:
            connection.close()
    except ssl.SSLError as exc:
        return None, f"TLS failed: {exc}"
    finally:
        sock.close()
