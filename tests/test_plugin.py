"""The pytest plugin, as a project that only installed the package meets it (pytester).

The entry point's registration and xdist run pytest in a subprocess, as a project does; the
other runs are in-process (the same plugin, fixtures and files, without a fresh interpreter's
imports and fixture loading: about 0.7 s a run instead of 10-30 s on a busy machine).
"""

from __future__ import annotations

import pytest

from tests.conftest import FIXTURES

#: For the runs in a fresh interpreter: this venv's plugins that have nothing to do with ours
#: (hypothesis, schemathesis, anyio: importing them cost 1.3 s of each process, xdist's workers
#: included). Ours still comes from its entry point.
UNRELATED_PLUGINS = ("-p", "no:hypothesispytest", "-p", "no:schemathesis", "-p", "no:anyio")


def test_plugin_is_registered_through_the_entry_point(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider", *UNRELATED_PLUGINS)
    for name in ("auralytik_mock", "auralytik_mock_server", "auralytik_mock_client", "auralytik_mock_config"):
        result.stdout.fnmatch_lines([f"{name}*"])


def test_state_is_reset_between_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import requests

        def test_a_creates(auralytik_mock):
            r = requests.post(f"{auralytik_mock.url}/engagements", headers=auralytik_mock.auth(),
                              json={"name": "n", "type": "t"})
            assert r.status_code == 201

        def test_b_sees_the_fixtures_again(auralytik_mock):
            r = requests.get(f"{auralytik_mock.url}/engagements", headers=auralytik_mock.auth())
            assert r.json()["totalCount"] == 5
            assert auralytik_mock.requests[-1]["path"] == "/v1/engagements"
            assert len(auralytik_mock.requests) == 1

        def test_c_one_server_per_session(auralytik_mock, auralytik_mock_server):
            assert auralytik_mock is auralytik_mock_server
        """
    )
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_config_fixture_can_be_overridden_in_conftest(pytester: pytest.Pytester) -> None:
    fixtures = pytester.mkdir("my_fixtures")
    (fixtures / "one.yaml").write_text((FIXTURES / "globex.yaml").read_text().replace("OTHER_CLIENT_API_KEY", "MY_KEY"))
    pytester.makeconftest(
        """
        import pytest
        from auralytik_mock import Config

        @pytest.fixture(scope="session")
        def auralytik_mock_config():
            return Config(fixtures=("my_fixtures",), clock="2025-05-05T05:05:05Z")
        """
    )
    pytester.makepyfile(
        """
        import requests

        def test_own_fixtures_and_clock(auralytik_mock):
            r = requests.post(f"{auralytik_mock.url}/engagements", headers=auralytik_mock.auth("MY_KEY"),
                              json={"name": "n", "type": "t"})
            assert r.json()["createdAt"] == "2025-05-05T05:05:05Z"
            assert requests.get(f"{auralytik_mock.url}/engagements",
                                headers=auralytik_mock.auth("YOUR_API_KEY")).status_code == 401

        def test_client_fixture_needs_no_socket(auralytik_mock_client):
            r = auralytik_mock_client.get("/v1/engagements", headers={"Authorization": "Bearer MY_KEY"})
            assert r.json["totalCount"] == 2
        """
    )
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_works_under_xdist_with_a_server_per_worker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import os
        import pytest
        import requests

        @pytest.mark.parametrize("n", range(8))
        def test_create_then_count(auralytik_mock, n):
            h = auralytik_mock.auth()
            assert requests.post(f"{auralytik_mock.url}/engagements", headers=h,
                                 json={"name": f"n{n}", "type": "t"}).status_code == 201
            assert requests.get(f"{auralytik_mock.url}/engagements", headers=h).json()["totalCount"] == 6
            with open(f"port-{os.environ['PYTEST_XDIST_WORKER']}", "w") as f:
                f.write(str(auralytik_mock.port))
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider", *UNRELATED_PLUGINS, "-n", "2").assert_outcomes(passed=8)
    ports = {p.read_text() for p in pytester.path.glob("port-gw*")}
    assert len(ports) == 2, "each worker has its own server"


@pytest.mark.parametrize("run_from", [".", "tests", "tests/deeper"])
def test_readme_conftest_paths_work_from_any_folder(pytester: pytest.Pytester, monkeypatch, run_from: str) -> None:
    # The tutorial's conftest names "tests/my-fixtures"; it resolves against pytest's rootdir,
    # not the working folder (issue 9, problem 9).
    import re

    from tests.conftest import ROOT

    readme = (ROOT / "docs" / "tutorials" / "pytest-suite.md").read_text()
    (conftest,) = re.findall(r"```python\n(# conftest\.py\n.*?)```", readme, re.DOTALL)
    pytester.makefile(".toml", pyproject="[tool.pytest.ini_options]\n")
    fixtures = pytester.mkdir("tests") / "my-fixtures"
    fixtures.mkdir()
    (fixtures / "one.yaml").write_text((FIXTURES / "globex.yaml").read_text())
    pytester.makeconftest(conftest)
    (pytester.path / "tests" / "deeper").mkdir()
    (pytester.path / "tests" / "deeper" / "test_mine.py").write_text(
        "import requests\n\n"
        "def test_own_fixtures(auralytik_mock, auralytik_mock_client):\n"
        "    headers = {'Authorization': 'Bearer OTHER_CLIENT_API_KEY'}\n"
        "    r = requests.get(f'{auralytik_mock.url}/engagements', headers=headers)\n"
        "    assert r.json()['totalCount'] == 2\n"
        "    assert auralytik_mock_client.get('/v1/engagements', headers=headers).json['totalCount'] == 2\n"
    )
    monkeypatch.chdir(pytester.path / run_from)
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_plugin_fixtures_sign_requests_for_api_v1(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest
        from auralytik_mock import Config

        @pytest.fixture(scope="session")
        def auralytik_mock_config():
            return Config(clock="2025-05-05T05:05:05Z")
        """
    )
    pytester.makepyfile(
        """
        import httpx
        import requests

        def test_requests_session_signs_at_the_pinned_clock(auralytik_mock):
            session = requests.Session()
            session.auth = auralytik_mock.requests_auth()
            r = session.post(f"{auralytik_mock.signed_url}/engagements", json={"name": "n", "type": "t"})
            assert r.status_code == 201
            assert auralytik_mock.requests[-1]["path"] == "/api/v1/engagements"
            assert auralytik_mock.requests[-1]["apiKey"].endswith("45pq")

        def test_httpx_client_signs(auralytik_mock):
            with httpx.Client(auth=auralytik_mock.httpx_auth()) as client:
                assert client.get(f"{auralytik_mock.signed_url}/engagements").json()["totalCount"] == 5

        def test_headers_by_hand(auralytik_mock):
            headers = auralytik_mock.sign("GET", "/api/v1/engagements/eng_456")
            assert headers["X-Timestamp"] == "1746421505"
            r = requests.get(f"{auralytik_mock.signed_url}/engagements/eng_456", headers=headers)
            assert r.status_code == 200
        """
    )
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_readme_conftest_and_readme_tests_pass_together(pytester: pytest.Pytester) -> None:
    # A new user copies the tutorial's conftest.py (with its pinned clock) next to the README's
    # tests, with the bundled fixtures as their own: every example must still pass.
    import re

    from tests.conftest import ROOT

    tutorial = (ROOT / "docs" / "tutorials" / "pytest-suite.md").read_text()
    (conftest,) = re.findall(r"```python\n(# conftest\.py\n.*?)```", tutorial, re.DOTALL)
    readme = (ROOT / "README.md").read_text()
    (tests,) = re.findall(r"<!-- test: pytest -->\n```python\n(.*?)```", readme, re.DOTALL)
    pytester.makefile(".toml", pyproject="[tool.pytest.ini_options]\n")
    fixtures = pytester.mkdir("tests") / "my-fixtures"
    fixtures.mkdir()
    for source in sorted(FIXTURES.glob("*.yaml")):
        (fixtures / source.name).write_text(source.read_text())
    pytester.makeconftest(conftest)
    (pytester.path / "tests" / "test_readme_examples.py").write_text(tests)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=tests.count("\ndef test_"))


def test_the_plugin_fixture_steers_faults_and_the_clock_and_resets_them(pytester: pytest.Pytester) -> None:
    """Issue 17.16: helpers for fault rules and the clock, through the plugin's fixture;
    ``auth()`` with your own fixtures uses their first key."""
    fixtures = pytester.mkdir("my_fixtures")
    (fixtures / "one.yaml").write_text((FIXTURES / "globex.yaml").read_text().replace("OTHER_CLIENT_API_KEY", "MY_KEY"))
    pytester.makeconftest(
        """
        import pytest
        from auralytik_mock import Config

        @pytest.fixture(scope="session")
        def auralytik_mock_config():
            return Config(fixtures=("my_fixtures",))
        """
    )
    pytester.makepyfile(
        """
        import requests

        def test_a_fault_and_a_moved_clock(auralytik_mock):
            mock = auralytik_mock
            rule = mock.fault("/v1/engagements", method="GET", status=503, times=1)
            assert requests.get(f"{mock.url}/engagements", headers=mock.auth()).status_code == 503
            assert rule.hits == 1
            mock.set_clock("2024-01-01T00:00:00Z")
            mock.advance(3600)
            made = requests.post(f"{mock.url}/engagements", headers=mock.auth(), json={"name": "n", "type": "t"})
            assert made.json()["createdAt"] == "2024-01-01T01:00:00Z"
            mock.fault("/v1/engagements", status=500)

        def test_b_starts_clean(auralytik_mock):
            mock = auralytik_mock
            assert mock.faults == []
            assert requests.get(f"{mock.url}/engagements", headers=mock.auth()).status_code == 200
            assert mock.now != "2024-01-01T01:00:00Z"
        """
    )
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)
