"""The vendor's webhook registrations: ``x-mock-webhooks``.

Owns: the ``WebhookRegistry`` every ``Engine`` has (``engine.webhooks``, ``call.webhooks``):
each dataset's webhooks per client (at most ``MAX_WEBHOOKS`` a client), their signing
secrets (``whsec_``, shown in the create answer only), their delivery attempts (the last
``MAX_ATTEMPTS_KEPT`` a webhook), and, listening to ``Events``, one ``webhook.deliver`` task
per active webhook of the event's client subscribed to it (``POST .../test``: that webhook
only). The handlers of the operations marked ``x-mock-webhooks: list|create|update|delete|
test|deliveries``. A URL is checked when written (http or https, never a cloud metadata
address); the delivery itself (``--webhook-hosts``, DNS, HTTP, retries) is the harness's
(``harness/deliveries.py``). ``--persist`` saves the webhooks (``dump``/``restore``);
a dataset reset or deleted loses its own.
No IO.
May import: ``config``, ``webhooks`` (the address policy), ``crud`` (types only), ``errors``,
``events`` (types), ``scheduler``, ``spec``, ``types``.
"""

from __future__ import annotations

import logging
import secrets
import string
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..webhooks import address_refusal, is_metadata
from .errors import ApiError, ConflictError, InvalidRequestError, NotFoundError, SpecError, Violation
from .scheduler import Scheduler
from .spec import Operation, Spec
from .types import Json, MockResponse

if TYPE_CHECKING:
    from .crud import Call

log = logging.getLogger("auralytik_mock")

NAME = "x-mock-webhooks"
ROLES = ("list", "create", "update", "delete", "test", "deliveries")
#: The task kind of one delivery attempt (the harness registers its function).
DELIVER = "webhook.deliver"
#: Webhooks a client may hold.
MAX_WEBHOOKS = 100
#: Delivery attempts kept per webhook (the oldest go first).
MAX_ATTEMPTS_KEPT = 100
TEST_EVENT = "webhook.test"
_PUBLIC = ("id", "url", "events", "description", "active", "created_at")
_ALPHABET = string.ascii_letters + string.digits


def new_secret() -> str:
    return "whsec_" + "".join(secrets.choice(_ALPHABET) for _ in range(32))


def public(record: dict[str, Json]) -> dict[str, Json]:
    """A webhook as list and update answer it: without its secret."""
    return {k: record.get(k) for k in _PUBLIC}


def url_problem(url: object) -> str | None:
    """Why ``url`` may never receive deliveries (not http or https, a cloud metadata host), or
    ``None``. Whether ``--webhook-hosts`` allows its host is decided at each delivery (an
    attempt elsewhere is listed as refused): a schema-valid URL is always registered."""
    if not isinstance(url, str):
        return "must be a string"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return None  # the spec's pattern let it through: the delivery says what is wrong
    if parts.scheme not in ("http", "https"):
        return "must be an http or https URL"
    if is_metadata(host):
        return address_refusal(host)
    return None


class WebhookRegistry:
    """Each dataset's webhooks, per client.

    :param scheduler: where deliveries are scheduled (``DELIVER`` tasks).
    """

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self._hooks: dict[str, dict[str, dict[str, dict[str, Json]]]] = {}  # ns -> client -> id -> record
        self._attempts: dict[tuple[str, str, str], deque[dict[str, Json]]] = {}
        self._lock = threading.Lock()

    # -- records -------------------------------------------------------------------

    def _client(self, namespace: str, client_id: str) -> dict[str, dict[str, Json]]:
        return self._hooks.setdefault(namespace, {}).setdefault(client_id, {})

    def get(self, namespace: str, client_id: str, webhook_id: str) -> dict[str, Json] | None:
        """The webhook with its secret (a copy), or ``None``."""
        with self._lock:
            found = self._hooks.get(namespace, {}).get(client_id, {}).get(webhook_id)
            return dict(found) if found is not None else None

    def _found(self, namespace: str, client_id: str, webhook_id: str) -> dict[str, Json]:
        found = self._hooks.get(namespace, {}).get(client_id, {}).get(webhook_id)
        if found is None:
            raise NotFoundError(f"No webhook with id {webhook_id!r}.")
        return found

    def listing(self, namespace: str, client_id: str) -> list[dict[str, Json]]:
        """The client's webhooks, newest first, without their secrets."""
        with self._lock:
            records = list(self._hooks.get(namespace, {}).get(client_id, {}).values())
        return [public(r) for r in reversed(records)]

    def _check_url(self, url: Json) -> None:
        problem = url_problem(url)
        if problem is not None:
            raise InvalidRequestError(
                f"The webhook URL cannot receive deliveries: {problem}.", details=[Violation("body.url", problem)]
            )

    def create(self, namespace: str, client_id: str, body: dict[str, Json], now: str) -> dict[str, Json]:
        """Register a webhook; answers it with its secret (the only time it is shown).

        :raises InvalidRequestError: a URL deliveries may never go to (a cloud metadata host).
        :raises ConflictError: the client holds ``MAX_WEBHOOKS`` already (409 ``WEBHOOK_LIMIT``).
        """
        self._check_url(body.get("url"))
        record: dict[str, Json] = {
            "id": "wh_" + secrets.token_hex(4),
            "url": body["url"],
            "events": list(body["events"]) if isinstance(body.get("events"), list) else [],
            "description": body.get("description"),
            "active": body.get("active", True) is not False,
            "signing_secret": new_secret(),
            "created_at": now,
        }
        with self._lock:
            hooks = self._client(namespace, client_id)
            if len(hooks) >= MAX_WEBHOOKS:
                raise ConflictError(
                    f"A client holds at most {MAX_WEBHOOKS} webhooks; delete one first.", code="WEBHOOK_LIMIT"
                )
            while record["id"] in hooks:
                record["id"] = "wh_" + secrets.token_hex(4)
            hooks[str(record["id"])] = record
        return dict(record)

    def update(self, namespace: str, client_id: str, webhook_id: str, changes: dict[str, Json]) -> dict[str, Json]:
        """Change the fields ``changes`` names; answers the webhook without its secret.

        :raises NotFoundError: no such webhook for this client.
        :raises InvalidRequestError: a URL deliveries may never go to (a cloud metadata host).
        """
        if "url" in changes:
            self._check_url(changes["url"])
        with self._lock:
            record = self._found(namespace, client_id, webhook_id)
            for name in ("url", "events", "description", "active"):
                if name in changes:
                    record[name] = changes[name]
            return public(record)

    def delete(self, namespace: str, client_id: str, webhook_id: str) -> None:
        """Forget the webhook and its attempts (its pending deliveries find it gone and stop).

        :raises NotFoundError: no such webhook for this client.
        """
        with self._lock:
            self._found(namespace, client_id, webhook_id)
            del self._hooks[namespace][client_id][webhook_id]
            self._attempts.pop((namespace, client_id, webhook_id), None)

    # -- attempts ------------------------------------------------------------------

    def record_attempt(self, namespace: str, client_id: str, webhook_id: str, attempt: dict[str, Json]) -> None:
        """Keep one delivery attempt (nothing when the webhook is gone meanwhile)."""
        with self._lock:
            if webhook_id not in self._hooks.get(namespace, {}).get(client_id, {}):
                return
            key = (namespace, client_id, webhook_id)
            self._attempts.setdefault(key, deque(maxlen=MAX_ATTEMPTS_KEPT)).append(attempt)

    def attempts(self, namespace: str, client_id: str, webhook_id: str) -> list[dict[str, Json]]:
        """The webhook's delivery attempts, newest first.

        :raises NotFoundError: no such webhook for this client.
        """
        with self._lock:
            self._found(namespace, client_id, webhook_id)
            return list(reversed(self._attempts.get((namespace, client_id, webhook_id), ())))

    def all_attempts(self, namespace: str) -> list[dict[str, Json]]:
        """Every attempt of the dataset, newest first, with its ``clientId`` (the admin API)."""
        with self._lock:
            found = [
                {**attempt, "clientId": client}
                for (ns, client, _), attempts in self._attempts.items()
                if ns == namespace
                for attempt in attempts
            ]
        return sorted(found, key=lambda a: (str(a.get("attemptedAt")), str(a.get("id"))), reverse=True)

    # -- events --------------------------------------------------------------------

    def hear(self, namespace: str, client_id: str, envelope: dict[str, Json], only: str | None = None) -> None:
        """An event happened (``Events`` listener): schedule one delivery per active webhook
        of ``client_id`` subscribed to it (``only``: that webhook, whatever its events)."""
        with self._lock:
            hooks = list(self._hooks.get(namespace, {}).get(client_id, {}).values())
        for hook in hooks:
            if not hook.get("active"):
                continue
            if only is not None:
                if hook["id"] != only:
                    continue
            elif envelope.get("event") not in (hook.get("events") or []):
                continue
            payload: dict[str, Json] = {
                "webhookId": hook["id"],
                "clientId": client_id,
                "attempt": 1,
                "envelope": envelope,
            }
            self.scheduler.after(namespace, 0, DELIVER, payload)

    # -- datasets and --persist ----------------------------------------------------

    def drop(self, namespace: str) -> None:
        """Forget ``namespace``'s webhooks and attempts (a dataset reset or deleted)."""
        with self._lock:
            self._hooks.pop(namespace, None)
            for key in [k for k in self._attempts if k[0] == namespace]:
                del self._attempts[key]

    def dump(self) -> dict[str, Json]:
        """``{namespace: {client: [webhook with secret]}}`` (what ``--persist`` saves)."""
        with self._lock:
            return {
                ns: {client: [dict(r) for r in hooks.values()] for client, hooks in clients.items() if hooks}
                for ns, clients in self._hooks.items()
                if any(clients.values())
            }

    def restore(self, document: object, where: str = "webhooks") -> None:
        """Load what ``dump`` wrote. :raises ValueError: not that shape (the message says where)."""
        if document is None:
            return
        if not isinstance(document, dict):
            raise ValueError(f"{where}: must be a mapping of dataset to clients' webhooks")
        for namespace, clients in document.items():
            if not isinstance(clients, dict):
                raise ValueError(f"{where}.{namespace}: must be a mapping of client to webhooks")
            for client, hooks in clients.items():
                if not isinstance(hooks, list):
                    raise ValueError(f"{where}.{namespace}.{client}: must be a list of webhooks")
                for i, hook in enumerate(hooks):
                    if not (
                        isinstance(hook, dict)
                        and isinstance(hook.get("id"), str)
                        and isinstance(hook.get("url"), str)
                        and isinstance(hook.get("signing_secret"), str)
                        and isinstance(hook.get("events"), list)
                    ):
                        raise ValueError(f"{where}.{namespace}.{client}[{i}]: a webhook has id, url, events, secret")
                    with self._lock:
                        self._client(str(namespace), str(client))[hook["id"]] = dict(hook)


# -- the operations ----------------------------------------------------------------


def _role(spec: Spec, op: Operation) -> str | None:
    found = spec.operation_extension(op, NAME)
    if found is None:
        return None
    raw, where = found
    if raw not in ROLES:
        raise SpecError(f"{where}: must be one of {', '.join(ROLES)}")
    return str(raw)


def bind_webhooks(spec: Spec) -> dict[str, Callable[[Call], MockResponse]]:
    """A handler for every operation of ``spec`` marked ``x-mock-webhooks``, by operationId.

    :raises SpecError: an unknown role.
    """
    bound: dict[str, Callable[[Call], MockResponse]] = {}
    for op in spec.operations:
        role = _role(spec, op)
        if role is not None:
            bound[op.operation_id] = _handler(op, role)
    return bound


def _page(call: Call, items: list[dict[str, Json]]) -> dict[str, Json]:
    query = call.request.query
    size = int(str(query.get("pageSize") or 25))
    page = int(str(query.get("page") or 1))
    shown: list[Json] = list(items[(page - 1) * size : page * size])
    return {"data": shown, "page": page, "pageSize": size, "totalCount": len(items)}


def _handler(op: Operation, role: str) -> Callable[[Call], MockResponse]:
    def answer(call: Call) -> MockResponse:
        registry = call.webhooks
        if registry is None:
            raise ApiError("Webhooks need the engine's registry (an Engine builds every mock).")
        namespace, client = call.principal.namespace, call.principal.client_id
        webhook_id = str(call.request.path.get("id", ""))
        body = call.request.body if isinstance(call.request.body, dict) else {}
        if role == "list":
            return MockResponse(op.success_status, _page(call, registry.listing(namespace, client)))
        if role == "create":
            return MockResponse(op.success_status, registry.create(namespace, client, body, call.now))
        if role == "update":
            return MockResponse(op.success_status, registry.update(namespace, client, webhook_id, body))
        if role == "delete":
            registry.delete(namespace, client, webhook_id)
            return MockResponse(op.success_status, None)
        if role == "deliveries":
            return MockResponse(op.success_status, _page(call, registry.attempts(namespace, client, webhook_id)))
        # test
        hook = registry.get(namespace, client, webhook_id)
        if hook is None:
            raise NotFoundError(f"No webhook with id {webhook_id!r}.")
        if not hook.get("active"):
            raise ConflictError(
                f"Webhook {webhook_id!r} is inactive; set active: true to send it events.", code="WEBHOOK_INACTIVE"
            )
        if call.events is None:
            raise ApiError("Test events need the engine's events (an Engine builds every mock).")
        data: dict[str, Json] = {"webhookId": webhook_id, "message": "A test event from auralytik-mock."}
        event_id = call.events.emit(namespace, client, TEST_EVENT, data, only=webhook_id)
        return MockResponse(
            op.success_status, {"webhookId": webhook_id, "eventId": event_id, "event": TEST_EVENT, "status": "queued"}
        )

    return answer
