"""Benchmark the evaluations list at scale: filters against the unfiltered list, and next to Prism.

Run by ``bench/bench.py`` (so by ``bench/run.sh``; its date-range row goes into the targets
table) or alone: ``.venv/bin/python bench/scale.py``.
Prints a Markdown report and writes it to ``bench/results/scale.md`` (numbers in ``scale.json``).

1. In-process (engine time, no HTTP): the bundled fixtures plus 100,000 Acme evaluations
   (JSON fixtures), then the median time per call of page 1 of ``GET /v1/evaluations``
   unfiltered, by ``engagementId``, by ``state`` + ``sentiment``, by all three, by a date
   range (its date index), and of reads that count (an engagement's
   ``evaluationCount``), in a second process (the first checks the records and keeps the seed,
   as a user's first start does: both load times are printed). Target: every indexed filter
   within 2x of the unfiltered page 1.
2. Over HTTP with wrk (if installed), c=8: ``GET /v1/evaluations?engagementId=eng_456`` and
   ``GET /v1/evaluations/{id}`` on ``auralytik-mock serve --quiet`` and on Prism (if
   ``bench/run.sh`` installed it), each bounded by ``--duration``.
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
PYTHON = sys.executable
COUNT = 100_000

_IN_PROCESS = r"""
import json, statistics, sys, time
from pathlib import Path
from auralytik_mock import Config, create_app
from auralytik_mock.http.wsgi import engine_of
from auralytik_mock.core.types import MockRequest
started = time.perf_counter()
engine = engine_of(create_app(Config(fixtures=(Path(sys.argv[1]),))))
load_s = time.perf_counter() - started
headers = {"authorization": "Bearer YOUR_API_KEY"}
def timed(path, query, n):
    request = MockRequest("GET", path, {k: [v] for k, v in query.items()}, headers)
    first = engine.handle(request)
    assert first.status == 200, first.body
    for _ in range(20):
        engine.handle(request)
    samples = []
    for _ in range(n):
        t = time.perf_counter(); engine.handle(request); samples.append(time.perf_counter() - t)
    body = first.body
    total = body.get("totalCount", body.get("evaluationCount"))
    return {"us": statistics.median(samples) * 1e6, "total": total}
rows = {
    "unfiltered": timed("/v1/evaluations", {}, 400),
    "engagementId": timed("/v1/evaluations", {"engagementId": "eng_456"}, 400),
    "state+sentiment": timed("/v1/evaluations", {"state": "Completed", "sentiment": "Positive"}, 400),
    "engagementId+state+sentiment": timed(
        "/v1/evaluations", {"engagementId": "eng_456", "state": "Completed", "sentiment": "Positive"}, 400),
    "dateFrom+dateTo": timed("/v1/evaluations", {"dateFrom": "2023-12-01", "dateTo": "2023-12-31"}, 400),
    "GET engagement (count)": timed("/v1/engagements/eng_456", {}, 400),
    "engagements page 1 (5 counts)": timed("/v1/engagements", {}, 400),
}
print(json.dumps({"records": engine.store.count(), "load_s": load_s, "rows": rows}))
"""


def fixtures_with_evaluations(folder: Path, count: int) -> None:
    """The bundled fixtures, with ``count`` more Acme evaluations (JSON, so it loads fast)."""
    import yaml

    acme = yaml.safe_load((ROOT / "fixtures" / "acme.yaml").read_text())
    client = acme["clients"][0]
    template = {
        "engagementId": "eng_456",
        "audioFileName": "call_20240110_101500_0001.wav",
        "executiveName": "Maria Garcia",
        "durationInSeconds": 312,
        "averageNote": 7.8,
        "campaignId": "camp_12",
        "callCenterId": "cc_paris",
        "results": {
            "criteria": [{"name": "Greeting", "score": 8, "maxScore": 10, "comment": "Friendly and clear."}],
            "summary": "Billing question, solved on the first call.",
        },
        "transcript": {"language": "en-US", "segments": []},
    }
    engagements = ["eng_456", "eng_456", "eng_457", "eng_458", "eng_459"]  # eng_456 holds 40%
    states = ["Completed"] * 7 + ["Pending", "Processing", "Failed"]
    for engagement in client["engagements"]:
        engagement.pop("evaluationCount", None)  # counted from the evaluations
    for i in range(count):
        record = dict(template)
        record.update(
            id=f"eval_{900000 + i}",
            engagementId=engagements[i % 5],
            state=states[i % 10],
            sentiment=("Positive", "Neutral", "Negative")[i % 3],
            isAICall=i % 7 == 0,
            audioDate=f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
            createdAt=f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{i % 59:02d}Z",
        )
        client["evaluations"].append(record)
    (folder / "acme.json").write_text(json.dumps(acme))
    (folder / "globex.yaml").write_text((ROOT / "fixtures" / "globex.yaml").read_text())


def fixtures_with_engagements(folder: Path, count: int, fmt: str = "json") -> None:
    """The bundled fixtures, with ``count`` more Acme engagements, as ``fmt`` (json or yaml)."""
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
    if fmt == "json":
        (folder / "acme.json").write_text(json.dumps(acme))
    else:
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        (folder / "acme.yaml").write_text(yaml.dump(acme, Dumper=dumper, sort_keys=False))
    (folder / "globex.yaml").write_text((ROOT / "fixtures" / "globex.yaml").read_text())


def in_process(count: int) -> dict[str, object]:
    """The filters' engine times, in a second process: the first one checks the records and keeps
    the seed on disk (a cache of its own, in the temporary folder), as a user's first start
    does; its load time is kept as ``first_load_s``."""
    with tempfile.TemporaryDirectory() as tmp:
        fixtures = Path(tmp) / "fixtures"
        fixtures.mkdir()
        fixtures_with_evaluations(fixtures, count)
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        env.pop("AURALYTIK_MOCK_CACHE", None)
        runs = [
            json.loads(
                subprocess.run(
                    [PYTHON, "-c", _IN_PROCESS, str(fixtures)],
                    capture_output=True, text=True, check=True, timeout=900, env=env,
                ).stdout
            )
            for _ in range(2)
        ]  # fmt: skip
    return {**runs[1], "first_load_s": runs[0]["load_s"]}


def _first_evaluation(api: str, key: str) -> str:
    import urllib.request

    request = urllib.request.Request(api + "/evaluations?pageSize=1", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return str(json.load(answer)["data"][0]["id"])


def over_http(duration: int, skip_prism: bool) -> dict[str, dict[str, dict[str, float]]]:
    sys.path.insert(0, str(ROOT / "bench"))
    import bench

    script = Path(tempfile.mkdtemp()) / "get.lua"
    script.write_text(f'wrk.headers["Authorization"] = "Bearer {bench.KEY}"\n')
    available = bench.servers(PYTHON)
    chosen = {"mock_quiet": available["mock_quiet"]}
    if not skip_prism and bench.PRISM.exists():
        chosen["prism_quiet"] = available["prism_quiet"]
    out: dict[str, dict[str, dict[str, float]]] = {}
    for server in chosen.values():
        print(f"scale: loading {server.name} ...", file=sys.stderr, flush=True)
        with bench.running(server) as (base, _, _):
            api = base + server.prefix
            one = _first_evaluation(api, bench.KEY) if server is chosen["mock_quiet"] else "eval_1001"
            urls = {
                "GET evaluations?engagementId=eng_456": api + "/evaluations?engagementId=eng_456",
                "GET evaluation": api + f"/evaluations/{one}",
            }
            out[server.name] = {}
            for name, url in urls.items():
                bench.wrk(url, script, 8, 1)  # warm up
                out[server.name][name] = bench.wrk(url, script, 8, duration)
    return out


def report(results: dict[str, object]) -> str:
    local = results["in_process"]
    assert isinstance(local, dict)
    rows = local["rows"]
    base = rows["unfiltered"]["us"]
    lines = [
        f"## Evaluations at scale: {local['records']:,} records ({results['count']:,} added evaluations), "
        f"loaded in {local['load_s']:.1f} s",
        "",
        f"Loading them from JSON: {local['first_load_s']:.2f} s the first time (every record checked against "
        f"its schema and its references, the bundled records made, the seed kept on disk), "
        f"{local['load_s']:.2f} s on every later start (the seed read back).",
        "",
        "Engine time per call, page 1 (25 records), median; target: indexed filters <= 2x unfiltered.",
        "",
        "| call | totalCount | us per call | vs unfiltered |",
        "|---|---|---|---|",
    ]
    for name, row in rows.items():
        lines.append(f"| {name} | {row['total']:,} | {row['us']:.0f} | {row['us'] / base:.2f}x |")
    indexed = ("engagementId", "state+sentiment", "engagementId+state+sentiment", "dateFrom+dateTo")
    worst = max(rows[name]["us"] / base for name in indexed)
    lines += [
        "",
        f"Indexed filters (date range included): worst {worst:.2f}x the unfiltered page 1: "
        f"{'yes' if worst <= 2 else 'no'} (target 2x).",
    ]
    http = results.get("http")
    if isinstance(http, dict) and http:
        lines += [
            "",
            "### Over HTTP, c=8 (wrk)",
            "",
            "| server | endpoint | req/s | p50 ms | p99 ms |",
            "|---|---|---|---|---|",
        ]
        for server, endpoints in http.items():
            for endpoint, cell in endpoints.items():
                lines.append(
                    f"| {server} | {endpoint} | {cell['rps']:.0f} | {cell['p50_ms']:.2f} | {cell['p99_ms']:.2f} |"
                )
    return "\n".join(lines) + "\n"


def run(count: int, duration: int, skip_prism: bool, skip_http: bool) -> dict[str, object]:
    """Measure, print the report and write ``bench/results/scale.{md,json}``; returns the results."""
    import shutil

    print(f"scale: {count:,} evaluations, in-process ...", file=sys.stderr, flush=True)
    results: dict[str, object] = {"count": count, "in_process": in_process(count)}
    if not skip_http and shutil.which("wrk"):
        results["http"] = over_http(duration, skip_prism)
    text = report(results)
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "scale.md").write_text(text)
    (out / "scale.json").write_text(json.dumps(results, indent=2))
    return results


def date_range_ratio(results: dict[str, object]) -> float:
    """The date-range filter's time over the unfiltered page 1's (issue 22's target: <= 2)."""
    rows = results["in_process"]["rows"]  # type: ignore[index]
    return float(rows["dateFrom+dateTo"]["us"] / rows["unfiltered"]["us"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=3, help="whole seconds per wrk cell (default 3)")
    parser.add_argument("--skip-prism", action="store_true", help="do not run Prism")
    parser.add_argument("--skip-http", action="store_true", help="in-process rows only (no wrk)")
    parser.add_argument("--count", type=int, default=COUNT, help=f"evaluations to add (default {COUNT:,})")
    args, _ = parser.parse_known_args()
    run(args.count, args.duration, args.skip_prism, args.skip_http)
    return 0


if __name__ == "__main__":
    sys.exit(main())
