"""Fixture seeds are shared through a ``SeedCache``: the default one, or one a build names; seeds
with generated records are kept on disk (``seedfile``) for later starts."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from auralytik_mock.core import fixtures as fixtures_module
from auralytik_mock.core import seedfile
from auralytik_mock.core.dataset import Dataset
from auralytik_mock.core.fixtures import SeedCache, default_seeds
from auralytik_mock.core.pipeline import build_world
from auralytik_mock.core.seed import ApiKey, ClientSeed, KindRules, Seed
from auralytik_mock.core.store import Store
from auralytik_mock.core.types import Json
from auralytik_mock.http.wsgi import create_app
from tests.conftest import SPEC_PATH, make_config


def test_builds_from_the_same_bytes_share_one_seed_through_the_cache_they_name(small_fixtures: Path) -> None:
    config = make_config(fixtures=(small_fixtures,))
    seeds = SeedCache()
    first, second = build_world(config, seeds=seeds), build_world(config, seeds=seeds)
    assert first.store.seed is second.store.seed and len(seeds) == 1
    alone = build_world(config, seeds=SeedCache(kept=0))
    assert alone.store.seed is not first.store.seed and alone.store.seed == first.store.seed


def test_a_cache_of_its_own_leaves_the_default_one_alone(small_fixtures: Path, tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    for source in small_fixtures.iterdir():
        (own / source.name).write_text(source.read_text())
    before = len(default_seeds)
    build_world(make_config(fixtures=(own,)), seeds=SeedCache())
    assert len(default_seeds) == before


def test_the_cache_is_bounded_and_safe_to_share_between_threads() -> None:
    seeds = SeedCache(kept=3)
    errors: list[BaseException] = []

    def churn(n: int) -> None:
        try:
            for i in range(2000):
                seeds.put(f"{n}-{i % 7}", object())  # type: ignore[arg-type]
                seeds.get(f"{(n + 1) % 4}-{i % 7}")
        except BaseException as exc:  # noqa: BLE001 - collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(seeds) == 3


# -- the seed cache on disk ------------------------------------------------------------------


def _disk_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: Path) -> tuple[Path, Path]:
    """A copy of ``source``'s fixtures and of the spec, and an empty cache home for them."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("AURALYTIK_MOCK_CACHE", raising=False)
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    for path in source.iterdir():
        (fixtures / path.name).write_text(path.read_text())
    spec = tmp_path / "openapi.yaml"
    spec.write_text(SPEC_PATH.read_text())
    return fixtures, spec


def _seed_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "auralytik-mock" / "seeds").glob("*.json"))


def _build(fixtures: Path, spec: Path) -> Seed:
    """A seed built as a fresh process builds it: nothing kept in memory."""
    return build_world(make_config(fixtures=(fixtures,), spec_path=spec), seeds=SeedCache(kept=0)).store.seed


def _no_generating(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("records were generated again")

    monkeypatch.setattr(fixtures_module, "generate_records", refuse)


def test_generated_records_are_built_once_and_read_back_by_later_starts(
    small_fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixtures, spec = _disk_cached(tmp_path, monkeypatch, small_fixtures)
    first = _build(fixtures, spec)
    assert len(_seed_files(tmp_path)) == 1
    _no_generating(monkeypatch)
    again = _build(fixtures, spec)
    assert again == first and again is not first


@pytest.mark.parametrize("change", ["spec", "fixtures", "generator"])
def test_the_cached_seed_is_rebuilt_when_the_spec_the_fixtures_or_the_generator_change(
    change: str, small_fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixtures, spec = _disk_cached(tmp_path, monkeypatch, small_fixtures)
    first = _build(fixtures, spec)
    if change == "spec":
        spec.write_text(spec.read_text() + "\n# an edit\n")
    elif change == "fixtures":
        acme = fixtures / "acme.yaml"
        acme.write_text(acme.read_text().replace("Q1 Quality Review", "Q2 Quality Review", 1))
    else:
        seedfile.maker_digest.cache_clear()
        monkeypatch.setattr(seedfile, "FORMAT", seedfile.FORMAT + 1)  # as a new generator version does
    rebuilt = _build(fixtures, spec)
    assert len(_seed_files(tmp_path)) == 2
    names = {str(e["name"]) for client in rebuilt for e in client.resources["engagements"]}
    assert ("Q2 Quality Review" in names) == (change == "fixtures")
    if change != "fixtures":
        assert rebuilt == first
    seedfile.maker_digest.cache_clear()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b"\xff\xfe",
        b"[]",
        b'{"format": FORMAT, "key": "another", "clients": []}\n{}',
        b'{"format": 999, "key": "KEY", "clients": []}\n{}',
        b'{"format": FORMAT, "key": "KEY", "deferredBytes": 2, "clients": [{"id": 1}]}\n{}',
        b'{"format": FORMAT, "key": "KEY", "deferredBytes": 2, "clients": [{"id": "acme", "name": "A", "apiKeys": '
        b'[{"key": "k", "scopes": "all", "secret": null}], "resources": {}, "plan": null, "deferred": []}]}\n{}',
        b'{"format": FORMAT, "key": "KEY", "deferredBytes": 2, "clients": [{"id": "acme", "name": "A", "apiKeys": [], '
        b'"resources": {"engagements": [1, 2]}, "plan": null, "deferred": []}]}\n{}',
        b'{"format": FORMAT, "key": "KEY", "deferredBytes": 2, "clients": [{"id": "acme", "name": "A", "apiKeys": [], '
        b'"resources": {}, "plan": null, "deferred": "evaluations"}]}\n{}',
        b'{"format": FORMAT, "key": "KEY", "deferredBytes": 2, "clients": []}',  # the deferred line is missing
        b'{"format": FORMAT, "key": "KEY", "deferredBytes": 9, "clients": []}\n{}',  # ... or cut short
    ],
)
def test_a_corrupt_or_foreign_cache_file_is_rebuilt_never_a_crash(
    content: bytes, small_fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixtures, spec = _disk_cached(tmp_path, monkeypatch, small_fixtures)
    first = _build(fixtures, spec)
    [path] = _seed_files(tmp_path)
    path.write_bytes(content.replace(b"KEY", path.stem.encode()).replace(b"FORMAT", str(seedfile.FORMAT).encode()))
    assert _build(fixtures, spec) == first
    _no_generating(monkeypatch)
    assert _build(fixtures, spec) == first  # the rebuilt seed was written back whole


def test_a_seed_with_records_stamped_at_loading_time_is_not_kept_on_disk(
    small_fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixtures, spec = _disk_cached(tmp_path, monkeypatch, small_fixtures)
    config = make_config(fixtures=(fixtures,), spec_path=spec).with_options(clock=None)
    acme = fixtures / "acme.yaml"
    text = acme.read_text()
    assert '        createdAt: "2024-01-10T09:00:00Z"\n' in text  # camp_789's, its only server-set time
    acme.write_text(text.replace('        createdAt: "2024-01-10T09:00:00Z"\n', "", 1))
    build_world(config, seeds=SeedCache(kept=0))
    assert _seed_files(tmp_path) == []


def test_caching_off_keeps_nothing_on_disk(
    small_fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixtures, spec = _disk_cached(tmp_path, monkeypatch, small_fixtures)
    monkeypatch.setenv("AURALYTIK_MOCK_CACHE", "off")
    _build(fixtures, spec)
    assert _seed_files(tmp_path) == []


# -- sub-resource data read when first asked for -------------------------------------------


def _evaluation_and_transcript(client: FlaskClient) -> tuple[str, Json]:
    listed = client.get("/v1/evaluations", headers={"Authorization": "Bearer YOUR_API_KEY"}).get_json()
    evaluation_id = next(e["id"] for e in listed["data"] if e["state"] == "Completed")
    answer = client.get(f"/v1/evaluations/{evaluation_id}/transcript", headers={"Authorization": "Bearer YOUR_API_KEY"})
    assert answer.status_code == 200
    return evaluation_id, answer.get_json()


def test_a_seed_read_back_defers_transcripts_yet_serves_and_dumps_them_as_built(
    small_fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixtures, spec = _disk_cached(tmp_path, monkeypatch, small_fixtures)
    config = make_config(fixtures=(fixtures,), spec_path=spec)
    monkeypatch.setattr(fixtures_module, "default_seeds", SeedCache(kept=0))  # each app as a fresh process
    built = create_app(config).test_client()  # generates, writes the file
    evaluation_id, transcript = _evaluation_and_transcript(built)
    dumped = built.get("/__mock/state").get_json()

    _no_generating(monkeypatch)
    seed = _build(fixtures, spec)
    acme = next(client for client in seed if client.id == "client_acme")
    assert acme.deferred is not None and "evaluations" in acme.deferred.kinds
    assert all("transcript" not in e for e in acme.resources["evaluations"])  # not decoded at start

    read_back = create_app(config).test_client()
    assert _evaluation_and_transcript(read_back) == (evaluation_id, transcript)
    assert read_back.get("/__mock/state").get_json() == dumped  # transcripts included, as built
    fresh = create_app(config).test_client()
    assert fresh.get("/__mock/state").get_json() == dumped  # a dump before any transcript was read


class _Kept:
    """Deferred data of two evaluations, as a seed file's second line gives it."""

    kinds = frozenset({"evaluations"})

    def read(self) -> None:
        pass

    def fields(self, kind: str, position: int) -> dict[str, Json]:
        return {"transcript": {"said": f"kept {position}"}}


_KEPT_RULES = {"evaluations": KindRules(hidden=frozenset({"transcript"}))}
_KEPT_SEED = (
    ClientSeed(
        "acme", "Acme", (ApiKey("KEY", ("*",)),), {"evaluations": [{"id": "e1"}, {"id": "e2"}]}, deferred=_Kept()
    ),
)


def test_deferred_data_outlives_updates_and_replaces_and_reaches_sessions_and_saves() -> None:
    store = Store(_KEPT_SEED, rules=_KEPT_RULES)
    principal = store.lookup_key("KEY")
    assert principal is not None
    store.update(principal, "evaluations", "e1", {"state": "Done"})
    assert store.hidden(principal, "evaluations", "e1", "transcript") == {"said": "kept 0"}
    store.replace(principal, "evaluations", "e2", {"id": "e2", "state": "Redone"})
    assert store.hidden(principal, "evaluations", "e2", "transcript") == {"said": "kept 1"}
    session, keys = store.create_session()
    in_session = next(iter(keys.values()))
    assert store.hidden(in_session, "evaluations", "e2", "transcript") == {"said": "kept 1"}
    with store.still() as render:
        saved = render()  # what a --persist save writes
    dumped = store.dump_all()
    for state in (saved, dumped):
        for dataset in (state["default"], state["sessions"][session]):  # type: ignore[index]
            [client] = dataset["clients"]
            assert [e["transcript"] for e in client["evaluations"]] == [{"said": "kept 0"}, {"said": "kept 1"}]


def test_a_seed_file_whose_deferred_line_was_changed_is_rebuilt(
    small_fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixtures, spec = _disk_cached(tmp_path, monkeypatch, small_fixtures)
    first = _build(fixtures, spec)
    [path] = _seed_files(tmp_path)
    text = path.read_bytes()
    at = text.index(b'"language"', text.index(b"\n"))  # in a transcript, on the second line
    path.write_bytes(text[:at] + b'"languagf"' + text[at + len(b'"language"') :])  # same length, valid JSON
    assert _build(fixtures, spec) == first
    assert path.read_bytes() == text  # rewritten whole


def test_a_record_deleted_then_made_again_under_its_id_does_not_get_the_old_ones_data() -> None:
    dataset = Dataset("default", _KEPT_SEED, "createdAt", rules=_KEPT_RULES)
    dataset.complete("acme", "evaluations", "e2")
    assert dataset.collections[("acme", "evaluations")].by_id["e2"]["transcript"] == {"said": "kept 1"}
    dataset.remove("acme", "evaluations", "e1")
    dataset.insert("acme", "evaluations", {"id": "e1"})
    dataset.complete_all()
    assert "transcript" not in dataset.collections[("acme", "evaluations")].by_id["e1"]
