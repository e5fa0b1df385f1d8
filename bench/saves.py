"""p99 of concurrent GETs while ``--persist`` saves 100,000 engagements, against no saves.

Issue 22: a save copies the state under the dataset's lock and renders it outside, so GETs
served during saves keep their p99 within 2x of GETs served without. ``--persist`` writes
within a second of every change (``harness/persist.py``: changes gathered 0.2 s, then one
write), so a client POSTing an engagement every 0.25 s keeps a save going most of the
window. Two servers, each ``serve --quiet`` on the bundled fixtures plus 100,000 Acme
engagements (JSON): one with ``--persist`` (a temporary file) and one without, the same
load on each: wrk ``GET /v1/engagements/eng_456`` at c=8 for ``--seconds`` while the POSTs
run. The saves seen (the state file replaced) are counted; a window with none does not
count as measured. Loopback only; every load bounded in time; ``--rounds`` alternate.

    python bench/saves.py --seconds 5 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale  # noqa: E402

import bench  # noqa: E402

COUNT = 100_000
#: The shortest window that sees saves at 100,000 records (one takes a second or two of encoding).
MIN_SECONDS = 8
POST_EVERY = 0.25


def _post(api: str) -> None:
    request = urllib.request.Request(
        api + "/engagements",
        data=json.dumps({"name": "Save", "type": "quality_review"}).encode(),
        headers={"Authorization": f"Bearer {bench.KEY}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201, answer.status


def _writer(api: str, state: Path | None, stop: threading.Event, seen: list[int]) -> None:
    """POST every ``POST_EVERY`` s until ``stop``; count the times ``state`` was replaced."""
    last: tuple[int, int] | None = None
    next_post = time.monotonic()
    while not stop.wait(0.02):
        if time.monotonic() >= next_post:
            _post(api)
            next_post += POST_EVERY
        if state is not None:
            try:
                stat = os.stat(state)
            except FileNotFoundError:
                continue
            version = (stat.st_ino, stat.st_mtime_ns)  # a save replaces the file (an inode may be reused)
            if version != last:
                seen[0] += last is not None
                last = version


def _window(fixtures: Path, state: Path | None, script: Path, seconds: int) -> dict[str, float]:
    extra = ["--persist", str(state)] if state else []
    server = bench.Server(
        "serve --persist" if state else "serve",
        lambda port: [bench.PYTHON, "-m", "auralytik_mock", "serve", "--quiet", "--port", str(port),
                      "--fixtures", str(fixtures), *extra],
        "/v1",
        "/v1/engagements/eng_456",
    )  # fmt: skip
    with bench.running(server) as (base, _, _):
        api = base + "/v1"
        url = api + "/engagements/eng_456"
        if state is not None:  # the first save: the file exists (at 100k it takes a while)
            _post(api)
            deadline = time.monotonic() + 60
            while not state.exists():
                if time.monotonic() > deadline:
                    raise RuntimeError("--persist wrote no state file within 60 s")
                time.sleep(0.05)
        bench.wrk(url, script, 8, 1)  # warm up
        stop, seen = threading.Event(), [0]
        writer = threading.Thread(target=_writer, args=(api, state, stop, seen), daemon=True)
        writer.start()
        try:
            cell = bench.wrk(url, script, 8, seconds)
        finally:
            stop.set()
            writer.join(timeout=15)
    return {**cell, "saves": seen[0]}


def measure(seconds: int, rounds: int, count: int = COUNT) -> dict[str, object]:
    """The GET one cell (c=8) with saves and without, medians of ``rounds``; the saves seen."""
    cells: dict[str, list[dict[str, float]]] = {"with saves": [], "without": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "fixtures").mkdir()
        scale.fixtures_with_engagements(folder / "fixtures", count)
        script = bench.lua_scripts(folder)["GET"]
        for number in range(rounds):
            for name in cells:
                print(f"saves: round {number + 1}: {name} ...", file=sys.stderr, flush=True)
                state = folder / f"state-{number}.json" if name == "with saves" else None
                cells[name].append(_window(folder / "fixtures", state, script, seconds))
    out: dict[str, object] = {"count": count, "seconds": seconds, "rounds": rounds}
    for name, samples in cells.items():
        out[name] = {metric: statistics.median(s[metric] for s in samples) for metric in samples[0]}
    return out


def describe(result: dict[str, object]) -> tuple[str, bool]:
    """The measured text and whether the target holds (p99 with saves <= 2x without, saves seen)."""
    with_, without = result["with saves"], result["without"]
    assert isinstance(with_, dict) and isinstance(without, dict)
    ratio = with_["p99_ms"] / without["p99_ms"]
    text = (
        f"{with_['p99_ms']:.2f} ms vs {without['p99_ms']:.2f} ms ({ratio:.2f}x); "
        f"saves seen in {result['seconds']} s: {with_['saves']:.0f}"
    )
    return text, ratio <= 2 and with_["saves"] >= 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="seconds of GET load per window (default 5)")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds; medians (default 1)")
    parser.add_argument("--count", type=int, default=COUNT, help=f"engagements to add (default {COUNT:,})")
    args = parser.parse_args()
    result = measure(args.seconds, args.rounds, args.count)
    text, holds = describe(result)
    print(json.dumps(result, indent=2))
    print(f"GET one p99 during saves within 2x of without: {'yes' if holds else 'no'}: {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
