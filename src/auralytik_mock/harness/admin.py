"""The admin API under ``/__mock/``: what tests and CI use to steer the mock.

Owns: the routes and their dispatch, each route's body limit, and the endpoints for reset,
the request journal, state dump and load, fault rules, isolated sessions, the readiness
probe, webhook deliveries and the clock. Bodies are parsed by ``admin_bodies``; the spec
and its docs page are ``docs_page``'s. Never collides with API paths (the vendor has no
``/__mock``) and needs no API key. No Flask.
May import: ``admin_bodies``, ``docs_page``, ``sandbox`` (its ``Engine``'s public methods),
``faults``, ``journal``, ``store``, ``jsontext``, ``errors``, ``types``. The pipeline never
imports this module: ``http/wsgi.py`` mounts it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..core.errors import (
    FixtureError,
    InvalidRequestError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    Violation,
)
from ..core.faults import FaultRule
from ..core.journal import render_entries
from ..core.jsontext import storable_problem
from ..core.store import DEFAULT_NAMESPACE
from ..core.types import Json, MockRequest, MockResponse
from .admin_bodies import json_body, object_body
from .docs_page import docs_asset, docs_page, spec_json, spec_yaml

if TYPE_CHECKING:
    from .sandbox import Engine

AdminHandler = Callable[["Engine", MockRequest, list[str]], MockResponse]

#: The body limit of every admin route but the state load: a fault rule, a clock or a
#: session takes a few hundred bytes. A 64 MiB ``[{},...]`` to ``/__mock/faults`` once
#: took 4.6 GB and 45 s to parse before it was refused.
SMALL_BODY_BYTES = 64 * 1024
#: The routes whose bodies may be large (``Config.max_admin_body_bytes``): state loads.
LARGE_BODIES: dict[tuple[str, ...], frozenset[str]] = {("state",): frozenset({"PUT"})}


def _parts(path: str) -> tuple[str, ...]:
    return tuple(p for p in path[len("/__mock") :].split("/") if p)


def body_limit(max_admin_body_bytes: int, method: str, path: str) -> int:
    """The largest body ``method path`` (an admin route) takes: ``max_admin_body_bytes`` for a
    state load, ``SMALL_BODY_BYTES`` (or less) for every other route.

    The HTTP servers ask this when a request's head arrives, so a larger body is refused
    (413) before it is read; ``handle`` checks it again for any other adapter.
    """
    if method.upper() in LARGE_BODIES.get(_parts(path), frozenset()):
        return max_admin_body_bytes
    return min(SMALL_BODY_BYTES, max_admin_body_bytes)


def _ok(body: Json = None, status: int = 200) -> MockResponse:
    return MockResponse(status, {"status": "ok"} if body is None else body)


def _namespace(request: MockRequest) -> str:
    values = request.query.get("session")
    return values[0] if values else DEFAULT_NAMESPACE


# -- endpoints -------------------------------------------------------------------------


def health(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    """Readiness: the spec and fixtures are loaded and the mock answers."""
    return _ok(
        {
            "status": "ok",
            "spec": engine.spec.document.get("info", {}).get("title"),
            "operations": len(engine.spec.operations),
            "records": engine.store.count(),
            "sessions": len(engine.store.sessions()),
        }
    )


def reset(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    """Back to the fixtures: data, journal, fault rules and clock of the default dataset
    (``?session=ID``: of that session only)."""
    engine.reset(_namespace(request))
    return _ok()


def requests_list(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    """The journal of one session (``?session=ID``; default: the default dataset), oldest first;
    filter with ``method``, ``path``, ``status``, ``operationId``.

    Bodies are spliced in as the journal keeps them (bytes), never parsed here.
    """
    entries = engine.session(_namespace(request)).journal.metadata()
    filters = {
        "method": lambda e, v: e["method"] == v.upper(),
        "path": lambda e, v: e["path"] == v,
        "status": lambda e, v: str(e["status"]) == v,
        "operationId": lambda e, v: e["operationId"] == v,
    }
    for name, values in request.query.items():
        if name == "session":
            continue  # chose the journal above
        check = filters.get(name)
        if check is None:
            raise InvalidRequestError(
                f"Unknown filter {name!r}; use {', '.join(filters)} (and session to pick the journal).",
                details=[Violation(f"query.{name}", "is not a filter")],
            )
        entries = [e for e in entries if check(e, values[0])]
    raw = b'{"requests":' + render_entries(entries) + b',"count":' + str(len(entries)).encode() + b"}"
    return MockResponse(200, None, raw=raw)


def requests_clear(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    engine.session(_namespace(request)).journal.clear()
    return _ok()


def state_get(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    """The whole dataset in the fixtures' format."""
    return _ok(engine.store.dump(_namespace(request)))


def state_put(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    """Replace the dataset with a document in the fixtures' format (JSON or YAML), checked like fixtures."""
    document = json_body(request, allow_yaml=True)
    problem = storable_problem(document, "body")  # YAML too: what is loaded must serve back as JSON
    if problem is not None:
        raise InvalidRequestError(f"The state cannot be stored: {problem.field} {problem.message}.", details=[problem])
    try:
        seed = engine.world.loader.load_documents([("PUT /__mock/state", document)])
    except FixtureError as exc:
        raise InvalidRequestError(str(exc)) from None
    engine.store.load(seed, _namespace(request))
    return _ok({"status": "ok", "records": engine.store.count(_namespace(request))})


def faults_list(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    return _ok({"faults": engine.session(_namespace(request)).faults.as_json()})


def faults_clear(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    engine.session(_namespace(request)).faults.remove()
    return _ok()


def faults_add(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    """Add a rule for one session (``?session=ID``; default: the default dataset):
    ``{"method", "path", "status"|"delayMs"|"drop", "times"}``."""
    rules = engine.session(_namespace(request)).faults
    rule = rules.add(fault_rule(engine, object_body(request)))
    return _ok(rule.as_json(), 201)


def fault_rule(engine: Engine, body: dict[str, Json]) -> FaultRule:
    """The fault rule ``body`` describes (the fields of ``POST /__mock/faults``), checked
    against the spec: the path must route, the status be documented for its operations.

    :raises InvalidRequestError: every problem, each naming its field.
    """
    violations: list[Violation] = []
    allowed = {"method", "path", "status", "delayMs", "drop", "times"}
    for name in sorted(set(body) - allowed):
        violations.append(Violation(f"body.{name}", f"is not an allowed field (allowed: {', '.join(sorted(allowed))})"))
    method = str(body.get("method", "*")).upper()
    path = body.get("path")
    status, delay, drop, times = body.get("status"), body.get("delayMs", 0), body.get("drop", False), body.get("times")
    ops = []
    if not isinstance(path, str) or not path:
        violations.append(Violation("body.path", "is required: an API path or template, e.g. /v1/engagements/{id}"))
    else:
        routed = engine.world.router.route(path)  # a template like /v1/engagements/{id} routes too
        ops = [op for op in routed[0].methods.values() if method in {"*", op.method}] if routed else []
        if not ops:
            violations.append(Violation("body.path", f"no operation of the spec matches {method} {path}"))
    if status is not None:
        if not isinstance(status, int) or isinstance(status, bool):
            violations.append(Violation("body.status", "must be an integer"))
        else:
            undocumented = [op.operation_id for op in ops if not op.documents(status)]
            if undocumented:
                violations.append(Violation("body.status", f"{status} is not documented for {', '.join(undocumented)}"))
    if not isinstance(delay, int) or isinstance(delay, bool) or not 0 <= delay <= 60_000:
        violations.append(Violation("body.delayMs", "must be an integer from 0 to 60000"))
    if not isinstance(drop, bool):
        violations.append(Violation("body.drop", "must be a boolean"))
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        violations.append(Violation("body.times", "must be a positive integer, or null for every call"))
    if not violations and status is None and not delay and not drop:
        violations.append(Violation("body", "give status, delayMs or drop"))
    if violations:
        error = InvalidRequestError.from_violations(violations)
        error.message = f"The fault rule is not valid: {error.message}"
        raise error
    return FaultRule(id="", method=method, path=str(path), status=status, delay_ms=delay, drop=drop, times=times)


def fault_delete(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    if not engine.session(_namespace(request)).faults.remove(params[0]):
        raise NotFoundError(f"No fault rule {params[0]!r}.")
    return _ok()


def sessions_list(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    return _ok({"sessions": engine.store.sessions()})


def session_create(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    """A private copy of the fixtures with fresh API keys, by the fixture key each stands for."""
    namespace, keys = engine.store.create_session()
    body = {
        "id": namespace,
        "keys": {original: principal.key for original, principal in keys.items()},
        "scopes": {principal.key: sorted(principal.scopes) for principal in keys.values()},
        # Signing keys' secrets, shown here once as the vendor's dashboard does.
        "secrets": {p.key: p.secret for p in keys.values() if p.secret is not None},
    }
    return MockResponse(201, body, {"Location": f"/__mock/sessions/{namespace}"})


def session_delete(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    engine.drop_session(params[0])
    return _ok()


def session_reset(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    """The session back to the fixtures: its data, journal, fault rules and clock (its keys stay)."""
    if params[0] not in engine.store.sessions():
        raise NotFoundError(f"No session {params[0]!r}.")
    engine.reset(params[0])
    return _ok()


def deliveries_list(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    """Every webhook delivery attempt of the dataset (``?session=``), newest first, and its events."""
    namespace = _namespace(request)
    engine.session(namespace)  # 404 for no such session
    return _ok({"deliveries": engine.webhooks.all_attempts(namespace), "events": engine.events.recent(namespace)})


def clock_get(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    namespace = _namespace(request)
    return _ok({"now": engine.now(namespace), "pinned": engine.session(namespace).clock is not None})


def clock_put(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    """Pin the clock (``{"now": "2024-01-01T00:00:00Z"}``), free it (``{"now": null}``), or
    move a pinned clock forward (``{"advanceSeconds": 60}``)."""
    body = object_body(request)
    unknown = sorted(set(body) - {"now", "advanceSeconds"})
    if unknown or len(body) != 1:
        raise InvalidRequestError(
            'The clock takes {"now": "2024-01-01T00:00:00Z"}, {"now": null} or {"advanceSeconds": 60}.',
            details=[Violation(f"body.{name}", "is not a field of the clock") for name in unknown]
            or [Violation("body", "give now or advanceSeconds (one of them)")],
        )
    if "now" in body:
        engine.set_clock(body["now"], _namespace(request))
    else:
        engine.advance_clock(body["advanceSeconds"], _namespace(request))
    return clock_get(engine, request, params)


#: (path template parts, {method: handler}); ``*`` matches one path segment.
ROUTES: list[tuple[tuple[str, ...], dict[str, AdminHandler]]] = [
    (("health",), {"GET": health}),
    (("reset",), {"POST": reset}),
    (("requests",), {"GET": requests_list, "DELETE": requests_clear}),
    (("state",), {"GET": state_get, "PUT": state_put}),
    (("faults",), {"GET": faults_list, "POST": faults_add, "DELETE": faults_clear}),
    (("faults", "*"), {"DELETE": fault_delete}),
    (("sessions",), {"GET": sessions_list, "POST": session_create}),
    (("sessions", "*"), {"DELETE": session_delete}),
    (("sessions", "*", "reset"), {"POST": session_reset}),
    (("clock",), {"GET": clock_get, "PUT": clock_put}),
    (("deliveries",), {"GET": deliveries_list}),
    (("openapi.json",), {"GET": spec_json}),
    (("openapi.yaml",), {"GET": spec_yaml}),
    (("docs",), {"GET": docs_page}),
    (("docs", "*"), {"GET": docs_asset}),
]


def register(parts: tuple[str, ...], methods: dict[str, AdminHandler]) -> None:
    """Add an admin route (used by optional features such as the docs page)."""
    ROUTES.append((parts, methods))


def handle(engine: Engine, request: MockRequest) -> MockResponse:
    """Answer a request under ``/__mock``.

    :raises NotFoundError: no such admin path.
    :raises MethodNotAllowedError: with the methods the path takes.
    """
    parts = _parts(request.path)
    for template, methods in ROUTES:
        if len(template) != len(parts) or any(t not in {"*", p} for t, p in zip(template, parts, strict=True)):
            continue
        params = [p for t, p in zip(template, parts, strict=True) if t == "*"]
        method = "GET" if request.method == "HEAD" else request.method
        handler = methods.get(method)
        if handler is None:
            allowed = sorted(set(methods) | ({"HEAD"} if "GET" in methods else set()))
            raise MethodNotAllowedError(f"{request.method} is not allowed on {request.path}.", allowed=allowed)
        limit = body_limit(engine.config.max_admin_body_bytes, method, request.path)
        if request.oversized or len(request.body) > limit:
            raise PayloadTooLargeError(
                f"{method} {request.path} takes a body of {limit} bytes at most"
                + ("." if limit < engine.config.max_admin_body_bytes else " (AURALYTIK_MOCK_MAX_ADMIN_BODY_BYTES).")
            )
        return handler(engine, request, params)
    raise NotFoundError(f"No admin endpoint {request.path}; see the README's admin API table.")
