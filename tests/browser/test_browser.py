"""CORS and the docs page, proven in a real browser: Debian's headless Chromium, driven by Playwright.

A page served from one localhost port calls the mock (``auralytik-mock serve``, as the
sandbox runs) on another port, with an Authorization header: list, create, patch, and
a 403 the page can read. A mock that does not allow the page's origin is blocked by
the browser. The docs page's "Try it out" calls the mock with a bundled key.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from auralytik_mock import MockServer
from tests.processes import serving

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).resolve().parent


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    """A static server for the frontend page, on its own port (another origin)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(HERE)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: scripts/install-system-deps.sh installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS
        )
        yield context
        context.close()


def readme_signing_snippet() -> str:
    """The docs' WebCrypto snippet (the ```js block of docs/how-to/signed-requests.md), verbatim."""
    page = (HERE.parents[1] / "docs" / "how-to" / "signed-requests.md").read_text()
    found = re.search(r"```js\n(.*?)```", page, re.DOTALL)
    assert found, "docs/how-to/signed-requests.md has no browser snippet for signed requests"
    return found.group(1)


def _run_page(browser: Any, url: str, snippet: str | None = None) -> tuple[dict[str, Any], list[str]]:
    page = browser.new_page()
    if snippet is not None:  # the page loads it as readme-snippet.js, from its own origin
        page.route("**/readme-snippet.js", lambda route: route.fulfill(body=snippet, content_type="text/javascript"))
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    try:
        page.goto(url)
        page.wait_for_selector("body[data-done='1']", timeout=15_000)
        return json.loads(page.inner_text("#result")), console
    finally:
        page.close()


def test_page_on_another_origin_lists_creates_patches_and_reads_a_403(browser, page_origin) -> None:
    with serving("--quiet") as (api, _):
        result, console = _run_page(browser, f"{page_origin}/app.html?api={api}")
    assert "error" not in result, (result, console)
    assert result["list"]["status"] == 200 and result["list"]["body"]["totalCount"] == 5
    created = result["create"]
    assert created["status"] == 201 and created["body"]["name"] == "From the browser"
    assert created["location"] == f"/v1/engagements/{created['body']['id']}", "Location is exposed"
    assert result["patch"]["status"] == 200 and result["patch"]["body"]["status"] == "completed"
    forbidden = result["forbidden"]
    assert forbidden["status"] == 403, "the page can read the error answer"
    assert forbidden["body"]["error"]["code"] == "INSUFFICIENT_SCOPE"
    assert forbidden["requestId"] == forbidden["body"]["error"]["requestId"], "X-Request-Id is exposed"
    assert 'error="insufficient_scope"' in forbidden["wwwAuthenticate"]
    assert result["listAfter"]["body"]["data"][0]["id"] == created["body"]["id"], "state lasts between calls"


def test_page_signs_with_webcrypto_and_calls_api_v1(browser, page_origin) -> None:
    with serving("--quiet") as (api, _):
        result, console = _run_page(browser, f"{page_origin}/signed.html?api={api}", readme_signing_snippet())
    assert "error" not in result, (result, console)
    assert result["list"]["status"] == 200 and result["list"]["body"]["totalCount"] == 5
    created = result["create"]
    assert created["status"] == 201 and created["body"]["name"] == "Signed in the browser"
    assert created["location"] == f"/api/v1/engagements/{created['body']['id']}"
    assert result["patch"]["status"] == 200 and result["patch"]["body"]["status"] == "completed"
    assert result["viaBearer"]["body"] == result["patch"]["body"], "one state behind /v1 and /api/v1"
    assert result["forbidden"]["status"] == 403
    assert 'error="insufficient_scope"' in result["forbidden"]["wwwAuthenticate"]
    bad = result["badSecret"]
    assert bad["status"] == 401 and bad["body"]["error"]["code"] == "INVALID_SIGNATURE"
    canonical = bad["body"]["error"]["signature"]["canonicalString"]
    assert canonical.endswith(".GET./api/v1/engagements.47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
    assert bad["wwwAuthenticate"].startswith("HMAC-SHA256 "), "WWW-Authenticate is exposed"


def test_allowed_origin_list_lets_the_page_through(browser, page_origin) -> None:
    with serving("--quiet", "--cors-origin", page_origin) as (api, _):
        result, console = _run_page(browser, f"{page_origin}/app.html?api={api}")
    assert "error" not in result, (result, console)
    assert result["create"]["status"] == 201


def test_disallowed_origin_is_blocked_by_the_browser(browser, page_origin) -> None:
    with serving("--quiet", "--cors-origin", "http://localhost:9") as (api, _):
        result, console = _run_page(browser, f"{page_origin}/app.html?api={api}")
    assert result["error"] == "TypeError: Failed to fetch"
    assert any("blocked by CORS policy" in line for line in console), console


def test_docs_page_try_it_out_calls_the_mock_with_a_bundled_key(browser) -> None:
    with serving("--quiet") as (api, _):
        page = browser.new_page()
        try:
            page.goto(f"{api}/__mock/docs")
            page.wait_for_selector("body[data-ready='1']", timeout=15_000)
            operation = page.locator("#operations-Engagements-listEngagements")
            operation.locator(".opblock-summary").click()
            # The page enables "Try it out" up front, so Execute shows once the operation opens
            # (clicking the try-out button would be "Cancel" and hide it).
            execute = operation.locator("button.execute")
            execute.wait_for(state="visible", timeout=15_000)
            execute.click()
            status = operation.locator(".live-responses-table .response .response-col_status").first
            status.wait_for(timeout=15_000)
            assert status.inner_text().strip() == "200"
            body = operation.locator(".live-responses-table .response-col_description pre").first.inner_text()
            assert '"totalCount": 5' in body
        finally:
            page.close()


@pytest.mark.parametrize("server", ["asyncio", "mockserver"])
def test_a_dropped_connection_makes_fetch_reject_with_a_network_error(browser, page_origin, server: str) -> None:
    rule = json.dumps({"method": "GET", "path": "/v1/engagements/eng_456", "drop": True}).encode()

    def run(api: str) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{api}/__mock/faults", data=rule, method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 201
        result, console = _run_page(browser, f"{page_origin}/drop.html?api={api}")
        return result

    if server == "mockserver":
        with MockServer() as mock:
            result = run(mock.root_url)
    else:
        with serving("--quiet", "--server", server) as (api, _):
            result = run(api)
    assert "resolved" not in result, f"fetch resolved on a dropped connection: {result}"
    assert result["error"]["name"] == "TypeError" and result["error"]["message"] == "Failed to fetch", result
    assert result["after"] == {"status": 200}, "the next call is served"


def test_docs_page_try_it_out_signs_calls_to_api_v1(browser) -> None:
    with serving("--quiet") as (api, _):
        page = browser.new_page()
        try:
            page.goto(f"{api}/__mock/docs")
            page.wait_for_selector("body[data-ready='1']", timeout=15_000)
            page.locator(".servers select").select_option(f"{api}/api/v1")
            operation = page.locator("#operations-Engagements-getEngagement")
            operation.locator(".opblock-summary").click()
            operation.locator("input[placeholder='id']").fill("eng_456")
            execute = operation.locator("button.execute")
            execute.wait_for(state="visible", timeout=15_000)
            execute.click()
            status = operation.locator(".live-responses-table .response .response-col_status").first
            status.wait_for(timeout=15_000)
            body = operation.locator(".live-responses-table .response-col_description pre").first.inner_text()
            assert status.inner_text().strip() == "200", body
            assert '"id": "eng_456"' in body
            assert "/api/v1/engagements/eng_456" in operation.locator(".request-url pre").first.inner_text()
        finally:
            page.close()


@pytest.mark.parametrize("token", [None, "s3cret"], ids=["no token", "token"])
def test_a_page_on_another_origin_can_neither_read_nor_act_on_the_admin_api(browser, page_origin, token) -> None:
    """Issue 10: admin answers once reflected any Origin with credentials, and simple
    cross-origin POSTs reset the sandbox or added fault rules."""
    from tests.processes import call as _call

    env = {"AURALYTIK_MOCK_ADMIN_TOKEN": token} if token else {}
    admin = {"X-Mock-Admin-Token": token} if token else {}

    def admin_get(url: str) -> Any:
        import urllib.request

        with urllib.request.urlopen(urllib.request.Request(url, headers=admin), timeout=5) as r:
            return json.loads(r.read())

    with serving("--quiet", env=env) as (api, _):
        created = _call(api + "/v1/engagements", "POST", {"name": "mine", "type": "quality_review"})[1]
        before = admin_get(api + "/__mock/state")
        result, console = _run_page(browser, f"{page_origin}/attacker.html?api={api}")
        assert result["readState"] == "TypeError: Failed to fetch", result
        assert result["readJournal"] == "TypeError: Failed to fetch", result
        assert admin_get(api + "/__mock/state") == before, "the state is unchanged"
        assert _call(api + f"/v1/engagements/{created['id']}")[0] == 200, "reset did not act"
        assert admin_get(api + "/__mock/faults")["faults"] == [], "no fault rule was added"
        journal = admin_get(api + "/__mock/requests")
        assert [e["method"] for e in journal["requests"]] == ["POST", "GET"], "only the test's own calls"
