"""Each option is declared once, on its ``Config`` field: the flag and the variable set it alike."""

from __future__ import annotations

import pytest

from auralytik_mock.cli import NOT_IN_BANNER, SERVE_OPTIONS, _parser
from auralytik_mock.config import OPTIONS, Config

#: A value each option accepts, as text (a flag's argument and a variable's value).
SAMPLES = {
    "spec_path": "other.yaml",
    "fixtures": "a.yaml",
    "host": "0.0.0.0",
    "port": "4011",
    "clock": "2024-01-01T00:00:00Z",
    "cors_origins": "http://localhost:3000",
    "latency_ms": "100-200",
    "threads": "3",
    "signature_window": "60",
    "job_seconds": "5",
    "admin_token": "s3cret",
    "allowed_hosts": "mock-service",
    "webhook_hosts": "hooks.example.com",
    "persist": "state.json",
    "max_connections": "7",
}


@pytest.mark.parametrize("opt", [o for o in OPTIONS if o.flag and o.variable], ids=lambda o: o.flag)
def test_a_flag_and_its_variable_set_the_same_value(opt) -> None:
    if opt.kind in {"switch", "negate"}:
        argv, text = [opt.flag], "true" if opt.kind == "switch" else "false"
    else:
        argv, text = [opt.flag, SAMPLES[opt.name]], SAMPLES[opt.name]
    from_flag = getattr(_config_of(["serve", *argv]), opt.name)
    from_variable = getattr(Config.from_env({opt.variable: text}), opt.name)
    expected = {"switch": True, "negate": False}.get(opt.kind, getattr(Config(**{opt.name: opt.parse(text)}), opt.name))
    assert from_flag == from_variable == expected


def test_a_url_in_a_list_variable_stays_whole() -> None:
    config = Config.from_env({"AURALYTIK_MOCK_CORS_ORIGINS": "http://localhost:3000,https://app.example"})
    assert config.cors_origins == ("http://localhost:3000", "https://app.example")


def _config_of(argv: list[str]) -> Config:
    from auralytik_mock.cli import _config

    return _config(_parser().parse_args(argv))


def test_a_bad_flag_value_is_an_error_naming_the_flag() -> None:
    with pytest.raises(ValueError, match="^--latency: latency must be MS or MIN-MAX"):
        _config_of(["serve", "--latency", "fast"])


def test_every_variable_only_option_is_in_serve_help() -> None:
    text = _parser()._subparsers._group_actions[0].choices["serve"].format_help()  # type: ignore[union-attr]
    for opt in SERVE_OPTIONS:
        if opt.variable:
            assert opt.variable in text, f"serve --help does not name {opt.variable}"


def test_the_banner_shows_every_sandbox_option_and_only_those() -> None:
    assert {"--watch", "--latency", "--clock", "--no-auth", "--quiet"}.isdisjoint(NOT_IN_BANNER)
    assert {"--host", "--port", "--spec", "--threads", "--server", "--admin-token"} <= set(NOT_IN_BANNER)
