"""Strings of a JSON-schema ``format``: dates placed around the record's instant, e-mails,
URLs, UUIDs, addresses.

Owns: the maker for each known ``format`` (``FORMATS``) and the value shapes they share
with the name guesses (an e-mail from the name pools, a recording's file name stamped
with the record's instant, a version-4 UUID from the record's random source).

No IO. May import: ``makers``, ``pools``.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from .makers import Context, Maker, Rng, rint
from .pools import Pools

#: Words of a date property that happened after the record was made, and before it.
_LATER = frozenset("updated modified changed completed finished ended processed closed resolved last".split())
_EARLIER = frozenset("audio recorded started start occurred call received uploaded".split())


def email(rng: Rng, p: Pools) -> str:
    return f"{rng.choice(p.first).lower()}.{rng.choice(p.last).lower()}@example.com"


def file_name(rng: Rng, p: Pools, ext: str, ctx: Context) -> str:
    """A recording (``wav``) is named after its instant; other files after two words."""
    if ext == "wav":
        b = ctx.base
        stamp = f"{b.year:04d}{b.month:02d}{b.day:02d}_{b.hour:02d}{b.minute:02d}{b.second:02d}"
        return f"call_{stamp}_{rint(rng, 1000, 9999)}.wav"
    return f"{rng.choice(p.words)}_{rng.choice(p.words)}.{ext}"


def url(rng: Rng, p: Pools) -> str:
    return f"https://www.{rng.choice(p.domains)}/{rng.choice(p.words)}"


def uuid(rng: Rng) -> str:
    value = f"{rng.getrandbits(128):032x}"
    return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-{'89ab'[rint(rng, 0, 3)]}{value[17:20]}-{value[20:]}"


def _instant(words: Sequence[str]) -> Callable[[Rng, Context], datetime]:
    ws = set(words)
    if ws & _LATER:
        return lambda rng, ctx: ctx.base + timedelta(seconds=rint(rng, 0, 14 * 86400))
    if ws & _EARLIER:
        return lambda rng, ctx: ctx.base - timedelta(seconds=rint(rng, 600, 3 * 86400))
    return lambda rng, ctx: ctx.base


def _date_time(p: Pools, words: Sequence[str]) -> Maker:
    when = _instant(words)
    return lambda rng, ctx: when(rng, ctx).isoformat() + "Z"  # naive UTC, whole seconds


def _date(p: Pools, words: Sequence[str]) -> Maker:
    when = _instant(words)
    if "birth" in set(words) or "birthday" in set(words):
        return lambda rng, ctx: date(rint(rng, 1955, 2004), rint(rng, 1, 12), rint(rng, 1, 28)).isoformat()
    return lambda rng, ctx: when(rng, ctx).date().isoformat()


def _time(p: Pools, words: Sequence[str]) -> Maker:
    return lambda rng, ctx: f"{rint(rng, 8, 19):02d}:{rint(rng, 0, 59):02d}:{rint(rng, 0, 59):02d}Z"


def _email(p: Pools, words: Sequence[str]) -> Maker:
    return lambda rng, ctx: email(rng, p)


def _url(p: Pools, words: Sequence[str]) -> Maker:
    return lambda rng, ctx: url(rng, p)


def _domain(p: Pools, words: Sequence[str]) -> Maker:
    return lambda rng, ctx: rng.choice(p.domains)


_ALPHANUMERIC = string.ascii_letters + string.digits

#: ``format`` -> (pools, the property's words) -> maker.
FORMATS: dict[str, Callable[[Pools, Sequence[str]], Maker]] = {
    "date-time": _date_time,
    "date": _date,
    "time": _time,
    "email": _email,
    "idn-email": _email,
    "uri": _url,
    "url": _url,
    "iri": _url,
    "uri-reference": lambda p, w: lambda rng, ctx: f"/{rng.choice(p.words)}/{rint(rng, 1, 999)}",
    "hostname": _domain,
    "idn-hostname": _domain,
    "ipv4": lambda p, w: lambda rng, ctx: f"10.{rint(rng, 0, 255)}.{rint(rng, 0, 255)}.{rint(rng, 1, 254)}",
    "ipv6": lambda p, w: lambda rng, ctx: "fd00::" + ":".join(f"{rng.getrandbits(16):x}" for _ in range(3)),
    "uuid": lambda p, w: lambda rng, ctx: uuid(rng),
    "duration": lambda p, w: lambda rng, ctx: f"PT{rint(rng, 1, 59)}M{rint(rng, 0, 59)}S",
    "byte": lambda p, w: lambda rng, ctx: "".join(rng.choice(_ALPHANUMERIC) for _ in range(16)),
    "password": lambda p, w: lambda rng, ctx: f"{rng.getrandbits(64):016x}",
}
