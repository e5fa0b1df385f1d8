"""Actions and singletons: answered from the spec by default, bound to state with
``x-mock-action`` and ``x-mock-singleton``, opted out with ``x-mock-stateless``
(``tests/data/shapes/actions.yaml``)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from auralytik_mock import Config, SpecError, create_app
from auralytik_mock.core.resources import build_resources
from auralytik_mock.core.spec import Spec

from .shapes_support import SHAPES, client


@pytest.fixture
def api() -> Any:
    return client("actions.yaml")


def _uploaded(api: Any) -> str:
    made = api.post("/api/audio-files", json={"name": "a.wav"})
    assert made.status_code == 201 and made.json["status"] == "uploaded"
    return str(made.json["id"])


def test_an_action_sets_fields_of_its_record_with_the_time(api: Any) -> None:
    audio = _uploaded(api)
    done = api.post(f"/api/audio-files/{audio}/process")
    assert done.status_code == 202
    assert done.json == {"id": audio, "name": "a.wav", "status": "processing", "startedAt": "2024-06-01T12:00:00Z"}
    assert api.get(f"/api/audio-files/{audio}").json == done.json


def test_an_action_on_a_missing_record_is_404_and_creates_nothing(api: Any) -> None:
    assert api.post("/api/audio-files/aud_9/process").status_code == 404
    assert api.post("/api/audio-files/aud_9/exports", json={"format": "csv"}).status_code == 404
    assert api.get("/api/exports/exp_1000").status_code == 404


def test_an_action_creates_a_record_of_another_resource_naming_its_parent(api: Any) -> None:
    audio = _uploaded(api)
    job = api.post(f"/api/audio-files/{audio}/exports", json={"format": "json"})
    assert job.status_code == 201
    assert job.json == {"id": "exp_1000", "audioFileId": audio, "format": "json", "state": "queued"}
    assert api.get("/api/exports/exp_1000").json == job.json


def test_an_action_without_extension_answers_its_example_and_changes_nothing(api: Any) -> None:
    audio = _uploaded(api)
    archived = api.post(f"/api/audio-files/{audio}/archive")
    assert archived.status_code == 200 and archived.json["status"] == "archived"
    assert api.get(f"/api/audio-files/{audio}").json["status"] == "uploaded"


def test_stateless_opts_out_and_login_answers_from_its_schema(api: Any) -> None:
    assert api.get("/api/exports/exp_1/preview").json["id"] == "exp_example"
    login = api.post("/api/login").json  # generated from its schema: a token that looks like one
    assert set(login) == {"token"} and isinstance(login["token"], str) and len(login["token"]) >= 8
    assert api.post("/api/login").json == login  # the same every time


def test_a_singleton_answers_its_example_until_written_then_keeps_what_was_written(api: Any) -> None:
    assert api.get("/api/processing-status").json == {"paused": False, "concurrency": 1}
    written = api.put("/api/processing-status", json={"paused": True, "concurrency": 3})
    assert written.status_code == 200 and written.json == {"paused": True, "concurrency": 3}
    assert api.get("/api/processing-status").json == {"paused": True, "concurrency": 3}
    assert client("actions.yaml").get("/api/processing-status").json == {"paused": False, "concurrency": 1}


def test_the_table_says_what_each_operation_is_and_why() -> None:
    rows = {row[2]: row[3:] for row in build_resources(Spec.load(SHAPES / "actions.yaml")).table()}
    assert rows["processAudio"] == ("action", "x-mock-action: sets status, startedAt of an audio-file")
    assert rows["exportAudio"] == ("action", "x-mock-action: creates an export")
    assert rows["getProcessingStatus"] == ("singleton", "x-mock-singleton: one ProcessingStatus per client")
    assert rows["previewExport"] == ("spec", "x-mock-stateless: answered from the spec")
    assert rows["archiveAudio"][0] == "spec" and "x-mock-action" in rows["archiveAudio"][1]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["paths"]["/audio-files/{audioFileId}/process"]["post"].update({"x-mock-action": {"sett": {}}}),
            "must be {set: {field: value}} or {create: <SchemaName>}",
        ),
        (
            lambda d: d["paths"]["/audio-files/{audioFileId}/process"]["post"].update(
                {"x-mock-action": {"set": {"colour": "red"}}}
            ),
            "AudioFile has no field colour",
        ),
        (
            lambda d: d["paths"]["/audio-files/{audioFileId}/exports"]["post"].update(
                {"x-mock-action": {"create": "Job"}}
            ),
            "'Job' is not a resource's record schema",
        ),
        (
            lambda d: d["paths"]["/processing-status"]["get"].update({"x-mock-singleton": "yes"}),
            "must be true or {schema: <SchemaName>}",
        ),
    ],
)
def test_a_misused_extension_stops_start_up_naming_where(tmp_path: Path, change: Any, message: str) -> None:
    doc = copy.deepcopy(yaml.safe_load((SHAPES / "actions.yaml").read_text()))
    change(doc)
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(SpecError) as caught:
        create_app(Config(spec_path=tmp_path / "spec.yaml", fixtures=(SHAPES / "empty-fixtures.yaml",)))
    assert message in str(caught.value)
