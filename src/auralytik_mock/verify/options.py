"""What ``auralytik-mock verify`` was asked to do, how it fails, and what it never prints.

Owns: ``Options`` (the target, the keys, the safety switches, the reports), each field
declaring its option once (``options.option()``: flag, ``AURALYTIK_MOCK_VERIFY_*`` variable,
parser, help; ``cli`` generates ``verify``'s flags, its variable reader and the table of
``docs/reference/cli.md`` from them), ``VerifyError`` (verify could not run: exit 2) and
``scrub`` (every key and secret masked before anything is printed or written).

No IO. May import: ``options``, ``core.errors``, ``core.journal``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import AuralytikMockError
from ..core.journal import mask_key
from ..options import Option, option, options_of, parse_bool


class VerifyError(AuralytikMockError):
    """Verify could not run (usage, connection, the target refused the key): exit 2."""


def whole_number(value: str) -> int:
    """A whole number (``--max-calls 500``)."""
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"must be a whole number, got {value[:40]!r}") from None


def number(value: str) -> float:
    """A number (``--timeout 2.5``); whether it fits is the limit's to say (``Limits``)."""
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"must be a number, got {value[:40]!r}") from None


@dataclass(frozen=True)
class Options:
    """What ``auralytik-mock verify`` was asked to do: each field is one option (``cli``)."""

    base_url: str = option(
        dataclasses.MISSING,
        flag="--base-url",
        env="VERIFY_BASE_URL",
        metavar="URL",
        help="the target, e.g. https://api.example.com/v1 (required)",
    )
    key: str = option(
        dataclasses.MISSING,
        flag="--key",
        env="VERIFY_KEY",
        metavar="KEY",
        help="an API key of the target with every scope (required)",
    )
    read_only_key: str | None = option(
        flag="--read-only-key",
        env="VERIFY_READ_ONLY_KEY",
        metavar="KEY",
        help="a key of the same client with the read scopes only",
    )
    other_client_key: str | None = option(
        flag="--other-client-key",
        env="VERIFY_OTHER_CLIENT_KEY",
        metavar="KEY",
        help="a key of another client (tenant isolation)",
    )
    secret: str | None = option(
        flag="--secret",
        env="VERIFY_SECRET",
        metavar="SECRET",
        help="the HMAC secret of --key, for a base URL that takes signed requests",
    )
    read_only_secret: str | None = option(
        flag="--read-only-secret",
        env="VERIFY_READ_ONLY_SECRET",
        metavar="SECRET",
        help="the HMAC secret of --read-only-key",
    )
    other_client_secret: str | None = option(
        flag="--other-client-secret",
        env="VERIFY_OTHER_CLIENT_SECRET",
        metavar="SECRET",
        help="the HMAC secret of --other-client-key",
    )
    allow_writes: bool = option(
        False,
        flag="--allow-writes",
        env="VERIFY_ALLOW_WRITES",
        kind="switch",
        parse=parse_bool,
        help="send POST/PATCH/...; without it no write is sent",
    )
    max_calls: int = option(
        500,
        flag="--max-calls",
        env="VERIFY_MAX_CALLS",
        metavar="N",
        parse=whole_number,
        help="refuse a plan of more calls",
    )
    timeout: float = option(
        30.0,
        flag="--timeout",
        env="VERIFY_TIMEOUT",
        metavar="S",
        parse=number,
        default_doc="`30`",
        help="seconds per call, from connect to the last byte",
    )
    max_wait: float = option(
        120.0,
        flag="--max-wait",
        env="VERIFY_MAX_WAIT",
        metavar="S",
        parse=number,
        default_doc="`120`",
        help="longest Retry-After waited out",
    )
    max_total_wait: float = option(
        300.0,
        flag="--max-total-wait",
        env="VERIFY_MAX_TOTAL_WAIT",
        metavar="S",
        parse=number,
        default_doc="`300`",
        help="most seconds waited on 429s over the run",
    )
    #: The largest answer read from the target, in MiB.
    max_body: float = option(
        8.0,
        flag="--max-body",
        env="VERIFY_MAX_BODY",
        metavar="MIB",
        parse=number,
        default_doc="`8`",
        help="largest answer read, in MiB",
    )
    report: Path | None = option(
        flag="--report", env="VERIFY_REPORT", metavar="FILE.json", parse=Path, help="write the report as JSON"
    )
    junit: Path | None = option(
        flag="--junit",
        env="VERIFY_JUNIT",
        metavar="FILE.xml",
        parse=Path,
        help="write the report as JUnit XML, one test per step",
    )
    record: Path | None = option(
        flag="--record",
        env="VERIFY_RECORD",
        metavar="DIR",
        parse=Path,
        help="write what the target returned for its reads as fixtures",
    )
    record_pages: int = option(
        10,
        flag="--record-pages",
        env="VERIFY_RECORD_PAGES",
        metavar="N",
        parse=whole_number,
        help="with --record: pages read per list",
    )
    anonymize: bool = option(
        False,
        flag="--anonymize",
        env="VERIFY_ANONYMIZE",
        kind="switch",
        parse=parse_bool,
        help="with --record: replace names and free text",
    )
    mock_key: str | None = option(
        flag="--mock-key",
        env="VERIFY_MOCK_KEY",
        metavar="KEY",
        help="the mock's key for --key (default: from the fixtures)",
    )
    mock_read_only_key: str | None = option(
        flag="--mock-read-only-key",
        env="VERIFY_MOCK_READ_ONLY_KEY",
        metavar="KEY",
        help="the mock's key for --read-only-key",
    )
    mock_other_client_key: str | None = option(
        flag="--mock-other-client-key",
        env="VERIFY_MOCK_OTHER_CLIENT_KEY",
        metavar="KEY",
        help="the mock's key for --other-client-key",
    )

    def secrets(self) -> list[str]:
        values = [self.key, self.read_only_key, self.other_client_key, self.secret]
        values += [self.read_only_secret, self.other_client_secret]
        values += [self.mock_key, self.mock_read_only_key, self.mock_other_client_key]
        return [v for v in values if v]


#: ``verify``'s options, in the order ``--help`` and the docs list them.
VERIFY_OPTIONS: tuple[Option, ...] = options_of(Options)


#: Keys and secrets shorter than this are not masked: a 1-character test key would turn
#: every such letter of the report into ``***``, and so short a value protects nothing.
MIN_MASKED = 4


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every key and secret masked as the journal masks keys."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= MIN_MASKED:
            text = text.replace(secret, mask_key(secret))
    return text
