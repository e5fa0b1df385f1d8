"""The ceiling for this stack: a bare Flask app with static answers, served the same way.

GETs return a static engagement (list); POST and PATCH check the body with a reused
jsonschema validator (as the mock does) and return a static engagement. No auth, no
state, no journal: what is left is Flask and the WSGI server.
"""

from __future__ import annotations

import json

from flask import Flask, Response, request
from jsonschema import Draft202012Validator

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
ONE = json.dumps(ENGAGEMENT).encode()
LIST = json.dumps({"data": [ENGAGEMENT] * 5, "page": 1, "pageSize": 25, "totalCount": 5}).encode()
CREATE = Draft202012Validator(
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "type"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "description": {"type": ["string", "null"], "maxLength": 2000},
            "type": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"},
        },
    }
)

app = Flask(__name__)


def _json(data: bytes, status: int = 200) -> Response:
    return Response(data, status=status, mimetype="application/json")


@app.get("/v1/engagements")
def list_engagements() -> Response:
    return _json(LIST)


@app.get("/v1/engagements/<engagement_id>")
def get_engagement(engagement_id: str) -> Response:
    return _json(ONE)


@app.post("/v1/engagements")
def create_engagement() -> Response:
    body = request.get_json()
    return _json(ONE, 201) if CREATE.is_valid(body) else _json(b'{"error": {}}', 400)


@app.patch("/v1/engagements/<engagement_id>")
def update_engagement(engagement_id: str) -> Response:
    request.get_json()
    return _json(ONE)
