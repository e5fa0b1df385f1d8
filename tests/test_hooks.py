"""Hook registries: ``@handles`` fills a default registry; an app built with its own reads only that."""

from __future__ import annotations

import requests

from auralytik_mock import HookRegistry, MockServer, create_app, handles, unregister
from auralytik_mock.core.handlers import default_registry, hooked

AUTH = {"Authorization": "Bearer YOUR_API_KEY"}
BODY = {"name": "Q2", "type": "quality_review"}


def _tagging(tag: str):
    def hook(call, ctx):
        response = ctx.default(call)
        response.headers["X-Hook"] = tag
        return response

    return hook


def test_an_app_with_its_own_registry_runs_its_hooks_and_leaves_other_apps_alone() -> None:
    hooks = HookRegistry()
    hooks.handles("createEngagement")(_tagging("own"))
    own = create_app(hooks=hooks).test_client().post("/v1/engagements", json=BODY, headers=AUTH)
    plain = create_app().test_client().post("/v1/engagements", json=BODY, headers=AUTH)
    assert own.status_code == plain.status_code == 201
    assert own.headers["X-Hook"] == "own" and "X-Hook" not in plain.headers
    assert "createEngagement" not in hooked(), "a registry of your own never touches the default one"


def test_the_decorator_fills_the_default_registry_which_only_apps_without_their_own_read() -> None:
    handles("createEngagement")(_tagging("default"))
    try:
        default = create_app().test_client().post("/v1/engagements", json=BODY, headers=AUTH)
        isolated = create_app(hooks=HookRegistry()).test_client().post("/v1/engagements", json=BODY, headers=AUTH)
    finally:
        unregister("createEngagement")
    assert default.headers["X-Hook"] == "default" and "X-Hook" not in isolated.headers
    assert "createEngagement" not in default_registry.hooked()


def test_a_registry_is_read_when_the_mock_is_built() -> None:
    hooks = HookRegistry()
    client = create_app(hooks=hooks).test_client()
    hooks.handles("createEngagement")(_tagging("late"))
    assert "X-Hook" not in client.post("/v1/engagements", json=BODY, headers=AUTH).headers


def test_mock_server_takes_a_registry_of_its_own() -> None:
    hooks = HookRegistry()
    hooks.handles("createEngagement")(_tagging("server"))
    with MockServer(hooks=hooks) as mock:
        made = requests.post(f"{mock.url}/engagements", json=BODY, headers=AUTH, timeout=10)
    assert made.status_code == 201 and made.headers["X-Hook"] == "server"


def test_a_second_hook_for_the_same_operation_is_refused_until_the_first_is_forgotten() -> None:
    hooks = HookRegistry()
    hooks.handles("createEngagement")(_tagging("first"))
    try:
        hooks.handles("createEngagement")(_tagging("second"))
    except ValueError as exc:
        assert "already registered" in str(exc)
    else:
        raise AssertionError("a second hook replaced the first silently")
    hooks.unregister("createEngagement")
    hooks.handles("createEngagement")(_tagging("second"))
    assert hooks.hooked() == {"createEngagement"}
