"""Engine time of the generic CRUD (list, get, create) on the bundled spec, before/after.

Usage: ``.venv/bin/python bench/resources.py [--ref REV]``. Prints the median time per call
(microseconds, in-process, no HTTP) of ``GET /v1/engagements`` (page 1), ``GET
/v1/engagements/eng_456``, ``POST /v1/engagements`` and a filtered evaluations list, for this
checkout and, with ``--ref``, for that revision too (checked out in a temporary git worktree).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_SNIPPET = r"""
import json, statistics, time
from auralytik_mock import Config, create_app
from auralytik_mock.http.wsgi import engine_of
from auralytik_mock.core.types import MockRequest
engine = engine_of(create_app(Config(clock="2024-06-01T12:00:00Z")))
headers = {"authorization": "Bearer YOUR_API_KEY", "content-type": "application/json"}
def timed(method, path, query=None, body=b"", n=2000):
    request = MockRequest(method, path, {k: [v] for k, v in (query or {}).items()}, headers, body)
    first = engine.handle(request)
    assert first.status < 300, (first.status, first.body)
    samples = []
    for _ in range(n):
        t = time.perf_counter(); engine.handle(request); samples.append(time.perf_counter() - t)
    return round(statistics.median(samples) * 1e6, 1)
print(json.dumps({
    "list": timed("GET", "/v1/engagements"),
    "get": timed("GET", "/v1/engagements/eng_456"),
    "create": timed("POST", "/v1/engagements", body=b'{"name": "Bench", "type": "Sales"}'),
    "filtered list": timed("GET", "/v1/evaluations", {"state": "Completed"}),
}))
"""


def measure(src: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", _SNIPPET], env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", help="a git revision to measure too (before)")
    args = parser.parse_args()
    rows = {"this checkout": measure(ROOT / "src")}
    if args.ref:
        with tempfile.TemporaryDirectory() as tmp:
            where = Path(tmp) / "ref"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(where), args.ref], cwd=ROOT, check=True, capture_output=True
            )
            try:
                rows[args.ref] = measure(where / "src")
            finally:
                subprocess.run(["git", "worktree", "remove", "--force", str(where)], cwd=ROOT, check=False)
    names = list(next(iter(rows.values())))
    print("| checkout | " + " | ".join(f"{n} (µs)" for n in names) + " |")
    print("|---|" + "---|" * len(names))
    for label, row in rows.items():
        print(f"| {label} | " + " | ".join(str(row[n]) for n in names) + " |")


if __name__ == "__main__":
    main()
