"""Benchmark auralytik-mock against Prism and a bare Flask app, on this machine, in one run.

Run it with ``bench/run.sh`` (installs wrk and Prism first). Prints one Markdown report and
writes it to ``bench/results/latest.md`` (and the raw numbers to ``latest.json``).

What it measures, one server at a time on 127.0.0.1, each load bounded by ``--duration``:

- req/s and p50/p99 latency (wrk) for GET list, GET one, POST and PATCH at concurrency
  1, 8 and 32, for: auralytik-mock (``serve``, granian; with its access log and ``--quiet``),
  Prism (``prism mock`` on the same openapi.yaml; default logging and ``-v error``) and a
  bare Flask app with static answers on the same granian set-up;
- launch to first 200 (``auralytik-mock serve``, Prism), ``MockServer`` enter to first 200
  and exit, ``reset()``; RSS under load;
- in-process: Flask test client GET one against a bare Flask test client;
- scale: 100,000 engagements in the fixtures: load time and RSS, page 1 against page 4,000,
  GET one against the 7-record store.

Absolute numbers drift between runs; compare only within one run (the ratios).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
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

ROOT = Path(__file__).resolve().parents[1]
PRISM = ROOT / "bench" / ".prism" / "node_modules" / ".bin" / "prism"
PYTHON = sys.executable
KEY = "YOUR_API_KEY"
ENDPOINTS = ("GET list", "GET one", "POST", "PATCH")
CONCURRENCY = (1, 8, 32)


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
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if non2xx or errors:
        raise RuntimeError(f"{url}: not every answer was a success:\n{out}")
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99}


def load(server: Server, scripts: dict[str, Path], duration: int) -> dict[str, object]:
    with running(server) as (base, process, _):
        api = base + server.prefix
        urls = {
            "GET list": (api + "/engagements", scripts["GET"]),
            "GET one": (api + "/engagements/eng_456", scripts["GET"]),
            "POST": (api + "/engagements", scripts["POST"]),
            "PATCH": (api + "/engagements/eng_456", scripts["PATCH"]),
        }
        results: dict[str, dict[int, dict[str, float]]] = {}
        rss = 0.0
        for endpoint, (url, script) in urls.items():
            wrk(url, script, 8, 1)  # warm up
            results[endpoint] = {}
            for concurrency in CONCURRENCY:
                results[endpoint][concurrency] = wrk(url, script, concurrency, duration)
                rss = max(rss, tree_rss_mib(process.pid))
        return {"load": results, "rss_mib": rss}


def launch_times(server: Server, runs: int) -> float:
    times = []
    for _ in range(runs):
        with running(server) as (_, _, seconds):
            times.append(seconds)
    return statistics.median(times)


def in_process(runs: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "bench"))
    from bare_app import app as bare
    from flask import Flask

    from auralytik_mock import MockServer, create_app

    results: dict[str, float] = {}
    enter, exit_ = [], []
    for _ in range(runs):
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
from auralytik_mock.app import engine_of
from auralytik_mock.types import MockRequest
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
    import yaml

    extra = [
        {
            "id": f"eng_{900000 + i}",
            "name": f"Engagement {i}",
            "description": None,
            "type": "quality_review",
            "status": "active",
            "evaluationCount": 0,  # counted from the evaluations (x-mock-count): these have none
            "createdAt": f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
            "updatedAt": "2024-01-01T00:00:00Z",
        }
        for i in range(count)
    ]
    acme = yaml.safe_load((ROOT / "fixtures" / "acme.yaml").read_text())
    acme["clients"][0]["engagements"] += extra  # Acme's, so YOUR_API_KEY lists them all
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    out: dict[str, object] = {}

    def measure(fixtures: Path) -> dict[str, object]:
        result = subprocess.run(
            [PYTHON, "-c", SCALE_SCRIPT, str(fixtures)], capture_output=True, text=True, check=True, timeout=600
        )
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    out["small"] = measure(ROOT / "fixtures")
    for fmt in ("json", "yaml"):
        with tempfile.TemporaryDirectory() as tmp:
            fixtures = Path(tmp)
            shutil.copy(ROOT / "fixtures" / "globex.yaml", fixtures)
            if fmt == "json":
                (fixtures / "acme.json").write_text(json.dumps(acme))
            else:
                (fixtures / "acme.yaml").write_text(yaml.dump(acme, Dumper=dumper, sort_keys=False))
            out[fmt] = measure(fixtures)
    out["big"] = out["json"]
    return out


def servers(python: str) -> dict[str, Server]:
    mock = lambda *extra: lambda port: [python, "-m", "auralytik_mock", "serve", "--port", str(port), *extra]  # noqa: E731
    prism = lambda *extra: lambda port: [str(PRISM), "mock", "openapi.yaml", "-p", str(port), "-h", "127.0.0.1", *extra]  # noqa: E731
    bare = [python, "-m", "granian", "--interface", "wsgi", "--workers", "1", "--blocking-threads", "8",
            "--log-level", "error", "bare_app:app", "--host", "127.0.0.1", "--port"]  # fmt: skip
    return {
        "mock": Server("auralytik-mock (access log)", mock(), "/v1", "/v1/engagements"),
        "mock_quiet": Server("auralytik-mock --quiet", mock("--quiet"), "/v1", "/v1/engagements"),
        "prism": Server("Prism (default logging)", prism(), "", "/engagements"),
        "prism_quiet": Server("Prism -v error", prism("-v", "error"), "", "/engagements"),
        "bare": Server(
            "bare Flask (granian)",
            lambda port: [*bare, str(port)],
            "/v1",
            "/v1/engagements",
            env={"PYTHONPATH": str(ROOT / "bench")},
        ),
    }


def report(results: dict[str, object], args: argparse.Namespace) -> str:
    lines = [
        "# auralytik-mock benchmark",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; wrk, {args.duration:g} s per cell; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "Command: `bench/run.sh` (the same run gives every number below; compare ratios, not absolutes).",
        "",
        "## Throughput (req/s) and latency (p50 / p99 ms)",
        "",
    ]
    loads: dict[str, dict[str, object]] = results["load"]  # type: ignore[assignment]
    names = list(loads)
    lines.append("| endpoint | c | " + " | ".join(loads[n]["name"] for n in names) + " |")  # type: ignore[operator]
    lines.append("|---|---|" + "---|" * len(names))
    for endpoint in ENDPOINTS:
        for c in CONCURRENCY:
            cells = []
            for name in names:
                cell = loads[name]["load"][endpoint][c]  # type: ignore[index]
                cells.append(f"{cell['rps']:,.0f} ({cell['p50_ms']:.2f} / {cell['p99_ms']:.2f})")
            lines.append(f"| {endpoint} | {c} | " + " | ".join(cells) + " |")
    lines.append("| RSS under load (MiB) | | " + " | ".join(f"{loads[n]['rss_mib']:.0f}" for n in names) + " |")
    lines += ["", "## Targets", "", "| target | measured | holds |", "|---|---|---|"]
    for target, measured, holds in results["targets"]:  # type: ignore[attr-defined]
        lines.append(f"| {target} | {measured} | {'yes' if holds else '**no**'} |")
    return "\n".join(lines) + "\n"


def ratios(results: dict[str, object]) -> list[tuple[str, str, bool]]:
    loads: dict[str, dict[str, object]] = results["load"]  # type: ignore[assignment]
    targets: list[tuple[str, str, bool]] = []

    def rps(name: str, endpoint: str, c: int) -> float:
        return float(loads[name]["load"][endpoint][c]["rps"])  # type: ignore[index]

    def p99(name: str, endpoint: str, c: int) -> float:
        return float(loads[name]["load"][endpoint][c]["p99_ms"])  # type: ignore[index]

    def pair(ours: str, theirs: str, floor: float, label: str) -> None:
        if ours not in loads or theirs not in loads:
            return
        worst = min(rps(ours, e, c) / rps(theirs, e, c) for e in ENDPOINTS for c in (8, 32))
        targets.append((f"{label}: req/s >= {floor}x on every endpoint at c=8 and c=32",
                        f"worst {worst:.2f}x", worst >= floor))  # fmt: skip

    pair("mock", "prism", 1.5, "mock (access log) vs Prism (default logging)")
    pair("mock_quiet", "prism", 1.5, "mock --quiet vs Prism (default logging)")
    pair("mock_quiet", "prism_quiet", 1.0, "mock --quiet vs Prism -v error")
    pair("mock_quiet", "bare", 0.75, "mock --quiet vs bare Flask on granian")
    for ours, theirs in (("mock", "prism"), ("mock_quiet", "prism_quiet")):
        if ours in loads and theirs in loads:
            worse = [f"{e} c={c}" for e in ENDPOINTS for c in (8, 32) if p99(ours, e, c) > p99(theirs, e, c)]
            targets.append((f"{loads[ours]['name']} p99 no worse than {loads[theirs]['name']}",
                            "worse at " + ", ".join(worse) if worse else "never worse", not worse))  # fmt: skip
    launch = results.get("launch", {})
    if isinstance(launch, dict) and "mock" in launch and "prism" in launch:
        ratio = launch["mock"] / launch["prism"]
        targets.append(("`serve` launch to first 200 <= 1/3 of Prism's",
                        f"{launch['mock'] * 1000:.0f} ms vs {launch['prism'] * 1000:.0f} ms ({ratio:.2f}x)",
                        ratio <= 1 / 3))  # fmt: skip
    inproc = results.get("in_process", {})
    if isinstance(inproc, dict) and inproc:
        targets.append(
            (
                "`MockServer` enter to first 200 < 50 ms (median)",
                f"{inproc['mockserver_enter_to_200_ms']:.1f} ms",
                inproc["mockserver_enter_to_200_ms"] < 50,
            )
        )
        targets.append(
            (
                "`MockServer` exit < 100 ms (median)",
                f"{inproc['mockserver_exit_ms']:.1f} ms",
                inproc["mockserver_exit_ms"] < 100,
            )
        )
        targets.append(
            (
                "`reset()` < 1 ms with the bundled fixtures (median)",
                f"{inproc['reset_ms'] * 1000:.0f} us",
                inproc["reset_ms"] < 1,
            )
        )
        ratio = inproc["bare_test_client_get_one_us"] / inproc["test_client_get_one_us"]
        targets.append(("in-process GET one >= 0.7x a bare Flask test client",
                        f"{inproc['test_client_get_one_us']:.0f} us vs {inproc['bare_test_client_get_one_us']:.0f} us "
                        f"per call ({ratio:.2f}x)", ratio >= 0.7))  # fmt: skip
    sc = results.get("scale", {})
    if isinstance(sc, dict) and sc:
        big, small = sc["big"], sc["small"]
        targets.append(
            (
                f"{big['records'] - 7:,} engagements load < 5 s and < 300 MB RSS",
                f"{big['load_s']:.2f} s, {big['rss_mib']:.0f} MiB",
                big["load_s"] < 5 and big["rss_mib"] < 300,
            )
        )
        page_ratio = big["page_4000_us"] / big["page_1_us"]
        targets.append(
            (
                "page 4,000 within 2x of page 1",
                f"{big['page_1_us']:.0f} us vs {big['page_4000_us']:.0f} us ({page_ratio:.2f}x)",
                0.5 <= page_ratio <= 2,
            )
        )
        one_ratio = big["get_one_us"] / small["get_one_us"]
        targets.append(("GET one does not grow with the store",
                        f"{small['get_one_us']:.1f} us (7 records) vs {big['get_one_us']:.1f} us ({one_ratio:.2f}x)",
                        one_ratio <= 1.5))  # fmt: skip
    return targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=3, help="whole seconds per wrk cell (default 3)")
    parser.add_argument("--skip-prism", action="store_true", help="do not run Prism")
    parser.add_argument("--skip-scale", action="store_true", help="skip the 100,000-engagement run")
    parser.add_argument("--only", nargs="*", help="servers to load: mock mock_quiet prism prism_quiet bare")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("bench: wrk is missing; run bench/run.sh", file=sys.stderr)
        return 2
    available = servers(PYTHON)
    if args.skip_prism or not PRISM.exists():
        available.pop("prism")
        available.pop("prism_quiet")
    chosen = {k: v for k, v in available.items() if not args.only or k in args.only}
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        scripts = lua_scripts(Path(tmp))
        loads = {}
        for key, server in chosen.items():
            print(f"bench: loading {server.name} ...", file=sys.stderr, flush=True)
            loads[key] = {"name": server.name, **load(server, scripts, args.duration)}
        results["load"] = loads
    print("bench: launch times ...", file=sys.stderr, flush=True)
    launch = {"mock": launch_times(available["mock"], 5)}
    if "prism" in available:
        launch["prism"] = launch_times(available["prism"], 3)
    results["launch"] = launch
    print("bench: in-process ...", file=sys.stderr, flush=True)
    results["in_process"] = in_process(20)
    if not args.skip_scale:
        print("bench: 100,000 engagements ...", file=sys.stderr, flush=True)
        results["scale"] = scale(100_000)
    results["targets"] = ratios(results)
    text = report(results, args)
    extra = [
        "",
        "## Start-up and in-process",
        "",
        f"- `auralytik-mock serve` launch to first 200: {launch['mock'] * 1000:.0f} ms (median of 5)"
        + (f"; Prism: {launch['prism'] * 1000:.0f} ms (median of 3)" if "prism" in launch else ""),
    ]
    inproc = results["in_process"]
    assert isinstance(inproc, dict)
    extra += [
        f"- `MockServer` enter to first 200: {inproc['mockserver_enter_to_200_ms']:.1f} ms; exit: "
        f"{inproc['mockserver_exit_ms']:.1f} ms (medians of 20)",
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
    text += "\n".join(extra) + "\n"
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.md").write_text(text)
    (out / "latest.json").write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
