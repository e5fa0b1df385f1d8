"""A client generated from openapi.yaml by openapi-python-client, as a real consumer of the mock."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from auralytik_mock import MockServer
from tests.conftest import SPEC_PATH

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    where = tmp_path_factory.mktemp("generated")
    subprocess.run(
        [str(BIN / "openapi-python-client"), "generate", "--path", str(SPEC_PATH), "--meta", "none",
         "--output-path", str(where / "auralytik_client"), "--fail-on-warning",
         "--config", str(Path(__file__).parent / "data" / "openapi-python-client.yaml")],
        check=True, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},  # it runs ruff
    )  # fmt: skip
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module("auralytik_client")
    finally:
        sys.path.remove(str(where))
        for name in [m for m in sys.modules if m.startswith("auralytik_client")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    with MockServer(validate_responses=True, clock="2024-03-01T00:00:00Z") as server:
        yield server


def _api(name: str) -> ModuleType:
    return importlib.import_module(f"auralytik_client.api.engagements.{name}")


def test_generated_client_drives_the_stateful_flow(generated: ModuleType, mock: MockServer) -> None:
    models = importlib.import_module("auralytik_client.models")
    mock.reset()
    with generated.AuthenticatedClient(base_url=mock.url, token="YOUR_API_KEY") as client:
        page = _api("list_engagements").sync(client=client, page_size=2)
        assert isinstance(page, models.EngagementList)
        assert page.total_count == 5 and len(page.data) == 2
        created = _api("create_engagement").sync(
            client=client, body=models.EngagementCreate(name="Generated", type_="quality_review")
        )
        assert isinstance(created, models.Engagement)
        assert created.status == models.EngagementStatus.ACTIVE and created.evaluation_count == 0
        fetched = _api("get_engagement").sync(client=client, id=created.id)
        assert fetched == created
        updated = _api("update_engagement").sync(
            client=client, id=created.id, body=models.EngagementUpdate(status=models.EngagementStatus.COMPLETED)
        )
        assert updated.status == models.EngagementStatus.COMPLETED and updated.name == "Generated"
        assert _api("list_engagements").sync(client=client).total_count == 6


def test_generated_client_sees_401_403_404_as_the_documented_error(generated: ModuleType, mock: MockServer) -> None:
    models = importlib.import_module("auralytik_client.models")
    mock.reset()
    with generated.Client(base_url=mock.url) as anonymous:
        response = _api("list_engagements").sync_detailed(client=anonymous)
        assert response.status_code == 401 and isinstance(response.parsed, models.Error)
        assert response.parsed.error.code == "UNAUTHORIZED"
    with generated.AuthenticatedClient(base_url=mock.url, token="READ_ONLY_API_KEY") as client:
        response = _api("update_engagement").sync_detailed(
            client=client, id="eng_456", body=models.EngagementUpdate(name="x")
        )
        assert response.status_code == 403 and response.parsed.error.required_scope == "engagements:write"
        response = _api("get_engagement").sync_detailed(client=client, id="eng_999")
        assert response.status_code == 404 and response.parsed.error.code == "NOT_FOUND"


def test_generated_client_reads_audio_files_their_transcript_and_the_file_behind_a_download_url(
    generated: ModuleType, mock: MockServer
) -> None:
    import io
    import wave
    from urllib.parse import parse_qs, urlsplit

    import requests

    audio = "auralytik_client.api.audio_files"
    mock.reset()
    # The upload goes to Azure (here the mock's blob store) with Azure's own client, not the generated one.
    sound = io.BytesIO()
    with wave.open(sound, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(8000)
        out.writeframes(b"\x80" * 800)
    made = requests.post(
        f"{mock.url}/audio-files/upload-url", json={"fileName": "call.wav", "engagementId": "eng_456"},
        headers=mock.auth(), timeout=10,
    ).json()  # fmt: skip
    blob_headers = {"x-ms-blob-type": "BlockBlob", "Content-Type": "audio/wav"}
    assert requests.put(made["uploadUrl"], data=sound.getvalue(), headers=blob_headers, timeout=10).status_code == 201
    file_id = made["audioFileId"]
    with generated.AuthenticatedClient(base_url=mock.url, token="YOUR_API_KEY") as client:
        started = importlib.import_module(f"{audio}.process_audio_file").sync_detailed(client=client, id=file_id)
        assert started.status_code == 202
        mock.advance(30)
        listed = importlib.import_module(f"{audio}.list_audio_files").sync(client=client)
        assert [(f.id, f.status.value) for f in listed.data] == [(file_id, "processed")]
        transcript = importlib.import_module(f"{audio}.get_audio_file_transcript").sync(client=client, id=file_id)
        assert transcript.segments and transcript.language
        link = importlib.import_module(f"{audio}.get_audio_file_download_url").sync(client=client, id=file_id)
    query = {name: values[0] for name, values in parse_qs(urlsplit(link.url).query).items()}
    with generated.Client(base_url=mock.url) as anonymous:  # the signature is the credential
        blob = importlib.import_module(f"{audio}.get_audio_file_blob").sync_detailed(
            client=anonymous,
            id=file_id,
            sv=query["sv"], sr=query["sr"], sp=query["sp"], se=query["se"],
            client_query=query["client"], sig=query["sig"],
        )  # fmt: skip
    assert blob.status_code == 200 and blob.content == sound.getvalue()
