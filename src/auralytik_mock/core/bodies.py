"""Request bodies that are not JSON: forms, multipart uploads, binary and text.

Owns: matching a request's ``Content-Type`` to the media types an operation declares
(``image/*`` and ``*/*`` included), and decoding a body of each kind into the value its
schema is checked against:

- ``application/x-www-form-urlencoded``: an object of the fields, each read as its
  property's type (``age=3`` -> ``3``; a repeated field or an ``array`` property -> a list);
- ``multipart/form-data``: the same object; a file part (a ``filename``, or a property of
  ``format: binary``) is its bytes as a string of that many characters, so ``maxLength``
  bounds the file's size; a part holding a JSON object or array, for a property that is
  not a plain string, is that JSON; at most ``MAX_PARTS`` parts;
- ``text/*``: the UTF-8 text;
- anything else (``application/octet-stream``, ``image/png``, ``audio/*``...): accepted as
  bytes, within the body size limit, and not checked further (``None``).

No Flask, no IO. May import: ``errors``, ``types``, the standard library.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

from .errors import InvalidRequestError, UnsupportedMediaTypeError, Violation
from .types import Json

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
#: The most parts (or form fields) one body may have.
MAX_PARTS = 1000
_INTEGER = re.compile(r"[+-]?\d{1,40}\Z")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")

#: The schema of one property of the body's object schema (``{}`` when not declared).
PropertySchema = Callable[[str], Mapping[str, Json]]


def is_json(media: str) -> bool:
    """Whether ``media`` (lower case, no parameters) is JSON (``application/json``, ``+json``)."""
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def match(media: str, declared: Mapping[str, Json]) -> str | None:
    """The declared media type ``media`` falls under (exact, then ``type/*``, then ``*/*``), or ``None``."""
    by_base = {key.split(";", 1)[0].strip().lower(): key for key in declared}
    if media in by_base:
        return by_base[media]
    wildcard = media.split("/", 1)[0] + "/*"
    for candidate in (wildcard, "*/*", "*"):
        if candidate in by_base:
            return by_base[candidate]
    return None


def unsupported(got: str, declared: Mapping[str, Json]) -> UnsupportedMediaTypeError:
    """A 415 naming the media types the operation takes."""
    names = ", ".join(repr(key) for key in declared) or "none"
    return UnsupportedMediaTypeError(f"Send the body as one of {names}; got {got}.")


def decode(media: str, params: str, raw: bytes, prop: PropertySchema) -> Json:
    """The value the body's schema checks, for a body of ``media`` (lower case, no parameters).

    :param params: the ``Content-Type`` parameters (``boundary=...; charset=...``).
    :param prop: the schema of a property of the body's object, by name.
    :raises InvalidRequestError: a form or multipart body that cannot be read (400).
    """
    if media == FORM:
        try:
            pairs = parse_qsl(
                raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_PARTS
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise _bad(f"not a readable form ({exc})") from None
        return _fields(pairs, prop)
    if media == MULTIPART:
        return _multipart(params, raw, prop)
    if media.startswith("text/"):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _bad("text bodies must be UTF-8") from None
    return None


def _bad(message: str) -> InvalidRequestError:
    return InvalidRequestError(f"The request body is not valid: {message}.", details=[Violation("body", message)])


def _fields(pairs: list[tuple[str, Json]], prop: PropertySchema) -> dict[str, Json]:
    out: dict[str, Json] = {}
    for name, value in pairs:
        schema = prop(name)
        typed = _typed(value, schema.get("items") if _is_array(schema) else schema)
        if name in out or _is_array(schema):
            previous = out.get(name, [])
            added = typed if isinstance(typed, list) and _is_array(schema) else [typed]  # a JSON array part
            out[name] = [*(previous if isinstance(previous, list) else [previous]), *added]
        else:
            out[name] = typed
    return out


def _is_array(schema: Json) -> bool:
    kind = schema.get("type") if isinstance(schema, dict) else None
    return kind == "array" or (isinstance(kind, list) and "array" in kind)


def _typed(value: Json, schema: Json) -> Json:
    if not isinstance(value, str) or not isinstance(schema, dict):
        return value
    kind = schema.get("type")
    kinds = [kind] if isinstance(kind, str) else list(kind or [])
    for combinator in ("anyOf", "oneOf"):  # ``anyOf: [{type: boolean}, {type: "null"}]``
        for part in schema.get(combinator) or []:
            if isinstance(part, dict) and isinstance(part.get("type"), str):
                kinds.append(part["type"])
    if "integer" in kinds and _INTEGER.match(value):
        return int(value)
    if "number" in kinds and _NUMBER.match(value) and len(value) <= 64:
        number = float(value)
        return int(number) if number.is_integer() else number
    if "boolean" in kinds and value in {"true", "false"}:
        return value == "true"
    if value == "null" and "null" in kinds and "string" not in kinds:
        return None  # a nullable number or flag sent as text (OpenAI's ``n``)
    return value


def _declares_binary(schema: Json, depth: int = 0) -> bool:
    """Whether a part's schema takes bytes: ``format: binary`` (or ``byte``, or a
    ``contentMediaType``) on it, its items, or a branch of its ``anyOf``/``oneOf`` (OpenAI's
    ``image``: one file or an array of files)."""
    if not isinstance(schema, dict) or depth > 4:
        return False
    if schema.get("format") in {"binary", "byte"} or "contentMediaType" in schema:
        return True
    if _is_array(schema) and _declares_binary(schema.get("items"), depth + 1):
        return True
    branches = [*(schema.get("anyOf") or []), *(schema.get("oneOf") or [])]
    return any(_declares_binary(branch, depth + 1) for branch in branches)


def _multipart(params: str, raw: bytes, prop: PropertySchema) -> dict[str, Json]:
    if not re.search(r"boundary\s*=", params, re.IGNORECASE):
        raise _bad("a multipart/form-data body needs a boundary parameter in its Content-Type")
    head = f"Content-Type: {MULTIPART}; {params.strip().lstrip(';')}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(head + raw)
    if not message.is_multipart():
        raise _bad("the multipart/form-data body has no parts")
    parts = message.get_payload()
    if not isinstance(parts, list) or not parts:
        raise _bad("the multipart/form-data body has no parts")
    if len(parts) > MAX_PARTS:
        raise _bad(f"at most {MAX_PARTS} parts")
    pairs: list[tuple[str, Json]] = []
    for index, part in enumerate(parts):
        if not isinstance(part, Message):
            raise _bad(f"part {index} is not readable")
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise _bad(f"part {index} has no Content-Disposition name")
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        schema = prop(name)
        item = schema.get("items") if _is_array(schema) else schema
        if part.get_filename() is not None:
            pairs.append((name, data.decode("latin-1")))  # one character per byte: maxLength bounds the size
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            if not _declares_binary(schema):
                raise _bad(f"part {name!r} is not UTF-8 text (send a file with a filename)") from None
            pairs.append((name, data.decode("latin-1")))  # bytes where the schema takes a file
            continue
        first = text.strip()[:1]
        whole_array = _is_array(schema) and first == "["
        if whole_array or (isinstance(item, dict) and item.get("type") != "string" and first in ("{", "[")):
            try:
                pairs.append((name, json.loads(text)))
                continue
            except ValueError:
                pass
        pairs.append((name, text))
    return _fields(pairs, prop)
