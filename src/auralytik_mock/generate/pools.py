"""The name pools: people, companies, places, words, read from the data files beside this module.

Owns: loading ``pools/*.txt`` (one value a line) once per process. The files were filled
once from Faker (``en_US``, a fixed seed) by ``scripts/build-name-pools.py`` and are
committed, so generated records do not change with a dependency's release; Faker is not
needed at run time. Picking from pools instead of calling a faker per value is also what
makes 100,000 records take seconds rather than minutes.

Reads files at first use. May import: ``makers``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from .makers import GenerateError

#: The folder of the pool files (``first_names.txt``, ``companies.txt``, ...).
POOL_DIR = Path(__file__).resolve().parent / "pools"
#: Language codes: what a ``language`` or ``locale`` property gets when it has no enum.
LANGUAGES = ("en", "es", "pt", "fr", "de", "it", "nl")


def read_pool(name: str) -> tuple[str, ...]:
    """The values of ``pools/<name>.txt``, in file order.

    :raises GenerateError: the file is missing or empty (a broken installation).
    """
    path = POOL_DIR / f"{name}.txt"
    try:
        values = tuple(line for line in path.read_text(encoding="utf-8").splitlines() if line)
    except OSError as exc:
        raise GenerateError("generate", f"the generator's pool {path.name} cannot be read: {exc}") from None
    if not values:
        raise GenerateError("generate", f"the generator's pool {path.name} is empty")
    return values


class Pools:
    """Every pool, read once (``pools()``)."""

    def __init__(self) -> None:
        self.first = read_pool("first_names")
        self.last = read_pool("last_names")
        self.people = read_pool("people")
        self.companies = read_pool("companies")
        self.titles = read_pool("titles")
        self.phrases = read_pool("phrases")
        self.words = read_pool("words")
        self.cities = read_pool("cities")
        self.countries = read_pool("countries")
        self.country_codes = read_pool("country_codes")
        self.streets = read_pool("streets")
        self.postcodes = read_pool("postcodes")
        self.phones = read_pool("phones")
        self.jobs = read_pool("jobs")
        self.domains = read_pool("domains")
        self.colors = read_pool("colors")
        self.currencies = read_pool("currencies")
        self.timezones = read_pool("timezones")
        self.languages = LANGUAGES


@cache
def pools() -> Pools:
    """The process's pools (read on first use, a few milliseconds)."""
    return Pools()
