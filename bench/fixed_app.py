"""The ceiling for any Python server here: granian answering fixed bytes from a bare WSGI callable.

GET one, GET list and POST answer the same bytes the mock gives (no auth, no state, no
validation, no Flask): what is left is the HTTP server. The benchmark's "fixed body" row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

ENGAGEMENT = {
    "id": "eng_456",
    "name": "Q1 Quality Review",
    "description": "First quarter quality evaluation project",
    "type": "quality_review",
    "status": "active",
    "evaluationCount": 142,
    "createdAt": "2024-01-10T09:00:00Z",
    "updatedAt": "2024-01-15T14:30:00Z",
}
ONE = json.dumps(ENGAGEMENT, separators=(",", ":")).encode()
LIST = json.dumps(
    {"data": [ENGAGEMENT] * 5, "page": 1, "pageSize": 25, "totalCount": 5}, separators=(",", ":")
).encode()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
    if method == "POST":
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        status, body = "201 Created", ONE
    else:
        status, body = "200 OK", LIST if path.rstrip("/").endswith("/engagements") else ONE
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
