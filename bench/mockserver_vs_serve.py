"""Per-call time through ``requests`` (one ``requests.Session``): ``MockServer`` against ``serve``.

Issue 18: test writers call ``MockServer`` (a thread of their test process); the sandbox
is ``auralytik-mock serve`` (a process of its own). Both run the same server now, with
keep-alive; the target is ``MockServer`` within 1.2x of ``serve`` per call.

For each call (GET one, GET a list, POST), after a warm-up, the two alternate for
``--rounds`` rounds of ``--calls`` sequential calls each; a cell is the median of the
rounds' mean per-call times. Loopback only, bounded by rounds x calls. Run it on a quiet
machine: on a loaded one the numbers are noise.

Example::

    python bench/mockserver_vs_serve.py --rounds 5 --calls 1000
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

from auralytik_mock import MockServer

ROOT = Path(__file__).resolve().parents[1]
AUTH = {"Authorization": "Bearer YOUR_API_KEY"}
CALLS: dict[str, Callable[[requests.Session, str], requests.Response]] = {
    "GET one": lambda s, base: s.get(f"{base}/v1/engagements/eng_456", headers=AUTH, timeout=10),
    "GET list": lambda s, base: s.get(f"{base}/v1/engagements", headers=AUTH, timeout=10),
    "POST": lambda s, base: s.post(f"{base}/v1/engagements", json={"name": "n", "type": "t"}, headers=AUTH, timeout=10),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "auralytik_mock", "serve", "--quiet", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(base + "/__mock/health", timeout=1).status_code == 200:
                return process, base
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("serve did not start")
        time.sleep(0.1)


def _per_call_ms(session: requests.Session, base: str, call: str, count: int) -> float:
    send = CALLS[call]
    started = time.perf_counter()
    for _ in range(count):
        response = send(session, base)
        assert response.status_code in {200, 201}, response.text[:200]
    return (time.perf_counter() - started) / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=500, help="sequential calls per round (default 500)")
    args = parser.parse_args()
    process, serve_base = _serve()
    try:
        with MockServer() as mock:
            bases = {"serve": serve_base, "MockServer": mock.root_url}
            sessions = {name: requests.Session() for name in bases}
            for name, base in bases.items():  # warm up (connection, caches)
                for call in CALLS:
                    _per_call_ms(sessions[name], base, call, 100)
            print(f"# per call through requests.Session, {args.rounds} rounds x {args.calls} calls (median)\n")
            print("| call | serve (ms) | MockServer (ms) | MockServer / serve | within 1.2x |")
            print("|---|---|---|---|---|")
            for call in CALLS:
                times: dict[str, list[float]] = {name: [] for name in bases}
                for _ in range(args.rounds):
                    for name, base in bases.items():
                        times[name].append(_per_call_ms(sessions[name], base, call, args.calls))
                serve_ms, mock_ms = (statistics.median(times[name]) for name in ("serve", "MockServer"))
                ratio = mock_ms / serve_ms
                holds = "yes" if ratio <= 1.2 else "**no**"
                print(f"| {call} | {serve_ms:.3f} | {mock_ms:.3f} | {ratio:.2f}x | {holds} |", flush=True)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
