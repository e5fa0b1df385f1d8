"""Errors in the spec's own shape: a refusal answered as the operation documents that status.

Owns: turning an ``ApiError`` into the answer a spec without a vendor profile documents for
it: the status's response of the operation (else ``4XX``/``default``; for a request that
matched no operation, the first operation that documents the status), in its media type
(``application/problem+json`` with RFC 9457's ``type``/``title``/``status``/``detail``), the
message, code and violations put where the schema has room for them, every other required
field filled validly. A spec whose profile declares an envelope (Auralytik's
``{"error": {...}}``) gets that envelope (``errors.render_error``), as does a status no
operation documents.
No Flask, no IO.
May import: ``errors``, ``profile``, ``spec``, ``types``, ``generate`` (values for required
fields), jsonschema.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from ..generate import GenerateError, generate_value
from .errors import ApiError, MethodNotAllowedError, Violation, render_error
from .profile import Profile
from .spec import Operation, ResponseSpec, Spec
from .types import Json, MockResponse

PROBLEM_JSON = "application/problem+json"
#: Property names that take the error's message, most telling first.
MESSAGE_NAMES = ("message", "detail", "description", "error_description", "errorMessage", "error", "title", "msg")
#: Property names that take the error's code (a string) or its status (an integer).
CODE_NAMES = ("code", "errorCode", "error_code", "type", "reason")
#: Property names that take the HTTP status.
STATUS_NAMES = ("status", "statusCode", "status_code", "httpStatus")
#: Property names that take the request id.
REQUEST_ID_NAMES = ("requestId", "request_id", "traceId", "trace_id", "correlationId")
#: Array property names that take the violations.
DETAILS_NAMES = ("details", "errors", "violations", "issues", "fieldErrors", "invalidParams", "invalid_params")
#: In one violation: the names that take where it is.
FIELD_NAMES = ("field", "path", "pointer", "name", "param", "parameter", "location", "loc", "property")
_MISSING = object()


@dataclass(frozen=True)
class _Facts:
    """What an error answer can say, whatever its shape."""

    status: int
    code: str
    message: str
    request_id: str
    details: tuple[Violation, ...]
    extra: Mapping[str, Json]
    problem: bool


class ErrorRenderer:
    """Renders every refusal of one world, as its spec and profile say.

    :param spec: the spec whose documented error responses shape the answers.
    :param profile: its profile (an ``error_envelope`` there wins over the spec's shapes).
    :param strict: a status documented without a body is answered without one (with
        ``--validate-responses``); otherwise it gets the envelope, which says what went wrong.
    """

    def __init__(self, spec: Spec, profile: Profile, *, strict: bool = False) -> None:
        self.spec = spec
        self.profile = profile
        self.strict = strict
        self._schemas: dict[str, Json] = {}
        self._any_op: dict[int, Operation | None] = {}

    def render(
        self, error: ApiError, request_id: str, op: Operation | None = None, status: int | None = None
    ) -> MockResponse:
        """The answer to ``error`` on ``op`` (``None``: the request matched no operation)."""
        status = status or error.status
        if self.profile.error_envelope is not None:
            return render_error(error, request_id, status)
        if op is not None:
            status = documented_status(op, status)
        documented = op.response_for(status) if op is not None else None
        if documented is None:
            other = self._documenting(status)
            documented = other.response_for(status) if other is not None else None
        if documented is None or (documented.schema_pointer is None and not documented.has_example and not self.strict):
            return render_error(error, request_id, status)
        headers = dict(error.headers)
        if isinstance(error, MethodNotAllowedError):
            headers["Allow"] = ", ".join(error.allowed)
        media = _media_of(documented)
        facts = _Facts(status, error.code, error.message, request_id, error.details, error.extra, media == PROBLEM_JSON)
        body: Json
        if documented.schema_pointer is not None:
            schema = self._schema(documented.schema_pointer)
            if _free_form(schema):  # room for anything: the envelope, which says the most
                enveloped = render_error(error, request_id, status)
                enveloped.content_type = media or "application/json"
                return enveloped
            body = self._fill(schema, facts, "", 0)
            if body is _MISSING:
                body = None
        elif documented.has_example:
            body = documented.example
        else:
            body = _problem(facts) if facts.problem else None
        response = MockResponse(status, body, headers, content_type=media or "application/json")
        response.delay = error.delay
        return response

    def _documenting(self, status: int) -> Operation | None:
        """The first operation that documents a body for ``status`` exactly, else as ``4XX`` or
        ``default`` (the shape of a refusal on a path or operation that documents none)."""
        if status not in self._any_op:

            def shaped(op: Operation, key: str) -> bool:
                found = op.responses.get(key)
                return found is not None and found.schema_pointer is not None

            keys = (str(status), f"{status // 100}XX", "default")
            self._any_op[status] = next((op for key in keys for op in self.spec.served if shaped(op, key)), None)
        return self._any_op[status]

    def _schema(self, pointer: str) -> Json:
        if pointer not in self._schemas:
            self._schemas[pointer] = self.spec.inline(self.spec.lookup(pointer))
        return self._schemas[pointer]

    # -- filling a schema --------------------------------------------------------------

    def _fill(self, schema: Json, facts: _Facts, name: str, depth: int, violation: Violation | None = None) -> Any:
        if not isinstance(schema, dict) or depth > 8:
            return _MISSING
        schema = _merged(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
            wanted = self._named(schema, facts, name, violation)
            return wanted if wanted is not _MISSING and wanted in schema["enum"] else schema["enum"][0]
        kind = _type_of(schema)
        if kind == "object":
            return self._object(schema, facts, depth, violation)
        if kind == "array":
            return self._array(schema, facts, name, depth)
        wanted = self._named(schema, facts, name, violation)
        if wanted is not _MISSING and _valid(schema, wanted):
            return wanted
        return _MISSING

    def _object(self, schema: dict[str, Json], facts: _Facts, depth: int, violation: Violation | None) -> Json:
        properties = schema.get("properties") or {}
        required = [r for r in schema.get("required") or () if isinstance(r, str)]
        out: dict[str, Json] = {}
        for prop, sub in properties.items():
            value = self._fill(sub, facts, prop, depth + 1, violation)
            if value == [] and prop not in required:
                value = _MISSING  # no violations: an optional list is left out
            if value is _MISSING and prop in required:
                value = _texts(sub, facts)
            if value is _MISSING and prop in required:
                value = _generated(sub, prop, facts.status)
            if value is not _MISSING:
                out[prop] = value
        for prop in required:
            if prop not in out:
                out[prop] = _generated(schema.get("additionalProperties") or {}, prop, facts.status)
        holds_message = any(name in out for name in MESSAGE_NAMES) and violation is None
        if holds_message and schema.get("additionalProperties", True) is not False:
            for key, value in facts.extra.items():
                if key not in properties:
                    out[key] = value
        return out

    def _array(self, schema: dict[str, Json], facts: _Facts, name: str, depth: int) -> Json:
        if name not in DETAILS_NAMES:
            return _MISSING
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        out = []
        for violation in facts.details:
            if isinstance(items, dict) and _type_of(_merged(items)) == "string":
                text = f"{violation.field} {violation.message}"
                value: Json = text if _valid(items, text) else _MISSING
            else:
                value = self._fill(items, facts, "", depth + 1, violation)
            if value is not _MISSING:
                out.append(value)
        return out if _valid(schema, out) else _MISSING

    def _named(self, schema: dict[str, Json], facts: _Facts, name: str, violation: Violation | None) -> Json:
        """What the property ``name`` says about this error (``_MISSING``: nothing)."""
        kind = _type_of(schema)
        if violation is not None:
            if name in FIELD_NAMES:
                return violation.field
            if name in MESSAGE_NAMES:
                return violation.message
            return _MISSING
        if facts.problem:
            if name == "type":
                return "about:blank"
            if name == "title":
                return _reason(facts.status)
            if name == "status":
                return facts.status
            if name == "detail":
                return facts.message
        if name in STATUS_NAMES:
            return facts.status if kind in ("integer", "number") else str(facts.status)
        if name in CODE_NAMES:
            return facts.status if kind in ("integer", "number") else facts.code
        if name in MESSAGE_NAMES:
            return facts.message
        if name in REQUEST_ID_NAMES:
            return facts.request_id
        if name in facts.extra:
            return facts.extra[name]
        return _MISSING


#: A refusal of what the request says (its content, or the record it names), by the
#: statuses an operation may document for it instead, in order.
_BAD_REQUEST_STATUSES = {status: (400, 422) for status in (400, 404, 409, 413, 415, 422)}


def documented_status(op: Operation, status: int) -> int:
    """The status ``op`` answers a refusal with: ``status`` when it documents it (or its
    ``4XX``/``default``); else, for a refusal of the request's content or of the record it
    names, the operation's documented 400 or 422 (RealWorld documents every such refusal as
    422); else ``status`` as it is."""
    if op.response_for(status) is not None:
        return status
    return next((other for other in _BAD_REQUEST_STATUSES.get(status, ()) if str(other) in op.responses), status)


def _texts(schema: Json, facts: _Facts) -> Json:
    """For a required array of strings (RealWorld's ``errors.body``): the message, then each
    violation; ``_MISSING`` when ``schema`` is no such array."""
    if not isinstance(schema, dict):
        return _MISSING
    schema = _merged(schema)
    items = schema.get("items")
    if _type_of(schema) != "array" or not isinstance(items, dict) or _type_of(_merged(items)) != "string":
        return _MISSING
    texts: list[Json] = [facts.message, *(f"{v.field} {v.message}" for v in facts.details)]
    return texts if _valid(schema, texts) else _MISSING


def _problem(facts: _Facts) -> dict[str, Json]:
    """RFC 9457's members for an error, for a problem+json answer with no schema."""
    body: dict[str, Json] = {
        "type": "about:blank",
        "title": _reason(facts.status),
        "status": facts.status,
        "detail": facts.message,
    }
    if facts.details:
        body["errors"] = [v.as_json() for v in facts.details]
    return body


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def _media_of(response: ResponseSpec) -> str | None:
    """The media type a documented response's schema is under (``None``: no JSON content)."""
    pointer = response.schema_pointer
    if pointer is None or "/content/" not in pointer:
        return None
    token = pointer.rsplit("/content/", 1)[1].split("/", 1)[0]
    return token.replace("~1", "/").replace("~0", "~").split(";", 1)[0].strip().lower()


def _merged(schema: dict[str, Json]) -> dict[str, Json]:
    """``schema`` with its ``allOf`` parts merged in, and the first of a ``oneOf``/``anyOf``."""
    parts = schema.get("allOf")
    choice = schema.get("oneOf") or schema.get("anyOf")
    if not isinstance(parts, list) and not isinstance(choice, list):
        return schema
    merged: dict[str, Json] = {k: v for k, v in schema.items() if k not in ("allOf", "oneOf", "anyOf")}
    for part in [*(parts if isinstance(parts, list) else []), *(choice[:1] if isinstance(choice, list) else [])]:
        if not isinstance(part, dict):
            continue
        part = _merged(part)
        for key, value in part.items():
            if key == "properties" and isinstance(value, dict):
                merged["properties"] = {**(merged.get("properties") or {}), **value}
            elif key == "required" and isinstance(value, list):
                merged["required"] = [*(merged.get("required") or []), *value]
            else:
                merged.setdefault(key, value)
    return merged


def _free_form(schema: Json) -> bool:
    """Whether ``schema`` takes any object (``{type: object}``, ``{}``): no property named."""
    if not isinstance(schema, dict):
        return False
    schema = _merged(schema)
    names = set(schema) - {"type", "description", "title", "additionalProperties", "example", "examples"}
    return (
        not names
        and _type_of(schema) in (None, "object")
        and schema.get("additionalProperties", True) not in (False, None)
    )


def _type_of(schema: dict[str, Json]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and "properties" in schema:
        return "object"
    return kind if isinstance(kind, str) else None


def _valid(schema: Json, value: Json) -> bool:
    # python-jsonschema on first use: an eighth of start-up, and most specs never come here
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
    from referencing.exceptions import Unresolvable

    try:
        return bool(Draft202012Validator(schema).is_valid(value))
    except (SchemaError, Unresolvable):  # a recursive $ref the bare validator cannot resolve
        return False


def _generated(schema: Json, name: str, status: int) -> Json:
    try:
        return generate_value(schema, key=["error", status, name], name=name)
    except GenerateError:
        return None
