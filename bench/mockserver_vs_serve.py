"""Per-call time through ``requests`` (one ``requests.Session``): ``MockServer``, ``serve`` and Prism.

Issue 18: test writers call ``MockServer`` (a thread of their test process); the sandbox
is ``auralytik-mock serve`` (a process of its own). Both run the same server now, with
keep-alive; the target (issue 22) is ``MockServer`` within 1.2x of ``serve`` per call.
Prism 5.16 (``-v error``, if ``bench/run.sh`` installed it) is the third column.

For each call (GET one, GET a list, POST), after a warm-up, the servers alternate for
``--rounds`` rounds of ``--calls`` sequential calls each; a cell is the median of the
rounds' mean per-call times. ``--fixtures DIR`` loads that folder into ``serve`` and
``MockServer`` (``bench/bench.py`` passes 100,000 engagements: the "at scale" row set);
Prism holds no data and is skipped then. Loopback only, bounded by rounds x calls. Run it
on a quiet machine: on a loaded one the numbers are noise. ``bench/bench.py`` runs it
(``--json``) for its report and targets table.

Example::

    python bench/mockserver_vs_serve.py --rounds 5 --calls 500
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402
from auralytik_mock import MockServer  # noqa: E402

AUTH = {"Authorization": f"Bearer {bench.KEY}"}
BODY = {"name": "Bench", "type": "quality_review"}
#: Each call, given a session and the API's base URL (``.../v1``; Prism's root).
CALLS: dict[str, Callable[[requests.Session, str], requests.Response]] = {
    "GET one": lambda s, api: s.get(f"{api}/engagements/eng_456", headers=AUTH, timeout=10),
    "GET list": lambda s, api: s.get(f"{api}/engagements", headers=AUTH, timeout=10),
    "POST": lambda s, api: s.post(f"{api}/engagements", json=BODY, headers=AUTH, timeout=10),
}


def per_call_ms(session: requests.Session, api: str, call: str, count: int) -> float:
    """The mean time of ``count`` sequential ``call``s, in ms."""
    send = CALLS[call]
    started = time.perf_counter()
    for _ in range(count):
        response = send(session, api)
        assert response.status_code in {200, 201}, response.text[:200]
    return (time.perf_counter() - started) / count * 1000


def measure(apis: dict[str, str], rounds: int, calls: int) -> dict[str, dict[str, float]]:
    """Per call kind, per server: the median over ``rounds`` of the mean per-call time (ms)."""
    sessions = {name: requests.Session() for name in apis}
    for name, api in apis.items():  # warm up (connection, caches)
        for call in CALLS:
            per_call_ms(sessions[name], api, call, min(100, calls))
    out: dict[str, dict[str, float]] = {}
    for call in CALLS:
        times: dict[str, list[float]] = {name: [] for name in apis}
        for _ in range(rounds):
            for name, api in apis.items():
                times[name].append(per_call_ms(sessions[name], api, call, calls))
        out[call] = {name: statistics.median(samples) for name, samples in times.items()}
    for session in sessions.values():
        session.close()
    return out


def run(rounds: int, calls: int, fixtures: Path | None = None, prism: bool = True) -> dict[str, dict[str, float]]:
    """Start ``serve --quiet``, a ``MockServer`` in this process and (bundled data only) Prism; measure."""
    extra = ["--fixtures", str(fixtures)] if fixtures else []
    serve = bench.Server(
        "serve",
        lambda port: [bench.PYTHON, "-m", "auralytik_mock", "serve", "--quiet", "--port", str(port), *extra],
        "/v1",
        "/v1/engagements",
    )
    with ExitStack() as stack:
        base, _, _ = stack.enter_context(bench.running(serve))
        mock = stack.enter_context(MockServer(fixtures=(fixtures,) if fixtures else None))
        apis = {"serve": base + "/v1", "MockServer": mock.url}
        if prism and fixtures is None and bench.PRISM.exists():
            prism_base, _, _ = stack.enter_context(bench.running(bench.servers(bench.PYTHON)["prism_quiet"]))
            apis["Prism"] = prism_base
        return measure(apis, rounds, calls)


def table(results: dict[str, dict[str, float]]) -> list[str]:
    """A Markdown table: one row per call, a column per server, and MockServer / serve."""
    names = list(next(iter(results.values())))
    lines = ["| call | " + " | ".join(f"{n} (ms)" for n in names) + " | MockServer / serve |"]
    lines.append("|---|" + "---|" * (len(names) + 1))
    for call, cells in results.items():
        ratio = cells["MockServer"] / cells["serve"]
        lines.append(f"| {call} | " + " | ".join(f"{cells[n]:.3f}" for n in names) + f" | {ratio:.2f}x |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=500, help="sequential calls per round (default 500)")
    parser.add_argument("--fixtures", type=Path, help="a fixtures folder for serve and MockServer (no Prism then)")
    parser.add_argument("--skip-prism", action="store_true", help="do not run Prism")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON (for bench/bench.py)")
    args = parser.parse_args()
    results = run(args.rounds, args.calls, args.fixtures, prism=not args.skip_prism)
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"# per call through requests.Session, {args.rounds} rounds x {args.calls} calls (median)\n")
    print("\n".join(table(results)))
    for call, cells in results.items():
        ratio = cells["MockServer"] / cells["serve"]
        print(f"{call}: MockServer within 1.2x of serve: {'yes' if ratio <= 1.2 else 'no'} ({ratio:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
