"""Fault rules and ``Prefer``: the failures and delays a test asks the mock for.

Owns: fault rules (matching, counting down, removal), parsing ``Prefer: code=, delay=``,
and shaping a forced error as the operation documents it.
No Flask, no IO.
May import: ``config`` (limits), ``spec``, ``errors``, ``types``. A forced 401 or 403 is ``auth``'s to build.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from ..config import MAX_BODY_BYTES
from .errors import (
    BODY_TOO_LARGE,
    ApiError,
    ConflictError,
    ForcedError,
    InvalidRequestError,
    PayloadTooLargeError,
    TooManyRequestsError,
    Violation,
    record_not_found,
)
from .spec import Operation
from .types import Json

#: ``Retry-After`` when a 429 is forced without one.
DEFAULT_RETRY_AFTER = 30
#: Longest delay a ``Prefer: delay=`` or a rule may add, in milliseconds.
MAX_DELAY_MS = 60_000
#: A longer ``Prefer`` header is a 400, not parsed.
MAX_PREFER_CHARS = 1000
#: How many fault rules one session (or the default dataset) may hold at once: each
#: API call walks them, and 62,383 rules once took GETs from 9,992 to 108 req/s.
MAX_FAULT_RULES = 100
_PREFER = re.compile(r"\s*([A-Za-z-]+)\s*=\s*\"?([^\",;]*)\"?\s*")


@dataclass
class FaultRule:
    """A fault the admin API set up: answer ``status``, add ``delay_ms``, or drop the connection,
    for the next ``times`` matching calls (``None``: until removed)."""

    id: str
    method: str
    path: str
    status: int | None = None
    delay_ms: int = 0
    drop: bool = False
    times: int | None = None
    hits: int = 0

    def matches(self, method: str, op: Operation, path: str) -> bool:
        return (self.method in {"*", method}) and self.path in {op.path, path}

    def as_json(self) -> dict[str, Json]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "delayMs": self.delay_ms,
            "drop": self.drop,
            "times": self.times,
            "hits": self.hits,
        }


class FaultRules:
    """The fault rules in force for one session, in the order they were added; thread-safe.

    :param max_rules: adding more answers 409 (``TOO_MANY_FAULT_RULES``).
    """

    def __init__(self, max_rules: int = MAX_FAULT_RULES) -> None:
        self.rules: list[FaultRule] = []
        self.max_rules = max_rules
        self._lock = threading.Lock()
        self._ids = 0

    def __bool__(self) -> bool:
        return bool(self.rules)

    def add(self, rule: FaultRule) -> FaultRule:
        """Add a rule; it gets the next ``fault_N`` id.

        :raises ConflictError: ``max_rules`` rules are in force already.
        """
        with self._lock:
            if len(self.rules) >= self.max_rules:
                raise ConflictError(
                    f"At most {self.max_rules} fault rules may be in force at once (per session); "
                    "DELETE /__mock/faults/{id} the ones you no longer need, or DELETE /__mock/faults.",
                    code="TOO_MANY_FAULT_RULES",
                )
            self._ids += 1
            rule.id = f"fault_{self._ids}"
            self.rules.append(rule)
        return rule

    def remove(self, rule_id: str | None = None) -> bool:
        """Remove the rule ``rule_id``, or every rule; returns whether anything was removed."""
        with self._lock:
            before = len(self.rules)
            self.rules[:] = [r for r in self.rules if rule_id is not None and r.id != rule_id]
            return len(self.rules) != before

    def take(self, method: str, op: Operation, path: str) -> FaultRule | None:
        """The first rule matching this call, counted as used (a spent rule is removed)."""
        if not self.rules:
            return None
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, op, path):
                    rule.hits += 1
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self.rules.remove(rule)
                    return rule
        return None

    def as_json(self) -> list[dict[str, Json]]:
        with self._lock:
            return [rule.as_json() for rule in self.rules]


@dataclass(frozen=True)
class Prefer:
    """What a ``Prefer`` header asks for (RFC 7240; Prism's ``code=`` and ``delay=``).

    :param code: the ``code=`` value, not yet checked against an operation.
    :param delay: seconds to wait before answering (0 when not asked, or when the header is bad).
    :param problems: what is wrong with the header; answered as a 400 after authentication.
    """

    code: int | None = None
    delay: float = 0.0
    problems: tuple[Violation, ...] = ()

    def forced_status(self, op: Operation) -> int | None:
        """The error status to force on ``op`` (``None``: answer normally).

        :raises InvalidRequestError: the header is malformed, out of range, or asks for a
            code ``op`` does not document.
        """
        problems = list(self.problems)
        if self.code is not None and not op.documents(self.code):
            documented = ", ".join(sorted(op.responses))
            problems.append(
                Violation(
                    "header.Prefer",
                    f"code={self.code} is not documented for {op.operation_id} (documented: {documented})",
                )
            )
        if problems:
            raise InvalidRequestError.from_violations(problems)
        if self.code is None or 200 <= self.code < 300:
            return None  # the success answer is what the handler gives anyway
        return self.code


def read_prefer(text: str) -> Prefer:
    """Parse a ``Prefer`` header without raising: bad values become ``problems``.

    Only ASCII digits count as numbers (``int()`` would take ``'\u0663'`` or fail on 5000
    digits), and the header is read only up to ``MAX_PREFER_CHARS``.
    """
    if len(text) > MAX_PREFER_CHARS:
        return Prefer(problems=(Violation("header.Prefer", f"is longer than {MAX_PREFER_CHARS} characters"),))
    if not text.isascii() or not text.isprintable():
        return Prefer(problems=(Violation("header.Prefer", "must be printable ASCII"),))
    code: int | None = None
    delay = 0.0
    problems: list[Violation] = []
    for part in re.split(r"[,;]", text):
        found = _PREFER.fullmatch(part)
        if not found:
            continue  # another preference (return=minimal, ...): not ours to judge
        name, value = found.group(1).lower(), found.group(2).strip()
        if name == "code":
            if not re.fullmatch(r"[1-5][0-9][0-9]", value):
                problems.append(Violation("header.Prefer", f"code must be an HTTP status code, got {_cut(value)}"))
            else:
                code = int(value)
        elif name == "delay":
            if not re.fullmatch(r"[0-9]{1,9}", value) or int(value) > MAX_DELAY_MS:
                problems.append(
                    Violation(
                        "header.Prefer",
                        f"delay must be a whole number of milliseconds from 0 to {MAX_DELAY_MS}, got {_cut(value)}",
                    )
                )
            else:
                delay = int(value) / 1000
    if problems:
        return Prefer(problems=tuple(problems))
    return Prefer(code, delay)


def _cut(value: str) -> str:
    return repr(value if len(value) <= 20 else value[:17] + "...")


def parse_prefer(op: Operation, prefer: str) -> tuple[int | None, float]:
    """The status (``None``: not forced) and delay in seconds a ``Prefer`` header asks for.

    :raises InvalidRequestError: malformed, out of range, or an undocumented code.
    """
    parsed = read_prefer(prefer)
    return parsed.forced_status(op), parsed.delay


def forced_error(
    op: Operation,
    status: int,
    why: str,
    *,
    source: str = "header.Prefer",
    refusal: ApiError | None = None,
    path_params: Mapping[str, str] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> ApiError:
    """The error ``status`` as the mock would answer it for real on this request.

    The same constructors the real checks use: a 401 or 403 is ``refusal``, the one auth
    builds for this request (``Authenticator.forced``), a 404 naming the id in the path, a 400 with a
    violation in ``details`` (``source`` forced it), a 413 with the size limit, a 429 whose
    ``retryAfter`` is its ``Retry-After``. Any other
    status takes the code and message the spec's example documents. ``why`` is appended to
    the message, so a tester can tell a forced error from a real one.
    """
    error: ApiError
    if status == 400:
        error = InvalidRequestError.from_violations([Violation(source, "forces this error")])
    elif refusal is not None:
        error = refusal
    elif status == 404 and path_params:
        name, value = next(iter(path_params.items()))
        error = record_not_found(_collection(op.spec_path, name), value)
    elif status == 413:
        error = PayloadTooLargeError(BODY_TOO_LARGE.format(limit=max_body_bytes))
    elif status == 429:
        retry = _example_fields(op, status).get("retryAfter", DEFAULT_RETRY_AFTER)
        if not isinstance(retry, int) or retry < 0:
            retry = DEFAULT_RETRY_AFTER
        message = _example_fields(op, status).get("message")
        error = TooManyRequestsError(
            message if isinstance(message, str) else "Too many requests.",
            headers={"Retry-After": str(retry)},
            extra={"retryAfter": retry},
        )
    else:
        fields = _example_fields(op, status)
        message = fields.get("message")
        error = ForcedError(status, message if isinstance(message, str) else None)
        code = fields.get("code")
        if isinstance(code, str):
            error.code = code
    error.message = f"{error.message} ({why})"
    return error


def _example_fields(op: Operation, status: int) -> dict[str, Json]:
    """The ``error`` object of the example ``op`` documents for ``status`` (empty if none)."""
    documented = op.response_for(status)
    example = documented.example if documented is not None and documented.has_example else None
    fields = example.get("error") if isinstance(example, dict) else None
    return dict(fields) if isinstance(fields, dict) else {}


def _collection(spec_path: str, param: str) -> str:
    """The collection a path parameter names a record of: ``/engagements/{id}`` -> ``engagements``."""
    segments = spec_path.strip("/").split("/")
    marker = "{" + param + "}"
    if marker in segments:
        index = segments.index(marker)
        if index > 0:
            return segments[index - 1]
    return "record"
