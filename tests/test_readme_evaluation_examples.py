"""Issue 17.14: the README's Evaluations examples, sent exactly as a reader pastes them.

``GET /v1/evaluations/eval_66502/transcript`` and ``/results`` answered 404: no bundled
evaluation had that id (generated ids are drawn at random). The bundled fixtures now hold
it (``fixtures/acme.yaml``, the last ``generate`` entry). The curl lines below are the
README's, verbatim; only the host and port change, as the README says they do.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from typing import Any

import pytest

from tests.processes import serving

#: The README's block "The Evaluations page's example works too", verbatim.
EXAMPLES = [
    'curl "http://127.0.0.1:4010/v1/evaluations?state=Completed&sentiment=Positive&page=1&pageSize=10" \\\n'
    '  -H "Authorization: Bearer YOUR_API_KEY"',
    'curl "http://127.0.0.1:4010/v1/evaluations?engagementId=eng_456&dateFrom=2024-01-01&dateTo=2024-01-31" \\\n'
    '  -H "Authorization: Bearer YOUR_API_KEY"',
    'curl http://127.0.0.1:4010/v1/evaluations/eval_66502/transcript -H "Authorization: Bearer YOUR_API_KEY"',
    'curl http://127.0.0.1:4010/v1/evaluations/eval_66502/results -H "Authorization: Bearer YOUR_API_KEY"',
]
CRITERIA = ["Greeting", "Identification", "Active listening", "Empathy", "Product knowledge", "Resolution",
            "Compliance", "Closing"]  # fmt: skip


def _run(example: str, base: str) -> tuple[int, Any]:
    """Run one curl line as pasted (with ``-w`` to read the status), against ``base``."""
    argv = shlex.split(example.replace("\\\n", " ").replace("http://127.0.0.1:4010", base))
    done = subprocess.run([*argv, "-sS", "-w", "\n%{http_code}"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    body, _, status = done.stdout.rpartition("\n")
    return int(status), json.loads(body)


def _check_transcript(transcript: Any) -> None:
    assert set(transcript) == {"language", "segments"} and transcript["language"] == "en-US"
    assert transcript["segments"], "a transcript has turns"
    end = 0.0
    for n, segment in enumerate(transcript["segments"]):
        assert set(segment) == {"speaker", "startSeconds", "endSeconds", "text"}
        assert segment["speaker"] == ("agent" if n % 2 == 0 else "customer"), "agent first, then in turn"
        assert end <= segment["startSeconds"] < segment["endSeconds"] and segment["text"]
        end = segment["endSeconds"]


def _check_results(results: Any) -> None:
    assert set(results) == {"criteria", "summary"} and results["summary"]
    assert [c["name"] for c in results["criteria"]] == CRITERIA
    for criterion in results["criteria"]:
        assert set(criterion) == {"name", "score", "maxScore", "comment"}
        assert 0 <= criterion["score"] <= 10 and criterion["maxScore"] == 10 and criterion["comment"]


@pytest.fixture(scope="module")
def sandbox() -> Any:
    with serving("--quiet") as (base, _):
        yield base


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README's examples are curl commands")
def test_the_readme_evaluations_examples_answer_as_documented(sandbox: str) -> None:
    listed_status, listed = _run(EXAMPLES[0], sandbox)
    assert listed_status == 200
    assert listed["page"] == 1 and listed["pageSize"] == 10 and len(listed["data"]) == 10
    assert {(e["state"], e["sentiment"]) for e in listed["data"]} == {("Completed", "Positive")}

    january_status, january = _run(EXAMPLES[1], sandbox)
    assert january_status == 200 and january["totalCount"] > 0
    assert {e["engagementId"] for e in january["data"]} == {"eng_456"}

    transcript_status, transcript = _run(EXAMPLES[2], sandbox)
    assert transcript_status == 200, transcript
    _check_transcript(transcript)

    results_status, results = _run(EXAMPLES[3], sandbox)
    assert results_status == 200, results
    _check_results(results)

    # the evaluation they belong to: one of eng_456's 142, and in both lists above
    status, evaluation = _run(EXAMPLES[2].replace("/transcript", ""), sandbox)
    assert status == 200 and evaluation["results"] == results
    assert (evaluation["engagementId"], evaluation["state"], evaluation["sentiment"]) == (
        "eng_456",
        "Completed",
        "Positive",
    )
    assert "2024-01-01" <= evaluation["createdAt"][:10] <= "2024-01-31"
    everything = _run(EXAMPLES[0].replace("pageSize=10", "pageSize=100"), sandbox)[1]
    assert "eval_66502" in [e["id"] for e in everything["data"]]


def test_eval_66502_is_one_of_eng_456s_142_in_process(api) -> None:
    listed = api.get("/v1/evaluations?engagementId=eng_456&pageSize=100&page=2").json
    first = api.get("/v1/evaluations?engagementId=eng_456&pageSize=100").json
    assert first["totalCount"] == 142
    assert "eval_66502" in [e["id"] for e in first["data"] + listed["data"]]
    _check_transcript(api.get("/v1/evaluations/eval_66502/transcript").json)
    _check_results(api.get("/v1/evaluations/eval_66502/results").json)
