"""How fast a big public OpenAPI document loads, serves and checks (issue 19 item 8).

Starts ``auralytik-mock serve --spec tests/data/public/openai.yaml`` (2.9 MB, 288
operations) from this checkout on 127.0.0.1 (a free port), with one client and no auth,
and measures the time from the start of the process until the first answer of an operation
(``GET /v1/models``), and the server's peak RSS (``VmHWM``); then ``auralytik-mock check``
on the same document, its time and peak RSS. Each twice: **cold** (an empty parse cache)
and **warm** (the cache the cold run left, as on a developer's second start).

Examples::

    python bench/bigspec.py
    python bench/bigspec.py --spec tests/data/public/train-travel.yaml --path /stations
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ONE_CLIENT = "clients:\n  - id: default\n    name: Default\n    apiKeys:\n      - key: BENCH_KEY\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def serve(spec: Path, fixtures: Path, env: dict[str, str], path: str, timeout: float) -> tuple[float, float]:
    """Seconds until ``path`` answers, and the server's peak RSS in MiB."""
    port = _free_port()
    started = time.perf_counter()
    command = [sys.executable, "-m", "auralytik_mock", "serve", "--spec", str(spec), "--fixtures", str(fixtures)]
    command += ["--port", str(port), "--no-auth"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    try:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"serve stopped: {process.stderr.read().decode()[-2000:] if process.stderr else ''}")
            if time.perf_counter() - started > timeout:
                raise SystemExit(f"serve did not answer within {timeout} s")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:  # noqa: S310
                    answer.read()
                break
            except OSError:
                time.sleep(0.02)
        elapsed = time.perf_counter() - started
        return elapsed, _peak_rss_mib(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


def check(spec: Path, fixtures: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Seconds ``check`` takes, its peak RSS in MiB (sampled every 20 ms), and its exit code."""
    started = time.perf_counter()
    command = [sys.executable, "-m", "auralytik_mock", "check", "--spec", str(spec), "--fixtures", str(fixtures)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    peak = 0.0
    while process.poll() is None:
        try:
            peak = max(peak, _peak_rss_mib(process.pid))
        except OSError:
            break
        time.sleep(0.02)
    code = process.wait(timeout=300)
    return time.perf_counter() - started, peak, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--spec", type=Path, default=ROOT / "tests" / "data" / "public" / "openai.yaml")
    parser.add_argument("--path", default="/v1/models", help="the operation whose first answer ends the start-up")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fixtures = Path(tmp) / "fixtures"
        fixtures.mkdir()
        (fixtures / "one.yaml").write_text(ONE_CLIENT)
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        size = args.spec.stat().st_size / 1e6
        print(f"{args.spec.name}: {size:.1f} MB")
        for run in ("cold", "warm"):
            seconds, rss = serve(args.spec, fixtures, env, args.path, args.timeout)
            print(f"  serve {run}: first answer after {seconds:.2f} s, peak RSS {rss:.0f} MiB")
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache-check")}  # cold again
        for run in ("cold", "warm"):
            seconds, rss, code = check(args.spec, fixtures, env)
            print(f"  check {run}: {seconds:.2f} s, peak RSS {rss:.0f} MiB, exit {code}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
