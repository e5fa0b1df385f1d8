"""``auralytik-mock verify``: run the contract against the real API and report drift.

Owns: building, from the spec alone, a sequence of calls per operation (the documented
success and the failures the mock reproduces); sending it one call at a time to a
target (the vendor, a staging copy) and the same sequence to the mock in process;
checking both answers against the spec and against each other; the report (text,
JSON, JUnit); recording what the target returned as a fixture file.

Safe against a live API: no write method is sent without ``allow_writes``; records it
creates carry ``MARK`` in their name and are listed; a 429 is waited out; the number of
calls is fixed before the first one; keys never appear in any output; only the base
URL's origin is contacted and redirects are not followed (``http.client`` follows none).
Signing plugs in through ``SCHEMES`` (``hmac`` signs with ``signing``, imported when used).
May import: ``pipeline``, ``spec``, ``validation``, ``fixtures``, ``handlers``,
``journal``, ``signing``, ``config``, ``types``, ``errors``; the standard library for HTTP.
"""

from __future__ import annotations

import email.utils
import hashlib
import http.client
import importlib
import json
import re
import ssl
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlencode, urlsplit

import yaml

from ..config import Config
from ..core.errors import AuralytikMockError
from ..core.fixtures import FixtureLoader
from ..core.handlers import hooked, store_rules
from ..core.journal import mask_key
from ..core.pipeline import Engine
from ..core.resources import build_resources
from ..core.spec import Operation, Parameter, Spec
from ..core.types import Json, MockRequest
from ..core.validation import SchemaSet

#: Every record verify creates carries this in its name, so a person can find it.
MARK = "[auralytik-mock verify]"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: A key no account has, well-formed for each scheme: what "an unknown key" sends.
UNKNOWN_KEY = "auralytik-mock-verify-unknown-key-0000"
UNKNOWN_KEYS = {"bearer": UNKNOWN_KEY, "hmac": "ak_live_" + "verifyunknownkey" + "0" * 16}
#: How late a "stale timestamp" is signed: an hour, beyond any sane signature window.
STALE_SECONDS = 3600
#: Headers whose presence and form are compared between the target and the mock.
COMPARED_HEADERS = ("X-Request-Id", "WWW-Authenticate", "Location", "Retry-After")
#: Placeholders a recorded fixture file carries instead of the real keys.
RECORDED_KEY = "RECORDED_API_KEY"
RECORDED_READ_ONLY_KEY = "RECORDED_READ_ONLY_API_KEY"

#: Signs or authenticates one request: (method, path, body) -> headers to add.
Auth = Callable[[str, str, bytes], dict[str, str]]


class VerifyError(AuralytikMockError):
    """Verify could not run (usage, connection, the target refused the key): exit 2."""


# -- answers and transports -------------------------------------------------------------


@dataclass
class Answer:
    """One HTTP answer: status, headers (names lower-cased), raw body and its JSON."""

    status: int
    headers: dict[str, str]
    raw: bytes
    body: Json = None
    is_json: bool = False

    @classmethod
    def make(cls, status: int, headers: Iterable[tuple[str, str]], raw: bytes) -> Answer:
        lowered: dict[str, str] = {}
        for name, value in headers:
            lowered.setdefault(name.lower(), value)
        try:
            return cls(status, lowered, raw, json.loads(raw), True) if raw else cls(status, lowered, raw)
        except (ValueError, UnicodeDecodeError):
            return cls(status, lowered, raw)

    @property
    def error_code(self) -> str | None:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        return code if isinstance(code, str) else None


class Transport(Protocol):
    """Sends one request and returns the answer (``HttpTransport``, ``EngineTransport``)."""

    def send(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Answer: ...


class HttpTransport:
    """Calls one origin over HTTP(S), one call at a time, never following a redirect.

    :param base_url: the target, e.g. ``https://api.auralytik.com/v1``.
    :param max_wait: the longest ``Retry-After`` waited out; longer stops the run.
    :param max_retries: how many 429s in a row are waited out per call.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        max_wait: float = 120.0,
        max_retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        say: Callable[[str], None] = print,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise VerifyError(f"--base-url must be an http:// or https:// URL, got {base_url!r}")
        if parts.query or parts.fragment:
            raise VerifyError("--base-url takes no query string or fragment")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.base_path = parts.path.rstrip("/")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.timeout = timeout
        self.max_wait = max_wait
        self.max_retries = max_retries
        self.sleep = sleep
        self.say = say
        self.calls = 0
        self.waits: list[float] = []

    def _connection(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def send(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Answer:
        target = quote(path, safe="/%:@!$&'()*+,;=-._~") + (f"?{query}" if query else "")
        for attempt in range(self.max_retries + 1):
            self.calls += 1
            connection = self._connection()
            try:
                connection.request(method, target, body=body or None, headers=dict(headers))
                response = connection.getresponse()
                answer = Answer.make(response.status, response.getheaders(), response.read())
            except (OSError, http.client.HTTPException) as exc:
                raise VerifyError(f"cannot reach {self.origin}: {exc}") from None
            finally:
                connection.close()
            if answer.status != 429 or attempt == self.max_retries:
                return answer
            wait = _retry_after(answer.headers.get("retry-after"))
            if wait > self.max_wait:
                raise VerifyError(
                    f"the target rate-limits for {wait:.0f} s (Retry-After), more than --max-wait {self.max_wait:.0f} s"
                )
            self.say(f"  429 from the target: waiting {wait:.0f} s as Retry-After says")
            self.waits.append(wait)
            self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover


def _retry_after(value: str | None) -> float:
    """Seconds from a ``Retry-After`` (delta-seconds or an HTTP date); 1 when absent or unreadable."""
    if value is None:
        return 1.0
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 1.0
    return max(0.0, when.timestamp() - time.time())


class EngineTransport:
    """The mock in process: the same pipeline ``serve`` runs, without a socket."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def send(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Answer:
        from urllib.parse import parse_qs

        request = MockRequest(
            method=method,
            path=path,
            query=parse_qs(query, keep_blank_values=True) if query else {},
            headers=dict(headers),
            body=body,
        )
        response = self.engine.handle(request)
        raw = b"" if response.body is None else json.dumps(response.body).encode("utf-8")
        if response.raw is not None:
            raw = response.raw
        return Answer.make(response.status, response.headers.items(), raw)


# -- authentication (the seam request signing plugs into) --------------------------------


def bearer(key: str) -> Auth:
    """``Authorization: Bearer <key>``, the scheme of the ``/v1`` pages."""

    def add(method: str, path: str, body: bytes) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    return add


def scheme_for(base_path: str) -> str:
    """The authentication scheme a base path takes: ``hmac`` for ``/api/v1`` (the vendor's
    newer pages), else ``bearer`` (``/v1``)."""
    return "hmac" if base_path.rstrip("/").endswith("/api/v1") else "bearer"


#: Unix seconds for a signature's timestamp (the mock's own clock on the mock's side).
Clock = Callable[[], int]


def hmac_auth(key: str, secret: str | None, clock: Clock | None = None) -> Auth:
    """X-Api-Key + HMAC-SHA256 signing, with the helper of ``auralytik_mock.signing``.

    :raises VerifyError: no secret, or this version has no signing helper.
    """
    if secret is None:
        raise VerifyError(
            "this base path takes X-Api-Key + HMAC signing: pass --secret (or AURALYTIK_MOCK_VERIFY_SECRET)"
        )
    try:
        signing = importlib.import_module("auralytik_mock.signing")
    except ImportError:
        raise VerifyError(
            "X-Api-Key + HMAC signing is not in this version of auralytik-mock (no auralytik_mock.signing); "
            "verify a /v1 base URL with a Bearer key"
        ) from None

    def add(method: str, path: str, body: bytes) -> dict[str, str]:
        stamp = clock() if clock is not None else None
        return dict(signing.signed_headers(method, path, body, key=key, secret=secret, timestamp=stamp))

    return add


#: How each scheme authenticates a request: ``(key, secret, clock) -> Auth``. The seam
#: another scheme plugs into; ``scheme_for`` picks one from the target's base path.
SCHEMES: dict[str, Callable[[str, str | None, Clock | None], Auth]] = {
    "bearer": lambda key, secret, clock: bearer(key),
    "hmac": hmac_auth,
}


def make_auth(scheme: str, key: str, secret: str | None, clock: Clock | None = None) -> Auth:
    """The request authenticator for ``scheme`` (see ``scheme_for`` and ``SCHEMES``).

    :raises VerifyError: an unknown scheme, or one that cannot sign (see ``hmac_auth``).
    """
    factory = SCHEMES.get(scheme)
    if factory is None:
        raise VerifyError(f"unknown authentication scheme {scheme!r} (known: {', '.join(SCHEMES)})")
    return factory(key, secret, clock)


# -- the plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One call of the sequence, the same for the target and the mock.

    :param key: which key sends it: ``main``, ``read_only``, ``other``, ``unknown``, ``none``,
        or (signing schemes) ``bad_signature`` and ``stale``.
    :param target_id: how the last path parameter is chosen: ``listed`` (from a list call,
        or the record verify created for a write), ``missing``, ``malformed`` or ``other``.
    :param body: ``example`` (the spec's, marked), ``invalid``, ``empty`` or ``None``.
    :param skip: why the step is not sent at all (to either side).
    """

    index: int
    op: Operation
    case: str
    expected: int
    key: str = "main"
    target_id: str = "listed"
    body: str | None = None
    query: tuple[tuple[str, str], ...] = ()
    skip: str | None = None

    @property
    def write(self) -> bool:
        return self.op.method in WRITE_METHODS

    @property
    def label(self) -> str:
        return f"{self.op.operation_id} {self.case}"


def _path_params(op: Operation) -> list[Parameter]:
    return [p for p in op.parameters if p.location == "path"]


def _order(op: Operation) -> tuple[int, int, str]:
    rank = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 2, "DELETE": 3}.get(op.method, 4)
    return (rank, op.spec_path.count("/"), op.operation_id)


class Planner:
    """Builds the sequence from the spec: no operation, case or value is written by hand."""

    def __init__(self, spec: Spec, schemas: SchemaSet) -> None:
        self.spec = spec
        self.schemas = schemas
        self.read_scopes = frozenset(s for op in spec.operations if op.method == "GET" for s in op.required_scopes)
        self.all_scopes = frozenset(s for op in spec.operations for s in op.required_scopes)

    def raw(self, pointer: str) -> Json:
        try:
            return self.spec.lookup(pointer)
        except (KeyError, IndexError, ValueError):
            return None

    def param_example(self, param: Parameter) -> Json:
        node = self.raw(param.schema_pointer.removesuffix("/schema"))
        if isinstance(node, dict) and "example" in node:
            return node["example"]
        schema = self.spec.inline(param.schema)
        for name in ("default", "example"):
            if isinstance(schema, dict) and name in schema:
                return schema[name]
        if isinstance(schema, dict) and schema.get("examples"):
            return schema["examples"][0]
        return None

    def body_example(self, op: Operation) -> Json:
        if op.body_pointer is None:
            return None
        media = self.raw(op.body_pointer.removesuffix("/schema"))
        if isinstance(media, dict):
            if "example" in media:
                return media["example"]
            for example in (media.get("examples") or {}).values():
                if isinstance(example, dict) and "value" in example:
                    return example["value"]
        schema = self.spec.inline(self.spec.lookup(op.body_pointer))
        if isinstance(schema, dict) and schema.get("examples"):
            return schema["examples"][0]
        return None

    def marked_body(self, op: Operation) -> Json:
        """The spec's example body, its name marked so the record is recognisable."""
        body = self.body_example(op)
        if not isinstance(body, dict) or op.body_pointer is None:
            return body
        body = dict(body)
        properties = (self.spec.inline(self.spec.lookup(op.body_pointer)) or {}).get("properties") or {}
        for name in ("name", "title", "label", "displayName"):
            if isinstance(body.get(name), str):
                limit = properties.get(name, {}).get("maxLength", 200)
                body[name] = f"{MARK} {body[name]}"[:limit]
                break
        return body

    def invalid_body(self, op: Operation) -> Json:
        """A body the operation's schema refuses: missing required fields, else a wrong type."""
        if op.body_pointer is None:
            return None
        schema = self.spec.inline(self.spec.lookup(op.body_pointer))
        candidates: list[Json] = []
        if isinstance(schema, dict):
            if schema.get("required"):
                candidates.append({})
            for name, prop in (schema.get("properties") or {}).items():
                kinds = prop.get("type") if isinstance(prop, dict) else None
                kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
                if "string" in kinds:
                    candidates.append({name: 12345})
                elif kinds:
                    candidates.append({name: "not valid here"})
            if schema.get("additionalProperties") is False:
                candidates.append({"auralytikMockVerifyUnknownField": 1})
        candidates.append([])
        for candidate in candidates:
            if self.schemas.check(op.body_pointer, candidate, "body"):
                return candidate
        return None

    def empty_body_ok(self, op: Operation) -> bool:
        return op.body_pointer is not None and not self.schemas.check(op.body_pointer, {}, "body")

    def required_query(self, op: Operation) -> list[tuple[str, str]]:
        out = []
        for param in op.parameters:
            if param.location == "query" and param.required:
                example = self.param_example(param)
                if example is not None:
                    out.append((param.name, _text(example)))
        return out

    def success_query(self, op: Operation) -> list[tuple[str, str]]:
        """The success call's query: the required parameters only. An optional filter's
        example (an id of the spec's sample data) would empty the list of a real account."""
        return self.required_query(op)

    def plan(self, *, read_only: bool, other: bool, allow_writes: bool, signing: bool = False) -> list[Step]:
        """The sequence, in the order it is sent: reads (lists first), then writes.

        :param signing: the target signs requests (HMAC): add a wrong signature and a stale timestamp.
        """
        steps: list[Step] = []

        def add(op: Operation, case: str, expected: int, **kw: object) -> None:
            skip = kw.pop("skip", None)
            if skip is None and op.method in WRITE_METHODS and not allow_writes:
                skip = "a write: pass --allow-writes"
            steps.append(Step(len(steps) + 1, op, case, expected, skip=skip, **kw))  # type: ignore[arg-type]

        for op in sorted(self.spec.operations, key=_order):
            if op.method not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                continue
            body = "example" if op.body_pointer is not None else None
            success_query = tuple(self.success_query(op))
            add(op, "success", op.success_status, body=body, query=success_query)
            if not op.security:
                continue
            params = _path_params(op)
            base_query = tuple(self.required_query(op))
            if op.method == "GET" and not params and other:
                add(op, "other-client-list", op.success_status, key="other", query=success_query)
            add(op, "no-key", 401, key="none", body=body, query=base_query)
            add(op, "unknown-key", 401, key="unknown", body=body, query=base_query)
            if signing:
                add(op, "bad-signature", 401, key="bad_signature", body=body, query=base_query)
                add(op, "stale-timestamp", 401, key="stale", body=body, query=base_query)
            if read_only and not set(op.required_scopes) <= self.read_scopes:
                add(op, "insufficient-scope", 403, key="read_only", body=body, query=base_query)
            if params:
                add(op, "not-found", 404, target_id="missing", body=body, query=base_query)
                if self.malformed_id(params[-1]) is not None:
                    add(op, "malformed-id", 400, target_id="malformed", body=body, query=base_query)
                if other:
                    if op.method == "GET":
                        add(op, "other-client-id", 404, target_id="other", query=base_query)
                    elif self.empty_body_ok(op) or op.body_pointer is None:
                        add(op, "other-client-id", 404, target_id="other", body="empty", query=base_query)
            if op.body_pointer is not None and self.invalid_body(op) is not None:
                add(op, "invalid-body", 400, body="invalid", query=base_query)
            for param in op.parameters:
                maximum = param.schema.get("maximum") if param.location == "query" else None
                if isinstance(maximum, int | float) and not isinstance(maximum, bool):
                    query = tuple(q for q in base_query if q[0] != param.name) + ((param.name, _text(maximum + 1)),)
                    add(op, f"over-maximum {param.name}", 400, query=query)
        return steps

    def missing_id(self, param: Parameter, known: Iterable[str]) -> str:
        """A well-formed id that does not exist: valid to the parameter's schema, in no list."""
        example = self.param_example(param)
        example = example if isinstance(example, str) else next(iter(known), "")
        found = re.match(r"[A-Za-z]+[_-]", example)
        prefix = found.group(0) if found else ""
        taken = set(known)
        candidates = (prefix + "0000000000", prefix + "verify404", "999999999", "00000000-0000-0000-0000-000000000000")
        for candidate in candidates:
            value = _coerce(candidate, param.schema)
            if candidate not in taken and not self.schemas.check(param.schema_pointer, value, "path"):
                return candidate
        return prefix + "0000000000"

    def malformed_id(self, param: Parameter) -> str | None:
        """An id the parameter's schema refuses, or ``None`` when it accepts anything."""
        for candidate in ("INVALID-ID", "-1", "x" * 300):
            if self.schemas.check(param.schema_pointer, _coerce(candidate, param.schema), "path"):
                return candidate
        return None


def _coerce(value: str, schema: Mapping[str, Json]) -> Json:
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if ("integer" in kinds or "number" in kinds) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def _text(value: Json) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- one side of the comparison -------------------------------------------------------------


@dataclass
class Side:
    """The target or the mock: how to reach it, its keys, and the ids it has shown."""

    name: str
    transport: Transport
    auths: dict[str, Auth | None]
    prefix: Callable[[Operation], str | None]
    ids: dict[str, list[str]] = field(default_factory=dict)
    other_ids: dict[str, list[str]] = field(default_factory=dict)
    created: dict[str, list[str]] = field(default_factory=dict)
    created_records: list[dict[str, str]] = field(default_factory=list)
    records: dict[str, dict[str, dict[str, Json]]] = field(default_factory=dict)


@dataclass
class Sent:
    """What one side was sent for a step, and what it answered (or why it was not sent)."""

    method: str = ""
    path: str = ""
    answer: Answer | None = None
    skip: str | None = None


# -- findings and drift ----------------------------------------------------------------------


@dataclass
class Drift:
    """One disagreement, spelt out, with the steps it was seen in."""

    kind: str
    subject: str
    message: str
    steps: list[int] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Json]:
        return {"kind": self.kind, "subject": self.subject, "message": self.message, "steps": self.steps}


class DriftLog:
    """Drift found so far, one entry per distinct disagreement (steps are merged)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, ...], Drift] = {}

    def add(self, key: tuple[str, ...], kind: str, subject: str, message: str, step: int, name: str = "") -> None:
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = Drift(kind, subject, message)
        if step not in entry.steps:
            entry.steps.append(step)
        if name and name not in entry.fields:
            entry.fields.append(name)

    def all(self) -> list[Drift]:
        out = []
        for entry in self.entries.values():
            if entry.fields:
                plural = "s" if len(entry.fields) > 1 else ""
                entry.message = entry.message.format(fields=", ".join(entry.fields), s=plural)
                entry.subject = entry.subject.format(fields=", ".join(entry.fields))
            out.append(entry)
        return out


_TOKEN = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _split_field(text: str) -> list[str | int]:
    out: list[str | int] = []
    for name, index in _TOKEN.findall(text.removeprefix("body")):
        out.append(int(index) if index else name)
    return out


def _shape(parts: Sequence[str | int]) -> str:
    return "".join("[]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(parts))


def _compare_fields(vendor: Json, mock: Json, prefix: str = "") -> tuple[list[str], list[str]]:
    """Field paths only the vendor has, and only the mock has; recursing into fields both have."""
    only_vendor: list[str] = []
    only_mock: list[str] = []
    if isinstance(vendor, dict) and isinstance(mock, dict):
        for key in vendor:
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in mock:
                only_vendor.append(path)
            else:
                a, b = _compare_fields(vendor[key], mock[key], path)
                only_vendor += a
                only_mock += b
        only_mock += [f"{prefix}.{k}" if prefix else str(k) for k in mock if k not in vendor]
    elif isinstance(vendor, list) and isinstance(mock, list):
        vendor_items = [i for i in vendor if isinstance(i, dict)]
        mock_items = [i for i in mock if isinstance(i, dict)]
        if vendor_items and mock_items:
            merged_vendor = {k: v for item in vendor_items for k, v in item.items()}
            merged_mock = {k: v for item in mock_items for k, v in item.items()}
            return _compare_fields(merged_vendor, merged_mock, f"{prefix}[]")
    return only_vendor, only_mock


def header_form(name: str, value: str | None, answer: Answer) -> str:
    """What about a header's value clients depend on (not the value itself, which varies)."""
    if value is None:
        return "absent"
    lowered = name.lower()
    if lowered == "www-authenticate":
        scheme, _, params = value.strip().partition(" ")
        names = sorted(re.findall(r"([A-Za-z_]+)\s*=", params))
        error = re.search(r'error\s*=\s*"?([^",]+)', params)
        return f"{scheme.lower()} {' '.join(names)}" + (f" error={error.group(1)}" if error else "")
    if lowered == "x-request-id":
        found = re.match(r"[A-Za-z]+[_-]", value)
        return f"prefix {found.group(0)}" if found else "no prefix"
    if lowered == "location":
        kind = "an absolute URL" if re.match(r"[a-z][a-z0-9+.-]*://", value, re.I) else "a path"
        record_id = answer.body.get("id") if isinstance(answer.body, dict) else None
        ends = " ending in the new id" if isinstance(record_id, str) and value.endswith("/" + record_id) else ""
        return kind + ends
    if lowered == "retry-after":
        return "seconds" if value.strip().isdigit() else "a date"
    return "present"


# -- the run ---------------------------------------------------------------------------------


@dataclass
class StepResult:
    step: Step
    vendor: Sent
    mock: Sent
    verdict: str = "ok"
    drift: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Json]:
        def side(sent: Sent) -> dict[str, Json]:
            return {
                "method": sent.method,
                "path": sent.path,
                "status": sent.answer.status if sent.answer else None,
                "errorCode": sent.answer.error_code if sent.answer else None,
                "requestId": sent.answer.headers.get("x-request-id") if sent.answer else None,
                "skipped": sent.skip,
            }

        return {
            "step": self.step.index,
            "operationId": self.step.op.operation_id,
            "case": self.step.case,
            "expected": self.step.expected,
            "vendor": side(self.vendor),
            "mock": side(self.mock),
            "verdict": self.verdict,
            "drift": self.drift,
        }


@dataclass
class Outcome:
    """Everything a run found; ``exit_code`` is what the command returns."""

    target: str
    results: list[StepResult]
    drift: list[Drift]
    created: list[dict[str, str]]
    calls: int
    planned: int
    error: str | None = None
    recorded: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return 2
        return 1 if self.drift else 0


@dataclass(frozen=True)
class Options:
    """What ``auralytik-mock verify`` was asked to do (see ``cli``)."""

    base_url: str
    key: str
    read_only_key: str | None = None
    other_client_key: str | None = None
    secret: str | None = None
    read_only_secret: str | None = None
    other_client_secret: str | None = None
    allow_writes: bool = False
    max_calls: int = 500
    timeout: float = 30.0
    max_wait: float = 120.0
    record: Path | None = None
    record_pages: int = 10
    anonymize: bool = False
    mock_key: str | None = None
    mock_read_only_key: str | None = None
    mock_other_client_key: str | None = None

    def secrets(self) -> list[str]:
        values = [self.key, self.read_only_key, self.other_client_key, self.secret]
        values += [self.read_only_secret, self.other_client_secret]
        values += [self.mock_key, self.mock_read_only_key, self.mock_other_client_key]
        return [v for v in values if v]


class Verifier:
    """Runs the sequence against the target and the mock, and collects drift.

    :param config: the mock's configuration (its spec and fixtures are the contract).
    :param options: target, keys and safety switches.
    :param target: the target's transport (``HttpTransport`` on ``options.base_url`` by default).
    :param say: where progress lines go (scrubbed of keys first).
    """

    def __init__(
        self,
        config: Config,
        options: Options,
        *,
        target: Transport | None = None,
        say: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = options
        self.say_raw = say
        self.engine = Engine(config.with_options(access_log=False, validate_responses=False, watch=False))
        self.spec = self.engine.spec
        self.schemas = SchemaSet(self.spec)
        self.planner = Planner(self.spec, self.schemas)
        self.http = HttpTransport(
            options.base_url, timeout=options.timeout, max_wait=options.max_wait, sleep=sleep, say=self.say
        )
        self.scheme = self._scheme()
        self.log = DriftLog()
        self.target_transport: Transport = target or self.http
        self.vendor = Side("vendor", self.target_transport, self._vendor_auths(), self._target_prefix)
        self.mock = Side("mock", EngineTransport(self.engine), self._mock_auths(), self._mock_prefix)

    # -- keys ---------------------------------------------------------------------------

    def say(self, text: str) -> None:
        self.say_raw(scrub(text, self.options.secrets()))

    def _vendor_auths(self) -> dict[str, Auth | None]:
        o = self.options
        auths: dict[str, Auth | None] = {
            "main": make_auth(self.scheme, o.key, o.secret),
            "unknown": make_auth(self.scheme, UNKNOWN_KEYS[self.scheme], o.secret),
            "none": None,
        }
        auths.update(self._signing_failures(o.key, o.secret, None))
        if o.read_only_key:
            auths["read_only"] = make_auth(self.scheme, o.read_only_key, o.read_only_secret or o.secret)
        if o.other_client_key:
            auths["other"] = make_auth(self.scheme, o.other_client_key, o.other_client_secret or o.secret)
        return auths

    def _signing_failures(self, key: str, secret: str | None, clock: Clock | None) -> dict[str, Auth | None]:
        """For a signing scheme: the key signed with a wrong secret, and an hour late."""
        if self.scheme == "bearer" or secret is None:
            return {}
        now = clock or (lambda: int(time.time()))
        return {
            "bad_signature": make_auth(self.scheme, key, secret + "-not-the-secret", clock),
            "stale": make_auth(self.scheme, key, secret, lambda: now() - STALE_SECONDS),
        }

    def _mock_auths(self) -> dict[str, Auth | None]:
        """The mock's own keys for each role: the target's when the fixtures know them
        (verifying the mock against itself), else chosen from the fixtures by scope,
        among the keys of the target's scheme (a signing key has a ``secret``)."""
        signing = self.scheme != "bearer"
        by_key: dict[str, tuple[str, frozenset[str], str | None]] = {}
        for client in self.engine.store.seed:
            for api_key in client.api_keys:
                if (api_key.secret is not None) == signing:  # signing keys carry their secret
                    by_key[api_key.key] = (client.id, frozenset(api_key.scopes), api_key.secret)
        o = self.options

        def pick(given: str | None, override: str | None, want: Callable[[str, frozenset[str]], bool]) -> str | None:
            if override:
                return override
            if given and given in by_key:
                return given
            return next((k for k, (client, scopes, _) in by_key.items() if want(client, scopes)), None)

        main = pick(o.key, o.mock_key, lambda c, s: s >= self.planner.all_scopes)
        main_client = by_key[main][0] if main in by_key else None
        read_only = pick(
            o.read_only_key,
            o.mock_read_only_key,
            lambda c, s: c == main_client and s >= self.planner.read_scopes and not s >= self.planner.all_scopes,
        )
        other = pick(
            o.other_client_key, o.mock_other_client_key, lambda c, s: c != main_client and s >= self.planner.all_scopes
        )

        def auth(key: str) -> Auth:
            secret = by_key[key][2] if key in by_key else o.secret
            return make_auth(self.scheme, key, secret, self._mock_clock)

        auths: dict[str, Auth | None] = {"none": None, "unknown": auth(UNKNOWN_KEYS[self.scheme])}
        for role, key in (("main", main), ("read_only", read_only), ("other", other)):
            if key:
                auths[role] = auth(key)
        if main:
            auths.update(
                self._signing_failures(main, by_key[main][2] if main in by_key else o.secret, self._mock_clock)
            )
        return auths

    def _mock_clock(self) -> int:
        """The mock's "now" (a pinned clock included), for the signatures it checks."""
        from datetime import datetime

        return int(datetime.fromisoformat(self.engine.now().replace("Z", "+00:00")).timestamp())

    # -- paths ----------------------------------------------------------------------------

    def _scheme(self) -> str:
        """The scheme the target's base path takes: from the spec (the schemes its server
        binds with ``x-mock-security``), else from the path itself (``scheme_for``)."""
        matched = self._matched_base()
        bound = self.spec.base_paths.get(matched) if matched is not None else None
        kinds = {self.spec.schemes[name].kind for name in bound or () if name in self.spec.schemes}
        if len(kinds) == 1:
            return kinds.pop()
        return scheme_for(self.http.base_path)

    @staticmethod
    def _op_base(op: Operation) -> str:
        return op.path[: len(op.path) - len(op.spec_path)] if op.path.endswith(op.spec_path) else ""

    def _served(self) -> Sequence[Operation]:
        """Every operation under every base path the mock serves it at (a spec with two
        servers, ``/v1`` and ``/api/v1``, serves each operation twice)."""
        return self.spec.served or self.spec.operations

    def _bases(self, op: Operation) -> list[str]:
        return [self._op_base(o) for o in self._served() if o.operation_id == op.operation_id]

    def _matched_base(self) -> str | None:
        """The spec base path the target's base URL stands for: the longest one its path
        ends with (``https://api.auralytik.ai/api/v1`` -> ``/api/v1``)."""
        bases = {self._op_base(o) for o in self._served()}
        found = sorted((b for b in bases if b and self.http.base_path.endswith(b)), key=len, reverse=True)
        return found[0] if found else None

    def _target_prefix(self, op: Operation) -> str | None:
        bases = self._bases(op)
        matched = self._matched_base()
        if matched is None:  # a base URL of its own (a staging copy): it stands for the spec's first base path
            return self.http.base_path if self.spec.base_path in bases else None
        if matched in bases:
            return self.http.base_path
        if "" in bases:  # /health: at the origin's root, beside the API's base path
            return self.http.base_path[: len(self.http.base_path) - len(matched)]
        return None

    def _mock_prefix(self, op: Operation) -> str | None:
        bases = self._bases(op)
        matched = self._matched_base() or self.spec.base_path
        return matched if matched in bases else (bases[0] if bases else None)

    def _resolve(self, side: Side, step: Step) -> tuple[str | None, str | None]:
        """The concrete path of ``step`` on ``side``, or why it cannot be sent there."""
        prefix = side.prefix(step.op)
        if prefix is None:
            return None, f"the spec places {step.op.path} outside the base URL"
        segments = step.op.spec_path.split("/")
        params = {p.name: p for p in _path_params(step.op)}
        out = []
        names = [s[1:-1] for s in segments if s.startswith("{") and s.endswith("}")]
        for position, segment in enumerate(segments):
            if not (segment.startswith("{") and segment.endswith("}")):
                out.append(segment)
                continue
            name = segment[1:-1]
            collection = "/".join(segments[:position])
            last = name == names[-1]
            listed = side.ids.get(collection, [])
            own = side.created.get(collection, [])
            value: str | None
            if last and step.target_id == "missing":
                value = self.planner.missing_id(params[name], listed + own)
            elif last and step.target_id == "malformed":
                value = self.planner.malformed_id(params[name])
            elif last and step.target_id == "other":
                value = next(iter(side.other_ids.get(collection, [])), None)
                if value is None:
                    return None, "the other client's list gave no id"
            elif last and step.write:
                # A write only ever touches a record this run created, or an id that does not exist.
                if own:
                    value = own[0]
                elif step.case == "success":
                    return None, "no record created by verify to change"
                else:
                    value = self.planner.missing_id(params[name], listed)
            else:
                value = next(iter(listed or own), None)
                if value is None:
                    return None, f"the list at {collection or '/'} gave no id"
            out.append(quote(str(value), safe=""))
        return prefix + "/".join(out), None

    def _body(self, step: Step) -> bytes:
        if step.body is None:
            return b""
        if step.body == "example":
            value = self.planner.marked_body(step.op)
        elif step.body == "invalid":
            value = self.planner.invalid_body(step.op)
        else:
            value = {}
        return json.dumps(value).encode("utf-8")

    def _send(self, side: Side, step: Step) -> Sent:
        path, why = self._resolve(side, step)
        if path is None:
            return Sent(step.op.method, "", None, why)
        if step.key not in side.auths:
            return Sent(step.op.method, path, None, f"no {step.key.replace('_', '-')} key for the {side.name}")
        body = self._body(step)
        headers = {"Accept": "application/json"}
        if body:
            headers["Content-Type"] = "application/json"
        auth = side.auths[step.key]
        if auth is not None:
            headers.update(auth(step.op.method, path, body))
        answer = side.transport.send(step.op.method, path, urlencode(list(step.query)), headers, body)
        self._learn(side, step, answer)
        return Sent(step.op.method, path, answer)

    def _learn(self, side: Side, step: Step, answer: Answer) -> None:
        """Ids from lists, records verify created, and what ``--record`` keeps."""
        op = step.op
        if op.method == "POST" and 200 <= answer.status < 300 and isinstance(answer.body, dict):
            # Whatever the case: a POST that should have been refused but created a record
            # (a read-only key that can write) is listed too.
            record_id = answer.body.get("id")
            if isinstance(record_id, str | int):
                side.created.setdefault(op.spec_path, []).append(str(record_id))
                name = next((answer.body[k] for k in ("name", "title", "label") if k in answer.body), "")
                side.created_records.append(
                    {"id": str(record_id), "name": str(name), "location": answer.headers.get("location", "")}
                )
            return
        if answer.status != step.expected or step.expected >= 300:
            return
        if op.method == "GET":
            is_list = self._array_field(op) is not None or isinstance(answer.body, list)
            if is_list:
                items = _list_items(answer.body, self._array_field(op))
            else:
                items = [answer.body] if isinstance(answer.body, dict) else []
            ids = [str(i["id"]) for i in items if isinstance(i, dict) and isinstance(i.get("id"), str | int)]
            if step.case == "other-client-list":
                side.other_ids.setdefault(op.spec_path, []).extend(ids)
                return
            if is_list:
                known = side.ids.setdefault(op.spec_path, [])
                known.extend(i for i in ids if i not in known)
            kind = self._kind_of(op)
            if kind is not None and step.key == "main":
                for record in items:
                    if isinstance(record, dict) and "id" in record:
                        side.records.setdefault(kind, {})[str(record["id"])] = record

    def _array_field(self, op: Operation) -> str | None:
        response = op.response_for(op.success_status)
        if response is None or response.schema_pointer is None:
            return None
        schema = self.spec.inline(self.spec.lookup(response.schema_pointer))
        for name, prop in ((schema or {}).get("properties") or {}).items() if isinstance(schema, dict) else []:
            if isinstance(prop, dict) and prop.get("type") == "array":
                return str(name)
        return None

    def _kind_of(self, op: Operation) -> str | None:
        """The resource kind (fixtures' key) a GET answers, from the schema it references."""
        response = op.response_for(op.success_status)
        if response is None or response.schema_pointer is None:
            return None
        pointers = {pointer: kind for kind, pointer in build_resources(self.planner.spec, hooked()).kinds().items()}
        node = self.planner.raw(response.schema_pointer)
        candidates = [node]
        if isinstance(node, dict) and "$ref" in node:
            candidates.append(self.planner.raw(node["$ref"][1:]))
        for candidate in list(candidates):
            if isinstance(candidate, dict):
                for prop in (candidate.get("properties") or {}).values():
                    if isinstance(prop, dict) and prop.get("type") == "array":
                        candidates.append(prop.get("items"))
        for candidate in candidates:
            if isinstance(candidate, dict) and isinstance(candidate.get("$ref"), str):
                kind = pointers.get(candidate["$ref"][1:])
                if kind is not None:
                    return kind
        return None

    # -- checking ---------------------------------------------------------------------------

    def _schema_name(self, pointer: str, parts: Sequence[str | int]) -> str:
        """The component schema that describes the value at ``parts`` of a response."""
        name = "answer"
        node = self.planner.raw(pointer)

        def follow(node: Json) -> Json:
            nonlocal name
            seen = 0
            while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 20:
                ref = node["$ref"]
                if ref.startswith("#/components/schemas/"):
                    name = ref.rsplit("/", 1)[-1]
                node = self.planner.raw(ref[1:])
                seen += 1
            return node

        node = follow(node)
        for part in parts:
            if not isinstance(node, dict):
                break
            if isinstance(part, int):
                node = follow(node.get("items"))
            else:
                node = follow((node.get("properties") or {}).get(part))
        return name

    def check_spec(self, side: str, step: Step, answer: Answer, explained: set[str]) -> None:
        """Check one answer against the spec; record what is wrong; fill ``explained``
        with the field paths the spec check already blamed (for the field comparison)."""
        op = step.op
        response = op.response_for(answer.status)
        if answer.raw and not answer.is_json:
            self.log.add(("not-json", side, str(answer.status)), "not-json", f"{side} {answer.status}",
                         f"{side}'s {answer.status} answer is not JSON", step.index)  # fmt: skip
            return
        if response is None:
            return  # an undocumented status is told with the status comparison
        for header in response.headers:
            if header.required and header.name.lower() not in answer.headers:
                self.log.add(
                    ("missing-header", side, header.name.lower(), str(answer.status)),
                    "missing-header",
                    f"{header.name} on {answer.status}",
                    f"{side}'s {answer.status} has no {header.name} header (the spec requires it)",
                    step.index,
                )
                explained.add("header:" + header.name.lower())
        if response.schema_pointer is not None:
            for violation in self.schemas.check(response.schema_pointer, answer.body, "body", strict=True):
                parts = _split_field(violation.field)
                if violation.message == "is required" or violation.message.startswith("is not an allowed field"):
                    schema = self._schema_name(response.schema_pointer, parts[:-1])
                    name = str(parts[-1]) if parts else ""
                    explained.add(_shape(parts))
                    if violation.message == "is required":
                        self.log.add(("missing-field", side, schema), "missing-field", f"{schema}.{{fields}}",
                                     f"{side}'s {schema} has no field{{s}} {{fields}}", step.index, name)  # fmt: skip
                    else:
                        self.log.add(
                            ("extra-field", side, schema),
                            "extra-field",
                            f"{schema}.{{fields}}",
                            f"{side} added field{{s}} {{fields}} to {schema}, which the spec does not declare",
                            step.index,
                            name,
                        )
                else:
                    schema = self._schema_name(response.schema_pointer, parts[:-1] if parts else [])
                    where = f"{schema}.{parts[-1]}" if parts else schema
                    explained.add(_shape(parts))
                    # One entry per rule broken, not per value: "must be an integer, got '142'".
                    rule = re.sub(r"; got .*$|, got .*$", "", violation.message)
                    self.log.add(("invalid-value", side, where, rule), "invalid-value", where,
                                 f"{side}'s {where} {violation.message}", step.index)  # fmt: skip
        error = answer.body.get("error") if isinstance(answer.body, dict) else None
        request_id = answer.headers.get("x-request-id")
        if isinstance(error, dict) and request_id and error.get("requestId") not in (None, request_id):
            self.log.add(("request-id", side), "request-id", "requestId",
                         f"{side}'s error.requestId differs from its X-Request-Id header", step.index)  # fmt: skip

    def compare(self, result: StepResult) -> None:
        step = result.step
        vendor, mock = result.vendor.answer, result.mock.answer
        if vendor is None or mock is None:
            return
        explained_vendor: set[str] = set()
        explained_mock: set[str] = set()
        before = len(self.log.entries)
        self.check_spec("vendor", step, vendor, explained_vendor)
        self.check_spec("mock", step, mock, explained_mock)
        op = step.op
        if vendor.status != mock.status:
            if mock.status == step.expected:
                who = f"the spec and the mock give {mock.status}"
            else:
                who = f"the mock gives {mock.status} (the spec expects {step.expected})"
            note = "" if op.documents(vendor.status) else f"; the spec does not document {vendor.status} here"
            self.log.add(("status", str(vendor.status), str(mock.status), who), "status",
                         f"{vendor.status} for {mock.status}", f"vendor answered {vendor.status} where {who}{note}",
                         step.index)  # fmt: skip
        elif vendor.status != step.expected:
            self.log.add(("expectation", str(vendor.status), step.case), "expectation", f"{step.case}",
                         f"vendor and mock both answered {vendor.status} where the spec implies {step.expected}",
                         step.index)  # fmt: skip
        if vendor.error_code and mock.error_code and vendor.error_code != mock.error_code:
            self.log.add(("error-code", vendor.error_code, mock.error_code), "error-code",
                         f"{vendor.error_code} for {mock.error_code}",
                         f"vendor's error code is {vendor.error_code} where the mock gives {mock.error_code}",
                         step.index)  # fmt: skip
        if vendor.status == mock.status:
            only_vendor, only_mock = _compare_fields(vendor.body, mock.body)
            for path in only_vendor:
                if path not in explained_vendor and path not in explained_mock:
                    self.log.add(("field-set", "vendor", path), "field-set", path,
                                 f"vendor's {vendor.status} answer has field {path}, the mock's does not",
                                 step.index)  # fmt: skip
            for path in only_mock:
                if path not in explained_vendor and path not in explained_mock:
                    self.log.add(("field-set", "mock", path), "field-set", path,
                                 f"the mock's {mock.status} answer has field {path}, the vendor's does not",
                                 step.index)  # fmt: skip
            for name in COMPARED_HEADERS:
                key = name.lower()
                if f"header:{key}" in explained_vendor or f"header:{key}" in explained_mock:
                    continue
                vendor_form = header_form(name, vendor.headers.get(key), vendor)
                mock_form = header_form(name, mock.headers.get(key), mock)
                if vendor_form != mock_form:
                    self.log.add(("header-form", key, vendor_form, mock_form), "header-form", name,
                                 f"vendor's {name} is {vendor_form} where the mock's is {mock_form}",
                                 step.index)  # fmt: skip
        touched = [e for e in self.log.entries.values() if step.index in e.steps]
        if len(self.log.entries) != before or touched:
            result.verdict = "DRIFT"
            result.drift = [e.kind for e in touched]

    # -- run --------------------------------------------------------------------------------

    def run(self) -> Outcome:
        o = self.options
        steps = self.planner.plan(
            read_only=bool(o.read_only_key),
            other=bool(o.other_client_key),
            allow_writes=o.allow_writes,
            signing=self.scheme != "bearer",
        )
        planned = [s for s in steps if s.skip is None]
        writes = sum(1 for s in planned if s.write)
        paged = self._pageable_lists() if o.record is not None else []
        extra = len(paged) * o.record_pages
        if len(planned) + extra > o.max_calls:
            raise VerifyError(f"the plan needs {len(planned) + extra} calls, more than --max-calls {o.max_calls}")
        self.say(
            f"auralytik-mock verify: {o.base_url} with key {mask_key(o.key)}, "
            f"against the mock in process ({self.engine.config.resolved_spec_path.name})"
        )
        self.say(
            f"{len(planned)} calls to the target, one at a time ({writes} writes"
            + ("" if o.allow_writes else "; writes skipped: pass --allow-writes to send them")
            + (f"), then up to {extra} pages for --record" if extra else ")")
            + f"; at most {(len(planned) + extra) * (self.http.max_retries + 1)} with every 429 waited out"
        )
        results: list[StepResult] = []
        error: str | None = None
        for step in steps:
            if step.skip is not None:
                results.append(StepResult(step, Sent(skip=step.skip), Sent(skip=step.skip), f"skipped: {step.skip}"))
                continue
            try:
                vendor = self._send(self.vendor, step)
            except VerifyError as exc:
                error = str(exc)
                break
            mock = self._send(self.mock, step)
            result = StepResult(step, vendor, mock)
            if vendor.answer is None or mock.answer is None:
                result.verdict = f"skipped: {vendor.skip or mock.skip}"
            elif step.key == "main" and step.case == "success" and vendor.answer.status == 401:
                error = (
                    f"the target refused the key {mask_key(o.key)} ({step.op.operation_id} answered 401"
                    + (f" {vendor.answer.error_code}" if vendor.answer.error_code else "")
                    + ")"
                )
                results.append(result)
                break
            else:
                self.compare(result)
            results.append(result)
        calls = self.http.calls if self.target_transport is self.http else sum(1 for r in results if r.vendor.answer)
        outcome = Outcome(
            target=o.base_url,
            results=results,
            drift=self.log.all(),
            created=list(self.vendor.created_records),
            calls=calls,
            planned=len(planned),
            error=error,
        )
        if error is None and o.record is not None:
            notes = self._record_pages(paged, o.record_pages)
            if self.target_transport is self.http:
                outcome.calls = self.http.calls
            outcome.recorded = self.record(o.record, o.anonymize) + notes
        return outcome

    # -- recording --------------------------------------------------------------------------

    def _pageable_lists(self) -> list[tuple[Operation, Parameter, Parameter | None]]:
        """Top-level lists of a recordable kind with a ``page`` parameter (and its size one)."""
        out = []
        for op in self.spec.operations:
            if op.method != "GET" or _path_params(op) or self._kind_of(op) is None:
                continue
            query = [p for p in op.parameters if p.location == "query"]
            page = next((p for p in query if p.name == "page"), None)
            size = next(
                (p for p in query if p is not page and re.search("size|limit|per", p.name, re.I)
                 and isinstance(p.schema.get("maximum"), int)),
                None,
            )  # fmt: skip
            if page is not None:
                out.append((op, page, size))
        return out

    def _record_pages(self, paged: Sequence[tuple[Operation, Parameter, Parameter | None]], limit: int) -> list[str]:
        """Read each list page by page (largest pages first) so the recording holds more
        than the first page; at most ``limit`` calls per list."""
        notes = []
        for op, page_param, size_param in paged:
            size = int(size_param.schema["maximum"]) if size_param is not None else None
            for number in range(1, limit + 1):
                query = list(self.planner.required_query(op)) + [(page_param.name, str(number))]
                if size_param is not None:
                    query.append((size_param.name, str(size)))
                step = Step(0, op, "record-page", op.success_status, query=tuple(query))
                try:
                    sent = self._send(self.vendor, step)
                except VerifyError as exc:
                    notes.append(f"recording stopped at {op.operation_id} page {number}: {exc}")
                    break
                answer = sent.answer
                got = len(_list_items(answer.body, self._array_field(op))) if answer else 0
                if answer is None or answer.status != op.success_status or got == 0 or (size and got < size):
                    break
            else:
                notes.append(f"{op.operation_id}: recorded the first {limit} pages only (--record-pages)")
        return notes

    def record(self, folder: Path, anonymize: bool) -> list[str]:
        """Write what the target returned for its reads as a fixture file; returns notes."""
        notes: list[str] = []
        created = {r["id"] for r in self.vendor.created_records}
        served = build_resources(self.spec, hooked())
        kinds = served.kinds()
        derived = {kind: frozenset(c[0] for c in r.copies) for kind, r in served.by_kind.items()}
        resources: dict[str, list[dict[str, Json]]] = {}
        for kind, records in self.vendor.records.items():
            kept = []
            for record_id, record in records.items():
                if record_id in created:
                    continue
                record = json.loads(scrub(json.dumps(record), self.options.secrets()))
                # Copies (x-mock-copy, an evaluation's engagementName) come from the record they
                # name: the mock fills them in, so anonymized names stay consistent.
                rules = derived.get(kind, frozenset())
                record = {k: v for k, v in record.items() if k not in rules}
                if anonymize:
                    record = self.anonymize(kinds[kind], record)
                problems = [
                    p
                    for p in self.schemas.check(kinds[kind], record, "record", strict=True)
                    if not (p.field.removeprefix("record.") in rules and p.message == "is required")
                ]
                if problems:
                    notes.append(f"not recorded: {kind} {record_id}: {problems[0].field} {problems[0].message}")
                    continue
                kept.append(record)
            resources[kind] = kept
        scopes = sorted(self.spec.scopes)
        api_keys: list[dict[str, Json]] = [{"key": RECORDED_KEY, "scopes": scopes}]
        if self.options.read_only_key:
            api_keys.append({"key": RECORDED_READ_ONLY_KEY, "scopes": sorted(self.planner.read_scopes)})
        client: dict[str, Json] = {"id": "client_recorded", "name": "Recorded by auralytik-mock verify"}
        client["apiKeys"] = api_keys
        client.update(resources)
        document = {"clients": [client]}
        loader = FixtureLoader(self.schemas, kinds, self.spec.scopes, rules=store_rules(served), extras=served.extras())
        loader.load_documents([("recorded", document)])  # raises FixtureError if it would not load
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "recorded.yaml"
        header = (
            f"# Recorded by auralytik-mock verify from {self.options.base_url}"
            + (" (anonymized)" if anonymize else "")
            + f".\n# The keys are placeholders: use {RECORDED_KEY} with the mock.\n"
        )
        path.write_text(header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
        count = sum(len(v) for v in resources.values())
        notes.insert(0, f"recorded {count} record(s) to {path}")
        return notes

    def anonymize(self, pointer: str, record: dict[str, Json]) -> dict[str, Json]:
        """Replace free text (names, descriptions) with generated text, the same every run."""
        schema = self.spec.inline(self.spec.lookup(pointer))
        properties = (schema.get("properties") or {}) if isinstance(schema, dict) else {}
        out = dict(record)
        for name, prop in properties.items():
            value = out.get(name)
            if not isinstance(value, str) or not isinstance(prop, dict) or not _is_free_text(name, prop):
                continue
            replacement = _generated_text(name, value, prop)
            candidate = {**out, name: replacement}
            if not [v for v in self.schemas.check(pointer, candidate, "record", strict=True) if name in v.field]:
                out = candidate
        return out


def _list_items(body: Json, array_field: str | None) -> list[Json]:
    if isinstance(body, list):
        return body
    if not isinstance(body, dict):
        return []
    if array_field is not None and isinstance(body.get(array_field), list):
        return list(body[array_field])
    return next((list(v) for v in body.values() if isinstance(v, list)), [])


def _is_free_text(name: str, prop: Mapping[str, Json]) -> bool:
    kinds = prop.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if "string" not in kinds or prop.get("readOnly"):
        return False
    if any(k in prop for k in ("enum", "const", "format")):
        return False
    if name == "id" or name.endswith("Id") or name.endswith("_id"):
        return False
    if name in {"type", "kind", "category"}:  # a classifier, not text a person wrote
        return False
    pattern = prop.get("pattern")
    return pattern is None or re.search(str(pattern), "Amber Falcon review") is not None


_WORDS = (
    "amber", "birch", "cobalt", "delta", "ember", "fjord", "granite", "harbor", "indigo", "juniper",
    "kestrel", "lumen", "meadow", "nimbus", "orchid", "pepper", "quartz", "raven", "sierra", "tundra",
)  # fmt: skip


def _generated_text(name: str, value: str, prop: Mapping[str, Json]) -> str:
    digest = hashlib.sha256(f"{name}\0{value}".encode()).digest()
    words = [_WORDS[b % len(_WORDS)] for b in digest[:4]]
    long_text = "description" in name.lower() or "note" in name.lower() or "comment" in name.lower()
    text = (" ".join(words[:4]).capitalize() + ".") if long_text else " ".join(w.capitalize() for w in words[:2])
    limit = prop.get("maxLength")
    return text[:limit] if isinstance(limit, int) else text


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every key and secret masked as the journal masks keys."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, mask_key(secret))
    return text


# -- reports -----------------------------------------------------------------------------------


def _status(sent: Sent) -> str:
    return str(sent.answer.status) if sent.answer else "-"


def render_text(outcome: Outcome) -> str:
    """The report a person reads: one line per step, then each drift spelt out."""
    rows = [("#", "operation", "case", "vendor", "mock", "verdict")]
    for r in outcome.results:
        rows.append((str(r.step.index), r.step.op.operation_id, r.step.case, _status(r.vendor), _status(r.mock),
                     r.verdict))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 5 else cell for i, cell in enumerate(row)).rstrip() for row in rows]
    compared = sum(1 for r in outcome.results if r.vendor.answer and r.mock.answer)
    skipped = sum(1 for r in outcome.results if r.verdict.startswith("skipped"))
    lines.append("")
    if outcome.drift:
        lines.append(f"Drift ({len(outcome.drift)}):")
        for number, drift in enumerate(outcome.drift, 1):
            seen = ", ".join(str(s) for s in drift.steps)
            lines.append(f"  {number}. {drift.message} (step{'s' if len(drift.steps) > 1 else ''} {seen})")
    elif outcome.error is None:
        lines.append(f"No drift: the vendor, the spec and the mock agree on {compared} steps ({skipped} skipped).")
    if outcome.created:
        lines.append("")
        lines.append("Created by verify (the vendor documents no delete; remove them by hand):")
        for record in outcome.created:
            where = f" at {record['location']}" if record.get("location") else ""
            lines.append(f"  {record['id']} {record['name']!r}{where}")
    for note in outcome.recorded:
        lines.append(note)
    lines.append("")
    if outcome.error is not None:
        lines.append(f"Could not run: {outcome.error} (exit 2)")
    else:
        verdict = f"DRIFT ({len(outcome.drift)})" if outcome.drift else "OK"
        lines.append(f"{verdict}: {outcome.calls} calls to the target; exit {outcome.exit_code}")
    return "\n".join(lines)


def render_json(outcome: Outcome) -> dict[str, Json]:
    """The whole run for machines: every step (both sides) and every drift."""
    labels = {r.step.index: r.step.label for r in outcome.results}
    return {
        "target": outcome.target,
        "result": "error" if outcome.error else ("drift" if outcome.drift else "ok"),
        "exitCode": outcome.exit_code,
        "error": outcome.error,
        "calls": outcome.calls,
        "planned": outcome.planned,
        "steps": [r.as_json() for r in outcome.results],
        "drift": [{**d.as_json(), "seenIn": [labels[i] for i in d.steps if i in labels]} for d in outcome.drift],
        "created": outcome.created,
        "recorded": outcome.recorded,
    }


def render_junit(outcome: Outcome) -> str:
    """JUnit XML: one test case per step; drift as failures, skipped steps as skipped."""
    by_step: dict[int, list[Drift]] = {}
    for drift in outcome.drift:
        for step in drift.steps:
            by_step.setdefault(step, []).append(drift)
    suite = ET.Element(
        "testsuite",
        name="auralytik-mock verify",
        tests=str(len(outcome.results)),
        failures=str(sum(1 for r in outcome.results if r.step.index in by_step)),
        errors="1" if outcome.error else "0",
        skipped=str(sum(1 for r in outcome.results if r.verdict.startswith("skipped"))),
    )
    for r in outcome.results:
        case = ET.SubElement(suite, "testcase", classname=r.step.op.operation_id, name=r.step.case)
        if r.step.index in by_step:
            messages = [d.message for d in by_step[r.step.index]]
            failure = ET.SubElement(case, "failure", message=messages[0])
            failure.text = "\n".join(messages)
        elif r.verdict.startswith("skipped"):
            ET.SubElement(case, "skipped", message=r.verdict.removeprefix("skipped: "))
    if outcome.error:
        case = ET.SubElement(suite, "testcase", classname="verify", name="run")
        ET.SubElement(case, "error", message=outcome.error)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def verify(
    config: Config,
    options: Options,
    *,
    report: Path | None = None,
    junit: Path | None = None,
    say: Callable[[str], None] = print,
    target: Transport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Run verify, print the report, write the files asked for; returns the outcome.

    :raises VerifyError: it could not start (bad base URL, the plan too long, no signing).
    """
    verifier = Verifier(config, options, target=target, say=say, sleep=sleep)
    try:
        outcome = verifier.run()
    except TimeoutError as exc:  # pragma: no cover - http.client raises OSError subclasses
        raise VerifyError(f"the target timed out: {exc}") from None
    secrets = options.secrets()
    say(scrub(render_text(outcome), secrets))
    if report is not None:
        report.write_text(scrub(json.dumps(render_json(outcome), indent=2), secrets) + "\n", encoding="utf-8")
    if junit is not None:
        junit.write_text(scrub(render_junit(outcome), secrets) + "\n", encoding="utf-8")
    return outcome
