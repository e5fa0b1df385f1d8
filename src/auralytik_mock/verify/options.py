"""What ``auralytik-mock verify`` was asked to do, how it fails, and what it never prints.

Owns: ``Options`` (the target, the keys, the safety switches), ``VerifyError`` (verify
could not run: exit 2) and ``scrub`` (every key and secret masked before anything is
printed or written).

No IO. May import: ``core.errors``, ``core.journal``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import AuralytikMockError
from ..core.journal import mask_key


class VerifyError(AuralytikMockError):
    """Verify could not run (usage, connection, the target refused the key): exit 2."""


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
    max_total_wait: float = 300.0
    #: The largest answer read from the target, in MiB.
    max_body: float = 8.0
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


#: Keys and secrets shorter than this are not masked: a 1-character test key would turn
#: every such letter of the report into ``***``, and so short a value protects nothing.
MIN_MASKED = 4


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every key and secret masked as the journal masks keys."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= MIN_MASKED:
            text = text.replace(secret, mask_key(secret))
    return text
