"""Check requests (and, on demand, responses) against the spec with jsonschema.

Owns: one compiled validator set per operation (path, query, headers, body), built once
at start-up; body decoding (media type and size; JSON through ``jsontext``, other media types
through ``bodies``). Its messages are ``violations``'.
No Flask, no IO.
May import: ``spec``, ``routing`` (a path's fixed query), ``bodies``, ``jsontext``, ``violations``,
``types``, ``errors``, jsonschema, referencing.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import bodies
from .errors import (
    BODY_TOO_LARGE,
    UNSUPPORTED_MEDIA,
    InvalidRequestError,
    PayloadTooLargeError,
    SpecError,
    UnsupportedMediaTypeError,
    Violation,
)
from .jsontext import decode_json
from .routing import fixed_query
from .spec import SPEC_URI, Operation, Parameter, Spec, escape_pointer_token, pointer_ref
from .types import Json, MockRequest
from .violations import describe_errors, field_of, shorten, shown

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

_rs: Any
try:  # the fast validity check; python-jsonschema alone when no wheel fits the platform
    _rs = importlib.import_module("jsonschema_rs")
except ImportError:  # pragma: no cover - exercised only where jsonschema-rs is missing
    _rs = None

_INTEGER = re.compile(r"[+-]?\d{1,40}\Z")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")


@dataclass(frozen=True)
class ValidRequest:
    """A request that passed validation, with typed parameters and defaults applied."""

    path: Mapping[str, Json]
    query: Mapping[str, Json]
    body: Json
    #: The header parameters the operation declares and the request gave, typed.
    headers: Mapping[str, Json] = field(default_factory=dict)
    #: The request's ``Host`` header (what a URL the mock hands out points at).
    host: str = ""
    #: The body's bytes and ``Content-Type`` as sent (what a blob store keeps).
    raw_body: bytes = b""
    raw_content_type: str | None = None


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)\Z")


def is_rfc3339(value: str) -> bool:
    """Whether ``value`` is an RFC 3339 date-time (``2024-01-10T09:00:00Z``)."""
    if not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # a day or hour out of range
    except ValueError:
        return False
    return True


def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or is_rfc3339(value)


class SchemaSet:
    """Validators for any schema of the spec, built once per schema.

    Two engines, each doing what it does best. jsonschema-rs decides whether an
    instance is valid: it is fast (about 0.5 us per engagement against 35 us) and follows
    JSON Schema's ECMA-262 regular expressions (Python's ``re`` lets ``$`` match before a
    trailing newline, so ``"quality_review\n"`` would pass ``^[a-z_]+$``). python-jsonschema
    then locates and words the violations of an invalid instance. Without jsonschema-rs
    (no wheel for the platform) python-jsonschema does both.

    Request validators leave ``format`` alone (as the vendor's validation may); the
    strict ones, used for fixtures and the response self-check, check ``date-time``.
    """

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._registry: Any = None
        self._formats: Any = None
        self._cache: dict[tuple[str, bool], Draft202012Validator] = {}
        self._fast: dict[tuple[str, bool], Any] = {}
        self._objects: dict[str, tuple[dict[str, str], bool | None]] = {}

    def _python(self) -> tuple[Any, Any]:
        """python-jsonschema's registry and format checker, imported on first use: with
        jsonschema-rs deciding validity it is needed only to word errors (and its import
        is an eighth of start-up)."""
        if self._registry is None:
            from jsonschema import FormatChecker
            from referencing import Registry
            from referencing.jsonschema import DRAFT202012

            formats = FormatChecker(formats=())
            formats.checks("date-time")(_is_date_time)
            self._formats = formats
            self._registry = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(self.spec.document))
        return self._registry, self._formats

    def prepare(self, pointer: str) -> None:
        """Compile what checking the schema at ``pointer`` needs, now rather than on the first request."""
        if self.fast(pointer) is None:
            self.at(pointer)

    def fast(self, pointer: str, *, strict: bool = False) -> Any:
        """The jsonschema-rs validator for the schema at ``pointer``, or ``None``."""
        key = (pointer, strict)
        if key not in self._fast:
            validator = None
            if _rs is not None:
                schema = self.spec.inline(self.spec.lookup(pointer))
                if isinstance(schema, dict) and "$ref" not in str(schema):  # recursive: python only
                    try:
                        validator = _rs.validator_for(schema, validate_formats=strict)
                    except _rs.ValidationError as exc:  # Spec checks schemas first; this is a backstop
                        raise self.spec.error_at(pointer, f"not a valid schema: {exc.message}") from None
            self._fast[key] = validator
        return self._fast[key]

    def check(
        self,
        pointer: str,
        instance: Json,
        prefix: str,
        *,
        strict: bool = False,
        read_only: frozenset[str] = frozenset(),
    ) -> list[Violation]:
        """Every violation of ``instance`` against the schema at ``pointer``, located under ``prefix``."""
        fast = self.fast(pointer, strict=strict)
        if fast is not None and fast.is_valid(instance):
            return []
        found = describe_errors(self.at(pointer, strict=strict).iter_errors(instance), prefix, read_only)
        if found or fast is None:
            return found
        # Valid to Python's regular expressions, not to ECMA-262's: say what jsonschema-rs says.
        return sorted(
            {
                Violation(field_of(prefix, list(e.instance_path)), shorten(e.message))
                for e in fast.iter_errors(instance)
            },
            key=lambda v: (v.field, v.message),
        )

    def bad_fields(self, pointer: str, instance: Json, names: Collection[str] | None = None) -> set[str]:
        """The top-level fields of ``instance`` (only ``names``, if given) whose values the
        schema at ``pointer`` rejects.

        With ``names``, each is checked against its own ``properties`` schema when the
        object schema declares one (a new record's few given fields, while the fields the
        store fills later are still placeholders the whole schema would reject); else the
        whole ``instance`` against the whole schema.
        """
        if names is not None and isinstance(instance, dict):
            located = {name: self._property(pointer, name) for name in names}
            if all(found is not None for found in located.values()):
                return {name for name, at in located.items() if at and self._rejects(at, instance.get(name))}
        fast = self.fast(pointer)
        if fast is not None and fast.is_valid(instance):
            return set()
        found = {str(e.absolute_path[0]) for e in self.at(pointer).iter_errors(instance) if e.absolute_path}
        return found if names is None else found & set(names)

    def _property(self, pointer: str, name: str) -> str | None:
        """The pointer of ``name``'s schema under the object schema at ``pointer`` (``""``: the
        schema takes any value there), or ``None`` where it is not one plain ``properties``
        entry (``allOf``, pattern properties: the whole schema decides). Kept per schema, not
        per name a client sends."""
        shape = self._objects.get(pointer)
        if shape is None:
            declared: dict[str, str] = {}
            open_ended: bool | None = None  # None: the whole schema decides every name
            try:  # where the schema really is (a response's schema is often a $ref)
                schema, where = self.spec.resolve(self.spec.lookup(pointer), pointer)
            except (KeyError, SpecError):
                schema, where = None, pointer
            if isinstance(schema, dict) and not set(schema) & _COMPOSED:
                properties = schema.get("properties")
                if isinstance(properties, dict):
                    declared = {str(k): f"{where}/properties/{escape_pointer_token(str(k))}" for k in properties}
                open_ended = "patternProperties" not in schema and schema.get("additionalProperties", True) is True
            shape = self._objects[pointer] = (declared, open_ended)
        declared, open_ended = shape
        if open_ended is None:
            return None
        return declared.get(name, "" if open_ended else None)

    def _rejects(self, pointer: str, value: Json) -> bool:
        fast = self.fast(pointer)
        if fast is not None:
            return not fast.is_valid(value)
        return next(iter(self.at(pointer).iter_errors(value)), None) is not None

    def at(self, pointer: str, *, strict: bool = False) -> Draft202012Validator:
        """A validator for the schema at ``pointer`` (cached: built once)."""
        validator = self._cache.get((pointer, strict))
        if validator is None:
            from jsonschema import Draft202012Validator

            registry, formats = self._python()
            # The schema with its references inlined: resolving a $ref through the registry
            # on every request cost more than the rest of a GET's validation (profiled).
            schema = self.spec.inline(self.spec.lookup(pointer))
            if not isinstance(schema, dict):
                schema = {"$ref": pointer_ref(pointer)}
            validator = Draft202012Validator(schema, registry=registry, format_checker=formats if strict else None)
            self._cache[(pointer, strict)] = validator
        return validator


#: Keywords that make an object schema more than its ``properties``: a field is then judged
#: by the whole schema.
_COMPOSED = frozenset({"allOf", "anyOf", "oneOf", "not", "if", "$ref", "$dynamicRef", "dependentSchemas"})


def _is_uuid(value: str) -> bool:
    """Whether ``value`` is a UUID in its usual text form (``8-4-4-4-12`` hex digits)."""
    return bool(_UUID.fullmatch(value))


#: Integer formats parameters are held to (OpenAPI's own formats; other formats are left alone).
_INT_BITS = {"int32": 32, "int64": 64}


def _is_array(schema: Mapping[str, Json]) -> bool:
    kind = schema.get("type")
    return kind == "array" or (isinstance(kind, list) and "array" in kind)


def _coerce(value: str, schema: Mapping[str, Json]) -> Json:
    """Turn a query/path/header string into the type its schema declares, where it parses."""
    kind = schema.get("type")
    kinds = [kind] if isinstance(kind, str) else list(kind or [])
    if "integer" in kinds and _INTEGER.match(value):
        return int(value)
    if "number" in kinds and _NUMBER.match(value) and len(value) <= 64:
        number = float(value)
        return int(number) if number.is_integer() and "integer" in kinds else number
    if "boolean" in kinds and value in {"true", "false"}:
        return value == "true"
    return value


class _OperationValidator:
    def __init__(self, schemas: SchemaSet, op: Operation) -> None:
        self.op = op
        self.schemas = schemas
        self.path_params = [p for p in op.parameters if p.location == "path"]
        self.query_params = {p.name: p for p in op.parameters if p.location == "query"}
        self.header_params = [p for p in op.parameters if p.location == "header"]
        self.query_defaults = {p.name: p.schema["default"] for p in self.query_params.values() if "default" in p.schema}
        self.query_names = ", ".join(sorted(self.query_params)) or "none"
        # A key sent in the query (an apiKey scheme ``in: query``) is the caller's, not a parameter.
        schemes = schemas.spec.schemes
        self.key_params = frozenset(
            schemes[name].header
            for alternative in op.security
            for name in alternative
            if name in schemes and schemes[name].location == "query"
        ) | frozenset(name for name, _ in fixed_query(op.spec_path))
        for param in op.parameters:  # compile now, not on the first request
            schemas.prepare(param.schema_pointer)
        self.body_pointer = op.body_pointer
        for pointer in {op.body_pointer, *op.body_schemas.values()} - {None}:
            schemas.prepare(str(pointer))
        self.takes_json = any(bodies.is_json(m.split(";", 1)[0].strip().lower()) for m in op.body_media_types)
        self.read_only = self._read_only_fields(schemas.spec, op)

    @staticmethod
    def _read_only_fields(spec: Spec, op: Operation) -> frozenset[str]:
        """Fields of the resource this operation answers that the server owns (``readOnly``)."""
        response = op.response_for(op.success_status)
        if response is None or response.schema_pointer is None:
            return frozenset()
        schema = spec.schema_at(response.schema_pointer)
        names = set()
        for name, prop in (schema.get("properties") or {}).items():
            if isinstance(prop, dict) and prop.get("readOnly"):
                names.add(name)
        return frozenset(names)

    def _param(self, param: Parameter, raw: str, prefix: str, out: list[Violation]) -> Json:
        value = _coerce(raw, param.schema)
        out.extend(self.schemas.check(param.schema_pointer, value, f"{prefix}.{param.name}"))
        if param.schema.get("format") == "uuid" and isinstance(value, str) and not _is_uuid(value):
            out.append(Violation(f"{prefix}.{param.name}", f"must be a UUID, got {shown(value)}"))
        bits = _INT_BITS.get(str(param.schema.get("format")))
        if bits and isinstance(value, int) and not -(1 << (bits - 1)) <= value < 1 << (bits - 1):
            out.append(Violation(f"{prefix}.{param.name}", f"must be a {bits}-bit integer, got {value}"))
        return value

    def validate(self, request: MockRequest, raw_path: Mapping[str, str], max_body: int) -> ValidRequest:
        violations: list[Violation] = []
        path = {p.name: self._param(p, raw_path[p.name], "path", violations) for p in self.path_params}

        query: dict[str, Json] = dict(self.query_defaults)
        for name, values in request.query.items():
            param = self.query_params.get(name)
            if param is None and name in self.key_params:
                continue
            if param is None:
                violations.append(
                    Violation(f"query.{name}", f"is not a parameter of this operation (allowed: {self.query_names})")
                )
            elif _is_array(param.schema):  # form style, exploded (OpenAPI's default): ?tag=a&tag=b
                items = param.schema.get("items")
                value = [_coerce(v, items if isinstance(items, dict) else {}) for v in values]
                violations.extend(self.schemas.check(param.schema_pointer, value, f"query.{name}"))
                query[name] = value
            elif len(values) != 1:
                violations.append(Violation(f"query.{name}", f"is given {len(values)} times; give it once"))
            else:
                query[name] = self._param(param, values[0], "query", violations)
        for name, param in self.query_params.items():
            if param.required and name not in request.query:
                violations.append(Violation(f"query.{name}", "is required"))

        headers: dict[str, Json] = {}
        for param in self.header_params:
            raw = request.header(param.name)
            if raw is None:
                if param.required:
                    violations.append(Violation(f"header.{param.name}", "is required"))
            else:
                headers[param.name] = self._param(param, raw, "header", violations)

        body: Json = None
        if self.op.body_pointer is not None or self.op.body_media_types:
            body = self._body(request, max_body, violations)
        if violations:
            raise InvalidRequestError.from_violations(violations)
        return ValidRequest(
            path, query, body, headers, request.header("Host") or "", request.body, request.header("Content-Type")
        )

    def _body(self, request: MockRequest, max_body: int, violations: list[Violation]) -> Json:
        raw = request.body
        content_type = request.header("Content-Type")
        if request.oversized or len(raw) > max_body:
            raise PayloadTooLargeError(BODY_TOO_LARGE.format(limit=max_body))
        if not raw:
            if self.op.body_required:
                violations.append(Violation("body", "a JSON request body is required"))
            return None
        if not content_type:
            raise UnsupportedMediaTypeError(UNSUPPORTED_MEDIA.format(got="no Content-Type"))
        media, _, params = content_type.partition(";")
        media = media.strip().lower()
        if not (bodies.is_json(media) and (self.takes_json or not self.op.body_media_types)):
            declared = bodies.match(media, self.op.body_schemas) if self.op.body_schemas else None
            if declared is None:
                if not self.takes_json or len(self.op.body_schemas) > 1:  # name every type it takes
                    raise bodies.unsupported(repr(content_type[:100]), self.op.body_schemas)
                raise UnsupportedMediaTypeError(UNSUPPORTED_MEDIA.format(got=repr(content_type[:100])))
            return self._other_body(media, params, raw, self.op.body_schemas[declared], violations)
        charset = re.search(r"charset\s*=\s*\"?([^\";\s]+)", params, re.IGNORECASE)
        if charset and charset.group(1).lower() not in {"utf-8", "utf8"}:
            raise UnsupportedMediaTypeError(UNSUPPORTED_MEDIA.format(got=repr(content_type[:100])))
        body = decode_json(raw)
        if self.body_pointer is not None:
            violations.extend(self.schemas.check(self.body_pointer, body, "body", read_only=self.read_only))
        return body

    def _other_body(
        self, media: str, params: str, raw: bytes, pointer: str | None, violations: list[Violation]
    ) -> Json:
        """A form, multipart, text or binary body (see ``bodies``), checked against its schema."""
        schema = self.schemas.spec.schema_at(pointer) if pointer else {}
        if isinstance(schema, dict) and schema.get("type") == "string" and schema.get("format") == "binary":
            return None  # the body is bytes, whatever its media type (a text/xml file is not read as text)
        properties = schema.get("properties") if isinstance(schema, dict) else None

        def prop(name: str) -> Mapping[str, Json]:
            raw_prop = properties.get(name) if isinstance(properties, dict) else None
            if raw_prop is None or pointer is None:
                return {}
            found, _ = self.schemas.spec.resolve(raw_prop, f"{pointer}/properties/{name}")
            return found if isinstance(found, dict) else {}

        body = bodies.decode(media, params, raw, prop)
        if pointer is not None and body is not None:
            violations.extend(self.schemas.check(pointer, body, "body", read_only=self.read_only))
        return body


#: Up to this many operations, every validator is compiled at start-up (the first request of
#: each is as fast as the next); a bigger spec compiles each on its operation's first request
#: (OpenAI's 288 operations start in a second, not four).
EAGER_OPERATIONS = 100


class RequestValidator:
    """Validate requests for every operation of a spec; validators are compiled once (here,
    or on an operation's first request when the spec has more than ``EAGER_OPERATIONS``).

    :param spec: the loaded spec.
    :param max_body_bytes: larger bodies answer 413.
    """

    def __init__(self, spec: Spec, schemas: SchemaSet | None = None, max_body_bytes: int = 1 << 20) -> None:
        self.schemas = schemas or SchemaSet(spec)
        self.max_body_bytes = max_body_bytes
        self._ops = {op.operation_id: op for op in spec.operations}
        self._by_op: dict[str, _OperationValidator] = {}
        if len(spec.operations) <= EAGER_OPERATIONS:  # compiled now, not on the first request
            self._by_op = {op.operation_id: _OperationValidator(self.schemas, op) for op in spec.operations}

    def validate(self, op: Operation, request: MockRequest, raw_path: Mapping[str, str]) -> ValidRequest:
        """Check ``request`` against ``op``.

        :raises InvalidRequestError: 400 with every violation.
        :raises InvalidJsonError: 400, the body is not well-formed JSON.
        :raises UnsupportedMediaTypeError: 415.
        :raises PayloadTooLargeError: 413.
        """
        validator = self._by_op.get(op.operation_id)
        if validator is None:  # a big spec: each operation's validators on its first request
            validator = self._by_op[op.operation_id] = _OperationValidator(self.schemas, self._ops[op.operation_id])
        return validator.validate(request, raw_path, self.max_body_bytes)


class ResponseChecker:
    """Check a response the mock is about to send against the spec (the self-check)."""

    def __init__(self, spec: Spec, schemas: SchemaSet) -> None:
        self.spec = spec
        self.schemas = schemas

    def violations(self, op: Operation, status: int, body: Json, headers: Mapping[str, str]) -> list[str]:
        """Every way this response departs from ``op``'s documented responses."""
        response = op.response_for(status)
        if response is None:
            documented = ", ".join(sorted(op.responses))
            return [f"status {status} is not documented for {op.operation_id} (documented: {documented})"]
        out = []
        lowered = {k.lower() for k in headers}
        for header in response.headers:
            if header.required and header.name.lower() not in lowered:
                out.append(f"header {header.name} is required but missing")
        media = next((v for k, v in headers.items() if k.lower() == "content-type"), "").split(";")[0].strip().lower()
        if media and not bodies.is_json(media) and media in response.media_types:
            pass  # another documented media type (XML beside JSON): the JSON schema does not apply
        elif response.schema_pointer is not None:
            out.extend(
                f"{v.field}: {v.message}"
                for v in self.schemas.check(response.schema_pointer, body, "body", strict=True)
            )
        elif body is not None and not response.media_types:
            out.append("body: the spec documents no body for this response")
        return out
