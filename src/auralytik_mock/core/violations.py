"""What a failed schema check says: each jsonschema error as a located, readable violation.

Owns: the field a violation names (``body.items[2].name``), values quoted short, and the
sentences per keyword (types in words, RFC 3339 examples, patterns a person should not have
to read as a regex). ``validation`` and ``verify`` report with them.
No IO.
May import: ``errors``, ``types``, jsonschema (its types only).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .errors import Violation
from .types import Json

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

_MAX_SHOWN = 60


def describe_errors(errors: Any, prefix: str, read_only: frozenset[str] = frozenset()) -> list[Violation]:
    """Turn jsonschema errors into located, readable violations (sorted, no duplicates)."""
    found: dict[tuple[str, str], Violation] = {}
    for error in errors:
        for violation in _describe(error, prefix, read_only):
            found.setdefault((violation.field, violation.message), violation)
    return sorted(found.values(), key=lambda v: (v.field, v.message))


def field_of(prefix: str, path: Sequence[Any]) -> str:
    """Where a violation is: ``prefix`` and the path into the instance (``body.items[2].name``)."""
    out = prefix
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def shown(value: Json) -> str:
    """``value`` as an error message quotes it, at most ``_MAX_SHOWN`` characters."""
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


def _describe(error: ValidationError, prefix: str, read_only: frozenset[str]) -> list[Violation]:
    keyword = error.validator
    value: Any = error.validator_value
    instance: Any = error.instance
    schema: Any = error.schema
    where = field_of(prefix, error.absolute_path)
    if keyword == "required" and isinstance(instance, dict):
        return [Violation(f"{where}.{name}", "is required") for name in value if name not in instance]
    if keyword == "additionalProperties" and isinstance(instance, dict):
        known = set((schema.get("properties") or {}) if isinstance(schema, dict) else ())
        patterns = [re.compile(p) for p in (schema.get("patternProperties") or {})] if isinstance(schema, dict) else []
        allowed = ", ".join(sorted(known)) or "none"
        out = []
        for name in instance:
            if name in known or any(p.search(name) for p in patterns):
                continue
            if where == prefix and name in read_only:
                out.append(Violation(f"{where}.{name}", "is read-only: the server sets it"))
            else:
                out.append(Violation(f"{where}.{name}", f"is not an allowed field (allowed: {allowed})"))
        return out
    if keyword == "type":
        types = [value] if isinstance(value, str) else list(value)
        expected = " or ".join(_TYPE_NAMES.get(t, t) for t in types)
        return [Violation(where, f"must be {expected}, got {shown(instance)}")]
    messages = {
        "enum": lambda: "must be one of: " + ", ".join(str(v) for v in value) + f"; got {shown(instance)}",
        "const": lambda: f"must be {shown(value)}",
        "minLength": lambda: "must not be empty" if value == 1 else f"must be at least {value} characters long",
        "maxLength": lambda: f"must be at most {value} characters long",
        "pattern": lambda: _PATTERN_WORDS.get(value) or f"must match the pattern {value!r}, got {shown(instance)}",
        "minimum": lambda: f"must be at least {value}, got {shown(instance)}",
        "maximum": lambda: f"must be at most {value}, got {shown(instance)}",
        "exclusiveMinimum": lambda: f"must be more than {value}, got {shown(instance)}",
        "exclusiveMaximum": lambda: f"must be less than {value}, got {shown(instance)}",
        "minItems": lambda: f"must have at least {value} items",
        "maxItems": lambda: f"must have at most {value} items",
        "minProperties": lambda: f"must have at least {value} field{'s' if value != 1 else ''}",
        "format": lambda: (
            f"must be an RFC 3339 date-time such as 2024-01-10T09:00:00Z, got {shown(instance)}"
            if value == "date-time"
            else f"must be a valid {value}, got {shown(instance)}"
        ),
    }
    make = messages.get(str(keyword))
    return [Violation(where, shorten(make() if make else error.message))]


#: Patterns a person should not have to read as a regex, and what each means.
_PATTERN_WORDS = {
    "\\S": "must not be blank",
    "^\\S": "must not start with white space",
    "^[0-9]+$": "must be digits only",
}


def shorten(message: str) -> str:
    """``message``, cut to 300 characters."""
    return message if len(message) <= 300 else message[:297] + "..."
