"""The ``auralytik-mock`` command: ``serve`` the sandbox, ``check`` spec and fixtures.

Owns: flags (each also an ``AURALYTIK_MOCK_*`` variable; a flag wins), the start-up
banner, and running the app on the mock's own asyncio server (``http.server``, one
process, the engine on the event loop).
May import: ``config``, ``core``, ``harness``, ``http``, ``signing``, ``verify``.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import socket
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from .config import OPTIONS, Config
from .core import speccheck
from .core.errors import AuralytikMockError
from .core.pipeline import build_world
from .core.spec import HMAC
from .harness.guard import is_loopback
from .harness.sandbox import Engine
from .http.wsgi import create_app, engine_of, stopping_event
from .options import (
    ENV_PREFIX,
    Option,
    add_flags,
    banner_settings,
    from_env,
    from_flags,
    not_in_banner,
    options_table,
    variables_only,
)
from .verify.options import VERIFY_OPTIONS

log = logging.getLogger("auralytik_mock")
SERVERS = ("asyncio",)
#: Earlier versions served on granian (it cannot drop a connection without answering) and
#: offered Werkzeug's server (one server now runs everything, ``MockServer`` included).
_RETIRED = {"granian": "asyncio", "werkzeug": "asyncio"}
#: ``serve --server``: not a ``Config`` option (it picks how to run, and there is one way).
SERVER = Option(
    name="server",
    flag="--server",
    env="SERVER",
    help="HTTP server (asyncio, the only one)",
    choices=SERVERS + tuple(_RETIRED),
    metavar="asyncio",
    default="asyncio",
    doc="kept for earlier scripts: `asyncio` is the only server; `granian` and `werkzeug` are read as "
    "`asyncio`, with a notice on stderr",
)
#: Every option of ``serve``, as ``--help`` and ``docs/reference/cli.md`` list them.
SERVE_OPTIONS = (*OPTIONS, SERVER)
#: The options ``check`` and ``verify`` share with ``serve``: which spec and fixtures.
_PATH_OPTIONS = tuple(o for o in OPTIONS if o.name in {"spec_path", "fixtures"})


def serve_options_table() -> str:
    """The options table of ``docs/reference/cli.md`` (between its ``options: serve`` markers)."""
    return options_table(SERVE_OPTIONS)


def verify_options_table() -> str:
    """``verify``'s options table of ``docs/reference/cli.md`` (between its ``options: verify`` markers)."""
    return options_table(VERIFY_OPTIONS)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auralytik-mock",
        description="A stateful, contract-checking mock of the Auralytik REST API.",
        epilog=f"Every option can also come from an environment variable {ENV_PREFIX}<NAME>; a flag wins.",
    )
    parser.add_argument("--version", action="version", version=f"auralytik-mock {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sub: argparse.ArgumentParser) -> None:
        add_flags(sub, _PATH_OPTIONS)

    serve = commands.add_parser("serve", help="serve the mock (the sandbox)", epilog=variables_only(OPTIONS))
    add_flags(serve, SERVE_OPTIONS)

    check = commands.add_parser("check", help="check spec and fixtures, then exit (0: fine)")
    common(check)
    _verify_parser(commands, common)
    return parser


VERIFY_ENV = f"{ENV_PREFIX}VERIFY_"


def _verify_parser(commands: Any, common: Any) -> None:
    verify = commands.add_parser(
        "verify",
        help="run the contract against the real API (or a staging copy); report drift from the spec and the mock",
        epilog=f"Each option can also come from {VERIFY_ENV}<NAME> (e.g. {VERIFY_ENV}KEY); a flag wins. "
        "Exit 0: no drift; 1: drift; 2: could not run.",
    )
    common(verify)
    add_flags(verify, VERIFY_OPTIONS)


def _version() -> str:
    from . import __version__

    return __version__


def _config(args: argparse.Namespace) -> Config:
    options = from_flags(args, OPTIONS)
    config = Config.from_env(**options)
    if args.command == "serve" and "access_log" not in options and f"{ENV_PREFIX}ACCESS_LOG" not in os.environ:
        config = config.with_options(access_log=True)  # serve logs each request unless told not to
    return config


def _fail(message: str, code: int = 2) -> NoReturn:
    print(f"auralytik-mock: {message}", file=sys.stderr)
    raise SystemExit(code)


def check(config: Config) -> int:
    """Load spec and fixtures as ``serve`` would, and validate the spec in full; print which
    checks ran and what they found (every problem with file, line and pointer)."""
    spec_path = config.resolved_spec_path
    ran: list[str] = []
    failures: list[str] = []
    findings = speccheck.validate(spec_path)
    ran.append(f"{findings.validator}: the OpenAPI document against the OpenAPI schema")
    try:
        world = build_world(config)
    except AuralytikMockError as exc:
        ran.append("auralytik-mock: operations, $refs, security, every schema (JSON Schema 2020-12), handlers")
        ran.append("auralytik-mock: fixtures (every record against its schema, ids, keys, scopes)")
        failures.append(str(exc))
        world = None
    else:
        ran.append("auralytik-mock: operations, $refs, security, every schema (JSON Schema 2020-12), handlers")
        ran.append("auralytik-mock: fixtures (every record against its schema, ids, keys, scopes)")
    failures += findings.problems  # after the mock's own findings, which are the more precise
    print("checks run:\n" + "\n".join(f"  - {line}" for line in ran))
    if findings.warnings:
        print(f"warnings ({len(findings.warnings)}):\n" + "\n".join(f"  - {w}" for w in findings.warnings[:20]))
        if len(findings.warnings) > 20:
            print(f"  ... and {len(findings.warnings) - 20} more")
    if failures or world is None:
        print("auralytik-mock check: FAILED\n" + "\n".join(failures), file=sys.stderr)
        return 1
    ops = world.spec.operations
    bases = ", ".join(b or "/" for b in world.spec.base_paths)
    rows = world.resources.table()
    not_stateful = [row for row in rows if row[3] not in ("stateful", "computed")]
    if not_stateful:  # served, but with no state behind them: worth a look
        table = speccheck.operations_table(not_stateful, limit=len(not_stateful))
        print(
            "warnings: " + table[0].replace("operations (", "operations without state (") + "\n" + "\n".join(table[1:])
        )
    print(f"spec: {spec_path} OK ({len(ops)} operations, base paths {bases})")
    print(f"fixtures: OK ({len(world.store.seed)} clients, {world.store.count()} records)")
    return 0


#: ``serve`` options that are about where and how to run, not about the sandbox's behaviour
#: (every other option is listed in the banner, with its current value).
NOT_IN_BANNER = ("--help", *not_in_banner(SERVE_OPTIONS))


def _verify(args: argparse.Namespace, config: Config) -> int:
    """``auralytik-mock verify``: options from flags, else ``AURALYTIK_MOCK_VERIFY_*``."""

    from .verify import Options, VerifyError, verify

    try:
        values = {**from_env(os.environ, VERIFY_OPTIONS), **from_flags(args, VERIFY_OPTIONS)}
    except ValueError as exc:
        _fail(f"verify: {exc}")
    if not values.get("base_url") or not values.get("key"):
        _fail(f"verify needs --base-url and --key (or {VERIFY_ENV}BASE_URL and {VERIFY_ENV}KEY)")
    options = Options(**values)
    try:
        outcome = verify(config, options, report=options.report, junit=options.junit)
    except (VerifyError, AuralytikMockError) as exc:
        from .verify import scrub

        _fail(scrub(str(exc), options.secrets()))
    return outcome.exit_code


def banner(engine: Engine, url: str, config: Config | None = None) -> str:
    """What ``serve`` prints: where it listens, the sandbox options in force, which keys it knows.

    :param config: the options as the user gave them (default: the engine's; ``serve`` builds
        its engine with ``watch`` off and starts watching once it listens).
    """
    config = engine.config if config is None else config
    settings = banner_settings(config, OPTIONS)
    lines = [
        f"auralytik-mock serving {config.resolved_spec_path.name} at {url}{engine.spec.base_path}",
        f"  health: {url}/health (and "
        + ", ".join(f"{url}{base}/health" for base in engine.spec.base_paths if base)
        + f")    admin: {url}/__mock/health"
        f"    docs: {url}/__mock/docs" + ("?token=<admin token>" if engine.config.admin_token else ""),
        "  sandbox options (serve --help): " + ", ".join(f"{flag} {value}" for flag, value in settings.items()),
        "  force errors: header 'Prefer: code=429' or 'Prefer: delay=500'; rules: POST /__mock/faults",
    ]
    if engine.world.open_keys:
        schemes = ", ".join(sorted(engine.spec.schemes)) or "none"
        lines.append(
            f"  no fixtures: any well-formed credential of the spec's security schemes ({schemes}) "
            "is one default client's, with every scope; a missing one gets the spec's 401"
        )
    else:
        lines.append("  API keys (Authorization: Bearer <key>):")
    signing: list[str] = []
    for client in engine.store.seed:
        for key in client.api_keys:
            scopes = ", ".join(key.scopes) or "(no scopes)"
            line = f"    {key.key:<24} client {client.id:<16} {scopes}"
            (signing if key.secret is not None else lines).append(line)
    if signing:
        names = {name for name, scheme in engine.spec.schemes.items() if scheme.kind == HMAC}
        signed = [base for base, accepted in engine.spec.base_paths.items() if accepted and accepted & names]
        where = f" at {url}{signed[0]}" if signed else ""
        lines.append(f"  signing keys{where} (X-Api-Key + X-Timestamp + X-Signature; secrets in the fixtures):")
        lines += signing
    lines += ["  " + line for line in speccheck.operations_table(engine.world.resources.table())]
    guard = engine.guard
    if guard.check_hosts:
        extra = "".join(f", {name}" for name in sorted(guard.allowed_hosts))
        hosts = f"every path answers Host localhost and loopback addresses{extra} only"
    else:
        hosts = f"/__mock answers Host {guard.admin_hosts()} only"
    lines.append(f"  {hosts} (DNS-rebinding guard; more with --allowed-host)")
    if engine.config.admin_token:
        lines.append("  admin API: needs the header X-Mock-Admin-Token (--admin-token)")
    elif not is_loopback(engine.config.host):
        lines.append(
            f"  WARNING: listening on {engine.config.host} without --admin-token: anyone who can reach this "
            "port can read and reset every tenant's data through /__mock; set AURALYTIK_MOCK_ADMIN_TOKEN"
        )
    if engine.config.persist is not None:
        lines.append(f"  state persisted in {engine.config.persist}")
    return "\n".join(lines)


def _ensure_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            _fail(f"cannot listen on {host}:{port}: {exc.strerror}; pass --port or {ENV_PREFIX}PORT")


def serve(config: Config, server: str = "asyncio") -> int:
    """Serve until Ctrl-C or SIGTERM; returns the exit code.

    :param server: kept for callers of earlier versions: there is one server, ``asyncio``.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_app(config.with_options(watch=False))
    except AuralytikMockError as exc:
        _fail(str(exc), 1)
    engine = engine_of(app)
    # Everything built so far (spec, validators, fixtures, Flask) lives as long as the process:
    # out of the collector's sight, a full collection takes microseconds instead of about
    # 10-25 ms, a pause every call in flight would wait out (the tail of the latency).
    gc.freeze()
    # The loop answers in tens of microseconds but waits for the GIL while a worker thread
    # decodes a large body: hand it over every millisecond, not every five (the default).
    sys.setswitchinterval(0.001)
    if config.port != 0:
        _ensure_port_free(config.host, config.port)
    return _serve_asyncio(app, engine, config)


def _display_host(host: str) -> str:
    host = "127.0.0.1" if host in {"0.0.0.0", ""} else host
    return f"[{host}]" if ":" in host else host


def _serve_asyncio(app: Any, engine: Engine, config: Config) -> int:
    from .http.server import HttpServer

    def ready(server: HttpServer) -> None:
        print(banner(engine, f"http://{_display_host(config.host)}:{server.port}", config), flush=True)
        if config.watch:
            engine.start_watching()

    server = HttpServer(app, engine, threads=config.threads, max_connections=config.max_connections)
    try:
        server.run(config.host, config.port, on_ready=ready)
    finally:
        stopping_event(app).set()
        engine.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (``python -m auralytik_mock``)."""
    args = _parser().parse_args(argv)
    try:
        config = _config(args)
    except (ValueError, TypeError) as exc:
        _fail(str(exc))
    if args.command == "check":
        return check(config)
    if args.command == "verify":
        return _verify(args, config)
    server = args.server or os.environ.get(f"{SERVER.variable}") or SERVER.default
    if server in _RETIRED:
        print(f"auralytik-mock: --server {server} is retired; serving on {_RETIRED[server]}", file=sys.stderr)
        server = _RETIRED[server]
    if server not in SERVERS:
        _fail(f"{ENV_PREFIX}SERVER: choose one of {', '.join(SERVERS)}, got {server!r}")
    return serve(config, server)
