"""Prism (Stoplight's, not ours) as an independent judge of what the mock answers.

Starts ``auralytik-mock serve`` on a free port, puts ``prism proxy openapi.yaml`` with
``--errors`` in front of it, sends the vendor's example requests and a few more through
the proxy (every operation of the read API and the Engagements/Evaluations ones), and
fails when Prism flags an answer (an ``sl-violations`` header, or Prism's own 500).
Install Prism first (``bench/run.sh`` does, into ``bench/.prism``). Run from the
repository root:

    python3 scripts/prism_judge.py [--prism bench/.prism/node_modules/.bin/prism]

Exit 0: no violation; 1: violations (listed); 2: could not run.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = {"Authorization": "Bearer YOUR_API_KEY"}
#: (path under /v1, extra headers): the vendor's example requests, then the other operations.
CALLS: list[tuple[str, dict[str, str]]] = [
    ("/campaigns?status=Running&page=1&pageSize=10", {}),
    ("/campaigns/camp_789", {}),
    ("/conversations?channelId=ch_whatsapp&page=1&pageSize=10", {}),
    ("/conversations/conv_123", {}),
    ("/conversations/conv_123/messages", {"X-Exclude-PII": "true"}),
    ("/voice-calls?state=Completed&direction=Outbound", {}),
    ("/voice-calls/vc_abc123", {}),
    ("/voice-calls/vc_abc123/epa-results", {}),
    ("/voice-calls/vc_abc123/recording-url", {}),
    ("/analytics/summary?dateFrom=2024-01-01&dateTo=2024-01-31", {}),
    ("/analytics/campaigns?dateFrom=2024-01-01", {}),
    ("/analytics/call-centers?engagementId=eng_456", {}),
    ("/analytics/executives?campaignId=camp_12", {}),
    ("/analytics/trends?granularity=weekly&campaignId=camp_789", {}),
    ("/analytics/trends?granularity=monthly&dateFrom=2024-01-01&dateTo=2024-03-31", {}),
    ("/usage/summary", {}),
    ("/usage/details?billingPeriod=2024-01&page=1&pageSize=50", {}),
    ("/usage/by-key?billingPeriod=2024-01", {}),
    ("/engagements", {}),
    ("/engagements/eng_456", {}),
    ("/evaluations?engagementId=eng_456&state=Completed&pageSize=10", {}),
    ("/evaluations/eval_66502/transcript", {}),
    ("/campaigns/camp_nope", {}),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"could not run: nothing answered {url} within {seconds:.0f} s")


def _get(url: str, headers: dict[str, str]) -> tuple[int, str | None, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as r:
            return r.status, r.headers.get("sl-violations"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("sl-violations"), e.read()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prism", default=str(ROOT / "bench" / ".prism" / "node_modules" / ".bin" / "prism"))
    args = parser.parse_args(argv)
    if not Path(args.prism).exists():
        print(f"could not run: no Prism at {args.prism} (bench/run.sh installs it)", file=sys.stderr)
        return 2
    mock_port, prism_port = _free_port(), _free_port()
    mock = subprocess.Popen(
        [sys.executable, "-m", "auralytik_mock", "serve", "--quiet", "--port", str(mock_port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    prism = subprocess.Popen(
        [args.prism, "proxy", str(ROOT / "openapi.yaml"), f"http://127.0.0.1:{mock_port}/v1", "--errors",
         "-p", str(prism_port), "-h", "127.0.0.1"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait(f"http://127.0.0.1:{mock_port}/health", 30)
        _wait(f"http://127.0.0.1:{prism_port}/engagements", 60)
        problems = []
        for path, extra in CALLS:
            status, violations, body = _get(f"http://127.0.0.1:{prism_port}{path}", {**KEY, **extra})
            verdict = "ok" if violations is None and status != 500 else "VIOLATION"
            print(f"{status}  {verdict:9}  GET /v1{path}")
            if verdict != "ok":
                problems.append(f"GET /v1{path}: {status} {violations or body[:300]!r}")
        if problems:
            print(f"\n{len(problems)} violation(s):\n" + "\n".join(problems))
            return 1
        print(f"\nPrism found no violation in {len(CALLS)} answers.")
        return 0
    finally:
        for process in (prism, mock):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    sys.exit(main())
