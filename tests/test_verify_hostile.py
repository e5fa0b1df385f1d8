"""``auralytik-mock verify`` against a hostile or broken target: every misbehaviour ends the run
with exit 2 and one clear line, in bounded time and memory, never a traceback.

Each target is ``tests/hostile_target.py`` on 127.0.0.1. The command runs in a thread that a
hang cannot hold past ``HANG_GUARD_S``; the runs whose memory matters run in a child process,
whose peak memory is its own.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from auralytik_mock.cli import main
from auralytik_mock.verify import Options, verify

from .conftest import make_config
from .hostile_target import HostileTarget

KEY = "live_acme_full_0123456789abcdef"
#: Runs ``auralytik-mock verify`` twice in one process, against a target that answers nothing
#: (the baseline: the engine built, the first call made), then against the hostile one, and
#: prints the process's peak memory after each.
_CHILD = """
import resource, sys
from auralytik_mock.cli import main
argv = sys.argv[1:]
split = argv.index("--then")
for run in (argv[:split], argv[split + 1:]):
    try:
        code = main(run)
    except SystemExit as exc:
        code = exc.code
    print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""
#: What a hostile answer may cost beyond a run that reads nothing unusual (the issue's bound).
RSS_GROWTH_MB = 100
#: The hang guard: every run here ends in seconds; one that reaches this has hung.
HANG_GUARD_S = 60


def _verify_in_child(url: str, *extra: str) -> tuple[int, str, str, int]:
    """Exit code, stdout and stderr of the hostile run, and what it added to the peak memory (MB)."""
    with HostileTarget("hang_up") as quiet:
        baseline = ["verify", "--base-url", quiet.url, "--key", KEY]
        argv = [sys.executable, "-c", _CHILD, *baseline, "--then", "verify", "--base-url", url, "--key", KEY, *extra]
        run = subprocess.run(argv, capture_output=True, text=True, timeout=HANG_GUARD_S)
    peaks = [int(kb) // 1024 for kb in re.findall(r"MAXRSS_KB (\d+)", run.stderr)]
    assert len(peaks) == 2, run.stderr
    stdout = run.stdout[run.stdout.index("(exit 2)") + len("(exit 2)") :]  # the baseline run's report first
    stderr = re.sub(r"MAXRSS_KB \d+", "", run.stderr).strip()
    return run.returncode, stdout, stderr, peaks[1] - peaks[0]


def _verify(argv: list[str], guard: float = HANG_GUARD_S) -> tuple[int, str, str]:
    """``auralytik-mock verify ARGV`` in this process, in a thread a hang cannot hold past ``guard``."""
    done: dict[str, object] = {}
    out, err = io.StringIO(), io.StringIO()

    def run() -> None:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                done["code"] = main(["verify", *argv])
            except SystemExit as exc:
                done["code"] = exc.code
            except BaseException as exc:  # a traceback: what the test is there to catch
                done["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(guard)
    assert not thread.is_alive(), f"verify {argv} hung"
    assert "error" not in done, f"verify {argv} raised {done['error']!r}"
    return int(done["code"]), out.getvalue(), err.getvalue()  # type: ignore[call-overload]


def _one_clear_line(stdout: str, stderr: str) -> str:
    """The run's one error line, after checking nothing else went wrong."""
    assert "Traceback" not in stdout + stderr, stdout + stderr
    errors = [line for line in stdout.splitlines() if line.startswith("Could not run:")]
    assert len(errors) == 1, stdout
    assert errors[0].endswith("(exit 2)") and len(errors[0]) < 300, errors[0]
    assert stdout.rstrip().endswith(errors[0]), "the error is the last thing said"
    return errors[0]


@pytest.mark.parametrize(
    ("behaviour", "extra", "expected"),
    [
        ("endless_chunked", ("--max-body", "1"), r"answer to GET /health is larger than --max-body 1 MiB"),
        ("huge_length", (), r"larger than --max-body 8 MiB \(Content-Length: 1,000,000,000,000 bytes\)"),
        ("deep_json", (), r"answer to GET /health is JSON nested (too deep to read|deeper than 100 levels)"),
    ],
)
def test_a_target_that_sends_too_much_ends_the_run_in_bounded_memory(
    behaviour: str, extra: tuple[str, ...], expected: str
) -> None:
    with HostileTarget(behaviour) as target:
        code, stdout, stderr, growth = _verify_in_child(target.url, *extra)
    assert code == 2, stdout + stderr
    line = _one_clear_line(stdout, stderr)
    assert re.search(expected, line), line
    assert growth < RSS_GROWTH_MB, f"{behaviour}: the peak grew {growth} MB"


@pytest.mark.parametrize(
    ("behaviour", "extra", "expected"),
    [
        ("trickle", ("--timeout", "1"), r"did not answer GET /health within 1 s \(--timeout\)"),
        ("trickle_body", ("--timeout", "1"), r"did not answer GET /health within 1 s \(--timeout\)"),
        ("endless_continue", ("--timeout", "1"), r"did not answer GET /health within 1 s \(--timeout\)"),
        (
            "garbage",
            (),
            r"answer to GET /health is not usable HTTP: not an HTTP status line: 'SSH-2.0-OpenSSH_9.2\\r\\n'",
        ),
        ("hang_up", (), r"answer to GET /health is not usable HTTP: it closed the connection without answering"),
        ("short_body", (), r"answer to GET /health ended after 10 of 1,000 bytes"),
        ("bad_chunk", (), r"answer to GET /health has a broken chunked body \(0 bytes read\)"),
        ("many_headers", (), r"answer to GET /health is not usable HTTP: got more than 100 headers"),
    ],
)
def test_a_broken_or_slow_target_ends_the_run_with_exit_2_and_one_clear_line(
    behaviour: str, extra: tuple[str, ...], expected: str
) -> None:
    # A byte every 0.3 s, well within the 1 s --timeout: only a deadline on the whole answer
    # ends a trickle (a timeout per read never fires).
    with HostileTarget(behaviour, interval=0.3) as target:
        code, stdout, stderr = _verify(["--base-url", target.url, "--key", KEY, *extra])
    assert code == 2, stdout + stderr
    line = _one_clear_line(stdout, stderr)
    assert re.search(expected, line), line


def test_a_target_that_rate_limits_every_call_stops_at_the_total_wait_cap(tmp_path: Path) -> None:
    with HostileTarget("always_429", retry_after="1") as target:
        argv = ["--base-url", target.url, "--key", KEY, "--max-total-wait", "2", "--report", str(tmp_path / "r.json")]
        code, stdout, stderr = _verify(argv)
        calls = target.requests
    assert code == 2, stdout + stderr
    line = _one_clear_line(stdout, stderr)
    assert "the target keeps answering 429: waiting 1 s more (Retry-After) would pass --max-total-wait 2 s" in line
    assert "at most 2 s waiting on 429s (--max-total-wait)" in stdout, "the plan states the cap"
    assert calls == 3, "two waits, then the third 429 stops the run"
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["result"] == "error" and report["waitedSeconds"] == 2
    assert report["limits"]["maxTotalWaitSeconds"] == 2


def test_retry_after_119_on_every_call_stops_within_the_default_cap() -> None:
    """The issue's case: 119 s on every call waited out call after call took about 7 hours."""
    waits: list[float] = []
    lines: list[str] = []
    with HostileTarget("always_429", retry_after="119") as target:
        outcome = verify(make_config(), Options(base_url=target.url, key="k"), say=lines.append, sleep=waits.append)
    assert outcome.exit_code == 2
    assert waits == [119.0, 119.0] and sum(waits) <= Options.max_total_wait
    assert outcome.error is not None and "would pass --max-total-wait 300 s (238 s waited over 2 429s so far)" in (
        outcome.error
    )


@pytest.mark.slow  # 7 to 10 CPU seconds by design (115 answers of 60,000 records): a scale test
def test_a_huge_answer_that_breaks_the_schema_is_compared_in_bounded_time() -> None:
    """60,000 invalid records on every call: the drift is named per rule broken, and the
    comparison reads a few hundred violations per answer, not every one (minutes each before).
    Bounded in CPU seconds, which a loaded machine does not inflate as it does wall time."""
    with HostileTarget("huge_invalid") as target:
        started = time.process_time()
        code, stdout, stderr = _verify(["--base-url", target.url, "--key", KEY], guard=600)
        spent = time.process_time() - started
    assert code == 1 and "Traceback" not in stdout + stderr, stdout + stderr
    assert "vendor's Engagement.name must be a string, got 5" in stdout
    assert spent < 30, f"{spent:.0f} CPU seconds"  # the old verify: over 15 CPU seconds per call


@pytest.mark.parametrize(
    ("flag", "value", "fragment"),
    [
        ("--timeout", "nan", "--timeout must be a number above 0"),
        ("--timeout", "0", "--timeout must be a number above 0"),
        ("--max-body", "-1", "--max-body must be a number of MiB above 0"),
        ("--max-total-wait", "inf", "--max-total-wait must be a number of seconds"),
        ("--max-wait", "-5", "--max-wait must be a number of seconds"),
    ],
)
def test_limits_that_are_not_positive_numbers_are_refused(flag: str, value: str, fragment: str) -> None:
    code, stdout, stderr = _verify(["--base-url", "http://127.0.0.1:9/v1", "--key", KEY, flag, value])
    assert code == 2 and "Traceback" not in stdout + stderr
    assert fragment in stderr, stderr
