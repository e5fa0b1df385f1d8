"""The admin API under ``/__mock/``: what tests and CI use to steer the mock.

Owns: reset, the request journal, state dump and load, fault rules, isolated
sessions, the readiness probe, the clock, and serving the spec and its docs page.
Never collides with API paths (the vendor has no ``/__mock``) and needs no API key.
No Flask, no IO beyond reading the bundled docs assets.
May import: ``config``, ``guard``, ``sandbox`` (its ``Engine``'s public methods), ``faults``,
``journal``, ``spec``, ``validation``, ``store``, ``errors``, ``types``, yaml. The pipeline never
imports this module: ``http/wsgi.py`` mounts it.
"""

from __future__ import annotations

import copy
import html
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..config import ADMIN_TOKEN_PATTERN, ADMIN_TOKEN_RULE
from ..core.errors import (
    FixtureError,
    InvalidRequestError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    Violation,
)
from ..core.faults import FaultRule
from ..core.journal import render_entries
from ..core.spec import HMAC
from ..core.store import DEFAULT_NAMESPACE
from ..core.types import Json, MockRequest, MockResponse
from ..core.validation import decode_json, storable_problem
from .guard import ADMIN_TOKEN_COOKIE

if TYPE_CHECKING:
    from .sandbox import Engine

AdminHandler = Callable[["Engine", MockRequest, list[str]], MockResponse]

_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: The body limit of every admin route but the state load: a fault rule, a clock or a
#: session takes a few hundred bytes. A 64 MiB ``[{},...]`` to ``/__mock/faults`` once
#: took 4.6 GB and 45 s to parse before it was refused.
SMALL_BODY_BYTES = 64 * 1024
#: The routes whose bodies may be large (``Config.max_admin_body_bytes``): state loads.
LARGE_BODIES: dict[tuple[str, ...], frozenset[str]] = {("state",): frozenset({"PUT"})}
#: A YAML state body may be this large at most (PyYAML holds about 27 bytes per byte it
#: reads, and reads about 1 MB/s): send JSON for larger states.
MAX_YAML_STATE_BYTES = 8 * 1024 * 1024
#: A JSON state body over ``_DENSE_FROM`` bytes may hold at most one object or array per
#: this many bytes: parsed, an empty ``{}`` costs about 75 bytes (25 times its text), while
#: real states hold one per 135 bytes or so (the bundled fixtures' dump).
STATE_BYTES_PER_CONTAINER = 16
_DENSE_FROM = 1024 * 1024


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


def _json_body(request: MockRequest, *, allow_yaml: bool = False) -> Json:
    content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    if not request.body:
        return None
    if allow_yaml and content_type in {"application/yaml", "application/x-yaml", "text/yaml"}:
        if len(request.body) > MAX_YAML_STATE_BYTES:
            raise PayloadTooLargeError(
                f"A YAML body may be {MAX_YAML_STATE_BYTES} bytes at most (YAML is slow and large to parse); "
                "send the same document as JSON (Content-Type: application/json)."
            )
        try:
            return _yaml_bounded(request.body.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise InvalidRequestError(f"The body is not valid YAML: {exc}") from None
    if content_type not in {"application/json", ""} and not content_type.endswith("+json"):
        raise UnsupportedMediaTypeError(f"Send JSON{' or YAML' if allow_yaml else ''}; got {content_type!r}.")
    body = request.body
    if len(body) > _DENSE_FROM and body.count(b"{") + body.count(b"[") > len(body) // STATE_BYTES_PER_CONTAINER:
        raise PayloadTooLargeError(
            f"The body holds more objects and arrays than a state of its size would (over one per "
            f"{STATE_BYTES_PER_CONTAINER} bytes); it is not parsed."
        )
    return decode_json(body)


def _yaml_bounded(text: str) -> Json:
    """``text`` parsed as YAML, refusing aliases (``*name``) that stand for more than the text could.

    A few hundred bytes of nested aliases ("billion laughs") stand for 10 million values:
    walking them to check the state took 33 s. The node graph is composed first and its
    size with every alias expanded is counted, each node once; more than
    ``max(len(text), 100_000)`` nodes (a YAML text without aliases holds fewer than one node
    per byte) or a recursive alias is refused before anything is built. Aliases within
    that (``yaml.safe_dump`` writes one for every shared object) load as usual.
    """
    loader = _YamlLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        limit = max(len(text), 100_000)
        # No "&", no anchor, so no alias: the walk is for texts that may hold some.
        if "&" in text and _expanded_nodes(node, limit) > limit:
            raise InvalidRequestError(
                f"The YAML body's aliases (*name) stand for more than {limit} values; write them out, or send JSON.",
                details=[Violation("body", "holds aliases that expand too far, or refer to themselves")],
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_nodes(root: yaml.Node, limit: int) -> int:
    """How many nodes ``root`` stands for with its aliases expanded (``limit + 1`` for a
    cycle, or as soon as it is passed); each node is visited once, scalars without a push."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack[-1]
        key = id(node)
        value = node.value
        if key in sizes or value.__class__ is str:
            sizes.setdefault(key, 1)
            stack.pop()
            continue
        kids = value if isinstance(node, yaml.SequenceNode) else [part for pair in value for part in pair]
        if key not in open_nodes:
            open_nodes.add(key)
            pending = [kid for kid in kids if kid.value.__class__ is not str and id(kid) not in sizes]
            if pending:
                if any(id(kid) in open_nodes for kid in pending):
                    return limit + 1  # an alias to its own anchor, from inside it
                stack.extend(pending)
                continue
        size = 1 + sum(1 if kid.value.__class__ is str else sizes[id(kid)] for kid in kids)
        if size > limit:
            return limit + 1
        sizes[key] = size
        open_nodes.discard(key)
        stack.pop()
    return sizes[id(root)]


def _object_body(request: MockRequest) -> dict[str, Json]:
    body = _json_body(request)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidRequestError("The body must be a JSON object.", details=[Violation("body", "must be an object")])
    return body


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
    document = _json_body(request, allow_yaml=True)
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
    rule = rules.add(fault_rule(engine, _object_body(request)))
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
    body = _object_body(request)
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


def spec_document(engine: Engine, request: MockRequest) -> dict[str, Json]:
    """The spec with its servers pointing at this mock (so docs and tools call it)."""
    document: dict[str, Json] = copy.deepcopy(dict(engine.spec.document))
    host = request.header("Host") or f"{engine.config.host}:{engine.config.port}"
    root = f"http://{host}"
    document["servers"] = [
        {"url": root + base, "description": "This auralytik-mock.", **({"x-mock-security": sorted(b)} if b else {})}
        for base, b in engine.spec.base_paths.items()
    ]
    for item in document.get("paths", {}).values():
        if isinstance(item, dict) and "servers" in item:
            item["servers"] = [{"url": root, "description": "This auralytik-mock."}]
    return document


def spec_json(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    return _ok(spec_document(engine, request))


def spec_yaml(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    text = yaml.safe_dump(spec_document(engine, request), sort_keys=False, allow_unicode=True)
    return MockResponse(200, None, raw=text.encode("utf-8"), content_type="application/yaml")


_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title} (auralytik-mock)</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/__mock/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/__mock/docs/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "/__mock/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      tryItOutEnabled: true,
      // Calls to the signed base path are signed here, with WebCrypto, as the README's snippet does.
      requestInterceptor: async function (request) {{
        const signing = {signing};
        const url = new URL(request.url, location.href);
        if (!signing || !url.pathname.startsWith(signing.base + "/")) return request;
        const enc = new TextEncoder();
        const b64 = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)));
        const bytes = enc.encode(typeof request.body === "string" ? request.body : "");
        const timestamp = Math.floor(Date.now() / 1000).toString();
        const bodyHash = b64(await crypto.subtle.digest("SHA-256", bytes));
        const canonical = timestamp + "." + request.method.toUpperCase() + "." + url.pathname + "." + bodyHash;
        const key = await crypto.subtle.importKey(
          "raw", enc.encode(signing.secret), {{ name: "HMAC", hash: "SHA-256" }}, false, ["sign"]);
        const signature = b64(await crypto.subtle.sign("HMAC", key, enc.encode(canonical)));
        delete request.headers["Authorization"];
        request.headers["X-Api-Key"] = signing.key;
        request.headers["X-Timestamp"] = timestamp;
        request.headers["X-Signature"] = signature;
        return request;
      }},
      onComplete: function () {{
        // "Try it out" works at once: authorized with a bundled key of the fixtures.
        window.ui.preauthorizeApiKey("{scheme}", {key});
        document.body.setAttribute("data-ready", "1");
      }}
    }});
  </script>
</body>
</html>
"""
_ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".html": "text/html"}


def _swagger_dist() -> Path | None:
    """Swagger UI's files, as the flask-swagger-ui package ships them (no CDN: works offline)."""
    found = importlib.util.find_spec("flask_swagger_ui")
    if found is None or not found.submodule_search_locations:
        return None
    dist = Path(next(iter(found.submodule_search_locations))) / "dist"
    return dist if (dist / "swagger-ui-bundle.js").is_file() else None


def docs_page(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    """Swagger UI over the spec, authorized with the first key that holds every scope.

    ``?token=`` (checked by the guard before this runs) stores the admin token in a
    ``SameSite=Strict`` cookie and comes back here without it, so the page and its calls to
    ``/__mock/openapi.json`` work in a browser when the mock has an admin token. A value that
    is not a token (``ADMIN_TOKEN_RULE``) is a 400; without an admin token no cookie is set.
    """
    tokens = request.query.get("token")
    if tokens is not None:
        # Only what --admin-token may hold goes into the cookie: a value with CR/LF, ";" or
        # spaces wrote a foreign cookie (or header) for this host.
        if len(tokens) != 1 or not ADMIN_TOKEN_PATTERN.fullmatch(tokens[0]):
            raise InvalidRequestError(
                f"?token= takes the admin token once: {ADMIN_TOKEN_RULE}.",
                details=[Violation("query.token", "is not an admin token")],
            )
        headers = {"Location": "/__mock/docs", "Cache-Control": "no-store"}
        if engine.config.admin_token is not None:  # the guard checked it is this mock's token
            headers["Set-Cookie"] = f"{ADMIN_TOKEN_COOKIE}={tokens[0]}; Path=/__mock; HttpOnly; SameSite=Strict"
        return MockResponse(303, None, headers)
    if _swagger_dist() is None:
        raise NotFoundError("The docs page needs the flask-swagger-ui package: pip install flask-swagger-ui.")
    keys = [k for c in engine.store.seed for k in c.api_keys]
    full = [k.key for k in keys if engine.spec.scopes <= set(k.scopes)]
    key = full[0] if full else (keys[0].key if keys else "")
    scheme = next(iter(engine.spec.security_schemes), "bearerAuth")
    title = html.escape(str(engine.spec.document.get("info", {}).get("title", "API")))
    page = _DOCS_PAGE.format(title=title, scheme=scheme, key=json.dumps(key), signing=_docs_signing(engine))
    return MockResponse(200, None, raw=page.encode("utf-8"), content_type="text/html; charset=utf-8")


def _docs_signing(engine: Engine) -> str:
    """The key, secret and base path the docs page signs "Try it out" calls with (JSON), or ``null``.

    The secret is a fixture's (``GET /__mock/state`` shows it too): the docs page is the sandbox's.
    """
    names = {name for name, scheme in engine.spec.schemes.items() if scheme.kind == HMAC}
    bases = [base for base, accepted in engine.spec.base_paths.items() if accepted and accepted & names]
    keys = [k for c in engine.store.seed for k in c.api_keys if k.secret is not None]
    full = [k for k in keys if engine.spec.scopes <= set(k.scopes)] or keys
    if not bases or not full:
        return "null"
    # "</" cannot end the script element: JSON escapes it.
    return json.dumps({"base": bases[0], "key": full[0].key, "secret": full[0].secret}).replace("</", "<\\/")


def docs_asset(engine: Engine, request: MockRequest, params: list[str]) -> MockResponse:
    dist = _swagger_dist()
    name = params[0]
    path = dist / name if dist is not None and len(name) <= 255 else None
    try:
        found = path is not None and "/" not in name and not name.startswith(".") and path.is_file()
    except OSError:  # a name the file system refuses (too long, a NUL...)
        found = False
    if path is None or not found:
        raise NotFoundError(f"No docs asset {name[:100]!r}.")
    content_type = _ASSET_TYPES.get(path.suffix, "application/octet-stream")
    return MockResponse(200, None, {"Cache-Control": "max-age=3600"}, raw=path.read_bytes(), content_type=content_type)


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
