"""A request body as JSON text: decoded strictly within bounds, and values JSON can hold.

Owns: ``decode_json`` (UTF-8, no byte order mark, no duplicate keys, no NaN or Infinity,
integers within 64 bits, at most ``MAX_JSON_DEPTH`` levels, found before Python's parser
recurses) and ``storable_problem`` (whether a value, from YAML or a hook, serves back as the
same JSON).
No IO.
May import: ``errors``, ``violations``, ``types``.
"""

from __future__ import annotations

import json
import re
from array import array
from itertools import accumulate

from .errors import INVALID_JSON, InvalidJsonError, Violation
from .types import Json
from .violations import shown


def _no_duplicates(pairs: list[tuple[str, Json]]) -> dict[str, Json]:
    result: dict[str, Json] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidJsonError(INVALID_JSON.format(detail=f"the key {shown(key)} appears twice in one object"))
        result[key] = value
    return result


def _no_constant(name: str) -> Json:
    raise InvalidJsonError(INVALID_JSON.format(detail=f"{name} is not a JSON number"))


def decode_json(raw: bytes) -> Json:
    """Decode a JSON request body strictly: UTF-8, no duplicate keys, no NaN/Infinity.

    :raises InvalidJsonError: the body is not such JSON; the message says why and where.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidJsonError(INVALID_JSON.format(detail=f"it is not UTF-8 (byte {exc.start})")) from None
    if text.startswith("\ufeff"):
        raise InvalidJsonError(INVALID_JSON.format(detail="it starts with a byte order mark"))
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        detail = f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
        raise InvalidJsonError(INVALID_JSON.format(detail=detail)) from None
    except RecursionError:
        detail = f"it is nested more than {MAX_JSON_DEPTH} levels deep"
        raise InvalidJsonError(INVALID_JSON.format(detail=detail)) from None
    except ValueError:  # an integer of more digits than Python converts (4300)
        raise InvalidJsonError(
            INVALID_JSON.format(detail=f"an integer is outside {-MAX_JSON_INT - 1}..{MAX_JSON_INT}"),
            details=[Violation("body", f"integers must be within 64 bits ({-MAX_JSON_INT - 1}..{MAX_JSON_INT})")],
        ) from None
    # Cheap looks at the raw bytes decide whether the value needs a walk: a lone surrogate
    # can only come from a \uD8xx-\uDFxx escape, a huge number from a long run of digits
    # or an exponent, deep nesting from brackets (counted in C: a walk of a megabyte of
    # "[{},{},...]" took most of a second).
    if _RISKY.search(raw) or (raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and _nests_deeper(raw)):
        problem = storable_problem(value, "body")
        if problem is not None:
            raise InvalidJsonError(INVALID_JSON.format(detail=f"{problem.field} {problem.message}"), details=[problem])
    return value


#: How deep a body may nest objects and arrays (the vendor's limit is not documented).
MAX_JSON_DEPTH = 100
#: The largest integer a body may hold (64 bits, signed; the spec has no wider integers).
MAX_JSON_INT = 2**63 - 1
_RISKY = re.compile(rb"\\u[dD][89a-fA-F]|\d{19}|[eE][+-]?\d{3}")
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"')
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
_SIGNED_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 and -1 as signed bytes


def _nests_deeper(raw: bytes) -> bool:
    """Whether a valid JSON text nests more than ``MAX_JSON_DEPTH`` levels: the running sum of
    its brackets outside strings, +1 opening and -1 closing (in C, no walk of the value)."""
    steps = array("b", _STRING.sub(b"", raw).translate(_SIGNED_STEPS, _NOT_BRACKETS))
    return bool(steps) and max(accumulate(steps)) > MAX_JSON_DEPTH


def storable_problem(value: Json, where: str) -> Violation | None:
    """The first part of ``value`` the mock could not store and serve back as JSON, or ``None``.

    Refused: strings with a lone surrogate (not Unicode, so not UTF-8 either), integers
    beyond 64 bits, numbers that overflow to infinity, nesting deeper than ``MAX_JSON_DEPTH``.
    Iterative, so no value can exhaust the stack here.
    """
    problem = _first_problem(value, where)
    if problem is not None and len(problem.field) > 120:
        problem = Violation(problem.field[:117] + "...", problem.message)
    return problem


def _first_problem(value: Json, where: str) -> Violation | None:
    stack: list[tuple[Json, str, int]] = [(value, where, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if _has_surrogate(item):
                return Violation(path, "holds a lone UTF-16 surrogate (such as \\udfff), which is not Unicode text")
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not -MAX_JSON_INT - 1 <= item <= MAX_JSON_INT:
                return Violation(path, f"is an integer outside 64 bits ({-MAX_JSON_INT - 1}..{MAX_JSON_INT})")
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                return Violation(path, "is a number too large for a 64-bit float")
        elif isinstance(item, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                return Violation(path, f"nests more than {MAX_JSON_DEPTH} levels deep")
            if isinstance(item, dict):
                for key, child in item.items():
                    if _has_surrogate(key):
                        return Violation(path, "has a key with a lone UTF-16 surrogate, which is not Unicode text")
                    stack.append((child, f"{path}.{key}", depth + 1))
            else:
                stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
    return None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
