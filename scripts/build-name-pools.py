"""Rebuild the generator's name pools (``src/auralytik_mock/generate/pools/*.txt``) from Faker.

The pools ship as data files so that generated records never change with a dependency's
release; Faker is only the tool that filled them once. Run this only to change the pools
on purpose (it needs Faker: ``pip install faker``), then review the diff: every generated
record of every user's fixtures changes with it.

    python scripts/build-name-pools.py          # rewrite the files
    python scripts/build-name-pools.py --check  # exit 1 if the files differ from Faker's output

The calls, their order and the seed are the ones the generator used when it called Faker at
run time (auralytik-mock 0.1), so the committed pools reproduce those records exactly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

POOLS = Path(__file__).resolve().parents[1] / "src" / "auralytik_mock" / "generate" / "pools"
SEED = 20240110


def _unique(make: Callable[[], str], count: int) -> list[str]:
    seen: dict[str, None] = {}
    for _ in range(count * 3):
        seen.setdefault(make(), None)
        if len(seen) >= count:
            break
    return list(seen)


def build() -> dict[str, list[str]]:
    """Every pool by file name, made in one fixed order from one seeded Faker."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(SEED)
    pools: dict[str, list[str]] = {}
    pools["first_names"] = _unique(fake.first_name, 300)
    pools["last_names"] = _unique(fake.last_name, 300)
    pools["people"] = [f"{fake.first_name()} {fake.last_name()}" for _ in range(600)]
    pools["companies"] = _unique(fake.company, 200)
    pools["titles"] = [" ".join(w[:1].upper() + w[1:] for w in p.split()) for p in _unique(fake.catch_phrase, 300)]
    pools["phrases"] = [f"{phrase[0].upper()}{phrase[1:]}." for phrase in _unique(fake.bs, 300)]
    pools["words"] = _unique(fake.word, 400)
    pools["cities"] = _unique(fake.city, 200)
    pools["countries"] = _unique(fake.country, 150)
    pools["country_codes"] = _unique(fake.country_code, 100)
    pools["streets"] = [fake.street_address() for _ in range(200)]
    pools["postcodes"] = [fake.postcode() for _ in range(200)]
    pools["phones"] = [fake.numerify("+1-###-###-####") for _ in range(300)]
    pools["jobs"] = _unique(fake.job, 200)
    pools["domains"] = _unique(fake.domain_name, 150)
    pools["colors"] = _unique(fake.color_name, 60)
    pools["currencies"] = _unique(fake.currency_code, 60)
    pools["timezones"] = _unique(fake.timezone, 60)
    return pools


def _text(values: list[str]) -> str:
    for value in values:
        if "\n" in value or value != value.strip() or not value:
            raise SystemExit(f"build-name-pools: {value!r} cannot be one line of a pool file")
    return "\n".join(values) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on a difference")
    args = parser.parse_args(argv)
    POOLS.mkdir(parents=True, exist_ok=True)
    different = []
    for name, values in build().items():
        path = POOLS / f"{name}.txt"
        text = _text(values)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                different.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
    if different:
        print(f"build-name-pools: differ from Faker's output: {', '.join(different)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
