"""What happened, as the vendor's webhooks tell it: ``evaluation.completed``, ``audio.processed``...

Owns: the ``Events`` every ``Engine`` has (``engine.events``; a handler reaches it as
``call.events``): ``emit(namespace, client_id, event, data) -> event id`` builds the
webhook envelope ``{"id": "evt_...", "event": ..., "timestamp": <the namespace's now>,
"data": {...}}``, records it in the namespace's bounded log (the last ``MAX_EVENTS``) and
hands it to every listener (``listen``: the webhook registry, which schedules one
delivery per active webhook of that client subscribed to the event; ``only=webhook_id``:
that webhook alone, whatever its events, as ``POST /webhooks/{id}/test`` sends). A listener that
raises is logged; ``emit`` never raises for it.

``client_id`` is the client whose records the event is about (``call.principal.client_id``):
webhooks are a client's, like every record, and only that client's webhooks hear it.

Example::

    event_id = engine.events.emit(namespace, client_id, "audio.transcribed", {"audioFileId": "af_1"})
    engine.events.recent(namespace)  # [{"id": "evt_...", "event": "audio.transcribed", ...}]

No IO, no threads.
May import: ``types``.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import deque
from collections.abc import Callable

from .types import Json

log = logging.getLogger("auralytik_mock")

#: Events a namespace's log keeps (the oldest go first).
MAX_EVENTS = 1_000

#: Hears every event: ``listener(namespace, client_id, envelope, only)`` (``only``: the one
#: webhook it is for, or ``None``).
Listener = Callable[[str, str, dict[str, Json], str | None], None]


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(8)


class Events:
    """Each namespace's recent events and who hears them.

    :param now: a namespace's now (its pinned clock or the real time), RFC 3339 UTC.
    """

    def __init__(self, now: Callable[[str], str], max_events: int = MAX_EVENTS) -> None:
        self._now = now
        self.max_events = max_events
        self._log: dict[str, deque[tuple[str, dict[str, Json]]]] = {}
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def listen(self, listener: Listener) -> None:
        """Call ``listener(namespace, client_id, envelope, only)`` on every event from now on."""
        self._listeners.append(listener)

    def emit(
        self, namespace: str, client_id: str, event: str, data: dict[str, Json], *, only: str | None = None
    ) -> str:
        """Record ``event`` with ``data`` for ``client_id`` in ``namespace`` and tell the listeners.

        :param only: the one webhook the event is for (a test event); ``None``: every subscriber.

        :return: the event's id (``evt_...``), the ``id`` of the envelope its webhooks receive.
        """
        envelope: dict[str, Json] = {
            "id": new_event_id(),
            "event": event,
            "timestamp": self._now(namespace),
            "data": data,
        }
        with self._lock:
            self._log.setdefault(namespace, deque(maxlen=self.max_events)).append((client_id, envelope))
        for listener in list(self._listeners):
            try:
                listener(namespace, client_id, envelope, only)
            except Exception:
                log.exception("a listener of %s failed in %s", event, namespace)
        return str(envelope["id"])

    def recent(self, namespace: str, client_id: str | None = None) -> list[dict[str, Json]]:
        """``namespace``'s logged events, oldest first (only ``client_id``'s when given)."""
        with self._lock:
            entries = list(self._log.get(namespace, ()))
        return [envelope for owner, envelope in entries if client_id is None or owner == client_id]

    def drop(self, namespace: str) -> None:
        """Forget ``namespace``'s events (a session deleted or reset)."""
        with self._lock:
            self._log.pop(namespace, None)
