"""The pytest plugin, as a project that only installed the package meets it (pytester)."""

from __future__ import annotations

import pytest

from tests.conftest import FIXTURES


def test_plugin_is_registered_through_the_entry_point(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider")
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
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=3)


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
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


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
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2").assert_outcomes(passed=8)
    ports = {p.read_text() for p in pytester.path.glob("port-gw*")}
    assert len(ports) == 2, "each worker has its own server"


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
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=3)
