"""Guesses from a property's name: ``executiveName`` is a person, ``audioFileName`` a ``.wav``
file, ``averageNote`` a score, ``callCenterId`` an id with a prefix.

Owns: splitting a name into words, the default id prefix of a kind, the string a name
suggests when the schema says no more (``guess``), and the range a number's name suggests
(``number_hint``). English names only: other names get words from the pools.

No IO. May import: ``makers``, ``pools``, ``formats``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence

from .formats import email, file_name, url
from .makers import Maker, pick, rint
from .pools import Pools

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
PERSON = frozenset(
    "executive agent customer user contact person owner author employee manager supervisor reviewer speaker "
    "caller callee full member representative rep assignee creator operator analyst evaluator coach "
    "participant client recipient sender host".split()
)
COMPANY = frozenset("company organization organisation org business vendor employer brand".split())
#: Names of properties that hold sentences a person wrote.
TEXT = frozenset(
    "description summary comment comments note notes text message body content feedback reason bio details "
    "remarks transcript explanation justification observation observations recommendation recommendations "
    "answer excerpt quote utterance".split()
)
LABEL = frozenset("type category kind status role tag tags channel source stage level segment tier".split())
TITLE = frozenset("title name subject label headline topic".split())
#: Words of a score, a grade, a rating: a number skewed towards the top of its range.
SCORE = frozenset("score note rating grade average mean nps csat".split())


def words_of(name: str) -> list[str]:
    """``audioFileName`` -> ``['audio', 'file', 'name']``; ``call_center_id`` -> ``['call', 'center', 'id']``."""
    return [w.lower() for w in _WORD.findall(name)] or [name.lower()]


def default_id_prefix(kind: str) -> str:
    """A prefix for ids when the schema sets no ``x-mock-id-prefix``: ``audio-files`` -> ``af_``,
    ``evaluations`` -> ``eval_``, ``orders`` -> ``order_``."""
    parts = [w for w in re.split(r"[^a-z0-9]+", kind.lower()) if w]
    if not parts:
        return "id_"
    if len(parts) > 1:
        return "".join(p[0] for p in parts) + "_"
    word = parts[0]
    if word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return (word if len(word) <= 6 else word[:4]) + "_"


def score_like(words: Sequence[str]) -> bool:
    return bool(set(words) & SCORE)


def guess(  # noqa: C901, PLR0911, PLR0912 - one table of guesses
    words: Sequence[str], p: Pools, *, sentences: Sequence[str], questions: Sequence[str], teams: Sequence[str]
) -> Maker:
    """The string a property called ``words`` most likely holds.

    :param sentences: notes from the vocabulary, already filled with names.
    :param questions: the vocabulary's questions; ``teams``: its team names.
    """
    last = words[-1]
    wordset = set(words)
    if "email" in wordset:
        return lambda rng, ctx: email(rng, p)
    if wordset & {"phone", "mobile", "fax", "msisdn"}:
        return pick(p.phones)
    if last in {"url", "uri", "link", "website", "href"}:
        return lambda rng, ctx: url(rng, p)
    if "file" in wordset or last in {"filename", "path"}:
        ext = "wav" if wordset & {"audio", "recording", "call", "voice", "sound"} else "pdf"
        return lambda rng, ctx: file_name(rng, p, ext, ctx)
    if last == "id" and len(words) > 1:
        stem = words[:-1]
        prefix = "".join(w[0] for w in stem) if len(stem) > 1 else stem[0][:4]
        return lambda rng, ctx: f"{prefix}_{rint(rng, 1000, 99999)}"
    if last in {"first", "given"} or words[-2:] in (["first", "name"], ["given", "name"]):
        return pick(p.first)
    if last in {"surname", "last", "family"} or words[-2:] in (["last", "name"], ["family", "name"]):
        return pick(p.last)
    if wordset & PERSON and (last in {"name", "by"} or last in PERSON):
        return pick(p.people)
    if wordset & COMPANY:
        return pick(p.companies)
    if last == "username" or words[-2:] == ["user", "name"] or last in {"login", "handle"}:
        return lambda rng, ctx: f"{rng.choice(p.first).lower()}.{rng.choice(p.last).lower()}"
    if last == "city":
        return pick(p.cities)
    if last == "country":
        return pick(p.countries)
    if wordset & {"street", "address"}:
        return pick(p.streets)
    if wordset & {"zip", "postal", "postcode"}:
        return pick(p.postcodes)
    if wordset & {"language", "locale", "lang"}:
        return pick(p.languages)
    if "currency" in wordset:
        return pick(p.currencies)
    if wordset & {"timezone", "tz"}:
        return pick(p.timezones)
    if wordset & {"color", "colour"}:
        return pick(p.colors)
    if wordset & {"job", "position", "occupation"}:
        return pick(p.jobs)
    if wordset & {"team", "department", "queue"}:
        return pick(teams)
    if last in {"password", "secret", "token", "hash", "key"}:
        return lambda rng, ctx: f"{rng.getrandbits(128):032x}"
    if last == "version":
        return lambda rng, ctx: f"{rint(rng, 1, 4)}.{rint(rng, 0, 12)}.{rint(rng, 0, 30)}"
    if last in {"model", "product", "make"}:
        return lambda rng, ctx: f"{rng.choice(p.last)} {rint(rng, 1, 9)}{rint(rng, 0, 9)}0"
    if last == "code":
        return lambda rng, ctx: "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(6))
    if last == "question":
        return pick(questions)
    if last == "description":
        return pick(p.phrases)
    if last in TEXT:
        return lambda rng, ctx: " ".join(rng.sample(sentences, rint(rng, 1, 3)))
    if last in LABEL:
        return lambda rng, ctx: "_".join(rng.sample(p.words, rint(rng, 1, 2)))
    if last in TITLE:
        return pick(p.titles)
    return lambda rng, ctx: " ".join(rng.sample(p.words, rint(rng, 1, 3)))


def number_hint(words: Sequence[str], integer: bool) -> tuple[float, float, float, int]:  # noqa: PLR0911
    """(low, high, most likely, decimals) for a number called ``words`` when the schema is silent."""
    ws = set(words)
    if ws & {"duration", "seconds", "secs", "elapsed"}:
        return 30, 1800, 240, 1
    if ws & {"minutes", "mins"}:
        return 1, 60, 6, 1
    if "rating" in ws or "stars" in ws:
        return 1, 5, 4, 1
    if score_like(words):
        return 0, 100, 78, 1
    if ws & {"confidence", "probability", "likelihood", "ratio"}:
        return 0, 1, 0.85, 2
    if ws & {"percent", "percentage", "rate", "pct"}:
        return 0, 100, 70, 1
    if ws & {"age"}:
        return 18, 75, 35, 0
    if ws & {"price", "amount", "cost", "revenue", "balance", "fee", "total"} and not integer:
        return 5, 2000, 120, 2
    if ws & {"year"}:
        return 2015, 2025, 2023, 0
    if ws & {"mileage", "km", "odometer", "miles", "distance"}:
        return 0, 400000, 60000, 1
    if ws & {"lat", "latitude"}:
        return -60, 70, 30, 5
    if ws & {"lng", "lon", "longitude"}:
        return -150, 150, 0, 5
    if ws & {"count", "total", "number", "num", "quantity", "qty", "size"}:
        return 0, 250, 20, 0
    if ws & {"page"}:
        return 1, 20, 1, 0
    return (0, 1000, 100, 0) if integer else (0, 100, 50, 2)
