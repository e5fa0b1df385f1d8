"""CORS for browser apps served from other origins.

Owns: which origins may call, the preflight answer, and the headers every answer carries
(errors included, so the app can read them).
No Flask, no IO.
May import: ``types``.
"""

from __future__ import annotations

from collections.abc import Sequence

from .types import MockResponse

#: Headers a browser app may send; requested headers are reflected as well.
ALLOW_HEADERS = "Authorization, Content-Type, Prefer, X-Request-Id, X-Api-Key, X-Timestamp, X-Signature"
#: Headers the app may read from an answer.
EXPOSE_HEADERS = "Location, X-Request-Id, Retry-After, WWW-Authenticate, Allow"
MAX_AGE = "600"


class Cors:
    """The CORS policy.

    :param origins: allowed origins (``https://app.example:3000``); ``"*"`` allows any
        origin and reflects it (so credentials and ``Authorization`` work).
    """

    def __init__(self, origins: Sequence[str]) -> None:
        self.any = "*" in origins
        self.origins = frozenset(o.rstrip("/") for o in origins if o != "*")

    def allows(self, origin: str) -> bool:
        """Whether a page from ``origin`` may call the mock."""
        return self.any or origin.rstrip("/") in self.origins

    def headers(self, origin: str | None) -> dict[str, str]:
        """Headers for an actual (non-preflight) answer to a request from ``origin``."""
        if origin is None or not self.allows(origin):
            return {"Vary": "Origin"} if origin is not None else {}
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Expose-Headers": EXPOSE_HEADERS,
            "Vary": "Origin",
        }

    def preflight(
        self, origin: str, method: str, requested_headers: str | None, allowed_methods: Sequence[str]
    ) -> MockResponse | None:
        """The answer to a preflight, or ``None`` when the origin or method is not allowed
        (the caller answers without CORS headers, and the browser blocks the call)."""
        if not self.allows(origin) or method.upper() not in allowed_methods:
            return None
        headers = {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Allow-Methods": ", ".join(allowed_methods),
            "Access-Control-Allow-Headers": requested_headers.strip() if requested_headers else ALLOW_HEADERS,
            "Access-Control-Max-Age": MAX_AGE,
            "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        }
        return MockResponse(204, None, headers)
