"""Every code block of README.md and docs/ runs as a test, or says which test checks it.

The convention is in docs/contributing.md (and tests/docs_blocks.py). Blocks run against
one shared ``serve`` per test module and worker; a block that needs its own options
(``serve="--admin-token x"``) gets its own server.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.docs_blocks import (
    DOCS,
    ROOT,
    Block,
    all_blocks,
    blocks,
    command_lines,
    files_before,
    markdown_files,
    page_blocks,
    problems,
)

BLOCKS = all_blocks()
BIN = str(Path(sys.executable).parent)  # auralytik-mock, as a reader's activated virtualenv has it
SANDBOX = re.compile(r"http://(127\.0\.0\.1|localhost):4010")


def _unique(kind: str) -> list[Block]:
    """The blocks of one kind; a block that repeats an earlier one (code and files) runs once."""
    seen: set[tuple[str, str, str]] = set()
    chosen = []
    for block in BLOCKS:
        if block.marker != "test" or block.kind != kind:
            continue
        key = (block.code, json.dumps(block.options, sort_keys=True), json.dumps(files_before(block), sort_keys=True))
        if key not in seen:
            seen.add(key)
            chosen.append(block)
    return chosen


def _params(kind: str) -> list[object]:
    return [pytest.param(block, id=block.id) for block in _unique(kind)]


# -- the convention holds ------------------------------------------------------------------


def test_every_block_is_run_or_names_what_checks_it() -> None:
    found = [problem for block in BLOCKS for problem in problems(block)]
    assert not found, "\n".join(found)


def test_every_file_block_is_used_by_a_block_that_runs_after_it() -> None:
    for block in BLOCKS:
        if block.marker == "test" and block.kind == "file":
            later = [
                b
                for b in page_blocks(block.path.as_posix())
                if b.line > block.line and b.marker == "test" and b.kind != "file"
            ]
            assert later, f"{block.where}: no block runs after this file block, so nothing checks it"
            if block.args[0].endswith((".yaml", ".yml")):
                yaml.safe_load(block.code)
            elif block.args[0].endswith(".json"):
                json.loads(block.code)


def test_the_docs_have_runnable_blocks_of_every_kind() -> None:
    # A parser that silently found nothing would pass every other test here.
    kinds = {block.kind for block in BLOCKS if block.marker == "test"}
    assert kinds == {"exec", "pytest", "sh", "starts", "file"}
    assert len(BLOCKS) > 60 and sum(block.marker == "test" for block in BLOCKS) > 45


# -- the runnable kinds ------------------------------------------------------------------


def _page_folder(block: Block, base: Path) -> Path:
    """A folder as a reader's clone has it (openapi.yaml, fixtures/, tests/data/), plus the
    page's ``file`` blocks written before ``block``."""
    folder = base / "page"
    (folder / "tests").mkdir(parents=True)
    (folder / "openapi.yaml").symlink_to(ROOT / "openapi.yaml")
    (folder / "fixtures").symlink_to(ROOT / "fixtures")
    (folder / "tests" / "data").symlink_to(ROOT / "tests" / "data")
    for name, content in files_before(block).items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        assert target.resolve().is_relative_to(folder.resolve()), f"{block.where}: {name} leaves the page's folder"
        target.write_text(content)
    return folder


@pytest.mark.parametrize("block", _params("exec"))
def test_exec_block(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_page_folder(block, tmp_path))
    exec(compile(block.code, str(block.path), "exec"), {"__name__": "__docs__"})


def _pytest_groups() -> list[object]:
    """The pytest blocks, grouped by the files their page gives them (one pytest run per group)."""
    groups: dict[str, list[Block]] = {}
    for block in _unique("pytest"):
        groups.setdefault(json.dumps(files_before(block), sort_keys=True), []).append(block)
    return [pytest.param(blocks, id=blocks[0].id) for blocks in groups.values()]


@pytest.mark.parametrize("blocks", _pytest_groups())
def test_pytest_blocks(blocks: list[Block], pytester: pytest.Pytester) -> None:
    for name, content in files_before(blocks[0]).items():
        target = pytester.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    pytester.makefile(".toml", pyproject="[tool.pytest.ini_options]\n")  # the rootdir, as a project has one
    (pytester.path / "tests").mkdir(exist_ok=True)
    tests = 0
    for number, block in enumerate(blocks):
        found = len(re.findall(r"^def test_", block.code, re.MULTILINE))
        assert found, f"{block.where}: a pytest block without a test"
        tests += found
        (pytester.path / "tests" / f"test_block_{number}.py").write_text(block.code)
    # In process: the plugin is the installed one (its entry point), as in a user's project.
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=tests)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, data: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _environ() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURALYTIK_MOCK_")}
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    return env


@contextmanager
def _serving(argv: list[str], cwd: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Run ``argv`` (an ``auralytik-mock serve`` command) until /__mock/health answers 200."""
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=_environ(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    port = argv[argv.index("--port") + 1]
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _get(base + "/__mock/health") == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"{' '.join(argv)} did not start:\n{process.communicate(timeout=5)[0]}")
            time.sleep(0.05)
        yield base, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        if process.stdout and not process.stdout.closed:
            process.communicate(timeout=5)


def _serve_argv(command: list[str], port: int) -> list[str]:
    """The command with its port made ``port`` (the docs say 4010)."""
    argv = list(command)
    if "--port" in argv:
        argv[argv.index("--port") + 1] = str(port)
    else:
        argv += ["--port", str(port)]
    return argv


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One ``auralytik-mock serve --quiet`` with the bundled spec and fixtures, for every sh block."""
    argv = [os.path.join(BIN, "auralytik-mock"), "serve", "--quiet", "--port", str(_free_port())]
    with _serving(argv, tmp_path_factory.mktemp("sandbox")) as (base, _):
        yield base


@pytest.mark.parametrize("block", _params("sh"))
def test_sh_block(block: Block, sandbox: str, tmp_path: Path) -> None:
    folder = _page_folder(block, tmp_path)
    curl_flags = "-sS --max-time 20" + ("" if "http-errors" in block.args else " --fail-with-body")
    script = f'curl() {{ command curl {curl_flags} "$@"; }}\n'
    with _block_server(block, folder, sandbox) as base:
        script += SANDBOX.sub(base, block.code)
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=folder,
            env=_environ(),
            capture_output=True,
            text=True,
            timeout=120,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{block.where}: exit {result.returncode}\n{output[-3000:]}"
    for expected in block.options.get("expect", []):
        assert expected in output, f"{block.where}: {expected!r} not in the output:\n{output[-3000:]}"


@contextmanager
def _block_server(block: Block, folder: Path, sandbox: str) -> Iterator[str]:
    """The shared sandbox reset to the fixtures, or a server of the block's own (``serve=``)."""
    if "serve" not in block.options:
        assert _get(sandbox + "/__mock/reset", data=b"") == 200
        yield sandbox
        return
    argv = [os.path.join(BIN, "auralytik-mock"), "serve", "--quiet", *shlex.split(block.options["serve"][0])]
    with _serving(_serve_argv(argv, _free_port()), folder) as (base, _):
        yield base


@pytest.mark.parametrize("block", _params("starts"))
def test_starts_block(block: Block, tmp_path: Path) -> None:
    (command,) = command_lines(block.code)
    argv = _serve_argv(shlex.split(command), _free_port())
    argv[0] = os.path.join(BIN, argv[0])
    with _serving(argv, _page_folder(block, tmp_path)) as (base, process):
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=10)[0]
        assert process.returncode == 0, output


def test_the_contributing_example_runs_as_the_docs_tests_run_a_page(sandbox: str, tmp_path: Path) -> None:
    (example,) = [b for b in page_blocks("docs/contributing.md") if b.lang == "markdown"]
    page = tmp_path / "example.md"
    page.write_text(example.code)
    shown = blocks(page)
    assert [(b.kind, b.lang) for b in shown] == [("file", "yaml"), ("sh", "sh")]
    assert not [problem for b in shown for problem in problems(b)]
    test_sh_block(shown[1], sandbox, tmp_path / "run")


# -- blocks checked here, not run ------------------------------------------------------


def _help(*command: str) -> str:
    """What ``auralytik-mock COMMAND --help`` prints (in process: the same parser)."""
    from auralytik_mock.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    return out.getvalue()


def test_verify_commands_in_the_docs_use_only_options_verify_has() -> None:
    known = set(re.findall(r"--[a-z][a-z-]+", _help("verify")))
    commands = [
        line
        for block in BLOCKS
        if block.lang in {"sh", "yaml"}
        for line in command_lines(block.code)
        if "auralytik-mock verify" in line
    ]
    assert len(commands) >= 4
    for line in commands:
        used = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", line[line.index("auralytik-mock verify") :]))
        assert used <= known, f"{line}: verify has no {sorted(used - known)}"


def test_bench_commands_in_the_docs_use_only_options_their_script_has() -> None:
    commands = [
        line
        for block in BLOCKS
        if block.lang == "sh"
        for line in command_lines(block.code)
        if re.match(r"python3? bench/\w+\.py", line)
    ]
    assert len(commands) >= 2
    for line in commands:
        script, *words = shlex.split(line)[1:]
        done = subprocess.run(
            [sys.executable, str(ROOT / script), "--help"], capture_output=True, text=True, timeout=60, cwd=ROOT
        )
        assert done.returncode == 0, done.stderr
        known = set(re.findall(r"--[a-z][a-z-]+", done.stdout))
        used = {word for word in words if word.startswith("--")}
        assert used <= known, f"{line}: {script} has no {sorted(used - known)}"


def test_ci_examples_use_the_image_as_the_dockerfile_builds_it() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    (port,) = re.findall(r"^EXPOSE (\d+)$", dockerfile, re.MULTILINE)
    assert f"AURALYTIK_MOCK_PORT={port}" in dockerfile and "/__mock/health" in dockerfile
    page = page_blocks("docs/tutorials/ci-container.md")
    actions, compose = (yaml.safe_load(b.code) for b in page if b.lang == "yaml")
    (service,) = actions["jobs"]["test"]["services"].values()
    assert service["ports"] == [f"{port}:{port}"]
    assert f"127.0.0.1:{port}/__mock/health" in service["options"]
    assert actions["jobs"]["test"]["env"]["AURALYTIK_API_URL"].endswith(f":{port}/v1")
    mock = compose["services"]["auralytik"]
    assert mock["ports"] == [f"{port}:{port}"]
    assert compose["services"]["app"]["environment"]["AURALYTIK_API_URL"] == f"http://auralytik:{port}/v1"
    assert compose["services"]["app"]["depends_on"]["auralytik"]["condition"] == "service_healthy"
    variables = set(mock["environment"])
    docker = [line for b in BLOCKS if b.lang == "sh" for line in command_lines(b.code) if line.startswith("docker ")]
    tags = {line.split()[line.split().index("-t") + 1] for line in docker if line.startswith("docker build")}
    assert tags == {"auralytik-mock"}
    for line in docker:
        if line.startswith("docker run"):
            words = shlex.split(line)
            assert words[-1] in tags and f"{port}:{port}" in words, line
            variables |= {words[i + 1].split("=")[0] for i, w in enumerate(words) if w == "-e"}
    assert len(variables) >= 5
    for name in sorted(variables):
        assert _is_a_setting(name), f"{name} is not a variable the mock reads"


def _is_a_setting(name: str) -> bool:
    """Whether ``Config.from_env`` reads ``name``: some value changes the config, or is refused naming it."""
    from auralytik_mock import Config

    default = Config.from_env({})
    for value in ("x", "1", "7", "true", "0-1", "http://localhost:3000", "/data/file"):
        try:
            if Config.from_env({name: value}) != default:
                return True
        except ValueError as error:
            if name in str(error):
                return True
    return False


def test_cli_reference_names_every_command_option_and_variable() -> None:
    page = (DOCS / "reference" / "cli.md").read_text()
    commands = set(re.findall(r"^\s{4}(\w+)\s{2,}", _help(), re.MULTILINE))
    (listing,) = [b for b in page_blocks("docs/reference/cli.md") if b.lang == "text"]
    assert {line.split()[1] for line in command_lines(listing.code)} == commands == {"serve", "check", "verify"}
    for option in set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", _help("serve"))) - {"--help"}:
        assert f"`{option}" in page, f"serve {option} is not in docs/reference/cli.md"
    serve_help, verify_help = _help("serve"), _help("verify")
    for name in sorted(set(re.findall(r"AURALYTIK_MOCK_[A-Z_]*[A-Z](?![A-Z_<])", page))):
        assert _is_a_setting(name) or name in serve_help or name in verify_help, (
            f"docs/reference/cli.md names {name}, which the mock does not read"
        )
    verify_page = (DOCS / "how-to" / "verify.md").read_text()
    for option in set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", _help("verify"))) - {"--help", "--spec", "--fixtures"}:
        assert f"`{option}" in verify_page or f"{option} " in verify_page, f"verify {option} is not documented"


def test_the_cli_options_table_is_generated_from_the_declarations() -> None:
    # Each option is declared once, on its Config field; the page's table is that declaration
    # rendered, so a new option (or a changed default) cannot be missing from the docs.
    from auralytik_mock import cli

    page = (DOCS / "reference" / "cli.md").read_text()
    for command in ("serve", "verify"):
        table = re.search(rf"<!-- options: {command}[^\n]*-->\n(.*?)<!-- /options -->", page, re.DOTALL)
        assert table is not None, f"docs/reference/cli.md lost its <!-- options: {command} --> markers"
        generate = f"{command}_options_table"
        assert table.group(1).strip() == getattr(cli, generate)(), (
            f"docs/reference/cli.md's {command} options table is stale; paste the output of "
            f"python -c 'from auralytik_mock.cli import {generate}; print({generate}())'"
        )
        for variable in re.findall(r"AURALYTIK_MOCK_[A-Z_]+", table.group(1)):
            assert variable in _help(command), f"{command} --help does not name {variable}"


def test_admin_reference_lists_every_admin_route() -> None:
    from auralytik_mock.harness.admin import ROUTES

    page = (DOCS / "reference" / "admin-api.md").read_text()
    for parts, methods in ROUTES:
        pattern = "/__mock/" + "/".join(r"\{\w+\}" if p == "*" else re.escape(p) for p in parts)
        assert re.search(pattern + r"(?![\w.])", page), f"{parts} ({', '.join(methods)}) is not in admin-api.md"


def test_architecture_names_every_module_and_only_real_ones() -> None:
    page = page_blocks("docs/explanation/architecture.md")
    layout = next(b.code for b in page if "src/auralytik_mock/" in b.code)
    package = ROOT / "src" / "auralytik_mock"
    modules = {p.stem for p in package.rglob("*.py") if p.stem not in {"__init__", "__main__"}}
    modules |= {p.name for p in package.iterdir() if p.is_dir() and not p.name.startswith("_")}
    named = set(re.findall(r"\b([a-z_0-9]+)(?:\.py|/)", layout)) | set(re.findall(r"\b([a-z_0-9]+)\b", layout))
    assert modules <= named, f"architecture.md does not name {sorted(modules - named)}"
    table = (DOCS / "explanation" / "architecture.md").read_text()
    for module in re.findall(r"`((?:core|http|harness)/\w+\.py|\w+\.py)`", table):
        assert (package / module).is_file(), f"architecture.md names {module}, which does not exist"


def test_the_order_of_checks_is_the_documented_one() -> None:
    # route (404/405) -> faults -> key (401) -> scope (403) -> request (400) -> record (404)
    from auralytik_mock import create_app

    client = create_app().test_client()
    bad_body = {"colour": "red"}

    def status(path: str, key: str | None, method: str = "POST", prefer: str | None = None) -> int:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        if prefer:
            headers["Prefer"] = prefer
        return int(client.open(path, method=method, json=bad_body, headers=headers).status_code)

    assert status("/v1/nothing-here", None) == 404
    assert status("/v1/engagements/eng_456", None, method="DELETE") == 405
    assert status("/v1/engagements", None) == 401
    assert status("/v1/engagements", "READ_ONLY_API_KEY") == 403
    assert status("/v1/engagements", "YOUR_API_KEY") == 400
    assert status("/v1/engagements/eng_999", "YOUR_API_KEY", method="PATCH") == 400
    assert status("/v1/engagements/eng_999", "YOUR_API_KEY", method="GET") == 404
    assert status("/v1/engagements", None, prefer="code=429") == 401  # Prefer after the key
    rule = {"path": "/v1/engagements", "status": 503, "times": 1}
    assert client.post("/__mock/faults", json=rule).status_code == 201
    assert status("/v1/engagements", None) == 503  # a rule before it


# -- the pages ------------------------------------------------------------------------------


def test_readme_is_short_and_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    first = page_blocks("README.md")[0]
    assert first.line <= 5
    assert [line.split("#")[0].strip() for line in command_lines(first.code)] == [
        "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/auralytik-mock serve",
        "scripts/test.sh",
    ]
    assert "## Where the vendor is silent" in readme


def test_every_page_is_in_the_nav_and_every_relative_link_resolves() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def pages(nav: object) -> list[str]:
        if isinstance(nav, str):
            return [nav]
        if isinstance(nav, list):
            return [page for item in nav for page in pages(item)]
        if isinstance(nav, dict):
            return [page for value in nav.values() for page in pages(value)]
        return []

    in_nav = pages(config["nav"])
    assert sorted(in_nav) == sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    for path in markdown_files():
        text = re.sub(r"```.*?```|`[^`\n]*`", "", path.read_text(), flags=re.DOTALL)
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if not re.match(r"[a-z]+:", target):
                assert (path.parent / target).exists(), f"{path.relative_to(ROOT)}: broken link {target}"


def test_bench_writes_its_tables_between_the_markers_only(tmp_path: Path) -> None:
    page = tmp_path / "performance.md"
    original = (DOCS / "explanation" / "performance.md").read_text()
    page.write_text(original)
    latest = tmp_path / "latest.md"
    latest.write_text(
        "# auralytik-mock benchmark\n\nMachine: test.\n\n## Throughput\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    scale = tmp_path / "scale.md"
    scale.write_text("## Evaluations at scale: 3 records\n\n### Over HTTP, c=8 (wrk)\n\n| x |\n|---|\n")
    command = [sys.executable, str(ROOT / "bench" / "to_docs.py"), "--page", str(page)]
    result = subprocess.run([*command, "--latest", str(latest), "--scale", str(scale)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    text = page.read_text()
    bench = text.split("<!-- bench:start -->\n", 1)[1].split("<!-- bench:end -->", 1)[0]
    assert bench == "Machine: test.\n\n### Throughput\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert "### Evaluations at scale: 3 records\n\n#### Over HTTP" in text
    outside = re.sub(r"<!-- (bench|scale):start -->.*?<!-- \1:end -->", "", text, flags=re.DOTALL)
    assert outside == re.sub(r"<!-- (bench|scale):start -->.*?<!-- \1:end -->", "", original, flags=re.DOTALL)
    # A run that wrote no results (wrk missing, --help) leaves the page as it was.
    result = subprocess.run([*command, "--latest", str(tmp_path / "none.md"), "--scale", str(tmp_path / "no.md")])
    assert result.returncode == 0 and page.read_text() == text


@pytest.mark.slow
def test_readme_install_and_serve_from_a_clean_clone(tmp_path: Path) -> None:
    """The README's first command, as written, in a fresh clone (pip reaches the package index)."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    (line, _) = command_lines(page_blocks("README.md")[0].code)
    command = line.split("#")[0].strip()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AURALYTIK_MOCK_", "VIRTUAL_ENV", "PYTHON"))}
    env["AURALYTIK_MOCK_PORT"] = str(port)
    log = tmp_path / "output.txt"
    with log.open("w") as output:  # a file, not a pipe: pip writes more than a pipe holds
        process = subprocess.Popen(
            ["bash", "-c", command], cwd=clone, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 900
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if _get(f"http://127.0.0.1:{port}/__mock/health") == 200:
                    break
            except OSError:
                time.sleep(0.5)
        assert process.poll() is None, log.read_text()[-3000:]
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/engagements", headers={"Authorization": "Bearer YOUR_API_KEY"}
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert json.load(answer)["totalCount"] == 5
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_the_python_reference_names_every_config_field() -> None:
    # The Config paragraph of docs/reference/python-api.md is prose: a new option must be added to it.
    import dataclasses

    from auralytik_mock import Config

    text = (ROOT / "docs" / "reference" / "python-api.md").read_text()
    section = text[text.index("## `Config`") :].split("\n## ", 1)[0]
    missing = [f.name for f in dataclasses.fields(Config) if f"`{f.name}`" not in section]
    assert missing == []
