"""Configuration: one frozen ``Config``, from arguments or ``AURALYTIK_MOCK_*`` variables.

Also finds the bundled ``openapi.yaml`` and ``fixtures/``: inside an installed wheel they
sit in ``auralytik_mock/_bundled/`` (copied there at build time from the repository's top
level, the single source); in a source checkout or an editable install they are read
from the repository's top level directly.
May import: the standard library only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

ENV_PREFIX = "AURALYTIK_MOCK_"
DEFAULT_PORT = 4010
MAX_BODY_BYTES = 1024 * 1024
#: Admin bodies (``PUT /__mock/state`` and friends): room for 100,000 engagements and more.
MAX_ADMIN_BODY_BYTES = 128 * 1024 * 1024

_PACKAGE_DIR = Path(__file__).resolve().parent

#: What ``--admin-token`` may hold: 1 to 1024 visible ASCII characters but space, ``"``,
#: ``,``, ``;`` and ``\``. The token travels in a header, a cookie (``/__mock/docs?token=``)
#: and a link; these are the characters all three carry unchanged (RFC 6265 cookie-octet).
ADMIN_TOKEN_PATTERN = re.compile(r"[!#-+\--:<-\[\]-~]{1,1024}")
ADMIN_TOKEN_RULE = (
    "1 to 1024 visible ASCII characters without spaces, quotes, commas, semicolons or backslashes "
    "(letters, digits and !#$%&'()*+-./:<=>?@[]^_`{|}~)"
)


def _bundled_root() -> Path:
    wheel = _PACKAGE_DIR / "_bundled"
    if (wheel / "openapi.yaml").is_file():
        return wheel
    checkout = _PACKAGE_DIR.parents[1]
    if (checkout / "openapi.yaml").is_file():
        return checkout
    raise FileNotFoundError("the bundled openapi.yaml is missing: reinstall auralytik-mock, or pass --spec")


def bundled_spec_path() -> Path:
    """Return the path of the bundled ``openapi.yaml``."""
    return _bundled_root() / "openapi.yaml"


def bundled_fixtures_dir() -> Path:
    """Return the path of the bundled ``fixtures/`` folder."""
    return _bundled_root() / "fixtures"


def _parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r} (use true or false)")


def parse_latency(value: str) -> tuple[int, int]:
    """Parse ``"200"`` or ``"100-500"`` (milliseconds) into ``(low, high)``."""
    text = value.strip()
    low_text, sep, high_text = text.partition("-")
    try:
        low = int(low_text)
        high = int(high_text) if sep else low
    except ValueError:
        raise ValueError(f"latency must be MS or MIN-MAX in milliseconds, got {value!r}") from None
    if low < 0 or high < low:
        raise ValueError(f"latency must be MS or MIN-MAX with 0 <= MIN <= MAX, got {value!r}")
    return (low, high)


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(f"must be 0 or more, got {value!r}")
    return number


def _paths(value: object) -> tuple[Path, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, os.PathLike)):
        return (Path(value),)
    if isinstance(value, Iterable):
        return tuple(Path(str(p)) for p in value)
    raise TypeError(f"fixtures must be a path or a list of paths, got {type(value).__name__}")


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.replace(os.pathsep, ",").split(",") if part.strip())


@dataclass(frozen=True)
class Config:
    """Everything that changes how the mock behaves.

    :param spec_path: the OpenAPI document; ``None`` for the bundled one.
    :param fixtures: fixture files or folders; empty for the bundled ``fixtures/``.
    :param host: the address ``serve`` and ``MockServer`` listen on.
    :param port: the port; 0 asks the OS for a free one.
    :param clock: pin "now" to this RFC 3339 instant (e.g. ``2024-01-01T00:00:00Z``).
    :param enforce_auth: check API keys and scopes (off: every call acts as the first
        fixture client's first key, with every scope).
    :param validate_responses: check every response against the spec; a drift answers
        500 ``MOCK_CONTRACT_VIOLATION``.
    :param cors_origins: allowed browser origins; ``("*",)`` reflects any origin.
    :param latency_ms: added latency, ``(low, high)`` in milliseconds (uniform).
    :param max_body_bytes: larger request bodies answer 413.
    :param max_admin_body_bytes: larger bodies sent to ``/__mock`` answer 413.
    :param max_sessions: how many isolated sessions may exist at once.
    :param journal_size: how many requests the journal keeps (oldest dropped first).
    :param watch: reload spec and fixtures when they change (sandbox).
    :param access_log: log one line per request.
    :param signature_window: seconds a signed request's ``X-Timestamp`` may differ from
        the mock's now (either way).
    :param reject_replays: refuse a request signature the mock accepted before (within
        the window).
    :param admin_token: when set, every ``/__mock/*`` route but ``/__mock/health`` needs
        it in the ``X-Mock-Admin-Token`` header (``ADMIN_TOKEN_RULE`` says which
        characters it may hold; anything else is a ``ValueError``).
    :param allowed_hosts: ``Host`` names (or addresses) accepted besides loopback ones
        (DNS-rebinding guard): on every path when listening on a loopback address, on
        ``/__mock`` whatever the address (where IP addresses and this machine's name pass
        too); ``*`` accepts any.
    :param persist: keep the state in this JSON file: loaded at start, saved within a
        second of every change and at shutdown.
    :param max_fault_rules: how many fault rules one session may hold at once.
    :param max_connections: open connections the server holds at most; past it a new one
        takes the place of an idle one, else of the slowest to send its request.
    """

    spec_path: Path | None = None
    fixtures: tuple[Path, ...] = ()
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    clock: str | None = None
    enforce_auth: bool = True
    validate_responses: bool = False
    cors_origins: tuple[str, ...] = ("*",)
    latency_ms: tuple[int, int] = (0, 0)
    max_body_bytes: int = MAX_BODY_BYTES
    max_admin_body_bytes: int = MAX_ADMIN_BODY_BYTES
    max_sessions: int = 100
    journal_size: int = 1000
    watch: bool = False
    access_log: bool = False
    threads: int = 8
    signature_window: int = 300
    reject_replays: bool = False
    admin_token: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    persist: Path | None = None
    max_fault_rules: int = 100
    max_connections: int = 1024

    def __post_init__(self) -> None:
        # Accept plain strings where paths are meant, so Config(fixtures=("dir",)) works.
        if self.spec_path is not None and not isinstance(self.spec_path, Path):
            object.__setattr__(self, "spec_path", Path(self.spec_path))
        object.__setattr__(self, "fixtures", _paths(self.fixtures))
        if isinstance(self.cors_origins, str):
            object.__setattr__(self, "cors_origins", _split(self.cors_origins))
        if isinstance(self.allowed_hosts, str):
            object.__setattr__(self, "allowed_hosts", _split(self.allowed_hosts))
        if self.persist is not None and not isinstance(self.persist, Path):
            object.__setattr__(self, "persist", Path(self.persist))
        if self.admin_token == "":
            object.__setattr__(self, "admin_token", None)
        if self.admin_token is not None and not ADMIN_TOKEN_PATTERN.fullmatch(self.admin_token):
            # The token itself is never shown: it is a secret, and may hold a control character.
            raise ValueError(f"the admin token must be {ADMIN_TOKEN_RULE}")
        if isinstance(self.latency_ms, (int, str)):
            object.__setattr__(self, "latency_ms", parse_latency(str(self.latency_ms)))
        if self.max_connections < 1:
            raise ValueError(f"max_connections must be 1 or more, got {self.max_connections}")
        if self.signature_window < 0:
            raise ValueError(f"signature_window must be 0 or more seconds, got {self.signature_window}")

    @property
    def resolved_spec_path(self) -> Path:
        """The spec to load: ``spec_path`` or the bundled one."""
        return self.spec_path if self.spec_path is not None else bundled_spec_path()

    @property
    def resolved_fixtures(self) -> tuple[Path, ...]:
        """The fixture files or folders to load: ``fixtures`` or the bundled folder."""
        return self.fixtures if self.fixtures else (bundled_fixtures_dir(),)

    def relative_to(self, base: Path | str) -> Config:
        """A copy whose relative ``spec_path`` and ``fixtures`` are resolved against ``base``
        (the pytest plugin passes pytest's rootdir); absolute paths stay as they are."""
        root = Path(base)
        spec = self.spec_path
        if spec is not None and not spec.is_absolute():
            spec = root / spec
        fixtures = tuple(p if p.is_absolute() else root / p for p in self.fixtures)
        return replace(self, spec_path=spec, fixtures=fixtures)

    def with_options(self, **options: object) -> Config:
        """Return a copy with ``options`` changed (unknown names raise ``TypeError``)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"unknown option(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return replace(self, **options)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Config:
        """Build a config from ``AURALYTIK_MOCK_*`` variables, then apply ``overrides``.

        Variables: ``SPEC``, ``FIXTURES`` (comma or ``os.pathsep`` separated), ``HOST``,
        ``PORT``, ``CLOCK``, ``ENFORCE_AUTH``, ``VALIDATE_RESPONSES``, ``CORS_ORIGINS``
        (comma separated), ``LATENCY`` (``MS`` or ``MIN-MAX``), ``MAX_BODY_BYTES``, ``MAX_ADMIN_BODY_BYTES``,
        ``MAX_SESSIONS``, ``JOURNAL_SIZE``, ``WATCH``, ``ACCESS_LOG``, ``THREADS``,
        ``SIGNATURE_WINDOW`` (seconds), ``REJECT_REPLAYS``,
        ``ADMIN_TOKEN``, ``ALLOWED_HOSTS`` (comma separated), ``PERSIST``, ``MAX_FAULT_RULES``,
        ``MAX_CONNECTIONS``.

        :raises ValueError: a variable has a value of the wrong form; the message names it.
        """
        env = os.environ if environ is None else environ
        options: dict[str, object] = {}
        readers: dict[str, tuple[str, object]] = {
            "SPEC": ("spec_path", Path),
            "FIXTURES": ("fixtures", lambda v: tuple(Path(p) for p in _split(v))),
            "HOST": ("host", str),
            "PORT": ("port", int),
            "CLOCK": ("clock", lambda v: v or None),
            "ENFORCE_AUTH": ("enforce_auth", _parse_bool),
            "VALIDATE_RESPONSES": ("validate_responses", _parse_bool),
            "CORS_ORIGINS": ("cors_origins", _split),
            "LATENCY": ("latency_ms", parse_latency),
            "MAX_BODY_BYTES": ("max_body_bytes", int),
            "MAX_ADMIN_BODY_BYTES": ("max_admin_body_bytes", int),
            "MAX_SESSIONS": ("max_sessions", int),
            "JOURNAL_SIZE": ("journal_size", int),
            "WATCH": ("watch", _parse_bool),
            "ACCESS_LOG": ("access_log", _parse_bool),
            "THREADS": ("threads", int),
            "SIGNATURE_WINDOW": ("signature_window", _non_negative),
            "REJECT_REPLAYS": ("reject_replays", _parse_bool),
            "ADMIN_TOKEN": ("admin_token", lambda v: v or None),
            "ALLOWED_HOSTS": ("allowed_hosts", _split),
            "PERSIST": ("persist", Path),
            "MAX_FAULT_RULES": ("max_fault_rules", int),
            "MAX_CONNECTIONS": ("max_connections", int),
        }
        for suffix, (name, reader) in readers.items():
            raw = env.get(ENV_PREFIX + suffix)
            if raw is None or raw == "" and suffix not in {"CLOCK", "CORS_ORIGINS"}:
                continue
            try:
                options[name] = reader(raw)  # type: ignore[operator]
            except ValueError as exc:
                raise ValueError(f"{ENV_PREFIX}{suffix}: {exc}") from None
        options.update(overrides)
        return cls().with_options(**options)
