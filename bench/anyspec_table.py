"""The public-spec table (issue 19, "Done when"): for each document of tests/data/public/,
how many operations the mock serves with state and how many answer from the spec, and with
``--schemathesis`` how many operations schemathesis fails on the mock and on Prism.

Schemathesis runs as its docs tell users to (``schemathesis run SPEC --url URL``), bounded
(``--max-examples``, phases ``examples,fuzzing``, a time cap per run), with the credentials
the document's security schemes ask for (``credentials``: basic as ``--auth``, bearer and
OAuth 2 as ``Authorization: Bearer``, API keys in their header); the mock runs ``serve --spec X`` alone (no fixtures:
any well-formed credential is the default client's), Prism runs ``prism mock X`` (installed by
``bench/run.sh`` into the git-ignored bench/.prism). The count is failing operations (JUnit
test cases with a failure); an error is a run that did not finish.

Examples::

    python bench/anyspec_table.py
    python bench/anyspec_table.py --schemathesis --skip openai
    python bench/anyspec_table.py --schemathesis --seeds 1,2,3 --only oai-link

One seed draws one sample of schemathesis' cases; where the counts are close, compare
several seeds (a case one server is sent and the other is not is luck, not a difference).
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ROOT / "tests" / "data" / "public"
PRISM = ROOT / "bench" / ".prism" / "node_modules" / ".bin" / "prism"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
DOCUMENTS = [
    "oai-petstore.yaml",
    "oai-petstore-expanded.yaml",
    "oai-api-with-examples.yaml",
    "oai-link-example.yaml",
    "oai-callback-example.yaml",
    "oai-uspto.yaml",
    "swagger-petstore3.yaml",
    "train-travel.yaml",
    "museum.yaml",
    "realworld-conduit.yml",
    "redocly-cafe/openapi.yaml",
    "openai.yaml",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kinds(document: str) -> tuple[str, str]:
    """``(stateful, from the spec)`` counts, or ``("refused", reason)``."""
    from auralytik_mock import Config
    from auralytik_mock.core.errors import AuralytikMockError
    from auralytik_mock.core.pipeline import build_world

    try:
        world = build_world(Config(spec_path=PUBLIC / document))
    except AuralytikMockError as exc:
        return "refused", str(exc).split(": ")[-1][:70]
    rows = world.resources.table()
    stateful = sum(1 for row in rows if row[3] == "stateful")
    return str(stateful), str(len(rows) - stateful)


def _wait(url: str, process: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            urllib.request.urlopen(url, timeout=2).read()  # noqa: S310 - 127.0.0.1 only
            return True
        except urllib.error.HTTPError:
            return True  # it answers
        except OSError:
            time.sleep(0.1)
    return False


def credentials(document: str) -> list[str]:
    """Schemathesis options that send what the document's security schemes ask for, as a
    user would: ``--auth`` for HTTP basic, ``Authorization: Bearer`` for bearer, OAuth 2 and
    OpenID Connect, an API key in the header its scheme names (``Bearer YOUR_API_KEY`` when the
    document declares none)."""
    from auralytik_mock.core import loader

    document_json = loader.load(PUBLIC / document).document
    components = document_json.get("components") or {}
    schemes = components.get("securitySchemes") or {} if isinstance(components, dict) else {}
    options: list[str] = []
    headers: dict[str, str] = {}
    for scheme in schemes.values() if isinstance(schemes, dict) else ():
        kind = scheme.get("type") if isinstance(scheme, dict) else None
        if kind == "http" and str(scheme.get("scheme", "")).lower() == "basic":
            options += ["--auth", "user:YOUR_API_KEY"]
        elif kind in {"http", "oauth2", "openIdConnect"}:
            headers.setdefault("Authorization", "Bearer YOUR_API_KEY")
        elif kind == "apiKey" and scheme.get("in") == "header":
            headers.setdefault(str(scheme.get("name")), "YOUR_API_KEY")
    if not schemes:
        headers["Authorization"] = "Bearer YOUR_API_KEY"
    for name, value in headers.items():
        options += ["--header", f"{name}: {value}"]
    return options


def schemathesis(document: str, base: str, max_examples: int, cap: float, seed: int = 1) -> str:
    """Failing operations of one schemathesis run against ``base`` (and how many operations
    errored, if any: a run that errors on an operation tested nothing there), or
    ``error``/``timeout``."""
    with tempfile.TemporaryDirectory() as scratch:
        junit = Path(scratch) / "junit.xml"
        command = [str(SCHEMATHESIS), "run", str(PUBLIC / document), "--url", base, "--seed", str(seed)]
        command += ["--max-examples", str(max_examples), "--phases", "examples,fuzzing", "--no-color"]
        command += ["--request-timeout", "5", *credentials(document)]
        command += ["--report", "junit", "--report-junit-path", str(junit)]
        try:
            subprocess.run(command, cwd=scratch, capture_output=True, timeout=cap, check=False)  # noqa: S603
        except subprocess.TimeoutExpired:
            return "timeout"
        if not junit.exists():
            return "error"
        text = junit.read_text()
        failed = len(re.findall(r"<testcase\b[^>]*>\s*<failure", text))
        errored = len(re.findall(r"<testcase\b[^>]*>\s*<error", text))
        return f"{failed} ({errored} errored)" if errored else str(failed)


def _serve_mock(document: str, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "auralytik_mock", "serve", "--spec", str(PUBLIC / document)]
    command += ["--port", str(port), "--quiet"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603


def _serve_prism(document: str, port: int) -> subprocess.Popen[bytes]:
    command = [str(PRISM), "mock", str(PUBLIC / document), "-h", "127.0.0.1", "-p", str(port)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603


def compare(document: str, max_examples: int, cap: float, seeds: list[int]) -> tuple[str, str]:
    """Schemathesis failures on the mock and on Prism, one count per seed (``1/0/1``)."""
    from auralytik_mock.core.spec import Spec

    results = []
    for serve in (_serve_mock, _serve_prism):
        if serve is _serve_prism and not PRISM.exists():
            results.append("no prism")
            continue
        port = _free_port()
        process = serve(document, port)
        try:
            base = f"http://127.0.0.1:{port}"
            if serve is _serve_mock:
                try:
                    base += Spec.load(PUBLIC / document).base_path
                except Exception:  # noqa: BLE001 - a spec the mock refuses
                    results.append("refused")
                    continue
            if not _wait(f"http://127.0.0.1:{port}/", process, 60):
                results.append("no start")
                continue
            results.append("/".join(schemathesis(document, base, max_examples, cap, seed) for seed in seeds))
        finally:
            process.terminate()
            process.wait(timeout=10)
    return results[0], results[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--schemathesis", action="store_true", help="also run schemathesis on the mock and Prism")
    parser.add_argument("--max-examples", type=int, default=5)
    parser.add_argument("--cap", type=float, default=240.0, help="seconds one schemathesis run may take")
    parser.add_argument("--skip", action="append", default=[], help="a document to leave out (a name's start)")
    parser.add_argument("--only", action="append", default=[], help="only these documents (a name's start)")
    parser.add_argument(
        "--seeds", default="1", help="schemathesis seeds, comma-separated (default 1): one count per seed, as 1/0/1"
    )
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    header = "| Spec | Operations stateful | from the spec |"
    rule = "|---|---|---|"
    if args.schemathesis:
        header += " schemathesis failures: mock | Prism |"
        rule += "---|---|"
    print(header)
    print(rule)
    for document in DOCUMENTS:
        if any(document.startswith(skip) for skip in args.skip):
            continue
        if args.only and not any(document.startswith(only) for only in args.only):
            continue
        stateful, spec = kinds(document)
        row = f"| `{document}` | {stateful} | {spec} |"
        if args.schemathesis:
            mock, prism = compare(document, args.max_examples, args.cap, seeds)
            row += f" {mock} | {prism} |"
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
