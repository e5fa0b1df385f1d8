"""Schemathesis hooks (``SCHEMATHESIS_HOOKS``) that sign each request for ``/api/v1``.

- ``before_load_schema`` applies ``x-mock-security`` (an extension schemathesis does not
  know): under the base path tested, each operation keeps only the ``security``
  alternatives of the schemes that base path takes, as the mock does. Otherwise
  schemathesis would also invent a Bearer token for ``/api/v1`` and expect it to matter.
- ``before_call`` hands the ``requests`` transport an auth that adds ``X-Timestamp`` and
  ``X-Signature`` over the exact bytes about to be sent, for the ``X-Api-Key`` given with
  ``--header``. A request without ``X-Api-Key`` (schemathesis' own probes of
  ``ignored_auth``) is left unsigned, so those probes still see the 401 they look for.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import requests
import schemathesis

from auralytik_mock.signing import KEY_HEADER, signed_headers

SECRET = os.environ.get("AURALYTIK_SIGNING_SECRET", "YOUR_HMAC_SECRET")
BASE_PATH = os.environ.get("AURALYTIK_BASE_PATH", "/api/v1")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@schemathesis.hook
def before_load_schema(ctx: Any, raw_schema: dict[str, Any]) -> None:
    accepted: set[str] = set()
    for server in raw_schema.get("servers", []):
        if urlsplit(server["url"]).path.rstrip("/") == BASE_PATH:
            accepted.update(server.get("x-mock-security", []))
    if not accepted:
        return
    for item in raw_schema.get("paths", {}).values():
        for method in METHODS:
            operation = item.get(method)
            if isinstance(operation, dict) and operation.get("security"):
                operation["security"] = [alt for alt in operation["security"] if set(alt) <= accepted]


class _Sign(requests.auth.AuthBase):
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        key = request.headers.get(KEY_HEADER)
        body = request.body
        if key and (body is None or isinstance(body, (bytes, str))):
            request.headers.update(
                signed_headers(request.method or "GET", request.url or "/", body, key=key, secret=SECRET)
            )
        return request


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: dict[str, Any]) -> None:
    kwargs["auth"] = _Sign()
