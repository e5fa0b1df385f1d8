"""The vendor's Voice calls: transcripts, post-call surveys (EPA) and signed recording links."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from tests.api.support import path_of
from tests.conftest import KEY, OTHER, Api

ENGAGEMENTS_ONLY = "ENGAGEMENTS_ONLY_API_KEY"
OFFSET = re.compile(r"\d\d:[0-5]\d:[0-5]\d\Z")


def test_the_vendors_example_call_answers_its_documented_shape(api: Api) -> None:
    r = api.get("/v1/voice-calls/vc_abc123")
    assert r.status == 200
    assert {k: r.json[k] for k in ("campaignId", "direction", "state", "durationSeconds", "talkTimeSeconds")} == {
        "campaignId": "camp_456", "direction": "Outbound", "state": "Completed",
        "durationSeconds": 312, "talkTimeSeconds": 287,
    }  # fmt: skip
    assert r.json["transcript"][0] == {
        "role": "agent",
        "text": r.json["transcript"][0]["text"],
        "timestamp": "00:00:01",
    }
    epa = api.get("/v1/voice-calls/vc_abc123/epa-results")
    assert epa.status == 200 and epa.json == r.json["epaResults"] and epa.json["state"] == "Completed"


def test_the_survey_is_kept_once_and_epa_results_answers_it(api: Api) -> None:
    state = api.get("/__mock/state", key=None).json
    acme = next(c for c in state["clients"] if c["id"] == "client_acme")
    example = next(c for c in acme["voice-calls"] if c["id"] == "vc_abc123")
    assert "epa-results" not in example and example["epaResults"]["state"] == "Completed"
    example["epaResults"]["calculatedScore"] = 12.5  # a change to the call shows in epa-results
    assert api.request("PUT", "/__mock/state", key=None, json=state).status == 200
    assert api.get("/v1/voice-calls/vc_abc123/epa-results").json["calculatedScore"] == 12.5
    assert "plan" in acme and acme["plan"]["tier"] == "professional"  # the dump keeps the client's plan


def test_every_call_is_consistent_with_itself_and_its_campaign(api: Api) -> None:
    for key in (KEY, OTHER):
        calls = api.get("/v1/voice-calls?pageSize=100", key=key).json["data"]
        assert calls
        for call in calls:
            assert api.get(f"/v1/campaigns/{call['campaignId']}", key=key).status == 200
            assert call["talkTimeSeconds"] <= call["durationSeconds"]
            assert all(OFFSET.match(turn["timestamp"]) for turn in call["transcript"])
            offsets = [turn["timestamp"] for turn in call["transcript"]]
            assert offsets == sorted(offsets)
            start, end = (datetime.fromisoformat(call[f]) for f in ("startTime", "endTime"))
            assert (end - start).total_seconds() == call["durationSeconds"]
            if call["state"] != "Completed":  # nobody answered: no talk, no transcript, no survey
                assert (call["transcript"], call["talkTimeSeconds"], call["outcome"]) == ([], 0, "NoContact")
                assert call["epaResults"] is None and call["durationSeconds"] < 60
            else:
                assert call["transcript"][0]["role"] == "agent" and call["outcome"] != "NoContact"
                assert {t["role"] for t in call["transcript"]} == {"agent", "customer"}
                last = call["transcript"][-1]["timestamp"]
                assert int(last[:2]) * 3600 + int(last[3:5]) * 60 + int(last[6:]) < call["durationSeconds"]
                assert (call["epaResults"] is None) == (call["campaignId"] == "camp_14")  # the one without a survey
            epa = call["epaResults"]
            if epa is None:
                assert api.get(f"/v1/voice-calls/{call['id']}/epa-results", key=key).status == 404
                continue
            scores = [r["score"] for r in epa["responses"]]
            assert epa["questionsAnswered"] == len(scores) <= epa["totalQuestions"]
            mean = round(sum(scores) / len(scores) / 5 * 100, 1) if scores else None
            assert epa["calculatedScore"] == mean
            assert (epa["state"] == "Completed") == (epa["completionReason"] == "AllAnswered")
            assert (epa["state"] == "NotStarted") == (not scores)
            assert (epa["state"] == "Completed") == (len(scores) == epa["totalQuestions"])
            labels = {"Very satisfied": 5, "Satisfied": 4, "Mostly": 4, "Likely": 4, "Very likely": 5, "Neutral": 3}
            assert all(labels.get(r["answer"], r["score"]) == r["score"] for r in epa["responses"]), epa


@pytest.mark.parametrize(
    ("query", "field", "value"),
    [("state=NoAnswer", "state", "NoAnswer"), ("direction=Inbound", "direction", "Inbound"),
     ("campaignId=camp_789", "campaignId", "camp_789")],
)  # fmt: skip
def test_filters_select_the_calls_they_name(api: Api, query: str, field: str, value: str) -> None:
    r = api.get(f"/v1/voice-calls?{query}&pageSize=100")
    assert r.status == 200 and r.json["totalCount"] > 0 and {c[field] for c in r.json["data"]} == {value}


def test_date_filters_bound_the_start_time(api: Api) -> None:
    calls = api.get("/v1/voice-calls?dateFrom=2024-02-01&dateTo=2024-02-29&pageSize=100").json["data"]
    assert calls and all("2024-02-01" <= c["startTime"][:10] <= "2024-02-29" for c in calls)


def test_a_recording_link_serves_the_audio_without_a_key(api: Api) -> None:
    link = api.get("/v1/voice-calls/vc_abc123/recording-url")
    assert link.status == 200 and link.json["expiresAt"] == "2024-06-01T12:15:00Z"  # 15 minutes after the clock
    audio = api.get(path_of(link.json["url"]), key=None, check=False)
    assert audio.status == 200 and audio.headers["Content-Type"].startswith("application/octet-stream")
    assert audio.text.startswith("RIFF") and "WAVE" in audio.text[:12]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda p: p.replace("signature=", "signature=0"), "INVALID_LINK_SIGNATURE"),
        (lambda p: re.sub(r"signature=\w+", "signature=%C3%94%F1%A8%B3%87", p), "INVALID_LINK_SIGNATURE"),
        (lambda p: p.replace("client=client_acme", "client=%F3%9A%9A%B9"), "INVALID_LINK_SIGNATURE"),
        (lambda p: p.replace("vc_abc123", "vc_1001"), "INVALID_LINK_SIGNATURE"),
        (lambda p: p.replace("client_acme", "client_globex"), "INVALID_LINK_SIGNATURE"),
        (
            lambda p: re.sub(r"expires=(\d+)", lambda m: f"expires={int(m.group(1)) + 3600}", p),
            "INVALID_LINK_SIGNATURE",
        ),
    ],
)
def test_a_changed_recording_link_is_refused(api: Api, change, code: str) -> None:  # type: ignore[no-untyped-def]
    path = path_of(api.get("/v1/voice-calls/vc_abc123/recording-url").json["url"])
    r = api.get(change(path), key=None)
    assert r.status == 403 and r.json["error"]["code"] == code


def test_a_recording_link_expires_after_15_minutes(api: Api) -> None:
    path = path_of(api.get("/v1/voice-calls/vc_abc123/recording-url").json["url"])
    assert api.request("PUT", "/__mock/clock", key=None, json={"advanceSeconds": 899}).status == 200
    assert api.get(path, key=None, check=False).status == 200
    assert api.request("PUT", "/__mock/clock", key=None, json={"advanceSeconds": 1}).status == 200
    r = api.get(path, key=None)
    assert r.status == 403 and r.json["error"]["code"] == "LINK_EXPIRED"


def test_scopes_and_tenants(api: Api) -> None:
    assert api.get("/v1/voice-calls/vc_abc123", key=OTHER).status == 404
    assert api.get("/v1/voice-calls/vc_abc123/recording-url", key=OTHER).status == 404
    r = api.get("/v1/voice-calls", key=ENGAGEMENTS_ONLY)
    assert r.status == 403 and r.json["error"]["requiredScope"] == "voice:read"
    r = api.get("/v1/voice-calls/vc_abc123/recording-url", key=ENGAGEMENTS_ONLY)
    assert r.status == 403 and r.json["error"]["requiredScope"] == "audio:download"
