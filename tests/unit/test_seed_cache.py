"""Fixture seeds are shared through a ``SeedCache``: the default one, or one a build names."""

from __future__ import annotations

import threading
from pathlib import Path

from auralytik_mock.core.fixtures import SeedCache, default_seeds
from auralytik_mock.core.pipeline import build_world
from tests.conftest import make_config


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
