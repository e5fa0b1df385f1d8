"""A stand-in for the real Auralytik API, for ``verify``'s tests: independent of the mock.

Written from the vendor's pages and the README's choices with the standard library only
(``http.server``), not on the mock's engine, spec loader or validators, so that verify
comparing the two is a real comparison. With no drift switched on it answers like the
mock; each switch in ``DRIFTS`` changes one thing the way a vendor might:

- ``status_422``: an invalid body answers 422 instead of 400 (query and path problems stay 400)
- ``missing_field``: engagements come without ``evaluationCount``
- ``extra_field``: engagements carry an ``archivedAt`` the spec does not declare
- ``error_code``: a missing engagement is ``RESOURCE_NOT_FOUND`` instead of ``NOT_FOUND``
- ``no_www_authenticate``: a 401 has no ``WWW-Authenticate``
- ``list_envelope``: lists answer ``{data, meta, pagination}`` (the API reference's envelope)
- ``string_count``: ``evaluationCount`` comes as a string (``"142"``)
- ``scope_ignored``: the read-only key can write (a POST with it creates a record)

It counts the writes it receives (``writes``) and can answer the first call 429
(``rate_limit_once``).

The read endpoints it was not written for (campaigns, conversations, voice calls,
analytics, usage, audio files, exports: ``FORWARDED``) it forwards to a mock of the bundled spec and fixtures,
its keys mapped to the fixtures' (``MOCK_KEYS``), so verify finds only the drifts above.
"""

from __future__ import annotations

import json
import random
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DRIFTS = (
    "status_422",
    "missing_field",
    "extra_field",
    "error_code",
    "no_www_authenticate",
    "list_envelope",
    "string_count",
    "scope_ignored",
)

FULL = "live_acme_full_0123456789abcdef"
READ = "live_acme_read_0123456789abcdef"
GLOBEX = "live_globex_full_0123456789abcd"
KEYS = {
    FULL: ("acme", {"engagements:read", "engagements:write", "evaluations:read"}),
    READ: ("acme", {"engagements:read", "evaluations:read"}),
    GLOBEX: ("globex", {"engagements:read", "engagements:write", "evaluations:read"}),
}
#: Paths answered by a mock of the bundled spec and fixtures (this stand-in was written
#: for Engagements and Evaluations only).
FORWARDED = re.compile(
    r"/(?:api/)?v1/(?:campaigns|conversations|voice-calls|analytics|usage|audio-files|exports)(?:/.*)?"
)
MOCK_KEYS = {FULL: "YOUR_API_KEY", READ: "READ_ONLY_API_KEY", GLOBEX: "OTHER_CLIENT_API_KEY"}
_EVAL_ID = re.compile(r"eval_[A-Za-z0-9]{1,60}\Z")
#: GET /evaluations's query parameters (the Evaluations page): equality filters, then the rest.
_EVAL_FILTERS = ("engagementId", "campaignId", "callCenterId", "state", "sentiment", "isAICall")
_EVAL_QUERY = {*_EVAL_FILTERS, "dateFrom", "dateTo", "page", "pageSize"}
_ID = re.compile(r"eng_[A-Za-z0-9]{1,60}\Z")
_TYPE = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")
_STATUSES = ("active", "paused", "completed")


def _records() -> dict[str, dict[str, dict[str, Any]]]:
    def engagement(rid: str, name: str, created: str, count: int, description: str | None) -> dict[str, Any]:
        return {
            "id": rid,
            "name": name,
            "description": description,
            "type": "quality_review",
            "status": "active",
            "evaluationCount": count,
            "createdAt": created,
            "updatedAt": created,
        }

    return {
        "acme": {
            "eng_7001": engagement("eng_7001", "Maria Lopez call review", "2024-05-02T10:00:00Z", 12, "Calls of Maria"),
            "eng_7000": engagement("eng_7000", "Onboarding audit", "2024-05-01T10:00:00Z", 3, None),
        },
        "globex": {"eng_8000": engagement("eng_8000", "Globex review", "2024-04-01T10:00:00Z", 1, None)},
    }


def _evaluations() -> dict[str, dict[str, dict[str, Any]]]:
    """Evaluations backing each engagement's evaluationCount (no drift applies to them)."""

    def evaluation(number: int, engagement: str, name: str) -> dict[str, Any]:
        day = f"2024-05-{1 + number % 28:02d}T10:00:00Z"
        return {
            "id": f"eval_{number}",
            "engagementId": engagement,
            "engagementName": name,
            "audioFileName": f"call_{number}.wav",
            "audioDate": day,
            "executiveName": "Maria Lopez",
            "durationInSeconds": 300,
            "state": "Completed",
            "sentiment": "Positive",
            "averageNote": 8.1,
            "isAICall": False,
            "campaignId": "camp_12",
            "callCenterId": "cc_paris",
            "results": {
                "criteria": [{"name": "Greeting", "score": 8, "maxScore": 10, "comment": "Clear."}],
                "summary": "Billing question, solved.",
            },
            "createdAt": day,
        }

    acme = [evaluation(9000 + n, "eng_7001", "Maria Lopez call review") for n in range(12)]
    acme += [evaluation(9100 + n, "eng_7000", "Onboarding audit") for n in range(3)]
    globex = [evaluation(9200, "eng_8000", "Globex review")]
    return {"acme": {e["id"]: e for e in acme}, "globex": {e["id"]: e for e in globex}}


_TRANSCRIPT = {"language": "en-US", "segments": [{"speaker": "agent", "startSeconds": 0, "endSeconds": 4.5,
                                                   "text": "Thank you for calling."}]}  # fmt: skip


class DriftedVendor:
    """The stand-in vendor on 127.0.0.1, a free port, in a daemon thread."""

    def __init__(
        self, *drifts: str, rate_limit_once: bool = False, retry_after: str = "2", more_records: int = 0
    ) -> None:
        unknown = set(drifts) - set(DRIFTS)
        assert not unknown, unknown
        self.drifts = set(drifts)
        self.rate_limit_once = rate_limit_once
        self.retry_after = retry_after
        self.records = _records()
        self.evaluation_records = _evaluations()
        for number in range(more_records):  # older than the two above, so they list after them
            rid = f"eng_{6000 + number}"
            created = f"2023-{1 + number // 28 % 12:02d}-{1 + number % 28:02d}T08:00:00Z"
            self.records["acme"][rid] = {**self.records["acme"]["eng_7000"], "id": rid, "createdAt": created}
        self.writes: list[tuple[str, str]] = []
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.next_id = 9000
        self.lock = threading.Lock()
        self.mock: Any = None
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                vendor.handle(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def url(self) -> str:
        return self.root + "/v1"

    def __enter__(self) -> DriftedVendor:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    # -- answering ------------------------------------------------------------------------

    def handle(self, http: BaseHTTPRequestHandler) -> None:
        length = int(http.headers.get("Content-Length") or 0)
        raw = http.rfile.read(length) if length else b""
        parts = urlsplit(http.path)
        if FORWARDED.fullmatch(parts.path):
            with self.lock:
                self.calls.append((http.command, parts.path, dict(http.headers)))
            self.forward(http, raw)
            return
        with self.lock:
            self.calls.append((http.command, parts.path, dict(http.headers)))
            if http.command in {"POST", "PUT", "PATCH", "DELETE"}:
                self.writes.append((http.command, parts.path))
            status, body, headers = self.answer(http.command, parts.path, parse_qs(parts.query), http.headers, raw)
        request_id = f"req_{random.getrandbits(64):016x}"
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            body["error"]["requestId"] = request_id
        data = json.dumps(body).encode()
        http.send_response(status)
        http.send_header("Content-Type", "application/json")
        http.send_header("Content-Length", str(len(data)))
        http.send_header("X-Request-Id", request_id)
        for name, value in headers.items():
            http.send_header(name, value)
        http.end_headers()
        http.wfile.write(data)

    def forward(self, http: BaseHTTPRequestHandler, raw: bytes) -> None:
        """Answer as a mock of the bundled spec and fixtures would (see ``FORWARDED``)."""
        with self.lock:
            if self.mock is None:
                from auralytik_mock import Config, create_app

                self.mock = create_app(Config().with_options()).test_client()
            headers = {k: v for k, v in http.headers.items() if k.lower() not in {"host", "content-length"}}
            auth = headers.get("Authorization", "")
            for mine, theirs in MOCK_KEYS.items():
                auth = auth.replace(mine, theirs)
            if auth:
                headers["Authorization"] = auth
            r = self.mock.open(http.path, method=http.command, data=raw, headers=headers)
        http.send_response(r.status_code)
        for name, value in r.headers.items():
            if name.lower() not in {"content-length", "date", "server", "connection"}:
                http.send_header(name, value)
        data = r.get_data()
        http.send_header("Content-Length", str(len(data)))
        http.end_headers()
        http.wfile.write(data)

    def error(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
    ) -> tuple[int, Any, dict[str, str]]:
        return status, {"error": {"code": code, "message": message, "requestId": "", **extra}}, headers or {}

    def invalid(self, problems: list[tuple[str, str]]) -> tuple[int, Any, dict[str, str]]:
        in_body = all(field.startswith("body") for field, _ in problems)
        status = 422 if "status_422" in self.drifts and in_body else 400
        details = [{"field": f, "message": m} for f, m in problems]
        return self.error(status, "VALIDATION_ERROR", f"{len(problems)} problem(s)", details=details)

    def shown(self, record: dict[str, Any]) -> dict[str, Any]:
        out = dict(record)
        if "missing_field" in self.drifts:
            out.pop("evaluationCount", None)
        if "extra_field" in self.drifts:
            out["archivedAt"] = None
        if "string_count" in self.drifts and "evaluationCount" in out:
            out["evaluationCount"] = str(out["evaluationCount"])
        return out

    def answer(self, method: str, path: str, query: dict[str, list[str]], headers: Any, raw: bytes) -> Any:
        if self.rate_limit_once:
            self.rate_limit_once = False
            return self.error(429, "RATE_LIMIT_EXCEEDED", "Too many requests.", {"Retry-After": self.retry_after},
                              retryAfter=int(self.retry_after))  # fmt: skip
        if path == "/health" and method == "GET":
            return 200, {"status": "ok"}, {}
        evaluations = re.fullmatch(r"/v1/evaluations(?:/([^/]+)(?:/(transcript|results))?)?", path)
        if evaluations is not None:
            return self.evaluations(method, evaluations.group(1), evaluations.group(2), query, headers)
        found = re.fullmatch(r"/v1/engagements(?:/([^/]+))?", path)
        if found is None:
            return self.error(404, "NOT_FOUND", "No such route.")
        record_id = found.group(1)
        if method not in ({"GET", "PATCH"} if record_id else {"GET", "POST"}):
            return self.error(405, "METHOD_NOT_ALLOWED", "Not allowed.", {"Allow": "GET, PATCH"})
        # Who is calling (401), may they (403), is the request valid (400), does it exist (404).
        auth = headers.get("Authorization")
        challenge = {} if "no_www_authenticate" in self.drifts else {"WWW-Authenticate": 'Bearer realm="auralytik"'}
        if not auth:
            return self.error(401, "UNAUTHORIZED", "Send a key.", challenge)
        token = auth.partition(" ")[2].strip()
        if token not in KEYS:
            if challenge:
                challenge["WWW-Authenticate"] += ', error="invalid_token", error_description="The API key is not valid"'
            return self.error(401, "INVALID_API_KEY", "The API key is not valid.", challenge)
        client, scopes = KEYS[token]
        needed = "engagements:write" if method in {"POST", "PATCH"} else "engagements:read"
        if needed not in scopes and "scope_ignored" not in self.drifts:
            www = f'Bearer realm="auralytik", error="insufficient_scope", error_description="x", scope="{needed}"'
            return self.error(403, "INSUFFICIENT_SCOPE", f"Needs {needed}.", {"WWW-Authenticate": www},
                              requiredScope=needed, grantedScopes=sorted(scopes))  # fmt: skip
        problems: list[tuple[str, str]] = []
        if record_id is not None and not _ID.match(record_id):
            problems.append(("path.id", "must match the pattern"))
        body: Any = None
        if method in {"POST", "PATCH"}:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                return self.error(400, "INVALID_JSON", "Not JSON.")
            problems += self.body_problems(method, body)
        if method == "GET" and record_id is None:
            for name, values in query.items():
                if name not in {"page", "pageSize"}:
                    problems.append((f"query.{name}", "is not a parameter"))
                    continue
                limit = 100 if name == "pageSize" else 100000
                if not values[0].isdigit() or not 1 <= int(values[0]) <= limit:
                    problems.append((f"query.{name}", f"must be 1..{limit}"))
        if problems:
            return self.invalid(problems)
        mine = self.records[client]
        if method == "POST":
            self.next_id += 1
            now = "2024-06-01T00:00:00Z"
            record = {"id": f"eng_{self.next_id}", "name": body["name"], "description": body.get("description"),
                      "type": body["type"], "status": "active", "evaluationCount": 0, "createdAt": now,
                      "updatedAt": now}  # fmt: skip
            mine[record["id"]] = record
            return 201, self.shown(record), {"Location": f"/v1/engagements/{record['id']}"}
        if record_id is not None:
            if record_id not in mine:
                code = "RESOURCE_NOT_FOUND" if "error_code" in self.drifts else "NOT_FOUND"
                return self.error(404, code, f"No engagement with id '{record_id}'.")
            if method == "PATCH" and body:
                mine[record_id].update(body, updatedAt="2024-06-01T00:00:00Z")
            return 200, self.shown(mine[record_id]), {}
        page = int(query.get("page", ["1"])[0])
        size = int(query.get("pageSize", ["25"])[0])
        ordered = sorted(mine.values(), key=lambda r: r["createdAt"], reverse=True)
        data = [self.shown(r) for r in ordered[(page - 1) * size : page * size]]
        if "list_envelope" in self.drifts:
            pages = -(-len(ordered) // size)
            return 200, {"data": data, "meta": {"requestId": "req_x", "timestamp": "2024-06-01T00:00:00Z"},
                         "pagination": {"page": page, "pageSize": size, "totalCount": len(ordered),
                                        "totalPages": pages}}, {}  # fmt: skip
        return 200, {"data": data, "page": page, "pageSize": size, "totalCount": len(ordered)}, {}

    def evaluations(
        self, method: str, record_id: str | None, sub: str | None, query: dict[str, list[str]], headers: Any
    ) -> Any:
        if method != "GET":
            return self.error(405, "METHOD_NOT_ALLOWED", "Not allowed.", {"Allow": "GET"})
        auth = headers.get("Authorization")
        challenge = {"WWW-Authenticate": 'Bearer realm="auralytik"'}
        if not auth:
            return self.error(401, "UNAUTHORIZED", "Send a key.", challenge)
        token = auth.partition(" ")[2].strip()
        if token not in KEYS:
            challenge["WWW-Authenticate"] += ', error="invalid_token", error_description="The API key is not valid"'
            return self.error(401, "INVALID_API_KEY", "The API key is not valid.", challenge)
        client, scopes = KEYS[token]
        if "evaluations:read" not in scopes:
            www = (
                'Bearer realm="auralytik", error="insufficient_scope", error_description="x", scope="evaluations:read"'
            )
            return self.error(403, "INSUFFICIENT_SCOPE", "Needs evaluations:read.", {"WWW-Authenticate": www},
                              requiredScope="evaluations:read", grantedScopes=sorted(scopes))  # fmt: skip
        mine = self.evaluation_records[client]
        if record_id is not None:
            if not _EVAL_ID.match(record_id):
                return self.invalid([("path.id", "must match the pattern")])
            if record_id not in mine:
                return self.error(404, "NOT_FOUND", f"No evaluation with id '{record_id}'.")
            if sub == "transcript":
                return 200, _TRANSCRIPT, {}
            if sub == "results":
                return 200, mine[record_id]["results"], {}
            return 200, mine[record_id], {}
        problems: list[tuple[str, str]] = []
        for name, values in query.items():
            if name not in _EVAL_QUERY:
                problems.append((f"query.{name}", "is not a parameter"))
            elif name in {"page", "pageSize"}:
                limit = 100 if name == "pageSize" else 100000
                if not values[0].isdigit() or not 1 <= int(values[0]) <= limit:
                    problems.append((f"query.{name}", f"must be 1..{limit}"))
        if problems:
            return self.invalid(problems)
        page = int(query.get("page", ["1"])[0])
        size = int(query.get("pageSize", ["25"])[0])
        wanted = {name: query[name][0] for name in _EVAL_FILTERS if name in query}
        chosen = [e for e in mine.values() if all(str(e[k]).lower() == v.lower() for k, v in wanted.items())]
        ordered = sorted(chosen, key=lambda r: (r["createdAt"], r["id"]), reverse=True)
        data = ordered[(page - 1) * size : page * size]
        return 200, {"data": data, "page": page, "pageSize": size, "totalCount": len(ordered)}, {}

    def body_problems(self, method: str, body: Any) -> list[tuple[str, str]]:
        if not isinstance(body, dict):
            return [("body", "must be an object")]
        allowed = {"name", "description", "type"} if method == "POST" else {"name", "description", "status"}
        problems = [(f"body.{k}", "is not allowed") for k in body if k not in allowed]
        if method == "POST":
            problems += [(f"body.{k}", "is required") for k in ("name", "type") if k not in body]
        name = body.get("name")
        if "name" in body and not (isinstance(name, str) and 0 < len(name) <= 200 and name.strip()):
            problems.append(("body.name", "must be a string of 1-200 characters"))
        description = body.get("description")
        if description is not None and not (isinstance(description, str) and len(description) <= 2000):
            problems.append(("body.description", "must be a string or null"))
        kind = body.get("type")
        if "type" in body and not (isinstance(kind, str) and _TYPE.match(kind)):
            problems.append(("body.type", "must be snake_case"))
        if "status" in body and body["status"] not in _STATUSES:
            problems.append(("body.status", "must be one of active, paused, completed"))
        return problems
