"""The vendor's audio files: the three-step upload through a blob store that answers as Azure's,
and the SAS download URL."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.api.support import path_of
from tests.audio_support import BLOCK, wav
from tests.conftest import KEY, OTHER, READ_ONLY, Api


def upload_url(api: Api, name: str = "call-2026-03-30.wav", key: str = KEY, **more: Any) -> dict[str, Any]:
    r = api.post("/v1/audio-files/upload-url", key=key, json={"fileName": name, "engagementId": "eng_456", **more})
    assert r.status == 201, r.json
    return dict(r.json)


def xml_code(text: str) -> str:
    found = re.search(r"<Code>(\w+)</Code>", text)
    assert found is not None and text.startswith('<?xml version="1.0" encoding="utf-8"?><Error>'), text
    return found.group(1)


def test_the_three_step_upload_stores_the_file_and_serves_it_back(api: Api) -> None:
    made = upload_url(api, campaignId="camp_789")
    assert re.fullmatch(r"af_\d+", made["audioFileId"]) and made["expiresAt"] == "2024-06-01T12:15:00Z"
    query = urlsplit(made["uploadUrl"]).query
    assert "sp=w" in query and "sig=" in query and "se=2024-06-01T12%3A15%3A00Z" in query
    record = api.get(f"/v1/audio-files/{made['audioFileId']}").json
    assert record["status"] == "awaiting_upload" and record["campaignId"] == "camp_789"

    audio = wav(2.5)
    put = api.request("PUT", path_of(made["uploadUrl"]), key=None, data=audio, headers=BLOCK, check=False)
    assert put.status == 201 and put.text == "" and put.headers["ETag"].startswith('"0x8D')
    record = api.get(f"/v1/audio-files/{made['audioFileId']}").json
    assert {k: record[k] for k in ("status", "contentType", "sizeBytes", "durationInSeconds", "uploadedAt")} == {
        "status": "uploaded", "contentType": "audio/wav", "sizeBytes": len(audio),
        "durationInSeconds": 2.5, "uploadedAt": "2024-06-01T12:00:00Z",
    }  # fmt: skip
    assert "blob" not in record  # the file is kept with the record, not shown in it

    link = api.get(f"/v1/audio-files/{made['audioFileId']}/download-url")
    assert link.status == 200 and link.json["expiresAt"] == "2024-06-01T12:15:00Z"
    got = api.get(path_of(link.json["url"]), key=None, check=False)
    assert got.status == 200 and got.headers["Content-Type"] == "audio/wav"
    assert got.headers["x-ms-blob-type"] == "BlockBlob"
    assert got.text.encode("utf-8", "surrogateescape")[:4] == b"RIFF"


def test_without_x_ms_blob_type_azures_400_in_xml(api: Api) -> None:
    made = upload_url(api)
    r = api.request(
        "PUT", path_of(made["uploadUrl"]), key=None, data=wav(), headers={"Content-Type": "audio/wav"}, check=False
    )
    assert r.status == 400 and r.headers["Content-Type"].startswith("application/xml")
    assert xml_code(r.text) == "MissingRequiredHeader" and "<HeaderName>x-ms-blob-type</HeaderName>" in r.text
    assert r.headers["x-ms-error-code"] == "MissingRequiredHeader"
    assert api.get(f"/v1/audio-files/{made['audioFileId']}").json["status"] == "awaiting_upload"  # nothing stored


@pytest.mark.parametrize(
    ("headers", "named"),
    [({"x-ms-blob-type": "AppendBlob", "Content-Type": "audio/wav"}, "x-ms-blob-type"),
     ({"x-ms-blob-type": "BlockBlob", "Content-Type": "image/png"}, "Content-Type")],
)  # fmt: skip
def test_another_blob_type_or_a_type_that_is_not_audio_is_refused(
    api: Api, headers: dict[str, str], named: str
) -> None:
    made = upload_url(api)
    r = api.request("PUT", path_of(made["uploadUrl"]), key=None, data=wav(), headers=headers, check=False)
    assert r.status == 400 and xml_code(r.text) == "InvalidHeaderValue"
    assert f"<HeaderName>{named}</HeaderName>" in r.text


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.replace("sig=", "sig=A"),
        lambda p: re.sub(r"af_\d+", "af_1", p),
        lambda p: p.replace("client=client_acme", "client=client_globex"),
        lambda p: p.replace("se=2024-06-01T12%3A15", "se=2024-06-01T13%3A15"),
        lambda p: p.replace("sp=w", "sp=r"),
        lambda p: p.split("?")[0],
    ],
)
def test_a_changed_upload_url_is_refused_as_azure_refuses_it(api: Api, change: Any) -> None:
    made = upload_url(api)
    r = api.request("PUT", change(path_of(made["uploadUrl"])), key=None, data=wav(), headers=BLOCK, check=False)
    assert r.status == 403 and xml_code(r.text) == "AuthenticationFailed"


def test_an_upload_url_expires_after_15_minutes_by_the_mocks_clock(api: Api) -> None:
    made = upload_url(api)
    assert api.request("PUT", "/__mock/clock", key=None, json={"advanceSeconds": 900}).status == 200
    r = api.request("PUT", path_of(made["uploadUrl"]), key=None, data=wav(), headers=BLOCK, check=False)
    assert r.status == 403 and xml_code(r.text) == "AuthenticationFailed" and "Signed expiry time" in r.text


def test_a_download_url_reads_only_and_expires(api: Api) -> None:
    made = upload_url(api)
    api.request("PUT", path_of(made["uploadUrl"]), key=None, data=wav(), headers=BLOCK, check=False)
    read = path_of(api.get(f"/v1/audio-files/{made['audioFileId']}/download-url").json["url"])
    put = api.request("PUT", read, key=None, data=wav(), headers=BLOCK, check=False)
    assert put.status == 403 and xml_code(put.text) == "AuthorizationPermissionMismatch"
    assert api.get(path_of(made["uploadUrl"]), key=None, check=False).status == 403  # an upload URL reads nothing
    api.request("PUT", "/__mock/clock", key=None, json={"advanceSeconds": 900})
    r = api.get(read, key=None, check=False)
    assert r.status == 403 and xml_code(r.text) == "AuthenticationFailed"


def test_no_download_url_before_the_upload_and_none_for_another_client(api: Api) -> None:
    made = upload_url(api)
    assert api.get(f"/v1/audio-files/{made['audioFileId']}/download-url").status == 404
    assert api.get(f"/v1/audio-files/{made['audioFileId']}", key=OTHER).status == 404
    assert api.get("/v1/audio-files", key=OTHER).json["totalCount"] == 0


def test_scopes_and_references(api: Api) -> None:
    r = api.post("/v1/audio-files/upload-url", key=READ_ONLY, json={"fileName": "a.wav", "engagementId": "eng_456"})
    assert r.status == 403 and r.json["error"]["requiredScope"] == "audio:write"
    r = api.post("/v1/audio-files/upload-url", json={"fileName": "a.wav", "engagementId": "eng_999"})
    assert r.status == 400 and r.json["error"]["details"][0]["field"] == "body.engagementId"
    assert api.get("/v1/audio-files", key=READ_ONLY).status == 200


def test_the_list_filters_by_engagement_campaign_and_date(api: Api) -> None:
    upload_url(api, "a.wav", campaignId="camp_789")
    upload_url(api, "b.wav", isAICall=True)
    listed = api.get("/v1/audio-files").json
    assert listed["totalCount"] == 2 and listed["pageSize"] == 50 and listed["data"][0]["fileName"] == "b.wav"
    assert [f["fileName"] for f in api.get("/v1/audio-files?campaignId=camp_789").json["data"]] == ["a.wav"]
    assert [f["fileName"] for f in api.get("/v1/audio-files?isAICall=true").json["data"]] == ["b.wav"]
    assert api.get("/v1/audio-files?dateFrom=2024-06-02").json["totalCount"] == 0
    assert api.get("/v1/audio-files?engagementId=eng_456&dateFrom=2024-06-01").json["totalCount"] == 2
    assert api.get("/v1/audio-files?dateTo=2024-05-31").json["totalCount"] == 0
