"""Fault rules and ``Prefer``: the failures and delays a test asks the mock for.

Owns: fault rules (matching, counting down, removal), parsing ``Prefer: code=, delay=``,
and shaping a forced error as the operation documents it.
No Flask, no IO.
May import: ``auth`` (the challenge), ``spec``, ``errors``, ``types``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from .auth import challenge
from .errors import ConflictError, ForcedError, InvalidRequestError, Violation
from .spec import Operation
from .types import Json

#: ``Retry-After`` when a 429 is forced without one.
DEFAULT_RETRY_AFTER = 30
#: Longest delay a ``Prefer: delay=`` or a rule may add, in milliseconds.
MAX_DELAY_MS = 60_000
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


def parse_prefer(op: Operation, prefer: str) -> tuple[int | None, float]:
    """The status (``None``: not forced) and delay in seconds a ``Prefer`` header asks for.

    :raises InvalidRequestError: an undocumented code or a delay out of range.
    """
    status: int | None = None
    delay = 0.0
    for part in re.split(r"[,;]", prefer):
        found = _PREFER.fullmatch(part)
        if not found:
            continue
        name, value = found.group(1).lower(), found.group(2).strip()
        if name == "code":
            if not value.isdigit() or not op.documents(int(value)):
                documented = ", ".join(sorted(op.responses))
                raise InvalidRequestError(
                    f"Prefer: code={value} is not documented for {op.operation_id}; documented: {documented}.",
                    details=[Violation("header.Prefer", f"code must be one of {documented}")],
                )
            status = int(value)
        elif name == "delay":
            if not value.isdigit() or int(value) > MAX_DELAY_MS:
                raise InvalidRequestError(
                    f"Prefer: delay={value} must be a whole number of milliseconds up to {MAX_DELAY_MS}.",
                    details=[Violation("header.Prefer", f"delay must be 0..{MAX_DELAY_MS} milliseconds")],
                )
            delay = int(value) / 1000
    if status is not None and 200 <= status < 300:
        status = None  # the success answer is what the handler gives anyway
    return status, delay


def forced_error(op: Operation, status: int, why: str, delay: float) -> ForcedError:
    """An error of ``status`` shaped as ``op`` documents it (example code and message, headers)."""
    documented = op.response_for(status)
    example = documented.example if documented is not None and documented.has_example else None
    fields = example.get("error") if isinstance(example, dict) else None
    message = why
    extra: dict[str, Json] = {}
    headers: dict[str, str] = {}
    code = None
    if isinstance(fields, dict):
        code = fields.get("code")
        if isinstance(fields.get("message"), str):
            message = f"{fields['message']} ({why})"
        extra = {k: v for k, v in fields.items() if k not in {"code", "message", "requestId", "details"}}
    if status == 429:
        retry = extra.get("retryAfter", DEFAULT_RETRY_AFTER)
        extra["retryAfter"] = retry
        headers["Retry-After"] = str(retry)
    if status == 401:
        headers["WWW-Authenticate"] = challenge("invalid_token")
    if status == 403:
        headers["WWW-Authenticate"] = challenge("insufficient_scope", scope=" ".join(op.required_scopes))
    error = ForcedError(status, message, headers=headers, extra=extra)
    if isinstance(code, str):
        error.code = code
    error.delay = delay
    return error
