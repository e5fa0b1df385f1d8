"""``auralytik-mock verify``: against the mock itself (no drift), against an independent
stand-in vendor with deliberate drift (each one named, nothing else), and its safety
rules. Every target is on 127.0.0.1."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from auralytik_mock import MockServer, create_app
from auralytik_mock.cli import main
from auralytik_mock.core.journal import mask_key
from auralytik_mock.core.spec import Spec
from auralytik_mock.core.validation import SchemaSet
from auralytik_mock.verify import MARK, Options, Planner, verify

from .conftest import KEY, OTHER, READ_ONLY, SPEC_PATH, make_config, read_yaml, spec_document, yaml_text
from .drifted_vendor import FULL, GLOBEX, READ, DriftedVendor

VENDOR_KEYS = ["--key", FULL, "--read-only-key", READ, "--other-client-key", GLOBEX]

#: What each deliberate difference of the stand-in must be reported as: (kind, subject).
EXPECTED = {
    "status_422": {("status", "422 for 400")},
    "missing_field": {("missing-field", "Engagement.evaluationCount")},
    "extra_field": {("extra-field", "Engagement.archivedAt")},
    "error_code": {("error-code", "RESOURCE_NOT_FOUND for NOT_FOUND")},
    "no_www_authenticate": {("missing-header", "WWW-Authenticate on 401")},
    "list_envelope": {
        ("missing-field", "EngagementList.page, pageSize, totalCount"),
        ("extra-field", "EngagementList.meta, pagination"),
    },
    "string_count": {("invalid-value", "Engagement.evaluationCount")},
    "scope_ignored": {("status", "201 for 403"), ("status", "200 for 403")},
}
#: The six differences the issue names (the other switches are extra ones).
ISSUE_DRIFTS = [d for d in EXPECTED if d not in {"string_count", "scope_ignored"}]


def _run(argv: list[str], tmp_path: Path) -> tuple[int, dict, str]:
    report = tmp_path / "report.json"
    code = main(["verify", *argv, "--report", str(report)])
    return code, json.loads(report.read_text()), report.read_text()


def _kinds_and_subjects(report: dict) -> set[tuple[str, str]]:
    out = set()
    for drift in report["drift"]:
        out.add((drift["kind"], drift["subject"]))
    return out


@pytest.fixture(scope="module")
def mock_server():
    with MockServer(config=make_config(port=0, clock=None)) as server:
        yield server


def test_verify_against_the_mock_itself_reports_no_drift(mock_server, tmp_path, capsys):
    mock_server.reset()
    junit = tmp_path / "verify.xml"
    argv = ["--base-url", mock_server.url, "--key", KEY, "--read-only-key", READ_ONLY]
    argv += ["--other-client-key", OTHER, "--allow-writes", "--junit", str(junit)]
    code, report, _ = _run(argv, tmp_path)
    out = capsys.readouterr().out
    assert code == 0, out
    assert report["result"] == "ok" and report["drift"] == []
    # Every step agrees, but the recording's own call: only a signed link reaches it (x-mock-signed-url).
    linked = [s for s in report["steps"] if s["operationId"] == "getVoiceCallRecording"]
    assert [(s["case"], s["verdict"]) for s in linked] == [("success", linked[0]["verdict"])] != [("success", "ok")]
    # Webhook registrations are listed, never called: the vendor would POST events to this machine.
    webhooks = [s for s in report["steps"] if "Webhook" in s["operationId"]]
    assert len(webhooks) == 6 and all(s["verdict"].startswith("skipped") for s in webhooks)
    # Likewise the blob store and export files (signed URLs), and what needs a record only an
    # asynchronous flow makes (the fixtures hold none): an export job, an uploaded audio file.
    flows = {"getAudioFileBlob", "putAudioFileBlob", "downloadExport", "downloadAnalyticsExport"}
    flows |= {"getExport", "getAnalyticsExport", "processAudioFile", "getAudioFile", "getAudioFileTranscript"}
    flows |= {"getAudioFileProcessingStatus", "getAudioFileDownloadUrl"}
    linked += [s for s in report["steps"] if s["operationId"] in flows and s["verdict"].startswith("skipped")]
    assert all(step["verdict"] == "ok" for step in report["steps"] if step not in linked + webhooks), out
    cases = {(s["operationId"], s["case"]) for s in report["steps"]}
    # Every operation of the spec, every failure the mock claims to reproduce.
    assert {op.operation_id for op in Spec.load(SPEC_PATH).operations} <= {op for op, _ in cases}
    for case in ("no-key", "unknown-key", "insufficient-scope", "not-found", "other-client-id", "invalid-body"):
        assert ("updateEngagement", case) in cases
    assert ("listEngagements", "over-maximum pageSize") in cases
    assert "No drift" in out and "exit 0" in out
    suite = ET.parse(junit).getroot()
    assert suite.get("failures") == "0" and int(suite.get("tests")) == len(report["steps"])
    created = report["created"]
    assert len(created) == 1 and created[0]["name"].startswith(MARK)


def test_done_when_command_exits_0_and_sends_no_write(mock_server, capsys):
    mock_server.reset()
    code = main(["verify", "--base-url", mock_server.url, "--key", KEY, "--read-only-key", READ_ONLY])
    out = capsys.readouterr().out
    assert code == 0, out
    assert not [r for r in mock_server.requests if r["method"] not in {"GET", "HEAD"}]
    assert "skipped: a write: pass --allow-writes" in out


@pytest.mark.parametrize("drift", sorted(EXPECTED))
def test_verify_names_each_drift_of_the_vendor_and_nothing_else(drift, tmp_path, capsys):
    with DriftedVendor(drift) as vendor:
        code, report, _ = _run(["--base-url", vendor.url, *VENDOR_KEYS, "--allow-writes"], tmp_path)
    assert code == 1
    assert _kinds_and_subjects(report) == EXPECTED[drift], report["drift"]


def test_the_stand_in_without_drift_agrees_with_the_mock(tmp_path, capsys):
    with DriftedVendor() as vendor:
        code, report, _ = _run(["--base-url", vendor.url, *VENDOR_KEYS, "--allow-writes"], tmp_path)
    assert code == 0, report["drift"]


def test_every_drift_at_once_is_spelt_out(tmp_path, capsys):
    with DriftedVendor(*ISSUE_DRIFTS) as vendor:
        code, report, _ = _run(["--base-url", vendor.url, *VENDOR_KEYS, "--allow-writes"], tmp_path)
    out = capsys.readouterr().out
    assert code == 1
    assert _kinds_and_subjects(report) == set().union(*(EXPECTED[d] for d in ISSUE_DRIFTS))
    for sentence in (
        "vendor answered 422 where the spec and the mock give 400",
        "vendor's Engagement has no field evaluationCount",
        "vendor added field archivedAt to Engagement, which the spec does not declare",
        "vendor's error code is RESOURCE_NOT_FOUND where the mock gives NOT_FOUND",
        "vendor's 401 has no WWW-Authenticate header (the spec requires it)",
        "vendor's EngagementList has no fields page, pageSize, totalCount",
    ):
        assert sentence in out
    line = next(line for line in out.splitlines() if " createEngagement" in line and "invalid-body" in line)
    assert line.split()[-3:] == ["422", "400", "DRIFT"]


def test_a_record_created_by_a_call_meant_to_fail_is_listed(tmp_path, capsys):
    with DriftedVendor("scope_ignored") as vendor:
        code, report, _ = _run(["--base-url", vendor.url, *VENDOR_KEYS, "--allow-writes"], tmp_path)
        created_by_vendor = {rid for rid in vendor.records["acme"] if int(rid.removeprefix("eng_")) > 9000}
    out = capsys.readouterr().out
    assert code == 1
    assert "vendor answered 201 where the spec and the mock give 403" in out
    assert {r["id"] for r in report["created"]} == created_by_vendor and len(created_by_vendor) == 2
    assert all(r["name"].startswith(MARK) for r in report["created"])


def test_without_allow_writes_no_write_reaches_the_vendor(tmp_path, capsys):
    with DriftedVendor() as vendor:
        code, report, _ = _run(["--base-url", vendor.url, *VENDOR_KEYS], tmp_path)
    assert code == 0
    assert vendor.writes == []
    skipped = [s for s in report["steps"] if s["operationId"] in {"createEngagement", "updateEngagement"}]
    assert skipped and all(s["verdict"].startswith("skipped") for s in skipped)
    # Every planned call was made, but those whose record no list gave (the fixtures hold no
    # audio file, and no list gives an export's id): said per step.
    no_id = [s for s in report["steps"] if "gave no id" in s["verdict"]]
    assert {s["operationId"] for s in no_id} <= {
        "getAudioFile", "getAudioFileProcessingStatus", "getAudioFileTranscript", "getAudioFileDownloadUrl",
        "getExport", "getAnalyticsExport",
    }  # fmt: skip
    assert report["calls"] == len(vendor.calls) == report["planned"] - len(no_id)


def test_writes_touch_only_records_verify_created_or_ids_that_do_not_exist(tmp_path, capsys):
    with DriftedVendor() as vendor:
        before = json.loads(json.dumps(vendor.records))
        code, report, _ = _run(["--base-url", vendor.url, *VENDOR_KEYS, "--allow-writes"], tmp_path)
        created = {r["id"] for r in report["created"]}
        patched = {path.rsplit("/", 1)[-1] for method, path in vendor.writes if method == "PATCH"}
        for client, records in before.items():
            for rid, record in records.items():
                assert vendor.records[client][rid] == record
    assert code == 0
    # PATCHed: the record verify created, ids that do not exist, and (with an empty body,
    # answered 404) the other client's record; never one of the key's own records.
    assert patched & created
    assert not patched & set(before["acme"])


def test_keys_never_appear_in_output_or_reports(tmp_path, capsys):
    junit = tmp_path / "v.xml"
    with DriftedVendor(*EXPECTED) as vendor:
        argv = ["--base-url", vendor.url, *VENDOR_KEYS, "--allow-writes", "--junit", str(junit)]
        code, _, text = _run(argv, tmp_path)
    out = capsys.readouterr()
    assert code == 1
    for key in (FULL, READ, GLOBEX):
        for written in (out.out, out.err, text, junit.read_text()):
            assert key not in written
    assert mask_key(FULL) in out.out


def test_a_429_is_waited_out_as_retry_after_says(tmp_path):
    waits: list[float] = []
    lines: list[str] = []
    with DriftedVendor(rate_limit_once=True, retry_after="2") as vendor:
        outcome = verify(make_config(), Options(base_url=vendor.url, key=FULL), say=lines.append, sleep=waits.append)
    assert waits == [2.0]
    assert outcome.exit_code == 0 and outcome.results[0].vendor.answer.status == 200
    assert any("waiting 2 s as Retry-After says" in line for line in lines)


def test_a_retry_after_longer_than_max_wait_stops_with_exit_2(tmp_path, capsys):
    with DriftedVendor(rate_limit_once=True, retry_after="3600") as vendor:
        code = main(["verify", "--base-url", vendor.url, "--key", FULL, "--max-wait", "60"])
    assert code == 2
    assert "more than --max-wait" in capsys.readouterr().out


def test_a_refused_key_exits_2(tmp_path, capsys):
    with DriftedVendor() as vendor:
        code = main(["verify", "--base-url", vendor.url, "--key", "not_a_key_of_this_vendor_123"])
    out = capsys.readouterr().out
    assert code == 2
    assert "the target refused the key" in out and "not_a_key_of_this_vendor_123" not in out


def test_an_unreachable_target_exits_2(capsys):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = main(["verify", "--base-url", f"http://127.0.0.1:{port}/v1", "--key", FULL])
    assert code == 2
    assert "cannot reach" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys, monkeypatch):
    monkeypatch.delenv("AURALYTIK_MOCK_VERIFY_KEY", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", "--base-url", "http://127.0.0.1:9/v1"])
    assert exit_info.value.code == 2
    assert "--key" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", "--base-url", "ftp://example/v1", "--key", "k"])
    assert exit_info.value.code == 2


def test_options_come_from_the_environment(mock_server, monkeypatch, capsys):
    mock_server.reset()
    monkeypatch.setenv("AURALYTIK_MOCK_VERIFY_BASE_URL", mock_server.url)
    monkeypatch.setenv("AURALYTIK_MOCK_VERIFY_KEY", KEY)
    monkeypatch.setenv("AURALYTIK_MOCK_VERIFY_READ_ONLY_KEY", READ_ONLY)
    assert main(["verify"]) == 0
    assert "insufficient-scope" in capsys.readouterr().out


def test_only_the_base_urls_origin_is_called(tmp_path, capsys):
    with DriftedVendor() as vendor:
        _run(["--base-url", vendor.url, *VENDOR_KEYS, "--allow-writes"], tmp_path)
    paths = {path for _, path, _ in vendor.calls}
    assert all(p.startswith("/v1/") or p == "/v1/engagements" or p == "/health" for p in paths), paths


def test_the_plan_follows_the_spec_not_a_list_of_operations(tmp_path):
    document = spec_document()
    del document["paths"]["/engagements/{id}"]["patch"]
    document["paths"]["/engagements"]["get"]["parameters"][1]["schema"]["maximum"] = 50
    region = {"name": "region", "in": "query", "required": True, "example": "eu", "schema": {"type": "string"}}
    document["paths"]["/engagements"]["get"]["parameters"].append(region)
    spec = Spec(document, "trimmed")
    steps = Planner(spec, SchemaSet(spec)).plan(read_only=True, other=False, allow_writes=True)
    assert "updateEngagement" not in {s.op.operation_id for s in steps}
    over = next(s for s in steps if s.case == "over-maximum pageSize" and s.op.operation_id == "listEngagements")
    assert dict(over.query) == {"region": "eu", "pageSize": "51"}
    success = next(s for s in steps if s.op.operation_id == "listEngagements" and s.case == "success")
    assert dict(success.query) == {"region": "eu"}  # a required parameter, from its example
    assert not [s for s in steps if s.case.startswith("other-client")]


def test_record_writes_a_fixture_file_the_mock_serves(tmp_path, capsys):
    folder = tmp_path / "recorded"
    with DriftedVendor() as vendor:
        code = main(["verify", "--base-url", vendor.url, *VENDOR_KEYS, "--record", str(folder)])
    assert code == 0
    text = (folder / "recorded.yaml").read_text()
    assert FULL not in text and READ not in text and "RECORDED_API_KEY" in text
    client = create_app(make_config(fixtures=(folder,))).test_client()
    listed = client.get("/v1/engagements", headers={"Authorization": "Bearer RECORDED_API_KEY"}).json
    assert [e["id"] for e in listed["data"]] == ["eng_7001", "eng_7000"]
    assert listed["data"][0]["name"] == "Maria Lopez call review"


def test_record_anonymize_replaces_free_text_deterministically(tmp_path, capsys):
    texts = []
    for run in range(2):
        folder = tmp_path / f"run{run}"
        with DriftedVendor() as vendor:
            argv = ["verify", "--base-url", vendor.url, "--key", FULL, "--record", str(folder), "--anonymize"]
            assert main(argv) == 0
        texts.append((folder / "recorded.yaml").read_text())
    assert read_yaml(texts[0]) == read_yaml(texts[1])  # the header names the (random) port
    assert "Maria" not in texts[0] and "Onboarding audit" not in texts[0]
    records = read_yaml(texts[0])["clients"][0]["engagements"]
    assert [r["id"] for r in records] == ["eng_7001", "eng_7000"]
    assert records[0]["type"] == "quality_review" and records[0]["evaluationCount"] == 12
    create_app(make_config(fixtures=(tmp_path / "run0",)))  # loads: every record still valid


def _readme_section() -> str:
    return (SPEC_PATH.parent / "docs" / "how-to" / "verify.md").read_text()


def test_readme_sandbox_command_exits_0(mock_server, capsys):
    mock_server.reset()
    block = _readme_section().split("```sh\n", 1)[1].split("```", 1)[0]
    line = next(line for line in block.splitlines() if line.startswith("auralytik-mock verify"))
    argv = line.split()[1:]
    argv[argv.index("--base-url") + 1] = mock_server.url
    assert main(argv) == 0
    assert "No drift" in capsys.readouterr().out


def test_readme_nightly_job_sets_only_options_verify_reads(mock_server, tmp_path, monkeypatch, capsys):
    block = _readme_section().split("```yaml\n", 1)[1].split("```", 1)[0]
    job = yaml.safe_load(block)
    assert job[True]["schedule"][0]["cron"]  # YAML 1.1 reads the key "on" as True
    step = next(s for s in job["jobs"]["verify"]["steps"] if "auralytik-mock verify" in s.get("run", ""))
    # The job's environment, pointed at the sandbox, runs as written (from the repository's folder).
    monkeypatch.chdir(tmp_path)
    keys = {"AURALYTIK_KEY": KEY, "AURALYTIK_READ_ONLY_KEY": READ_ONLY, "AURALYTIK_OTHER_CLIENT_KEY": OTHER}
    for name, value in step["env"].items():
        secret = value.removeprefix("${{ secrets.").removesuffix(" }}")
        monkeypatch.setenv(name, keys.get(secret, mock_server.url))
    mock_server.reset()
    assert main(step["run"].split()[1:]) == 0
    assert json.loads((tmp_path / "verify.json").read_text())["result"] == "ok"
    assert ET.parse(tmp_path / "verify.xml").getroot().get("failures") == "0"
    assert (tmp_path / "recorded" / "recorded.yaml").is_file()


def test_redirects_are_not_followed_off_the_base_url(capsys):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    elsewhere: list[str] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def do_GET(self):
            elsewhere.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    class Redirecting(Elsewhere):
        def do_GET(self):
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{other.server_port}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

    other = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    target = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (other, target)]
    for thread in threads:
        thread.start()
    try:
        code = main(["verify", "--base-url", f"http://127.0.0.1:{target.server_port}/v1", "--key", FULL])
    finally:
        for server in (other, target):
            server.shutdown()
            server.server_close()
    out = capsys.readouterr().out
    assert elsewhere == []
    assert code == 1 and "vendor answered 302 where the spec and the mock give 200" in out


@pytest.mark.parametrize(
    ("base_url", "list_prefix", "health_prefix"),
    [
        ("https://api.example.com/v1", "/v1", ""),
        ("https://gateway.example.com/proxy/v1/", "/proxy/v1", "/proxy"),
        ("https://staging.example.com/stage", "/stage", None),  # a base path of its own: /health cannot be placed
    ],
)
def test_paths_are_placed_under_the_base_url(base_url, list_prefix, health_prefix):
    from auralytik_mock.verify import Verifier

    verifier = Verifier(make_config(), Options(base_url=base_url, key="k"), say=lambda line: None)
    ops = {op.operation_id: op for op in verifier.spec.operations}
    assert verifier.placement.target_prefix(ops["listEngagements"]) == list_prefix
    assert verifier.placement.target_prefix(ops["getHealth"]) == health_prefix
    assert verifier.placement.mock_prefix(ops["listEngagements"]) == "/v1"


def test_a_signing_base_path_without_a_secret_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", "--base-url", "http://127.0.0.1:9/api/v1", "--key", "ak_live_" + "a" * 32])
    assert exit_info.value.code == 2
    assert "--secret" in capsys.readouterr().err


HMAC_KEY = "ak_live_abc123def456ghi789jkl012mno345pq"
HMAC_READ_ONLY = "ak_live_readonly000000000000000000000000"


def test_verify_signs_its_calls_on_api_v1(mock_server, tmp_path, capsys):
    mock_server.reset()
    argv = ["--base-url", mock_server.root_url + "/api/v1", "--key", HMAC_KEY, "--secret", "YOUR_HMAC_SECRET"]
    argv += ["--read-only-key", HMAC_READ_ONLY, "--read-only-secret", "READ_ONLY_HMAC_SECRET", "--allow-writes"]
    code, report, text = _run(argv, tmp_path)
    out = capsys.readouterr().out
    assert code == 0, out
    steps = {(s["operationId"], s["case"]): s for s in report["steps"]}
    assert steps[("listEngagements", "success")]["vendor"]["path"] == "/api/v1/engagements"
    assert steps[("createEngagement", "insufficient-scope")]["vendor"]["status"] == 403
    # The signing failures the mock reproduces, answered alike by target and mock.
    assert steps[("getEngagement", "bad-signature")]["vendor"]["errorCode"] == "INVALID_SIGNATURE"
    assert steps[("getEngagement", "stale-timestamp")]["mock"]["errorCode"] == "STALE_TIMESTAMP"
    signed = [r for r in mock_server.requests if r["path"].startswith("/api/v1/") and r["status"] < 300]
    assert len(signed) >= 4
    for secret in ("YOUR_HMAC_SECRET", "READ_ONLY_HMAC_SECRET", HMAC_KEY):
        assert secret not in out and secret not in text


def test_a_wrong_secret_is_a_refused_key(mock_server, capsys):
    argv = ["verify", "--base-url", mock_server.root_url + "/api/v1", "--key", HMAC_KEY, "--secret", "WRONG_SECRET"]
    assert main(argv) == 2
    assert "the target refused the key ak_...45pq (listAudioFiles answered 401 INVALID_SIGNATURE)" in (
        capsys.readouterr().out
    )


def test_record_reads_every_page_of_a_list_within_record_pages(tmp_path, capsys):
    with DriftedVendor(more_records=130) as vendor:
        assert main(["verify", "--base-url", vendor.url, "--key", FULL, "--record", str(tmp_path / "all")]) == 0
        pages = [path for method, path, _ in vendor.calls if path == "/v1/engagements"]
        argv = ["verify", "--base-url", vendor.url, "--key", FULL, "--record", str(tmp_path / "one")]
        assert main([*argv, "--record-pages", "1"]) == 0
    out = capsys.readouterr().out
    records = read_yaml((tmp_path / "all" / "recorded.yaml").read_text())["clients"][0]["engagements"]
    assert len(records) == 132
    lists = sum(  # webhook registrations are not verified, so not recorded
        1
        for op in Spec.load(SPEC_PATH).operations
        if op.operation_id.startswith("list") and "Webhook" not in op.operation_id
    )
    assert f"then up to {10 * lists} pages for --record" in out  # 10 pages of each list
    # The sequence's 5 list calls (success, no key, unknown key, 2 over-maximum), then pages
    # of 100 until a short one: 2 more.
    assert len(pages) == 5 + 2
    one = read_yaml((tmp_path / "one" / "recorded.yaml").read_text())["clients"][0]["engagements"]
    assert len(one) == 100
    assert "listEngagements: recorded the first 1 pages only (--record-pages)" in out


def test_a_refused_key_is_said_once_and_no_row_calls_it_ok(mock_server, capsys):
    code = main(["verify", "--base-url", mock_server.url, "--key", "WRONG_KEY_123456"])
    out = capsys.readouterr().out
    assert code == 2
    assert out.count("refused the key") == 1 and "(listAudioFiles answered 401 INVALID_API_KEY)" in out
    assert not re.search(r"\b401\s+200\s+ok\b", out), out
    table = out.split("Could not run:")[0]
    assert "listEngagements" not in table, "the refused call is told in the error line, not as a row"
    assert out.rstrip().splitlines()[-1].startswith("Could not run: the target refused the key WRO...3456")
    assert "\n\n\n" not in out


def _spec_with_servers(tmp_path: Path, servers: list[dict]) -> Path:
    document = spec_document()
    document["servers"] = servers
    path = tmp_path / "openapi.yaml"
    path.write_text(yaml_text(document, sort_keys=False))
    return path


def test_the_scheme_comes_from_the_spec_not_from_the_path(tmp_path, capsys, small_fixtures):
    """Which base path signs is what its servers accept (x-mock-security), whatever it is called.
    (The small fixtures: each edited spec is a new seed to make, and the data is not the point.)"""
    from auralytik_mock.verify import Verifier

    signed_server = {"url": "https://api.example.com/signed", "x-mock-security": ["apiKeyAuth"]}
    signed = _spec_with_servers(tmp_path, [signed_server])
    with pytest.raises(SystemExit) as exit_info:  # a staging URL of its own stands for the spec's base path
        main(["verify", "--spec", str(signed), "--base-url", "http://127.0.0.1:9/stage", "--key", HMAC_KEY])
    assert exit_info.value.code == 2 and "--secret" in capsys.readouterr().err

    bearer = _spec_with_servers(tmp_path, [{"url": "https://api.example.com/v2", "x-mock-security": ["bearerAuth"]}])
    config = make_config(spec_path=bearer, fixtures=(small_fixtures,))
    for url in ("https://staging.example.com/api/v1", "https://api.example.com/v2"):
        assert Verifier(config, Options(base_url=url, key="k"), say=lambda line: None).scheme == "bearer"

    both = _spec_with_servers(tmp_path, [{"url": "https://api.example.com/v1"}])  # binds no scheme: takes both
    config = make_config(spec_path=both, fixtures=(small_fixtures,))
    options = Options(base_url="https://api.example.com/v1", key=HMAC_KEY)
    assert Verifier(config, options, say=lambda line: None).scheme == "bearer"
    signing = Verifier(config, Options(**{**options.__dict__, "secret": "s3cret"}), say=lambda line: None)
    assert signing.scheme == "hmac"


def test_an_unknown_key_has_the_shape_of_the_real_one():
    from auralytik_mock.core.profile import load_profile
    from auralytik_mock.verify.auth import unknown_key_like

    unknown = unknown_key_like(HMAC_KEY)
    assert unknown != HMAC_KEY and load_profile("auralytik").is_signing_key(unknown), unknown
    assert unknown_key_like(FULL) == "live_acme_full_0000000000xxxxxx"
    assert unknown_key_like("xxxx_0000") == "xxxx_1111"
    assert unknown_key_like("plainkey") == "xxxxxxxx"


def test_record_keeps_a_bounded_number_of_records_per_kind_and_says_so(tmp_path, capsys, monkeypatch):
    from auralytik_mock.verify import sides

    monkeypatch.setattr(sides, "MAX_RECORDS_KEPT", 40)
    monkeypatch.setattr("auralytik_mock.verify.record.MAX_RECORDS_KEPT", 40)
    with DriftedVendor(more_records=130) as vendor:
        assert main(["verify", "--base-url", vendor.url, "--key", FULL, "--record", str(tmp_path / "rec")]) == 0
    out = capsys.readouterr().out
    records = read_yaml((tmp_path / "rec" / "recorded.yaml").read_text())["clients"][0]["engagements"]
    assert len(records) == 40
    assert "engagements: recorded the first 40 records only (the most kept per kind)" in out


def test_each_verify_option_is_declared_once_with_its_documented_variable():
    # docs: every option can come from AURALYTIK_MOCK_VERIFY_<NAME>; the flags, the reader and
    # the docs table are all generated from the Options fields.
    import dataclasses

    from auralytik_mock.verify.options import VERIFY_OPTIONS

    assert [o.name for o in VERIFY_OPTIONS] == [f.name for f in dataclasses.fields(Options)]
    for opt in VERIFY_OPTIONS:
        assert opt.flag is not None and opt.variable == "AURALYTIK_MOCK_VERIFY_" + opt.flag[2:].upper().replace(
            "-", "_"
        )


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        (
            "AURALYTIK_MOCK_VERIFY_MAX_CALLS",
            "ten",
            "AURALYTIK_MOCK_VERIFY_MAX_CALLS: must be a whole number, got 'ten'",
        ),
        ("AURALYTIK_MOCK_VERIFY_ALLOW_WRITES", "maybe", "AURALYTIK_MOCK_VERIFY_ALLOW_WRITES: not a boolean"),
    ],
)
def test_a_variable_of_the_wrong_form_is_refused_naming_it(monkeypatch, capsys, variable, value, fragment):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", "--base-url", "http://127.0.0.1:9/v1", "--key", "k"])
    assert exit_info.value.code == 2 and fragment in capsys.readouterr().err


def test_a_flag_of_the_wrong_form_is_refused_naming_it(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", "--base-url", "http://127.0.0.1:9/v1", "--key", "k", "--record-pages", "many"])
    assert exit_info.value.code == 2 and "--record-pages: must be a whole number" in capsys.readouterr().err
