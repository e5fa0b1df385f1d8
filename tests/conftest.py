"""Shared fixtures: the real openapi.yaml and fixtures/, two ways to call the mock.

The ``api`` fixture runs each test twice, like moto's server mode: once through Flask's
test client, once over a real socket against a ``MockServer``. Every response either
way is checked against openapi.yaml (``check_response``), so drift fails the suite.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from auralytik_mock import Config, MockServer, create_app
from auralytik_mock.core.routing import Router
from auralytik_mock.core.spec import Spec
from auralytik_mock.core.validation import ResponseChecker, SchemaSet
from auralytik_mock.http.wsgi import engine_of

ROOT = Path(__file__).resolve().parents[1]
SPEC_PATH = ROOT / "openapi.yaml"
FIXTURES = ROOT / "fixtures"
DATA = Path(__file__).resolve().parent / "data"

KEY = "YOUR_API_KEY"
READ_ONLY = "READ_ONLY_API_KEY"
NO_SCOPE = "NO_SCOPE_API_KEY"
OTHER = "OTHER_CLIENT_API_KEY"
CLOCK = "2024-06-01T12:00:00Z"

_SPEC = Spec.load(SPEC_PATH)
_ROUTER = Router(_SPEC.served, _SPEC.base_paths)
_CHECKER = ResponseChecker(_SPEC, SchemaSet(_SPEC))


#: PyYAML's libyaml loader and dumper when it has them (the pure-Python ones take 0.2 s to read
#: openapi.yaml and 0.1 s to write it): for what tests read and write. The mock reads its own
#: files with libyaml too (``core/loader.py``).
YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
YAML_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def read_yaml(text: str | bytes) -> Any:
    """``yaml.safe_load(text)``, with libyaml."""
    return yaml.load(text, Loader=YAML_LOADER)


def yaml_text(document: Any, **options: Any) -> str:
    """``yaml.safe_dump(document, **options)``, with libyaml."""
    return str(yaml.dump(document, Dumper=YAML_DUMPER, **options))


@functools.cache
def _spec_document() -> Any:
    return read_yaml(SPEC_PATH.read_text())


def spec_document() -> Any:
    """openapi.yaml as data (read once): a copy of its own, for the caller to change."""
    return copy.deepcopy(_spec_document())


def check_response(method: str, path: str, status: int, body: Any, headers: Mapping[str, str]) -> None:
    """Fail unless the answer is what openapi.yaml documents for this operation
    (status, body schema, required headers); errors outside any operation must
    still be the vendor's envelope, and every answer carries X-Request-Id."""
    assert "X-Request-Id" in headers or "x-request-id" in headers, "every answer carries X-Request-Id"
    found = _ROUTER.route(path)
    op = found[0].methods.get("GET" if method == "HEAD" else method) if found else None
    if op is None or path.startswith("/__mock"):
        if status >= 400 and method != "HEAD":
            assert set(body) == {"error"}, body
            assert {"code", "message", "requestId"} <= set(body["error"]), body
        return
    if method == "HEAD":
        return
    problems = _CHECKER.violations(op, status, body, dict(headers))
    assert not problems, f"{method} {path} -> {status} breaks openapi.yaml: {problems}"


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    json: Any
    text: str


class Api:
    """One interface over Flask's test client and a real socket."""

    def __init__(self, kind: str, *, flask_client: Any = None, base: str = "") -> None:
        self.kind = kind
        self._flask = flask_client
        self._base = base
        self._session = requests.Session() if kind == "http" else None

    def request(
        self,
        method: str,
        path: str,
        *,
        key: str | None = KEY,
        json: Any = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> Answer:
        sent = dict(headers or {})
        if key is not None:
            sent.setdefault("Authorization", f"Bearer {key}")
        if self._flask is not None:
            r = self._flask.open(path, method=method, json=json, data=data, headers=sent)
            answer = Answer(r.status_code, r.headers, r.get_json(silent=True), r.get_data().decode("utf-8", "replace"))
        else:
            assert self._session is not None
            r = self._session.request(method, self._base + path, json=json, data=data, headers=sent, timeout=10)
            try:
                parsed = r.json()
            except ValueError:
                parsed = None
            answer = Answer(r.status_code, r.headers, parsed, r.text)
        if check:
            assert answer.text == "" or answer.json is not None or method == "HEAD", f"not JSON: {answer.text[:200]}"
            check_response(method, path.split("?")[0], answer.status, answer.json, answer.headers)
        return answer

    def get(self, path: str, **kw: Any) -> Answer:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Answer:
        return self.request("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> Answer:
        return self.request("PATCH", path, **kw)


def make_config(**options: Any) -> Config:
    """The test configuration: the repo's spec and fixtures, a pinned clock, the self-check on."""
    base = {"spec_path": SPEC_PATH, "fixtures": (FIXTURES,), "clock": CLOCK, "validate_responses": True}
    base.update(options)
    return Config().with_options(**base)


def write_small_fixtures(folder: Path) -> Path:
    """A copy of the bundled fixtures with each ``generate:`` entry making 2 records at most
    (a few dozen kB of state instead of 4 MB): for tests that read the whole state around each
    call, whose point is not the dataset. Same clients, keys, engagements and ``eval_66502``."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in sorted(FIXTURES.glob("*.yaml")):
        text = re.sub(r"(?m)^(\s*- generate: )(\d+)", lambda m: f"{m[1]}{min(2, int(m[2]))}", source.read_text())
        text = re.sub(r"(?m)^\s*evaluationCount: \d+\n", "", text)  # counted from the evaluations
        (folder / source.name).write_text(text)
    return folder


@pytest.fixture(scope="session")
def small_fixtures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``write_small_fixtures`` once per session (and xdist worker)."""
    return write_small_fixtures(tmp_path_factory.mktemp("small-fixtures"))


@pytest.fixture(scope="session")
def http_server() -> Iterator[MockServer]:
    with MockServer(config=make_config(port=0)) as server:
        yield server


@pytest.fixture(scope="session")
def flask_app() -> Any:
    """One in-process app per session (and xdist worker): ``api`` resets it before each test,
    as it resets ``http_server``, instead of building the world (spec, fixtures) again."""
    return create_app(make_config())


@pytest.fixture
def app() -> Any:
    return create_app(make_config())


@pytest.fixture(params=["flask", "http"])
def api(request: pytest.FixtureRequest) -> Api:
    """The mock, reset to the fixtures, in-process and over a socket."""
    if request.param == "flask":
        shared = request.getfixturevalue("flask_app")
        engine = engine_of(shared)
        for session in engine.store.sessions():  # as a fresh app: no session left by another test
            engine.drop_session(session)
        engine.reset()
        return Api("flask", flask_client=shared.test_client())
    server: MockServer = request.getfixturevalue("http_server")
    server.reset()
    server.engine.clock = CLOCK
    return Api("http", base=server.root_url)


@pytest.fixture
def client(app: Any) -> Api:
    """In-process only (for tests about the app object itself)."""
    return Api("flask", flask_client=app.test_client())
