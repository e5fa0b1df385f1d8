"""The spec and its docs page under ``/__mock``: ``openapi.json``, ``openapi.yaml`` and Swagger UI.

Owns: the spec as served (its servers pointing at this mock), the Swagger UI page (authorized
with a bundled key, signing "Try it out" calls to the HMAC base path), the ``?token=`` cookie
link, and Swagger UI's files from the flask-swagger-ui package (no CDN).
May import: ``config``, ``guard``, ``spec``, ``errors``, ``types``, yaml.
"""

from __future__ import annotations

import copy
import html
import importlib.util
import json
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..config import ADMIN_TOKEN_PATTERN, ADMIN_TOKEN_RULE
from ..core.errors import InvalidRequestError, NotFoundError, Violation
from ..core.spec import HMAC
from ..core.types import Json, MockRequest, MockResponse
from .guard import ADMIN_TOKEN_COOKIE

if TYPE_CHECKING:
    from .sandbox import Engine


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
    return MockResponse(200, spec_document(engine, request))


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
