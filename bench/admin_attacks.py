"""The admin API under hostile bodies, and the journal under forged ones (issue 17, items 7 and 9).

Starts ``auralytik-mock serve`` on 127.0.0.1 (a free port) from this checkout or from a git
revision, sends a bounded attack while a normal client calls ``GET /v1/engagements/eng_456``
in a loop, and prints for each case: the answers, the server's RSS (before, peak sampled
every 20 ms, after), how long the attack took, and the normal client's p50 / p99 / max
latency during it. A guard kills the server when its RSS passes ``--max-rss-mib`` (this
machine is shared) and says so.

- ``faults-bomb``: ``--count`` POSTs of a ``--size`` MiB ``[{},{},...]`` to ``/__mock/faults``
  (issue 17: 64 MiB took 4.6 GB and 45 s).
- ``state-bomb``: the same as a state load, ``PUT /__mock/state`` ``{"clients": [{},{},...]}``.
- ``yaml-laughs``: ``PUT /__mock/state`` with 600 bytes of YAML whose aliases stand for 10
  million strings.
- ``journal-forgery``: a GET whose body closes its journal entry and opens a forged
  ``DELETE``; then reads ``GET /__mock/requests`` and says whether it is JSON and how many
  entries it has (1 is right).

Examples::

    python bench/admin_attacks.py                    # this checkout, every case
    python bench/admin_attacks.py --ref 7269cca      # the code before issue 17
    python bench/admin_attacks.py --case faults-bomb --size 64 --count 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from memory import MIB, Server, _checkout  # noqa: E402 - a sibling script, not a package

KEY = {"Authorization": "Bearer YOUR_API_KEY"}


class Watch:
    """The normal client and the RSS sampler, around one attack."""

    def __init__(self, mock: Server, max_rss_mib: float) -> None:
        self.mock = mock
        self.max_rss_mib = max_rss_mib
        self.latencies: list[float] = []
        self.failures = 0
        self.peak = mock.rss_mib()
        self.killed = False
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client), threading.Thread(target=self._sample)]

    def _client(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                status, _ = self.mock.request("GET", "/v1/engagements/eng_456", headers=KEY, timeout=30)
            except OSError:
                self.failures += 1
                time.sleep(0.05)
                continue
            if status == 200:
                self.latencies.append((time.perf_counter() - started) * 1000)
            else:
                self.failures += 1
            time.sleep(0.01)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            rss = self.mock.rss_mib()
            self.peak = max(self.peak, rss)
            if rss > self.max_rss_mib and not self.killed:
                self.killed = True
                self.mock.stop()

    def __enter__(self) -> Watch:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(35)

    def client_line(self) -> str:
        if not self.latencies:
            return f"normal client: no answer ({self.failures} failed)"
        ordered = sorted(self.latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return (
            f"normal client: {len(ordered)} answers, p50 {statistics.median(ordered):.1f} ms, "
            f"p99 {p99:.1f} ms, max {ordered[-1]:.1f} ms, {self.failures} failed"
        )


def _attack(name: str, tree: Path, server: str, max_rss_mib: float, send: Callable[[Server], list[int | str]]) -> None:
    mock = Server(tree, server, access_log=False)
    try:
        before = mock.rss_mib()
        started = time.monotonic()
        with Watch(mock, max_rss_mib) as watch:
            time.sleep(0.3)  # the normal client's pace before the attack
            try:
                statuses = send(mock)
            except OSError as exc:
                statuses = [f"{type(exc).__name__}"]
        took = time.monotonic() - started - 0.3
        after = "killed" if watch.killed else f"{mock.rss_mib():.0f} MiB"
        guard = f" (KILLED: RSS passed {max_rss_mib:.0f} MiB)" if watch.killed else ""
        print(
            f"{name:<16} answers {statuses}{guard}; RSS {before:.0f} -> peak {watch.peak:.0f} -> {after}; "
            f"{took:.1f} s; {watch.client_line()}"
        )
    finally:
        mock.stop()


def faults_bomb(size_mib: float, count: int) -> Callable[[Server], list[int | str]]:
    items = int(size_mib * MIB) // 3
    body = b"[" + b"{}," * (items - 1) + b"{}]"

    def send(mock: Server) -> list[int | str]:
        headers = {"Content-Type": "application/json"}
        return [mock.request("POST", "/__mock/faults", body, headers, timeout=300)[0] for _ in range(count)]

    return send


def state_bomb(size_mib: float, count: int) -> Callable[[Server], list[int | str]]:
    items = int(size_mib * MIB) // 3
    body = b'{"clients":[' + b"{}," * (items - 1) + b"{}]}"

    def send(mock: Server) -> list[int | str]:
        headers = {"Content-Type": "application/json"}
        return [mock.request("PUT", "/__mock/state", body, headers, timeout=300)[0] for _ in range(count)]

    return send


def yaml_laughs(depth: int) -> Callable[[Server], list[int | str]]:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, depth + 1)]
    body = "\n".join([*lines, f"clients: *a{depth}"]).encode()

    def send(mock: Server) -> list[int | str]:
        headers = {"Content-Type": "application/yaml"}
        return [mock.request("PUT", "/__mock/state", body, headers, timeout=600)[0]]

    return send


def journal_forgery(tree: Path, server: str) -> None:
    forged = b'1},{"id":"req_forged","method":"DELETE","path":"/v1/engagements/eng_456","status":204,"body":null'
    mock = Server(tree, server, access_log=False)
    try:
        status, _ = mock.request(
            "GET", "/v1/engagements", forged, {**KEY, "Content-Type": "application/json"}, timeout=10
        )
        journal = mock.request("GET", "/__mock/requests", timeout=10)[1]
        try:
            entries = json.loads(journal)["requests"]
            shown = f"valid JSON, {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}: " + ", ".join(
                f"{e['method']} {e['path']}" for e in entries
            )
        except ValueError as exc:
            shown = f"NOT JSON ({exc})"
        print(f"{'journal-forgery':<16} GET with a forged body answered {status}; GET /__mock/requests: {shown}")
    finally:
        mock.stop()


CASES = ("faults-bomb", "state-bomb", "yaml-laughs", "journal-forgery")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref", help="a git revision to measure instead of this checkout (e.g. 7269cca)")
    parser.add_argument("--server", choices=["asyncio", "werkzeug"], default="asyncio")
    parser.add_argument("--case", choices=[*CASES, "all"], default="all")
    parser.add_argument("--size", type=float, default=16, help="bomb size in MiB (default 16; the issue sent 64)")
    parser.add_argument("--count", type=int, default=2, help="bombs sent one after the other (default 2)")
    parser.add_argument("--laughs", type=int, default=6, help="YAML alias depth: 10^N strings (default 6)")
    parser.add_argument("--max-rss-mib", type=float, default=3072, help="kill the server past this RSS (3072)")
    args = parser.parse_args()
    tree = _checkout(args.ref)
    print(f"code: {args.ref or 'this checkout'}, server: {args.server}")
    chosen = CASES if args.case == "all" else (args.case,)
    if "faults-bomb" in chosen:
        label = f"faults-bomb {args.count}x{args.size:g}M"
        _attack(label, tree, args.server, args.max_rss_mib, faults_bomb(args.size, args.count))
    if "state-bomb" in chosen:
        label = f"state-bomb {args.count}x{args.size:g}M"
        _attack(label, tree, args.server, args.max_rss_mib, state_bomb(args.size, args.count))
    if "yaml-laughs" in chosen:
        _attack(f"yaml-laughs 1e{args.laughs + 1}", tree, args.server, args.max_rss_mib, yaml_laughs(args.laughs))
    if "journal-forgery" in chosen:
        journal_forgery(tree, args.server)


if __name__ == "__main__":
    main()
