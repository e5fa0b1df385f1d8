"""One HTTP answer as verify compares it, and what sends a request and returns one.

Owns: ``Answer`` (status, lower-cased headers, raw body and its JSON) and the
``Transport`` protocol both sides implement (``transport.HttpTransport`` for the target,
``transport.EngineTransport`` for the mock in process).

No IO. May import: ``core.types``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from ..core.types import Json


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
