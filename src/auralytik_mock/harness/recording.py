"""What the mock keeps of each API call: its journal entry and its access-log line.

Owns: ``record``, called by ``Engine.handle`` once per API call (never for ``/__mock``): the
time the client waits (the mock's own and the delay injected after it), the access-log line
(``serve`` writes one unless ``--quiet``), the call counted for ``x-mock-usage``, and the entry in the journal of
the caller's dataset (a session's from its first request on; the default dataset's if the
session was deleted meanwhile), its body kept as bytes and marked JSON only when it is a
whole JSON document.
No Flask, no socket.
May import: ``core`` (errors, journal, jsontext, pipeline, store, types); the engine is passed in.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..core.errors import ApiError, NotFoundError, Violation
from ..core.journal import JOURNAL_BODY_BYTES, mask_key
from ..core.jsontext import decode_json
from ..core.pipeline import Seen
from ..core.store import DEFAULT_NAMESPACE
from ..core.types import MockRequest, MockResponse

if TYPE_CHECKING:
    from .sandbox import Engine


def record(
    engine: Engine,
    request: MockRequest,
    response: MockResponse,
    request_id: str,
    seen: Seen,
    details: tuple[Violation, ...],
    started: float,
) -> None:
    """Log and journal one answered API call (``started``: its ``time.perf_counter()`` on arrival)."""
    op, principal = seen.operation, seen.principal
    # What the client waits: the mock's own time and the delay injected after it.
    delay_ms = round(response.delay * 1000, 3)
    elapsed_ms = round((time.perf_counter() - started) * 1000 + delay_ms, 3)
    if engine.config.access_log:
        engine.access_log.add(request.method, request.path, response.status, elapsed_ms, request_id)
    # The body is kept as bytes (cut at JOURNAL_BODY_BYTES), never as a parsed tree;
    # whether it is a whole JSON document is decided here, once. Only bytes that
    # ``decode_json`` read are marked as JSON: the journal splices them in verbatim, so a
    # body nobody decoded (a GET's, an operation without a request body) must never be
    # (it forged journal entries and broke the journal's JSON).
    raw = request.body
    body_json = bool(raw) and seen.body_parsed and seen.body is not None
    if raw and not body_json and len(raw) <= JOURNAL_BODY_BYTES:
        try:
            decode_json(raw)  # strict and depth-safe: never raises anything else
            body_json = True
        except ApiError:
            pass
    caller = seen.caller or engine.pipeline.identify(engine.world, request)
    namespace = principal.namespace if principal else caller.namespace
    # A session's journal from its first request on (its state is made on first use).
    try:
        state = engine.session(namespace)
    except NotFoundError:  # deleted meanwhile: the call is the default dataset's to show
        state = engine.session(DEFAULT_NAMESPACE)
    if principal is not None and op is not None:  # what GET /usage/* counts
        engine.world.store.count_call(principal, engine.now(principal.namespace))
        if engine.persister is not None:
            engine.persister.counted()
    state.journal.add(
        {
            "id": request_id,
            "_at": time.time(),
            "method": request.method,
            "path": request.path,
            "query": {k: list(v) for k, v in request.query.items()},
            "operationId": op.operation_id if op else None,
            "apiKey": mask_key(caller.key) if caller.sent else None,
            "clientId": principal.client_id if principal else None,
            "session": namespace,
            "status": response.status,
            "errorCode": seen.error_code
            if seen.error_code is not None
            else response.body["error"].get("code")
            if isinstance(response.body, dict) and isinstance(response.body.get("error"), dict)
            else None,
            "validationErrors": [v.as_json() for v in details],
            "durationMs": elapsed_ms,
            "delayMs": delay_ms,
        },
        raw,
        body_json,
    )
