"""The ``auralytik-mock`` command: ``serve`` the sandbox, ``check`` spec and fixtures.

Owns: flags (each also an ``AURALYTIK_MOCK_*`` variable; a flag wins), the start-up
banner, and running the app on the mock's own asyncio server (``httpserver``, one
process, the engine on the event loop) or, with ``--server werkzeug``, on Werkzeug's.
May import: ``app``, ``config``, ``pipeline``, ``errors``, ``httpserver``, ``server``, werkzeug.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from .app import create_app, engine_of, stopping_event
from .config import ENV_PREFIX, Config, parse_latency
from .errors import AuralytikMockError
from .guard import is_loopback
from .pipeline import Engine, build_world

log = logging.getLogger("auralytik_mock")
SERVERS = ("asyncio", "werkzeug")
#: Earlier versions served on granian; it cannot drop a connection without answering.
_RETIRED = {"granian": "asyncio"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auralytik-mock",
        description="A stateful, contract-checking mock of the Auralytik REST API.",
        epilog=f"Every option can also come from an environment variable {ENV_PREFIX}<NAME>; a flag wins.",
    )
    parser.add_argument("--version", action="version", version=f"auralytik-mock {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--spec", metavar="PATH", help="OpenAPI document (default: the bundled openapi.yaml)")
        sub.add_argument(
            "--fixtures", metavar="PATH", nargs="+", help="fixture files or folders (default: the bundled fixtures/)"
        )

    serve = commands.add_parser("serve", help="serve the mock (the sandbox)")
    common(serve)
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 in the container)")
    serve.add_argument("--port", type=int, help="port (default 4010; 0 takes a free one)")
    serve.add_argument(
        "--cors-origin", metavar="ORIGIN", action="append", help="allowed browser origin, repeatable (default: any)"
    )
    serve.add_argument("--clock", metavar="RFC3339", help="pin 'now', e.g. 2024-01-01T00:00:00Z")
    serve.add_argument("--latency", metavar="MS|MIN-MAX", help="add latency to every API call")
    serve.add_argument("--watch", action="store_true", default=None, help="reload spec and fixtures on change")
    serve.add_argument(
        "--validate-responses", action="store_true", default=None, help="check every answer against the spec"
    )
    serve.add_argument("--no-auth", action="store_true", help="do not check API keys and scopes")
    serve.add_argument("--threads", type=int, help="threads for admin, docs and your own routes (default 8)")
    serve.add_argument("--quiet", action="store_true", help="no access log")
    serve.add_argument(
        "--server", choices=SERVERS + tuple(_RETIRED), help=f"HTTP server (default asyncio; {ENV_PREFIX}SERVER)"
    )
    serve.add_argument(
        "--admin-token",
        metavar="TOKEN",
        help="require this token in the X-Mock-Admin-Token header on /__mock/* (all but /__mock/health)",
    )
    serve.add_argument(
        "--allowed-host",
        metavar="NAME",
        action="append",
        help="a Host name to answer besides loopback ones when listening on loopback, repeatable",
    )
    serve.add_argument(
        "--persist", metavar="PATH", help="keep the state in this JSON file across restarts (default: in memory)"
    )

    check = commands.add_parser("check", help="check spec and fixtures, then exit (0: fine)")
    common(check)
    return parser


def _version() -> str:
    from . import __version__

    return __version__


def _config(args: argparse.Namespace) -> Config:
    options: dict[str, Any] = {}
    if args.spec:
        options["spec_path"] = args.spec
    if args.fixtures:
        options["fixtures"] = args.fixtures
    if getattr(args, "host", None):
        options["host"] = args.host
    if getattr(args, "port", None) is not None:
        options["port"] = args.port
    if getattr(args, "cors_origin", None):
        options["cors_origins"] = tuple(args.cors_origin)
    if getattr(args, "clock", None):
        options["clock"] = args.clock
    if getattr(args, "latency", None):
        options["latency_ms"] = parse_latency(args.latency)
    for name in ("watch", "validate_responses"):
        if getattr(args, name, None):
            options[name] = True
    if getattr(args, "no_auth", False):
        options["enforce_auth"] = False
    if getattr(args, "threads", None):
        options["threads"] = args.threads
    if getattr(args, "admin_token", None):
        options["admin_token"] = args.admin_token
    if getattr(args, "allowed_host", None):
        options["allowed_hosts"] = tuple(args.allowed_host)
    if getattr(args, "persist", None):
        options["persist"] = args.persist
    config = Config.from_env(**options)
    if getattr(args, "quiet", False):
        config = config.with_options(access_log=False)
    elif args.command == "serve" and f"{ENV_PREFIX}ACCESS_LOG" not in os.environ:
        config = config.with_options(access_log=True)
    return config


def _fail(message: str, code: int = 2) -> NoReturn:
    print(f"auralytik-mock: {message}", file=sys.stderr)
    raise SystemExit(code)


def check(config: Config) -> int:
    """Load spec and fixtures as ``serve`` would; print what was found or every problem."""
    try:
        world = build_world(config)
    except AuralytikMockError as exc:
        print(f"auralytik-mock check: FAILED\n{exc}", file=sys.stderr)
        return 1
    problems = _spec_validator_problems(config)
    if problems:
        print(f"auralytik-mock check: FAILED\n{problems}", file=sys.stderr)
        return 1
    ops = world.spec.operations
    print(f"spec: {config.resolved_spec_path} OK ({len(ops)} operations, base path {world.spec.base_path})")
    print(f"fixtures: OK ({len(world.store.seed)} clients, {world.store.count()} records)")
    return 0


def _spec_validator_problems(config: Config) -> str:
    """Problems openapi-spec-validator finds, when it is installed (the test extra has it)."""
    try:
        from openapi_spec_validator import validate
        from openapi_spec_validator.readers import read_from_filename
    except ImportError:
        return ""
    try:
        document, _ = read_from_filename(str(config.resolved_spec_path))
        validate(document)
    except Exception as exc:  # the validator raises its own hierarchy
        return f"{config.resolved_spec_path}: {exc}"
    return ""


def banner(engine: Engine, url: str) -> str:
    """What ``serve`` prints: where it listens and which keys it knows."""
    lines = [
        f"auralytik-mock serving {engine.config.resolved_spec_path.name} at {url}{engine.spec.base_path}",
        f"  health: {url}/health    admin: {url}/__mock/health    docs: {url}/__mock/docs",
        "  API keys (Authorization: Bearer <key>):",
    ]
    for client in engine.store.seed:
        for key in client.api_keys:
            scopes = ", ".join(key.scopes) or "(no scopes)"
            lines.append(f"    {key.key:<24} client {client.id:<16} {scopes}")
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
    """Serve until Ctrl-C or SIGTERM; returns the exit code."""
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
    if server == "werkzeug":
        return _serve_werkzeug(app, engine, config)
    if config.port != 0:
        _ensure_port_free(config.host, config.port)
    return _serve_asyncio(app, engine, config)


def _display_host(host: str) -> str:
    host = "127.0.0.1" if host in {"0.0.0.0", ""} else host
    return f"[{host}]" if ":" in host else host


def _serve_asyncio(app: Any, engine: Engine, config: Config) -> int:
    from .httpserver import HttpServer

    def ready(server: HttpServer) -> None:
        print(banner(engine, f"http://{_display_host(config.host)}:{server.port}"), flush=True)
        if config.watch:
            engine.config = config
            engine.start_watching()

    server = HttpServer(app, engine, threads=config.threads)
    try:
        server.run(config.host, config.port, on_ready=ready)
    finally:
        stopping_event(app).set()
        engine.close()
    return 0


def _serve_werkzeug(app: Any, engine: Engine, config: Config) -> int:
    from werkzeug.serving import make_server

    from .server import QuietRequestHandler

    # Quiet: the engine's access log has a line per request, written off the request
    # threads; Werkzeug's own log writes to stderr in the request and hung on a full pipe.
    server = make_server(config.host, config.port, app, threaded=True, request_handler=QuietRequestHandler)
    print(banner(engine, f"http://{_display_host(config.host)}:{server.server_port}"), flush=True)
    if config.watch:
        engine.config = config
        engine.start_watching()

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        stopping_event(app).set()  # calls parked in a delay drop their connection at once
        server.server_close()
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
    server = args.server or os.environ.get(f"{ENV_PREFIX}SERVER") or "asyncio"
    if server in _RETIRED:
        print(f"auralytik-mock: --server {server} is retired; serving on {_RETIRED[server]}", file=sys.stderr)
        server = _RETIRED[server]
    if server not in SERVERS:
        _fail(f"{ENV_PREFIX}SERVER: choose one of {', '.join(SERVERS)}, got {server!r}")
    return serve(config, server)
