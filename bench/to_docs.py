"""Write the benchmark's latest tables into docs/explanation/performance.md.

``bench/run.sh`` runs this after ``bench.py`` and ``scale.py``: the report of each
(``bench/results/latest.md``, ``bench/results/scale.md``) replaces what the page holds
between its markers (``<!-- bench:start -->`` ... ``<!-- bench:end -->``, and ``scale:``),
with the report's title left out and its headings one level down; the rest of the page is
not touched. A report that this run did not write (``--skip-extras`` prints only, a
missing ``wrk``) leaves its part of the page as it was.

    python bench/to_docs.py [--page PATH] [--latest PATH] [--scale PATH]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def section(report: str) -> str:
    """The report as it goes into the page: no ``#`` title, ``##`` -> ``###`` and so on."""
    lines = [line for line in report.strip().splitlines() if not line.startswith("# ")]
    text = "\n".join("#" + line if line.startswith("##") else line for line in lines).strip()
    return text + "\n"


def splice(page: str, name: str, content: str) -> str:
    start, end = f"<!-- {name}:start -->\n", f"<!-- {name}:end -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(page):
        raise SystemExit(f"to_docs: the page has no {start.strip()} ... {end} markers")
    return pattern.sub(lambda _: start + content + end, page, count=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--page", type=Path, default=ROOT / "docs" / "explanation" / "performance.md")
    parser.add_argument("--latest", type=Path, default=ROOT / "bench" / "results" / "latest.md")
    parser.add_argument("--scale", type=Path, default=ROOT / "bench" / "results" / "scale.md")
    args = parser.parse_args()
    page = args.page.read_text()
    written = []
    for name, report in (("bench", args.latest), ("scale", args.scale)):
        if report.is_file():
            page = splice(page, name, section(report.read_text()))
            written.append(report.name)
    args.page.write_text(page)
    where = args.page.relative_to(ROOT) if args.page.is_relative_to(ROOT) else args.page
    print(f"to_docs: {', '.join(written) or 'no report'} -> {where}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
