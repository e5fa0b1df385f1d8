"""``- generate: N`` fixture entries: valid, realistic, deterministic records, and precise errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker

from auralytik_mock import Config, FixtureError, create_app
from auralytik_mock.core.pipeline import build_world
from auralytik_mock.generate import GenerateError, default_id_prefix, generate_records, literal_head, pattern_maker
from tests.conftest import FIXTURES, SPEC_PATH

HEADERS = {"Authorization": "Bearer GEN_KEY"}


def _fixture(tmp_path: Path, engagements: list[Any], name: str = "gen.yaml", client: str = "client_gen") -> Path:
    doc = {
        "clients": [
            {
                "id": client,
                "name": "Generated Co",
                "apiKeys": [{"key": f"{client.upper()}_KEY".replace("CLIENT_", ""), "scopes": ["engagements:read"]}],
                "engagements": engagements,
            }
        ]
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _engagements(path: Path, *more: Path) -> list[dict[str, Any]]:
    world = build_world(Config(spec_path=SPEC_PATH, fixtures=(path, *more)))
    dump = world.store.dump()
    client = next(c for c in dump["clients"] if c["id"] == "client_gen")  # type: ignore[index]
    return list(client["engagements"])


def test_generated_records_are_served_valid_and_counted(tmp_path: Path) -> None:
    hand = {
        "id": "eng_1",
        "name": "Hand written",
        "description": None,
        "type": "quality_review",
        "status": "active",
        "evaluationCount": 0,
        "createdAt": "2024-01-01T00:00:00Z",
        "updatedAt": "2024-01-01T00:00:00Z",
    }
    path = _fixture(tmp_path, [hand, {"generate": 142, "with": {"type": "compliance_audit", "status": "paused"}}])
    app = create_app(Config(spec_path=SPEC_PATH, fixtures=(path,), validate_responses=True))
    client = app.test_client()
    first = client.get("/v1/engagements?pageSize=100", headers=HEADERS)
    assert first.status_code == 200, first.json
    assert first.json["totalCount"] == 143
    records = first.json["data"] + client.get("/v1/engagements?page=2&pageSize=100", headers=HEADERS).json["data"]
    generated = [r for r in records if r["id"] != "eng_1"]
    assert len(generated) == 142 and len({r["id"] for r in generated}) == 142
    assert all(r["type"] == "compliance_audit" and r["status"] == "paused" for r in generated)
    assert all(re.fullmatch(r"eng_\d{5}", r["id"]) for r in generated), "the id pattern's literal head is the prefix"
    one = client.get(f"/v1/engagements/{generated[0]['id']}", headers=HEADERS)
    assert one.status_code == 200 and one.json == generated[0]


def test_records_look_real(tmp_path: Path) -> None:
    records = _engagements(_fixture(tmp_path, [{"generate": 50, "between": ["2024-02-01", "2024-02-29"]}]))
    for record in records:
        assert re.fullmatch(r"[A-Z][\w'-]*( [A-Z0-9][\w'-]*)+", record["name"]), record["name"]
        assert "2024-02-01T00:00:00Z" <= record["createdAt"] <= "2024-02-29T23:59:59Z"
        assert record["updatedAt"] >= record["createdAt"], "a record changes after it is made"
        assert 8 <= int(record["createdAt"][11:13]) <= 19, "made in office hours"
    assert len({r["name"] for r in records}) > 40, "names vary"
    assert len({r["status"] for r in records}) > 1
    assert {type(r["description"]) for r in records} == {str, type(None)}, "a nullable field is sometimes null"


def test_same_fixtures_same_records_whatever_the_hash_seed(tmp_path: Path) -> None:
    path = _fixture(tmp_path, [{"generate": 20}])
    script = (
        "import json, sys\n"
        "from auralytik_mock import Config\n"
        "from auralytik_mock.core.pipeline import build_world\n"
        f"w = build_world(Config(spec_path={str(SPEC_PATH)!r}, fixtures=({str(path)!r},)))\n"
        "print(json.dumps(w.store.dump(), sort_keys=True))\n"
    )
    outputs = []
    for hash_seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0])["clients"][0]["engagements"] == _engagements(path)


def test_other_files_and_records_do_not_change_generated_ones(tmp_path: Path) -> None:
    path = _fixture(tmp_path, [{"generate": 10}])
    alone = _engagements(path)
    other = _fixture(tmp_path, [{"generate": 30}], name="other.yaml", client="client_other")
    assert _engagements(path, other) == alone
    hand = {**alone[0], "id": "eng_7"}
    with_hand = _fixture(tmp_path, [hand, {"generate": 10}], name="gen2.yaml")
    assert _engagements(with_hand)[1:] == alone, "a written record before the entry does not reshuffle it"


def test_seed_and_fixed_values_change_the_records(tmp_path: Path) -> None:
    base = _engagements(_fixture(tmp_path, [{"generate": 5}]))
    seeded = _engagements(_fixture(tmp_path, [{"generate": 5, "seed": "other"}]))
    assert [r["id"] for r in base] != [r["id"] for r in seeded]


def test_pick_gives_each_record_one_of_the_values_and_leaves_the_rest_made(tmp_path: Path) -> None:
    entry = {"generate": 60, "with": {"type": "quality_review"}, "pick": {"status": ["paused", "paused", "completed"]}}
    records = _engagements(_fixture(tmp_path, [entry]))
    statuses = [r["status"] for r in records]
    assert set(statuses) == {"paused", "completed"} and statuses.count("paused") > statuses.count("completed")
    assert {r["type"] for r in records} == {"quality_review"} and len({r["name"] for r in records}) > 50
    assert records == _engagements(_fixture(tmp_path, [entry], name="again.yaml")), "the same every run"


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"generate": -1}, "engagements[0] (generate).generate: must be a whole number from 0 to 1,000,000, got -1"),
        ({"generate": "many"}, "(generate).generate: must be a whole number"),
        ({"generate": 2, "with": {"colour": "red"}}, "(generate).with.colour: not a field of the record"),
        ({"generate": 2, "with": {"id": "eng_9"}}, "(generate).with.id: each generated record gets its own id"),
        (
            {"generate": 2, "count": 3},
            "(generate).count: unknown key(s) count (allowed: generate, with, pick, seed, between)",
        ),
        ({"generate": 2, "pick": {"status": []}}, "(generate).pick: must be a mapping of field: [values]"),
        ({"generate": 2, "pick": {"colour": ["red"]}}, "(generate).pick.colour: not a field of the record"),
        (
            {"generate": 2, "with": {"status": "paused"}, "pick": {"status": ["active"]}},
            "(generate).pick.status: not a field of the record, or also under 'with'",
        ),
        ({"generate": 2, "pick": {"status": ["archived"]}}, "engagements[0] (generate, record 0, id eng_"),
        ({"generate": 2, "between": ["2024-03-01", "2024-01-01"]}, "(generate).between: the first date is after"),
        ({"generate": 2, "between": ["soon", "2024-01-01"]}, "(generate).between[0]: 'soon' is not an ISO 8601"),
        (
            {"generate": 2, "with": {"status": "archived"}},
            "engagements[0] (generate, record 0, id eng_",
        ),
    ],
)
def test_bad_generate_entries_name_file_entry_and_field(tmp_path: Path, entry: dict[str, Any], fragment: str) -> None:
    with pytest.raises(FixtureError) as info:
        _engagements(_fixture(tmp_path, [entry], name="bad.yaml"))
    message = str(info.value)
    assert "bad.yaml: clients[0]" in message and fragment in message, message
    if "archived" in str(entry):
        assert ").status: must be one of" in message and message.count("archived") == 1, "one line, not one per record"


# -- the generator on its own -------------------------------------------------------------------------

RICH = {
    "type": "object",
    "additionalProperties": False,
    "x-mock-id-prefix": "eval_",
    "required": [
        "id",
        "engagementId",
        "executiveName",
        "audioFileName",
        "audioDate",
        "durationInSeconds",
        "state",
        "sentiment",
        "averageNote",
        "isAICall",
        "email",
        "code",
        "tags",
        "score",
        "ratio",
        "uuid",
        "day",
        "note",
        "createdAt",
    ],
    "properties": {
        "id": {"type": "string"},
        "engagementId": {"type": "string", "x-mock-ref": "Engagement"},
        "engagementName": {"type": "string", "x-mock-copy": {"ref": "engagementId", "field": "name"}},
        "executiveName": {"type": "string", "minLength": 3, "maxLength": 40},
        "audioFileName": {"type": "string"},
        "audioDate": {"type": "string", "format": "date-time"},
        "durationInSeconds": {"type": "number", "minimum": 0},
        "state": {"enum": ["Pending", "Processing", "Completed", "Failed"]},
        "sentiment": {"type": ["string", "null"], "enum": ["Positive", "Neutral", "Negative", None]},
        "averageNote": {"type": "number", "minimum": 0, "maximum": 10},
        "isAICall": {"type": "boolean"},
        "email": {"type": "string", "format": "email"},
        "code": {"type": "string", "pattern": "^[A-Z]{3}-\\d{4}(-[a-z]{2})?$"},
        "tags": {
            "type": "array",
            "items": {"type": "string", "maxLength": 12},
            "minItems": 2,
            "maxItems": 4,
            "uniqueItems": True,
        },
        "score": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10, "multipleOf": 3},
        "ratio": {"type": "number", "minimum": 0.25, "maximum": 0.5},
        "uuid": {"type": "string", "format": "uuid"},
        "day": {"type": "string", "format": "date"},
        "note": {"type": ["string", "null"], "maxLength": 5},
        "results": {"type": "object", "properties": {"summary": {"type": "string"}}},
        "createdAt": {"type": "string", "format": "date-time"},
    },
}


def test_generated_records_respect_formats_enums_patterns_bounds_and_lengths() -> None:
    records = generate_records(
        {"generate": 500, "with": {"engagementId": "eng_456"}}, RICH, kind="evaluations", key=("c", "evaluations", 0)
    )
    validator = Draft202012Validator(RICH, format_checker=Draft202012Validator.FORMAT_CHECKER)
    checker = FormatChecker()
    for record in records:
        errors = [e.message for e in validator.iter_errors(record)]
        assert not errors, (record, errors)
        assert checker.conforms(record["uuid"], "uuid") and checker.conforms(record["email"], "email")
        assert record["id"].startswith("eval_") and record["engagementId"] == "eng_456"
        assert record["audioFileName"].endswith(".wav") and record["audioDate"] <= record["createdAt"]
        assert record["score"] in (3, 6, 9)
    states = [r["state"] for r in records]
    assert states.count("Completed") > states.count("Failed"), "most evaluations finished"
    assert {None, "Positive"} <= {r["sentiment"] for r in records}
    assert any("results" not in r for r in records) and any("results" in r for r in records), "optional fields vary"


def test_a_required_reference_without_a_fixed_value_is_an_error() -> None:
    with pytest.raises(GenerateError) as info:
        generate_records({"generate": 1}, RICH, kind="evaluations", key=())
    assert info.value.field == "with.engagementId" and "x-mock-ref" in info.value.message


def test_ids_follow_prefix_pattern_or_kind() -> None:
    assert default_id_prefix("audio-files") == "af_"
    assert default_id_prefix("evaluations") == "eval_"
    assert default_id_prefix("orders") == "order_"
    assert default_id_prefix("categories") == "cate_"
    assert literal_head("^eng_[A-Za-z0-9]{1,60}$") == "eng_"
    assert literal_head("^ab?c") == "a"
    schema = {
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": "string", "pattern": "^T-[0-9a-f]{8}$"}},
    }
    ids = [r["id"] for r in generate_records({"generate": 50}, schema, kind="tickets", key=())]
    assert all(re.fullmatch("T-[0-9a-f]{8}", i) for i in ids) and len(set(ids)) == 50
    numbered = {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}
    assert all(isinstance(r["id"], int) for r in generate_records({"generate": 5}, numbered, kind="n", key=()))


def test_pattern_maker_names_what_it_cannot_build() -> None:
    with pytest.raises(GenerateError, match="give it under 'with'"):
        pattern_maker("^(?=x)y$", "record.code")


def test_readme_example_loads_and_shows_a_real_record(tmp_path: Path) -> None:
    from tests.conftest import ROOT

    readme = (ROOT / "docs" / "reference" / "fixtures.md").read_text()
    example = re.search(r"<!-- test: file generated.yaml -->\n```yaml\n(.*?)```", readme, re.DOTALL)
    shown = re.search(r"shows it:\n\n<!-- .*? -->\n```json\n(.*?)```", readme, re.DOTALL)
    assert example and shown
    path = tmp_path / "demo.yaml"
    path.write_text(example.group(1))
    client = create_app(Config(spec_path=SPEC_PATH, fixtures=(path,), validate_responses=True)).test_client()
    page = client.get("/v1/engagements?pageSize=100", headers={"Authorization": "Bearer DEMO_API_KEY"}).json
    assert page["totalCount"] == 41
    assert json.loads(shown.group(1)) in page["data"]


def test_generate_value_makes_one_valid_deterministic_value_for_any_schema() -> None:
    from auralytik_mock.generate import generate_value

    transcript = {
        "type": "object",
        "required": ["segments"],
        "properties": {
            "segments": {
                "type": "array",
                "minItems": 2,
                "items": {
                    "type": "object",
                    "required": ["speaker", "startSecond", "text"],
                    "properties": {
                        "speaker": {"enum": ["agent", "customer"]},
                        "startSecond": {"type": "number", "minimum": 0},
                        "text": {"type": "string", "minLength": 1},
                    },
                },
            }
        },
    }
    one = generate_value(transcript, key=("eval_1", "transcript"))
    assert one == generate_value(transcript, key=("eval_1", "transcript"))
    assert one != generate_value(transcript, key=("eval_2", "transcript"))
    assert not list(Draft202012Validator(transcript).iter_errors(one))
    assert len(one["segments"]) >= 2  # type: ignore[index, call-overload]


# -- what a person reads: transcripts and results of the bundled evaluations ---------------


@pytest.fixture(scope="module")
def bundled_evaluations() -> list[dict[str, Any]]:
    """Every evaluation of the bundled fixtures, as the API serves it, with its transcript and results."""
    app = create_app(Config(spec_path=SPEC_PATH, fixtures=(FIXTURES,), validate_responses=True))
    client = app.test_client()
    out: list[dict[str, Any]] = []
    for fixture in sorted(FIXTURES.glob("*.yaml")):
        for spec in yaml.safe_load(fixture.read_text())["clients"]:
            key = next((k["key"] for k in spec.get("apiKeys", []) if "evaluations:read" in k.get("scopes", [])), None)
            if key is None:
                continue
            headers = {"Authorization": f"Bearer {key}"}
            page = 1
            while True:
                body = client.get(f"/v1/evaluations?pageSize=100&page={page}", headers=headers).json
                for record in body["data"]:
                    transcript = client.get(f"/v1/evaluations/{record['id']}/transcript", headers=headers)
                    results = client.get(f"/v1/evaluations/{record['id']}/results", headers=headers)
                    assert results.status_code == 200, results.json
                    out.append(
                        {
                            **record,
                            "transcript": transcript.json if transcript.status_code == 200 else None,
                            "results": results.json,
                        }
                    )
                if page * 100 >= body["totalCount"]:
                    break
                page += 1
    return out


def test_bundled_generated_evaluations_are_all_checked(bundled_evaluations: list[dict[str, Any]]) -> None:
    assert len(bundled_evaluations) >= 523
    assert sum(1 for e in bundled_evaluations if e["transcript"]) >= 523


def test_transcripts_are_a_timeline_within_the_call(bundled_evaluations: list[dict[str, Any]]) -> None:
    for evaluation in bundled_evaluations:
        segments = (evaluation["transcript"] or {}).get("segments", [])
        previous_end = 0.0
        for segment in segments:
            where = (evaluation["id"], segment)
            assert segment["endSeconds"] > segment["startSeconds"] >= previous_end, where
            previous_end = segment["endSeconds"]
        if segments and evaluation["id"].startswith("eval_") and len(evaluation["id"]) > 8:  # generated ones
            assert previous_end <= evaluation["durationInSeconds"], (evaluation["id"], previous_end)


def test_transcripts_alternate_agent_and_customer_in_english(bundled_evaluations: list[dict[str, Any]]) -> None:
    generated = [e for e in bundled_evaluations if e["transcript"] and len(e["id"]) > 8]
    assert generated
    for evaluation in generated:
        transcript = evaluation["transcript"]
        assert transcript["language"] in {"en", "en-US"}, (evaluation["id"], transcript["language"])
        speakers = [s["speaker"] for s in transcript["segments"]]
        assert speakers[0] == "agent", "the agent answers the call"
        assert all(a != b for a, b in zip(speakers, speakers[1:], strict=False)), (evaluation["id"], speakers)
        first = transcript["segments"][0]["text"]
        assert re.search(r"\b(calling|speaking|through to)\b", first), first


def test_results_score_each_criterion_once_and_average_note_is_their_mean(
    bundled_evaluations: list[dict[str, Any]],
) -> None:
    generated = [e for e in bundled_evaluations if len(e["id"]) > 8]
    assert generated
    for evaluation in generated:
        names = [c["name"] for c in evaluation["results"]["criteria"]]
        assert len(names) == len(set(names)), (evaluation["id"], names)
        scores = [c["score"] for c in evaluation["results"]["criteria"]]
        assert evaluation["averageNote"] == pytest.approx(sum(scores) / len(scores), abs=0.006), evaluation["id"]


def test_timelines_distinct_items_and_language_come_from_the_schema_shape() -> None:
    """Not tied to the bundled spec: any list of items with a start and an end, any enum
    property that names an item, any language next to generated text."""
    schema = {
        "type": "object",
        "properties": {
            "lengthMs": {"type": "integer", "minimum": 0},
            "locale": {"type": "string", "enum": ["fr", "en-GB", "de"]},
            "turns": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "beginMs": {"type": "integer", "minimum": 0},
                        "endMs": {"type": "integer", "minimum": 0},
                        "role": {"enum": ["caller", "operator"]},
                        "utterance": {"type": "string"},
                    },
                },
            },
            "metrics": {
                "type": "array",
                "minItems": 1,
                "maxItems": 3,
                "items": {"type": "object", "properties": {"metric": {"enum": ["a", "b", "c", "d"]}}},
            },
        },
        "required": ["lengthMs", "locale", "turns", "metrics"],
    }
    for n in range(30):
        value = generate_records({"generate": 1, "seed": n}, schema, kind="calls", key=("k",))[0]
        turns = value["turns"]
        assert turns and turns[0]["role"] == "operator", "the agent-like speaker opens"
        previous = 0
        for turn in turns:
            assert turn["endMs"] > turn["beginMs"] >= previous and isinstance(turn["beginMs"], int)
            previous = turn["endMs"]
        assert previous <= value["lengthMs"]
        assert value["locale"] == "en-GB"
        assert [m["metric"] for m in value["metrics"]] == ["a", "b", "c"]
        Draft202012Validator(schema, format_checker=FormatChecker()).validate(value)


# -- pools and vocabularies are data; patterns come from rstr --------------------------------------

SRC = Path(__file__).resolve().parents[2] / "src" / "auralytik_mock"


def test_no_private_regex_parser_in_the_package() -> None:
    """CPython's ``re._parser`` (``sre_parse``) changes without notice between releases."""
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "re._parser" not in text and "sre_parse" not in text, path


def test_records_need_no_faker_at_run_time(tmp_path: Path) -> None:
    """The name pools ship as files: generating works with Faker unimportable, and gives the
    records the bundled fixtures always had (the pools were built from the same seed)."""
    path = _fixture(tmp_path, [{"generate": 5}])
    script = (
        "import json, sys\n"
        "sys.modules['faker'] = None  # import faker now raises ImportError\n"
        "from auralytik_mock import Config\n"
        "from auralytik_mock.core.pipeline import build_world\n"
        f"w = build_world(Config(spec_path={str(SPEC_PATH)!r}, fixtures=({str(path)!r},)))\n"
        "print(json.dumps(w.store.dump()['clients'][0]['engagements']))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == _engagements(path)


def test_the_pools_are_data_files_of_the_package() -> None:
    from auralytik_mock.generate import pools
    from auralytik_mock.generate.pools import POOL_DIR

    p = pools()
    assert (POOL_DIR / "people.txt").read_text(encoding="utf-8").splitlines() == list(p.people)
    assert len(p.people) == 600 and len(set(p.first)) == len(p.first) >= 250
    assert all(re.fullmatch(r"[A-Z][a-z'-]+( [A-Z][a-z'-]+)+", person) for person in p.people[:50]), p.people[:50]


PATTERNS = [
    r"^T-[0-9a-f]{8}$",
    r"^[A-Z]{3}-\d{4}(-[a-z]{2})?$",
    r"^(INC|REQ|CHG)[0-9]+$",
    r"^[^aeiou\s]{4}\W\w+$",  # a negated class: rstr draws those from a set
    r"^(ab)+-\1$",  # a back reference
    r"^x*+y(?>z)$",  # possessive repeat, atomic group (Python 3.11)
    r"^\S+ \d{2,}$",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_pattern_strings_match_stay_short_and_come_from_the_seeded_source(pattern: str) -> None:
    import random

    make = pattern_maker(pattern, "record.code")
    values = [make(random.Random(n), None) for n in range(200)]  # type: ignore[arg-type]
    assert all(re.search(pattern, v) for v in values), values
    assert max(len(v) for v in values) <= 40, "unbounded repeats stop a few past their minimum"
    again = [make(random.Random(n), None) for n in range(200)]  # type: ignore[arg-type]
    assert again == values and len(set(values)) > 1


def test_pattern_strings_are_the_same_whatever_the_hash_seed() -> None:
    script = (
        "import json, random\n"
        "from auralytik_mock.generate import pattern_maker\n"
        f"patterns = {PATTERNS!r}\n"
        "print(json.dumps([pattern_maker(p, 'x')(random.Random(7), None) for p in patterns]))\n"
    )
    outputs = set()
    for hash_seed in ("1", "2", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        outputs.add(subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True).stdout)
    assert len(outputs) == 1 and outputs != {""}, outputs


@pytest.mark.parametrize("pattern", [r"^(?=x)y$", r"^[^\w\W]$", r"^(?<!a)b$x"])
def test_a_pattern_that_cannot_be_built_is_refused_when_planned(pattern: str) -> None:
    with pytest.raises(GenerateError, match="give it under 'with'"):
        pattern_maker(pattern, "record.code")
    with pytest.raises(GenerateError, match="not a regular expression"):
        pattern_maker("^(unclosed$", "record.code")


# -- vocabularies ----------------------------------------------------------------------------------

NOTES = {
    "type": "object",
    "required": ["comment", "team", "segments"],
    "properties": {
        "comment": {"type": "string"},
        "team": {"type": "string"},
        "segments": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["startSeconds", "endSeconds", "speaker", "text"],
                "properties": {
                    "startSeconds": {"type": "number", "minimum": 0},
                    "endSeconds": {"type": "number", "minimum": 0},
                    "speaker": {"enum": ["agent", "customer"]},
                    "text": {"type": "string"},
                },
            },
        },
    },
}
CALL_CENTRE = re.compile(r"calling|customer|agent|invoice|account|refund|call\b", re.I)


def _texts(vocabulary: Any = None) -> list[str]:
    records = generate_records({"generate": 40}, NOTES, kind="notes", key=("v",), vocabulary=vocabulary)
    return [r["comment"] for r in records] + [s["text"] for r in records for s in r["segments"]]


def test_a_spec_without_a_profile_gets_the_generic_vocabulary() -> None:
    from auralytik_mock.core.profile import profile_for
    from auralytik_mock.generate import generic_vocabulary

    texts = _texts()
    assert texts and not [t for t in texts if CALL_CENTRE.search(t)], [t for t in texts if CALL_CENTRE.search(t)]
    assert profile_for({"info": {"title": "Orders API"}}).vocabulary == generic_vocabulary()
    # The vendor is selected by x-mock-profile, never by a title that looks like its name.
    assert profile_for({"info": {"title": "Auralytik Clone"}}).vocabulary == generic_vocabulary()


def test_the_bundled_spec_selects_auralytiks_call_centre_vocabulary() -> None:
    from auralytik_mock.core.profile import profile_for
    from auralytik_mock.core.spec import Spec

    vocabulary = profile_for(Spec.load(SPEC_PATH).document).vocabulary
    assert vocabulary.name.endswith(str(Path("profiles", "auralytik", "vocabulary.yaml")))
    assert profile_for({"x-mock-profile": "auralytik", "info": {"title": "Renamed"}}).vocabulary == vocabulary
    texts = _texts(vocabulary)
    assert sum(1 for t in texts if CALL_CENTRE.search(t)) > len(texts) / 3
    records = generate_records({"generate": 30}, NOTES, kind="n", key=("v",), vocabulary=vocabulary)
    assert {r["team"] for r in records} <= set(vocabulary.teams)


def test_a_vocabulary_file_of_ones_own_drives_the_text(tmp_path: Path) -> None:
    from auralytik_mock.generate import load_vocabulary

    path = tmp_path / "vocabulary.yaml"
    turns = {"opening": ["Ahoy from {company}."], "middle": ["Aye.", "Nay."], "closing": ["Fair winds."]}
    path.write_text(
        yaml.safe_dump(
            {
                "notes": ["Logged by {person}."],
                "questions": ["Shipshape?"],
                "teams": ["Deck"],
                "conversation": {"opener": turns, "other": {**turns, "script": ["Cargo {account} aboard."]}},
            }
        )
    )
    texts = _texts(load_vocabulary(path))
    own = re.compile(r"(Logged by [A-Z][\w' -]+\.( |$))+|Ahoy from .+|Aye\.|Nay\.|Fair winds\.|Cargo \d+ aboard\.")
    assert all(own.fullmatch(t) for t in texts), texts


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ([], "must be a mapping"),
        ({"notes": ["x"], "questions": ["q"], "teams": ["t"]}, "conversation: must be a mapping with opener and other"),
        ({"notes": ["x"], "extra": 1}, "extra: unknown key"),
        ({"note": ["x"]}, "note: unknown key"),
        ({"notes": ["Hi {name}"], "questions": ["q"], "teams": ["t"], "conversation": {}}, "uses {name}"),
        ({"notes": ["{"], "questions": ["q"], "teams": ["t"], "conversation": {}}, "write a brace as"),
        ({"notes": [], "questions": ["q"], "teams": ["t"], "conversation": {}}, "notes: must be a list"),
    ],
)
def test_a_bad_vocabulary_file_says_what_is_wrong(tmp_path: Path, document: Any, fragment: str) -> None:
    from auralytik_mock.generate import load_vocabulary

    path = tmp_path / "vocabulary.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(GenerateError) as info:
        load_vocabulary(path)
    assert fragment in str(info.value) and str(path) in str(info.value), str(info.value)
