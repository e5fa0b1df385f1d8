"""Hostile clients against ``auralytik-mock serve`` (issue 17): memory and a normal client's latency.

Starts ``serve --quiet`` on 127.0.0.1 (a free port) from this checkout, or from a git
revision with ``--ref`` (the "before" row), with the soft open-file limit most shells
start with (``--nofile``, 1024), and runs each attack for ``--seconds``
while a normal client (a separate process, a new connection per call, as curl makes)
calls ``GET /v1/engagements/eng_456`` every 20 ms. For each attack it prints the server's RSS
before and at its peak, and the normal client's p50 / p99 latency and failures during it.
Targets: RSS growth under 100 MB, normal p50 under 20 ms (and no normal call failed).

The attacks, each bounded in count and time, loopback only:

- ``backpressure``: 10 connections each pipeline 2,000 ``GET /v1/evaluations?pageSize=100``
  (about 196 KB) and never read an answer;
- ``endless-header``: one connection sends a header line that never ends, as fast as the
  server takes it (at most 256 MiB);
- ``slow-connections``: 1,100 connections each send a partial request and then a byte
  every 2 seconds;
- ``large-posts``: 20 connections each POST a 1 MiB ``[{},{},...]`` body to
  ``/v1/engagements``, again as soon as answered (at most 5 rounds).

An attack stops early, and says so, when the server's RSS passes ``--max-rss-mib`` (the
machine may be shared). Run it on a quiet machine; numbers from a loaded one are noise.

Examples::

    python bench/attacks.py                       # this checkout, every attack, 10 s each
    python bench/attacks.py --ref main --seconds 5
    python bench/attacks.py --attack backpressure --attack large-posts
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
AUTH = b"Authorization: Bearer YOUR_API_KEY\r\n"

#: The normal client: a separate process (its latency must not include this script's GIL).
NORMAL_CLIENT = r"""
import http.client, json, sys, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
samples, failures = [], 0
stop = time.monotonic() + seconds
while time.monotonic() < stop:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # a new client each time
    try:
        connection.request("GET", "/v1/engagements/eng_456", headers={"Authorization": "Bearer YOUR_API_KEY"})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise OSError(response.status)
    except (OSError, http.client.HTTPException):
        failures += 1
    finally:
        connection.close()
    samples.append((time.perf_counter() - started) * 1000)
    time.sleep(max(0.0, 0.02 - (time.perf_counter() - started)))
print(json.dumps({"samples": samples, "failures": failures}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _checkout(ref: str | None) -> Path:
    """The source tree to run: this checkout, or ``ref`` exported to a temporary folder."""
    if ref is None:
        return ROOT
    folder = Path(tempfile.mkdtemp(prefix="auralytik-mock-attacks-"))
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


class Server:
    """``serve --quiet`` in a process of its own."""

    def __init__(self, tree: Path, nofile: int) -> None:
        self.port = _free_port()

        def limit_files() -> None:  # the soft open-file limit a user's shell commonly starts with
            if nofile > 0:
                hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
                resource.setrlimit(resource.RLIMIT_NOFILE, (min(nofile, hard), hard))

        env = {**os.environ, "PYTHONPATH": str(tree / "src")}
        env.pop("AURALYTIK_MOCK_ACCESS_LOG", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "auralytik_mock", "serve", "--quiet", "--host", "127.0.0.1"]
            + ["--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=tree,
            start_new_session=True,
            preexec_fn=limit_files,
        )
        deadline = time.monotonic() + 30
        while not self.healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.1)

    def healthy(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(b"GET /__mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                return sock.recv(100).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    def rss_mib(self) -> float:
        return _rss_mib(self.process.pid)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def _connect(port: int, rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    return sock


# -- the attacks: each runs until ``stop`` is set, and closes what it opened -----------------


def backpressure(port: int, stop: threading.Event) -> str:
    calls = b"GET /v1/evaluations?pageSize=100 HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AUTH + b"\r\n"
    socks = []
    try:
        for _ in range(10):
            sock = _connect(port, rcvbuf=4096)
            sock.settimeout(1)
            socks.append(sock)
            with contextlib.suppress(OSError):
                sock.sendall(calls * 2000)  # about 196 KB; the server may stop reading
        stop.wait()
    finally:
        for sock in socks:
            sock.close()
    return f"10 connections x 2,000 pipelined calls ({len(calls) * 2000 / 1024:.0f} KiB each), never read"


def endless_header(port: int, stop: threading.Event) -> str:
    sent = 0
    answer = b""
    with _connect(port) as sock:
        sock.settimeout(1)
        piece = b"a" * 65536
        with contextlib.suppress(OSError):
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: ")
            while not stop.is_set() and sent < 256 * MIB:
                try:
                    sock.sendall(piece)
                    sent += len(piece)
                except TimeoutError:
                    continue
        with contextlib.suppress(OSError):
            answer = sock.recv(200)
    status = answer.split(b"\r\n", 1)[0].decode("latin-1") or "no answer"
    return f"one header line, {sent / MIB:.1f} MiB sent; the server answered: {status}"


def slow_connections(port: int, stop: threading.Event) -> str:
    socks: list[socket.socket] = []
    opened = refused = 0
    try:
        for n in range(1100):
            try:
                sock = _connect(port)
                sock.setblocking(False)
                sock.send(b"POST /v1/engagements HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n" + AUTH)
                socks.append(sock)
                opened += 1
            except OSError:
                refused += 1
            if stop.is_set():
                break
            if n % 100 == 99:
                time.sleep(0.05)
        while not stop.wait(2.0):
            for sock in list(socks):
                try:
                    sock.send(b"X")  # a byte every 2 s (headers, then the body)
                except OSError:
                    socks.remove(sock)
    finally:
        for sock in socks:
            sock.close()
    return f"{opened} connections opened ({refused} refused), a byte every 2 s; {len(socks)} still open at the end"


def large_posts(port: int, stop: threading.Event) -> str:
    body = b"[" + b"{}," * ((MIB - 3) // 3 - 100) + b"{}]"  # just under the 1 MiB limit
    head = (
        (
            f"POST /v1/engagements HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
        ).encode()
        + AUTH
        + b"\r\n"
    )
    answered, failed = [0], [0]
    lock = threading.Lock()

    def client() -> None:
        rounds = 0
        while not stop.is_set() and rounds < 5:
            rounds += 1
            try:
                with _connect(port) as sock:
                    sock.settimeout(30)
                    sock.sendall(head + body)
                    ok = sock.recv(100).startswith(b"HTTP/1.1 ")
                with lock:
                    answered[0] += ok
                    failed[0] += not ok
            except OSError:
                with lock:
                    failed[0] += 1

    workers = [threading.Thread(target=client) for _ in range(20)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stop.wait()
    return f"20 connections x up to 5 POSTs of {len(body) / MIB:.2f} MiB: {answered[0]} answered, {failed[0]} failed"


ATTACKS: dict[str, Callable[[int, threading.Event], str]] = {
    "backpressure": backpressure,
    "endless-header": endless_header,
    "slow-connections": slow_connections,
    "large-posts": large_posts,
}


def run(name: str, tree: Path, seconds: float, max_rss_mib: float, nofile: int) -> dict[str, object]:
    server = Server(tree, nofile)
    try:
        time.sleep(0.5)
        before = server.rss_mib()
        normal = subprocess.Popen(
            [sys.executable, "-c", NORMAL_CLIENT, str(server.port), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        stop = threading.Event()
        outcome: list[str] = []
        attacker = threading.Thread(target=lambda: outcome.append(ATTACKS[name](server.port, stop)), daemon=True)
        attacker.start()
        peak, capped = before, False
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            peak = max(peak, server.rss_mib())
            if peak > max_rss_mib:
                capped = True
                break
            time.sleep(0.1)
        stop.set()
        attacker.join(60)
        measured = json.loads(normal.communicate(timeout=seconds + 60)[0] or '{"samples": [], "failures": 0}')
        samples = sorted(measured["samples"])
        alive = server.healthy()
    finally:
        server.stop()
    p50 = statistics.median(samples) if samples else float("nan")
    p99 = samples[int(len(samples) * 0.99)] if samples else float("nan")
    return {
        "attack": name,
        "what": (outcome[0] if outcome else "did not finish")
        + (f"; stopped: RSS passed {max_rss_mib:.0f} MiB" if capped else ""),
        "rss_before_mib": before,
        "rss_peak_mib": peak,
        "normal_p50_ms": p50,
        "normal_p99_ms": p99,
        "normal_calls": len(samples),
        "normal_failures": measured["failures"],
        "serving_after": alive,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref", help="a git revision to attack instead of this checkout (e.g. main)")
    parser.add_argument("--attack", action="append", choices=list(ATTACKS), help="repeatable (default: all)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per attack (default 10)")
    parser.add_argument("--max-rss-mib", type=float, default=1500.0, help="stop an attack past this RSS (default 1500)")
    parser.add_argument(
        "--nofile",
        type=int,
        default=1024,
        help="the server's soft open-file limit at start, a common default (0: as this shell has it)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # this script opens 1,100 sockets
    tree = _checkout(args.ref)
    label = args.ref or "this checkout"
    files = f"soft open-file limit {args.nofile} at start" if args.nofile else "the shell's open-file limit"
    print(f"# attacks on auralytik-mock serve ({label}), {args.seconds:g} s each, {files}\n")
    print("| attack | RSS before -> peak (growth) | normal p50 / p99 | normal calls (failed) | holds | what happened |")
    print("|---|---|---|---|---|---|")
    results = []
    for name in args.attack or list(ATTACKS):
        result = run(name, tree, args.seconds, args.max_rss_mib, args.nofile)
        results.append(result)
        growth = float(result["rss_peak_mib"]) - float(result["rss_before_mib"])  # type: ignore[arg-type]
        holds = (
            growth * MIB < 100e6
            and float(result["normal_p50_ms"]) < 20  # type: ignore[arg-type]
            and result["normal_failures"] == 0
            and bool(result["serving_after"])
        )
        print(
            f"| {name} | {result['rss_before_mib']:.0f} -> {result['rss_peak_mib']:.0f} MiB (+{growth:.0f}) "
            f"| {result['normal_p50_ms']:.1f} / {result['normal_p99_ms']:.1f} ms "
            f"| {result['normal_calls']} ({result['normal_failures']}) | {'yes' if holds else '**no**'} "
            f"| {result['what']}{'' if result['serving_after'] else '; NOT serving after'} |",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
