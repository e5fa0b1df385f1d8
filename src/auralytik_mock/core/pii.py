"""Personal data masked on request: ``x-mock-mask-pii`` on a header parameter.

Owns: what counts as personal data in free text (e-mail addresses, phone numbers,
card-like numbers, the digits after "ending in"), masking it as ``****``, and the
wrapper that masks the named fields of an answer when the request's header has the
declared value. Everything else in the answer is left as it is. No Flask, no IO.
May import: ``crud`` (types only), ``errors``, ``spec``, ``types``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from .errors import SpecError
from .spec import Operation, Spec
from .types import Json, MockResponse

if TYPE_CHECKING:
    from .crud import Call

NAME = "x-mock-mask-pii"
MASK = "****"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# 13 to 19 digits, maybe grouped by spaces or dashes (payment cards).
_CARD = re.compile(r"(?<![\w])\d(?:[ -]?\d){12,18}(?![\w])")
# A + or a digit, then digits with the separators phone numbers use: at least 7 digits in all.
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d(?:[\s().-]{0,2}\d){6,15}(?![\w])")
_DATE = re.compile(r"\d{4}-\d\d-\d\d|\d\d?/\d\d?/\d{2,4}")  # a date is not a phone number
# "ending in 4821", "ends with 4821": the vendor's example masks these digits.
_ENDING = re.compile(r"\b((?:ending|ends)\s+(?:in|with)\s+)\d{2,6}\b", re.IGNORECASE)


def mask_text(text: str) -> str:
    """``text`` with its e-mail addresses, card-like and phone numbers and the digits
    after "ending in" replaced by ``****``; any other text unchanged."""
    text = _EMAIL.sub(MASK, text)
    text = _CARD.sub(MASK, text)
    text = _PHONE.sub(lambda m: m.group(0) if _DATE.fullmatch(m.group(0)) else MASK, text)
    return _ENDING.sub(lambda m: m.group(1) + MASK, text)


def _mask(value: Json, fields: frozenset[str]) -> Json:
    if isinstance(value, dict):
        return {k: (mask_text(v) if k in fields and isinstance(v, str) else _mask(v, fields)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, fields) for v in value]
    return value


def _rule(spec: Spec, op: Operation) -> tuple[str, str, frozenset[str]] | None:
    item = spec.document["paths"][op.spec_path]
    node = item.get(op.method.lower(), {}) if isinstance(item, dict) else {}
    for source in (node, item):
        for param in source.get("parameters", []) or []:
            resolved, _ = spec.resolve(param, "")
            if not isinstance(resolved, dict) or NAME not in resolved:
                continue
            where = f"{spec.source}: paths.{op.spec_path}.{op.method.lower()} parameter {resolved.get('name')!r}"
            rule = resolved[NAME]
            if resolved.get("in") != "header":
                raise SpecError(f"{where}: {NAME} goes on a header parameter")
            if not (
                isinstance(rule, dict)
                and set(rule) == {"when", "fields"}
                and isinstance(rule["when"], str)
                and isinstance(rule["fields"], list)
                and all(isinstance(f, str) for f in rule["fields"])
            ):
                raise SpecError(f"{where}: {NAME} must be {{when: <header value>, fields: [<property>, ...]}}")
            return str(resolved["name"]), rule["when"], frozenset(rule["fields"])
    return None


def masking(spec: Spec, op: Operation, handler: Callable[[Call], MockResponse]) -> Callable[[Call], MockResponse]:
    """``handler``, masking its answer's ``fields`` when the operation's ``x-mock-mask-pii``
    header has its ``when`` value; ``handler`` itself for an operation without one.

    :raises SpecError: ``x-mock-mask-pii`` is malformed or not on a header parameter.
    """
    rule = _rule(spec, op)
    if rule is None:
        return handler
    header, when, fields = rule

    def masked(call: Call) -> MockResponse:
        response = handler(call)
        if call.request.headers.get(header) != when or not 200 <= response.status < 300:
            return response
        return replace(response, body=_mask(response.body, fields))

    return masked
