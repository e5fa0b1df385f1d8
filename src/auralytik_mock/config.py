"""Configuration: one frozen ``Config``, from arguments or ``AURALYTIK_MOCK_*`` variables.

Also finds the bundled ``openapi.yaml`` and ``fixtures/``: inside an installed wheel they
sit in ``auralytik_mock/_bundled/`` (copied there at build time from the repository's top
level, the single source); in a source checkout or an editable install they are read
from the repository's top level directly.
May import: ``options``, the standard library.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

from .options import ENV_PREFIX as ENV_PREFIX  # noqa: F401 - where callers found it
from .options import (
    from_env,
    non_negative,
    option,
    options_of,
    or_none,
    parse_bool,
    parse_latency,
    split,
    split_paths,
)

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


def _paths(value: object) -> tuple[Path, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, os.PathLike)):
        return (Path(value),)
    if isinstance(value, Iterable):
        return tuple(Path(str(p)) for p in value)
    raise TypeError(f"fixtures must be a path or a list of paths, got {type(value).__name__}")


@dataclass(frozen=True)
class Config:
    """Everything that changes how the mock behaves.

    Each field declares its option once (``option()``: flag, ``AURALYTIK_MOCK_*`` variable,
    parser, help and docs text); ``serve --help``, ``from_env``, the banner and the table in
    ``docs/reference/cli.md`` are generated from these declarations. Plain strings are
    accepted where paths or lists are meant (``Config(fixtures=("dir",))``); a bad value is a
    ``ValueError``.
    """

    spec_path: Path | None = option(
        flag="--spec",
        env="SPEC",
        metavar="PATH",
        parse=Path,
        help="OpenAPI document",
        default_doc="the bundled openapi.yaml",
        doc="the OpenAPI 3.1 or 3.0 document, YAML or JSON (`.json`)",
    )
    fixtures: tuple[Path, ...] = option(
        (),
        flag="--fixtures",
        env="FIXTURES",
        kind="many",
        metavar="PATH",
        parse=lambda v: tuple(Path(p) for p in split_paths(v)),
        help="fixture files or folders",
        default_doc="the bundled fixtures/",
        env_note="(comma-separated)",
    )
    host: str = option(
        "127.0.0.1",
        flag="--host",
        env="HOST",
        help="address to listen on",
        default_doc="127.0.0.1; 0.0.0.0 in the container",
    )
    port: int = option(
        DEFAULT_PORT, flag="--port", env="PORT", flag_type=int, parse=int, help="port; 0 takes a free one"
    )
    clock: str | None = option(
        flag="--clock",
        env="CLOCK",
        metavar="RFC3339",
        parse=or_none,
        env_empty=True,
        help="pin 'now', e.g. 2024-01-01T00:00:00Z",
        default_doc="real time",
        banner=lambda v: v or "real time",
    )
    enforce_auth: bool = option(
        True,
        flag="--no-auth",
        env="ENFORCE_AUTH",
        kind="negate",
        parse=parse_bool,
        help="do not check API keys and scopes",
        default_doc="auth on",
        doc="accept calls without a key",
        banner=lambda v: "off" if v else "on",
    )
    validate_responses: bool = option(
        False,
        flag="--validate-responses",
        env="VALIDATE_RESPONSES",
        kind="switch",
        parse=parse_bool,
        help="check every answer against the spec",
        banner=lambda v: "on" if v else "off",
    )
    cors_origins: tuple[str, ...] = option(
        ("*",),
        flag="--cors-origin",
        env="CORS_ORIGINS",
        kind="append",
        metavar="ORIGIN",
        parse=split,
        env_empty=True,
        help="allowed browser origin",
        default_doc="any origin, reflected",
        env_note="(comma-separated)",
        banner=lambda v: "any" if "*" in v else ", ".join(v),
    )
    latency_ms: tuple[int, int] = option(
        (0, 0),
        flag="--latency",
        env="LATENCY",
        metavar="MS|MIN-MAX",
        parse=parse_latency,
        help="add latency to every API call",
        default_doc="none",
        doc="latency added to every API answer, errors included (not preflights)",
        banner=lambda v: "none" if v[1] <= 0 else (f"{v[0]} ms" if v[0] == v[1] else f"{v[0]}-{v[1]} ms"),
    )
    max_body_bytes: int = option(MAX_BODY_BYTES, env="MAX_BODY_BYTES", parse=int, help="larger API bodies answer 413")
    max_admin_body_bytes: int = option(
        MAX_ADMIN_BODY_BYTES,
        env="MAX_ADMIN_BODY_BYTES",
        parse=int,
        help="larger `/__mock` bodies answer 413 (room for `PUT /__mock/state` with 100,000+ engagements)",
        default_doc="`134217728` (128 MiB)",
    )
    max_sessions: int = option(100, env="MAX_SESSIONS", parse=int, help="session cap")
    journal_size: int = option(1000, env="JOURNAL_SIZE", parse=int, help="requests the journal keeps, per dataset")
    watch: bool = option(
        False,
        flag="--watch",
        env="WATCH",
        kind="switch",
        parse=parse_bool,
        help="reload spec and fixtures on change",
        doc="reload spec and fixtures when they change",
        banner=lambda v: "on" if v else "off",
    )
    access_log: bool = option(
        False,
        flag="--quiet",
        env="ACCESS_LOG",
        kind="negate",
        parse=parse_bool,
        help="no access log",
        default_doc="access log on (serve); off in MockServer",
        doc="no line per request",
        banner=lambda v: "off" if v else "on",
    )
    threads: int = option(
        8,
        flag="--threads",
        env="THREADS",
        metavar="N",
        flag_type=int,
        parse=int,
        help="threads for admin, docs and your own routes",
        doc="threads for admin calls, the docs page and your own Flask routes (API calls run on the event loop)",
    )
    job_seconds: int | None = option(
        flag="--job-seconds",
        env="JOB_SECONDS",
        metavar="SECONDS",
        flag_type=int,
        parse=non_negative,
        help="how long every job (audio processing, exports) takes on the mock's clock",
        default_doc="each job's own (`x-mock-job` `seconds`: audio 30, exports 10)",
        doc="how long every `x-mock-job` (audio processing, exports) takes on the mock's clock, in seconds",
        banner=lambda v: "each job's own" if v is None else f"{v} s",
    )
    signature_window: int = option(
        300,
        flag="--signature-window",
        env="SIGNATURE_WINDOW",
        metavar="SECONDS",
        flag_type=int,
        parse=non_negative,
        help="accepted X-Timestamp skew of signed requests",
        doc="how far a signed request's `X-Timestamp` may be from the mock's clock, either way",
        banner=lambda v: f"{v} s",
    )
    reject_replays: bool = option(
        False,
        flag="--reject-replays",
        env="REJECT_REPLAYS",
        kind="switch",
        parse=parse_bool,
        help="refuse a request signature seen before",
        doc="refuse a request signature already accepted (401 `REPLAYED_REQUEST`)",
        banner=lambda v: "on" if v else "off",
    )
    admin_token: str | None = option(
        flag="--admin-token",
        env="ADMIN_TOKEN",
        metavar="TOKEN",
        parse=or_none,
        help="require this token in the X-Mock-Admin-Token header on /__mock/* (all but /__mock/health)",
        doc="require `X-Mock-Admin-Token` on `/__mock/*` (not on `/__mock/health`)",
    )
    webhook_hosts: tuple[str, ...] = option(
        (),
        flag="--webhook-hosts",
        env="WEBHOOK_HOSTS",
        kind="append",
        metavar="HOST",
        parse=split,
        help="a host webhook deliveries may go to besides loopback: a name, an address, a network "
        "(10.0.0.0/8) or * for any; cloud metadata addresses are always refused",
        default_doc="loopback only (localhost, 127.0.0.0/8, ::1)",
        doc="where webhook deliveries may go besides loopback: names, addresses, networks or `*`; "
        "cloud metadata addresses always refused, also after DNS resolution",
        env_note="(comma-separated)",
    )
    allowed_hosts: tuple[str, ...] = option(
        (),
        flag="--allowed-host",
        env="ALLOWED_HOSTS",
        kind="append",
        metavar="NAME",
        parse=split,
        help="a Host name to answer besides localhost and addresses: on every path when listening on "
        "loopback, on /__mock whatever the address (DNS-rebinding guard)",
        default_doc="loopback names only",
        doc="`Host` names answered when listening on loopback (and on `/__mock` whatever the address)",
        env_note="(comma-separated)",
    )
    persist: Path | None = option(
        flag="--persist",
        env="PERSIST",
        metavar="PATH",
        parse=Path,
        help="keep the state in this JSON file across restarts",
        default_doc="in memory",
        banner=lambda v: str(v) if v is not None else "off",
    )
    max_fault_rules: int = option(100, env="MAX_FAULT_RULES", parse=int, help="fault rules per dataset")
    max_connections: int = option(
        1024,
        flag="--max-connections",
        env="MAX_CONNECTIONS",
        metavar="N",
        flag_type=int,
        parse=int,
        help="open connections at most; past it a new one replaces an idle or the slowest one",
        doc="open connections at most; past it a new one takes the place of the slowest sender, else of an "
        "idle one (see [HTTP server](http-server.md))",
    )

    def __post_init__(self) -> None:
        # Accept plain strings where paths are meant, so Config(fixtures=("dir",)) works.
        if self.spec_path is not None and not isinstance(self.spec_path, Path):
            object.__setattr__(self, "spec_path", Path(self.spec_path))
        object.__setattr__(self, "fixtures", _paths(self.fixtures))
        if isinstance(self.cors_origins, str):
            object.__setattr__(self, "cors_origins", split(self.cors_origins))
        if isinstance(self.webhook_hosts, str):
            object.__setattr__(self, "webhook_hosts", split(self.webhook_hosts))
        if isinstance(self.allowed_hosts, str):
            object.__setattr__(self, "allowed_hosts", split(self.allowed_hosts))
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
        if self.job_seconds is not None and self.job_seconds < 0:
            raise ValueError(f"job_seconds must be 0 or more seconds, got {self.job_seconds}")
        if self.signature_window < 0:
            raise ValueError(f"signature_window must be 0 or more seconds, got {self.signature_window}")

    @property
    def resolved_spec_path(self) -> Path:
        """The spec to load: ``spec_path`` or the bundled one."""
        return self.spec_path if self.spec_path is not None else bundled_spec_path()

    @property
    def resolved_fixtures(self) -> tuple[Path, ...]:
        """The fixture files or folders to load: ``fixtures``; else the bundled folder for the
        bundled spec, and none for another spec (it starts with one default client, no records)."""
        if self.fixtures:
            return self.fixtures
        if self.spec_path is None or self.spec_path.resolve() == bundled_spec_path().resolve():
            return (bundled_fixtures_dir(),)
        return ()

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

        Each option's variable is declared on its field (``docs/reference/cli.md`` lists
        them): ``AURALYTIK_MOCK_PORT``, ``AURALYTIK_MOCK_LATENCY`` (``MS`` or ``MIN-MAX``),
        lists comma (or ``os.pathsep``) separated, booleans ``true``/``false``.

        :raises ValueError: a variable has a value of the wrong form; the message names it.
        """
        options = from_env(os.environ if environ is None else environ, OPTIONS)
        options.update(overrides)
        return cls().with_options(**options)


#: Every option of ``Config``, in field order (flags, variables, banner and docs come from here).
OPTIONS = options_of(Config)
