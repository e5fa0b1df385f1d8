"""Benchmark the record generator: records per second for the bundled evaluation schema and
for a schema whose ids and codes are built from their ``pattern`` (rstr).

Run alone: ``.venv/bin/python bench/generate.py`` (about 20 s; ``--count`` changes the size).
Prints one Markdown table. In process, no HTTP; each timing is the best of ``--rounds`` runs,
so a busy machine inflates it less.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from auralytik_mock.core.profile import profile_for
from auralytik_mock.core.spec import Spec
from auralytik_mock.generate import generate_records

ROOT = Path(__file__).resolve().parents[1]

#: Ids no prefix-and-digits fits, a code and a reference of mixed classes: every value from rstr.
PATTERNED = {
    "type": "object",
    "required": ["id", "code", "ticket", "region"],
    "properties": {
        "id": {"type": "string", "pattern": "^T-[0-9a-f]{8}$"},
        "code": {"type": "string", "pattern": "^[A-Z]{3}-\\d{4}(-[a-z]{2})?$"},
        "ticket": {"type": "string", "pattern": "^(INC|REQ|CHG)[0-9]{7}$"},
        "region": {"type": "string", "pattern": "^[a-z]{2}-[a-z]+-\\d$"},
    },
}


def _best(rounds: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=20_000, help="records per run (default 20,000)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per row; the best is kept (default 3)")
    args = parser.parse_args(argv)
    spec = Spec.load(ROOT / "openapi.yaml")
    evaluation = spec.inline(spec.lookup("/components/schemas/Evaluation"))
    assert isinstance(evaluation, dict)
    vocabulary = profile_for(spec.document).vocabulary
    rows = [
        (
            "bundled Evaluation (Auralytik vocabulary)",
            lambda: generate_records(
                {"generate": args.count, "with": {"engagementId": "eng_456"}},
                evaluation,
                kind="evaluations",
                key=("bench", "evaluations", 0),
                vocabulary=vocabulary,
            ),
        ),
        (
            "patterned ids and codes (rstr)",
            lambda: generate_records({"generate": args.count}, PATTERNED, kind="tickets", key=("bench", "t", 0)),
        ),
    ]
    print(f"| schema ({args.count:,} records, best of {args.rounds}) | seconds | records/s |")
    print("| --- | ---: | ---: |")
    for label, run in rows:
        seconds = _best(args.rounds, run)
        print(f"| {label} | {seconds:.2f} | {args.count / seconds:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
