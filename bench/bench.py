"""Benchmark auralytik-mock against Prism and against granian serving fixed bytes, in one run.

Run it with ``bench/run.sh`` (installs wrk and Prism first; ``bench/run.sh --help`` for
subsets). Prints one Markdown report and writes it to ``bench/results/latest.md`` (and
the raw numbers to ``latest.json``).

What it measures, one server at a time on 127.0.0.1, each load bounded by ``--duration``,
the servers alternating round by round (``--rounds``; each cell is the median of the rounds):

- req/s and p50/p90/p99/max latency (wrk) for GET list, GET one and POST at 8 and 64
  connections, for: auralytik-mock (``serve --quiet``; ``serve`` with its access log),
  Prism 5.16 (``prism mock -v error`` on the same
  openapi.yaml; default logging with ``--only prism``) and granian serving fixed bytes
  (``bench/fixed_app.py``, the HTTP server alone);
- GET one while 32 other connections wait in ``Prefer: delay=5000``;
- launch to first 200 (``auralytik-mock serve``, Prism), ``MockServer`` enter to first 200
  (in fresh processes, after a first that warms the on-disk seed cache) and exit,
  ``reset()``; RSS under load;
- in-process: Flask test client GET one against a bare Flask test client;
- per call through ``requests`` (``bench/mockserver_vs_serve.py``): ``MockServer``, ``serve``
  and Prism with the bundled fixtures, ``MockServer`` and ``serve`` with 100,000 engagements;
- scale: 100,000 engagements in the fixtures: load time and RSS, page 1 against page 4,000,
  GET one against the 7-record store; 100,000 evaluations (``bench/scale.py``: filters,
  date ranges); GET one's p99 during ``--persist`` saves against without (``bench/saves.py``);
- signed: GET one on ``/api/v1`` with an HMAC-signed request against the Bearer GET one on
  ``/v1`` (``--quiet`` mock, wrk at c=8, and engine time in-process);
- with ``--profile``: where the mock's time goes under GET one load (py-spy, leaf functions).

The report ends with the targets table (``bench/targets.py``): issue 22's targets, each with
yes or no (one not measured in this run says so), then the earlier targets. Absolute numbers
drift between runs and on a shared machine; compare only within one run (the ratios).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import scale as scale_bench
import targets

ROOT = Path(__file__).resolve().parents[1]
PRISM = ROOT / "bench" / ".prism" / "node_modules" / ".bin" / "prism"
PYTHON = sys.executable
KEY = "YOUR_API_KEY"
ENDPOINTS = targets.ENDPOINTS
CONCURRENCY = targets.CONCURRENCY
PARKED = 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_status(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def tree_rss_mib(pid: int) -> float:
    """RSS of a process and all its descendants, in MiB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
        except (OSError, AttributeError):
            continue
    return total / 1024


@dataclass
class Server:
    """A server under test: how to start it and where its API lives."""

    name: str
    command: Callable[[int], list[str]]
    prefix: str  # the API's base path on this server ("/v1", or "" for Prism, which ignores servers)
    ready_path: str
    env: dict[str, str] = field(default_factory=dict)


@contextmanager
def running(server: Server) -> Iterator[tuple[str, subprocess.Popen[bytes], float]]:
    """Start ``server``; yield its base URL, the process and the launch-to-first-200 seconds."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        server.command(port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        env={**os.environ, **server.env},
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = started + 60
        while http_status(base + server.ready_path, {"Authorization": f"Bearer {KEY}"}) != 200:
            if process.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError(f"{server.name} did not start")
            time.sleep(0.005)
        yield base, process, time.perf_counter() - started
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def lua_scripts(directory: Path) -> dict[str, Path]:
    headers = f'wrk.headers["Authorization"] = "Bearer {KEY}"\nwrk.headers["Content-Type"] = "application/json"\n'
    scripts = {
        "POST": 'wrk.method = "POST"\nwrk.body = \'{"name": "Bench", "type": "quality_review"}\'\n',
        "PATCH": 'wrk.method = "PATCH"\nwrk.body = \'{"status": "active"}\'\n',
        "GET": "",
    }
    out = {}
    for name, body in scripts.items():
        path = directory / f"{name.lower()}.lua"
        path.write_text(headers + body)
        out[name] = path
    return out


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, script: Path, concurrency: int, duration: int) -> dict[str, float]:
    threads = min(2, concurrency)
    result = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{duration}s", "--latency", "--timeout", "5s",
         "-s", str(script), url],
        capture_output=True, text=True, timeout=duration + 30, check=True,
    )  # fmt: skip
    out = result.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p90 = _ms(re.search(r"\s90%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    top = _ms(re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if non2xx or errors:
        raise RuntimeError(f"{url}: not every answer was a success:\n{out}")
    return {"rps": rps, "p50_ms": p50, "p90_ms": p90, "p99_ms": p99, "max_ms": top}


def park(base: str, count: int) -> list[socket.socket]:
    """``count`` connections, each waiting in ``Prefer: delay=5000`` (GET one)."""
    request = (
        f"GET /v1/engagements/eng_456 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\n"
        "Prefer: delay=5000\r\n\r\n"
    ).encode()
    host, port = base.rsplit("//", 1)[1].split(":")
    socks = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)), timeout=10)
        sock.sendall(request)
        socks.append(sock)
    return socks


def load(server: Server, scripts: dict[str, Path], duration: int, parked: bool) -> dict[str, object]:
    """One round against ``server``: every endpoint at every concurrency (and GET one with parked calls)."""
    with running(server) as (base, process, _):
        api = base + server.prefix
        urls = {
            "GET list": (api + "/engagements", scripts["GET"]),
            "GET one": (api + "/engagements/eng_456", scripts["GET"]),
            "POST": (api + "/engagements", scripts["POST"]),
        }
        results: dict[str, dict[int, dict[str, float]]] = {}
        rss = 0.0
        for endpoint, (url, script) in urls.items():
            wrk(url, script, 8, 1)  # warm up
            results[endpoint] = {}
            for concurrency in CONCURRENCY:
                results[endpoint][concurrency] = wrk(url, script, concurrency, duration)
                rss = max(rss, tree_rss_mib(process.pid))
        if parked:
            # The same GET one cell, measured right before and while 32 calls wait in a 5 s
            # delay (the cell must end before they do).
            seconds = min(duration, 4)
            url, script = urls["GET one"]
            before = wrk(url, script, 8, seconds)
            socks = park(base, PARKED)
            try:
                during = wrk(url, script, 8, seconds)
                waiting = len(select.select(socks, [], [], 0)[0])
            finally:
                for sock in socks:
                    sock.close()
            if waiting:
                raise RuntimeError(f"{server.name}: {waiting} parked calls were answered before their delay")
            results["GET one, 32 parked"] = {8: during}
            results["GET one, none parked"] = {8: before}
        return {"load": results, "rss_mib": rss}


def median_rounds(rounds: list[dict[str, object]]) -> dict[str, object]:
    """Each cell's metrics: the median over the rounds."""
    merged: dict[str, dict[int, dict[str, float]]] = {}
    first: dict[str, dict[int, dict[str, float]]] = rounds[0]["load"]  # type: ignore[assignment]
    for endpoint, cells in first.items():
        merged[endpoint] = {}
        for c, cell in cells.items():
            merged[endpoint][c] = {
                metric: statistics.median(r["load"][endpoint][c][metric] for r in rounds)  # type: ignore[index]
                for metric in cell
            }
    return {"load": merged, "rss_mib": max(float(r["rss_mib"]) for r in rounds), "rounds": rounds}  # type: ignore[arg-type]


def profile(server: Server, scripts: dict[str, Path], seconds: int) -> list[tuple[str, float]]:
    """Where the serving process spends its time under GET one load: leaf functions by share of samples."""
    spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    with running(server) as (base, process, _), tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "profile.txt"
        recorder = subprocess.Popen(
            [spy, "record", "--format", "raw", "--rate", "500", "-d", str(seconds + 1), "-o", str(out),
             "--pid", str(process.pid), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.5)
        wrk(base + server.prefix + "/engagements/eng_456", scripts["GET"], 8, seconds)
        recorder.wait(timeout=seconds + 30)
        leaves: dict[str, int] = {}
        total = 0
        for line in out.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            leaf = stack.rsplit(";", 1)[-1]
            leaf = re.sub(r" \(.*/", " (", leaf)
            leaves[leaf] = leaves.get(leaf, 0) + int(count)
            total += int(count)
    ranked = sorted(leaves.items(), key=lambda item: -item[1])[:15]
    return [(name, count / max(total, 1)) for name, count in ranked]


def launch_times(server: Server, runs: int) -> float:
    times = []
    for _ in range(runs):
        with running(server) as (_, _, seconds):
            times.append(seconds)
    return statistics.median(times)


ENTER_SCRIPT = r"""
import json, time, urllib.request
started = time.perf_counter()
from auralytik_mock import MockServer
imported = time.perf_counter()
mock = MockServer().__enter__()
request = urllib.request.Request(mock.url + "/engagements/eng_456", headers={"Authorization": "Bearer YOUR_API_KEY"})
with urllib.request.urlopen(request, timeout=10) as answer:
    assert answer.status == 200
entered = time.perf_counter()
mock.__exit__(None, None, None)
print(json.dumps({"import_ms": (imported - started) * 1000, "enter_ms": (entered - imported) * 1000}))
"""


def fresh_enter(runs: int) -> dict[str, float]:
    """``MockServer`` enter to first 200, each in a fresh process (import not counted), after a
    first process that may build the on-disk seed cache (its time is kept apart)."""

    def one() -> dict[str, float]:
        done = subprocess.run([PYTHON, "-c", ENTER_SCRIPT], capture_output=True, text=True, check=True, timeout=120)
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    first = one()
    later = [one() for _ in range(runs)]
    return {
        "first_enter_to_200_ms": first["enter_ms"],
        "fresh_enter_to_200_ms": statistics.median(r["enter_ms"] for r in later),
        "fresh_import_ms": statistics.median(r["import_ms"] for r in later),
        "fresh_runs": runs,
    }


def in_process(runs: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "bench"))
    from bare_app import app as bare
    from flask import Flask

    from auralytik_mock import MockServer, create_app

    results: dict[str, float] = fresh_enter(5)
    enter, exit_ = [], []
    for _ in range(runs):  # in this process: after the first, the seed is already in memory
        started = time.perf_counter()
        mock = MockServer().__enter__()
        status = http_status(mock.url + "/engagements/eng_456", {"Authorization": f"Bearer {KEY}"})
        entered = time.perf_counter()
        mock.__exit__(None, None, None)
        exit_.append(time.perf_counter() - entered)
        enter.append(entered - started)
        assert status == 200
    results["mockserver_enter_to_200_ms"] = statistics.median(enter) * 1000
    results["mockserver_exit_ms"] = statistics.median(exit_) * 1000

    with MockServer() as mock:
        resets = []
        for _ in range(1000):
            started = time.perf_counter()
            mock.reset()
            resets.append(time.perf_counter() - started)
    results["reset_ms"] = statistics.median(resets) * 1000

    def per_call_us(app: Flask, path: str, n: int = 5000) -> float:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {KEY}"}
        for _ in range(500):
            client.get(path, headers=headers)
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(n // 5):
                client.get(path, headers=headers)
            samples.append((time.perf_counter() - started) / (n // 5) * 1e6)
        return statistics.median(samples)

    results["test_client_get_one_us"] = per_call_us(create_app(), "/v1/engagements/eng_456")
    results["bare_test_client_get_one_us"] = per_call_us(bare, "/v1/engagements/eng_456")
    return results


SCALE_SCRIPT = r"""
import json, resource, statistics, sys, time
from pathlib import Path
from auralytik_mock import Config, create_app
from auralytik_mock.http.wsgi import engine_of
from auralytik_mock.core.types import MockRequest
started = time.perf_counter()
app = create_app(Config(fixtures=(Path(sys.argv[1]),)))
load_s = time.perf_counter() - started
rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
engine = engine_of(app)
headers = {"authorization": "Bearer YOUR_API_KEY"}
def timed(path, query=None, n=2000):
    request = MockRequest("GET", path, query or {}, headers)
    for _ in range(200):
        assert engine.handle(request).status == 200
    samples = []
    for _ in range(n):
        t = time.perf_counter(); engine.handle(request); samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1e6
print(json.dumps({
    "records": engine.store.count(),
    "load_s": load_s,
    "rss_mib": rss_mib,
    "page_1_us": timed("/v1/engagements", {"page": ["1"]}),
    "page_4000_us": timed("/v1/engagements", {"page": ["4000"]}),
    "get_one_us": timed("/v1/engagements/eng_456"),
}))
"""


def scale(count: int) -> dict[str, object]:
    """Load the bundled fixtures with ``count`` more Acme engagements, as JSON and as YAML."""
    out: dict[str, object] = {}

    def measure(fixtures: Path) -> dict[str, object]:
        result = subprocess.run(
            [PYTHON, "-c", SCALE_SCRIPT, str(fixtures)], capture_output=True, text=True, check=True, timeout=600
        )
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    out["small"] = measure(ROOT / "fixtures")
    for fmt in ("json", "yaml"):
        with tempfile.TemporaryDirectory() as tmp:
            scale_bench.fixtures_with_engagements(Path(tmp), count, fmt)
            out[fmt] = measure(Path(tmp))
            if fmt == "json":
                # A start after the first, as every start after the first: it reads the records
                # the first one checked and kept (the seed cache, ~/.cache/auralytik-mock/seeds).
                out["json_cold"], out["json"] = out["json"], measure(Path(tmp))
    out["big"] = out["json"]
    return out


SIGNED_SCRIPT = r"""
import json, statistics, sys, time
from auralytik_mock import create_app
from auralytik_mock.http.wsgi import engine_of
from auralytik_mock.signing import signed_headers
from auralytik_mock.core.types import MockRequest
engine = engine_of(create_app())
signed = signed_headers("GET", "/api/v1/engagements/eng_456", key=sys.argv[1], secret=sys.argv[2])
cases = {"bearer_us": MockRequest("GET", "/v1/engagements/eng_456", headers={"authorization": "Bearer YOUR_API_KEY"}),
         "signed_us": MockRequest("GET", "/api/v1/engagements/eng_456", headers=signed)}
out = {}
for name, request in cases.items():
    for _ in range(500):
        assert engine.handle(request).status == 200
for name, request in cases.items():
    samples = []
    for _ in range(20000):
        t = time.perf_counter(); engine.handle(request); samples.append(time.perf_counter() - t)
    out[name] = statistics.median(samples) * 1e6
print(json.dumps(out))
"""


def signed_vs_bearer(duration: int) -> dict[str, float]:
    """A signed GET one on /api/v1 against the Bearer GET one on /v1: wrk at c=8 and engine time."""
    from auralytik_mock.signing import signed_headers

    key, secret = "ak_live_abc123def456ghi789jkl012mno345pq", "YOUR_HMAC_SECRET"
    engine = json.loads(subprocess.run([PYTHON, "-c", SIGNED_SCRIPT, key, secret], capture_output=True, text=True,
                                       check=True, timeout=300).stdout)  # fmt: skip
    server = servers(PYTHON)["mock_quiet"]
    with tempfile.TemporaryDirectory() as tmp, running(server) as (base, _, _):
        bearer_script = lua_scripts(Path(tmp))["GET"]
        # One signature serves the whole cell: it stays valid for the 300 s window (replays are accepted).
        headers = signed_headers("GET", "/api/v1/engagements/eng_456", key=key, secret=secret)
        signed_script = Path(tmp) / "signed.lua"
        signed_script.write_text("".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items()))
        wrk(base + "/api/v1/engagements/eng_456", signed_script, 8, 1)  # warm up
        signed, bearer = 0.0, 0.0
        for _ in range(2):  # alternate, best of two each: the order does not favour either
            signed = max(signed, wrk(base + "/api/v1/engagements/eng_456", signed_script, 8, duration)["rps"])
            bearer = max(bearer, wrk(base + "/v1/engagements/eng_456", bearer_script, 8, duration)["rps"])
    return {"signed_rps": signed, "bearer_rps": bearer, **engine}


def servers(python: str) -> dict[str, Server]:
    mock = lambda *extra: lambda port: [python, "-m", "auralytik_mock", "serve", "--port", str(port), *extra]  # noqa: E731
    prism = lambda *extra: lambda port: [str(PRISM), "mock", "openapi.yaml", "-p", str(port), "-h", "127.0.0.1", *extra]  # noqa: E731
    fixed = [python, "-m", "granian", "--interface", "wsgi", "--workers", "1", "--blocking-threads", "8",
             "--log-level", "error", "fixed_app:app", "--host", "127.0.0.1", "--port"]  # fmt: skip
    return {
        "mock_quiet": Server("auralytik-mock --quiet", mock("--quiet"), "/v1", "/v1/engagements"),
        "prism_quiet": Server("Prism 5.16 -v error", prism("-v", "error"), "", "/engagements"),
        "fixed": Server(
            "granian, fixed body",
            lambda port: [*fixed, str(port)],
            "/v1",
            "/v1/engagements",
            env={"PYTHONPATH": str(ROOT / "bench")},
        ),
        "mock": Server("auralytik-mock (access log)", mock(), "/v1", "/v1/engagements"),
        "prism": Server("Prism 5.16 (default logging)", prism(), "", "/engagements"),
    }


DEFAULT_SERVERS = ("mock_quiet", "prism_quiet", "fixed", "mock")


def report(results: dict[str, object], args: argparse.Namespace) -> str:
    lines = [
        "# auralytik-mock benchmark",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; wrk -t2, {args.duration:g} s per cell, medians of "
        f"{args.rounds} alternating round(s); {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        f"Command: `bench/run.sh {' '.join(sys.argv[1:])}`".rstrip()
        + " (compare ratios within one run, not absolutes).",
        "",
        "## Throughput (req/s) and latency (p50 / p90 / p99 / max, ms)",
        "",
    ]
    loads: dict[str, dict[str, object]] = results["load"]  # type: ignore[assignment]
    names = list(loads)
    lines.append("| endpoint | c | " + " | ".join(loads[n]["name"] for n in names) + " |")  # type: ignore[operator]
    lines.append("|---|---|" + "---|" * len(names))
    rows = [(e, c) for e in ENDPOINTS for c in CONCURRENCY]
    rows += [("GET one, none parked", 8), ("GET one, 32 parked", 8)]
    for endpoint, c in rows:
        cells = []
        for name in names:
            cell = loads[name]["load"].get(endpoint, {}).get(c)  # type: ignore[attr-defined]
            cells.append(
                f"{cell['rps']:,.0f} ({cell['p50_ms']:.2f} / {cell['p90_ms']:.2f} / {cell['p99_ms']:.2f} / "
                f"{cell['max_ms']:.1f})"
                if cell
                else "-"
            )
        lines.append(f"| {endpoint} | {c} | " + " | ".join(cells) + " |")
    lines.append("| RSS under load (MiB) | | " + " | ".join(f"{loads[n]['rss_mib']:.0f}" for n in names) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="Servers for --only: " + ", ".join(servers(PYTHON)) + f" (default: {' '.join(DEFAULT_SERVERS)}).",
    )
    parser.add_argument("--duration", type=int, default=3, help="whole seconds per wrk cell (default 3)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; cells are medians (default 2)")
    parser.add_argument("--skip-prism", action="store_true", help="do not run Prism")
    parser.add_argument("--skip-scale", action="store_true", help="skip the 100,000-engagement run")
    parser.add_argument("--skip-extras", action="store_true", help="only the load table: no launch, in-process, scale")
    parser.add_argument("--only", nargs="*", help="servers to load (see below)")
    parser.add_argument("--profile", type=int, default=0, metavar="S", help="also profile the mock for S seconds")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("bench: wrk is missing; run bench/run.sh", file=sys.stderr)
        return 2
    available = servers(PYTHON)
    if args.skip_prism or not PRISM.exists():
        available.pop("prism")
        available.pop("prism_quiet")
    chosen = {k: v for k, v in available.items() if (k in args.only if args.only else k in DEFAULT_SERVERS)}
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        scripts = lua_scripts(Path(tmp))
        rounds: dict[str, list[dict[str, object]]] = {key: [] for key in chosen}
        for number in range(args.rounds):
            for key, server in chosen.items():
                print(f"bench: round {number + 1}: {server.name} ...", file=sys.stderr, flush=True)
                rounds[key].append(load(server, scripts, args.duration, parked=key.startswith("mock")))
        results["load"] = {key: {"name": chosen[key].name, **median_rounds(r)} for key, r in rounds.items()}
        if args.profile:
            print("bench: profile ...", file=sys.stderr, flush=True)
            results["profile"] = profile(available["mock_quiet"], scripts, args.profile)
    if not args.skip_extras:
        extras(results, args, available)
    results["targets"] = targets.ratios(results)
    text = report(results, args) + extras_text(results)
    text += "\n" + "\n".join(targets.table(results["targets"])) + "\n" + _profile_text(results)  # type: ignore[arg-type]
    print(text)
    _write(text, results)  # bench/run.sh puts it into the docs
    return 0


def per_call(rounds: int, calls: int, skip_prism: bool, skip_scale: bool) -> dict[str, object]:
    """``bench/mockserver_vs_serve.py`` (its own process: ``MockServer`` runs in the caller's), with
    the bundled fixtures (``serve``, ``MockServer``, Prism) and with 100,000 more engagements."""
    command = [PYTHON, str(ROOT / "bench" / "mockserver_vs_serve.py"), "--json", "--rounds", str(rounds),
               "--calls", str(calls), *(["--skip-prism"] if skip_prism else [])]  # fmt: skip
    out: dict[str, object] = {}
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=900, cwd=ROOT)
    out["bundled"] = json.loads(done.stdout)
    if not skip_scale:
        with tempfile.TemporaryDirectory() as tmp:
            scale_bench.fixtures_with_engagements(Path(tmp), 100_000)
            done = subprocess.run([*command, "--fixtures", tmp], capture_output=True, text=True, check=True,
                                  timeout=900, cwd=ROOT)  # fmt: skip
            out["100,000 engagements"] = json.loads(done.stdout)
    return out


def extras(results: dict[str, object], args: argparse.Namespace, available: dict[str, Server]) -> None:
    """Everything after the load table, into ``results``: launch, in-process, per call, scale, saves, signed."""

    def step(name: str) -> None:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)

    # An installed package is byte-compiled (pip compiles what it installs; the image too); the
    # bench's editable install is not, and with PYTHONDONTWRITEBYTECODE set (these machines, the
    # Dockerfile) every start would compile the sources again: 120 ms that no user pays.
    step("byte-compiling src/, as pip install does")
    compileall.compile_dir(str(ROOT / "src"), quiet=1)
    step("launch times")
    launch = {"mock": launch_times(available["mock"], 5)}
    if "prism" in available:
        launch["prism"] = launch_times(available["prism"], 3)
    results["launch"] = launch
    step("in-process")
    results["in_process"] = in_process(20)
    step("per call through requests")
    results["per_call"] = per_call(max(3, args.rounds), 200 * args.duration, "prism" not in available, args.skip_scale)
    if not args.skip_scale:
        step("100,000 engagements")
        results["scale"] = scale(100_000)
        results["evaluations"] = scale_bench.run(scale_bench.COUNT, args.duration, "prism" not in available, False)
        step("GETs during --persist saves")
        import saves

        results["saves"] = saves.measure(max(saves.MIN_SECONDS, args.duration), args.rounds)
    step("signed vs Bearer")
    results["signed"] = signed_vs_bearer(args.duration)


def extras_text(results: dict[str, object]) -> str:
    """The report's lines after the targets: start-up, in-process, per call, scale."""
    if "launch" not in results:
        return ""
    launch: dict[str, float] = results["launch"]  # type: ignore[assignment]
    inproc: dict[str, float] = results["in_process"]  # type: ignore[assignment]
    extra = [
        "",
        "## Start-up and in-process",
        "",
        f"- `auralytik-mock serve` launch to first 200: {launch['mock'] * 1000:.0f} ms (median of 5; the sources "
        "byte-compiled first, as `pip install .` leaves them)"
        + (f"; Prism: {launch['prism'] * 1000:.0f} ms (median of 3)" if "prism" in launch else ""),
        f"- `MockServer` enter to first 200 in a fresh process: {inproc['fresh_enter_to_200_ms']:.1f} ms (median of "
        f"{inproc['fresh_runs']:.0f}; the process before them, which may have had to build the seed cache: "
        f"{inproc['first_enter_to_200_ms']:.0f} ms; importing "
        f"`auralytik_mock` before it: {inproc['fresh_import_ms']:.0f} ms)",
        f"- `MockServer` enter to first 200 in a process that made one before: "
        f"{inproc['mockserver_enter_to_200_ms']:.1f} ms; exit: {inproc['mockserver_exit_ms']:.1f} ms (medians of 20)",
        f"- `reset()`: {inproc['reset_ms'] * 1000:.0f} us (median of 1,000)",
        f"- Flask test client GET one: {inproc['test_client_get_one_us']:.0f} us; bare Flask test client: "
        f"{inproc['bare_test_client_get_one_us']:.0f} us",
    ]
    if "scale" in results:
        big = results["scale"]["big"]  # type: ignore[index]
        as_yaml = results["scale"]["yaml"]  # type: ignore[index]
        extra.append(
            f"- the same {as_yaml['records']:,} engagements as YAML: load {as_yaml['load_s']:.2f} s, "
            f"RSS {as_yaml['rss_mib']:.0f} MiB (PyYAML's parser; use .json fixtures for large data sets)"
        )
        extra.append(
            f"- {big['records']:,} engagements (JSON): load {big['load_s']:.2f} s, RSS {big['rss_mib']:.0f} MiB; "
            f"page 1 {big['page_1_us']:.0f} us, page 4,000 {big['page_4000_us']:.0f} us, "
            f"GET one {big['get_one_us']:.1f} us (engine time, in-process)"
        )
    if "saves" in results:
        sv: dict[str, dict[str, float]] = results["saves"]  # type: ignore[assignment]
        cells = [(n, sv[n]) for n in ("with saves", "without")]
        extra.append(
            "- GET one at c=8 on `serve --quiet` with 100,000 more engagements, a POST every 0.25 s: "
            + "; ".join(
                f"{n}: {c['rps']:,.0f} req/s, p99 {c['p99_ms']:.2f} ms, max {c['max_ms']:.1f} ms" for n, c in cells
            )
            + f" (saves seen: {sv['with saves']['saves']:.0f})"
        )
    per_call_results: dict[str, dict[str, dict[str, float]]] = results.get("per_call", {})  # type: ignore[assignment]
    if per_call_results:
        from mockserver_vs_serve import table

        extra += ["", "## Per call through `requests` (one `requests.Session`, sequential; ms, median of rounds)"]
        for name, cells in per_call_results.items():
            extra += ["", f"{'At launch: the bundled fixtures' if name == 'bundled' else 'At scale: ' + name}:", ""]
            extra += table(cells)
    return "\n".join(extra) + "\n"


def _write(text: str, results: dict[str, object]) -> None:
    """``bench/results/latest.md`` and ``latest.json`` (``bench/to_docs.py`` reads the first)."""
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.md").write_text(text)
    (out / "latest.json").write_text(json.dumps(results, indent=2, default=str))


def _profile_text(results: dict[str, object]) -> str:
    if "profile" not in results:
        return ""
    lines = ["", "## Where the time goes (py-spy, GET one at c=8, leaf functions by share of samples)", ""]
    for name, share in results["profile"]:  # type: ignore[attr-defined]
        lines.append(f"- {share * 100:.1f}% {name}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
