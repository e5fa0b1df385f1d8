"""MockServer: a real server on a free port, as test writers use it."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
import time

import pytest
import requests

from auralytik_mock import MockServer, ServerError
from tests.conftest import make_config


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_context_manager_serves_on_a_free_port_and_stops() -> None:
    with MockServer() as mock:
        assert mock.port != 0
        assert mock.url == f"http://127.0.0.1:{mock.port}/v1"
        r = requests.get(f"{mock.url}/engagements", headers=mock.auth(), timeout=5)
        assert r.status_code == 200 and r.json()["totalCount"] == 5
        url = mock.url
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/engagements", timeout=2)


def test_two_servers_in_one_process_are_isolated() -> None:
    with MockServer() as a, MockServer() as b:
        created = requests.post(f"{a.url}/engagements", json={"name": "n", "type": "t"}, headers=a.auth(), timeout=5)
        assert created.status_code == 201
        assert requests.get(f"{a.url}/engagements", headers=a.auth(), timeout=5).json()["totalCount"] == 6
        assert requests.get(f"{b.url}/engagements", headers=b.auth(), timeout=5).json()["totalCount"] == 5


def test_hundred_start_stop_cycles_leak_no_thread_and_no_socket() -> None:
    with MockServer():
        pass  # warm up imports and lazily created objects
    threads, fds = set(threading.enumerate()), _open_fds()
    # A hundred starts and stops of the server (socket, loop, threads, pool), and a mock built
    # anew every tenth time (its engine: spec, fixtures, worker threads): building one costs ten
    # times a start and stop, and a leak per build shows in ten as it does in a hundred.
    for cycle in range(100):
        if cycle % 10 == 0:
            mock = MockServer()
        with mock:
            assert requests.get(mock.root_url + "/health", timeout=5).status_code == 200
    # A request thread may still be on its way out on a loaded machine: give it a moment
    # (a leaked thread or socket stays, and fails below).
    deadline = time.monotonic() + 3
    while (set(threading.enumerate()) - threads or _open_fds() != fds) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [t.name for t in set(threading.enumerate()) - threads] == []
    assert _open_fds() == fds


def test_start_twice_raises_server_error() -> None:
    mock = MockServer().start()
    try:
        with pytest.raises(ServerError, match="already running"):
            mock.start()
    finally:
        mock.stop()
    mock.stop()  # stopping twice is harmless


def test_url_before_start_raises_server_error() -> None:
    with pytest.raises(ServerError, match="not running"):
        MockServer().url  # noqa: B018


def test_reset_restores_fixtures_and_clears_the_journal() -> None:
    with MockServer() as mock:
        requests.post(f"{mock.url}/engagements", json={"name": "n", "type": "t"}, headers=mock.auth(), timeout=5)
        assert len(mock.requests) == 1
        mock.reset()
        assert mock.requests == []
        assert requests.get(f"{mock.url}/engagements", headers=mock.auth(), timeout=5).json()["totalCount"] == 5


def test_journal_records_what_the_client_sent_with_the_key_masked() -> None:
    with MockServer() as mock:
        requests.post(f"{mock.url}/engagements?x=1", json={"name": "n"}, headers=mock.auth(), timeout=5)
        (entry,) = mock.requests
        assert entry["method"] == "POST" and entry["path"] == "/v1/engagements"
        assert entry["query"] == {"x": ["1"]}
        assert entry["body"] == {"name": "n"}
        assert entry["status"] == 400
        assert {"field": "body.type", "message": "is required"} in entry["validationErrors"]
        assert entry["apiKey"] == "YOU..._KEY" and "YOUR_API_KEY" not in str(entry)
        assert entry["clientId"] == "client_acme" and entry["operationId"] == "createEngagement"


def test_options_are_config_fields() -> None:
    with MockServer(clock="2024-01-01T00:00:00Z") as mock:
        r = requests.post(f"{mock.url}/engagements", json={"name": "n", "type": "t"}, headers=mock.auth(), timeout=5)
        assert r.json()["createdAt"] == "2024-01-01T00:00:00Z"
    with pytest.raises(TypeError, match="unknown option"):
        MockServer(colour="red")


def test_keys_lists_the_bundled_keys_and_scopes() -> None:
    mock = MockServer(config=make_config())
    assert (
        mock.keys["READ_ONLY_API_KEY"]
        == (
            "engagements:read evaluations:read campaigns:read analytics:read conversations:read voice:read"
            " audio:read audio:download analytics:export usage:read"
        ).split()
    )
    assert mock.keys["ENGAGEMENTS_ONLY_API_KEY"] == ["engagements:read", "engagements:write"]
    assert mock.keys["NO_SCOPE_API_KEY"] == []


def test_auth_disabled_lets_calls_without_a_key_through() -> None:
    with MockServer() as mock:
        with mock.auth_disabled():
            assert requests.get(f"{mock.url}/engagements", timeout=5).status_code == 200
        assert requests.get(f"{mock.url}/engagements", timeout=5).status_code == 401


def test_calls_share_one_kept_alive_connection() -> None:
    """Issue 18: MockServer runs the server ``serve`` runs, with keep-alive (Werkzeug's
    closed the connection after every answer)."""
    with MockServer() as mock:
        connection = http.client.HTTPConnection("127.0.0.1", mock.port, timeout=5)
        try:
            ports = set()
            for path in ("/v1/engagements", "/v1/engagements/eng_456", "/__mock/health", "/v1/nothing"):
                connection.request("GET", path, headers=mock.auth())
                response = connection.getresponse()
                response.read()
                assert response.status in {200, 404} and response.getheader("Connection") != "close"
                assert connection.sock is not None
                ports.add(connection.sock.getsockname()[1])
            assert len(ports) == 1, "every call used the same TCP connection"
        finally:
            connection.close()


_NO_WERKZEUG_SERVER = """
import socketserver, sys
made = []
original = socketserver.BaseServer.__init__
def record(self, *args, **kwargs):
    made.append(type(self).__module__ + "." + type(self).__name__)
    original(self, *args, **kwargs)
socketserver.BaseServer.__init__ = record
{body}
from auralytik_mock.harness import mockserver
from auralytik_mock import cli
names = {{getattr(value, "__module__", "") for module in (mockserver, cli) for value in vars(module).values()}}
assert not {{n for n in names if n.startswith(("werkzeug.serving", "socketserver", "http.server"))}}, names
assert not made, made
print("no werkzeug server")
"""


@pytest.mark.parametrize(
    "body",
    [
        """
import urllib.request
from auralytik_mock import MockServer
with MockServer() as mock:
    urllib.request.urlopen(urllib.request.Request(mock.url + "/engagements", headers=mock.auth())).close()
""",
        """
import os, signal, threading, time, urllib.request
from auralytik_mock.cli import main
def call_then_stop():
    for _ in range(200):
        try:
            urllib.request.urlopen("http://127.0.0.1:{port}/__mock/health").close()
            break
        except OSError:
            time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGTERM)
threading.Thread(target=call_then_stop).start()
assert main(["serve", "--quiet", "--port", "{port}"]) == 0
""",
    ],
    ids=["MockServer", "serve"],
)
def test_no_werkzeug_server_is_used(body: str) -> None:
    """Issue 18: ``serve`` and ``MockServer`` run one server, the mock's own (Werkzeug's module is
    loaded by Flask itself, so the check is that no server class of it is used or imported)."""
    from tests.processes import free_port as _free_port

    script = _NO_WERKZEUG_SERVER.format(body=body.replace("{port}", str(_free_port())))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "no werkzeug server" in done.stdout, done.stdout + done.stderr
